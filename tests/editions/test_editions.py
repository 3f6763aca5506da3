#!/usr/bin/python3
"""Editions and extensions: rollsafe diff and scan against real readers.

Each case is a reader (version 1) and a writer (version 2) of one record
type, written twice: as `edition = "2023"` files (EDITIONS), which buf
compiles (Debian 12's protoc 3.21 cannot), and as proto2/proto3 files with
the same wire meaning (PROTO), which protoc compiles. No runtime of Debian
12 loads an editions descriptor (protobuf 3.21, protobuf-c 1.4, Go
protobuf 1.28 predate editions), so the expectations come from the PROTO
files, read by real readers. Python's protobuf writes every record with
the PROTO version-2 class; then every record of every case is read by the
PROTO version 1 of

* protoc-c generated C, linked with libprotobuf-c only (pbc_reader.c,
  which prints the message as tests/differential/print.c does);
* the Python, C++, Java and Go readers of the differential suite
  (tests/differential/runtimes/; C++, Java and Go built by
  test_runtimes.py's builders from the Debian packages, once for every
  case, and again only when their sources or the PROTO version-1 files
  change), the PROTO files laid out as the differential corpus lays out
  its cases (WORK/readers-gen/protos/<case>/v1/rec.proto, package
  dc.<case>.v1; both forms of a case use that package). C++, Java and Go
  read every record again with allow_partial (their --allow-partial), and
  Java once more with an ExtensionRegistry holding the file's extensions.

Each reader prints what its runtime's parse gave (extensions it parsed
included); test_runtimes.expected() turns that into the verdict the
runtime gives the record (its parse fails: unreadable; a value other than
the writer's: misread; only fields it keeps as unknown: ignored_fields;
else ok), against what the writer meant (the PROTO version-2 class's parse
of the bytes, extensions included).

rollsafe's scan verdicts with --reader-runtime R, for the EDITIONS files
and for the PROTO files, must equal what R's reader did, record by record
(unreadable and corrupt are one: the parse fails), a reading with
allow_partial with `--reader-option allow_partial=true`; for protobuf-c,
for the PROTO files (of the EDITIONS files no protobuf-c reader exists).
Java reads every record twice more, with an ExtensionRegistry and
without, checked against `--reader-option extension_registry=true` and
`=false`; rollsafe's java verdicts without that option are undetermined
where the two differ (READINGS). Each case also states
its expected verdicts per runtime and its diff findings (rule ids) per
runtime, which both must match too: where a reader disagrees with the
stated verdict, the test fails and says which. Where rollsafe cannot tell
(a Java reader that may or may not pass a registry), the expected
verdict is "undetermined",
which the scan must report with exit 4, and the real readers' verdicts
must not be ok (the undetermined record is a real question). "no_reader"
means rollsafe has no protobuf-c reader of the version (exit 4): no
protobuf-c reader of an editions file or of a group exists (protoc-c 1.4
cannot compile either). A reader that cannot be built or run fails the
test; nothing is skipped.

Usage: test_editions.py --rollsafe BIN --buf BIN --protoc BIN
                        --protoc-c BIN --cc BIN --work DIR [CASE...]
"""
import argparse
import concurrent.futures
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import types

RUNTIMES = ("protobuf-c", "cpp", "java", "go", "python")
HERE = os.path.dirname(os.path.abspath(__file__))
DIFFERENTIAL = os.path.normpath(os.path.join(HERE, "..", "differential"))
sys.path.insert(0, DIFFERENTIAL)

import test_runtimes as tr  # noqa: E402
import test_differential as td  # noqa: E402

# The readings of every record: (label, runtime, the reader's flags,
# rollsafe's scan arguments for a reader that does the same). The stated
# verdicts of a case are those of the readings without options; a reading
# with options must get rollsafe's verdicts with the matching
# --reader-option. Java's plain reading is Rec.parseFrom without a
# registry; rollsafe's java verdicts without extension_registry are those
# of a reader that may pass one or not. Scan arguments None: no reader
# option of rollsafe models the reading, which is checked only where
# rollsafe cannot tell (undetermined: it must not read ok), and printed.
ALLOW_PARTIAL = ["--reader-option", "allow_partial=true"]
READINGS = (("python", "python", [], []),
            ("cpp", "cpp", [], []),
            ("cpp allow_partial", "cpp", ["--allow-partial"], ALLOW_PARTIAL),
            ("java", "java", [], []),
            ("java allow_partial", "java", ["--allow-partial"],
             ALLOW_PARTIAL),
            ("java registry", "java", ["--extension-registry"],
             ["--reader-option", "extension_registry=true"]),
            ("java no registry", "java", [],
             ["--reader-option", "extension_registry=false"]),
            ("go", "go", [], []),
            ("go allow_partial", "go", ["-allow_partial"], ALLOW_PARTIAL))
UNREADABLE = ("unreadable", "corrupt")


class Failure(Exception):
    pass


class Case:
    def __init__(self, name, editions, proto, records, expect, diff,
                 why, cross_diff=False, pbc_reader=True):
        self.name = name
        self.editions = editions  # (v1, v2) .proto texts; {pkg} replaced
        self.proto = proto        # (v1, v2) .proto texts
        self.records = records    # functions (msg) -> None on the v2 class
        self.expect = expect      # {runtime or "*": [verdict per record]}
        self.diff = diff          # {runtime or "*": [rule ids]}
        self.why = why
        self.cross_diff = cross_diff  # PROTO v1 against EDITIONS v2 too
        self.pbc_reader = pbc_reader  # protoc-c compiles PROTO v1

    def verdicts(self, runtime):
        return self.expect.get(runtime, self.expect.get("*"))

    def rules(self, runtime):
        return self.diff.get(runtime, self.diff.get("*"))


E = 'edition = "2023";\npackage {pkg};\n'
P2 = 'syntax = "proto2";\npackage {pkg};\n'
P3 = 'syntax = "proto3";\npackage {pkg};\n'


def setf(**kw):
    def f(m):
        for k, v in kw.items():
            if isinstance(v, list):
                getattr(m, k).extend(v)
            elif isinstance(v, dict):
                for kk, vv in v.items():
                    setattr(getattr(m, k), kk, vv)
            else:
                setattr(m, k, v)
    return f


def ext(name, value, sub=None):
    """Sets extension `name` of the writer's module (resolved at write)."""
    def f(m, mod):
        x = getattr(mod, name)
        if sub is not None:
            for k, v in sub.items():
                setattr(m.Extensions[x], k, v)
        else:
            m.Extensions[x] = value
    f.needs_module = True
    return f


def sub_ext(field, name, value):
    """Sets extension `name` of the writer's module on message field
    `field` of the record."""
    def f(m, mod):
        getattr(m, field).Extensions[getattr(mod, name)] = value
    f.needs_module = True
    return f


CASES = [
    # LEGACY_REQUIRED is proto2's `required`: the same file either way, so
    # diff finds only the added field (info), whichever form each side
    # takes, and nothing between the two forms of one version.
    Case("legacy_required",
         (E + "message Rec { int32 id = 1 [features.field_presence = "
              "LEGACY_REQUIRED]; int32 a = 2; }",
          E + "message Rec { int32 id = 1 [features.field_presence = "
              "LEGACY_REQUIRED]; int32 a = 2; int32 b = 3; }"),
         (P2 + "message Rec { required int32 id = 1; optional int32 a = 2; }",
          P2 + "message Rec { required int32 id = 1; optional int32 a = 2; "
               "optional int32 b = 3; }"),
         [setf(id=1, a=5), setf(id=2, b=7)],
         {"*": ["ok", "ignored_fields"]},
         {"*": ["FIELD_ADDED"]},
         "required as proto2's label", cross_diff=True),
    # A writer that drops LEGACY_REQUIRED may leave the field unset: every
    # runtime that checks required fields fails such a record (Python's
    # FromString checks none).
    Case("legacy_required_dropped",
         (E + "message Rec { int32 id = 1 [features.field_presence = "
              "LEGACY_REQUIRED]; int32 a = 2; }",
          E + "message Rec { int32 id = 1; int32 a = 2; }"),
         (P2 + "message Rec { required int32 id = 1; optional int32 a = 2; }",
          P2 + "message Rec { optional int32 id = 1; optional int32 a = 2; }"),
         [setf(id=1, a=5), setf(a=6)],
         {"python": ["ok", "ok"],
          "*": ["ok", "unreadable"]},
         {"*": ["FIELD_NO_LONGER_REQUIRED"]},
         "required no more"),
    # A message field switched to DELIMITED is written as a group (wire
    # types 3 and 4): protobuf-c fails on it; the other runtimes send it to
    # their unknown fields and read the field unset: misread. (rollsafe
    # decodes no groups: it judges the record without them, the writer
    # being named, here by --raw-writer.)
    Case("delimited",
         (E + "message Rec { message Sub { int32 x = 1; }\n"
              "int32 id = 1; Sub sub = 2; }",
          E + "message Rec { message Sub { int32 x = 1; }\n"
              "int32 id = 1; Sub sub = 2 "
              "[features.message_encoding = DELIMITED]; }"),
         (P2 + "message Rec { message Sub { optional int32 x = 1; }\n"
               "optional int32 id = 1; optional Sub sub = 2; }",
          P2 + "message Rec { optional int32 id = 1; "
               "optional group Sub = 2 { optional int32 x = 1; } }"),
         [setf(id=1, sub={"x": 5}), setf(id=2)],
         {"protobuf-c": ["unreadable", "ok"],
          "*": ["misread", "ok"]},
         {"protobuf-c": ["FIELD_WIRE_TYPE_CHANGED"],
          "*": ["FIELD_WIRE_TYPE_CHANGED"]},
         "a group where a message was"),
    # The other way: the reader's field is DELIMITED and the writer's
    # length-delimited. Runtimes other than protobuf-c send the field to
    # their unknown fields (wire type 2 where they expect 3): misread. No
    # protobuf-c reader of it exists.
    Case("delimited_reader",
         (E + "message Rec { message Sub { int32 x = 1; }\n"
              "int32 id = 1; Sub sub = 2 "
              "[features.message_encoding = DELIMITED]; }",
          E + "message Rec { message Sub { int32 x = 1; }\n"
              "int32 id = 1; Sub sub = 2; }"),
         (P2 + "message Rec { optional int32 id = 1; "
               "optional group Sub = 2 { optional int32 x = 1; } }",
          P2 + "message Rec { message Sub { optional int32 x = 1; }\n"
               "optional int32 id = 1; optional Sub sub = 2; }"),
         [setf(id=1, sub={"x": 5}), setf(id=2)],
         {"protobuf-c": ["no_reader", "no_reader"],
          "*": ["misread", "ok"]},
         {"protobuf-c": ["FIELD_WIRE_TYPE_CHANGED"],
          "*": ["FIELD_WIRE_TYPE_CHANGED"]},
         "a message where a group was", pbc_reader=False),
    # A CLOSED enum (proto2's) sends a value it lacks to the unknown fields
    # in C++, Java and Python: the field reads unset; Go and protobuf-c
    # keep the number. Both are misread.
    Case("enum_closed",
         (E + "enum E { option features.enum_type = CLOSED; E0 = 0; E1 = 1; }\n"
              "message Rec { int32 id = 1; E e = 2; }",
          E + "enum E { option features.enum_type = CLOSED; E0 = 0; E1 = 1; "
              "E2 = 2; }\nmessage Rec { int32 id = 1; E e = 2; }"),
         (P2 + "enum E { E0 = 0; E1 = 1; }\n"
               "message Rec { optional int32 id = 1; optional E e = 2; }",
          P2 + "enum E { E0 = 0; E1 = 1; E2 = 2; }\n"
               "message Rec { optional int32 id = 1; optional E e = 2; }"),
         [setf(id=1, e=2), setf(id=2, e=1)],
         {"*": ["misread", "ok"]},
         {"*": ["ENUM_VALUE_ADDED"]},
         "closed enum, new value"),
    # An OPEN enum (editions' default; proto3's, here with implicit
    # presence as in proto3) keeps the number everywhere: misread.
    Case("enum_open",
         (E + "enum E { E0 = 0; E1 = 1; }\n"
              "message Rec { int32 id = 1; E e = 2 "
              "[features.field_presence = IMPLICIT]; }",
          E + "enum E { E0 = 0; E1 = 1; E2 = 2; }\n"
              "message Rec { int32 id = 1; E e = 2 "
              "[features.field_presence = IMPLICIT]; }"),
         (P3 + "enum E { E0 = 0; E1 = 1; }\n"
               "message Rec { int32 id = 1; E e = 2; }",
          P3 + "enum E { E0 = 0; E1 = 1; E2 = 2; }\n"
               "message Rec { int32 id = 1; E e = 2; }"),
         [setf(id=1, e=2), setf(id=2, e=1)],
         {"*": ["misread", "ok"]},
         {"*": ["ENUM_VALUE_ADDED"]},
         "open enum, new value"),
    # A singular field made repeated: PACKED (editions' default) writes
    # one length-delimited run, which protobuf-c fails on (wire type 2
    # for an int32) and the others send to unknown fields (misread);
    # EXPANDED writes plain varints, which every reader reads (the last
    # wins: one element reads as written).
    Case("packed",
         (E + "message Rec { int32 id = 1; int32 x = 2; }",
          E + "message Rec { int32 id = 1; repeated int32 x = 2; }"),
         (P2 + "message Rec { optional int32 id = 1; optional int32 x = 2; }",
          P2 + "message Rec { optional int32 id = 1; "
               "repeated int32 x = 2 [packed = true]; }"),
         [setf(id=1, x=[7]), setf(id=2)],
         {"protobuf-c": ["unreadable", "ok"],
          "*": ["misread", "ok"]},
         {"*": ["FIELD_MADE_REPEATED"]},
         "singular to packed repeated"),
    Case("expanded",
         (E + "message Rec { int32 id = 1; int32 x = 2; }",
          E + "message Rec { int32 id = 1; repeated int32 x = 2 "
              "[features.repeated_field_encoding = EXPANDED]; }"),
         (P2 + "message Rec { optional int32 id = 1; optional int32 x = 2; }",
          P2 + "message Rec { optional int32 id = 1; repeated int32 x = 2; }"),
         [setf(id=1, x=[7]), setf(id=2)],
         {"*": ["ok", "ok"]},
         {"*": ["FIELD_MADE_REPEATED"]},
         "singular to expanded repeated"),
    # Invalid UTF-8 in a string: VERIFY (editions' default; proto3's)
    # fails C++, Java, Go and Python; NONE (proto2's) reads the bytes.
    Case("utf8_verify",
         (E + "option features.field_presence = IMPLICIT;\n"
              "message Rec { int32 id = 1; string s = 2; }",
          E + "option features.field_presence = IMPLICIT;\n"
              "message Rec { int32 id = 1; bytes s = 2; }"),
         (P3 + "message Rec { int32 id = 1; string s = 2; }",
          P3 + "message Rec { int32 id = 1; bytes s = 2; }"),
         [setf(id=1, s=b"\xff"), setf(id=2, s=b"ok")],
         {"protobuf-c": ["ok", "ok"],
          "java": ["unreadable", "ok"],
          "*": ["unreadable", "ok"]},
         {"protobuf-c": ["FIELD_BYTES_TO_STRING"],
          "*": ["FIELD_BYTES_TO_STRING"]},
         "bytes into a checked string"),
    Case("utf8_none",
         (E + "message Rec { int32 id = 1; string s = 2 "
              "[features.utf8_validation = NONE]; }",
          E + "message Rec { int32 id = 1; bytes s = 2; }"),
         (P2 + "message Rec { optional int32 id = 1; optional string s = 2; }",
          P2 + "message Rec { optional int32 id = 1; optional bytes s = 2; }"),
         [setf(id=1, s=b"\xff"), setf(id=2, s=b"ok")],
         {"java": ["misread", "ok"],
          "*": ["ok", "ok"]},
         {"protobuf-c": ["FIELD_BYTES_TO_STRING"],
          "*": ["FIELD_BYTES_TO_STRING"]},
         "bytes into an unchecked string"),
    # Extensions: protoc-c generates nothing for `extend`, so protobuf-c
    # keeps them as unknown fields (ignored_fields) and diff finds nothing
    # for it; C++, Go and Python parse the extensions they register as
    # fields, and so does Java given a registry: scan reads them as fields
    # (a uint32 read of a sint32: 1 where -1 was written, misread) and diff
    # compares them as fields (uint32 -> sint32; DELIMITED: the wire type;
    # optional -> repeated). Java without a registry keeps them unknown;
    # not said which, the record is undetermined for Java.
    Case("extensions",
         (E + "message Sub { int32 x = 1; }\n"
              "message Rec { int32 id = 1; extensions 100 to 200; }\n"
              "extend Rec { uint32 e = 100; Sub s = 101; int32 r = 102; }",
          E + "message Sub { int32 x = 1; }\n"
              "message Rec { int32 id = 1; extensions 100 to 200; }\n"
              "extend Rec { sint32 e = 100; Sub s = 101 "
              "[features.message_encoding = DELIMITED]; "
              "repeated int32 r = 102; }"),
         (P2 + "message Sub { optional int32 x = 1; }\n"
               "message Rec { optional int32 id = 1; extensions 100 to 200; }\n"
               "extend Rec { optional uint32 e = 100; optional Sub s = 101; "
               "optional int32 r = 102; }",
          P2 + "message Sub { optional int32 x = 1; }\n"
               "message Rec { optional int32 id = 1; extensions 100 to 200; }\n"
               "extend Rec { optional sint32 e = 100; "
               "repeated int32 r = 102; }"),
         [ext("e", -1), setf(id=2)],
         {"protobuf-c": ["ignored_fields", "ok"],
          "java": ["undetermined", "ok"],
          "*": ["misread", "ok"]},
         {"protobuf-c": [],
          "*": ["FIELD_MADE_REPEATED", "FIELD_TYPE_INCOMPATIBLE",
                "FIELD_WIRE_TYPE_CHANGED"]},
         "extension type changes", pbc_reader=True),
    # The same change to an extension of a message within the record: read
    # as a field of that message wherever it sits.
    Case("extensions_nested",
         (E + "message Sub { int32 x = 1; extensions 100 to 200; }\n"
              "message Rec { int32 id = 1; Sub sub = 2; }\n"
              "extend Sub { uint32 e = 100; }",
          E + "message Sub { int32 x = 1; extensions 100 to 200; }\n"
              "message Rec { int32 id = 1; Sub sub = 2; }\n"
              "extend Sub { sint32 e = 100; }"),
         (P2 + "message Sub { optional int32 x = 1; extensions 100 to 200; }\n"
               "message Rec { optional int32 id = 1; optional Sub sub = 2; }\n"
               "extend Sub { optional uint32 e = 100; }",
          P2 + "message Sub { optional int32 x = 1; extensions 100 to 200; }\n"
               "message Rec { optional int32 id = 1; optional Sub sub = 2; }\n"
               "extend Sub { optional sint32 e = 100; }"),
         [sub_ext("sub", "e", -1), setf(id=2)],
         {"protobuf-c": ["ignored_fields", "ok"],
          "java": ["undetermined", "ok"],
          "*": ["misread", "ok"]},
         {"protobuf-c": [], "*": ["FIELD_TYPE_INCOMPATIBLE"]},
         "nested extension type change", pbc_reader=True),
]

# The PROTO v2 of "extensions" lacks the DELIMITED extension `s` (a proto2
# group extension needs a group type of its own); its diff is checked on the
# EDITIONS files only, and its records set only `e`.
NO_PROTO_DIFF = {"extensions"}


def run(argv, what, ok=(0,), **kw):
    p = subprocess.run(argv, capture_output=True, text=True, **kw)
    for marker in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
        if marker in p.stderr:
            raise Failure("%s: sanitizer report:\n%s" % (what, p.stderr))
    if p.returncode not in ok:
        raise Failure("%s failed (exit %d): %s\n%s%s" % (
            what, p.returncode, " ".join(argv), p.stdout[-2000:],
            p.stderr[-2000:]))
    return p


def write_varint(out, n):
    while True:
        b = n & 0x7f
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return


def pkg_of(case, v):
    return "dc.%s.v%d" % (case.name, v)


def write_protos(root):
    """Every case's PROTO files as the differential corpus lays out its
    own (ROOT/protos/<case>/v<N>/rec.proto, package dc.<case>.v<N>), so
    that test_runtimes' builders make readers of them; a file is rewritten
    only when its text changes."""
    for case in CASES:
        for v, ptext in enumerate(case.proto, 1):
            pdir = os.path.join(root, "protos", case.name, "v%d" % v)
            os.makedirs(pdir, exist_ok=True)
            path = os.path.join(pdir, "rec.proto")
            text = ptext.replace("{pkg}", pkg_of(case, v)) + "\n"
            try:
                with open(path) as f:
                    if f.read() == text:
                        continue
            except OSError:
                pass
            with open(path, "w") as f:
                f.write(text)


def build_readers(args, root):
    """test_runtimes' C++, Java and Go readers of every case's PROTO
    version 1: {runtime: argv}. A reader that cannot be built fails."""
    names = sorted(c.name for c in CASES)
    ns = types.SimpleNamespace(gen=root, pbc_reader=None,
                               work=os.path.join(args.work, "readers"))
    runtimes = ("python", "cpp", "java", "go")
    # The three builds side by side: most of a first run's time.
    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        futures = [pool.submit(tr.reader_argv, rt, names, ns)
                   for rt in runtimes]
    out = {}
    for rt, f in zip(runtimes, futures):
        try:
            out[rt] = f.result()
        except tr.Failure as e:
            raise Failure("the %s reader: %s" % (rt, e))
    return out


def build(args, case, work, root):
    """Descriptor sets of both forms, Python classes and the C reader."""
    d = {}
    protos = os.path.join(root, "protos")
    for v, etext in enumerate(case.editions, 1):
        pkg = pkg_of(case, v)
        edir = os.path.join(work, "editions", "v%d" % v)
        pydir = os.path.join(root, "py")
        for x in (edir, pydir):
            os.makedirs(x, exist_ok=True)
        with open(os.path.join(edir, "buf.yaml"), "w") as f:
            f.write("version: v2\n")
        with open(os.path.join(edir, "rec.proto"), "w") as f:
            f.write(etext.replace("{pkg}", pkg) + "\n")
        # The PROTO file's name holds the case: Python's descriptor pool
        # holds every case's.
        pname = "%s/v%d/rec.proto" % (case.name, v)
        d["e%d" % v] = os.path.join(work, "e%d.binpb" % v)
        d["p%d" % v] = os.path.join(work, "p%d.binpb" % v)
        run([args.buf, "build", "-o", d["e%d" % v]], "buf build", cwd=edir)
        run([args.protoc, "-I", protos, "--include_imports", "-o",
             d["p%d" % v], "--python_out", pydir, pname],
            "protoc " + pname)
        spec = importlib.util.spec_from_file_location(
            "ed_%s_v%d" % (case.name, v),
            os.path.join(pydir, case.name, "v%d" % v, "rec_pb2.py"))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        d["mod%d" % v] = mod
        d["pkg%d" % v] = pkg
    if case.pbc_reader:
        cdir = os.path.join(work, "c")
        os.makedirs(cdir, exist_ok=True)
        pname = "%s/v1/rec" % case.name
        run([args.protoc_c, "-I", protos, "--c_out", cdir, pname + ".proto"],
            "protoc-c")
        sym = "%s__rec__descriptor" % d["pkg1"].replace(".", "__")
        d["pbc"] = os.path.join(work, "pbc_reader")
        run([args.cc, "-std=c11", "-D_POSIX_C_SOURCE=200809L", "-o",
             d["pbc"], "-I", cdir, "-I", DIFFERENTIAL,
             "-include", os.path.join(cdir, pname + ".pb-c.h"),
             "-DRS_ED_DESC=" + sym, os.path.join(HERE, "pbc_reader.c"),
             os.path.join(DIFFERENTIAL, "print.c"),
             os.path.join(cdir, pname + ".pb-c.c"), "-lprotobuf-c"], "cc")
    return d


def record_bytes(case, d):
    out = []
    cls = d["mod2"].Rec
    for r in case.records:
        if isinstance(r, str):
            out.append(bytes.fromhex(r))
            continue
        m = cls()
        if getattr(r, "needs_module", False):
            r(m, d["mod2"])
        else:
            r(m)
        out.append(m.SerializePartialToString())
    return out


def pbc_docs(d, stream, n):
    """The protobuf-c reader's JSON of each record of @stream."""
    with open(stream, "rb") as f:
        p = run([d["pbc"]], "protobuf-c reader", stdin=f)
    lines = p.stdout.splitlines()
    if len(lines) != n:
        raise Failure("the protobuf-c reader answered %d of %d records"
                      % (len(lines), n))
    return [json.loads(x) for x in lines]


def scan(args, stream, v1, v2, runtime, typ, n, options=()):
    """[verdict per record] ("undetermined"; all "refused" on exit 2)."""
    p = run([args.rollsafe, "scan", "--stream", stream, "--type", typ,
             "--schema", v1, "--schema", v2, "--reader-runtime", runtime,
             "--raw-writer", "2", "--format", "json", "--samples", "1000"]
            + list(options), "scan", ok=(0, 1, 4))
    doc = json.loads(p.stdout)
    out = [None] * n
    for verdict, samples in doc["targets"][0].get("samples", {}).items():
        for s in samples:
            if verdict == "undetermined" and \
                    s.get("writer_basis") == "no_reader":
                verdict = "no_reader"
            out[int(str(s["key"]).split("@")[0])] = verdict
    # Samples list every verdict but ok.
    out = ["ok" if v is None else v for v in out]
    undetermined = "undetermined" in out or "no_reader" in out
    if undetermined != (p.returncode == 4):
        raise Failure("scan exit %d with verdicts %s" % (p.returncode, out))
    return out, p.returncode


def diff_rules(args, v1, v2, runtime):
    p = run([args.rollsafe, "diff", v1, v2, "--reader-runtime", runtime,
             "--format", "json"], "diff", ok=(0, 1))
    return sorted(f["rule"] for f in json.loads(p.stdout)["findings"])


def extensions_of(mod):
    """The extensions the module's file declares, by the full name of the
    message each extends."""
    out = {}
    xs = list(mod.DESCRIPTOR.extensions_by_name.values())
    for m in mod.DESCRIPTOR.message_types_by_name.values():
        xs += list(m.extensions)
    for x in xs:
        out.setdefault(x.containing_type.full_name, []).append(x)
    return out


def is_single_message(fd):
    return (fd.message_type is not None and fd.label != fd.LABEL_REPEATED)


def py_extensions(msg, common):
    """Adds the extensions set in msg, and in the messages within it, to
    its common form (td.py_message's), by number."""
    for fd, v in msg.ListFields():
        if fd.is_extension:
            common[fd.number] = ([td.py_scalar(fd, x, False) for x in v]
                                 if fd.label == fd.LABEL_REPEATED
                                 else td.py_scalar(fd, v, False))
        elif is_single_message(fd):
            c = common.get(fd.number)
            if isinstance(c, tuple) and c[0] == "m":
                py_extensions(v, c[1])


def writer_of(d, data):
    """What the writer meant (td's common form, extensions by number, at
    any depth), or None when its own class cannot parse the bytes."""
    try:
        m = d["mod2"].Rec.FromString(data)
        out = td.py_message(m, reader=False)
    except Exception:  # DecodeError, and the runtime's own errors
        return None
    py_extensions(m, out)
    return out


def read_all(argvs, work, jobs):
    """Each reading of READINGS over [(case, bytes)]: {label: [doc]}."""
    text = "".join("%s %s\n" % (c.name, b.hex()) for c, b in jobs)
    out = {}
    for label, rt, flags, _ in READINGS:
        p = tr.run(argvs[rt] + flags,
                   "the %s reader" % label, input=text, timeout=300)
        lines = p.stdout.splitlines()
        if len(lines) != len(jobs):
            raise Failure("the %s reader answered %d of %d records"
                          % (label, len(lines), len(jobs)))
        out[label] = [json.loads(x) for x in lines]
    return out


def same(a, b):
    return a == b or (a in UNREADABLE and b in UNREADABLE)


def check_case(args, case, work, d, records, docs):
    """@docs: {reading label: [the reader's JSON per record]}."""
    errors = []
    stream = os.path.join(work, "records.bin")
    with open(stream, "wb") as f:
        for r in records:
            b = bytearray()
            write_varint(b, len(r))
            f.write(bytes(b) + r)
    n = len(records)
    readings = list(READINGS)
    if case.pbc_reader:
        docs = dict(docs, **{"protobuf-c": pbc_docs(d, stream, n)})
        readings.insert(0, ("protobuf-c", "protobuf-c", [], []))
    rdesc, wdesc = d["mod1"].Rec.DESCRIPTOR, d["mod2"].Rec.DESCRIPTOR
    exts = extensions_of(d["mod1"])
    real = {}  # label -> [(verdict, detail, doc)]
    for label, _, _, _ in readings:
        real[label] = []
        for data, doc in zip(records, docs[label]):
            rec = types.SimpleNamespace(writer=writer_of(d, data))
            v, why = tr.expected(rec, doc, rdesc, wdesc, exts)
            real[label].append((v, why, doc))
    scans = {}
    for rt in RUNTIMES:
        want = case.verdicts(rt)
        # protoc-c cannot compile an editions file: for protobuf-c, the
        # expected verdicts are the PROTO files' (whose protoc-c reader
        # exists, and is run below), and every record of the EDITIONS files
        # is undetermined: there is no protobuf-c reader of them.
        want_e = ["no_reader"] * n if rt == "protobuf-c" else want
        got_e, _ = scan(args, stream, d["e1"], d["e2"], rt,
                        "%s.Rec" % d["pkg1"], n)
        got_p, _ = scan(args, stream, d["p1"], d["p2"], rt,
                        "%s.Rec" % d["pkg1"], n)
        scans[rt, ()] = (got_e, got_p)
        if got_e != want_e:
            errors.append("%s: scan %s: editions verdicts %s, expected %s"
                          % (case.name, rt, got_e, want_e))
        if got_p != want:
            errors.append("%s: scan %s: proto2/proto3 verdicts %s, expected "
                          "%s" % (case.name, rt, got_p, want))
        rules = diff_rules(args, d["e1"], d["e2"], rt)
        if rules != sorted(case.rules(rt)):
            errors.append("%s: diff %s: editions rules %s, expected %s"
                          % (case.name, rt, rules, sorted(case.rules(rt))))
        if case.name not in NO_PROTO_DIFF:
            prules = diff_rules(args, d["p1"], d["p2"], rt)
            if prules != rules:
                errors.append("%s: diff %s: editions rules %s, proto2/proto3 "
                              "%s" % (case.name, rt, rules, prules))
        if case.cross_diff:
            for a, b in (("p1", "e2"), ("e1", "p2"), ("p1", "e1"),
                         ("e1", "p1")):
                x = diff_rules(args, d[a], d[b], rt)
                want = [] if a[1] == b[1] else sorted(case.rules(rt))
                if x != want:
                    errors.append("%s: diff %s %s against %s: rules %s, "
                                  "expected %s" % (case.name, rt, a, b, x,
                                                   want))
    # The readers against the stated verdicts and against rollsafe's scans
    # of both forms (for protobuf-c, of the PROTO files: no protobuf-c
    # reader of the EDITIONS files exists, which the scans above check).
    for label, rt, _, options in readings:
        key = (rt, tuple(options or ()))
        if key not in scans:
            scans[key] = tuple(
                scan(args, stream, d[v1], d[v2], rt, "%s.Rec" % d["pkg1"],
                     n, options)[0] for v1, v2 in (("e1", "e2"),
                                                   ("p1", "p2")))
        got_e, got_p = scans[key]
        # Without options, the case's stated verdicts (which the scans
        # must give, above) are this reader's.
        stated = case.verdicts(rt) if options == [] else [None] * n
        for i, (v, why, doc) in enumerate(real[label]):
            reading = "%s reads %s, so %s%s" % (
                label, tr.render(doc), v, " (%s)" % why if why else "")
            print("  %s #%d %-19s %-14s rollsafe %s / %s" % (
                case.name, i, label, v, got_e[i], got_p[i]))
            said = [("proto2/proto3", got_p[i])]
            if rt != "protobuf-c":
                # No protobuf-c reader of the EDITIONS files exists (its
                # scans say no_reader, checked above).
                said.insert(0, ("editions", got_e[i]))
            if options is None or "undetermined" in \
                    [stated[i]] + [x for _, x in said]:
                if v == "ok" and (options is not None or "undetermined" in
                                  [x for _, x in said]):
                    errors.append("%s: record %d: undetermined, but %s"
                                  % (case.name, i, reading))
                continue
            if stated[i] is not None and not same(v, stated[i]):
                errors.append("%s: record %d: %s; the case states %s"
                              % (case.name, i, reading, stated[i]))
            for form, got in said:
                if not same(v, got):
                    errors.append("%s: record %d: %s; rollsafe scan "
                                  "--reader-runtime %s%s (%s files) says "
                                  "%s\n     bytes %s" % (
                                      case.name, i, reading, rt,
                                      "".join(" " + x for x in options),
                                      form, got, records[i].hex()))
    return errors


def main():
    ap = argparse.ArgumentParser()
    for a in ("--rollsafe", "--buf", "--protoc", "--protoc-c", "--cc",
              "--work"):
        ap.add_argument(a, required=True)
    ap.add_argument("cases", nargs="*")
    args = ap.parse_args()
    args.work = os.path.abspath(args.work)
    if not os.access(args.buf, os.X_OK):
        print("buf not found (%s): .ci/packages.sh's rs_install_buf installs "
              "it (npm @bufbuild/buf) under RS_NPM_PREFIX; reconfigure after"
              % args.buf, file=sys.stderr)
        return 1
    unknown = set(args.cases) - {c.name for c in CASES}
    if unknown:
        print("no case %s" % ", ".join(sorted(unknown)), file=sys.stderr)
        return 1
    root = os.path.join(args.work, "readers-gen")
    errors = []
    try:
        write_protos(root)
        argvs = build_readers(args, root)
        built = []
        for case in CASES:
            if args.cases and case.name not in args.cases:
                continue
            work = os.path.join(args.work, case.name)
            shutil.rmtree(work, ignore_errors=True)
            os.makedirs(work)
            d = build(args, case, work, root)
            built.append((case, work, d, record_bytes(case, d)))
        jobs = [(case, r) for case, _, _, records in built for r in records]
        docs = read_all(argvs, args.work, jobs)
    except (Failure, tr.Failure) as f:
        print("FAIL %s" % f)
        return 1
    k = 0
    for case, work, d, records in built:
        mine = {label: docs[label][k:k + len(records)]
                for label, _, _, _ in READINGS}
        k += len(records)
        try:
            e = check_case(args, case, work, d, records, mine)
        except (Failure, tr.Failure) as f:
            e = ["%s: %s" % (case.name, f)]
        print("%-24s %s" % (case.name, "ok" if not e else "FAILED"))
        errors += e
    for e in errors:
        print("FAIL " + e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
