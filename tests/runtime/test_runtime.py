#!/usr/bin/env python3
"""Runtime schemas end to end.

Usage: test_runtime.py --rollsafe BIN --roundtrip BIN --plugin SO
                       --protoc PROTOC --source DIR --work DIR CASE

Each test_<case> function is one ctest case (runtime.<case>). Records are
written by Python's protobuf (a second implementation); rollsafe reads them
through descriptors it builds at run time from .proto files or descriptor
sets. JSON output is parsed, never string-matched.
"""
import argparse
import importlib.util
import json
import os
import shutil
import sqlite3
import subprocess
import sys

ENVELOPE_MARKER = 0xF7


class Failure(Exception):
    pass


def check(cond, *what):
    if not cond:
        raise Failure(" ".join(str(w) for w in what))


class Ctx:
    def __init__(self, args):
        self.rollsafe = args.rollsafe
        self.roundtrip = args.roundtrip
        self.plugin = args.plugin
        self.protoc = args.protoc
        self.src = args.source
        self.work = args.work
        self.schema = os.path.join(self.src, "schema")
        self.v1 = os.path.join(self.schema, "shop/v1/order.proto")
        self.v2 = os.path.join(self.schema, "shop/v2/order.proto")
        self._mods = {}

    def run(self, *args, rc=None, stdin=None):
        p = subprocess.run([self.rollsafe] + [str(a) for a in args],
                           input=stdin, capture_output=True)
        if rc is not None and p.returncode != rc:
            raise Failure("rollsafe %s: exit %d, expected %d\nstdout: %s\n"
                          "stderr: %s" % (" ".join(map(str, args)),
                                          p.returncode, rc,
                                          p.stdout.decode(errors="replace")[:2000],
                                          p.stderr.decode(errors="replace")))
        return p

    def json(self, *args, rc=None):
        out = os.path.join(self.work, "out.json")
        if os.path.exists(out):
            os.unlink(out)
        self.run(*args, "--format", "json", "-o", out, rc=rc)
        with open(out) as f:
            return json.load(f)

    def module(self, proto, include):
        """Compiles a .proto with protoc --python_out; returns the module."""
        key = (proto, include)
        if key in self._mods:
            return self._mods[key]
        out = os.path.join(self.work, "py")
        os.makedirs(out, exist_ok=True)
        subprocess.run([self.protoc, "--python_out=" + out, "-I" + include,
                        os.path.join(include, proto)], check=True)
        path = os.path.join(out, proto[:-len(".proto")] + "_pb2.py")
        name = "rs_rt_" + proto[:-6].replace("/", "_") + "_pb2"
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
        self._mods[key] = mod
        return mod

    def descset(self, proto, include, name):
        path = os.path.join(self.work, name)
        subprocess.run([self.protoc, "--include_imports",
                        "--descriptor_set_out=" + path, "-I" + include,
                        os.path.join(include, proto)], check=True)
        return path

    def envelope(self, rtype, version, payload, flag="checkout_v2",
                 variant="on", write_time_us=1768473000123456):
        env = self.module("rollsafe/envelope.proto", self.schema)
        h = env.Header()
        h.record_type = rtype
        h.format_version = version
        h.provenance.flag_key = flag
        h.provenance.variant = variant
        h.provenance.write_time_us = write_time_us
        hb = h.SerializeToString()
        return bytes([ENVELOPE_MARKER, 1]) + varint(len(hb)) + hb + payload


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def make_db(path, rows):
    if os.path.exists(path):
        os.unlink(path)
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, payload BLOB)")
    db.executemany("INSERT INTO t VALUES (?, ?)", rows)
    db.commit()
    db.close()


def target(db, rtype):
    return ["--sqlite", db, "--table", "t", "--key", "id", "--column",
            "payload", "--type", rtype]


def keys_by_verdict(doc):
    """{verdict: {key: sample}} from a scan report with every key sampled."""
    out = {}
    for t in doc["targets"]:
        for verdict, samples in t["samples"].items():
            for s in samples:
                # Keys are unique within a target only: a demo holds the
                # orders, the outbox and its dump.
                key = s["key"] if len(doc["targets"]) == 1 else \
                    "%s/%s" % (t["name"], s["key"])
                out.setdefault(verdict, {})[key] = s
    return out


# ---- (b) the feature matrix ----------------------------------------------

def roundtrip(ctx, schema_file, mod, pkg, cases):
    """Each case: (message name, builder). Python writes, the runtime
    descriptor reads and writes again; the bytes must be identical and
    parse back to an equal message."""
    n = 0
    for name, build in cases:
        msg = getattr(mod, name)()
        build(msg)
        data = msg.SerializeToString()
        check(len(data) > 0, name, "builds an empty message")
        src = os.path.join(ctx.work, "in.bin")
        dst = os.path.join(ctx.work, "out.bin")
        with open(src, "wb") as f:
            f.write(data)
        p = subprocess.run([ctx.roundtrip, schema_file, pkg + "." + name, src,
                            dst], capture_output=True)
        check(p.returncode == 0, name, p.stderr.decode())
        with open(dst, "rb") as f:
            back = f.read()
        check(back == data, name, "re-encoded differently:\n ", data.hex(),
              "\n ", back.hex())
        again = getattr(mod, name)()
        again.ParseFromString(back)
        check(again == msg, name, "parses back to another message")
        n += 1
    return n


def test_feature_matrix_proto2(ctx):
    inc = os.path.join(ctx.src, "tests/runtime")
    m = ctx.module("matrix2.proto", inc)
    desc = ctx.descset("matrix2.proto", inc, "matrix2.desc")

    def scalars(s):
        s.i32, s.i64, s.u32, s.u64 = -5, -(2**40), 2**32 - 1, 2**64 - 1
        s.s32, s.s64, s.f32, s.f64 = -(2**31), -(2**63), 7, 2**63
        s.sf32, s.sf64, s.fl, s.db = -9, -(2**50), 1.5, -2.25e300
        s.b, s.s, s.by, s.color = True, "grüße", b"\x00\xff", m.COLOR_BLUE

    def required(r):
        r.id, r.n = "id-1", 0

    def defaults_set(d):
        d.i32, d.s, d.by, d.color = 0, "", b"", m.COLOR_RED
        d.db, d.b, d.u64, d.fl = 0.0, False, 0, 0.0

    def repeated(r):
        r.unpacked.extend([1, -1, 300])
        r.packed.extend([-3, 0, 2**62])
        r.names.extend(["a", "", "ünï"])
        r.colors.extend([m.COLOR_GREEN, m.COLOR_RED])
        r.weights.extend([0.5, -0.0])
        r.blobs.extend([b"", b"\x01\x02"])
        scalars(r.items.add())
        r.items.add().s = "second"

    def oneof_sub(o):
        scalars(o.sub)
        o.after = 3

    def maps(mp):
        mp.counts["a"] = 1
        mp.counts[""] = 0
        scalars(mp.by_id[-4])
        mp.by_id[7].s = "x"
        mp.nested["k"].i32 = 9

    def outer(o):
        o.inner.kind = m.Outer.Inner.KIND_B
        o.inner.label = "in"
        o.inners.add().label = "a"
        o.inners.add().kind = m.Outer.Inner.KIND_A

    def tree(t):
        t.name = "root"
        c = t.children.add()
        c.name = "child"
        c.children.add().name = "grandchild"
        c.parent_copy.name = "root"

    def sparse(s):
        s.low, s.mid, s.high = 1, 2, 3
        s.under_reserved, s.over_reserved = 4, 5

    cases = [
        ("Scalars", scalars),
        ("Required", required),
        ("Defaults", defaults_set),
        ("Repeated", repeated),
        ("Oneof", lambda o: setattr(o, "number", 0)),
        ("Oneof", lambda o: setattr(o, "text", "t")),
        ("Oneof", oneof_sub),
        ("Oneof", lambda o: setattr(o, "raw", b"")),
        ("Maps", maps),
        ("Outer", outer),
        ("Tree", tree),
        ("Sparse", sparse),
    ]
    check(roundtrip(ctx, desc, m, "matrix.p2", cases) == len(cases))

    # Defaults: an empty record reads as the declared defaults (inspect
    # renders the unpacked message).
    empty = os.path.join(ctx.work, "empty.bin")
    open(empty, "wb").close()
    doc = json.loads(ctx.run("inspect", "--schema", desc, "--type",
                             "matrix.p2.Defaults", empty, rc=0).stdout)
    check(doc["verdict"]["verdict"] == "ok", doc["verdict"])


def test_feature_matrix_proto3(ctx):
    inc = os.path.join(ctx.src, "tests/runtime")
    m = ctx.module("matrix3.proto", inc)
    # A .proto directly: rollsafe runs protoc itself.
    proto = os.path.join(inc, "matrix3.proto")

    def scalars(s):
        s.i32, s.i64, s.u32, s.u64 = -5, -(2**40), 2**32 - 1, 2**64 - 1
        s.s32, s.s64, s.f32, s.f64 = -(2**31), -(2**63), 7, 2**63
        s.sf32, s.sf64, s.fl, s.db = -9, -(2**50), 1.5, -2.25e300
        s.b, s.s, s.by, s.status = True, "naïve", b"\x00\xff", m.STATUS_GONE

    def optionals_zero(o):
        # proto3 `optional`: zero values are present and written.
        o.i32, o.s, o.b, o.status, o.by, o.db = 0, "", False, 0, b"", 0.0
        o.sub.SetInParent()

    def repeated(r):
        r.packed.extend([1, -1, 2**31 - 1])
        r.unpacked.extend([5, 0, -7])
        r.names.extend(["x", ""])
        r.statuses.extend([m.STATUS_ACTIVE, 0, 77])  # 77: an open-enum value
        r.fixed.extend([0, 2**64 - 1])
        scalars(r.items.add())

    def maps(mp):
        mp.labels["env"] = "prod"
        mp.labels[""] = ""
        scalars(mp.by_id[3])
        mp.by_id[0].s = "zero"
        mp.flags[True] = m.STATUS_ACTIVE
        mp.flags[False] = 0
        mp.blobs[2**64 - 1] = b"\x00"

    def outer(o):
        o.inner.kind = m.Outer.Inner.KIND_B
        o.inners.add().label = "a"
        o.inners.add()

    def tree(t):
        t.name = "root"
        t.children.add().children.add().name = "deep"

    def oneof_sub(o):
        o.sub.s = "inside"

    cases = [
        ("Scalars", scalars),
        ("Optionals", optionals_zero),
        ("Optionals", lambda o: setattr(o, "i32", 42)),
        ("Repeated", repeated),
        ("Oneof", lambda o: setattr(o, "number", 0)),
        ("Oneof", lambda o: setattr(o, "text", "")),
        ("Oneof", oneof_sub),
        ("Maps", maps),
        ("Outer", outer),
        ("Tree", tree),
        ("Text", lambda t: setattr(t, "text", "日本語")),
    ]
    check(roundtrip(ctx, proto, m, "matrix.p3", cases) == len(cases))


def test_proto3_invalid_utf8_is_unreadable(ctx):
    inc = os.path.join(ctx.src, "tests/runtime")
    proto = os.path.join(inc, "matrix3.proto")
    m = ctx.module("matrix3.proto", inc)
    good = m.Text(text="ok", more=["fine"]).SerializeToString()
    # Python refuses invalid UTF-8 in strings: the bytes are made by hand.
    bad_single = b"\x0a\x03a\xffb"             # text = "a\xffb"
    bad_repeated = b"\x12\x02\xc3\x28"         # more[0] = "\xc3("
    bad_nul = b"\x0a\x03a\x00\xff"             # a NUL, then invalid
    db = os.path.join(ctx.work, "text.db")
    make_db(db, [(1, good), (2, bad_single), (3, bad_repeated), (4, bad_nul)])
    base = target(db, "matrix.p3.Text") + ["--schema", proto, "--samples",
                                           "100"]
    # protobuf-c (the default runtime) reads the bytes as they are; only
    # the NUL ends its C string early.
    doc = ctx.json("scan", *base, rc=1)
    v = doc["totals"]["verdicts"]
    check(v["ok"] == 3 and v["misread"] == 1, v)
    check(list(keys_by_verdict(doc)["misread"]) == ["4"], doc["totals"])
    # C++ (as Java, Go and Python) fails the record.
    base += ["--reader-runtime", "cpp"]
    doc = ctx.json("scan", *base, rc=1)
    v = doc["totals"]["verdicts"]
    check(v["ok"] == 1 and v["unreadable"] == 3, v)
    keys = keys_by_verdict(doc)
    paths = {k: [r["path"] for r in s["reasons"]]
             for k, s in keys["unreadable"].items()}
    check(paths == {"2": ["text(1)"], "3": ["more[0]"], "4": ["text(1)"]},
          paths)
    # Paths name nested fields with numbers and repeated ones with indexes.
    outer = m.Outer()
    outer.inners.add().label = "fine"
    outer.inners.add().label = "XY"
    data = outer.SerializeToString().replace(b"XY", b"\xed\xa0")  # surrogate
    make_db(db, [(1, data)])
    doc = ctx.json("scan", *target(db, "matrix.p3.Outer"), "--schema", proto,
                   "--reader-runtime", "go", rc=1)
    keys = keys_by_verdict(doc)
    check([r["path"] for r in keys["unreadable"]["1"]["reasons"]] ==
          ["inners[1].label(2)"], keys["unreadable"]["1"])
    # The proto2 string of shop.Order is not checked: protobuf-c and
    # proto2 readers accept any bytes there, but Java's String holds U+FFFD
    # for them.
    v1 = ctx.module("shop/v1/order.proto", ctx.schema)
    o = v1.Order(order_id="x", customer_id="c").SerializeToString()
    o = o.replace(b"\x0a\x01x", b"\x0a\x01\xff")
    make_db(db, [(1, o)])
    for runtime in ("protobuf-c", "cpp", "go", "python"):
        doc = ctx.json("scan", *target(db, "shop.Order"), "--schema", ctx.v1,
                       "--reader-runtime", runtime, rc=0)
        check(doc["totals"]["verdicts"]["ok"] == 1, runtime, doc["totals"])
    doc = ctx.json("scan", *target(db, "shop.Order"), "--schema", ctx.v1,
                   "--reader-runtime", "java", rc=1)
    check(doc["totals"]["verdicts"]["misread"] == 1, doc["totals"])


def test_proto3_invalid_utf8_past_the_samples(ctx):
    """Only the first --samples records of a verdict are classified in full;
    the rest get the verdict-only path, whose quick walk must not prove a
    record with invalid UTF-8 in a proto3 string clean for a runtime that
    fails it (nor one whose C string a NUL ends for protobuf-c). Clean
    records come first, so that the ok samples are full when the bad ones
    arrive."""
    inc = os.path.join(ctx.src, "tests/runtime")
    proto = os.path.join(inc, "matrix3.proto")
    m = ctx.module("matrix3.proto", inc)
    good = m.Text(text="ok", more=["fine"]).SerializeToString()
    bad = [b"\x0a\x03a\xffb", b"\x12\x02\xc3\x28", b"\x0a\x03a\x00\xff"]
    rows = [(k, good) for k in range(1, 11)]
    rows += [(100 + k, bad[k % 3]) for k in range(30)]
    db = os.path.join(ctx.work, "text-many.db")
    make_db(db, rows)
    doc = ctx.json("scan", *target(db, "matrix.p3.Text"), "--schema", proto,
                   "--samples", "1", "--reader-runtime", "go", rc=1)
    v = doc["totals"]["verdicts"]
    check(v["ok"] == 10 and v["unreadable"] == 30, v)
    doc = ctx.json("scan", *target(db, "matrix.p3.Text"), "--schema", proto,
                   "--samples", "1", rc=1)
    v = doc["totals"]["verdicts"]
    check(v["ok"] == 30 and v["misread"] == 10, v)


# ---- (a) the demo database, compiled-in against --schema ------------------

def test_demo_same_verdicts(ctx):
    demo = os.path.join(ctx.work, "demo")
    ctx.run("demo", demo, "--force", rc=0)
    cfg = os.path.join(demo, "rollsafe.yaml")
    args = ["scan", "-c", cfg, "--samples", "10000"]
    compiled = ctx.json(*args, rc=1)
    runtime = ctx.json(*args, "--schema", ctx.v1, "--schema", ctx.v2, rc=1)
    cv, rv = compiled["totals"]["verdicts"], runtime["totals"]["verdicts"]
    # 100,000 orders, and the outbox's queued messages and its dump.
    check(sum(cv.values()) == sum(rv.values()) and sum(cv.values()) > 100000,
          cv, rv)
    # What a schema says alike: decoding, wire types, required fields,
    # enum values, unknown fields.
    for verdict in ("ok", "unreadable", "corrupt"):
        check(cv[verdict] == rv[verdict], verdict, cv, rv)
    ck, rk = keys_by_verdict(compiled), keys_by_verdict(runtime)
    for verdict in ("unreadable", "corrupt"):
        check(set(ck[verdict]) == set(rk[verdict]), verdict, "keys differ")
    # What only the compiled-in registry knows (src/shop/shop.c): version 2
    # moved the discount from discount_cents(8) to discount(10), so a
    # version-1 reader sees no discount (misread). A schema cannot say
    # that: to the runtime registry field 10 is merely unknown
    # (ignored_fields). Every record that moves verdict must be exactly one
    # whose only misreading is that move.
    moved = set(ck["misread"]) - set(rk["misread"])
    check(set(rk["misread"]) <= set(ck["misread"]), "new misread keys")
    check(len(moved) > 0, "the demo has discounts")
    check(len(moved) == rv["ignored_fields"] - cv["ignored_fields"],
          len(moved), cv, rv)
    for key in moved:
        reasons = ck["misread"][key]["reasons"]
        misread = [r for r in reasons if r["verdict"] == "misread"]
        check(misread and all(r["path"] == "discount(10)" for r in misread),
              key, misread)
    for key in rk["misread"]:
        a = [(r["verdict"], r["path"]) for r in ck["misread"][key]["reasons"]]
        b = [(r["verdict"], r["path"]) for r in rk["misread"][key]["reasons"]]
        check(set(b) <= set(a), key, a, b)
    # Schema fingerprints are structural: envelopes from compiled code
    # match the runtime versions (no "fingerprint differs" reason).
    for t in runtime["targets"]:
        for samples in t["samples"].values():
            for s in samples:
                for r in s["reasons"]:
                    check("fingerprint" not in r["text"], s["key"], r)


# ---- (d) scan, fix, inspect with --schema; enum_map; config ----------------

def shop_rows(ctx):
    v1 = ctx.module("shop/v1/order.proto", ctx.schema)
    v2 = ctx.module("shop/v2/order.proto", ctx.schema)
    rows = []
    o = v1.Order(order_id="A-1", customer_id="C-1", total_cents=100,
                 status=v1.Order.PAID)
    rows.append((1, o.SerializeToString()))                       # ok
    o = v2.Order(order_id="B-2", customer_id="C-2", total_cents=200,
                 status=v2.Order.PAID)
    rows.append((2, ctx.envelope("shop.Order", 2, o.SerializeToString())))
    o = v2.Order(order_id="B-3", customer_id="C-3",
                 status=v2.Order.AWAITING_AUTH)
    rows.append((3, ctx.envelope("shop.Order", 2, o.SerializeToString())))
    o = v2.Order(order_id="B-4", gift_message="hi")                # guest
    rows.append((4, ctx.envelope("shop.Order", 2, o.SerializeToString())))
    o = v2.Order(order_id="B-5", customer_id="C-5", promo_codes=["X"])
    rows.append((5, ctx.envelope("shop.Order", 2, o.SerializeToString())))
    rows.append((6, b"\x0a\x05ab"))                               # corrupt
    return rows


def test_scan_fix_inspect_with_schema(ctx):
    db = os.path.join(ctx.work, "shop.db")
    make_db(db, shop_rows(ctx))
    schemas = ["--schema", ctx.v1, "--schema", ctx.v2]
    base = target(db, "shop.Order") + schemas

    # The default reader is version 1 as plain protobuf code (version 1 is
    # raw): to it every envelope is unreadable.
    doc = ctx.json("scan", *base, rc=1)
    keys = keys_by_verdict(doc)
    got = {k: v for v, ks in keys.items() for k in ks}
    # (ok records have no samples)
    check(got == {"2": "unreadable", "3": "unreadable", "4": "unreadable",
                  "5": "unreadable", "6": "corrupt"}, got)
    check(doc["totals"]["verdicts"]["ok"] == 1, doc["totals"])
    # Version 1 linked with rollsafe meets each change on its own.
    base += ["--reader-framing", "envelope"]
    doc = ctx.json("scan", *base, rc=1)
    keys = keys_by_verdict(doc)
    got = {k: v for v, ks in keys.items() for k in ks}
    check(got == {"3": "misread", "4": "unreadable", "5": "ignored_fields",
                  "6": "corrupt"}, got)
    check(doc["totals"]["verdicts"]["ok"] == 2, doc["totals"])
    paths = {r["path"] for r in keys["misread"]["3"]["reasons"]}
    check("status(4)" in paths, paths)
    check(doc["targets"][0]["reader"]["version"] == 1, "default reader")

    # inspect: one record through the runtime descriptors.
    rec = os.path.join(ctx.work, "rec3.bin")
    with open(rec, "wb") as f:
        f.write(dict(shop_rows(ctx))[3])
    p = ctx.run("inspect", "--type", "shop.Order", *schemas,
                "--reader-framing", "envelope", rec, rc=1)
    doc = json.loads(p.stdout)
    check(doc["type"] == "shop.Order" and doc["written_version"] == 2, doc)
    check(doc["fields"]["order_id"] == "B-3", doc["fields"])
    check(doc["verdict"]["verdict"] == "misread", doc["verdict"])

    # fix, dry run: AWAITING_AUTH has no version-1 value: impossible.
    doc = ctx.json("fix", *base, rc=1)
    t = doc["targets"][0]
    check(t["impossible"] == 2 and t["corrupt"] == 1, t)  # 3 and guest 4

    # With an enum_map in a config file: convertible, reported as lossy.
    cfg = os.path.join(ctx.work, "rollsafe.yaml")
    with open(cfg, "w") as f:
        f.write("schemas: [%s, %s]\n"
                "enum_map:\n"
                "  shop.v2.Order.Status:\n"
                "    AWAITING_AUTH: PENDING\n"
                "targets:\n"
                "  - name: shop\n"
                "    kind: sqlite-table\n"
                "    connection: shop.db\n"
                "    table: t\n    key: id\n    column: payload\n"
                "    type: shop.Order\n" % (ctx.v1, ctx.v2))
    doc = ctx.json("fix", "-c", cfg, rc=1)
    t = doc["targets"][0]
    check(t["impossible"] == 1 and t["outcomes"]["lossy_skipped"] >= 1, t)
    doc = ctx.json("fix", "-c", cfg, "--execute", "--allow-lossy", rc=1)
    t = doc["targets"][0]
    check(t["rewritten"] + t["lossy"] >= 1, t)
    conn = sqlite3.connect(db)
    payload = conn.execute("SELECT payload FROM t WHERE id = 3").fetchone()[0]
    conn.close()
    v1 = ctx.module("shop/v1/order.proto", ctx.schema)
    check(payload[0] != ENVELOPE_MARKER, "version 1 is raw")
    o = v1.Order()
    o.ParseFromString(payload)
    check(o.status == v1.Order.PENDING and o.order_id == "B-3", o)
    doc = ctx.json("scan", "-c", cfg, "--samples", "100", rc=1)
    keys = keys_by_verdict(doc)
    check(set(keys.get("misread", {})) == set(), keys.get("misread"))
    check(set(keys["unreadable"]) == {"4"}, keys["unreadable"])

    # An enum map naming no enum of the schemas is a configuration error.
    bad = os.path.join(ctx.work, "badmap.yaml")
    with open(cfg) as f:
        text = f.read()
    with open(bad, "w") as f:
        f.write(text.replace("shop.v2.Order.Status:", "shop.v2.Order.Stat:"))
    p = ctx.run("fix", "-c", bad, rc=2)
    err = p.stderr.decode()
    check("shop.v2.Order.Stat" in err and "badmap.yaml:4:5:" in err, err)
    with open(bad, "w") as f:
        f.write(text.replace("AWAITING_AUTH: PENDING", "WAITING: PENDNG"))
    p = ctx.run("fix", "-c", bad, rc=2)
    check("WAITING" in p.stderr.decode(), p.stderr)

    # A target's own schemas and message name in the file.
    with open(cfg, "w") as f:
        f.write("targets:\n"
                "  - name: shop\n"
                "    kind: sqlite-table\n"
                "    connection: shop.db\n"
                "    table: t\n    key: id\n    column: payload\n"
                "    type: orders\n"
                "    message: shop.Order\n"
                "    schemas: [%s, %s]\n" % (ctx.v1, ctx.v2))
    doc = ctx.json("scan", "-c", cfg, rc=1)
    # Envelopes name shop.Order, not this type: the reader cannot take them.
    check(doc["totals"]["verdicts"]["ok"] >= 1, doc["totals"])


def test_schema_errors(ctx):
    db = os.path.join(ctx.work, "e.db")
    make_db(db, [(1, b"")])
    missing = os.path.join(ctx.work, "nope.desc")
    p = ctx.run("scan", *target(db, "shop.Order"), "--schema", missing, rc=2)
    err = p.stderr.decode()
    check(missing in err and err.count("\n") == 1, err)
    # A missing .proto is said as such, not as protoc's proto-path message.
    missing = os.path.join(ctx.work, "nope.proto")
    p = ctx.run("scan", *target(db, "shop.Order"), "--schema", missing, rc=2)
    err = p.stderr.decode()
    check(missing + ": cannot open: " + os.strerror(2) in err and
          err.count("\n") == 1, err)

    bad = os.path.join(ctx.work, "bad.proto")
    with open(bad, "w") as f:
        f.write('syntax = "proto3";\nmessage M { int32 x = 1 }\n')
    p = ctx.run("scan", *target(db, "M"), "--schema", bad, rc=2)
    err = p.stderr.decode()
    check("bad.proto" in err and "protoc" in err, err)

    p = ctx.run("scan", *target(db, "shop.Basket"), "--schema", ctx.v1, rc=2)
    err = p.stderr.decode()
    check("shop.Basket" in err and "order.proto" in err, err)

    desc = ctx.descset("shop/v2/order.proto", ctx.schema, "v2.desc")
    with open(desc, "rb") as f:
        data = f.read()
    cut = os.path.join(ctx.work, "cut.desc")
    with open(cut, "wb") as f:
        f.write(data[: len(data) // 2])
    p = ctx.run("scan", *target(db, "shop.Order"), "--schema", cut, rc=2)
    check("cut.desc" in p.stderr.decode(), p.stderr)

    # A descriptor set without its imports.
    dep = os.path.join(ctx.work, "dep")
    os.makedirs(dep, exist_ok=True)
    with open(os.path.join(dep, "a.proto"), "w") as f:
        f.write('syntax = "proto3";\npackage d;\nmessage A { int32 x = 1; }\n')
    with open(os.path.join(dep, "b.proto"), "w") as f:
        f.write('syntax = "proto3";\npackage d;\nimport "a.proto";\n'
                "message B { A a = 1; }\n")
    noimp = os.path.join(ctx.work, "noimp.desc")
    subprocess.run([ctx.protoc, "-I" + dep, "--descriptor_set_out=" + noimp,
                    os.path.join(dep, "b.proto")], check=True)
    p = ctx.run("scan", *target(db, "d.B"), "--schema", noimp, rc=2)
    err = p.stderr.decode()
    check("a.proto" in err and "--include_imports" in err, err)
    # With it, the import resolves.
    withimp = ctx.descset("b.proto", dep, "withimp.desc")
    ctx.run("scan", *target(db, "d.B"), "--schema", withimp, rc=0)

    # A .proto importing from a root directory: --proto-path (-I) finds it.
    root = os.path.join(ctx.work, "root")
    os.makedirs(os.path.join(root, "common"), exist_ok=True)
    os.makedirs(os.path.join(root, "app"), exist_ok=True)
    with open(os.path.join(root, "common/a.proto"), "w") as f:
        f.write('syntax = "proto3";\npackage c;\nmessage A { int32 x = 1; }\n')
    app = os.path.join(root, "app/b.proto")
    with open(app, "w") as f:
        f.write('syntax = "proto3";\npackage c;\nimport "common/a.proto";\n'
                "message B { A a = 1; }\n")
    p = ctx.run("scan", *target(db, "c.B"), "--schema", app, rc=2)
    check("common/a.proto" in p.stderr.decode(), p.stderr)
    ctx.run("scan", *target(db, "c.B"), "--schema", app, "-I", root, rc=0)
    cfg = os.path.join(ctx.work, "imports.yaml")
    with open(cfg, "w") as f:
        f.write("schemas: [root/app/b.proto]\nproto_paths: [root]\n"
                "targets:\n  - name: e\n    kind: sqlite-table\n"
                "    connection: e.db\n    table: t\n    key: id\n"
                "    column: payload\n    type: c.B\n")
    ctx.run("scan", "-c", cfg, rc=0)

    p = ctx.run("inspect", "--schema", ctx.v1, os.devnull, rc=2)
    check("--type" in p.stderr.decode(), p.stderr)

    cfg = os.path.join(ctx.work, "bad.yaml")
    with open(cfg, "w") as f:
        f.write("schemas: nope\ntargets: []\n")
    p = ctx.run("scan", "-c", cfg, rc=2)
    check("bad.yaml:1:10" in p.stderr.decode(), p.stderr)


# ---- plugins -----------------------------------------------------------------

def test_plugin(ctx):
    inc = os.path.join(ctx.src, "examples/plugin")
    r1 = ctx.module("reading_v1.proto", inc)
    r2 = ctx.module("reading_v2.proto", inc)
    rows = []
    for i in range(1, 6):
        rows.append((i, r1.Reading(sensor="s%d" % i,
                                   celsius_tenths=200 + i).SerializeToString()))
    for i in range(6, 9):
        payload = r2.Reading(sensor="s%d" % i, celsius=21.5).SerializeToString()
        rows.append((i, ctx.envelope("example.Reading", 2, payload,
                                     flag="celsius_v2")))
    db = os.path.join(ctx.work, "readings.db")
    make_db(db, rows)
    # The reader: version 1 linked with rollsafe, which unwraps envelopes.
    doc = ctx.json("scan", *target(db, "example.Reading"), "--plugin",
                   ctx.plugin, "--reader-framing", "envelope", rc=1)
    v = doc["totals"]["verdicts"]
    # The plugin's moved field: version 1 would see no temperature.
    check(v["ok"] == 5 and v["misread"] == 3, v)
    keys = keys_by_verdict(doc)
    check({r["path"] for r in keys["misread"]["6"]["reasons"]} ==
          {"celsius(3)"}, keys["misread"]["6"])

    # fix through the plugin's converter: 21.5 C is 215 tenths, exactly.
    doc = ctx.json("fix", *target(db, "example.Reading"), "--plugin",
                   ctx.plugin, "--execute", rc=0)
    check(doc["targets"][0]["rewritten"] == 3, doc["targets"][0])
    conn = sqlite3.connect(db)
    payload = conn.execute("SELECT payload FROM t WHERE id = 7").fetchone()[0]
    conn.close()
    o = r1.Reading()
    o.ParseFromString(payload)
    check(o.celsius_tenths == 215 and o.sensor == "s7", o)
    ctx.json("scan", *target(db, "example.Reading"), "--plugin", ctx.plugin,
             rc=0)

    # Plugins in the config file, and errors.
    cfg = os.path.join(ctx.work, "p.yaml")
    with open(cfg, "w") as f:
        f.write("plugins: [%s]\ntargets:\n  - name: r\n    kind: sqlite-table\n"
                "    connection: readings.db\n    table: t\n    key: id\n"
                "    column: payload\n    type: example.Reading\n"
                % ctx.plugin)
    ctx.json("scan", "-c", cfg, rc=0)
    p = ctx.run("scan", *target(db, "example.Reading"), "--plugin",
                os.path.join(ctx.work, "missing.so"), rc=2)
    check("missing.so" in p.stderr.decode(), p.stderr)
    libpbc = None
    for d in ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
              "/usr/lib"):
        cand = os.path.join(d, "libprotobuf-c.so.1")
        if os.path.exists(cand):
            libpbc = cand
    check(libpbc is not None, "libprotobuf-c.so.1 not found")
    p = ctx.run("scan", *target(db, "example.Reading"), "--plugin", libpbc,
                rc=2)
    check("not a rollsafe plugin" in p.stderr.decode(), p.stderr)
    # inspect through the plugin.
    rec = os.path.join(ctx.work, "r.bin")
    with open(rec, "wb") as f:
        f.write(rows[6][1])
    doc = json.loads(ctx.run("inspect", "--plugin", ctx.plugin, "--type",
                             "example.Reading", rec, rc=1).stdout)
    check(doc["written_version"] == 2 and doc["fields"]["celsius"] == 21.5,
          doc)


HOSTILE_ABI = r"""
#include <stdio.h>
/* Built for another plugin ABI, with a constructor that leaves a mark. */
const unsigned rollsafe_plugin_abi = 99;
__attribute__((constructor)) static void mark(void) {
  FILE *f = fopen(MARK, "w");
  if (f != NULL) fclose(f);
}
int rollsafe_plugin_register(void *builder, void *err) {
  (void)builder; (void)err;
  return 0;
}
"""

HOSTILE_TEXT = r"""
#include <string.h>
#include <rollsafe/errors.h>
/* The right ABI, a registration error that carries terminal escapes. */
const unsigned rollsafe_plugin_abi = 1;
int rollsafe_plugin_register(void *builder, rs_error *err) {
  (void)builder;
  err->code = RS_EINVAL;
  err->offset = RS_OFFSET_NONE;
  strcpy(err->message, "bad\x1b]0;owned\x07\x1b[2Jend");
  return RS_EINVAL;
}
"""


def test_plugin_hostile(ctx):
    """A plugin of another ABI is refused before any of its code runs, and a
    plugin's error text reaches the terminal with its control bytes
    escaped."""
    db = os.path.join(ctx.work, "h.db")
    make_db(db, [(1, b"")])
    mark = os.path.join(ctx.work, "constructor-ran")
    objs = {}
    for name, src, extra in (("abi99", HOSTILE_ABI, ['-DMARK="%s"' % mark]),
                             ("text", HOSTILE_TEXT, [])):
        c = os.path.join(ctx.work, name + ".c")
        so = os.path.join(ctx.work, "lib%s.so" % name)
        with open(c, "w") as f:
            f.write(src)
        subprocess.run(["cc", "-shared", "-fPIC", "-o", so, c,
                        "-I" + os.path.join(ctx.src, "include")] + extra,
                       check=True)
        objs[name] = so
    # The constructor really runs when the library is loaded.
    import ctypes
    probe = os.path.join(ctx.work, "probe.so")
    shutil.copy(objs["abi99"], probe)
    ctypes.CDLL(probe)
    check(os.path.exists(mark), "the probe's constructor did not run")
    os.unlink(mark)

    p = ctx.run("scan", *target(db, "example.Reading"), "--plugin",
                objs["abi99"], rc=2)
    err = p.stderr.decode()
    check("plugin ABI 99" in err and "nothing of it was run" in err, err)
    check(not os.path.exists(mark), "the plugin's constructor ran", err)

    p = ctx.run("scan", *target(db, "example.Reading"), "--plugin",
                objs["text"], rc=2)
    for stream in (p.stdout, p.stderr):
        check(b"\x1b" not in stream and b"\x07" not in stream, stream)
    err = p.stderr.decode()
    check("bad\\x1b]0;owned\\x07\\x1b[2Jend" in err, err)


# ---- verdicts for raw records and type changes (the one comparison) ----

V1_CHANGES = """syntax = "proto3";
package vc.v1;
message Rec { int32 id = 1; int32 big = 2; double d = 3; int64 z = 4; }
"""
V2_CHANGES = """syntax = "proto3";
package vc.v2;
message Rec { int32 id = 1; int64 big = 2; fixed64 d = 3; sint64 z = 4;
              string extra = 5; }
"""


def changes(ctx):
    """The schema pair above as files, and Python's version-2 class."""
    paths = []
    for name, text in (("v1", V1_CHANGES), ("v2", V2_CHANGES)):
        d = os.path.join(ctx.work, "vc", name)
        os.makedirs(d, exist_ok=True)
        path = os.path.join(d, "rec.proto")
        with open(path, "w") as f:
            f.write(text)
        paths.append(path)
    v2 = ctx.module("rec.proto", os.path.dirname(paths[1]))
    return paths, v2


def scan_changes(ctx, rows, *extra, rc):
    paths, _ = changes(ctx)
    db = os.path.join(ctx.work, "vc.db")
    make_db(db, rows)
    return ctx.json("scan", *target(db, "vc.Rec"), "--schema", paths[0],
                    "--schema", paths[1], "--reader-version", "1",
                    "--reader-framing", "raw", "--samples", "100", *extra,
                    rc=rc)


def test_raw_record_only_a_newer_version_explains_is_its(ctx):
    """Raw bytes with an int64 beyond int32: version 1 cannot have written
    them, so they are version 2's, and the version-1 reader misreads them
    (they were counted ok when every raw record was taken as version 1)."""
    _, v2 = changes(ctx)
    rec = v2.Rec(id=1, big=7000000000).SerializeToString()
    doc = scan_changes(ctx, [(1, rec)], rc=1)
    check(doc["totals"]["verdicts"]["misread"] == 1, doc["totals"])
    sample = keys_by_verdict(doc)["misread"]["1"]
    reason = sample["reasons"][0]
    check(reason["path"] == "big(2)" and "7000000000" in reason["text"] and
          "-1589934592" in reason["text"], reason)


def test_raw_new_field_and_reinterpreted_value_is_misread(ctx):
    """A field only version 2 defines makes the bytes version 2's; its
    sint64 read as int64 is then a misread, not ignored_fields."""
    _, v2 = changes(ctx)
    rec = v2.Rec(id=1, z=5, extra="x").SerializeToString()
    doc = scan_changes(ctx, [(1, rec)], rc=1)
    check(doc["totals"]["verdicts"]["misread"] == 1, doc["totals"])
    texts = [r["text"] for r in keys_by_verdict(doc)["misread"]["1"]["reasons"]]
    check(any("sint64 5" in t and "int64 10" in t for t in texts), texts)


def test_raw_record_two_versions_explain_differently_is_undetermined(ctx):
    """sint64 5 and int64 10 are the same bytes: both versions explain
    them, with different values. Never ok, never clean: undetermined (exit
    4) until --raw-writer says who wrote them."""
    _, v2 = changes(ctx)
    rec = v2.Rec(id=1, z=5).SerializeToString()
    doc = scan_changes(ctx, [(1, rec)], rc=4)
    check(doc["totals"]["verdicts"]["ok"] == 0, doc["totals"])
    doc = scan_changes(ctx, [(1, rec)], "--raw-writer", "2", rc=1)
    check(doc["totals"]["verdicts"]["misread"] == 1, doc["totals"])
    doc = scan_changes(ctx, [(1, rec)], "--raw-writer", "1", rc=0)
    check(doc["totals"]["verdicts"]["ok"] == 1, doc["totals"])


def test_same_wire_type_change_is_compared_by_value(ctx):
    """fixed64 7000000000 read as a double is 3.458e-314: misread."""
    _, v2 = changes(ctx)
    rec = v2.Rec(id=1, d=7000000000).SerializeToString()
    doc = scan_changes(ctx, [(1, rec)], "--raw-writer", "2", rc=1)
    reason = keys_by_verdict(doc)["misread"]["1"]["reasons"][0]
    check(reason["path"] == "d(3)" and "fixed64 7000000000" in reason["text"]
          and "double 3.45" in reason["text"], reason)


def test_duplicated_scalar_is_judged_by_its_last_value(ctx):
    """A singular field twice on the wire: every runtime keeps the last."""
    _, v2 = changes(ctx)
    small = v2.Rec(big=5).SerializeToString()
    large = v2.Rec(big=7000000000).SerializeToString()
    doc = scan_changes(ctx, [(1, small + large), (2, large + small)],
                       "--raw-writer", "2", rc=1)
    keys = keys_by_verdict(doc)
    check(set(keys.get("misread", {})) == {"1"}, keys)
    v = doc["totals"]["verdicts"]
    check(v["misread"] == 1 and v["ok"] == 1, v)


def main():
    ap = argparse.ArgumentParser()
    for opt in ("--rollsafe", "--roundtrip", "--plugin", "--protoc",
                "--source", "--work"):
        ap.add_argument(opt, required=True)
    ap.add_argument("case")
    args = ap.parse_args()
    fn = globals().get("test_" + args.case)
    if fn is None:
        print("no test case %s" % args.case, file=sys.stderr)
        return 2
    if os.path.exists(args.work):
        shutil.rmtree(args.work)
    os.makedirs(args.work)
    try:
        fn(Ctx(args))
    except Failure as e:
        print("FAIL %s: %s" % (args.case, e), file=sys.stderr)
        return 1
    print("ok %s" % args.case)
    return 0


if __name__ == "__main__":
    sys.exit(main())
