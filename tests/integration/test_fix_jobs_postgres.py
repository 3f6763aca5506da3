#!/usr/bin/env python3
"""`rollsafe fix --jobs N` and `--shard K/N` on PostgreSQL (docs/scale.md):
a table's rows split by the hash of their key into parts, each on its own
connection with its own run row, checkpoint, counts and backups under the
one run. The report and the final table are those of `--jobs 1`; kill -9
leaves every row old or new and `--resume` finishes every part; a killed
shard resumes alone; `restore` of a split run restores every row.

Usage: test_fix_jobs_postgres.py --rollsafe BIN --work DIR CASE
"""

import os
import random
import signal
import sys
import time

import psycopg2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixjobs import (check_backups_in_parts, check_killed_parts,  # noqa: E402
                     check_parts, check_rows_hold_old_or_new,
                     check_same_report, merged_backups, sum_counts)
from rsdata import Records, check, check_eq, run_cases  # noqa: E402
from runcheck import (HANG, finish, mixed, report, start,  # noqa: E402
                      write_config)
from test_scan_postgres import Db  # noqa: E402


def forget_runs(db, tables):
    """Removes the runs of @tables (and their backups) that an earlier
    invocation against the same server left; nobody else's."""
    with db.conn.cursor() as c:
        c.execute("SELECT to_regclass('rollsafe.runs') IS NOT NULL AND "
                  "to_regclass('rollsafe.backup') IS NOT NULL")
        if not c.fetchone()[0]:
            return
        for table in tables:
            c.execute("DELETE FROM rollsafe.backup WHERE run_id IN (SELECT "
                      "run_id FROM rollsafe.runs WHERE table_name = %s)",
                      (table,))
            c.execute("DELETE FROM rollsafe.runs WHERE table_name = %s",
                      (table,))


class Target:
    """Table orders of schema @schema, rows @rows, and a config naming it
    in directory @d (with `jobs:` when given)."""

    def __init__(self, d, schema, rows, jobs=None):
        self.db = Db(schema)
        self.schema = schema
        forget_runs(self.db, [schema + ".orders"])
        self.db.execute('CREATE TABLE "%s".orders (id bigint PRIMARY KEY, '
                        "payload bytea NOT NULL)" % schema)
        with self.db.conn.cursor() as c:
            c.executemany('INSERT INTO "%s".orders VALUES (%%s, %%s)'
                          % schema, [(i, psycopg2.Binary(p))
                                     for i, _, p in rows])
        self.db.execute('ANALYZE "%s".orders' % schema)
        os.makedirs(d, exist_ok=True)
        self.cfg = os.path.join(d, "rollsafe.yaml")
        top = {"jobs": jobs} if jobs else {}
        write_config(self.cfg, [{"name": "orders", "kind": "postgres-table",
                                 "connection": self.db.dsn,
                                 "table": schema + ".orders", "key": "id",
                                 "column": "payload", "type": "shop.Order"}],
                     **top)

    def query(self, sql, *args):
        with self.db.conn.cursor() as c:
            c.execute(sql, args if args else None)
            return c.fetchall(), [d[0] for d in c.description or []]

    def table(self):
        rows, _ = self.query('SELECT id, payload FROM "%s".orders'
                             % self.schema)
        return {k: bytes(v) for k, v in rows}

    def runs(self, run):
        """{row_id: row dict} of run @run."""
        rows, names = self.query("SELECT * FROM rollsafe.runs WHERE run = %s "
                                 "OR run_id = %s", run, run)
        return {r[names.index("run_id")]: dict(zip(names, r)) for r in rows}

    def run_of_table(self):
        """The one run of this table, or None before any."""
        rows, _ = self.query(
            "SELECT DISTINCT run FROM rollsafe.runs WHERE table_name = %s",
            self.schema + ".orders") if self.have_runs() else ([], [])
        check(len(rows) <= 1, "one run of the table", rows)
        return rows[0][0] if rows else None

    def have_runs(self):
        rows, _ = self.query("SELECT to_regclass('rollsafe.runs') IS NOT "
                             "NULL")
        return rows[0][0]

    def backups(self, run):
        """{row_id: {key: (old, new)}} of every row of run @run."""
        rows, _ = self.query(
            "SELECT b.run_id, b.key, b.old_value, b.new_value FROM "
            "rollsafe.backup b JOIN rollsafe.runs r ON r.run_id = b.run_id "
            "WHERE r.run = %s OR r.run_id = %s", run, run)
        out = {}
        for row_id, k, o, n in rows:
            out.setdefault(row_id, {})[int(k)] = (bytes(o), bytes(n))
        return out


def fix(r, code, t, *extra):
    return report(r, code, "fix", "-c", t.cfg, "--execute", "--allow-lossy",
                  *extra)[0]


def test_jobs_report_table_and_restore(r):
    """--jobs 2 and the config's jobs: 3 write the report --jobs 1 writes,
    leave the same table and the same backups (split over the parts), and
    a restore of the split run puts every original row back."""
    recs = Records()
    rows = mixed(recs, 3000, 7)
    one_t = Target(os.path.join(r.work, "one"), "fj_same_1", rows)
    two_t = Target(os.path.join(r.work, "two"), "fj_same_2", rows)
    three_t = Target(os.path.join(r.work, "three"), "fj_same_3", rows, jobs=3)
    orig = one_t.table()
    one = fix(r, 1, one_t, "--batch", "40")
    two = fix(r, 1, two_t, "--batch", "40", "--jobs", "2")
    three = fix(r, 1, three_t, "--batch", "40")
    check(one["rewritten"] > 100, "rows rewritten", one["rewritten"])
    # The same table in three schemas.
    for doc in (one, two, three):
        doc["targets"][0]["table"] = "orders"
    check_same_report(one, two, "--jobs 2")
    check_same_report(one, three, "jobs: 3")
    fixed = one_t.table()
    b1 = one_t.backups(one["run_id"])[one["run_id"]]
    one_row = one_t.runs(one["run_id"])[one["run_id"]]
    for t, doc, count in ((two_t, two, 2), (three_t, three, 3)):
        what = "%d parts" % count
        check_eq(t.table(), fixed, what + ": the table as --jobs 1 left it")
        parts = check_parts(t.runs(doc["run_id"]), doc["run_id"], count, what)
        check_eq(sorted(parts), list(range(count)), what + ": part rows")
        check(all(p["status"] == "done" for p in parts.values()),
              what + ": every part done", parts)
        check_eq(sum_counts(parts), {c: one_row[c] for c in sum_counts(
            parts)}, what + ": the parts' counts add up to --jobs 1's")
        b = t.backups(doc["run_id"])
        check_backups_in_parts(b, count, what)
        check_eq(merged_backups(b), b1, what + ": backups == --jobs 1's")
        check_rows_hold_old_or_new(t.table(), orig, merged_backups(b), what)
    dry, _ = report(r, 0, "restore", "-c", two_t.cfg, "--run", two["run_id"])
    done, _ = report(r, 0, "restore", "-c", two_t.cfg, "--run",
                     two["run_id"], "--execute")
    check_eq(dry["restored"], two["rewritten"], "restore dry run predicts")
    check_eq(done["restored"], two["rewritten"], "rows restored")
    check_eq(two_t.table(), orig, "the table after the restore")
    print("jobs_report_table_and_restore: %d rows, %d rewritten by 1, 2 "
          "and 3 jobs alike, restored" % (len(orig), one["rewritten"]))


def part_state(t, orig, convertible, count, what):
    """After a kill: each part's backed-up keys are exactly the convertible
    keys of its part up to its checkpoint, its converted count commits with
    them, and every row is old or new. Returns the run id (None before the
    first part row) and the rows backed up."""
    run = t.run_of_table()
    if run is None:
        check_eq(t.table(), orig, what + ": rows before any run")
        return None, 0
    return run, check_killed_parts(t.runs(run), run, t.backups(run),
                                   t.table(), orig, convertible, count, what)


def test_jobs_kill_9_and_resume(r):
    """fix --jobs 2 killed with -9 at random moments, resumed each time:
    every part keeps backups, rows and counts in step with its own
    checkpoint, and the last resume leaves the table a --jobs 1 fix
    leaves, with its counts."""
    recs = Records()
    rng = random.Random(18)
    rows = mixed(recs, 8000, 11)
    one_t = Target(os.path.join(r.work, "one"), "fj_kill_1", rows)
    two_t = Target(os.path.join(r.work, "two"), "fj_kill_2", rows)
    orig = one_t.table()
    one = fix(r, 1, one_t, "--batch", "50")
    convertible = set(one_t.backups(one["run_id"])[one["run_id"]])
    # --max-rate spreads the run over seconds, so that the kills land
    # inside it on a fast machine too (the parts share the rate).
    argv = ["fix", "-c", two_t.cfg, "--execute", "--allow-lossy", "--batch",
            "50", "--jobs", "2", "--max-rate", "4000", "--format", "json",
            "--samples", "1000"]
    run, log = None, []
    for i in range(8):
        p = start(r, *argv, *(["--resume", run] if run else []))
        delay = rng.uniform(0.1, 0.8) if i else rng.uniform(0, 0.01)
        end = time.monotonic() + delay
        while p.poll() is None and time.monotonic() < end:
            time.sleep(0.002)
        ended = p.poll() is not None
        if not ended:
            p.send_signal(signal.SIGKILL)
        rc, out, err = finish(p, "fix --jobs 2 before kill %d" % i)
        if ended:
            log.append("ended (exit %d)" % rc)
            break
        check_eq(rc, -signal.SIGKILL, "kill %d: status" % i)
        run, done = part_state(two_t, orig, convertible, 2,
                               "after kill %d (%.3f s)" % (i, delay))
        log.append("%.3fs: %d fixed" % (delay, done))
    last = fix(r, 1, two_t, "--jobs", "2",
               *(["--resume", run] if run else []))
    check_eq(last["complete"], True, "the last resume completes")
    run = last["run_id"]
    part_state(two_t, orig, convertible, 2, "after the run")
    check_eq(two_t.table(), one_t.table(), "the table as --jobs 1 left it")
    parts = check_parts(two_t.runs(run), run, 2, "after the run")
    one_row = one_t.runs(one["run_id"])[one["run_id"]]
    check_eq(sum_counts(parts), {c: one_row[c] for c in sum_counts(parts)},
             "the parts' counts add up to --jobs 1's, across the kills")
    for k in ("rewritten", "lossy", "impossible", "corrupt", "remaining",
              "undetermined"):
        check_eq(last[k], one[k], "the resumed run's " + k)
    print("jobs_kill_9_and_resume: %d rows, %d to fix; kills: %s"
          % (len(orig), len(convertible), ", ".join(log)))


def test_shards_one_killed_resumes_alone(r):
    """Three shards of one run (--run NAME --shard K/3, shard 0 with
    --jobs 2): shard 1 is killed with -9 while the others complete, then
    resumes alone with --resume NAME --shard 1/3; the shards' counts add
    up to a --jobs 1 fix's, the table is the one it leaves, and a restore
    of the run restores all of it."""
    recs = Records()
    rows = mixed(recs, 6000, 5)
    one_t = Target(os.path.join(r.work, "one"), "fj_shard_1", rows)
    sh_t = Target(os.path.join(r.work, "sharded"), "fj_shard_3", rows)
    orig = one_t.table()
    one = fix(r, 1, one_t, "--batch", "50")
    # Run ids are the database's: one of its own for this test.
    name = "fj-shards-%d" % (int(time.time() * 1000) % 10**9)

    def shard(k, *extra):
        return ["fix", "-c", sh_t.cfg, "--execute", "--allow-lossy",
                "--batch", "50", "--run", name, "--shard", "%d/3" % k,
                *extra]

    p = start(r, *shard(1))
    row = "%s.t0.p1of3" % name
    deadline = time.monotonic() + HANG
    while p.poll() is None and time.monotonic() < deadline:
        if sh_t.have_runs():
            got = sh_t.runs(name).get(row)
            if got is not None and got["checkpoint"] is not None:
                break
        time.sleep(0.005)
    check(p.poll() is None, "shard 1 ended before it could be killed")
    p.send_signal(signal.SIGKILL)
    finish(p, "shard 1")
    docs = {}
    docs[0], _ = report(r, 1, *shard(0, "--jobs", "2"))
    docs[2], _ = report(r, 1, *shard(2))
    check_eq(docs[0]["targets"][0]["parts"],
             ["%s.t0.p0of6" % name, "%s.t0.p3of6" % name],
             "shard 0 --jobs 2: its parts")
    docs[1], _ = report(r, 1, "fix", "-c", sh_t.cfg, "--execute", "--resume",
                        name, "--shard", "1/3")
    check_eq(docs[1]["targets"][0]["parts"], [row], "shard 1: its part")
    rs = sh_t.runs(name)
    check_eq(sorted(rs), sorted(["%s.t0.p0of6" % name, "%s.t0.p3of6" % name,
                                 row, "%s.t0.p2of3" % name]), "the run's rows")
    check(all(x["status"] == "done" for x in rs.values()),
          "every shard's part done", rs)
    check_eq(sh_t.table(), one_t.table(), "the table as --jobs 1 left it")
    for k in ("rewritten", "lossy", "impossible", "corrupt", "remaining",
              "undetermined"):
        check_eq(sum(d[k] for d in docs.values()), one[k],
                 "the shards' %s add up to --jobs 1's" % k)
    check_rows_hold_old_or_new(sh_t.table(), orig,
                               merged_backups(sh_t.backups(name)),
                               "sharded run")
    done, _ = report(r, 0, "restore", "-c", sh_t.cfg, "--run", name,
                     "--execute")
    check_eq(done["restored"], one["rewritten"], "rows restored")
    check_eq(sh_t.table(), orig, "the table after the restore")
    print("shards_one_killed_resumes_alone: %d rows, %d rewritten by 3 "
          "shards" % (len(orig), one["rewritten"]))


def two_targets(d, schema, orders, events):
    """A table and a queue (an outbox, every message pending) in schema
    @schema, and a config naming both."""
    db = Db(schema)
    forget_runs(db, [schema + ".orders", schema + ".events"])
    db.execute('CREATE TABLE "%s".orders (id bigint PRIMARY KEY, payload '
               "bytea NOT NULL)" % schema)
    db.execute('CREATE TABLE "%s".events (id bigint PRIMARY KEY, payload '
               "bytea NOT NULL, state text NOT NULL)" % schema)
    with db.conn.cursor() as c:
        c.executemany('INSERT INTO "%s".orders VALUES (%%s, %%s)' % schema,
                      [(i, psycopg2.Binary(p)) for i, _, p in orders])
        c.executemany('INSERT INTO "%s".events VALUES (%%s, %%s, %%s)'
                      % schema, [(i, psycopg2.Binary(p), "pending")
                                 for i, _, p in events])
    os.makedirs(d, exist_ok=True)
    cfg = os.path.join(d, "rollsafe.yaml")
    write_config(cfg, [
        {"name": "orders", "kind": "postgres-table", "connection": db.dsn,
         "table": schema + ".orders", "key": "id", "column": "payload",
         "type": "shop.Order"},
        {"name": "events", "kind": "postgres-queue", "connection": db.dsn,
         "table": schema + ".events", "key": "id", "column": "payload",
         "type": "shop.Order", "state_column": "state",
         "pending_states": ["pending"]}])
    return db, cfg


def contents(db, schema):
    out = {}
    for table in ("orders", "events"):
        with db.conn.cursor() as c:
            c.execute('SELECT id, payload FROM "%s".%s' % (schema, table))
            out[table] = {k: bytes(v) for k, v in c.fetchall()}
    return out


def test_jobs_table_and_queue(r):
    """A config of a table and a queue, --jobs 2: each target in two parts
    (rows RUN.t0.p*, RUN.t1.p*), the report and both tables as --jobs 1
    leaves them; a restore of the run puts both back."""
    recs = Records()
    orders, events = mixed(recs, 1500, 21), mixed(recs, 700, 22)
    db1, cfg1 = two_targets(os.path.join(r.work, "one"), "fj_two_1", orders,
                            events)
    db2, cfg2 = two_targets(os.path.join(r.work, "two"), "fj_two_2", orders,
                            events)
    orig = contents(db2, "fj_two_2")
    one, _ = report(r, 1, "fix", "-c", cfg1, "--execute", "--allow-lossy",
                    "--batch", "60")
    two, _ = report(r, 1, "fix", "-c", cfg2, "--execute", "--allow-lossy",
                    "--batch", "60", "--jobs", "2")
    for doc in (one, two):
        for t in doc["targets"]:
            t["table"] = t["table"].split(".")[1]
    check_same_report(one, two, "a table and a queue, --jobs 2")
    run = two["run_id"]
    check_eq([t["parts"] for t in two["targets"]],
             [["%s.t%d.p%dof2" % (run, k, i) for i in range(2)]
              for k in range(2)], "the parts of each target")
    check_eq(contents(db2, "fj_two_2"), contents(db1, "fj_two_1"),
             "both tables as --jobs 1 left them")
    done, _ = report(r, 0, "restore", "-c", cfg2, "--run", run, "--execute")
    check_eq(done["restored"], two["rewritten"], "rows restored")
    check_eq(contents(db2, "fj_two_2"), orig, "both tables restored")
    print("jobs_table_and_queue: %d rewritten in 4 parts, restored"
          % two["rewritten"])


TESTS = {name[len("test_"):]: fn for name, fn in globals().items()
         if name.startswith("test_") and callable(fn)}

if __name__ == "__main__":
    sys.exit(run_cases(TESTS))
