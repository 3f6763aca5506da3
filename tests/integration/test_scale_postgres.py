#!/usr/bin/env python3
"""Integration tests of `rollsafe scan --jobs N`, `scan --shard K/N` and
`rollsafe merge` against the real PostgreSQL server the suite starts
(tests/pg/pg_server.sh, ctest fixture pg_server): a table read as block
(ctid) ranges on several connections, or by 4 shard processes, gives the
report one scan gives, record for record (tests/integration/scale.py).

Usage: test_scale_postgres.py --rollsafe BIN --work DIR CASE
"""

import json
import os
import random
import signal
import subprocess
import sys
import time

import psycopg2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rsdata import Failure, Records, check, check_eq, run_cases  # noqa: E402
from scale import (check_same_report, check_sampled,  # noqa: E402
                   jobs_identical, sample_calibration, scan_sampled,
                   shards_cover, truth_of)

COUNTS = {"v1": 2500, "v2_plain": 200, "v2_gift": 400, "v2_awaiting": 120,
          "v2_guest": 90, "corrupt": 11}

ALL = ("--samples", "10000")


def conninfo():
    path = os.environ.get("RS_PG_CONNINFO_FILE")
    if not path or not os.path.exists(path):
        raise Failure("no PostgreSQL test server: RS_PG_CONNINFO_FILE=%r "
                      "(run through ctest, which starts it)" % path)
    with open(path) as f:
        return f.read().strip()


class Db:
    def __init__(self, schema):
        self.dsn = conninfo()
        self.schema = schema
        self.conn = psycopg2.connect(self.dsn)
        self.conn.autocommit = True
        self.execute('DROP SCHEMA IF EXISTS "%s" CASCADE' % schema)
        self.execute('CREATE SCHEMA "%s"' % schema)

    def execute(self, sql, *args):
        with self.conn.cursor() as c:
            c.execute(sql, args if args else None)

    def fill(self, ddl, table, rows):
        self.execute(ddl)
        with self.conn.cursor() as c:
            n = len(rows[0])
            c.executemany('INSERT INTO "%s"."%s" VALUES (%s)'
                          % (self.schema, table, ", ".join(["%s"] * n)),
                          [tuple(psycopg2.Binary(v) if isinstance(v, bytes)
                                 else v for v in row) for row in rows])

    def args(self, table, key):
        return ["--postgres", self.dsn, "--table",
                "%s.%s" % (self.schema, table)] + \
               (["--key", key] if key else []) + \
               ["--column", "payload", "--type", "shop.Order",
                "--reader-framing", "envelope"]


def kinds(seed=11):
    out = []
    for kind, n in COUNTS.items():
        out += [kind] * n
    random.Random(seed).shuffle(out)
    return out


def tables(db):
    """The same mix four ways: a bigint key, a text key, a two-column key,
    and no key (rows named by ctid). Some rows are updated afterwards, so
    that their new versions sit in later blocks: the physical order, which
    a scan follows, is not the key order."""
    recs = Records()
    s = db.schema
    rnd = random.Random(5)
    rows = [(i, recs.make(k, i)) for i, k in enumerate(kinds())]
    rows.append((len(rows), None))
    db.fill('CREATE TABLE "%s".by_int (id bigint PRIMARY KEY, '
            'payload bytea)' % s, "by_int", rows)
    db.fill('CREATE TABLE "%s".by_text (k text PRIMARY KEY, payload bytea)'
            % s, "by_text",
            [("order-%06d-%d" % (rnd.randrange(10 ** 6), i), v)
             for i, v in rows])
    db.fill('CREATE TABLE "%s".by_pair (tenant text, n int, payload bytea, '
            'PRIMARY KEY (tenant, n))' % s, "by_pair",
            [("tenant-%d" % (i % 7), i, v) for i, v in rows])
    db.fill('CREATE TABLE "%s".no_key (payload bytea)' % s, "no_key",
            [(v,) for _, v in rows])
    for t in ("by_int", "by_text", "by_pair", "no_key"):
        db.execute('UPDATE "%s"."%s" SET payload = payload '
                   'WHERE length(payload) %% 5 = 0' % (s, t))
        db.execute('ANALYZE "%s"."%s"' % (s, t))
    with db.conn.cursor() as c:
        c.execute("SELECT pg_relation_size('\"%s\".by_int') / 8192" % s)
        blocks = c.fetchone()[0]
    check(blocks >= 20, "the table spans enough blocks to be split", blocks)
    return (("by_int", "id"), ("by_text", "k"), ("by_pair", "tenant,n"),
            ("no_key", None))


def test_jobs_identical(r):
    db = Db("it_scale_jobs")
    for table, key in tables(db):
        doc = jobs_identical(r, 1, db.args(table, key))
        check(doc["targets"][0]["findings"] > 0, "findings in " + table)
        jobs_identical(r, 1, db.args(table, key), ALL)


def test_jobs_partitioned_and_where(r):
    """What cannot be split by blocks (a partitioned table, a --where) is
    read whole by one job: the same report."""
    db = Db("it_scale_part")
    recs = Records()
    rows = [(i, recs.make(k, i)) for i, k in enumerate(kinds())]
    db.execute('CREATE TABLE "%s".parted (id bigint PRIMARY KEY, '
               'payload bytea) PARTITION BY RANGE (id)' % db.schema)
    for lo in range(0, 4000, 1000):
        db.execute('CREATE TABLE "%s".parted_%d PARTITION OF "%s".parted '
                   'FOR VALUES FROM (%d) TO (%d)'
                   % (db.schema, lo, db.schema, lo, lo + 1000))
    db.fill('SELECT 1', "parted", rows)
    jobs_identical(r, 1, db.args("parted", "id"), ALL)
    jobs_identical(r, 1, db.args("parted", "id") + ["--where", "id % 3 = 0"])


def test_shards_cover(r):
    db = Db("it_scale_shards")
    for table, key in tables(db):
        args = db.args(table, key)
        full, _ = r.scan_json(1, *args, *ALL)
        shards_cover(r, 1, args, full, ALL)
        if table == "by_int":
            full, _ = r.scan_json(1, *args)
            shards_cover(r, 1, args, full, every_key=False)


def test_interrupt_jobs(r):
    """Ctrl-C stops a --jobs scan whose job waits on the server (here a
    row that takes an hour): the job's store is interrupted, the report
    written, incomplete, exit 4. Without the interrupt the scan would wait
    out the hour, and ctest's timeout fails the test."""
    db = Db("it_scale_int")
    recs = Records()
    rows = [(i, recs.make(k, i)) for i, k in enumerate(kinds()[:500])]
    db.fill('CREATE TABLE "%s".t (id bigint PRIMARY KEY, payload bytea)'
            % db.schema, "t", rows)
    out = os.path.join(r.work, "report.json")
    p = subprocess.Popen(
        [r.rollsafe, "scan", *db.args("t", "id"), "--jobs", "2", "--where",
         "(id = 3 AND pg_sleep(3600) IS NOT NULL) OR id <> 3",
         "--format", "json", "-o", out],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # Until the server runs the scan's sleep.
    while True:
        with db.conn.cursor() as c:
            c.execute("SELECT count(*) FROM pg_stat_activity WHERE query "
                      "LIKE '%%pg_sleep(3600)%%' AND state = 'active' AND "
                      "pid <> pg_backend_pid()")
            if c.fetchone()[0] > 0:
                break
        if p.poll() is not None:
            check(False, "the scan ended before the signal",
                  p.communicate())
        time.sleep(0.1)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate()
    err = err.decode("utf-8", "replace")
    check(p.returncode == 4, "exit %d, want 4" % p.returncode, err)
    check("Sanitizer" not in err, "sanitizer report", err)
    doc = json.load(open(out))
    check(doc["complete"] is False and doc["interrupted"] is True,
          "an interrupted report", doc["complete"], doc["interrupted"])
    check(doc["targets"][0]["status"] == "interrupted", "target status",
          doc["targets"][0]["status"])


# ---- scan --sample ---------------------------------------------------------


def test_sample_estimates(r):
    """TABLESAMPLE SYSTEM (20), 20 seeds, on the four tables: each 95%
    interval holds the whole scan's count in most of them, the estimates
    are not biased, each report is marked, validates, and exits 1 exactly
    when its sample holds a finding. An analysed plain table's rows come
    from its statistics."""
    db = Db("it_scale_sample")
    for table, key in tables(db):
        args = db.args(table, key)
        full, _ = r.scan_json(1, *args)
        hits = sample_calibration(r, args, full, 20, range(1, 21))
        print(table, {name: hit for (_, name), hit in sorted(hits.items())})
        doc = scan_sampled(r, *args, "--sample", "20", "--sample-seed", "5")
        ts = doc["targets"][0]["sample"]
        check("TABLESAMPLE SYSTEM (20) REPEATABLE (5)" in ts["method"],
              "the method names the sample", ts)
        check_eq(ts["population_basis"], "statistics", table + ": basis")
        check_eq(ts["rows"]["count"], truth_of(full["targets"][0])["rows"],
                 table + ": rows from reltuples")


def test_sample_where_partitioned(r):
    """--where applies to the sampled rows; a partitioned table is sampled
    partition by partition, the same block numbers in each (REPEATABLE),
    which the intervals allow for; its rows come from the partitions'
    statistics once they have them, else from the sample; with a --where,
    from the sample."""
    db = Db("it_scale_sample_part")
    recs = Records()
    rows = [(i, recs.make(k, i)) for i, k in enumerate(kinds())]
    db.execute('CREATE TABLE "%s".parted (id bigint PRIMARY KEY, '
               'payload bytea) PARTITION BY RANGE (id)' % db.schema)
    for lo in range(0, 4000, 1000):
        # No statistics until the test makes them.
        db.execute('CREATE TABLE "%s".parted_%d PARTITION OF "%s".parted '
                   'FOR VALUES FROM (%d) TO (%d) WITH '
                   '(autovacuum_enabled = false)'
                   % (db.schema, lo, db.schema, lo, lo + 1000))
    db.fill('SELECT 1', "parted", rows)
    args = db.args("parted", "id")
    full, _ = r.scan_json(1, *args)
    doc = scan_sampled(r, *args, "--sample", "30", "--sample-seed", "2",
                       "--samples", "10000")
    check_sampled(doc, full, 30, 2, "partitioned")
    ts = doc["targets"][0]["sample"]
    check_eq(ts["population_basis"], "sample", "a partitioned table's basis")
    # Its rows estimated from the sample, the intervals still hold.
    hits = sample_calibration(r, args, full, 30, range(1, 21))
    print("parted", {name: hit for (_, name), hit in sorted(hits.items())})
    db.execute('ANALYZE "%s".parted' % db.schema)
    doc = scan_sampled(r, *args, "--sample", "30", "--sample-seed", "2")
    ts = doc["targets"][0]["sample"]
    check_eq(ts["population_basis"], "statistics", "analysed partitions")
    check_eq(ts["rows"]["count"], truth_of(full["targets"][0])["rows"],
             "the partitions' reltuples")
    hits = sample_calibration(r, args, full, 30, range(1, 21))
    print("parted, analysed",
          {name: hit for (_, name), hit in sorted(hits.items())})
    keys = sorted(int(s["key"]) for v in doc["targets"][0]["samples"].values()
                  for s in v)
    check(any(k < 1000 for k in keys) and any(k >= 3000 for k in keys),
          "rows of the first and the last partition", keys[:5], keys[-5:])
    where = ["--where", "id % 3 = 0"]
    doc = scan_sampled(r, *args, *where, "--sample", "30", "--sample-seed",
                       "2", "--samples", "10000")
    keys = [int(s["key"]) for v in doc["targets"][0]["samples"].values()
            for s in v]
    check(keys and all(k % 3 == 0 for k in keys), "--where applied", keys)
    # The same seed: the same rows, at any --jobs.
    for jobs in ("1", "2"):
        check_same_report(doc, scan_sampled(r, *args, *where, "--sample",
                                            "30", "--sample-seed", "2",
                                            "--samples", "10000", "--jobs",
                                            jobs), "--jobs " + jobs)
    # With a condition the rows are estimated from the sample too.
    t = db.args("parted", "id")
    db.execute('CREATE TABLE "%s".plain (id bigint PRIMARY KEY, '
               'payload bytea)' % db.schema)
    db.fill('SELECT 1', "plain", rows)
    db.execute('ANALYZE "%s".plain' % db.schema)
    t = db.args("plain", "id")
    doc = scan_sampled(r, *t, "--where", "true", "--sample", "30")
    check_eq(doc["targets"][0]["sample"]["population_basis"], "sample",
             "a --where's basis")


def test_sample_queue_and_clean(r):
    """A queue with a state column (read by a SELECT, not COPY) is
    sampled with its states; a sample of a clean table exits 4."""
    db = Db("it_scale_sample_q")
    recs = Records()
    db.fill('CREATE TABLE "%s".q (id bigint PRIMARY KEY, state text, '
            'payload bytea)' % db.schema, "q",
            [(i, "done" if i % 4 == 0 else "pending", recs.make(k, i))
             for i, k in enumerate(kinds())])
    args = ["--postgres", db.dsn, "--table", "%s.q" % db.schema, "--key",
            "id", "--column", "payload", "--type", "shop.Order",
            "--reader-framing", "envelope", "--queue", "--state-column",
            "state"]
    full, _ = r.scan_json(1, *args)
    doc = scan_sampled(r, *args, "--sample", "30", "--sample-seed", "8",
                       "--samples", "10000")
    check_sampled(doc, full, 30, 8, "queue")
    keys = [int(s["key"]) for v in doc["targets"][0]["samples"].values()
            for s in v]
    check(keys and all(k % 4 != 0 for k in keys), "only pending messages",
          keys)
    db.fill('CREATE TABLE "%s".clean (id bigint PRIMARY KEY, '
            'payload bytea)' % db.schema, "clean",
            [(i, recs.make("v2_plain", i)) for i in range(3000)])
    clean = db.args("clean", "id")
    r.scan_json(0, *clean)
    doc = scan_sampled(r, *clean, "--sample", "20", "--sample-seed", "1")
    check_eq(doc["exit_code"], 4, "a clean sample exits 4")
    check("does not show there are none" in doc["reason"], "the reason",
          doc["reason"])


TESTS = {name[len("test_"):]: fn for name, fn in globals().items()
         if name.startswith("test_") and callable(fn)}

if __name__ == "__main__":
    sys.exit(run_cases(TESTS))
