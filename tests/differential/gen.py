#!/usr/bin/python3
"""Generates the differential corpus's schemas and readers from cases.py.

Usage: gen.py --out DIR [--protoc PROTOC] [--protoc-c PROTOC_C]

Writes, under DIR:

    protos/<case>/v1/rec.proto, protos/<case>/v2/rec.proto
    py/<case>/v{1,2}/rec_pb2.py      protoc --python_out, both versions
    c/<case>/v1/rec.pb-c.[ch]        protoc-c --c_out, the reader only
    desc/<case>/v{1,2}/rec.desc      protoc --descriptor_set_out
    dc_readers.c                     every rec.pb-c.c and the case table
                                     of tests/differential/reader.c

Each case has its own package (dc.<case>.v1, dc.<case>.v2), so all the
generated C links into one program. Files are rewritten only when their
content changes.
"""
import argparse
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import cases as corpus  # noqa: E402

NO_LABEL = ("repeated", "optional", "required", "map", "oneof", "reserved",
            "enum", "message", "}", "option")


def labelled(body, syntax):
    """The message body with `optional` before unlabelled proto2 fields
    (outside oneofs)."""
    if syntax != 2:
        return body
    out, depth, start = [], 0, 0
    i = 0
    stmts = []
    # Split into top-level statements; a oneof block is one statement.
    while i < len(body):
        ch = body[i]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                stmts.append(body[start:i + 1])
                start = i + 1
        elif ch == ";" and depth == 0:
            stmts.append(body[start:i + 1])
            start = i + 1
        i += 1
    if body[start:].strip():
        stmts.append(body[start:])
    for s in stmts:
        t = s.strip()
        if not t:
            continue
        first = re.match(r"[\w<]+", t)
        if first and not any(first.group(0).startswith(k) for k in NO_LABEL):
            t = "optional " + t
        out.append(t)
    return " ".join(out)


def used_types(text, seen=None):
    """Names of TYPES used by text, with the types they use, in order."""
    seen = [] if seen is None else seen
    for name in re.findall(r"\b([A-Z][A-Z0-9]*)\b", text):
        if name in corpus.TYPES and name not in seen:
            seen.append(name)
            used_types(corpus.TYPES[name].split("{", 1)[1], seen)
    return seen


def render_type(name, syntax):
    text = corpus.TYPES[name]
    if text.startswith("message"):
        head, body = text.split("{", 1)
        body = body.rsplit("}", 1)[0]
        return "%s{ %s }" % (head, labelled(body, syntax))
    return text


def render(case, version):
    fields = case.reader if version == 1 else case.writer
    syntax = case.syntax if version == 1 else case.wsyntax
    lines = ['syntax = "proto%d";' % syntax, "",
             "package dc.%s.v%d;" % (case.name, version), ""]
    for name in used_types(fields):
        lines.append(render_type(name, syntax))
    idf = "optional int32 id = 1;" if syntax == 2 else "int32 id = 1;"
    lines.append("message Rec { %s %s }" % (idf, labelled(fields, syntax)))
    return "\n".join(lines) + "\n"


def write_if_changed(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    try:
        with open(path) as f:
            if f.read() == text:
                return
    except OSError:
        pass
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


def proto_path(case, version):
    return "%s/v%d/rec.proto" % (case.name, version)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--protoc", default="protoc")
    ap.add_argument("--protoc-c", default="protoc-c")
    args = ap.parse_args()
    protos = os.path.join(args.out, "protos")
    for c in corpus.CASES:
        for v in (1, 2):
            write_if_changed(os.path.join(protos, proto_path(c, v)),
                             render(c, v))
    all_files = [proto_path(c, v) for c in corpus.CASES for v in (1, 2)]
    readers = [proto_path(c, 1) for c in corpus.CASES]
    py = os.path.join(args.out, "py")
    cdir = os.path.join(args.out, "c")
    os.makedirs(py, exist_ok=True)
    os.makedirs(cdir, exist_ok=True)
    subprocess.run([args.protoc, "-I" + protos, "--python_out=" + py]
                   + all_files, check=True)
    subprocess.run([args.protoc_c, "-I" + protos, "--c_out=" + cdir]
                   + readers, check=True)
    # Descriptor sets of both versions, for rollsafe's --schema.
    for path in all_files:
        out = os.path.join(args.out, "desc", path[:-len(".proto")] + ".desc")
        os.makedirs(os.path.dirname(out), exist_ok=True)
        subprocess.run([args.protoc, "-I" + protos, "--include_imports",
                        "--descriptor_set_out=" + out, path], check=True)

    # One translation unit: every generated reader, then the case table.
    out = ["/* Generated by tests/differential/gen.py from cases.py. */",
           '#include "reader.h"', ""]
    table = []
    for c in corpus.CASES:
        stem = "%s/v1/rec.pb-c" % c.name
        with open(os.path.join(cdir, stem + ".h")) as f:
            header = f.read()
        found = re.findall(
            r"extern const ProtobufCMessageDescriptor (\w+__v1__rec__descriptor);",
            header)
        if len(found) != 1:
            raise SystemExit("gen.py: no descriptor of Rec in %s.h" % stem)
        out.append('#include "%s.c"' % stem)
        table.append('  {"%s", &%s},' % (c.name, found[0]))
    out += ["", "const dc_case dc_cases[] = {"] + table + ["};",
            "const size_t dc_n_cases = sizeof dc_cases / sizeof dc_cases[0];",
            ""]
    write_if_changed(os.path.join(args.out, "dc_readers.c"), "\n".join(out))


if __name__ == "__main__":
    main()
