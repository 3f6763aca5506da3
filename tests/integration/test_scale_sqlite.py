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
from scale import (check_same_report, check_sampled,  # noqa: E402
                   jobs_identical, run_shards, sample_calibration,
                   scan_sampled, shards_cover, untimed)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "report"))
from schemacheck import validate  # noqa: E402

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


# ---- scan --sample ---------------------------------------------------------


def mix_db(r, name="mix.db", times=3, only=None):
    """One table, t (id INTEGER PRIMARY KEY), of the mix @times over
    (only the kind @only, when given), shuffled; its scan arguments."""
    recs = Records()
    path = os.path.join(r.work, name)
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, payload BLOB)")
    rows = []
    for rep in range(times):
        for i, kind in enumerate(kinds(seed=7 + rep)):
            n = rep * 10 ** 5 + i
            rows.append((n, recs.make(only or kind, n)))
    db.executemany("INSERT INTO t VALUES (?, ?)", rows)
    db.commit()
    db.close()
    return table_args(path, "t", "id")


def tables_config(r, rows=5000):
    """The demo's config without its stream file: a table and a queue."""
    args = demo(r, rows=rows)
    with open(args[1]) as f:
        text = f.read()
    cut = text.index("  - name: order-events-dump")
    path = os.path.join(os.path.dirname(args[1]), "tables.yaml")
    with open(path, "w") as f:
        f.write(text[:cut])
    return ["-c", path]


def test_sample_estimates(r):
    """A 10% sample, 20 seeds: each 95% interval holds the whole scan's
    count in most of them, the estimates are not biased, and each report
    is marked as an estimate, validates, and exits 1 exactly when its
    sample holds a finding."""
    args = mix_db(r)
    full, _ = r.scan_json(1, *args)
    hits = sample_calibration(r, args, full, 10, range(1, 21))
    print("intervals holding the true count, of 20:",
          {name: hit for (_, name), hit in sorted(hits.items())})


def test_sample_marked(r):
    """Text, JSON and metrics say the counts are an estimate."""
    args = mix_db(r)
    prom = os.path.join(r.work, "scan.prom")
    out, _ = r.expect(1, "scan", *args, "--sample", "10", "--sample-seed",
                      "3", "--metrics", prom)
    check("ESTIMATE from a 10% sample (seed 3" in out, "text header", out)
    check("ESTIMATE of the whole: ~" in out and "(95%: " in out,
          "text estimates", out)
    check("FINDINGS in the sample" in out, "text result", out)
    with open(prom) as f:
        metrics = f.read()
    records = [line for line in metrics.split("\n")
               if line.startswith("rollsafe_scan_records{")]
    check(records and all('estimate="true"' in line for line in records),
          "every count labelled estimate", records)
    check('rollsafe_scan_estimated_records{target="t",estimate="true",'
          'verdict="misread",bound="high"}' in metrics,
          "estimated records with bounds", metrics)
    check("rollsafe_scan_sample_percent{estimate=\"true\"} 10" in metrics,
          "the percent", metrics)
    # A whole scan says none of it.
    out, _ = r.expect(1, "scan", *args, "--metrics", prom)
    with open(prom) as f:
        metrics = f.read()
    check("ESTIMATE" not in out and "estimate" not in metrics,
          "a whole scan is no estimate", out, metrics)
    doc, _ = r.scan_json(1, *args)
    check("sample" not in doc and "sample" not in doc["targets"][0],
          "no sample in a whole scan's JSON", doc.keys())


def test_sample_seed(r):
    """The same seed reads the same rows: the same report; another seed
    other rows; without a seed one is drawn, given, and reproduces."""
    args = mix_db(r)
    a = scan_sampled(r, *args, "--sample", "5", "--sample-seed", "77",
                     "--samples", "10000")
    b = scan_sampled(r, *args, "--sample", "5", "--sample-seed", "77",
                     "--samples", "10000")
    check_same_report(a, b, "the same seed twice")
    c = scan_sampled(r, *args, "--sample", "5", "--sample-seed", "78",
                     "--samples", "10000")
    check(untimed(a["targets"]) != untimed(c["targets"]),
          "another seed reads other rows")
    d = scan_sampled(r, *args, "--sample", "5", "--samples", "10000")
    seed = d["sample"]["seed"]
    check(str(seed) in d["targets"][0]["sample"]["method"],
          "the drawn seed in the method", d["targets"][0]["sample"])
    e = scan_sampled(r, *args, "--sample", "5", "--sample-seed", str(seed),
                     "--samples", "10000")
    check_same_report(d, e, "the drawn seed, given again")
    # --jobs: a sampled table is read by one job; the report is the same.
    for jobs in ("2", "3"):
        f = scan_sampled(r, *args, "--sample", "5", "--sample-seed", "77",
                         "--samples", "10000", "--jobs", jobs)
        check_same_report(a, f, "--jobs %s" % jobs)


def test_sample_clustered(r):
    """Findings in runs of neighbouring rows (one bad deployment's
    writes), which the windows read together, and rowids with gaps: the
    intervals still hold the true counts."""
    recs = Records()
    path = os.path.join(r.work, "clustered.db")
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, payload BLOB)")
    rows, rnd = [], random.Random(12)
    n = 0
    for run in range(120):
        kind = "v2_awaiting" if run % 6 == 0 else "v1"
        for i in range(rnd.randrange(20, 120)):
            rows.append((n, recs.make(kind, n)))
            n += rnd.choice((1, 1, 1, 2, 5))
    db.executemany("INSERT INTO t VALUES (?, ?)", rows)
    db.commit()
    db.close()
    args = table_args(path, "t", "id")
    full, _ = r.scan_json(1, *args)
    for percent in (5, 20):
        hits = sample_calibration(r, args, full, percent, range(1, 21))
        print(percent, {name: hit for (_, name), hit in sorted(hits.items())})


def test_sample_clean_exits_4(r):
    """A sample without findings exits 4, never 0; the whole scan of the
    same table is clean."""
    args = mix_db(r, only="v2_plain")
    r.scan_json(0, *args)
    doc = scan_sampled(r, *args, "--sample", "10", "--sample-seed", "1")
    check_eq(doc["exit_code"], 4, "a clean sample")
    check_eq(doc["totals"]["findings"], 0, "no findings")
    misread = doc["sample"]["verdicts"]["misread"]
    check(misread["count"] == 0 and misread["high"] > 0,
          "a verdict the sample never met: 0, with a bound above 0", misread)
    out, _ = r.expect(4, "scan", *args, "--sample", "10")
    check("INCONCLUSIVE" in out and "does not show there are none" in out,
          "the text says why", out)


def test_sample_where_and_queue(r):
    """--where and a queue's states apply to the sampled rows; a config's
    table and queue are both sampled, at any --jobs, and `sample:` in the
    config samples too."""
    args = mix_db(r)
    doc = scan_sampled(r, *args, "--sample", "30", "--sample-seed", "4",
                       "--where", "id % 2 = 0", "--samples", "10000")
    keys = [int(s["key"]) for v in doc["targets"][0]["samples"].values()
            for s in v]
    check(keys and all(k % 2 == 0 for k in keys), "--where applied", keys)
    cfg = tables_config(r)
    full, _ = r.scan_json(1, *cfg)
    base = scan_sampled(r, *cfg, "--sample", "20", "--sample-seed", "9")
    check_sampled(base, full, 20, 9, "table and queue")
    check(all(t["rows_read"] > 0 for t in base["targets"]),
          "both targets sampled", [t["rows_read"] for t in base["targets"]])
    for jobs in ("2", "4"):
        check_same_report(base, scan_sampled(r, *cfg, "--sample", "20",
                                             "--sample-seed", "9", "--jobs",
                                             jobs), "--jobs " + jobs)
    with open(cfg[1]) as f:
        text = f.read()
    with open(cfg[1], "w") as f:
        f.write(text + "\nsample: 20\n")
    check_same_report(base, scan_sampled(r, *cfg, "--sample-seed", "9"),
                      "sample: 20 in the config")
    # --sample 100 on the command line: every row, whatever the file says.
    whole, _ = r.scan_json(1, *cfg, "--sample", "100")
    check_same_report(full, whole, "--sample 100 is the whole scan")
    for bad in ("0", "101", "x", "-3"):
        with open(cfg[1], "w") as f:
            f.write(text + "\nsample: %s\n" % bad)
        _, err = r.expect(2, "scan", *cfg)
        check("sample:" in err, "sample: %s refused, naming the key" % bad,
              err)


def test_sample_refused(r):
    """What cannot be sampled, and malformed percents, exit 2 saying
    why."""
    args = mix_db(r, times=1)
    for bad in ("0", "100.5", "-1", "x", "nan", "inf", "1e", "0x10", ""):
        _, err = r.expect(2, "scan", *args, "--sample", bad)
        check("--sample" in err, "--sample %r refused" % bad, err)
    _, err = r.expect(2, "scan", *args, "--sample", "5", "--sample", "6")
    check("twice" in err, "--sample twice", err)
    for bad in ("-1", "x", "2147483648"):
        _, err = r.expect(2, "scan", *args, "--sample", "5", "--sample-seed",
                          bad)
        check("--sample-seed" in err, "--sample-seed %s refused" % bad, err)
    _, err = r.expect(2, "scan", *args, "--sample-seed", "3")
    check("--sample-seed needs --sample" in err, "a seed without a sample",
          err)
    _, err = r.expect(2, "scan", *args, "--sample", "5", "--shard", "0/2")
    check("--sample and --shard" in err, "with --shard", err)
    # A config with a stream file: refused, naming it.
    _, err = r.expect(2, "scan", *demo(r, rows=300), "--sample", "5")
    check("order-events-dump" in err and "stream-file" in err,
          "a stream file refused", err)
    _, err = r.expect(2, "scan", "--stream", os.path.join(r.work, "demo",
                                                          "order-events.dump"),
                      "--type", "shop.Order", "--sample", "5")
    check("stream-file" in err, "--stream refused", err)
    _, err = r.expect(2, "scan", "--kafka", "localhost:1", "--topic", "t",
                      "--type", "shop.Order", "--sample", "5")
    check("kafka-topic" in err and "--sample" in err, "--kafka refused", err)
    # A WITHOUT ROWID table has no rowids to draw windows from.
    path = text_key_db(r)
    _, err = r.expect(2, "scan", *table_args(path, "by_text_norowid", "k"),
                      "--sample", "5")
    check("WITHOUT ROWID" in err, "WITHOUT ROWID refused", err)
    # Its rowid twin is sampled.
    scan_sampled(r, *table_args(path, "by_text", "k"), "--sample", "5")
    # merge refuses a sampled report.
    report = os.path.join(r.work, "sampled.json")
    rc, _, err = r.run("scan", *args, "--sample", "5", "--format", "json",
                       "-o", report)
    check(rc in (1, 4), "the sampled scan", rc, err)
    validate(json.load(open(report)), "sampled report")
    _, err = r.expect(2, "merge", report, report)
    check("sampled scan" in err, "merge refuses a sample", err)


def test_sample_empty_table(r):
    """An empty table sampled: nothing read, exit 4, estimates of 0."""
    path = os.path.join(r.work, "empty.db")
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, payload BLOB)")
    db.commit()
    db.close()
    doc = scan_sampled(r, *table_args(path, "t", "id"), "--sample", "10")
    validate(doc, "empty sample")
    check_eq(doc["exit_code"], 4, "exit")
    check_eq(doc["targets"][0]["rows_read"], 0, "rows read")
    check_eq(doc["sample"]["rows"]["count"], 0, "rows estimated")


TESTS = {name[len("test_"):]: fn for name, fn in globals().items()
         if name.startswith("test_") and callable(fn)}

if __name__ == "__main__":
    sys.exit(run_cases(TESTS))
