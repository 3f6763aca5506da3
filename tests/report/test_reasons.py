#!/usr/bin/env python3
"""The reason codes are listed alike in the codec, in docs/reasons.md and
in the report schemas: src/codec/reason_codes.h (the table every reason's
code comes from) against the docs' tables and the "code" enums of
schema/json/scan.schema.json and inspect.schema.json. A code added to one
and not the others fails here.

Usage: test_reasons.py --rollsafe BIN --work DIR CASE (reasons.<case>)
"""

import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from rsdata import check, check_eq, run_cases  # noqa: E402


def code_table():
    with open(os.path.join(ROOT, "src", "codec", "reason_codes.h")) as f:
        text = f.read()
    codes = re.findall(r'XX\(\s*([A-Z0-9_]+),\s*"([a-z0-9-]+)"\s*\)', text)
    check(len(codes) > 20, "codes found in reason_codes.h", codes)
    for ident, name in codes:
        check_eq(ident.lower().replace("_", "-"), name,
                 "the enum name and the code agree")
    return [name for _, name in codes]


def doc_table():
    with open(os.path.join(ROOT, "docs", "reasons.md")) as f:
        rows = re.findall(r"^\| `([a-z0-9-]+)` \| ([^|]+) \| (.+) \|$",
                          f.read(), re.M)
    for code, verdict, meaning in rows:
        check(meaning.strip(), "%s: a meaning" % code)
    return [code for code, _, _ in rows]


def dupes(xs):
    return sorted({x for x in xs if xs.count(x) > 1})


def test_docs(r):
    code, docs = code_table(), doc_table()
    check_eq(dupes(code), [], "codes listed twice in reason_codes.h")
    check_eq(dupes(docs), [], "codes listed twice in docs/reasons.md")
    check_eq(sorted(set(code) - set(docs)), [],
             "codes in reason_codes.h that docs/reasons.md lacks")
    check_eq(sorted(set(docs) - set(code)), [],
             "codes in docs/reasons.md that reason_codes.h lacks")
    check_eq(docs, code, "the same order in both")


def enums_at(node, key="code"):
    """Every enum of a property named @key in a schema."""
    out = []
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "properties" and isinstance(v, dict) and key in v and \
                    "enum" in v[key]:
                out.append(v[key]["enum"])
            out += enums_at(v, key)
    elif isinstance(node, list):
        for v in node:
            out += enums_at(v, key)
    return out


def test_schemas(r):
    code = code_table()
    for name in ("scan", "inspect"):
        with open(os.path.join(ROOT, "schema", "json",
                               "%s.schema.json" % name)) as f:
            enums = [e for e in enums_at(json.load(f))
                     if any(isinstance(x, str) and "-" in x for x in e)]
        check(enums, "%s.schema.json lists reason codes" % name)
        for e in enums:
            check_eq(sorted(x for x in e if x is not None), sorted(code),
                     "%s.schema.json: reason codes" % name)


if __name__ == "__main__":
    sys.exit(run_cases({n[5:]: f for n, f in sorted(globals().items())
                        if n.startswith("test_") and callable(f)}))
