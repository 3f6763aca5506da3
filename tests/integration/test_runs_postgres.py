#!/usr/bin/env python3
"""One run per fix invocation across PostgreSQL and SQLite: a config of
three targets, two in the test server's database and one in an SQLite file,
is one run; a fix killed (-9) mid-target and resumed by its id through the
config, and a restore killed and run again, come out exactly as runs nobody
stopped; `restore --postgres CONNINFO --run ID` alone restores the run's
targets in that database, a queue as a queue.

Usage: test_runs_postgres.py --rollsafe BIN --work DIR CASE
"""

import os
import signal
import sys

import psycopg2
import psycopg2.extras

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rsdata import Records, check, check_eq, run_cases  # noqa: E402
from runcheck import (by_target, counts, mixed,  # noqa: E402
                      printed_command, report, run_printed, sqlite_rows,
                      sqlite_runs, sqlite_table, start, stop_when,
                      write_config)
from test_scan_postgres import Db  # noqa: E402


def pg_table(db, table, rows, states=None):
    if states is None:
        db.execute('CREATE TABLE "%s"."%s" (id bigint PRIMARY KEY, payload '
                   "bytea NOT NULL)" % (db.schema, table))
        vals = [(i, psycopg2.Binary(p)) for i, _, p in rows]
    else:
        db.execute('CREATE TABLE "%s"."%s" (id bigint PRIMARY KEY, payload '
                   "bytea NOT NULL, state text NOT NULL)"
                   % (db.schema, table))
        vals = [(i, psycopg2.Binary(p), states(i)) for i, _, p in rows]
    with db.conn.cursor() as c:
        psycopg2.extras.execute_values(
            c, 'INSERT INTO "%s"."%s" VALUES %%s' % (db.schema, table), vals)


def pg_rows(db, table):
    with db.conn.cursor() as c:
        c.execute('SELECT id, payload FROM "%s"."%s"' % (db.schema, table))
        return {k: bytes(v) for k, v in c.fetchall()}


def pg_runs(db):
    """The rows of rollsafe.runs of this test's tables, by target name."""
    with db.conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as c:
        c.execute("SELECT to_regclass('rollsafe.runs') IS NOT NULL AS t")
        if not c.fetchone()["t"]:
            return {}
        c.execute("SELECT * FROM rollsafe.runs WHERE table_name LIKE %s",
                  (db.schema + ".%",))
        return {r["target"]: dict(r) for r in c.fetchall()}


def setup(r, recs, schema, n=900):
    """orders and the events outbox in the server's database (schema
    @schema), audit in an SQLite file, and a config naming the three."""
    db = Db(schema)
    d = os.path.join(r.work, schema)
    os.makedirs(d, exist_ok=True)
    lite = os.path.join(d, "audit.db")
    if os.path.exists(lite):
        os.unlink(lite)
    pg_table(db, "orders", mixed(recs, n, 1))
    pg_table(db, "order_events", mixed(recs, n // 2, 2),
             states=lambda i: "pending")
    sqlite_table(lite, "audit", mixed(recs, n, 3))
    cfg = os.path.join(d, "rollsafe.yaml")
    write_config(cfg, [
        {"name": "orders", "kind": "postgres-table", "connection": db.dsn,
         "table": schema + ".orders", "key": "id", "column": "payload",
         "type": "shop.Order"},
        {"name": "events", "kind": "postgres-queue", "connection": db.dsn,
         "table": schema + ".order_events", "key": "id", "column": "payload",
         "type": "shop.Order", "state_column": "state",
         "pending_states": ["pending"], "in_flight_states": ["processing"]},
        {"name": "audit", "kind": "sqlite-table", "connection": "audit.db",
         "table": "audit", "key": "id", "column": "payload",
         "type": "shop.Order"},
    ])
    return db, lite, cfg


def everything(db, lite):
    return {"orders": pg_rows(db, "orders"),
            "events": pg_rows(db, "order_events"),
            "audit": sqlite_rows(lite, "audit")}


def all_runs(db, lite):
    runs = pg_runs(db)
    runs.update(sqlite_runs(lite))
    return runs


def test_three_targets_kill_fix_and_restore(r):
    recs = Records()
    ref_db, ref_lite, ref_cfg = setup(r, recs, "it_runs_ref")
    db, lite, cfg = setup(r, recs, "it_runs")
    original = everything(db, lite)
    fix = ["--execute", "--allow-lossy", "--batch", "30"]
    report(r, 1, "fix", "-c", ref_cfg, *fix)
    reference = everything(ref_db, ref_lite)
    ref_runs = all_runs(ref_db, ref_lite)

    p = start(r, "fix", "-c", cfg, *fix, "--max-rate", "3000")
    stop_when(p, lambda: (pg_runs(db).get("events") or {}).get(
        "checkpoint") is not None, what="the fix")
    runs = all_runs(db, lite)
    check_eq((runs["orders"]["status"], runs["events"]["status"]),
             ("done", "running"), "killed in the second target")
    check("audit" not in runs, "audit not reached", runs)
    run_id = runs["orders"]["run"]
    check_eq((runs["orders"]["run_id"], runs["events"]["run_id"],
              runs["events"]["run"]),
             (run_id, run_id + "/2", run_id), "one run, a row per target")

    doc, _ = report(r, 1, "fix", "-c", cfg, "--resume", run_id, "--execute")
    check_eq(doc["run_id"], run_id, "the resumed run")
    runs = all_runs(db, lite)
    check_eq(runs["audit"]["run"], run_id, "audit's row in its own database")
    for name in ("orders", "events", "audit"):
        check_eq(runs[name]["status"], "done", name + " done")
        check_eq(counts(runs[name]), counts(ref_runs[name]),
                 name + ": counts against the unstopped run's")
        # The report's "rewritten" is the run row's "converted" column.
        check_eq({k: by_target(doc)[name].get(
                      "rewritten" if k == "converted" else k) for k in
                  ("converted", "lossy", "impossible", "corrupt",
                   "rows_read", "remaining")},
                 {k: ref_runs[name][k] for k in
                  ("converted", "lossy", "impossible", "corrupt",
                   "rows_read", "remaining")}, name + ": the report")
    check_eq(everything(db, lite), reference, "rows as the unstopped run's")

    p = start(r, "restore", "-c", cfg, "--run", run_id, "--execute",
              "--batch", "30", "--max-rate", "3000")
    stop_when(p, lambda: (pg_runs(db).get("events") or {}).get(
        "restore_checkpoint") is not None, what="the restore")
    check_eq(pg_runs(db)["events"]["restore_status"], "running",
             "restore killed in the second target")
    report(r, 0, "restore", "-c", cfg, "--run", run_id, "--execute")
    check_eq(everything(db, lite), original, "every original back")
    runs = all_runs(db, lite)
    for name in ("orders", "events", "audit"):
        row = runs[name]
        check_eq((row["restore_status"], row["restores"], row["restored"],
                  row["restore_restored"], row["restore_conflicts"]),
                 ("done", 1, row["converted"], row["converted"], 0),
                 name + ": restored exactly once")


def test_restore_alone_from_the_database(r):
    recs = Records()
    db, lite, cfg = setup(r, recs, "it_runs_alone", n=300)
    original = everything(db, lite)
    doc, _ = report(r, 1, "fix", "-c", cfg, "--execute", "--allow-lossy")
    run_id = doc["run_id"]
    fixed = everything(db, lite)
    converted = sorted(i for i in fixed["events"]
                       if fixed["events"][i] != original["events"][i])
    done = converted[:10]
    db.execute('UPDATE "%s".order_events SET state = %%s WHERE id = ANY(%%s)'
               % db.schema, "done", done)

    # The database alone: its two targets, the queue as a queue.
    dsn = db.dsn
    out, err = r.expect(0, "restore", "--postgres", dsn, "--run", run_id,
                        "--execute")
    check("also covers audit, in other databases" in err and
          "note: run %s also covers audit" % run_id in out,
          "the target elsewhere named", err, out)
    now = everything(db, lite)
    check_eq(now["orders"], original["orders"], "orders restored")
    for i in converted:
        want = fixed["events"][i] if i in done else original["events"][i]
        check_eq(now["events"][i], want, "message %d" % i)
    check_eq(now["audit"], fixed["audit"], "the SQLite target not touched")
    runs = pg_runs(db)
    check_eq((runs["events"]["restore_restored"], runs["events"]
              ["restore_gone"]), (len(converted) - 10, 10),
             "consumed messages gone, the others restored")

    # What contradicts the run is refused, saying what it recorded.
    _, err = r.expect(2, "restore", "--postgres", dsn, "--table",
                      db.schema + ".order_events", "--column", "payload",
                      "--queue", "--state-column", "status", "--run", run_id)
    check("recorded the queue's state column state" in err, "refused", err)
    _, err = r.expect(2, "restore", "--postgres", dsn, "--table",
                      db.schema + ".orders", "--column", "payload",
                      "--queue", "--run", run_id)
    check("recorded the kind postgres-table" in err, "refused", err)

    # Interrupted, the printed command finishes the SQLite target too.
    p = start(r, "restore", "-c", cfg, "--run", run_id, "--execute",
              "--target", "audit", "--batch", "10", "--max-rate", "300")
    _, out, _ = stop_when(p, lambda: sqlite_runs(lite)["audit"][
        "restore_checkpoint"] is not None, how=signal.SIGINT,
        what="the restore")
    cmd = printed_command(out, "resume with")
    check_eq(cmd[-2:], ["--target", "audit"], "the command keeps --target")
    run_printed(r, cmd, 0)
    check_eq(sqlite_rows(lite, "audit"), original["audit"], "audit restored")
    check_eq(sqlite_runs(lite)["audit"]["restored"],
             sqlite_runs(lite)["audit"]["converted"], "once each")


TESTS = {name[len("test_"):]: fn for name, fn in globals().items()
         if name.startswith("test_") and callable(fn)}

if __name__ == "__main__":
    sys.exit(run_cases(TESTS))
