#!/usr/bin/python3
"""Where the reader's schema came from, in every report.

Usage: test_origin.py --rollsafe BIN --work DIR CASE
Environment: RS_PLUGIN (examples/plugin built), RS_FIXTURES (tests/fixtures),
RS_SCHEMA_DIR (schema/).

Each function named test_<case> below is one ctest case, origin.<case>.
scan, fix (text and JSON), inspect and diff name the reader's schema: the
built-in example (the demo's shop.Order, compiled into the tool), a schema
file (the version's own), or a plugin, with the schema fingerprint of the
reader's version. A user's own type that is also named shop.Order is named
as their file, never judged against the example in silence; the example
itself is named as the built-in example.

The fingerprints expected are computed here from schema/README.md's
definition (FNV-1a 64 over the canonical text), or taken from the golden
fixtures Python's protobuf wrote, never from rollsafe's output.

Exit status: 0 passed, 1 failed.
"""

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys

SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer",
                     "UndefinedBehaviorSanitizer", "runtime error:")

# A user's own shop.Order, nothing like the example's (schema/shop): same
# name, other fields.
OWN_V1 = """syntax = "proto3";
package shop.v1;
message Order {
  string id = 1;
  int64 cents = 2;
}
"""
OWN_V2 = """syntax = "proto3";
package shop.v2;
message Order {
  string id = 1;
  int64 cents = 2;
  string note = 3;
}
"""
OWN_CANON = {1: "{1:optional:string;2:optional:int64}",
             2: "{1:optional:string;2:optional:int64;3:optional:string}"}


class Failure(Exception):
    pass


def check(cond, what, *context):
    if not cond:
        raise Failure(what + "".join("\n  " + str(c)[:3000] for c in context))


def fnv_fingerprint(canon):
    """schema/README.md: FNV-1a 64 over the canonical text, hex."""
    h = 0xcbf29ce484222325
    for b in canon.encode("ascii"):
        h ^= b
        h = (h * 0x100000001b3) % (1 << 64)
    return "%016x" % h


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7f
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def own_record(order_id, cents):
    """A raw shop.v1.Order of OWN_V1, encoded here by hand."""
    oid = order_id.encode()
    return b"\x0a" + varint(len(oid)) + oid + b"\x10" + varint(cents)


class Ctx:
    def __init__(self, args):
        self.rollsafe = args.rollsafe
        self.work = args.work
        shutil.rmtree(self.work, ignore_errors=True)
        os.makedirs(self.work)
        self.plugin = os.environ.get("RS_PLUGIN", "")
        self.fixtures = os.environ.get("RS_FIXTURES", "")
        self.schema = os.environ.get("RS_SCHEMA_DIR", "")

    def run(self, *argv, stdin=b""):
        p = subprocess.run([self.rollsafe, *argv], input=stdin,
                           capture_output=True, cwd=self.work, timeout=120)
        out = p.stdout.decode("utf-8", "replace")
        err = p.stderr.decode("utf-8", "replace")
        for marker in SANITIZER_MARKERS:
            check(marker not in err, "sanitizer report from rollsafe %s"
                  % " ".join(argv), err)
        return p.returncode, out, err

    def expect(self, codes, *argv, stdin=b""):
        rc, out, err = self.run(*argv, stdin=stdin)
        codes = codes if isinstance(codes, tuple) else (codes,)
        check(rc in codes, "rollsafe %s: exit %d, expected %s"
              % (" ".join(argv), rc, codes), "stdout: " + out,
              "stderr: " + err)
        return out, err

    def json(self, codes, *argv, stdin=b""):
        out, err = self.expect(codes, *argv, stdin=stdin)
        try:
            return json.loads(out), err
        except ValueError as e:
            raise Failure("rollsafe %s: not JSON (%s)" % (" ".join(argv), e),
                          out)

    def golden(self, version):
        """The example's fingerprint of a version, as the golden fixtures
        (written by Python's protobuf) give it."""
        check(self.fixtures, "RS_FIXTURES is not set")
        for case in sorted(os.listdir(os.path.join(self.fixtures, "golden"))):
            path = os.path.join(self.fixtures, "golden", case, "expect")
            if not os.path.isfile(path):
                continue
            for line in open(path):
                parts = line.split()
                if parts[:2] == ["registry_fingerprint", str(version)]:
                    return parts[2]
        raise Failure("no golden registry_fingerprint %d" % version)

    def demo(self):
        d = os.path.join(self.work, "demo")
        self.expect(0, "demo", "-qn", "40", d)
        return os.path.join(d, "demo.db")

    def own_schemas(self):
        paths = []
        for v, text in ((1, OWN_V1), (2, OWN_V2)):
            d = os.path.join(self.work, "proto", "shop", "v%d" % v)
            os.makedirs(d, exist_ok=True)
            p = os.path.join(d, "order.proto")
            with open(p, "w") as f:
                f.write(text)
            paths.append(p)
        return paths

    def own_db(self):
        db = os.path.join(self.work, "own.db")
        c = sqlite3.connect(db)
        c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, payload BLOB)")
        c.executemany("INSERT INTO t VALUES (?, ?)",
                      [(i, own_record("O-%d" % i, 100 * i))
                       for i in range(1, 6)])
        c.commit()
        c.close()
        return db


def table(db, rtype="shop.Order", t="orders"):
    return ["--sqlite", db, "--table", t, "--key", "id", "--column",
            "payload", "--type", rtype]


def test_builtin_example_is_named(ctx):
    db = ctx.demo()
    fp1, fp2 = ctx.golden(1), ctx.golden(2)
    want = {"source": "builtin", "path": None, "fingerprint": fp1}
    doc, err = ctx.json((0, 1), "scan", *table(db), "--format", "json")
    check(doc["targets"][0]["reader"]["schema"] == want,
          "scan: reader schema", doc["targets"][0]["reader"])
    out, _ = ctx.expect((0, 1), "scan", *table(db))
    check("  schema     built-in example (rollsafe's demo type, not yours), "
          "fingerprint %s\n" % fp1 in out, "scan text", out)
    # The reader's version decides the fingerprint.
    doc, _ = ctx.json((0, 1, 4), "scan", *table(db), "--reader-version", "2",
                      "--format", "json")
    check(doc["targets"][0]["reader"]["schema"]["fingerprint"] == fp2,
          "reader version 2", doc["targets"][0]["reader"])

    doc, err = ctx.json((0, 1), "fix", *table(db), "--format", "json")
    t = doc["targets"][0]
    check(t["type"] == "shop.Order" and t["reader"]["version"] == 1 and
          t["reader"]["schema"] == want, "fix: type and reader", t)
    out, _ = ctx.expect((0, 1), "fix", *table(db))
    check("  reader     shop.Order version 1, schema built-in example "
          "(rollsafe's demo type, not yours), fingerprint %s\n" % fp1 in out,
          "fix text", out)

    rec = sqlite3.connect(db).execute(
        "SELECT payload FROM orders ORDER BY id LIMIT 1").fetchone()[0]
    doc, err = ctx.json((0, 1), "inspect", "--type", "shop.Order", "-",
                        stdin=bytes(rec))
    check(doc["reader_schema"] == want, "inspect", doc.get("reader_schema"))


def test_own_shop_order_is_named_as_its_file(ctx):
    v1, v2 = ctx.own_schemas()
    db = ctx.own_db()
    builtin = ctx.golden(1)
    own = {v: fnv_fingerprint(c) for v, c in OWN_CANON.items()}
    check(own[1] != builtin, "the test's own type has the example's shape")
    schemas = ["--schema", v1, "--schema", v2]
    doc, err = ctx.json(0, "scan", *table(db, t="t"), *schemas,
                        "--format", "json")
    got = doc["targets"][0]["reader"]["schema"]
    check(got == {"source": "file", "path": v1, "fingerprint": own[1]},
          "scan: the user's shop.Order", got, own)
    check(doc["targets"][0]["verdicts"]["ok"] == 5, "not read as own type",
          doc["targets"][0]["verdicts"])
    out, _ = ctx.expect(0, "scan", *table(db, t="t"), *schemas)
    check("  schema     file %s, fingerprint %s\n" % (v1, own[1]) in out,
          "scan text", out)
    doc, _ = ctx.json(0, "scan", *table(db, t="t"), *schemas,
                      "--reader-version", "2", "--format", "json")
    check(doc["targets"][0]["reader"]["schema"] ==
          {"source": "file", "path": v2, "fingerprint": own[2]},
          "reader version 2: the version-2 file",
          doc["targets"][0]["reader"])
    # The same from a config file's schemas.
    cfg = os.path.join(ctx.work, "rollsafe.yaml")
    with open(cfg, "w") as f:
        f.write("schemas: [%s, %s]\ntargets:\n  - name: own\n"
                "    kind: sqlite-table\n    connection: %s\n    table: t\n"
                "    key: id\n    column: payload\n    type: shop.Order\n"
                % (v1, v2, db))
    doc, err = ctx.json(0, "scan", "-c", cfg, "--format", "json")
    check(doc["targets"][0]["reader"]["schema"]["path"] == v1 and
          doc["targets"][0]["reader"]["schema"]["source"] == "file",
          "config schemas", doc["targets"][0]["reader"])
    doc, err = ctx.json(0, "fix", *table(db, t="t"), *schemas, "--format",
                        "json")
    check(doc["targets"][0]["reader"]["schema"] ==
          {"source": "file", "path": v1, "fingerprint": own[1]}, "fix",
          doc["targets"][0])
    doc, err = ctx.json(0, "inspect", "--type", "shop.Order", *schemas, "-",
                        stdin=own_record("O-9", 900))
    check(doc["reader_schema"] ==
          {"source": "file", "path": v1, "fingerprint": own[1]}, "inspect",
          doc["reader_schema"])


def test_plugin_type_is_named_as_the_plugin(ctx):
    check(ctx.plugin and os.path.isfile(ctx.plugin), "RS_PLUGIN is not a "
          "file: %r" % ctx.plugin)
    # example.v1.Reading: sensor (1, required string), celsius_tenths (2).
    rec = b"\x0a\x02s1\x10" + varint(430)
    doc, err = ctx.json(0, "inspect", "--type", "example.Reading",
                        "--plugin", ctx.plugin, "-", stdin=rec)
    got = doc["reader_schema"]
    check(got["source"] == "plugin" and got["path"] == ctx.plugin and
          len(got["fingerprint"] or "") == 16, "inspect", got)
    # Version 1's shape, by schema/README.md's rules.
    check(got["fingerprint"] == fnv_fingerprint(
        "{1:required:string;2:optional:sint32}"), "plugin fingerprint", got)
    db = os.path.join(ctx.work, "r.db")
    c = sqlite3.connect(db)
    c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, payload BLOB)")
    c.execute("INSERT INTO t VALUES (1, ?)", (rec,))
    c.commit()
    c.close()
    doc, _ = ctx.json(0, "scan", *table(db, "example.Reading", "t"),
                      "--plugin", ctx.plugin, "--format", "json")
    check(doc["targets"][0]["reader"]["schema"] == got, "scan",
          doc["targets"][0]["reader"])
    # The example stays the example beside a plugin.
    demo = ctx.demo()
    doc, _ = ctx.json((0, 1), "scan", *table(demo), "--plugin", ctx.plugin,
                      "--format", "json")
    check(doc["targets"][0]["reader"]["schema"]["source"] == "builtin",
          "shop.Order beside a plugin", doc["targets"][0]["reader"])


def test_diff_names_each_version(ctx):
    check(ctx.schema, "RS_SCHEMA_DIR is not set")
    v1 = os.path.join(ctx.schema, "shop/v1/order.proto")
    v2 = os.path.join(ctx.schema, "shop/v2/order.proto")
    doc, _ = ctx.json(1, "diff", "--format", "json", "-t", "shop.Order", v1,
                      v2)
    check(doc["versions"] == [
        {"version": 1, "path": v1, "source": "file",
         "message": "shop.v1.Order", "fingerprint": ctx.golden(1)},
        {"version": 2, "path": v2, "source": "file",
         "message": "shop.v2.Order", "fingerprint": ctx.golden(2)}],
          "diff versions", doc["versions"])
    out, _ = ctx.expect(1, "diff", "-t", "shop.v1.Order:shop.v2.Order", v1, v2)
    check("  v1  %s (file; shop.v1.Order, fingerprint %s)\n"
          % (v1, ctx.golden(1)) in out, "diff text", out)
    # Without one --type there is no one message to fingerprint.
    doc, _ = ctx.json(1, "diff", "--format", "json", v1, v2)
    check([v["fingerprint"] for v in doc["versions"]] == [None, None] and
          [v["source"] for v in doc["versions"]] == ["file", "file"],
          "diff without --type", doc["versions"])


def sarif_uris(doc):
    return sorted({loc["physicalLocation"]["artifactLocation"]["uri"]
                   for res in doc["runs"][0]["results"]
                   for loc in res["locations"]})


def test_sarif_paths_are_repository_relative(ctx):
    """diff's SARIF names files relative to the working directory (the
    repository's root in CI), however the schemas were given: relative or
    absolute .proto paths, or descriptor sets whose names are relative to
    protoc's -I, found through diff's own -I. Never an absolute path."""
    check(ctx.schema, "RS_SCHEMA_DIR is not set")
    repo = os.path.join(ctx.work, "repo")
    for v in (1, 2):
        d = os.path.join(repo, "proto", "shop", "v%d" % v)
        os.makedirs(d)
        shutil.copy(os.path.join(ctx.schema, "shop/v%d/order.proto" % v), d)
    rel = ["proto/shop/v1/order.proto", "proto/shop/v2/order.proto"]
    absolute = [os.path.join(repo, p) for p in rel]

    def sarif(*argv, cwd=repo):
        p = subprocess.run([ctx.rollsafe, "diff", "--format", "sarif", *argv],
                           capture_output=True, cwd=cwd, timeout=120)
        check(p.returncode == 1, "diff %s: exit %d" % (argv, p.returncode),
              p.stderr.decode())
        doc = json.loads(p.stdout)
        for res in doc["runs"][0]["results"]:
            for loc in res["locations"]:
                a = loc["physicalLocation"]["artifactLocation"]
                check(a.get("uriBaseId") == "%SRCROOT%", "no %SRCROOT%", a)
        return sarif_uris(doc)

    # Findings name the writer's file (v2) and some the reader's (v1).
    check(sarif(*rel) == rel, "relative .proto", sarif(*rel))
    check(sarif(*absolute) == rel, "absolute .proto", sarif(*absolute))
    # Descriptor sets: protoc recorded shop/v2/order.proto (its -I proto).
    sets = []
    for v, p in enumerate(rel, 1):
        out = os.path.join(repo, "v%d.desc" % v)
        subprocess.run(["protoc", "-I", "proto", "--include_imports",
                        "--include_source_info", "-o", out, p], cwd=repo,
                       check=True)
        sets.append(out)
    check(sarif("-I", "proto", *sets) == rel, "descriptor sets with -I",
          sarif("-I", "proto", *sets))
    check(sarif(*sets) == ["shop/v1/order.proto", "shop/v2/order.proto"],
          "descriptor sets without -I: the recorded names", sarif(*sets))
    # Run from elsewhere: no absolute path, no "..".
    elsewhere = os.path.join(ctx.work, "elsewhere")
    os.makedirs(elsewhere)
    uris = sarif(*absolute, cwd=elsewhere)
    check(uris == ["order.proto"], "outside the working directory", uris)
    # Copies elsewhere of what is in the repository are not it: run from
    # the repository's parent, the paths say repo/proto/....
    uris = sarif(*absolute, cwd=ctx.work)
    check(uris == ["repo/" + p for p in rel], "from the parent", uris)


TESTS = {name[5:]: fn for name, fn in sorted(globals().items())
         if name.startswith("test_") and callable(fn)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rollsafe", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("case")
    args = ap.parse_args()
    if args.case not in TESTS:
        print("no test case %r" % args.case, file=sys.stderr)
        return 1
    args.work = os.path.join(args.work, args.case)
    try:
        TESTS[args.case](Ctx(args))
    except Failure as e:
        print("FAIL: %s" % e)
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
