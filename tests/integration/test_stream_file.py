#!/usr/bin/env python3
"""Integration tests of stream-file targets: varint-length-delimited
records (protobuf's writeDelimitedTo framing), as queue dumps are written.

Usage: test_stream_file.py --rollsafe BIN --work DIR CASE

Dumps are written here with Python's protobuf (rsdata.Records) and an
independent varint writer; the fixed file is read back with Python's
protobuf as the version-1 reader, independently of rollsafe.
"""

import hashlib
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rsdata import Records, check, check_eq, run_cases  # noqa: E402

# Mixed versions, one corrupt record in the middle (framing intact).
LAYOUT = (["v1"] * 6 + ["v2_plain"] * 3 + ["v2_gift"] * 2 + ["corrupt"] +
          ["v1"] * 3 + ["v2_plain"] * 2 + ["v2_guest"] + ["v1"] * 2)


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def read_delimited(data):
    """Splits a dump the way parseDelimitedFrom does; raises on bad
    framing. Returns [(offset, bytes)]."""
    out, pos = [], 0
    while pos < len(data):
        start, n, shift = pos, 0, 0
        while True:
            check(pos < len(data), "framing: prefix cut at %d" % start)
            b = data[pos]
            pos += 1
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        check(pos + n <= len(data), "framing: record at %d cut" % start)
        out.append((start, data[pos:pos + n]))
        pos += n
    return out


def write_dump(r, recs, name="events.dump", tail=None):
    path = os.path.join(r.work, name)
    os.makedirs(r.work, exist_ok=True)
    data, positions = bytearray(), []
    for i, kind in enumerate(LAYOUT):
        rec = recs.make(kind, i + 1)
        positions.append(len(data))
        data += varint(len(rec)) + rec
    if tail is not None:
        positions.append(len(data))
        data += tail
    with open(path, "wb") as f:
        f.write(data)
    return path, positions


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def stream_args(path):
    return ["--stream", path, "--type", "shop.Order"]


def truncated_tail(recs):
    rec = recs.v2("v2_plain", 99)
    return varint(len(rec)) + rec[:len(rec) // 2]


def test_scan_positions_corrupt_and_truncated(r):
    recs = Records()
    path, pos = write_dump(r, recs, tail=truncated_tail(recs))
    doc, _ = r.scan_json(1, *stream_args(path), "--samples", "100")
    t = doc["targets"][0]
    check_eq(t["kind"], "stream-file", "kind")
    check_eq(t["rows_read"], len(LAYOUT), "records read (tail excluded)")
    corrupt = t["samples"]["corrupt"]
    check_eq(len(corrupt), 1, "one corrupt record")
    ci = LAYOUT.index("corrupt")
    check_eq((corrupt[0]["record"], corrupt[0]["offset"]), (ci, pos[ci]),
             "corrupt record's position")
    check_eq(corrupt[0]["key"], "%d@%d" % (ci, pos[ci]), "key text")
    # the scan went on after it
    unreadable = t["samples"]["unreadable"]
    check(any(s["record"] > ci for s in unreadable),
          "records after the corrupt one were judged", unreadable)
    check_eq(t["verdicts"]["ok"], LAYOUT.count("v1"), "v1 records ok")
    tr = t["truncated"]
    check(tr is not None, "truncated tail reported", t)
    check_eq((tr["record"], tr["offset"]), (len(LAYOUT), pos[-1]),
             "truncated record's position")
    check(tr["need"] > tr["have"], "need > have", tr)
    check_eq(t["findings"], LAYOUT.count("corrupt") + LAYOUT.count("v2_plain")
             + LAYOUT.count("v2_gift") + LAYOUT.count("v2_guest") + 1,
             "findings include the truncated record")
    # A dump with nothing but good v1 records is clean; a lone truncated
    # record is a finding even when every whole record is fine.
    good = os.path.join(r.work, "good.dump")
    with open(good, "wb") as f:
        for i in range(5):
            rec = recs.v1(i)
            f.write(varint(len(rec)) + rec)
    doc, _ = r.scan_json(0, *stream_args(good))
    check_eq(doc["targets"][0]["truncated"], None, "clean dump: no tail")
    with open(good, "ab") as f:
        f.write(b"\x85")  # a length prefix cut short
    doc, _ = r.scan_json(1, *stream_args(good))
    tr = doc["targets"][0]["truncated"]
    check(tr is not None and tr["record"] == 5 and tr["need"] == 0,
          "prefix cut short", tr)


def test_framing_errors(r):
    """What cannot be split into records: a prefix of more than 64 bits, a
    length over the limit; an empty file is a clean, empty stream."""
    recs = Records()
    os.makedirs(r.work, exist_ok=True)
    rec = recs.v1(1)
    cases = {
        "long_prefix": (b"\xff" * 10 + b"\x01", "more than 64 bits"),
        "huge_length": (varint(1 << 40) + b"abc", "more than the"),
    }
    for name, (tail, what) in cases.items():
        path = os.path.join(r.work, name + ".dump")
        with open(path, "wb") as f:
            f.write(varint(len(rec)) + rec + tail)
        doc, _ = r.scan_json(1, *stream_args(path))
        t = doc["targets"][0]
        check_eq(t["rows_read"], 1, name + ": records before the problem")
        tr = t["truncated"]
        check(tr is not None and tr["record"] == 1 and
              tr["offset"] == len(rec) + 1 and what in tr["what"],
              name + ": reported with its position", tr)
    # A length prefix of 2^63 and more: `need` says it exactly (a string
    # beyond 2^63 - 1, where JSON integers end), never negative, in scan's
    # report and in fix's.
    for need in (1 << 40, (1 << 63) - 1, 1 << 63, (1 << 64) - 1):
        path = os.path.join(r.work, "need-%d.dump" % need)
        with open(path, "wb") as f:
            f.write(varint(len(rec)) + rec + varint(need))
        want = need if need < (1 << 63) else str(need)
        doc, _ = r.scan_json(1, *stream_args(path))
        check_eq(doc["targets"][0]["truncated"]["need"], want, "scan need")
        check(str(need) in doc["targets"][0]["truncated"]["what"],
              "what names the length", doc["targets"][0]["truncated"])
        out, _ = r.expect(1, "fix", *stream_args(path), "--format", "json")
        check_eq(json.loads(out)["targets"][0]["truncated"]["need"], want,
                 "fix need")
    empty = os.path.join(r.work, "empty.dump")
    open(empty, "wb").close()
    doc, _ = r.scan_json(0, *stream_args(empty))
    check_eq((doc["targets"][0]["rows_read"], doc["targets"][0]["truncated"]),
             (0, None), "empty stream")
    r.expect(3, "scan", *stream_args(os.path.join(r.work, "missing.dump")))
    r.expect(2, "scan", "--stream", empty)  # no --type
    r.expect(2, "scan", *stream_args(empty), "--table", "t")


def test_fix_writes_new_file_and_keeps_original(r):
    recs = Records()
    path, pos = write_dump(r, recs, tail=truncated_tail(recs))
    before = sha(path)
    # dry run: nothing written
    out, _ = r.expect(1, "fix", *stream_args(path), "--format", "json")
    doc = json.loads(out)
    t = doc["targets"][0]
    check_eq(t["fixed_file"], None, "dry run writes no file")
    check(not os.path.exists(path + ".fixed"), "no .fixed after a dry run")
    check_eq(t["outcomes"]["converted"],
             LAYOUT.count("v2_plain") + LAYOUT.count("v2_gift"),
             "would convert")
    # execute, default name
    out, _ = r.expect(1, "fix", *stream_args(path), "--execute",
                      "--format", "json", "--samples", "100")
    doc = json.loads(out)
    t = doc["targets"][0]
    fixed = path + ".fixed"
    check_eq(t["fixed_file"], fixed, "report names the fixed file")
    check_eq(sha(path), before, "original byte-identical")
    check(not [f for f in os.listdir(r.work) if ".tmp-" in f],
          "no temporary file left", os.listdir(r.work))
    check_eq(t["truncated"]["record"], len(LAYOUT), "truncated reported")
    check_eq(t["outcomes"]["dropped"], 1, "only the truncated tail dropped")
    with open(fixed, "rb") as f:
        records = read_delimited(f.read())
    check_eq(len(records), len(LAYOUT), "records in the fixed file")
    ci = LAYOUT.index("corrupt")
    gi = LAYOUT.index("v2_guest")
    for i, (_, rec) in enumerate(records):
        if i in (ci, gi):
            continue  # left as they were: no version-1 form exists
        m = recs.v1m.Order()
        m.ParseFromString(rec)
        check(m.IsInitialized() and m.order_id == "O-%d" % (i + 1),
              "version-1 parse of record %d" % i, m)
    check_eq(t["remaining"], 2, "corrupt and guest remain")
    # --drop-unfixable: the old reader reads the new file end to end.
    out2 = os.path.join(r.work, "clean.dump")
    out, _ = r.expect(1, "fix", *stream_args(path), "--execute",
                      "--drop-unfixable", "--fixed-output", out2,
                      "--format", "json", "--samples", "100")
    t = json.loads(out)["targets"][0]
    check_eq(t["fixed_file"], out2, "named output")
    check_eq(t["remaining"], 0, "nothing unreadable in the new file")
    dropped = sorted(s["record"] for s in t["samples"]["dropped"])
    check_eq(dropped, sorted([ci, gi, len(LAYOUT)]), "dropped records")
    with open(out2, "rb") as f:
        records = read_delimited(f.read())
    check_eq(len(records), len(LAYOUT) - 2, "records kept")
    for _, rec in records:
        m = recs.v1m.Order()
        m.ParseFromString(rec)
        check(m.IsInitialized(), "version-1 parse", m)
    doc, _ = r.scan_json(0, *stream_args(out2))
    v = doc["targets"][0]["verdicts"]
    # gift messages keep their new field as an unknown one: ignored_fields
    check_eq((v["ok"], v["ignored_fields"]),
             (len(LAYOUT) - 2 - LAYOUT.count("v2_gift"),
              LAYOUT.count("v2_gift")), "scan of the new file")
    check_eq(sha(path), before, "original still byte-identical")
    # The original is never the output; a stream has no restore.
    r.expect(2, "fix", *stream_args(path), "--execute", "--fixed-output",
             path)
    r.expect(2, "restore", *stream_args(path), "--run", "x", "--execute")
    check_eq(sha(path), before, "original untouched by refused commands")


def test_fix_clean_dump_exits_zero(r):
    recs = Records()
    path = os.path.join(r.work, "v2only.dump")
    os.makedirs(r.work, exist_ok=True)
    with open(path, "wb") as f:
        for i in range(40):
            rec = recs.v2("v2_plain", i) if i % 2 else recs.v1(i)
            f.write(varint(len(rec)) + rec)
    out, _ = r.expect(0, "fix", *stream_args(path), "--execute",
                      "--format", "json")
    t = json.loads(out)["targets"][0]
    check_eq((t["rewritten"], t["remaining"]), (20, 0), "converted, left")
    doc, _ = r.scan_json(0, *stream_args(path + ".fixed"))
    check_eq(doc["targets"][0]["verdicts"]["ok"], 40, "all ok")

def test_fixed_file_keeps_the_original_permissions(r):
    """The fixed file goes through a temporary file (mkstemp: mode 0600);
    it gets the original's permission bits, so that the consumers that
    read the original can read it."""
    recs = Records()
    path, _ = write_dump(r, recs, name="perm.dump")
    for mode in (0o644, 0o640):
        os.chmod(path, mode)
        fixed = os.path.join(r.work, "perm-%o.fixed" % mode)
        r.expect(1, "fix", *stream_args(path), "--execute",
                 "--fixed-output", fixed, "--format", "json")
        check_eq(oct(os.stat(fixed).st_mode & 0o7777), oct(mode),
                 "mode of the fixed file")


if __name__ == "__main__":
    tests = {name[5:]: fn for name, fn in list(globals().items())
             if name.startswith("test_")}
    sys.exit(run_cases(tests))
