#!/usr/bin/python3
"""The runtime table's test, and rollsafe's verdicts for each runtime.

1. docs/runtimes.md says, behaviour by behaviour, what each runtime's
   generated version-1 code reads from one record of the differential
   corpus; this checks every cell against that runtime itself.
2. Every record of the corpus (tests/differential/cases.py), raw and in its
   envelope, is read by the runtime's reader; what it read gives the
   expected verdict (its parse fails: unreadable or corrupt; a value other
   than the writer's: misread; only fields it keeps as unknown: ignored_fields;
   else ok), which `rollsafe scan --reader-runtime RUNTIME` (reader_runtime
   in its config; raw records by a plain reader, envelopes by one linked
   with rollsafe) must give, key by key.
3. `rollsafe fix --execute` for that runtime rewrites the raw records it
   can convert; the runtime's reader reads every rewritten record again,
   which must read as the writer meant it (ok or ignored_fields); a record
   fix leaves as it was must be one it names (lossy, impossible...) or one
   the runtime reads as written.

Usage:
    test_runtimes.py --runtime RUNTIME --gen GEN --work WORK
                     [--pbc-reader PATH] [--table docs/runtimes.md]
                     [--rollsafe BIN]

RUNTIME is protobuf-c, cpp, java, go or python. The reader of that runtime
(tests/differential/runtimes/) is built in WORK from the Debian packages
(protoc, libprotobuf-dev, libprotobuf-java with the JDK, golang-go with
golang-google-protobuf-dev in GOPATH mode, offline), again only when its
sources or the table's cases changed; protobuf-c's is rs_dc_reader, built
by CMake. Python's protobuf writes every record with the case's version-2
class, as the differential corpus does; the reader reads it raw and its
JSON (print.h) is rendered in the table's notation (docs/runtimes.md). A
cell that differs, a reader that cannot be built or run, or a cell marked
"not yet confirmed" fails the test.
"""
import argparse
import concurrent.futures
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
RT = os.path.join(HERE, "runtimes")
sys.path.insert(0, HERE)

import cases as corpus  # noqa: E402
import test_differential as td  # noqa: E402

RUNTIMES = ("protobuf-c", "cpp", "java", "go", "python")
PROTOBUF_JAR = "/usr/share/java/protobuf.jar"
GOPATH_SYSTEM = "/usr/share/gocode"


class Failure(Exception):
    pass


# ---- the table ----------------------------------------------------------------

def read_table(path):
    """The rows of the table under "## The table": dicts with behaviour,
    case, record (1-based) and one cell per runtime."""
    rows, header, inside = [], None, False
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("## "):
                inside = line.strip() == "## The table"
                continue
            if not inside or not line.startswith("|"):
                continue
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if header is None:
                header = cells
                continue
            if set(cells[0]) <= set("-: "):
                continue
            row = dict(zip(header, cells))
            rows.append({
                "behaviour": row["behaviour"],
                "case": row["case"].strip("`"),
                "record": int(row["record"]),
                "cells": {rt: row[rt].strip("`") for rt in RUNTIMES},
            })
    if header is None or not rows:
        raise Failure("%s: no table under \"## The table\"" % path)
    for rt in RUNTIMES:
        if rt not in header:
            raise Failure("%s: no column %s" % (path, rt))
    return rows


# ---- the table's notation ---------------------------------------------------

def text(data, quote):
    out = ""
    for b in data:
        ch = chr(b)
        if ch == '"' or ch == "\\":
            out += "\\" + ch
        elif 0x20 <= b < 0x7F:
            out += ch
        else:
            out += "\\x%02x" % b
    return quote + '"' + out + '"'


def depth(doc):
    """How many messages deep a value nests."""
    best = 0
    if isinstance(doc, list):
        return max([depth(x) for x in doc] or [0])
    if isinstance(doc, dict):
        if "m" in doc:
            return 1 + max([depth(v) for k, v in doc["m"].items()
                            if k != "#u"] or [0])
    return best


def value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, list):
        return "[" + ", ".join(value(x) for x in v) + "]"
    if "e" in v:
        return "enum %d%s" % (v["e"], "" if v["k"] else " (undeclared)")
    if "d" in v:
        return repr(float.fromhex(v["d"]))
    if "s" in v:
        return text(bytes.fromhex(v["s"]), "")
    if "b" in v:
        return text(bytes.fromhex(v["b"]), "b")
    if "m" in v:
        d = depth(v)
        if d > 3:
            return "{%d messages deep}" % d
        return "{" + fields(v["m"]) + "}"
    raise Failure("unexpected reader output %r" % (v,))


def fields(doc, skip_id=False):
    parts = []
    for k, v in doc.items():
        if k == "#u" or v is None or v == [] or (skip_id and k == "1"):
            continue
        parts.append("%s=%s" % (k, value(v)))
    if doc.get("#u"):
        parts.append("+unknown")
    return " ".join(parts) or "nothing"


def render(doc):
    """A reader's JSON in the table's notation."""
    if "error" in doc:
        return "fails"
    return fields(doc, skip_id=True)


# ---- the readers ----------------------------------------------------------------

def run(argv, what, **kw):
    try:
        p = subprocess.run(argv, capture_output=True, text=True, **kw)
    except OSError as e:
        raise Failure("%s: cannot run %s: %s" % (what, argv[0], e))
    if p.returncode != 0:
        raise Failure("%s failed (%d): %s\n%s" % (
            what, p.returncode, " ".join(argv), p.stderr[-4000:]))
    return p


def stamp_of(names, gen, extra):
    h = hashlib.sha256()
    for path in extra:
        with open(path, "rb") as f:
            h.update(f.read())
    for name in names:
        with open(os.path.join(gen, "protos", name, "v1", "rec.proto"),
                  "rb") as f:
            h.update(name.encode() + b"\0" + f.read())
    return h.hexdigest()


def fresh(out, stamp):
    try:
        with open(os.path.join(out, "stamp")) as f:
            return f.read() == stamp
    except OSError:
        return False


def build_cpp(names, gen, out):
    src = os.path.join(out, "src")
    shutil.rmtree(src, ignore_errors=True)
    os.makedirs(src)
    protos = [os.path.join(n, "v1", "rec.proto") for n in names]
    run(["protoc", "-I" + os.path.join(gen, "protos"), "--cpp_out=" + src]
        + protos, "protoc --cpp_out")
    with open(os.path.join(src, "cases.h"), "w") as f:
        f.write("#include <string>\n#include <utility>\n#include <vector>\n")
        for p in protos:
            f.write('#include "%s"\n' % p.replace(".proto", ".pb.h"))
        f.write("static std::vector<std::pair<std::string, "
                "const google::protobuf::Message *>> dc_rt_cases() {\n"
                "  return {\n")
        for n in names:
            f.write('    {"%s", &dc::%s::v1::Rec::default_instance()},\n'
                    % (n, n))
        f.write("  };\n}\n")
    flags = run(["pkg-config", "--cflags", "--libs", "protobuf"],
                "pkg-config protobuf").stdout.split()
    # The generated files in two translation units (one per CPU), each file's
    # file-local tables renamed: compiling the headers once a unit, not once a
    # case, is what keeps a build of every case's reader short.
    units = []
    for part in range(2):
        unit = os.path.join(src, "cases%d.cc" % part)
        with open(unit, "w") as f:
            for i, p in enumerate(protos):
                if i % 2 != part:
                    continue
                f.write("#define schemas dc_schemas_%d\n"
                        "#define file_default_instances dc_defaults_%d\n"
                        "#include \"%s\"\n"
                        "#undef schemas\n#undef file_default_instances\n"
                        % (i, i, p.replace(".proto", ".pb.cc")))
        units.append(unit)
    units.append(os.path.join(RT, "reader.cc"))

    def compile_one(unit):
        # Objects in the work folder, never beside the sources.
        obj = os.path.join(out, "obj", os.path.basename(unit) + ".o")
        os.makedirs(os.path.dirname(obj), exist_ok=True)
        run(["g++", "-std=c++17", "-O0", "-c", "-I" + src, unit, "-o", obj]
            + [x for x in flags if x.startswith("-I")], "g++ " + unit)
        return obj

    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        objs = list(pool.map(compile_one, units))
    exe = os.path.join(out, "dc_rt_cpp")
    run(["g++", "-o", exe] + objs + flags + ["-pthread"], "g++ link")
    return [exe]


def build_java(names, gen, out):
    src, classes = os.path.join(out, "src"), os.path.join(out, "classes")
    for d in (src, classes):
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
    if not os.path.exists(PROTOBUF_JAR):
        raise Failure("%s missing: install libprotobuf-java" % PROTOBUF_JAR)
    protos = [os.path.join(n, "v1", "rec.proto") for n in names]
    run(["protoc", "-I" + os.path.join(gen, "protos"), "--java_out=" + src]
        + protos, "protoc --java_out")
    javas = [os.path.join(dp, f) for dp, _, fs in os.walk(src) for f in fs
             if f.endswith(".java")]
    run(["javac", "-nowarn", "-encoding", "UTF-8", "-cp", PROTOBUF_JAR,
         "-d", classes, os.path.join(RT, "Reader.java")] + javas, "javac")
    return ["java", "-Xss16m", "-cp", classes + ":" + PROTOBUF_JAR, "Reader"]


def go_env(out):
    env = dict(os.environ)
    env.update(GOPATH=os.path.join(out, "gopath") + ":" + GOPATH_SYSTEM,
               GO111MODULE="off", GOFLAGS="", GOPROXY="off",
               GOCACHE=os.path.join(out, "gocache"))
    return env


def build_go(names, gen, out):
    env = go_env(out)
    gosrc = os.path.join(out, "gopath", "src")
    shutil.rmtree(gosrc, ignore_errors=True)
    os.makedirs(os.path.join(gosrc, "dcrtreader"))
    plugin = os.path.join(out, "protoc-gen-go")
    run(["go", "build", "-o", plugin,
         "google.golang.org/protobuf/cmd/protoc-gen-go"],
        "go build protoc-gen-go", env=env)
    protos = [os.path.join(n, "v1", "rec.proto") for n in names]
    opts = ["--go_opt=M%s=dcrt/%s" % (p, n) for p, n in zip(protos, names)]
    run(["protoc", "-I" + os.path.join(gen, "protos"),
         "--plugin=protoc-gen-go=" + plugin, "--go_out=" + gosrc]
        + opts + protos, "protoc --go_out")
    main = os.path.join(gosrc, "dcrtreader")
    shutil.copy(os.path.join(RT, "reader.go"), main)
    with open(os.path.join(main, "cases.go"), "w") as f:
        f.write("package main\n\nimport (\n"
                '\t"google.golang.org/protobuf/proto"\n')
        for i, n in enumerate(names):
            f.write('\tc%d "dcrt/%s"\n' % (i, n))
        f.write(")\n\nvar cases = map[string]func() proto.Message{\n")
        for i, n in enumerate(names):
            f.write('\t"%s": func() proto.Message { return &c%d.Rec{} },\n'
                    % (n, i))
        f.write("}\n")
    exe = os.path.join(out, "dc_rt_go")
    run(["go", "build", "-o", exe, "dcrtreader"], "go build", env=env)
    return [exe]


BUILDERS = {"cpp": (build_cpp, ["reader.cc"]),
            "java": (build_java, ["Reader.java"]),
            "go": (build_go, ["reader.go"])}


def reader_argv(runtime, names, args):
    if runtime == "protobuf-c":
        if not args.pbc_reader:
            raise Failure("--pbc-reader is needed for protobuf-c")
        return [args.pbc_reader]
    if runtime == "python":
        return ["/usr/bin/python3", os.path.join(RT, "reader.py"), args.gen]
    build, sources = BUILDERS[runtime]
    out = os.path.join(args.work, runtime)
    os.makedirs(out, exist_ok=True)
    stamp = stamp_of(names, args.gen,
                     [os.path.join(RT, s) for s in sources] + [__file__])
    argv_file = os.path.join(out, "argv.json")
    if fresh(out, stamp):
        with open(argv_file) as f:
            return json.load(f)
    argv = build(names, args.gen, out)
    with open(argv_file, "w") as f:
        json.dump(argv, f)
    with open(os.path.join(out, "stamp"), "w") as f:
        f.write(stamp)
    return argv


# ---- records ----------------------------------------------------------------------

def record_bytes(case, ctx, index):
    """Record @index (0-based) of @case, serialized by its version-2 class
    as the differential corpus writes it."""
    v2 = ctx.module(case, 2)
    spec = case.records[index]
    if isinstance(spec, corpus.Raw):
        return spec.data
    parts = spec.parts if isinstance(spec, corpus.Dup) else (spec,)
    data = b""
    for part in parts:
        m = v2.Rec()
        m.id = index + 1
        td.assign(m, part)
        data += td.golden.serialize(m)
    return data


class Ctx:
    """What td's harness offers for loading the corpus' Python modules and
    writing its records."""

    def __init__(self, gen, tmp):
        self.gen = gen
        os.makedirs(tmp, exist_ok=True)
        self.env = None
        self._tmp = tmp

    module = td.Ctx.module

    def build(self, case):
        if self.env is None:
            _, _, self.env = td.golden.load_schema(self._tmp)
        return td.Ctx.build(self, case)


# ---- rollsafe's verdicts ---------------------------------------------------

SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer",
                     "UndefinedBehaviorSanitizer", "runtime error:")
UNREADABLE = ("unreadable", "corrupt")


def add_extensions(common, desc, raw, extensions):
    """Adds the extensions a reader printed (it parsed them) for a message
    of desc, and for the singular messages within it, to its common form
    (td.c_message's). @extensions: {message full name: [extension field]}."""
    for x in extensions.get(desc.full_name, ()):
        j = raw.get(str(x.number))
        if j is not None and j != []:
            common[x.number] = ([td.c_scalar(x, v) for v in j]
                                if isinstance(j, list) else td.c_scalar(x, j))
    for fd in desc.fields:
        c, j = common.get(fd.number), raw.get(str(fd.number))
        if fd.message_type is not None and fd.label != fd.LABEL_REPEATED \
                and isinstance(c, tuple) and c[0] == "m" \
                and isinstance(j, dict) and "m" in j:
            add_extensions(c[1], fd.message_type, j["m"], extensions)


def expected(record, doc, rdesc, wdesc, extensions=None):
    """(verdict, detail) of a reader that printed @doc where the writer
    meant record.writer. @extensions: {message full name: [extension
    field]}, the reader's extensions, compared as fields where the reader
    printed them (it parsed them), at any depth; record.writer then holds
    the writer's extensions by number."""
    if "error" in doc:
        return "unreadable", doc["error"]
    seen = td.c_message(rdesc, doc)
    if extensions:
        add_extensions(seen, rdesc, doc, extensions)
    return td.reader_verdict(record.writer, wdesc, seen, rdesc, doc)


def build_verdict_db(path, cases_records):
    if os.path.exists(path):
        os.unlink(path)
    db = sqlite3.connect(path)
    for case, records in cases_records:
        for framing in ("raw", "envelope"):
            table = "%s_%s" % (case.name, framing)
            db.execute('CREATE TABLE "%s" (id INTEGER PRIMARY KEY, '
                       'payload BLOB)' % table)
            db.executemany('INSERT INTO "%s" VALUES (?, ?)' % table,
                           [(r.key, r.stored(framing)) for r in records])
    db.commit()
    db.close()


def verdict_config(path, db, runtime, framing, cases_records, gen,
                   options=None):
    lines = ["feature: dc_flag", "reader_version: 1",
             "reader_runtime: %s" % runtime, "raw_writer: 2"]
    if options:
        lines.append("reader_options:")
        lines += ["  %s: %s" % (k, json.dumps(v)) for k, v in options.items()]
    lines.append("targets:")
    for case, _ in cases_records:
        lines += ["  - name: %s" % case.name, "    kind: sqlite-table",
                  "    connection: %s" % json.dumps(db),
                  "    table: %s_%s" % (case.name, framing), "    key: id",
                  "    column: payload",
                  "    type: dc.%s.Rec" % case.name,
                  "    schemas: [%s, %s]" % tuple(
                      json.dumps(os.path.join(gen, "desc", case.name,
                                              "v%d" % v, "rec.desc"))
                      for v in (1, 2))]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def rollsafe_verdicts(args, runtime, framing, cfg):
    """{case: {key: (verdict, [reason texts])}} of one scan."""
    argv = [args.rollsafe, "scan", "-c", cfg, "--reader-framing", framing,
            "--format", "json", "--samples", "10000"]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    for marker in SANITIZER_MARKERS:
        if marker in p.stderr:
            raise Failure("sanitizer report from %s:\n%s"
                          % (" ".join(argv), p.stderr[-4000:]))
    try:
        doc = json.loads(p.stdout)
    except ValueError:
        raise Failure("scan failed (exit %d): %s\n%s" % (
            p.returncode, " ".join(argv), p.stderr[-4000:]))
    out = {}
    for t in doc["targets"]:
        if t.get("status") != "complete" or \
                t["reader"].get("runtime", {}).get("name") != runtime:
            raise Failure("scan target %s: status %s, reader %s"
                          % (t["name"], t.get("status"), t["reader"]))
        keys = {}
        for verdict, samples in t.get("samples", {}).items():
            for x in samples:
                keys[int(x["key"])] = (verdict, [r.get("text") for r in
                                                 x.get("reasons", [])])
        out[t["name"]] = keys
    return out


# Options a reader's code gives its runtime (reader_options), with the
# flags that make the runtime's reader give them, and the groups of cases
# read with them.
OPTIONS = {
    "cpp": [({"allow_partial": True}, ["--allow-partial"]),
            ({"recursion_limit": 99}, ["--recursion-limit", "99"])],
    "java": [({"allow_partial": True}, ["--allow-partial"]),
             ({"recursion_limit": 99}, ["--recursion-limit", "99"])],
    "go": [({"allow_partial": True}, ["-allow_partial"]),
           ({"recursion_limit": 100}, ["-recursion_limit", "100"]),
           ({"discard_unknown": True}, ["-discard_unknown"])],
}
OPTION_GROUPS = ("required", "limits", "addrem")


def fixed_rows(args, cfg, db):
    """fix --execute on a copy of the database: ({case: {key: (outcome,
    why)}}, {(case, key): bytes after})."""
    work = db[:-len(".db")] + "-fixed.db"
    shutil.copy(db, work)
    with open(cfg) as f:
        text = f.read().replace(json.dumps(db), json.dumps(work))
    fcfg = cfg[:-len(".yaml")] + "-fix.yaml"
    with open(fcfg, "w") as f:
        f.write(text)
    argv = [args.rollsafe, "fix", "-c", fcfg, "--reader-framing", "raw",
            "--execute", "--format", "json", "--samples", "10000"]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    for marker in SANITIZER_MARKERS:
        if marker in p.stderr:
            raise Failure("sanitizer report from %s:\n%s"
                          % (" ".join(argv), p.stderr[-4000:]))
    try:
        doc = json.loads(p.stdout)
    except ValueError:
        raise Failure("fix failed (exit %d): %s\n%s" % (
            p.returncode, " ".join(argv), p.stderr[-4000:]))
    outcomes = {}
    for t in doc["targets"]:
        keys = {}
        for name, samples in t.get("samples", {}).items():
            for x in samples:
                keys[int(x["key"])] = (name, x.get("why"))
        outcomes[t["name"]] = keys
    con = sqlite3.connect(work)
    after = {}
    for (name,) in con.execute("SELECT name FROM sqlite_master WHERE "
                               "type = 'table' AND name LIKE '%\\_raw' "
                               "ESCAPE '\\'"):
        case = name[:-len("_raw")]
        for key, data in con.execute('SELECT id, payload FROM "%s"' % name):
            after[case, key] = bytes(data)
    con.close()
    return outcomes, after


def check_fixes(args, argv, ctx, cases_records, want, cfg, db, label):
    """Part 3: what fix writes for the runtime, read by the runtime."""
    outcomes, after = fixed_rows(args, cfg, db)
    changed = [(case, r) for case, records in cases_records for r in records
               if after.get((case.name, r.key), r.payload) != r.payload]
    p = run(argv, "the %s reader" % args.runtime,
            input="".join("%s %s\n" % (c.name, after[c.name, r.key].hex())
                          for c, r in changed), timeout=600)
    docs = [json.loads(line) for line in p.stdout.splitlines()]
    if len(docs) != len(changed):
        raise Failure("the %s reader answered %d of %d rewritten records"
                      % (args.runtime, len(docs), len(changed)))
    failures = []
    reread = {}
    for (case, r), doc in zip(changed, docs):
        rdesc = ctx.module(case, 1).Rec.DESCRIPTOR
        wdesc = ctx.module(case, 2).Rec.DESCRIPTOR
        reread[case.name, r.key] = expected(r, doc, rdesc, wdesc)
    for case, records in cases_records:
        keys = outcomes.get(case.name, {})
        for r in records:
            outcome, why = keys.get(r.key, (None, None))
            (before, _), _ = want[case.name, r.key]
            got = reread.get((case.name, r.key))
            if got is None:
                if before not in ("ok", "ignored_fields") and outcome not in (
                        "lossy_skipped", "impossible", "corrupt",
                        "check_failed", "undetermined"):
                    failures.append(
                        "fix for %s: %s record %d left as it was (outcome "
                        "%s), which %s reads as %s" % (
                            label, case.name, r.key, outcome, args.runtime,
                            before))
                continue
            if got[0] not in ("ok", "ignored_fields"):
                failures.append(
                    "fix for %s: %s record %d rewritten (%s: %s), but %s "
                    "reads the new bytes as %s (%s)\n     new bytes %s" % (
                        label, case.name, r.key, outcome, why, args.runtime,
                        got[0], got[1],
                        after[case.name, r.key].hex()[:200]))
    print("%s: fix rewrote %d raw records, each read again; %d wrong"
          % (label, len(changed), len(failures)))
    return failures


def check_verdicts(args, argv, ctx, groups=None, options=None):
    """Part 2: every record (of @groups, or all), raw and in its envelope,
    read by the runtime's reader and judged by rollsafe for that runtime
    (given @options, with the reader given them too). Returns the
    failures."""
    cases_records = [(c, ctx.build(c)) for c in corpus.CASES
                     if (groups is None or c.group in groups) and
                     (c.runtimes is True or (c.runtimes and
                                             args.runtime in c.runtimes))]
    requests = [(c.name, r.payload) for c, records in cases_records
                for r in records]
    p = run(argv, "the %s reader" % args.runtime,
            input="".join("%s %s\n" % (n, b.hex()) for n, b in requests),
            timeout=600)
    docs = iter(json.loads(line) for line in p.stdout.splitlines())
    want = {}
    try:
        for case, records in cases_records:
            rdesc = ctx.module(case, 1).Rec.DESCRIPTOR
            wdesc = ctx.module(case, 2).Rec.DESCRIPTOR
            for r in records:
                doc = next(docs)
                want[case.name, r.key] = (expected(r, doc, rdesc, wdesc), doc)
    except StopIteration:
        raise Failure("the %s reader answered fewer than %d records"
                      % (args.runtime, len(requests)))
    out = os.path.join(args.work, args.runtime)
    os.makedirs(out, exist_ok=True)
    db = os.path.join(out, "verdicts.db")
    build_verdict_db(db, cases_records)
    failures, counts = [], {}
    label = args.runtime + ("" if not options else " with %s" % ", ".join(
        "%s %s" % kv for kv in options.items()))
    for framing in ("raw", "envelope"):
        cfg = os.path.join(out, "verdicts-%s.yaml" % framing)
        verdict_config(cfg, db, args.runtime, framing, cases_records,
                       args.gen, options)
        got = rollsafe_verdicts(args, args.runtime, framing, cfg)
        for case, records in cases_records:
            keys = got.get(case.name)
            if keys is None:
                failures.append("%s: no target in the scan" % case.name)
                continue
            for r in records:
                (exp, detail), doc = want[case.name, r.key]
                verdict, reasons = keys.get(r.key, ("ok", []))
                counts[exp] = counts.get(exp, 0) + 1
                same = verdict == exp or (exp in UNREADABLE and
                                          verdict in UNREADABLE)
                if not same:
                    failures.append(
                        "%s record %d (%s, %s framing): %s reads %s, so %s "
                        "(%s); rollsafe says %s: %s\n     bytes %s" % (
                            case.name, r.key, repr(r.spec)[:80], framing,
                            label,
                            render(doc), exp, detail, verdict,
                            json.dumps(reasons), r.payload.hex()[:200]))
    n = sum(len(rs) for _, rs in cases_records)
    print("%s: %d records raw and in envelopes, expected %s; %d disagree"
          % (label, n, ", ".join("%s %d" % kv for kv in
                                         sorted(counts.items())),
             len(failures)))
    if options is None:
        failures += check_fixes(args, argv, ctx, cases_records, want,
                                os.path.join(out, "verdicts-raw.yaml"), db,
                                label)
    return failures


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runtime", required=True, choices=RUNTIMES)
    ap.add_argument("--gen", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--pbc-reader")
    ap.add_argument("--table", default=os.path.join(ROOT, "docs",
                                                    "runtimes.md"))
    ap.add_argument("--rollsafe", help="check rollsafe's verdicts too")
    args = ap.parse_args()
    args.gen, args.work = os.path.abspath(args.gen), os.path.abspath(args.work)
    os.makedirs(args.work, exist_ok=True)
    by_name = {c.name: c for c in corpus.CASES}
    try:
        rows = read_table(args.table)
        for r in rows:
            if r["case"] not in by_name:
                raise Failure("table: no case %s in cases.py" % r["case"])
            if not 1 <= r["record"] <= len(by_name[r["case"]].records):
                raise Failure("table: %s has no record %d"
                              % (r["case"], r["record"]))
        # The readers know every case: the verdicts read every record.
        names = sorted(c.name for c in corpus.CASES)
        argv = reader_argv(args.runtime, names, args)
        ctx = Ctx(args.gen, os.path.join(args.work, args.runtime, "golden"))
        requests = [(r["case"], record_bytes(by_name[r["case"]], ctx,
                                             r["record"] - 1)) for r in rows]
        p = run(argv, "the %s reader" % args.runtime,
                input="".join("%s %s\n" % (n, b.hex()) for n, b in requests),
                timeout=240)
        lines = p.stdout.splitlines()
        if len(lines) != len(rows):
            raise Failure("the %s reader answered %d of %d records"
                          % (args.runtime, len(lines), len(rows)))
    except Failure as e:
        print("FAIL: %s" % e)
        return 1
    failures = 0
    for r, (_, data), line in zip(rows, requests, lines):
        doc = json.loads(line)
        got, want = render(doc), r["cells"][args.runtime]
        status = "ok"
        if want != got:
            failures += 1
            status = "FAIL"
        print("%-4s %-48s %s #%d: table `%s`, %s read `%s`%s" % (
            status, r["behaviour"][:48], r["case"], r["record"], want,
            args.runtime, got,
            "" if "error" not in doc else " (%s)" % doc["error"]))
        if status == "FAIL":
            print("     bytes %s%s" % (data.hex()[:160],
                                   "..." if len(data) > 80 else ""))
    print("%s: %d cells, %d wrong" % (args.runtime, len(rows), failures))
    if args.rollsafe:
        try:
            wrong = check_verdicts(args, argv, ctx)
            for options, flags in OPTIONS.get(args.runtime, []):
                wrong += check_verdicts(args, argv + flags, ctx,
                                        OPTION_GROUPS, options)
        except Failure as e:
            print("FAIL: %s" % e)
            return 1
        for text in wrong:
            print("FAIL " + text)
        failures += len(wrong)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
