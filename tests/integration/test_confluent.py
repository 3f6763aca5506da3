#!/usr/bin/env python3
"""Integration tests of records in Confluent Schema Registry framing, on a
SQLite table and a stream file.

Usage: test_confluent.py --rollsafe BIN --work DIR CASE

The records are written here, independently of rollsafe, in the wire format
Confluent documents and its serializers write: the magic byte 0x00, the
schema id as 4 bytes big-endian, the message-index list (a zigzag varint
count, then zigzag varint indexes; the single byte 0x00 for the list [0]),
then the protobuf payload built with Python's protobuf. Their verdicts are
compared, record by record, with those of the same payloads in rollsafe
envelopes naming the same writer version; fixed records are read back by
Python's protobuf after checking the Confluent header.
"""

import json
import os
import sqlite3
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rsdata import Records, check, check_eq, gen, run_cases  # noqa: E402

# Schema 41 is version 1's file (Order its first message, [0]); schema 42 is
# version 2's file, where Order is the second message ([1]).
V1_ID, V2_ID, UNKNOWN_ID = 41, 42, 99
MAPPINGS = ["--schema-id", "%d=1" % V1_ID, "--schema-id", "%d=2@1" % V2_ID]

# (kind, writer version): payloads of each kind (rsdata.EXPECTED's kinds).
KINDS = [("v1", 1), ("v2_plain", 2), ("v2_gift", 2), ("v2_awaiting", 2),
         ("v2_guest", 2)]
LAYOUT = [k for k in KINDS for _ in range(3)]


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def zigzag(n):
    return ((n << 1) ^ (n >> 31)) & 0xFFFFFFFF


def confluent(schema_id, indexes, payload):
    """Confluent's wire format, as KafkaProtobufSerializer writes it."""
    if indexes == [0]:
        path = b"\x00"
    else:
        path = varint(zigzag(len(indexes))) + b"".join(
            varint(zigzag(i)) for i in indexes)
    return b"\x00" + struct.pack(">I", schema_id) + path + payload


def parse_confluent(data):
    """(schema id, indexes, payload) of a Confluent-framed record."""
    check(data[:1] == b"\x00", "magic byte", data[:8].hex())
    (schema_id,) = struct.unpack(">I", data[1:5])
    pos = 5

    def read():
        nonlocal pos
        n, shift = 0, 0
        while True:
            b = data[pos]
            pos += 1
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return (n >> 1) ^ -(n & 1)

    count = read()
    indexes = [0] if count == 0 else [read() for _ in range(count)]
    return schema_id, indexes, data[pos:]


def payload(recs, kind, n):
    """The protobuf payload of one record of @kind (no framing)."""
    m = recs.v1m.Order() if kind == "v1" else recs.v2m.Order()
    m.order_id = "O-%d" % n
    m.customer_id = "C-%d" % (n % 977)
    m.total_cents = 2598
    m.status = 2
    item = m.items.add()
    item.sku, item.quantity, item.unit_price_cents = "SKU-TEA-250", 2, 1299
    if kind == "v2_gift":
        m.gift_message = "happy birthday"
    elif kind == "v2_awaiting":
        m.status = 6  # AWAITING_AUTH: not in version 1's enum
    elif kind == "v2_guest":
        m.ClearField("customer_id")  # required in version 1
    return gen.serialize(m)


def envelope(recs, version, body):
    h = recs.env.Header()
    h.record_type = "shop.Order"
    h.format_version = version
    return gen.envelope(gen.serialize(h), body)


def framed(recs, version, body):
    if version == 1:
        return confluent(V1_ID, [0], body)
    return confluent(V2_ID, [1], body)


def make_db(path, rows):
    if os.path.exists(path):
        os.unlink(path)
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, payload BLOB)")
    db.executemany("INSERT INTO orders VALUES (?, ?)", rows)
    db.commit()
    db.close()
    return path


def table(path):
    return ["--sqlite", path, "--table", "orders", "--key", "id", "--column",
            "payload", "--type", "shop.Order"]


def write_dump(path, records):
    with open(path, "wb") as f:
        for rec in records:
            f.write(varint(len(rec)) + rec)
    return path


def read_delimited(data):
    out, pos = [], 0
    while pos < len(data):
        n, shift = 0, 0
        while True:
            b = data[pos]
            pos += 1
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        out.append(data[pos:pos + n])
        pos += n
    return out


def verdicts_by_key(doc):
    """{record: verdict} from a scan report's samples (all kept; ok records
    have none), a record named by its row key or its index in a stream
    (INDEX@OFFSET: offsets differ between framings)."""
    out = {}
    for verdict, samples in doc["targets"][0]["samples"].items():
        if verdict == "undetermined":
            continue
        for s in samples:
            out[s["key"].split("@")[0]] = verdict
    return out


def scan(r, code, args, framing, *extra):
    doc, _ = r.scan_json(code, *args, "--reader-version", "1",
                         "--reader-framing", framing, "--samples", "1000",
                         *MAPPINGS, *extra)
    return doc


def both_kinds(r, recs, kind):
    """Paths of a table (kind "table") or a dump (kind "stream") holding
    LAYOUT in Confluent framing and, apart, in envelopes."""
    bodies = [(v, payload(recs, k, i + 1)) for i, (k, v) in enumerate(LAYOUT)]
    conf = [framed(recs, v, b) for v, b in bodies]
    env = [envelope(recs, v, b) for v, b in bodies]
    if kind == "table":
        return (table(make_db(os.path.join(r.work, "confluent.db"),
                              list(enumerate(conf, start=1)))),
                table(make_db(os.path.join(r.work, "envelope.db"),
                              list(enumerate(env, start=1)))))
    os.makedirs(r.work, exist_ok=True)
    return (["--stream", write_dump(os.path.join(r.work, "c.dump"), conf),
             "--type", "shop.Order"],
            ["--stream", write_dump(os.path.join(r.work, "e.dump"), env),
             "--type", "shop.Order"])


def check_same_verdicts(r, kind):
    recs = Records()
    conf_args, env_args = both_kinds(r, recs, kind)
    # A reader through Confluent's deserializer against a rollsafe reader
    # of the same version: both parse the payload with version 1.
    conf = scan(r, 1, conf_args, "confluent")
    env = scan(r, 1, env_args, "envelope")
    check_eq(conf["targets"][0]["verdicts"], env["targets"][0]["verdicts"],
             "verdict counts")
    check_eq(conf["targets"][0]["verdicts"]["ok"], 6, "ok records")
    cv, ev = verdicts_by_key(conf), verdicts_by_key(env)
    check_eq(sorted(cv), sorted(ev), "the records that are not ok")
    for key in ev:
        check_eq(cv[key], ev[key], "verdict of record %s" % key)
    check_eq(set(cv.values()), {"ignored_fields", "misread", "unreadable"},
             "the layout covers each verdict")
    # Writers: Confluent ones carry their schema id.
    ws = {(w["version"], w["framing"], w["schema_id"])
          for w in conf["targets"][0]["writers"]}
    check_eq(ws, {(1, "confluent", V1_ID), (2, "confluent", V2_ID)},
             "writers of the Confluent target")
    ws = {(w["version"], w["framing"], w["schema_id"])
          for w in env["targets"][0]["writers"]}
    check_eq(ws, {(1, "envelope", None), (2, "envelope", None)},
             "writers of the envelope target")
    # Plain protobuf code and a rollsafe envelope reader fail on byte 0.
    for framing in ("raw", "envelope"):
        doc = scan(r, 1, conf_args, framing)
        t = doc["targets"][0]
        check_eq(t["verdicts"]["unreadable"], len(LAYOUT),
                 "%s reader: every Confluent record unreadable" % framing)
        texts = [s["reasons"][0]["text"]
                 for s in t["samples"]["unreadable"]]
        check(all("Confluent's wire format" in x and "byte 0" in x
                  for x in texts), "%s reader: the reason says why" % framing,
              texts[:2])
    # A Confluent reader fails on envelopes at byte 0.
    doc = scan(r, 1, env_args, "confluent")
    check_eq(doc["targets"][0]["verdicts"]["unreadable"], len(LAYOUT),
             "Confluent reader: every envelope unreadable")


def test_table_verdicts_match_envelopes(r):
    check_same_verdicts(r, "table")


def test_stream_verdicts_match_envelopes(r):
    check_same_verdicts(r, "stream")


def test_unmapped_id_is_undetermined(r):
    recs = Records()
    rows = [(1, confluent(V1_ID, [0], payload(recs, "v1", 1))),
            (2, confluent(UNKNOWN_ID, [0], payload(recs, "v1", 2))),
            # schema 42 is mapped at path [1] only: [0] is another message
            (3, confluent(V2_ID, [0], payload(recs, "v2_plain", 3)))]
    args = table(make_db(os.path.join(r.work, "unmapped.db"), rows))
    doc = scan(r, 4, args, "confluent")
    t = doc["targets"][0]
    check_eq(t["undetermined"]["unmapped_schema_id"], 2, "unmapped counted")
    check_eq(t["undetermined"]["total"], 2, "nothing else undetermined")
    check_eq(t["verdicts"]["corrupt"], 0, "an unmapped id is not corrupt")
    check_eq(t["verdicts"]["ok"], 1, "the mapped record")
    check_eq(sorted((s["key"], s["schema_id"], s["writer_basis"])
                    for s in t["samples"]["undetermined"]),
             [("2", UNKNOWN_ID, "unmapped"), ("3", V2_ID, "unmapped")],
             "undetermined samples")
    check("schema id" in (doc.get("reason") or ""), "the report says why",
          doc.get("reason"))
    # Without any mapping, every record is undetermined: still exit 4.
    doc, _ = r.scan_json(4, *args, "--reader-version", "1",
                         "--reader-framing", "confluent")
    check_eq(doc["targets"][0]["undetermined"]["unmapped_schema_id"], 3,
             "no mapping")
    # The text report names the schema id of each writer.
    out, _ = r.expect(4, "scan", *args, "--reader-version", "1",
                      "--reader-framing", "confluent", *MAPPINGS)
    check("confluent schema id %d" % V1_ID in out, "text writers", out)
    check("unmapped schema id %d" % UNKNOWN_ID in out, "text sample", out)


def test_malformed_header_is_corrupt(r):
    recs = Records()
    body = payload(recs, "v1", 1)
    rows = [(1, b"\x00\x00\x00"),                          # truncated id
            (2, b"\x00\x00\x00\x00\x29\x80\x80\x80\x80\x80\x01" + body),
            (3, b"\x00\x00\x00\x00\x29\x03" + body),       # count -2
            (4, b"\x00\x00\x00\x00\x29\x7e" + body),       # count 63
            (5, b"\x00\x00\x00\x00\x29\x04\x02")]          # list cut
    args = table(make_db(os.path.join(r.work, "bad.db"), rows))
    doc = scan(r, 1, args, "confluent")
    t = doc["targets"][0]
    check_eq(t["verdicts"]["corrupt"], len(rows), "all corrupt")
    for s in t["samples"]["corrupt"]:
        check("malformed Confluent header" in s["reasons"][0]["text"],
              "reason of %s" % s["key"], s["reasons"][0])


def check_fixed(recs, rec, n, want_id, want_indexes, status=2):
    """A fixed record: the reader's Confluent header, then a payload the
    version-1 class reads with the writer's values."""
    schema_id, indexes, body = parse_confluent(rec)
    check_eq(schema_id, want_id, "schema id of fixed record %d" % n)
    check_eq(indexes, want_indexes, "message indexes of record %d" % n)
    m = recs.v1m.Order()
    m.ParseFromString(body)
    check(m.IsInitialized(), "version-1 parse of record %d" % n, m)
    check_eq((m.order_id, m.customer_id, m.total_cents, m.status,
              [(x.sku, x.quantity, x.unit_price_cents) for x in m.items]),
             ("O-%d" % n, "C-%d" % (n % 977), 2598, status,
              [("SKU-TEA-250", 2, 1299)]), "values of record %d" % n)


def fix_layout(recs):
    """LAYOUT in Confluent framing, then a raw version-1 record and a
    version-2 envelope, which a Confluent reader cannot read."""
    out = [framed(recs, v, payload(recs, k, i + 1))
           for i, (k, v) in enumerate(LAYOUT)]
    n = len(LAYOUT)
    return out + [recs.v1(n + 1), recs.v2("v2_plain", n + 2)]


def check_fix_result(recs, before, after, want_id, want_indexes):
    """What the fix of fix_layout() wrote, record by record (0-based)."""
    for i, rec in enumerate(after):
        kind = LAYOUT[i][0] if i < len(LAYOUT) else "foreign"
        if kind == "v2_awaiting":
            # lossy (--allow-lossy): AWAITING_AUTH is written as PENDING
            check_fixed(recs, rec, i + 1, want_id, want_indexes, status=1)
        elif kind == "foreign":
            check_fixed(recs, rec, i + 1, want_id, want_indexes)
        else:
            # read correctly already (ok, ignored_fields), or no version-1
            # form (guest): left as they were
            check_eq(rec, before[i], "record %d (%s) untouched" % (i, kind))


def test_fix_table_writes_reader_schema_id(r):
    recs = Records()
    db = make_db(os.path.join(r.work, "fix.db"),
                 list(enumerate(fix_layout(recs), start=1)))
    args = table(db)

    def rows():
        return [v for _, v in sorted(sqlite3.connect(db).execute(
            "SELECT id, payload FROM orders"))]

    before = rows()
    # No id, or two, map to the reader's version: refused before anything
    # is written.
    _, err = r.expect(2, "fix", *args, "--reader-version", "1",
                      "--reader-framing", "confluent", "--schema-id",
                      "42=2@1", "--execute", "--allow-lossy")
    check("no schema id maps to its version 1" in err, "why", err)
    _, err = r.expect(2, "fix", *args, "--reader-version", "1",
                      "--reader-framing", "confluent", "--schema-id", "41=1",
                      "--schema-id", "43=1", "--schema-id", "42=2@1",
                      "--execute", "--allow-lossy")
    check("41, 43" in err, "both ids named", err)
    check_eq(rows(), before, "nothing written by a refused fix")
    out, _ = r.expect(1, "fix", *args, "--reader-version", "1",
                      "--reader-framing", "confluent", *MAPPINGS,
                      "--execute", "--allow-lossy", "--format", "json")
    after = rows()
    check_fix_result(recs, before, after, V1_ID, [0])
    check_eq(after[-1][:6], b"\x00\x00\x00\x00\x29\x00",
             "[0] written as the single byte 0")
    # Read again: only the guest records (no version-1 form) remain.
    doc = scan(r, 1, args, "confluent")
    t = doc["targets"][0]
    check_eq(t["verdicts"]["unreadable"], 3, "guests remain")
    check_eq(t["verdicts"]["misread"], 0, "nothing misread")


def test_fix_stream_with_index_path(r):
    """The reader's mapping names a path: fixed records carry it."""
    recs = Records()
    os.makedirs(r.work, exist_ok=True)
    before = fix_layout(recs)
    path = write_dump(os.path.join(r.work, "fix.dump"), before)
    fixed = os.path.join(r.work, "fixed.dump")
    r.expect(1, "fix", "--stream", path, "--type", "shop.Order",
             "--reader-version", "1", "--reader-framing", "confluent",
             "--schema-id", "41=1@2.0", "--schema-id", "42=2@1", "--execute",
             "--allow-lossy", "--fixed-output", fixed, "--format", "json")
    with open(fixed, "rb") as f:
        after = read_delimited(f.read())
    check_eq(len(after), len(before), "records in the fixed file")
    check_fix_result(recs, before, after, V1_ID, [2, 0])


def test_config_schema_ids(r):
    recs = Records()
    rows = [(1, confluent(V1_ID, [0], payload(recs, "v1", 1))),
            (2, confluent(V2_ID, [1], payload(recs, "v2_gift", 2)))]
    db = make_db(os.path.join(r.work, "cfg.db"), rows)
    cfg = os.path.join(r.work, "rollsafe.yaml")
    with open(cfg, "w") as f:
        f.write("reader_version: 1\nreader_framing: confluent\n"
                "schema_ids: {41: 1}\n"
                "targets:\n"
                "  - name: orders\n    kind: sqlite-table\n"
                "    connection: cfg.db\n    table: orders\n    key: id\n"
                "    column: payload\n    type: shop.Order\n"
                "    schema_ids: {41: 1, 42: \"2@1\"}\n")
    doc, _ = r.scan_json(0, "-c", cfg)
    t = doc["targets"][0]
    check_eq(t["verdicts"]["ignored_fields"], 1, "target's own mapping")
    check_eq(t["reader"]["framing"], "confluent", "framing from the file")
    with open(cfg, "w") as f:
        f.write("schema_ids: {41: \"1@x\"}\ntargets: []\n")
    _, err = r.expect(2, "scan", "-c", cfg)
    check("rollsafe.yaml:1:" in err and "schema_ids" in err,
          "bad mapping named with its position", err)


TESTS = {name[len("test_"):]: fn for name, fn in list(globals().items())
         if name.startswith("test_")}

if __name__ == "__main__":
    sys.exit(run_cases(TESTS))
