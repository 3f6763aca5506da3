#!/usr/bin/env python3
"""Safety tests of `rollsafe fix --execute` on PostgreSQL (DESIGN.md,
"Safety promises" 2 to 7), the counterpart of test_fix_safety_sqlite.py:
no lost updates under concurrent writers, and kill -9 at random points
followed by --resume.

Usage: test_fix_safety_postgres.py --rollsafe BIN --work DIR CASE
       test_fix_safety_postgres.py --writer SCHEMA INDEX LOG CTL_DIR SEED
       (the concurrent writer of lost_updates, started by the test itself)

The server is the suite's (ctest fixture pg_server; conninfo in the file
RS_PG_CONNINFO_FILE names). Other tests share its database and the
rollsafe schema at the same time: each case works in a schema of its own
and reads rollsafe.runs and rollsafe.backup only by its own table name and
run ids. Tables are written with psycopg2, records built with Python's
protobuf (rsdata), and every row the fixer wrote is parsed with the
version-1 schema here, independently of rollsafe.
"""

import io
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
from test_fix_safety_sqlite import (CONVERTIBLE, HANG, PLANTED,  # noqa: E402
                                    check_last_writes_kept, mix,
                                    no_sanitizer, record, stop_writers,
                                    v1_order_id, writer_summaries)
from test_scan_postgres import Db, conninfo  # noqa: E402

# A timestamptz as integer microseconds since the epoch, exactly (extract
# gives numeric on PostgreSQL 14 and later).
US = "(extract(epoch FROM %s) * 1000000)::bigint"
# How long a killed fixer's server session may take to end once its
# client is gone. A hang guard, not a measure: the session of a dead
# client ends as soon as it next reads from its socket.
SETTLE = 60


def load(db, recs, kinds):
    """CREATE TABLE orders (bigint key, bytea payload) in @db's schema,
    filled by COPY with the records of @kinds; returns {key: bytes}."""
    orig = {k: recs.make(kind, k) for k, kind in kinds.items()}
    db.execute('CREATE TABLE "%s".orders (id bigint PRIMARY KEY, '
               'payload bytea NOT NULL)' % db.schema)
    # COPY's text format: a bytea in hex, its backslash escaped.
    buf = io.StringIO("".join("%d\t\\\\x%s\n" % (k, v.hex())
                              for k, v in sorted(orig.items())))
    with db.conn.cursor() as c:
        c.copy_expert('COPY "%s".orders (id, payload) FROM STDIN'
                      % db.schema, buf)
    db.execute('ANALYZE "%s".orders' % db.schema)
    check_eq(len(table_rows(db)), len(orig), "rows loaded")
    return orig


def query(db, sql, *args):
    with db.conn.cursor() as c:
        c.execute(sql, args if args else None)
        return c.fetchall()


def have_rollsafe_tables(db):
    return query(db, "SELECT to_regclass('rollsafe.runs') IS NOT NULL AND "
                 "to_regclass('rollsafe.backup') IS NOT NULL")[0][0]


def forget_runs(db, table):
    """Removes the runs of @table (and their backups) that an earlier
    invocation against the same server left; nobody else's."""
    if have_rollsafe_tables(db):
        db.execute("DELETE FROM rollsafe.backup WHERE run_id IN (SELECT "
                   "run_id FROM rollsafe.runs WHERE table_name = %s)", table)
        db.execute("DELETE FROM rollsafe.runs WHERE table_name = %s", table)


def table_rows(db):
    return {k: bytes(v) for k, v in query(
        db, 'SELECT id, payload FROM "%s".orders' % db.schema)}


def backups(db, run_id):
    """{key: (old, new, written_us)} of @run_id, with the backups of its
    parts (fix --jobs: rows RUN_ID.t0.pIofN)."""
    return {int(k): (bytes(o), bytes(n), w) for k, o, n, w in query(
        db, "SELECT key, old_value, new_value, " + US % "written_at" +
        " FROM rollsafe.backup WHERE run_id = %s OR run_id LIKE %s",
        run_id, run_id + ".t%")}


def run_row(db, run_id):
    """Status, converted, impossible, corrupt and lossy of run @run_id's
    row, or of all its parts' rows together (their statuses joined)."""
    rows = query(db, "SELECT string_agg(DISTINCT status, ','), "
                 "sum(converted)::int8, sum(impossible)::int8, "
                 "sum(corrupt)::int8, sum(lossy)::int8, count(*) FROM "
                 "rollsafe.runs WHERE run_id = %s OR run_id LIKE %s",
                 run_id, run_id + ".t%")
    check(rows and rows[0][5] >= 1, "run rows of " + run_id, rows)
    return tuple(rows[0][:5])


def fix_doc(r, codes, db, *extra):
    rc, out, err = r.run("fix", *db.args("orders"), "--execute", "--format",
                         "json", "--samples", "0", *extra, timeout=HANG)
    check(rc in codes, "rollsafe fix %s: exit %d, want one of %r"
          % (" ".join(extra), rc, codes), "stdout: " + out[-3000:],
          "stderr: " + err[-3000:])
    try:
        doc = json.loads(out)
    except ValueError as e:
        raise Failure("fix output is not JSON (%s): %s" % (e, out[:2000]))
    check_eq(doc["exit_code"], rc, "exit_code in the document")
    return doc


def scan_verdicts(r, db):
    doc, _ = r.scan_json(1, *db.args("orders"), timeout=HANG)
    check_eq(doc["complete"], True, "scan complete")
    return doc["totals"]["verdicts"]


# ---- lost_updates: four writers while the fixer runs ----------------------
#
# How writes are ordered, per row (the only order that matters: a row's
# final value depends on the order of the writes to that row alone).
#
# Every UPDATE of a row takes the row's lock and keeps it until its
# transaction ends, and a second UPDATE of the row waits for that end and
# then works on the newest committed version (READ COMMITTED re-checks its
# WHERE on it). So the committed writes to one row form a chain, each one
# made while the previous one was the newest version. A writer stamps its
# write with clock_timestamp() in the UPDATE's RETURNING, that is after it
# took the lock and before its COMMIT: two writers' stamps on one row are
# in chain order, since the later UPDATE can only return after the earlier
# transaction committed. (Transaction ids are not: a transaction may take
# its id before another one that then locks the row first.)
#
# The fixer's compare-and-swap of a row succeeds only when the row still
# holds the bytes X it read, so in the chain it comes right after the
# write of X; every writer's bytes are unique (a token), so X is never the
# newest version again afterwards. Its backup row's written_at is now(),
# the start of the batch's transaction, which began after the page holding
# X was read, after X committed, so after X's stamp; and any write after
# the swap in the chain took the lock after the batch committed, so its
# stamp is after written_at. Hence, for each backup row: the writes stamped
# before written_at are exactly those before the swap, and X is the last of
# them (or the original bytes when there is none).
#
# Independently of clocks, an AFTER UPDATE trigger (the test's, not
# rollsafe's) records every committed version change of the table (old
# bytes, new bytes, application_name): the chain of each row is rebuilt
# from it by following old -> new bytes, every writer write and every swap
# of the fixer in it is checked, and the stamps are checked against it.

def writer_main(argv):
    """One concurrent writer: updates random rows until CTL/stop appears,
    in the new format (envelopes) and the old, or only the old one once
    CTL/old_only appears. Half of its writes go to rows just after the
    newest run's checkpoint, where the fixer reads and swaps, so that its
    compare-and-swaps meet changed rows. Each write is a transaction of
    its own on its own connection, carrying a unique token in order_id,
    stamped as explained above; after its COMMIT succeeds it is
    acknowledged: one line in LOG, flushed."""
    schema, index, log_path, ctl, seed = argv
    index, seed = int(index), int(seed)
    recs = Records()
    rng = random.Random(seed * 1000 + index)
    with open(os.path.join(ctl, "ids.json")) as f:
        ids = json.load(f)
    conn = psycopg2.connect(conninfo(),
                            application_name="safety-writer-%d" % index)
    cur = conn.cursor()
    update = ('UPDATE "%s".orders SET payload = %%s WHERE id = %%s '
              'RETURNING %s' % (schema, US % "pg_catalog.clock_timestamp()"))
    log = open(log_path, "a")
    acked = failed = n = in_a_row = 0
    errors, uncertain = [], []
    old_only = False
    while not os.path.exists(os.path.join(ctl, "stop")):
        if not old_only and os.path.exists(os.path.join(ctl, "old_only")):
            # Every earlier write has committed or failed by now.
            old_only = True
            open(os.path.join(ctl, "old_only-%d" % index), "w").close()
        kind = "v1" if old_only else rng.choice(("v1", "v2_plain",
                                                 "v2_gift"))
        token = "W%d-%d" % (index, n)
        n += 1
        data = record(recs, kind, token)
        key = rng.choice(ids)
        if rng.random() < 0.5:
            try:
                cur.execute("SELECT checkpoint FROM rollsafe.runs WHERE "
                            "table_name = %s ORDER BY started_at DESC "
                            "LIMIT 1", (schema + ".orders",))
                row = cur.fetchone()
            except psycopg2.Error:  # no runs table yet
                row = None
            conn.rollback()
            if row is not None and row[0] is not None:
                lo, hi = 0, len(ids)  # first id above the checkpoint
                while lo < hi:
                    mid = (lo + hi) // 2
                    if ids[mid] <= int(row[0]):
                        lo = mid + 1
                    else:
                        hi = mid
                if lo < len(ids):
                    key = ids[rng.randrange(lo, min(lo + 400, len(ids)))]
        try:
            cur.execute(update, (psycopg2.Binary(data), key))
            got = cur.fetchall()
            if len(got) != 1:
                raise RuntimeError("row %d: %d rows updated"
                                   % (key, len(got)))
            stamp = got[0][0]
        except (psycopg2.Error, RuntimeError) as e:
            # Rolled back: the write never happened.
            failed += 1
            in_a_row += 1
            if len(errors) < 5:
                errors.append(str(e))
            conn.rollback()
            if in_a_row >= 100:  # not a race: a broken writer
                print("writer %d: %d failures in a row: %s"
                      % (index, in_a_row, errors), file=sys.stderr)
                return 1
            continue
        in_a_row = 0
        try:
            conn.commit()
        except psycopg2.Error as e:
            # Committed or not: nobody can tell. The test fails on any.
            uncertain.append("%s (row %d): %s" % (token, key, e))
            if conn.closed:
                conn = psycopg2.connect(
                    conninfo(), application_name="safety-writer-%d" % index)
                cur = conn.cursor()
            continue
        log.write("%d\t%s\t%s\t%d\t%s\n" % (key, token, kind, stamp,
                                            data.hex()))
        log.flush()
        acked += 1
        time.sleep(rng.uniform(0.001, 0.006))
    log.close()
    conn.close()
    print(json.dumps({"acked": acked, "failed": failed, "errors": errors,
                      "uncertain": uncertain}))
    return 0


class Write:
    __slots__ = ("key", "token", "kind", "stamp", "data")

    def __init__(self, line):
        k, self.token, self.kind, stamp, data = line.split("\t")
        self.key, self.stamp = int(k), int(stamp)
        self.data = bytes.fromhex(data)


def read_writes(logs):
    """{key: [Write]} in stamp order, which is commit order per row."""
    writes = {}
    for p in logs:
        with open(p) as f:
            text = f.read()
        check(text == "" or text.endswith("\n"), "log %s ends a line" % p)
        for line in text.splitlines():
            w = Write(line)
            writes.setdefault(w.key, []).append(w)
    for ws in writes.values():
        ws.sort(key=lambda w: w.stamp)
        for a, b in zip(ws, ws[1:]):
            check(a.stamp < b.stamp, "writes to row %d with the same stamp "
                  "(clock stepped?)" % a.key, a.token, b.token)
    return writes


def line_count(path):
    try:
        with open(path, "rb") as f:
            return f.read().count(b"\n")
    except FileNotFoundError:
        return 0


def wait_for(what, cond, procs):
    deadline = time.monotonic() + HANG
    while not cond():
        for i, (p, _, err_path) in enumerate(procs):
            if p.poll() is not None:
                with open(err_path) as f:
                    raise Failure("writer %d exited %d while waiting for %s"
                                  % (i, p.returncode, what), f.read()[-3000:])
        check(time.monotonic() < deadline, "hang guard: waiting for " + what)
        time.sleep(0.05)


def add_audit(db):
    """The version log: an AFTER UPDATE trigger on orders that records
    every committed version change (the insert commits or rolls back with
    the update)."""
    s = db.schema
    db.execute('CREATE TABLE "%s".audit (seq bigserial PRIMARY KEY, '
               'id bigint NOT NULL, old bytea NOT NULL, new bytea NOT NULL, '
               'app text NOT NULL)' % s)
    db.execute('CREATE FUNCTION "%s".audit_row() RETURNS trigger '
               'LANGUAGE plpgsql AS $f$ BEGIN '
               'INSERT INTO "%s".audit (id, old, new, app) VALUES '
               "(OLD.id, OLD.payload, NEW.payload, "
               "pg_catalog.current_setting('application_name')); "
               'RETURN NULL; END $f$' % (s, s))
    db.execute('CREATE TRIGGER audit_row AFTER UPDATE ON "%s".orders '
               'FOR EACH ROW EXECUTE FUNCTION "%s".audit_row()' % (s, s))


def chains(db, orig, final):
    """{key: [(seq, old, new, app)]} of every changed row, in chain order:
    from the original bytes, each change's old bytes are the previous
    one's new bytes, and the last one's new bytes are the row's."""
    by_key = {}
    for seq, k, old, new, app in query(
            db, 'SELECT seq, id, old, new, app FROM "%s".audit' % db.schema):
        by_key.setdefault(k, {})
        old, new = bytes(old), bytes(new)
        check(old not in by_key[k], "row %d: two changes of the same "
              "version (a version overwritten twice)" % k, old.hex())
        by_key[k][old] = (seq, old, new, app)
    out = {}
    for k, by_old in by_key.items():
        chain, cur = [], orig[k]
        while cur in by_old:
            chain.append(by_old.pop(cur))
            cur = chain[-1][2]
        check(not by_old, "row %d: %d changes off its chain of versions"
              % (k, len(by_old)), [v[3] for v in by_old.values()])
        check_eq(cur, final[k], "row %d: the end of its chain" % k)
        out[k] = chain
    return out


def test_lost_updates(r):
    lost_updates(r, 1, "safety_lu")


def test_lost_updates_jobs_2(r):
    """The same with fix --jobs 2: two parts of the table, each on its own
    connection with its own compare-and-swap batches."""
    lost_updates(r, 2, "safety_lu_j2")


def lost_updates(r, jobs, schema):
    n_rows, n_guest, n_corrupt, n_writers = 100000, 40, 15, 4
    recs = Records()
    rng = random.Random(20261127)
    kinds = mix(rng, n_rows, n_guest, n_corrupt,
                {"v1": 2, "v2_plain": 1, "v2_gift": 1})
    db = Db(schema)
    table = schema + ".orders"
    forget_runs(db, table)
    orig = load(db, recs, kinds)
    add_audit(db)
    ctl = os.path.join(r.work, "ctl")
    os.makedirs(ctl)
    # Writers never touch the planted rows, so (c) can count them exactly.
    with open(os.path.join(ctl, "ids.json"), "w") as f:
        json.dump([k for k, kind in sorted(kinds.items())
                   if kind not in PLANTED], f)
    logs = [os.path.join(r.work, "writer-%d.log" % i)
            for i in range(n_writers)]
    procs = []
    t0 = time.monotonic()
    try:
        for i in range(n_writers):
            out_path = os.path.join(r.work, "writer-%d.out" % i)
            err_path = os.path.join(r.work, "writer-%d.err" % i)
            p = subprocess.Popen(
                [sys.executable, os.path.abspath(__file__), "--writer",
                 db.schema, str(i), logs[i], ctl, "7"],
                stdout=open(out_path, "w"), stderr=open(err_path, "w"))
            procs.append((p, out_path, err_path))
        wait_for("the writers' first writes",
                 lambda: all(line_count(p) >= 50 for p in logs), procs)

        # The fix, while writers write both formats.
        doc1 = fix_doc(r, (0, 1), db, "--batch", "200", "--lock-timeout",
                       "2000", "--max-passes", "10", "--jobs", str(jobs))
        t1 = time.monotonic()
        check_eq(doc1["complete"], True, "first fix complete")
        run1 = doc1["run_id"]
        check(run1, "a run id", doc1)
        # Every change the first fix made has committed: those of the
        # final fix come later in the sequence.
        boundary = query(db, 'SELECT coalesce(max(seq), 0) FROM '
                         '"%s".audit' % db.schema)[0][0]

        # Writers write only the old format from now on.
        open(os.path.join(ctl, "old_only"), "w").close()
        wait_for("the writers to switch to the old format",
                 lambda: all(os.path.exists(os.path.join(
                     ctl, "old_only-%d" % i)) for i in range(n_writers)),
                 procs)
        switched = [line_count(p) for p in logs]
        wait_for("old-format writes",
                 lambda: all(line_count(p) >= n + 20
                             for p, n in zip(logs, switched)), procs)
        # The final fix, while they still write (the old format).
        doc2 = fix_doc(r, (1,), db, "--batch", "200", "--lock-timeout",
                       "2000", "--max-passes", "10", "--jobs", str(jobs))
        t2 = time.monotonic()
        check_eq(doc2["complete"], True, "final fix complete")
        run2 = doc2["run_id"]
    finally:
        stop_writers(procs, ctl)
    summaries = writer_summaries(procs)
    check_eq([s["uncertain"] for s in summaries], [[]] * n_writers,
             "writes whose COMMIT failed (committed or not, unknown)")
    writes = read_writes(logs)
    n_acked = sum(len(ws) for ws in writes.values())
    check_eq(n_acked, sum(s["acked"] for s in summaries), "logged writes")
    check(all(s["acked"] > 0 for s in summaries), "every writer wrote",
          summaries)

    final = table_rows(db)
    check_eq(set(final), set(orig), "keys")
    b1, b2 = backups(db, run1), backups(db, run2)

    # (a) No acknowledged write is lost.
    check_last_writes_kept(recs, writes, final, (b1, b2))

    # (b) The version log: every committed change of every row, in chain
    # order. Writers' changes are exactly their acknowledged writes, in
    # stamp order; each of the fixer's is a conversion of the version it
    # replaced (a compare-and-swap: never of older bytes, so never over a
    # write it did not read), of a record the reader cannot read.
    ch = chains(db, orig, final)
    apps = {"rollsafe"} | {"safety-writer-%d" % i for i in range(n_writers)}
    swaps = {1: {}, 2: {}}  # run -> {key: [(old, new)]}
    over_fixer = 0  # writes that replaced a version the fixer wrote
    for k in set(ch) | set(writes):
        chain = ch.get(k, [])
        over_fixer += sum(1 for a, b in zip(chain, chain[1:])
                          if a[3] == "rollsafe" and b[3] != "rollsafe")
        by_writers = [c for c in chain if c[3] != "rollsafe"]
        check(all(c[3] in apps for c in chain), "row %d: changed by an "
              "unexpected session" % k, [c[3] for c in chain])
        check_eq([c[2] for c in by_writers],
                 [w.data for w in writes.get(k, [])],
                 "row %d: the writers' changes in chain order vs the "
                 "acknowledged writes in stamp order" % k)
        token = {orig[k]: ("O-%d" % k, kinds[k])}
        for w in writes.get(k, []):
            token[w.data] = (w.token, w.kind)
        for seq, old, new, app in chain:
            if app != "rollsafe":
                continue
            check(old in token, "row %d: the fixer replaced bytes of its "
                  "own (converted twice?)" % k, old.hex())
            check(token[old][1] in CONVERTIBLE, "row %d: the fixer rewrote "
                  "a %s record" % (k, token[old][1]))
            check_eq(v1_order_id(recs, new), token[old][0],
                     "row %d: version-1 order_id of the fixer's bytes" % k)
            swaps[1 if seq <= boundary else 2].setdefault(k, []).append(
                (old, new))
        if k not in writes:
            # No writer touched it: converted once by the first fix (no
            # conflict was possible), left alone otherwise.
            n_fix = 1 if kinds[k] in CONVERTIBLE else 0
            check_eq(len(chain), n_fix, "changes of untouched %s row %d"
                     % (kinds[k], k))
    for k, kind in kinds.items():
        if k not in ch:
            check(kind not in CONVERTIBLE, "%s row %d never fixed"
                  % (kind, k))
            check_eq(final[k], orig[k], "unchanged row %d" % k)

    # (c) Backups: one row per key a run swapped, holding the run's latest
    # swap of the key; and, by the stamps (see above), its old bytes are
    # the last acknowledged write before the batch (or the original), and
    # the row still holds its new bytes unless a writer wrote after it.
    for run, doc, b, sw in ((run1, doc1, b1, swaps[1]),
                            (run2, doc2, b2, swaps[2])):
        check_eq(set(b), set(sw), "run %s: backed-up keys vs keys the run "
                 "changed" % run)
        for k, (old, new, written) in b.items():
            check_eq((old, new), sw[k][-1],
                     "run %s: backup of row %d vs the run's last change of "
                     "it" % (run, k))
            ws = writes.get(k, [])
            before = [w for w in ws if w.stamp < written]
            after = [w for w in ws if w.stamp > written]
            check(len(before) + len(after) == len(ws),
                  "row %d: a write stamped at the batch's own microsecond"
                  % k)
            prior = before[-1] if before else None
            check_eq(old, prior.data if prior else orig[k],
                     "run %s: backup old bytes of row %d vs the last write "
                     "stamped before the batch" % (run, k))
            if not after:
                check_eq(final[k], new, "run %s: row %d after its swap, no "
                         "later write" % (run, k))
        # Counts: every swap once, the records left alone once however
        # many passes; the run row agrees.
        n_swaps = sum(len(v) for v in sw.values())
        check_eq(doc["rewritten"], n_swaps, "run %s: converted vs the "
                 "fixer's changes in the version log" % run)
        check_eq(doc["lossy"], 0, "run %s: lossy" % run)
        check_eq((doc["impossible"], doc["corrupt"]), (n_guest, n_corrupt),
                 "run %s: impossible, corrupt (%d passes)"
                 % (run, doc["targets"][0]["passes"]))
        check(doc["conflicts"] <= n_acked, "run %s: %d conflicts, more than"
              " the %d writes that could cause one"
              % (run, doc["conflicts"], n_acked))
        check_eq(run_row(db, run), ("done", n_swaps, n_guest, n_corrupt, 0),
                 "run %s: status, converted, impossible, corrupt, lossy of "
                 "its row" % run)

    # (d) The final fix leaves only the planted records, and a scan agrees.
    check_eq(doc2["remaining"], n_guest + n_corrupt, "final fix: remaining")
    gifts = sum(1 for k, kind in kinds.items()
                if (writes[k][-1].kind if k in writes else kind) == "v2_gift")
    verdicts = scan_verdicts(r, db)
    check_eq(verdicts, {"ok": n_rows - gifts - n_guest - n_corrupt,
                        "ignored_fields": gifts, "misread": 0,
                        "unreadable": n_guest, "corrupt": n_corrupt},
             "scan after the final fix")
    t3 = time.monotonic()
    print("lost_updates (--jobs %d): %d rows, %d acknowledged writes to "
          "%d rows "
          "(failed: %d), first fix %.1f s (%d passes, converted %d, "
          "conflicts %d, busy retries %d, impossible %d, exit %d), "
          "final fix %.1f s (converted %d, conflicts %d), %d writes over "
          "the fixer's conversions, total %.1f s"
          % (jobs, n_rows, n_acked, len(writes),
             sum(s["failed"] for s in summaries), t1 - t0,
             doc1["targets"][0]["passes"], doc1["rewritten"],
             doc1["conflicts"], doc1["targets"][0]["busy_retries"],
             doc1["impossible"], doc1["exit_code"], t2 - t1, doc2["rewritten"],
             doc2["conflicts"], over_fixer, t3 - t0))


# ---- kill_9_and_resume ----------------------------------------------------

K9 = "safety_k9"
K9_TABLE = K9 + ".orders"


def leftovers(db, schema):
    """Sessions, other than ours, that hold a lock on @schema.orders, or
    rollsafe sessions whose last statement names it."""
    return query(
        db, "SELECT a.pid, a.application_name, a.state, a.wait_event_type, "
        "a.backend_xid::text, left(a.query, 60) FROM pg_stat_activity a "
        "WHERE a.pid <> pg_backend_pid() AND (a.pid IN (SELECT l.pid FROM "
        "pg_locks l WHERE l.relation = %s::regclass) OR "
        "(a.application_name = 'rollsafe' AND "
        "strpos(a.query, %s) > 0))",
        schema + ".orders", '"%s"."orders"' % schema)


def settle(db, when):
    """Waits until the killed fixer's server session is gone: none holds
    a lock on the table or its rows, or on the run's row. @return how long
    that took."""
    t0 = time.monotonic()
    while True:
        left = leftovers(db, K9)
        if not left:
            break
        check(time.monotonic() - t0 < SETTLE, when + ": sessions still hold "
              "locks on the table %.0f s after the kill" % SETTLE, left)
        time.sleep(0.01)
    # Nothing of ours is locked: every row and the run's row can be
    # locked at once (then let go).
    conn = psycopg2.connect(db.dsn)
    try:
        with conn.cursor() as c:
            try:
                c.execute("SELECT count(*) FROM (SELECT 1 FROM %s FOR SHARE "
                          "NOWAIT) s" % K9_TABLE)
                n = c.fetchone()[0]
                if have_rollsafe_tables(db):
                    c.execute("SELECT count(*) FROM (SELECT 1 FROM "
                              "rollsafe.runs WHERE table_name = %s FOR SHARE "
                              "NOWAIT) s", (K9_TABLE,))
            except psycopg2.errors.LockNotAvailable as e:
                raise Failure(when + ": a row is still locked after the "
                              "sessions ended: %s" % e)
        conn.rollback()
    finally:
        conn.close()
    check(n > 0, when + ": rows to lock")
    return time.monotonic() - t0


class KillState:
    def __init__(self, db, recs, kinds, orig):
        self.db, self.recs, self.kinds, self.orig = db, recs, kinds, orig
        self.run_id = None
        self.runs = None  # (runner, target): also ask `rollsafe runs`
        self.checkpoint = None
        self.backed_up = 0
        self.convertible = {k for k, kind in kinds.items()
                            if kind in CONVERTIBLE}

    def check(self, when, final=False):
        db = self.db
        runs = query(db, "SELECT run_id, status, checkpoint, converted, "
                     "impossible, corrupt, target FROM rollsafe.runs WHERE "
                     "table_name = %s", K9_TABLE) \
            if have_rollsafe_tables(db) else []
        check(len(runs) <= 1, when + ": one run at most", runs)
        if not runs:
            check(self.run_id is None, when + ": run %s vanished"
                  % self.run_id)
            check_eq(table_rows(db), self.orig, when + ": rows before any "
                     "run")
            return
        run_id, status, cp, converted, impossible, corrupt, target = runs[0]
        if self.run_id is not None:
            check_eq(run_id, self.run_id, when + ": run id")
        self.run_id = run_id
        check_eq(status, "done" if final else "running", when + ": status")
        # As rollsafe shows it: a run whose process is gone is interrupted.
        if self.runs is not None:
            from leasecheck import runs_of
            check_eq(runs_of(*self.runs)[run_id]["status"],
                     "done" if final else "interrupted",
                     when + ": status `rollsafe runs` shows")
        # The checkpoint only moves forward.
        if cp is not None:
            cp = int(cp)
        if self.checkpoint is not None:
            check(cp is not None and cp >= self.checkpoint,
                  when + ": checkpoint went back from %d to %r"
                  % (self.checkpoint, cp))
        self.checkpoint = cp
        # No duplicate backup rows, none of another run of this target.
        n, distinct = query(db, "SELECT count(*), count(DISTINCT key) FROM "
                            "rollsafe.backup WHERE run_id = %s", run_id)[0]
        others = query(db, "SELECT count(*) FROM rollsafe.backup WHERE "
                       "target = %s AND run_id <> %s", target, run_id)[0][0]
        check_eq((n, others), (distinct, 0),
                 when + ": backup rows (count, of other runs)")
        b = backups(db, run_id)
        now = table_rows(db)
        check_eq(set(now), set(self.orig), when + ": keys")
        # Every row holds its original bytes, or the converted bytes its
        # backup row records, never anything else.
        for k, data in now.items():
            if k in b:
                old, new, _ = b[k]
                check_eq(old, self.orig[k], when + ": backup old of %d" % k)
                check_eq(data, new, when + ": row %d vs its backup" % k)
                check_eq(v1_order_id(self.recs, new), "O-%d" % k,
                         when + ": version-1 order_id of row %d" % k)
            else:
                check_eq(data, self.orig[k], when + ": row %d untouched" % k)
        # Batches, backups and checkpoint commit together: exactly the
        # convertible keys up to the checkpoint are backed up.
        upto = set() if cp is None else {k for k in self.convertible
                                         if k <= cp}
        check(set(b) == upto, when + ": backed-up keys are the convertible "
              "ones up to checkpoint %r" % cp,
              "missing: %r" % sorted(upto - set(b))[:10],
              "extra: %r" % sorted(set(b) - upto)[:10])
        # Counts of records left alone commit with their batch.
        for kind, got in (("v2_guest", impossible), ("corrupt", corrupt)):
            want = sum(1 for k, kd in self.kinds.items()
                       if kd == kind and cp is not None and k <= cp)
            check_eq(got, want, when + ": run row's %s count" % kind)
        # So do the counts of rows swapped: a resumed run goes on from them.
        check_eq(converted, len(b), when + ": run row's converted count")
        self.backed_up = len(b)


def fix_argv(r, db, run_id):
    argv = [r.rollsafe, "fix", *db.args("orders"), "--execute", "--batch",
            "50", "--format", "json", "--samples", "0"]
    return argv + (["--resume", run_id] if run_id else [])


def checkpoint_of(db, run_id):
    rows = query(db, "SELECT checkpoint FROM rollsafe.runs WHERE "
                 "run_id = %s", run_id)
    return rows[0][0] if rows else None


def poll_checkpoint(p, db, run_id):
    """Waits for the run's checkpoint to change (a batch committed);
    False when the process ended first. Polls without a pause, so that
    the change is seen as soon as the commit is visible."""
    start = checkpoint_of(db, run_id)
    deadline = time.monotonic() + HANG
    while p.poll() is None:
        check(time.monotonic() < deadline, "hang guard: checkpoint")
        if checkpoint_of(db, run_id) != start:
            return True
    return False


def max_checkpoint(db, table):
    if not have_rollsafe_tables(db):
        return None
    return query(db, "SELECT max(checkpoint::bigint) FROM rollsafe.runs "
                 "WHERE table_name = %s", table)[0][0]


def wait_random(p, db, delay, cap):
    """Waits @delay seconds, or until the process ends or the checkpoint
    of the table's run reaches @cap; True in the last case."""
    end = time.monotonic() + delay
    while p.poll() is None and time.monotonic() < end:
        cp = max_checkpoint(db, K9_TABLE)
        if cp is not None and cp >= cap:
            return True
        time.sleep(0.002)
    return False


def lock_ahead(db, st, blk):
    """Takes, in @blk's open transaction, the lock of a row the fixer has
    yet to swap, a few pages ahead of the checkpoint: its batch will wait
    for it inside its transaction. @return the key."""
    at = max_checkpoint(db, K9_TABLE) or 0
    keys = sorted(k for k in st.convertible if k > at + 150)
    if not keys:
        keys = sorted(k for k in st.convertible if k > at)
    for k in keys[:50]:
        try:
            with blk.cursor() as c:
                c.execute("SELECT payload FROM %s WHERE id = %%s FOR UPDATE "
                          "NOWAIT" % K9_TABLE, (k,))
                held = bytes(c.fetchone()[0])
        except psycopg2.errors.LockNotAvailable:  # the fixer is on it
            blk.rollback()
            continue
        if held == st.orig[k]:
            return k
        blk.rollback()  # fixed already
    raise Failure("no row left for the fixer to wait on", at)


def waiting_on(db, blk):
    """Sessions waiting for @blk's locks."""
    return query(db, "SELECT pid, application_name FROM pg_stat_activity "
                 "WHERE %s = ANY(pg_blocking_pids(pid))",
                 blk.get_backend_pid())


def calibrate(r, recs, kinds, n_convertible):
    """A whole fix of a copy, in a schema of its own: when the first batch
    commits, and how fast the run goes, so that the random kills spread
    over the run (the kill loop never depends on it being right: see the
    cap there). @return (first commit, whole run) in seconds."""
    cal = Db(K9 + "_cal")
    table = cal.schema + ".orders"
    forget_runs(cal, table)
    load(cal, recs, kinds)
    c0 = time.monotonic()
    p = subprocess.Popen(fix_argv(r, cal, None), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    t_first = None
    while p.poll() is None and t_first is None:
        if max_checkpoint(cal, table) is not None:
            t_first = time.monotonic() - c0
        time.sleep(0.001)
    out, err = p.communicate(timeout=HANG)
    t_full = time.monotonic() - c0
    no_sanitizer(err.decode("utf-8", "replace"), "the calibration fix")
    check_eq(p.returncode, 1, "calibration fix exit (stderr %s)"
             % err.decode("utf-8", "replace")[-2000:])
    check_eq(json.loads(out)["rewritten"], n_convertible,
             "calibration fix converted")
    forget_runs(cal, table)
    cal.execute('DROP SCHEMA "%s" CASCADE' % cal.schema)
    cal.conn.close()
    if t_first is None:
        t_first = t_full / 20
    return t_first, t_full


def test_kill_9_and_resume(r):
    n_rows, n_guest, n_corrupt, n_random = 20000, 30, 10, 20
    recs = Records()
    rng = random.Random(19)
    kinds = mix(rng, n_rows, n_guest, n_corrupt,
                {"v1": 6, "v2_plain": 7, "v2_gift": 7})
    db = Db(K9)
    forget_runs(db, K9_TABLE)
    orig = load(db, recs, kinds)
    st = KillState(db, recs, kinds, orig)
    st.runs = (r, db.args("orders"))
    t_start = time.monotonic()
    t_first, t_full = calibrate(r, recs, kinds, len(st.convertible))
    # Rows fixed per second after the first commit (verification
    # included: a little low).
    rate = len(st.convertible) / max(t_full - t_first, 0.01)

    # Random kills; once each, right after a commit, a moment after one
    # (likely mid-batch), and inside a batch's transaction (its
    # compare-and-swap waits for a row this test holds locked, with the
    # rows before it in the batch already swapped); first, one that lands
    # before the run row exists.
    sched = ["random"] * n_random
    for how in ("after_commit", "mid_batch", "in_transaction"):
        sched.insert(rng.randint(3, len(sched)), how)
    sched.insert(0, "early")
    log = []
    max_settle = 0.0
    for i, how in enumerate(sched):
        capped = False
        run_id = st.run_id
        blk, locked = None, None
        if how == "in_transaction":
            blk = psycopg2.connect(db.dsn)
            locked = lock_ahead(db, st, blk)
        p = subprocess.Popen(fix_argv(r, db, run_id),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        started = time.monotonic()
        if how == "early":
            time.sleep(rng.uniform(0, 0.002))
        elif how == "in_transaction":
            deadline = time.monotonic() + HANG
            while not waiting_on(db, blk):
                check(p.poll() is None, "kill %d (%s): the fix ended before "
                      "it reached row %d" % (i, how, locked))
                check(time.monotonic() < deadline, "hang guard: row lock")
        elif how == "random" or run_id is None:
            # A random moment within a share of what is left at the
            # calibrated rate; and, whatever the timing, before the
            # checkpoint passes that share of the keys left (so that the
            # run cannot end before every kill has landed).
            kills_left = len(sched) - i
            left = len(st.convertible) - st.backed_up
            delay = rng.uniform(0, t_first + left / (rate * (kills_left + 1)))
            at = st.checkpoint or 0
            cap = at + (n_rows - at) // (kills_left + 1)
            capped = wait_random(p, db, delay, cap)
        else:
            check(poll_checkpoint(p, db, run_id),
                  "kill %d (%s): the fix ended before a commit" % (i, how))
            if how == "mid_batch":
                time.sleep(rng.uniform(0.0005, 0.005))
        alive = time.monotonic() - started
        ended = p.poll() is not None
        if not ended:
            p.send_signal(signal.SIGKILL)
        out, err = p.communicate(timeout=HANG)
        err = err.decode("utf-8", "replace")
        no_sanitizer(err, "fix before kill %d" % i)
        check(not ended, "kill %d (%s): the fix ended on its own after "
              "%.3f s (exit %d) before it could be killed"
              % (i, how, alive, p.returncode), err[-2000:])
        check_eq(p.returncode, -signal.SIGKILL, "kill %d: status" % i)
        note = ""
        if blk is not None:
            # Its server session waits on our lock, in its transaction:
            # it cannot notice its client is gone before the wait ends.
            waiting = waiting_on(db, blk)
            note = " (%d session%s waiting on row %d after the kill)" % (
                len(waiting), "" if len(waiting) == 1 else "s", locked)
            blk.rollback()
            blk.close()
        when = "after kill %d (%s, %.3f s)" % (i, how, alive)
        took = settle(db, when)
        max_settle = max(max_settle, took)
        before = st.backed_up
        st.check(when)
        if locked is not None:
            check(st.checkpoint is None or st.checkpoint < locked,
                  when + ": checkpoint %r passed the row the batch waited "
                  "for, %d" % (st.checkpoint, locked))
        if capped:
            how += " (capped)"
        log.append("%s %.3fs +%d%s%s" % (how, alive, st.backed_up - before,
                                         "" if st.run_id else " (no run)",
                                         note))

    # Resume until done: the run completes and leaves only what was
    # planted.
    doc = fix_doc(r, (1,), db, "--batch", "50",
                  *(["--resume", st.run_id] if st.run_id else []))
    check_eq(doc["complete"], True, "the last resume completes")
    if st.run_id is not None:
        check_eq(doc["run_id"], st.run_id, "resumed run id")
    st.check("after the run completed", final=True)
    check_eq(st.backed_up, len(st.convertible), "rows fixed in all")
    t = doc["targets"][0]
    check_eq(t["rewritten"], len(st.convertible),
             "converted, over the whole run")
    check_eq((t["impossible"], t["corrupt"], t["remaining"], t["conflicts"]),
             (n_guest, n_corrupt, n_guest + n_corrupt, 0),
             "impossible, corrupt, remaining, conflicts of the whole run")
    gifts = sum(1 for kind in kinds.values() if kind == "v2_gift")
    verdicts = scan_verdicts(r, db)
    check_eq(verdicts, {"ok": n_rows - gifts - n_guest - n_corrupt,
                        "ignored_fields": gifts, "misread": 0,
                        "unreadable": n_guest, "corrupt": n_corrupt},
             "scan after the run")
    # Running it again changes nothing.
    before = table_rows(db)
    doc = fix_doc(r, (1,), db)
    check_eq(doc["rewritten"], 0, "a new fix converts")
    check_eq(table_rows(db), before, "rows after a new fix")
    print("kill_9_and_resume: %d rows (%d to fix), calibration %.2f s "
          "(first commit %.2f s), %d kills: %s; sessions gone within "
          "%.3f s of a kill; total %.1f s"
          % (n_rows, len(st.convertible), t_full, t_first, len(sched),
             ", ".join(log), max_settle, time.monotonic() - t_start))


def test_leases_after_kill_and_ctrl_c(r):
    """As test_fix_safety_sqlite's case of the same name, with the lease an
    advisory lock: one process works on a run at a time, a run whose
    process was killed or stopped by a second Ctrl-C shows `interrupted`
    once its server session has ended, and the next --resume finishes
    it."""
    from leasecheck import check_converted_once, lease_scenario
    recs = Records()
    rng = random.Random(15)
    kinds = mix(rng, 3000, 10, 5, {"v1": 1, "v2_plain": 1, "v2_gift": 1})
    db = Db("it_leases")
    forget_runs(db, "it_leases.orders")
    orig = load(db, recs, kinds)
    convertible = {k for k, kind in kinds.items() if kind in CONVERTIBLE}
    run_id = lease_scenario(r, db.args("orders"), len(convertible), False)
    check_converted_once(recs, orig, table_rows(db), backups(db, run_id),
                         convertible, v1_order_id)


TESTS = {name[len("test_"):]: fn for name, fn in globals().items()
         if name.startswith("test_") and callable(fn)}

if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--writer":
        sys.exit(writer_main(sys.argv[2:]))
    sys.exit(run_cases(TESTS))
