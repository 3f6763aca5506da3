#!/usr/bin/env python3
"""Every diff rule: a record that hits it, scanned; the verdict equals the
rule's stated consequence.

Usage:
  run_rule.py --rollsafe BIN --protoc PROTOC --protoc-c PROTOC_C --cc CC
              --work DIR RULE_DIR
  run_rule.py --rollsafe BIN --coverage RULES_DIR

A folder of tests/diff/rules/ is named after a rule id (RULE or
RULE.variant) and holds:
  old.proto, new.proto   the reader's and the writer's versions of t.M
  record.json            {
    "record":      the record, as the new version's JSON mapping (written
                   by Python's protobuf, a second implementation),
    "path":        optional: the finding's path, when the pair has several
                   findings of the rule,
    "verdict":     what a protobuf-c reader (the default reader runtime)
                   makes of the record: ok, ignored_fields, misread or
                   unreadable,
    "reader_sees": what the old code's C sees after the unpack (omitted for
                   unreadable), as rule_reader.c prints it,
    "why":         the reasoning, in a sentence
  }

Four views of the one record must agree:
  1. protoc-c's C code generated from old.proto (rule_reader.c) unpacks it,
     or fails exactly when the verdict is unreadable, and sees reader_sees;
  2. `rollsafe diff old.proto new.proto --type M` has a finding of the rule
     whose verdict is the one stated here (and whose severity is error
     exactly when that verdict is misread or unreadable);
  3. the record, stored raw in a SQLite table, is scanned with the old
     version as reader (`rollsafe scan ... --reader-version 1
     --reader-framing raw`): scan's verdict equals diff's.
  4. for every other reader runtime (cpp, java, go, python): `rollsafe
     diff --reader-runtime R` still has the finding, and its verdict is
     never better than what `rollsafe scan --reader-runtime R` gives the
     record (scan's per-runtime verdicts are checked against the runtimes
     themselves by differential.runtime.<runtime>): a finding states the
     worst a record that hits it gets, and this record may get less.
A failure names the view that disagrees.

not_applicable.json lists the rules no record can hit (schema structure
only), each with its reason; --coverage checks that every rule of
`rollsafe diff` has a folder or such an entry, and no more.
"""

import argparse
import glob
import importlib.util
import json
import os
import shutil
import sqlite3
import subprocess
import sys

from google.protobuf import json_format

HERE = os.path.dirname(os.path.abspath(__file__))
VERDICTS = ("ok", "ignored_fields", "misread", "unreadable")
OTHER_RUNTIMES = ("cpp", "java", "go", "python")


class Failure(Exception):
    pass


def check(cond, what, *context):
    if not cond:
        raise Failure(what + "".join("\n  " + str(c) for c in context))


def run(cmd, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    for marker in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
        check(marker not in p.stderr, "sanitizer report", " ".join(cmd),
              p.stderr)
    return p


def all_rules(rollsafe, work):
    """Every rule id of `rollsafe diff`, with its usual verdict, from the
    SARIF rule table (a comparison of a schema with itself)."""
    proto = os.path.join(work, "same.proto")
    with open(proto, "w") as f:
        f.write('syntax = "proto3";\npackage t;\nmessage M { int32 id = 1; }\n')
    p = run([rollsafe, "diff", proto, proto, "--format", "sarif"])
    check(p.returncode == 0, "diff of a schema with itself", p.stderr)
    rules = json.loads(p.stdout)["runs"][0]["tool"]["driver"]["rules"]
    return {r["id"]: r["properties"]["verdict"] for r in rules}


def coverage(args):
    work = args.work
    os.makedirs(work, exist_ok=True)
    rules = all_rules(args.rollsafe, work)
    with open(os.path.join(args.rules_dir, "not_applicable.json")) as f:
        na = json.load(f)
    folders = {}
    for d in glob.glob(os.path.join(args.rules_dir, "*")):
        if os.path.isdir(d):
            folders.setdefault(os.path.basename(d).split(".")[0], []).append(d)
    for rule in folders:
        check(rule in rules, "folder for an unknown rule %s" % rule)
        check(rule not in na, "%s has a record and is not applicable" % rule)
    for rule, reason in na.items():
        check(rule in rules, "not_applicable.json names unknown rule %s" % rule)
        check(isinstance(reason, str) and len(reason) > 20,
              "%s: not applicable without a reason" % rule)
        check(rules[rule] is None, "%s is not applicable but its usual "
              "verdict is %s" % (rule, rules[rule]))
    missing = sorted(r for r in rules if r not in folders and r not in na)
    check(not missing, "rules with neither a record nor a reason: %s" %
          ", ".join(missing))


def load_module(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def write_record(args, case, work, spec):
    py = os.path.join(work, "py")
    os.makedirs(py)
    shutil.copy(os.path.join(case, "new.proto"), os.path.join(work, "new.proto"))
    p = run([args.protoc, "--python_out=" + py, "-I" + work,
             os.path.join(work, "new.proto")])
    check(p.returncode == 0, "protoc --python_out new.proto", p.stderr)
    mod = load_module(os.path.join(py, "new_pb2.py"),
                      "rs_rule_%s_pb2" % os.path.basename(case).replace(".", "_"))
    msg = mod.M()
    json_format.ParseDict(spec["record"], msg)
    data = msg.SerializeToString()
    check(len(data) > 0, "the record is empty")
    return data


def protobuf_c_view(args, case, work, data):
    """What protoc-c's C code for old.proto makes of the record."""
    cdir = os.path.join(work, "c")
    os.makedirs(cdir)
    shutil.copy(os.path.join(case, "old.proto"), os.path.join(cdir, "old.proto"))
    p = run([args.protoc_c, "--c_out=" + cdir, "-I" + cdir,
             os.path.join(cdir, "old.proto")])
    check(p.returncode == 0, "protoc-c old.proto", p.stderr)
    exe = os.path.join(cdir, "reader")
    p = run([args.cc, "-std=c11", "-O0", "-w", "-I" + cdir, "-include",
             os.path.join(cdir, "old.pb-c.h"),
             "-DRULE_READER_DESCRIPTOR=t__m__descriptor",
             os.path.join(HERE, "rule_reader.c"),
             os.path.join(cdir, "old.pb-c.c"), "-lprotobuf-c", "-o", exe])
    check(p.returncode == 0, "cannot build the protobuf-c reader", p.stderr)
    rec = os.path.join(work, "record.bin")
    with open(rec, "wb") as f:
        f.write(data)
    p = run([exe, rec])
    check(p.returncode == 0, "the protobuf-c reader failed", p.stderr)
    out = p.stdout.strip()
    return "unreadable" if out == "unreadable" else json.loads(out)


def diff_verdict(args, case, spec, rule, runtime=None):
    p = run([args.rollsafe, "diff", os.path.join(case, "old.proto"),
             os.path.join(case, "new.proto"), "--type", "M", "--format",
             "json", "--fail-on", "never"] +
            (["--reader-runtime", runtime] if runtime else []))
    check(p.returncode == 0, "rollsafe diff failed", p.stderr)
    doc = json.loads(p.stdout)
    hits = [f for f in doc["findings"] if f["rule"] == rule and
            ("path" not in spec or f["path"] == spec["path"])]
    check(len(hits) == 1, "diff: %d findings of %s%s, expected one" %
          (len(hits), rule, " at " + spec["path"] if "path" in spec else ""),
          [(f["rule"], f["path"]) for f in doc["findings"]])
    f = hits[0]
    check((f["severity"] == "error") == (f["verdict"] in
                                          ("misread", "unreadable")),
          "diff: severity %s does not follow from verdict %s" %
          (f["severity"], f["verdict"]))
    return f


def scan_verdict(args, case, work, data, runtime=None):
    db = os.path.join(work, "records.db")
    if not os.path.exists(db):
        con = sqlite3.connect(db)
        con.execute("CREATE TABLE records (id INTEGER PRIMARY KEY, "
                    "payload BLOB)")
        con.execute("INSERT INTO records VALUES (1, ?)", (data,))
        con.commit()
        con.close()
    p = run([args.rollsafe, "scan", "--sqlite", db, "--table", "records",
             "--key", "id", "--column", "payload", "--type", "t.M",
             "--schema", os.path.join(case, "old.proto"),
             "--schema", os.path.join(case, "new.proto"),
             "--reader-version", "1", "--reader-framing", "raw",
             # The record is the new version's: said, not inferred, since
             # raw bytes both versions explain are undetermined otherwise.
             "--raw-writer", "2", "--format", "json"] +
            (["--reader-runtime", runtime] if runtime else []))
    check(p.returncode in (0, 1, 4), "rollsafe scan exit %d" % p.returncode,
          p.stderr)
    doc = json.loads(p.stdout)
    counts = doc["totals"]["verdicts"]
    got = [v for v, n in counts.items() if n == 1]
    check(sum(counts.values()) == 1 and len(got) == 1,
          "scan: not one verdict for the one record (exit %d)" % p.returncode,
          counts, p.stderr)
    reasons = []
    for t in doc["targets"]:
        # which version scan took for the record's writer, and how
        for w in t["writers"]:
            reasons.append("scan's writer: version %s (%s)" %
                           (w["version"], w["framing"]))
        for v, samples in t["samples"].items():
            for s in samples:
                reasons += [r["text"] for r in s.get("reasons", [])]
    return got[0], reasons


def one_rule(args):
    case = os.path.abspath(args.case)
    name = os.path.basename(case)
    rule = name.split(".")[0]
    work = os.path.join(args.work, name)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    with open(os.path.join(case, "record.json")) as f:
        spec = json.load(f)
    verdict = spec["verdict"]
    check(verdict in VERDICTS, "record.json: bad verdict %r" % verdict)
    check(spec.get("why"), "record.json: no why")
    data = write_record(args, case, work, spec)

    seen = protobuf_c_view(args, case, work, data)
    if verdict == "unreadable":
        check(seen == "unreadable", "protobuf-c: the record is not "
              "unreadable: protoc-c's reader unpacks it", seen)
    else:
        check(seen != "unreadable", "protobuf-c: protoc-c's reader fails to "
              "unpack the record, but the stated verdict is " + verdict)
        check(seen == spec["reader_sees"], "protobuf-c: the old code sees "
              "something else than record.json says",
              "protoc-c reader: %s" % json.dumps(seen),
              "reader_sees:     %s" % json.dumps(spec["reader_sees"]))

    finding = diff_verdict(args, case, spec, rule)
    check(finding["verdict"] == verdict, "diff: %s at %s states verdict %s; "
          "a protobuf-c reader gives %s" % (rule, finding["path"],
                                            finding["verdict"], verdict),
          finding["message"])

    got, reasons = scan_verdict(args, case, work, data)
    check(got == finding["verdict"], "scan: verdict %s; diff's rule %s "
          "states %s (%s)" % (got, rule, finding["verdict"], spec["why"]),
          *reasons)

    for runtime in OTHER_RUNTIMES:
        f = diff_verdict(args, case, spec, rule, runtime)
        got, reasons = scan_verdict(args, case, work, data, runtime)
        check(VERDICTS.index(got) <= VERDICTS.index(f["verdict"]),
              "%s: scan's verdict %s is worse than diff's %s for %s" %
              (runtime, got, f["verdict"], rule), f["message"], *reasons)
        print("%s: diff %s, this record %s" % (runtime, f["verdict"], got))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rollsafe", required=True)
    ap.add_argument("--protoc")
    ap.add_argument("--protoc-c")
    ap.add_argument("--cc")
    ap.add_argument("--work", required=True)
    ap.add_argument("--coverage", dest="rules_dir")
    ap.add_argument("case", nargs="?")
    args = ap.parse_args()
    label = "coverage" if args.rules_dir else os.path.basename(
        os.path.abspath(args.case))
    try:
        if args.rules_dir:
            coverage(args)
        else:
            one_rule(args)
    except Failure as e:
        print("FAIL diff.rule.%s: %s" % (label, e))
        return 1
    print("ok diff.rule.%s" % label)
    return 0


if __name__ == "__main__":
    sys.exit(main())
