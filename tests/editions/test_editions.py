#!/usr/bin/python3
"""Editions and extensions: rollsafe diff and scan against real readers.

Each case is a reader (version 1) and a writer (version 2) of one record
type, written twice: as `edition = "2023"` files (EDITIONS), which buf
compiles (Debian 12's protoc 3.21 cannot), and as proto2/proto3 files with
the same wire meaning (PROTO), which protoc compiles. No runtime of Debian
12 loads an editions descriptor (protobuf 3.21, protobuf-c 1.4, Go
protobuf 1.28 predate editions), so the expectations come from the PROTO
files, read by real readers:

* Python's protobuf (3.21, its C++ backend) reads every record with the
  PROTO version-1 class; what it reads gives the expected Python verdict
  (its parse fails: unreadable; a field it knows reads otherwise than the
  PROTO version-2 class reads it: misread; only unknown fields differ:
  ignored_fields; else ok);
* protoc-c generated C of the PROTO version 1, linked with libprotobuf-c
  only (pbc_reader.c), tells whether protobuf-c's unpack fails (unreadable
  exactly when it does);
* for the extensions case, C++, Go and Java readers of the PROTO version 1
  (cpp_ext_reader.cc, go_ext_reader.go, JavaExtReader.java, built from the
  Debian packages) show how each parses a registered extension;
* the other runtimes' readings of the PROTO files are what the differential
  suite (differential.runtime.*) checks rollsafe against, record by record:
  here rollsafe's verdicts for the EDITIONS files must equal its verdicts
  for the PROTO files, runtime by runtime.

Each case also states its expected verdicts per runtime and its diff
findings (rule ids) per runtime: a test that can fail. Where rollsafe
cannot tell (fields written as groups, which it cannot decode; extensions
a runtime parses), the expected verdict is "undetermined", which the scan
must report with exit 4, and the real reader's verdict must not be ok
(the undetermined record is a real question). "refused" means rollsafe
refuses the reader (exit 2): no protobuf-c reader of an editions file or
of a group exists (protoc-c 1.4 cannot compile either).

Usage: test_editions.py --rollsafe BIN --buf BIN --protoc BIN
                        --protoc-c BIN --cc BIN [--cxx BIN] [--go BIN]
                        [--java BIN] [--javac BIN] --work DIR
                        [CASE...]
"""
import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys

RUNTIMES = ("protobuf-c", "cpp", "java", "go", "python")
HERE = os.path.dirname(os.path.abspath(__file__))


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
    # for it; the other runtimes parse the extensions they register as
    # fields, which rollsafe's scan does not model (undetermined) and its
    # diff compares as fields (uint32 -> sint32: misread; DELIMITED: the
    # wire type; optional -> repeated).
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
          "*": ["undetermined", "ok"]},
         {"protobuf-c": [],
          "*": ["FIELD_MADE_REPEATED", "FIELD_TYPE_INCOMPATIBLE",
                "FIELD_WIRE_TYPE_CHANGED"]},
         "extension type changes", pbc_reader=True),
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


def build(args, case, work):
    """Descriptor sets of both forms, Python classes and the C reader."""
    d = {}
    for v, (etext, ptext) in enumerate(zip(case.editions, case.proto), 1):
        pkg = "ed.%s.v%d" % (case.name, v)
        edir = os.path.join(work, "editions", "v%d" % v)
        pdir = os.path.join(work, "proto", "v%d" % v)
        for x in (edir, pdir):
            os.makedirs(x, exist_ok=True)
        with open(os.path.join(edir, "buf.yaml"), "w") as f:
            f.write("version: v2\n")
        with open(os.path.join(edir, "rec.proto"), "w") as f:
            f.write(etext.replace("{pkg}", pkg) + "\n")
        # One name per file: Python's descriptor pool holds every case's.
        pname = "%s_v%d" % (case.name, v)
        with open(os.path.join(pdir, pname + ".proto"), "w") as f:
            f.write(ptext.replace("{pkg}", pkg) + "\n")
        d["e%d" % v] = os.path.join(work, "e%d.binpb" % v)
        d["p%d" % v] = os.path.join(work, "p%d.binpb" % v)
        run([args.buf, "build", "-o", d["e%d" % v]], "buf build", cwd=edir)
        run([args.protoc, "-I", pdir, "--include_imports", "-o",
             d["p%d" % v], "--python_out", pdir, pname + ".proto"],
            "protoc " + pdir)
        spec = importlib.util.spec_from_file_location(
            "ed_%s_v%d" % (case.name, v), os.path.join(pdir, pname + "_pb2.py"))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        d["mod%d" % v] = mod
        d["pkg%d" % v] = pkg
    if case.pbc_reader:
        cdir = os.path.join(work, "c")
        os.makedirs(cdir, exist_ok=True)
        pdir = os.path.join(work, "proto", "v1")
        pname = "%s_v1" % case.name
        run([args.protoc_c, "-I", pdir, "--c_out", cdir, pname + ".proto"],
            "protoc-c")
        sym = "%s__rec__descriptor" % d["pkg1"].replace(".", "__")
        d["pbc"] = os.path.join(work, "pbc_reader")
        run([args.cc, "-std=c11", "-o", d["pbc"], "-I", cdir,
             "-include", os.path.join(cdir, pname + ".pb-c.h"),
             "-DRS_ED_DESC=" + sym, os.path.join(HERE, "pbc_reader.c"),
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


def as_value(m, fields=None):
    """A message's known fields (extensions too) by number, recursively."""
    out = {}
    for fd, v in m.ListFields():
        if fd.message_type is not None:
            v = ([as_value(x) for x in v] if fd.label == fd.LABEL_REPEATED
                 else as_value(v))
        elif fd.label == fd.LABEL_REPEATED:
            v = list(v)
        if isinstance(v, str):
            v = v.encode()
        out[fd.number] = v
    return out


def python_verdict(d, data):
    """What Python's protobuf (the PROTO version 1 class) makes of data."""
    try:
        r = d["mod1"].Rec.FromString(data)
    except Exception as e:  # DecodeError and its kin
        return "unreadable", str(e)
    w = d["mod2"].Rec.FromString(data)
    rv, wv = as_value(r), as_value(w)
    rdesc = d["mod1"].Rec.DESCRIPTOR
    known = {f.number: f for f in rdesc.fields}
    for x in d["mod1"].DESCRIPTOR.extensions_by_name.values():
        if x.containing_type.full_name == rdesc.full_name:
            known[x.number] = x
    for num, fd in known.items():
        have, meant = rv.get(num), wv.get(num)
        # A singular reader of a repeated writer keeps the last element.
        if isinstance(meant, list) and not isinstance(have, list) and meant:
            meant = meant[-1]
        if have != meant:
            return "misread", "field %d: read %r, written %r" % (
                num, have, meant)
        if fd.enum_type is not None and have is not None:
            for v in (have if isinstance(have, list) else [have]):
                if v not in fd.enum_type.values_by_number:
                    return "misread", "field %d: value %d its enum lacks" % (
                        num, v)
    if len(r.UnknownFields()) > 0:
        return "ignored_fields", "unknown fields"
    return "ok", ""


def pbc_verdicts(d, stream):
    with open(stream, "rb") as f:
        p = run([d["pbc"]], "protobuf-c reader", stdin=f)
    return p.stdout.split("\n")[:-1]


def scan(args, stream, v1, v2, runtime, typ, n):
    """[verdict per record] ("undetermined"; all "refused" on exit 2)."""
    p = run([args.rollsafe, "scan", "--stream", stream, "--type", typ,
             "--schema", v1, "--schema", v2, "--reader-runtime", runtime,
             "--raw-writer", "2", "--format", "json", "--samples", "1000"],
            "scan", ok=(0, 1, 4))
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


def cpp_extension_reading(args, d, data, work):
    """C++'s reading of the extension `e` of the "extensions" case: its
    generated code linked in registers the extension, so ParseFromString
    parses it as a field (a uint32 where a sint32 was written)."""
    pdir = os.path.join(work, "proto", "v1")
    run([args.protoc, "-I", pdir, "--cpp_out", pdir, "extensions_v1.proto"],
        "protoc --cpp_out")
    exe = os.path.join(work, "cpp_ext_reader")
    flags = run(["pkg-config", "--cflags", "--libs", "protobuf"],
                "pkg-config protobuf").stdout.split()
    run([args.cxx, "-std=c++17", "-o", exe, "-I", pdir,
         '-DRS_ED_HEADER="extensions_v1.pb.h"',
         "-DRS_ED_NS=" + d["pkg1"].replace(".", "::"),
         os.path.join(HERE, "cpp_ext_reader.cc"),
         os.path.join(pdir, "extensions_v1.pb.cc")] + flags, "c++")
    return run([exe], "C++ reader", input=data.decode("latin-1"),
               encoding="latin-1").stdout.strip()


def go_extension_reading(args, d, data, work):
    """Go's reading of the extension `e` of the "extensions" case: the
    generated package imported registers it, and proto.Unmarshal resolves
    extensions with protoregistry.GlobalTypes by default. Built offline in
    GOPATH mode from Debian's golang-google-protobuf-dev."""
    gopath = os.path.join(work, "gopath")
    env = dict(os.environ)
    env.update(GOPATH=gopath + ":/usr/share/gocode", GO111MODULE="off",
               GOFLAGS="", GOPROXY="off",
               GOCACHE=os.path.join(work, "gocache"))
    src = os.path.join(gopath, "src")
    os.makedirs(os.path.join(src, "edextreader"), exist_ok=True)
    plugin = os.path.join(work, "protoc-gen-go")
    run([args.go, "build", "-o", plugin,
         "google.golang.org/protobuf/cmd/protoc-gen-go"],
        "go build protoc-gen-go", env=env)
    pdir = os.path.join(work, "proto", "v1")
    run([args.protoc, "-I", pdir, "--plugin=protoc-gen-go=" + plugin,
         "--go_out=" + src, "--go_opt=Mextensions_v1.proto=edext/v1",
         "extensions_v1.proto"], "protoc --go_out")
    shutil.copy(os.path.join(HERE, "go_ext_reader.go"),
                os.path.join(src, "edextreader", "main.go"))
    exe = os.path.join(work, "go_ext_reader")
    run([args.go, "build", "-o", exe, "edextreader"], "go build", env=env)
    return run([exe], "Go reader", input=data.decode("latin-1"),
               encoding="latin-1").stdout.strip()


def java_extension_reading(args, d, data, work):
    """Java's reading of the extension `e` of the "extensions" case, by
    Rec.parseFrom without and with an ExtensionRegistry."""
    pdir = os.path.join(work, "proto", "v1")
    jdir = os.path.join(work, "java")
    os.makedirs(jdir, exist_ok=True)
    run([args.protoc, "-I", pdir, "--java_out", jdir, "extensions_v1.proto"],
        "protoc --java_out")
    sources = [os.path.join(HERE, "JavaExtReader.java")]
    for root, _, files in os.walk(jdir):
        sources += [os.path.join(root, f) for f in files
                    if f.endswith(".java")]
    cp = "/usr/share/java/protobuf.jar"
    run([args.javac, "-nowarn", "-cp", cp, "-d", jdir] + sources, "javac")
    return run([args.java, "-cp", jdir + ":" + cp, "JavaExtReader"],
               "Java reader", input=data.decode("latin-1"),
               encoding="latin-1").stdout.strip()


def check_case(args, case, work):
    errors = []
    d = build(args, case, work)
    records = record_bytes(case, d)
    if case.name == "extensions":
        # The undetermined record is a real question for C++: it parses the
        # extension as a field and reads 1 where -1 was written.
        got = cpp_extension_reading(args, d, records[0], work)
        if got != "has 1 value 1 unknown 0":
            errors.append("extensions: C++ reads the extension as '%s', "
                          "expected 'has 1 value 1 unknown 0'" % got)
        got = java_extension_reading(args, d, records[0], work)
        want = ("plain has false value 0 unknown 1\n"
                "registry has true value 1 unknown 0")
        if got != want:
            errors.append("extensions: Java reads the extension as '%s', "
                          "expected '%s'" % (got, want))
        got = go_extension_reading(args, d, records[0], work)
        if got != "has true value 1 unknown 0":
            errors.append("extensions: Go reads the extension as '%s', "
                          "expected 'has true value 1 unknown 0'" % got)
    stream = os.path.join(work, "records.bin")
    with open(stream, "wb") as f:
        for r in records:
            b = bytearray()
            write_varint(b, len(r))
            f.write(bytes(b) + r)
    n = len(records)
    pbc = pbc_verdicts(d, stream) if case.pbc_reader else None
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
        if got_e != want_e:
            errors.append("%s: scan %s: editions verdicts %s, expected %s"
                          % (case.name, rt, got_e, want_e))
        if got_p != want:
            errors.append("%s: scan %s: proto2/proto3 verdicts %s, expected "
                          "%s" % (case.name, rt, got_p, want))
        for i, data in enumerate(records):
            if rt == "python":
                real, why = python_verdict(d, data)
                if want[i] == "undetermined":
                    if real == "ok":
                        errors.append("%s: record %d: undetermined, but "
                                      "Python reads it ok" % (case.name, i))
                elif real != want[i]:
                    errors.append("%s: record %d: Python reads it %s (%s), "
                                  "expected %s" % (case.name, i, real, why,
                                                   want[i]))
            if rt == "protobuf-c" and pbc is not None:
                fails = pbc[i] == "error"
                if fails != (want[i] == "unreadable"):
                    errors.append("%s: record %d: protobuf-c %s, expected %s"
                                  % (case.name, i, pbc[i], want[i]))
                if (want[i] == "ignored_fields") != \
                        (not fails and pbc[i] != "ok 0"):
                    errors.append("%s: record %d: protobuf-c %s, expected %s"
                                  % (case.name, i, pbc[i], want[i]))
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
    return errors


def main():
    ap = argparse.ArgumentParser()
    for a in ("--rollsafe", "--buf", "--protoc", "--protoc-c", "--cc",
              "--work"):
        ap.add_argument(a, required=True)
    ap.add_argument("--cxx", default="c++")
    ap.add_argument("--go", default="go")
    ap.add_argument("--java", default="java")
    ap.add_argument("--javac", default="javac")
    ap.add_argument("cases", nargs="*")
    args = ap.parse_args()
    if not os.access(args.buf, os.X_OK):
        print("buf not found (%s): .ci/packages.sh's rs_install_buf installs "
              "it (npm @bufbuild/buf) under RS_NPM_PREFIX; reconfigure after"
              % args.buf, file=sys.stderr)
        return 1
    errors = []
    for case in CASES:
        if args.cases and case.name not in args.cases:
            continue
        work = os.path.join(args.work, case.name)
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work)
        try:
            e = check_case(args, case, work)
        except Failure as f:
            e = ["%s: %s" % (case.name, f)]
        print("%-18s %s" % (case.name, "ok" if not e else "FAILED"))
        errors += e
    for e in errors:
        print("FAIL " + e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
