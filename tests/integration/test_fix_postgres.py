#!/usr/bin/env python3
"""Integration tests of `rollsafe fix` and `rollsafe restore` against the
real PostgreSQL server of the test suite (ctest fixture pg_server).

Usage: test_fix_postgres.py --rollsafe BIN --work DIR CASE
"""

import json
import os
import sys

import psycopg2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rsdata import (Failure, Records, check, check_eq,  # noqa: E402
                    check_restore_predicted, restore_json, restore_why,
                    run_cases)
from test_fix_sqlite import COUNTS, PLAN  # noqa: E402
from test_scan_postgres import Db, conninfo  # noqa: E402


def build(recs, schema):
    db = Db(schema)
    kinds, rows, n = {}, [], 1
    order = []
    for kind, c in COUNTS.items():
        order += [kind] * c
    order = [order[(i * 37) % len(order)] for i in range(len(order))]
    for kind in order:
        rows.append((n, recs.make(kind, n)))
        kinds[n] = kind
        n += 1
    db.table("orders", rows)
    return db, kinds


def table_rows(db):
    with db.conn.cursor() as c:
        c.execute('SELECT id, payload FROM "%s".orders' % db.schema)
        return {k: bytes(v) for k, v in c.fetchall()}


def want(kinds, outcome):
    return sum(1 for k in kinds.values() if PLAN[k] == outcome)


def test_dry_run_execute_restore(r):
    recs = Records()
    db, kinds = build(recs, "it_fix")
    original = table_rows(db)
    out, _ = r.expect(1, "fix", *db.args("orders"), "--format", "json")
    doc = json.loads(out)
    check_eq(doc["targets"][0]["outcomes"]["converted"],
             want(kinds, "converted"), "would convert")
    check_eq(table_rows(db), original, "rows after a dry run")
    # Other tests share the database: the dry run must have left no run of
    # this table behind (it writes nothing at all).
    with db.conn.cursor() as c:
        c.execute("SELECT to_regclass('rollsafe.runs') IS NOT NULL")
        if c.fetchone()[0]:
            c.execute("SELECT count(*) FROM rollsafe.runs WHERE table_name "
                      "LIKE 'it_fix.%'")
            check_eq(c.fetchone()[0], 0, "runs after a dry run")

    out, _ = r.expect(1, "fix", *db.args("orders"), "--execute", "--batch",
                      "9", "--format", "json")
    doc = json.loads(out)
    run_id = doc["run_id"]
    check_eq(doc["rewritten"], want(kinds, "converted"), "converted")
    check_eq(doc["remaining"], want(kinds, "impossible") +
             want(kinds, "corrupt") + want(kinds, "lossy"), "remaining")
    now = table_rows(db)
    changed = {k for k in original if original[k] != now[k]}
    with db.conn.cursor() as c:
        c.execute("SELECT key, old_value, new_value FROM rollsafe.backup "
                  "WHERE run_id = %s", (run_id,))
        backups = {int(k): (bytes(o), bytes(n)) for k, o, n in c.fetchall()}
        c.execute("SELECT status, converted FROM rollsafe.runs WHERE "
                  "run_id = %s", (run_id,))
        check_eq(c.fetchone(), ("done", want(kinds, "converted")), "run row")
    check_eq(set(backups), changed, "a backup per rewritten row")
    for k in changed:
        check_eq(backups[k], (original[k], now[k]), "backup of %d" % k)
        m = recs.v1m.Order()
        m.ParseFromString(now[k])
        check(m.IsInitialized(), "version-1 parse of %d" % k)
    out, _ = r.expect(1, "fix", *db.args("orders"), "--execute", "--format",
                      "json")
    check_eq(json.loads(out)["rewritten"], 0, "a second run converts")
    check_eq(table_rows(db), now, "rows after a second run")

    out, _ = r.expect(0, "restore", *db.args("orders"), "--run", run_id,
                      "--execute", "--format", "json")
    check_eq(json.loads(out)["restored"], len(changed), "restored")
    check_eq(table_rows(db), original, "byte-identical after restore")
    out, _ = r.expect(0, "restore", *db.args("orders"), "--run", run_id,
                      "--execute", "--format", "json")
    check_eq(json.loads(out)["restored"], 0, "restoring twice")
    out, _ = r.expect(0, "runs", *db.args("orders"), "--format", "json")
    listed = json.loads(out)["targets"]["%s.orders" % db.schema]
    check_eq([x["run_id"] for x in listed if x["run_id"] == run_id],
             [run_id], "runs lists the run")


def test_restore_dry_run_reads_the_rows(r):
    """A restore's dry run reads each row: rows a writer changed or deleted
    since the fix are predicted conflicts, the execute matches it, and after
    a restore the dry run predicts nothing left (rows already restored)."""
    recs = Records()
    db, kinds = build(recs, "it_restore_dry")
    original = table_rows(db)
    out, _ = r.expect(1, "fix", *db.args("orders"), "--execute",
                      "--allow-lossy", "--batch", "7", "--format", "json")
    run_id = json.loads(out)["run_id"]
    fixed = sorted(k for k, kind in kinds.items()
                   if PLAN[kind] in ("converted", "lossy"))
    db.execute('UPDATE "it_restore_dry".orders SET payload = %s WHERE id = %s',
               psycopg2.Binary(recs.v1(999)), fixed[0])
    db.execute('DELETE FROM "it_restore_dry".orders WHERE id = %s', fixed[1])
    fixed_rows = table_rows(db)
    args = db.args("orders") + ["--batch", "7"]
    dry = restore_json(r, 0, args, run_id, False)
    check_eq(table_rows(db), fixed_rows, "rows after a dry restore")
    check_eq((dry["restored"], dry["conflicts"]), (len(fixed) - 2, 2),
             "dry run: would restore, conflicts")
    check_eq(sorted(restore_why(dry, "conflict")),
             sorted([str(fixed[0]), str(fixed[1])]),
             "the changed and the deleted row are the conflicts")
    check_restore_predicted(r, 0, args, run_id)
    now = table_rows(db)
    check_eq(now[fixed[0]], recs.v1(999), "the writer's bytes kept")
    for k in fixed[2:]:
        check_eq(now[k], original[k], "row %d restored" % k)
    dry, done = check_restore_predicted(r, 0, args, run_id)
    check_eq((dry["restored"], done["conflicts"]), (0, len(fixed)),
             "nothing left to restore after a restore")
    why = restore_why(dry, "conflict")
    for k in fixed[2:]:
        check(why[str(k)].startswith("already restored"),
              "row %d named as already restored" % k, why[str(k)])
    check(not why[str(fixed[0])].startswith("already restored"),
          "the writer's row is not", why[str(fixed[0])])


def hold_row_lock(db, kinds):
    """A production transaction that locks the first row a fix converts:
    (its connection, the row's key, the row's bytes)."""
    holder = psycopg2.connect(db.dsn)
    cur = holder.cursor()
    key = min(k for k, kind in kinds.items() if PLAN[kind] == "converted")
    cur.execute('SELECT payload FROM "%s".orders WHERE id = %%s FOR UPDATE'
                % db.schema, (key,))
    return holder, key, bytes(cur.fetchone()[0])


def test_gives_way_to_a_lock(r):
    # A production transaction holds a row lock: the fixer's batch times out
    # (lock_timeout), is retried with backoff, and succeeds once the lock
    # goes; nothing is overwritten meanwhile.
    import subprocess
    import time
    recs = Records()
    db, kinds = build(recs, "it_lockfix")
    holder, _, _ = hold_row_lock(db, kinds)
    p = subprocess.Popen([r.rollsafe, "fix", *db.args("orders"), "--execute",
                          "--format", "json"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # Once the fixer waits on the lock, hold it past one statement's
    # lock_timeout (1 s), so that the batch gives way at least once; then
    # let it go. The default --lock-timeout (a minute) outlasts both.
    waiting_on_lock(db, p)
    time.sleep(1.5)
    holder.rollback()
    holder.close()
    out, err = p.communicate(timeout=300)
    check_eq(p.returncode, 1, "exit (stderr %s)" % err.decode())
    doc = json.loads(out)
    check_eq(doc["rewritten"], want(kinds, "converted"), "converted")
    check(doc["targets"][0]["busy_retries"] >= 1, "gave way at least once",
          doc["targets"][0]["busy_retries"])



def waiting_on_lock(db, p):
    """Returns once a session of the application rollsafe waits on a lock
    (pg_stat_activity); fails when process @p ends first."""
    import time
    # Autocommit, and no `with connection` (which opens a transaction even
    # then): each query sees the activity anew.
    watch = psycopg2.connect(db.dsn)
    watch.autocommit = True
    try:
        with watch.cursor() as c:
            while True:
                if p.poll() is not None:
                    raise Failure("the fix ended (exit %d) before it met the "
                                  "lock: %s" % (p.returncode,
                                                p.stderr.read().decode()))
                c.execute("SELECT count(*) FROM pg_stat_activity WHERE "
                          "application_name = 'rollsafe' AND "
                          "wait_event_type = 'Lock'")
                if c.fetchone()[0] > 0:
                    return
                time.sleep(0.01)
    finally:
        watch.close()


def test_lock_never_obtained_is_incomplete(r):
    """A row lock held for longer than --lock-timeout: the fix gives way
    again and again, then gives up with exit 4 (incomplete, not an I/O
    error), saying so, and nothing of the locked batch is written."""
    import subprocess
    recs = Records()
    db, kinds = build(recs, "it_lockgiveup")
    holder, target_key, before = hold_row_lock(db, kinds)
    p = subprocess.Popen([r.rollsafe, "fix", *db.args("orders"), "--execute",
                          "--lock-timeout", "2500ms", "--format", "json"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = p.communicate(timeout=300)
    holder.rollback()
    holder.close()
    err = err.decode()
    check_eq(p.returncode, 4, "exit (stderr %s)" % err)
    check("lock timeout" in err and "gave way" in err,
          "the error says it gave up waiting for a lock", err)
    doc = json.loads(out)
    check(doc["targets"][0]["busy_retries"] >= 1, "gave way more than once",
          doc["targets"][0]["busy_retries"])
    with db.conn.cursor() as c:
        c.execute("SELECT payload FROM it_lockgiveup.orders WHERE id = %s",
                  (target_key,))
        check_eq(bytes(c.fetchone()[0]), before, "the locked row")


def test_bad_where_creates_nothing(r):
    """A fix whose --where is not SQL, or names no column, fails before it
    creates the schema rollsafe, and its error names the target once. In a
    database of its own, where no other test made that schema."""
    recs = Records()
    admin = psycopg2.connect(conninfo())
    admin.autocommit = True
    with admin.cursor() as c:
        c.execute("DROP DATABASE IF EXISTS rs_bad_where")
        c.execute("CREATE DATABASE rs_bad_where")
    admin.close()
    dsn = conninfo().replace("dbname=rollsafe_test", "dbname=rs_bad_where")
    db = psycopg2.connect(dsn)
    db.autocommit = True
    with db.cursor() as c:
        c.execute("CREATE TABLE orders (id bigint PRIMARY KEY, payload bytea)")
        c.execute("INSERT INTO orders VALUES (1, %s)",
                  (psycopg2.Binary(recs.make("v2_plain", 1)),))
    args = ["--postgres", dsn, "--table", "orders", "--key", "id",
            "--column", "payload", "--type", "shop.Order", "--execute"]
    for where in ("bad sql ((", "nosuch > 1"):
        _, err = r.expect(2, "fix", *args, "--where", where)
        check("--where" in err and "SQLSTATE 42" in err,
              "the error points at --where", err)
        check_eq(err.count("target 'orders'"), 1, "target named once")
        with db.cursor() as c:
            c.execute("SELECT to_regnamespace('rollsafe') IS NULL")
            check(c.fetchone()[0], "no schema rollsafe after a bad --where")
    # A good --where still fixes.
    r.expect(0, "fix", *args, "--where", "id > 0")
    with db.cursor() as c:
        c.execute("SELECT to_regclass('rollsafe.runs') IS NOT NULL")
        check(c.fetchone()[0], "rollsafe.runs after a fix")
    db.close()


def test_key_swapped_again_keeps_the_latest_bytes(r):
    """A run that swaps a key a second time (a writer put unreadable bytes
    back into a row the run had fixed) replaces that key's backup row: the
    batch's plain INSERT of backup rows meets the row of the first swap
    and the batch goes again with ON CONFLICT. The backup keeps the bytes
    the latest swap replaced, and restore puts them back."""
    recs = Records()
    db = Db("it_swap_again")
    rows = {k: recs.make("v2_plain", k) for k in (1, 2, 3)}
    db.table("orders", sorted(rows.items()))
    c_bytes = recs.make("v2_plain", 99)
    e_bytes = recs.make("v2_plain", 98)
    # When row 2 is swapped, a writer puts new-format bytes back into row
    # 1 (swapped by the batch before) and changes row 3, whose page was
    # read before this batch: row 3 conflicts, and the second pass swaps
    # rows 1 and 3.
    db.execute('CREATE FUNCTION "it_swap_again".race() RETURNS trigger '
               'LANGUAGE plpgsql AS $$ BEGIN '
               'UPDATE "it_swap_again".orders SET payload = %s WHERE id = 1; '
               'UPDATE "it_swap_again".orders SET payload = %s WHERE id = 3; '
               'RETURN NULL; END $$', psycopg2.Binary(c_bytes),
               psycopg2.Binary(e_bytes))
    db.execute('CREATE TRIGGER race AFTER UPDATE OF payload ON '
               '"it_swap_again".orders FOR EACH ROW WHEN (NEW.id = 2) '
               'EXECUTE FUNCTION "it_swap_again".race()')
    out, _ = r.expect(0, "fix", *db.args("orders"), "--execute", "--batch",
                      "1", "--format", "json")
    doc = json.loads(out)
    t = doc["targets"][0]
    check_eq((t["complete"], t["passes"], t["conflicts"], t["rewritten"],
              t["remaining"]), (True, 2, 1, 4, 0),
             "complete in two passes, row 1 swapped twice")
    now = table_rows(db)
    with db.conn.cursor() as c:
        c.execute("SELECT key, old_value, new_value, restored FROM "
                  "rollsafe.backup WHERE run_id = %s ORDER BY key",
                  (doc["run_id"],))
        backups = [(k, bytes(o), bytes(n), x) for k, o, n, x in c.fetchall()]
    check_eq(backups, [("1", c_bytes, now[1], False),
                       ("2", rows[2], now[2], False),
                       ("3", e_bytes, now[3], False)],
             "each key's backup holds the bytes its latest swap replaced")
    db.execute('DROP TRIGGER race ON "it_swap_again".orders')
    out, _ = r.expect(0, "restore", *db.args("orders"), "--run",
                      doc["run_id"], "--execute", "--format", "json")
    check_eq(json.loads(out)["restored"], 3, "restored")
    check_eq(table_rows(db), {1: c_bytes, 2: rows[2], 3: e_bytes},
             "restore puts back what the latest swaps replaced")


def table_scans(db, table):
    """The scans of @p table so far (sequential and by index: a page is one
    either way), once the statistics of the sessions that ended are in:
    read until they stop growing."""
    import time
    last, same = -1, 0
    for _ in range(100):
        with db.conn.cursor() as c:
            c.execute("SELECT pg_stat_clear_snapshot()")
            c.execute("SELECT coalesce(seq_scan, 0) + coalesce(idx_scan, 0) "
                      "FROM pg_stat_user_tables WHERE schemaname = %s AND "
                      "relname = %s", (db.schema, table))
            now = c.fetchone()[0]
        same = same + 1 if now == last else 0
        if same >= 5:
            return now
        last = now
        time.sleep(0.1)
    return last


def test_verification_pages_larger_than_batches(r):
    """The verification pass reads pages of more rows than --batch (it
    only reads), as many as hold about 4 MiB of values at the rows' mean
    size: fewer statements, and the same counts as a scan. Rows of about
    8 KB here: pages of about 500 rows, not 10,000."""
    import random
    recs = Records()
    db = Db("it_verify_pages")
    rnd = random.Random(7)
    kinds, rows = {}, []
    for k in range(1, 2001):
        kind = ("v2_guest" if k % 97 == 0 else "corrupt" if k % 89 == 0
                else "v1")
        kinds[k] = kind
        # 8,000 bytes that do not compress: the values stay that large.
        pad = "O-%d-%s" % (k, "%016x" % rnd.getrandbits(64) * 500)
        if kind == "v1":
            m = recs.v1m.Order()
            m.ParseFromString(recs.make(kind, k))
            m.order_id = pad
            rows.append((k, m.SerializeToString()))
        elif kind == "v2_guest":
            rows.append((k, recs.make(kind, k, order_id=pad)))
        else:
            rows.append((k, recs.make(kind, k)))
    db.table("orders", rows)
    before = table_scans(db, "orders")
    out, _ = r.expect(1, "fix", *db.args("orders"), "--execute", "--batch",
                      "10", "--format", "json")
    scans = table_scans(db, "orders") - before
    t = json.loads(out)["targets"][0]
    want_left = sum(1 for k in kinds.values() if k != "v1")
    check_eq((t["complete"], t["rows_read"], t["rewritten"], t["remaining"]),
             (True, 2000, 0, want_left),
             "every row read, nothing to rewrite, the rest remaining")
    # The execute pass: 200 pages of 10 rows and the empty one after them;
    # the verification pass: a few pages of about 500 rows (201 more in
    # pages of --batch).
    check(201 <= scans <= 201 + 20,
          "scans of the table by a fix with --batch 10 over 2,000 rows of "
          "8 KB", scans)
    scan, _ = r.expect(1, "scan", *db.args("orders"), "--format", "json")
    verdicts = json.loads(scan)["totals"]["verdicts"]
    check_eq(t["remaining"], verdicts["unreadable"] + verdicts["corrupt"] +
             verdicts["misread"], "remaining as a scan counts it")


TESTS = {name[len("test_"):]: fn for name, fn in globals().items()
         if name.startswith("test_") and callable(fn)}

if __name__ == "__main__":
    sys.exit(run_cases(TESTS))
