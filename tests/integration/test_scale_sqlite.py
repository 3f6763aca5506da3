#!/usr/bin/env python3
"""Integration tests of `rollsafe scan --jobs N`, `scan --shard K/N` and
`rollsafe merge` on SQLite: the report of a parallel or sharded scan is the
report of one scan, record for record (tests/integration/scale.py).

Usage: test_scale_sqlite.py --rollsafe BIN --work DIR CASE
"""

import json
import os
import random
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rsdata import Records, check, check_eq, run_cases  # noqa: E402
from scale import (check_same_report, jobs_identical, run_shards,  # noqa: E402
                   shards_cover, untimed)

COUNTS = {"v1": 1500, "v2_plain": 120, "v2_gift": 300, "v2_awaiting": 80,
          "v2_guest": 60, "corrupt": 9}

# Every finding kept, so that the shards' keys can be checked one by one.
ALL = ("--samples", "10000")


def demo(r, rows=20000):
    """rollsafe demo's mix: a table, a queue and a stream file."""
    d = os.path.join(r.work, "demo")
    r.expect(0, "demo", "--force", "--rows", str(rows), d)
    return ["-c", os.path.join(d, "rollsafe.yaml")]


def kinds(seed=7):
    out = []
    for kind, n in COUNTS.items():
        out += [kind] * n
    random.Random(seed).shuffle(out)
    return out


def text_key_db(r):
    """Three tables of one mix, shuffled: a text primary key (a rowid
    table, read in rowid order), the same WITHOUT ROWID (read in key
    order, never split), and a two-column key."""
    recs = Records()
    path = os.path.join(r.work, "keys.db")
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE by_text (k TEXT PRIMARY KEY, payload BLOB)")
    db.execute("CREATE TABLE by_text_norowid (k TEXT PRIMARY KEY, "
               "payload BLOB) WITHOUT ROWID")
    db.execute("CREATE TABLE by_pair (tenant TEXT, n INTEGER, payload BLOB, "
               "PRIMARY KEY (tenant, n))")
    rnd = random.Random(3)
    for i, kind in enumerate(kinds()):
        value = recs.make(kind, i)
        key = "order-%06d-%s" % (rnd.randrange(10 ** 6), kind)
        db.execute("INSERT OR IGNORE INTO by_text VALUES (?, ?)", (key, value))
        db.execute("INSERT OR IGNORE INTO by_text_norowid VALUES (?, ?)",
                   (key, value))
        db.execute("INSERT INTO by_pair VALUES (?, ?, ?)",
                   ("tenant-%d" % (i % 7), i, value))
    db.execute("INSERT INTO by_text VALUES ('null-row', NULL)")
    db.commit()
    db.close()
    return path


def table_args(path, table, key):
    return ["--sqlite", path, "--table", table, "--key", key, "--column",
            "payload", "--type", "shop.Order", "--reader-framing", "envelope"]


def test_jobs_demo_mix(r):
    full = jobs_identical(r, 1, demo(r), ALL)
    check_eq(full["targets"][0]["rows_read"], 20000, "rows of the table")
    check(full["totals"]["findings"] > 100, "findings", full["totals"])
    # The default --samples keeps the first 10: which 10 depends on the
    # order, the thing a merge of ranges could get wrong.
    jobs_identical(r, 1, demo(r))


def test_jobs_text_keys(r):
    path = text_key_db(r)
    for table, key in (("by_text", "k"), ("by_text_norowid", "k"),
                       ("by_pair", "tenant,n")):
        doc = jobs_identical(r, 1, table_args(path, table, key))
        check(doc["targets"][0]["findings"] > 0, "findings in " + table)
        jobs_identical(r, 1, table_args(path, table, key), ALL)


def test_jobs_from_config(r):
    args = demo(r, rows=5000)
    config = args[1]
    with open(config) as f:
        text = f.read()
    base, _ = r.scan_json(1, *args)
    with open(config, "w") as f:
        f.write(text + "\njobs: 3\n")
    doc, _ = r.scan_json(1, *args)
    check_same_report(base, doc, "jobs: 3 in the config")
    with open(config, "w") as f:
        f.write(text + "\njobs: 0\n")
    _, err = r.expect(2, "scan", *args)
    check("jobs" in err, "jobs: 0 refused, naming the key", err)
    with open(config, "w") as f:
        f.write(text)
    for bad in ("0", "257", "x"):
        _, err = r.expect(2, "scan", *args, "--jobs", bad)
        check("--jobs" in err, "--jobs %s refused" % bad, err)


def test_shards_demo_mix(r):
    args = demo(r)
    full, _ = r.scan_json(1, *args, *ALL)
    shards_cover(r, 1, args, full, ALL)
    # With the default --samples: the merge keeps the first 10 of each
    # verdict in the order one scan meets them.
    full, _ = r.scan_json(1, *args)
    shards_cover(r, 1, args, full, every_key=False)


def test_shards_text_keys(r):
    path = text_key_db(r)
    for table, key in (("by_text", "k"), ("by_pair", "tenant,n")):
        args = table_args(path, table, key)
        full, _ = r.scan_json(1, *args, *ALL)
        shards_cover(r, 1, args, full, ALL)


def test_shards_with_jobs(r):
    args = demo(r)
    full, _ = r.scan_json(1, *args)
    paths = run_shards(r, 1, args, 3, ("--jobs", "2"))
    merged = os.path.join(r.work, "merged.json")
    r.expect(1, "merge", "-o", merged, *paths)
    check_same_report(full, json.load(open(merged)), "3 shards at --jobs 2")


def test_merge_refuses(r):
    args = demo(r, rows=3000)
    paths = run_shards(r, 1, args, 2)
    # Another scan's shard: another reader.
    other = os.path.join(r.work, "other.json")
    r.expect(1, "scan", *args, "--shard", "1/2", "--reader-framing", "raw",
             "--format", "json", "-o", other)
    _, err = r.expect(2, "merge", paths[0], other)
    check("differs in 'reader'" in err and "other.json" in err,
          "another reader refused", err)
    # Another --samples.
    r.expect(1, "scan", *args, "--shard", "1/2", "--samples", "3",
             "--format", "json", "-o", other)
    _, err = r.expect(2, "merge", paths[0], other)
    check("--samples" in err, "another --samples refused", err)
    # Another shard count.
    r.expect(1, "scan", *args, "--shard", "1/3", "--format", "json", "-o",
             other)
    _, err = r.expect(2, "merge", paths[0], other)
    check("not shards of one scan" in err, "another N refused", err)
    # A whole scan's report, and a file that is not JSON.
    whole = os.path.join(r.work, "whole.json")
    r.expect(1, "scan", *args, "--format", "json", "-o", whole)
    _, err = r.expect(2, "merge", whole, paths[1])
    check("not of a shard" in err, "a whole scan refused", err)
    with open(other, "w") as f:
        f.write("not json")
    _, err = r.expect(2, "merge", paths[0], other)
    check("other.json" in err, "a file that is not JSON named", err)
    r.expect(3, "merge", paths[0], os.path.join(r.work, "missing.json"))
    # Nothing written when refused.
    out = os.path.join(r.work, "out.json")
    r.expect(2, "merge", "-o", out, paths[0], paths[0])
    check(not os.path.exists(out), "no report of a refused merge")
    # The merge of the two is the whole scan, exit code included.
    r.expect(1, "merge", "-o", out, *paths)
    check_same_report(json.load(open(whole)), json.load(open(out)),
                      "merge of 2 shards")


def test_many_writers(r):
    """More writer groups than a report keeps apart (256): the first 255
    met keep their own, the rest share "(other writers)", at every --jobs
    and in a merge of shards, although each range and each shard meets
    them in another order."""
    recs = Records()
    path = os.path.join(r.work, "writers.db")
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, payload BLOB)")
    rnd = random.Random(9)
    flags = list(range(300))
    rows = []
    for i in range(4000):
        # The flags in a different order in each part of the table.
        if i % 300 == 0:
            rnd.shuffle(flags)
        kind = ("v2_plain", "v2_awaiting", "v1")[i % 3]
        rows.append((i, recs.make(kind, i, flag="flag-%03d" % flags[i % 300])
                     if kind != "v1" else recs.make(kind, i)))
    db.executemany("INSERT INTO t VALUES (?, ?)", rows)
    db.commit()
    db.close()
    args = table_args(path, "t", "id")
    full = jobs_identical(r, 1, args)
    writers = full["targets"][0]["writers"]
    check_eq(len(writers), 256, "writer groups")
    check_eq(writers[-1]["flag"], "(other writers)", "the catch-all")
    shards_cover(r, 1, args, full, every_key=False)


def test_shard_option_errors(r):
    args = demo(r, rows=500)
    for bad in ("4/4", "1/0", "x/2", "1/", "-1/2", "1/5000", "1/2/3"):
        _, err = r.expect(2, "scan", *args, "--shard", bad)
        check("--shard" in err, "--shard %s refused" % bad, err)
    _, err = r.expect(2, "scan", *args, "--shard", "0/2", "--shard", "1/2")
    check("twice" in err, "--shard twice refused", err)
    # --shard 0/1 is the whole scan, as a shard's report.
    doc, _ = r.scan_json(1, *args, "--shard", "0/1")
    whole, _ = r.scan_json(1, *args)
    check_eq(doc["shard"], {"index": 0, "count": 1, "samples": 10}, "shard")
    check_eq(doc["totals"], whole["totals"], "0/1 reads everything")
    check(untimed(doc) != untimed(whole), "a shard's report says so")


TESTS = {name[len("test_"):]: fn for name, fn in globals().items()
         if name.startswith("test_") and callable(fn)}

if __name__ == "__main__":
    sys.exit(run_cases(TESTS))
