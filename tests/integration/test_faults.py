#!/usr/bin/env python3
"""Fault tests of `rollsafe fix --execute` (issue 14): the database server
restarts in the middle of a fix, and the disk fills up in the middle of a
fix (SQLite and PostgreSQL). The other faults (four writers, kill -9 at
random points) are in test_fix_safety_*.py.

Usage: test_faults.py --rollsafe BIN --work DIR CASE
       test_faults.py --writer CONNINFO TABLE INDEX N_WRITERS LOG CTL SEED
       (a concurrent writer of pg_restart_mid_fix, started by the test)

Each PostgreSQL case runs a server of its own (tests/pg/pg_server.sh in a
directory under /tmp named after the work directory), never the suite's
shared one: it restarts it, or fills its disk. The disk-full cases mount a
small tmpfs, which needs root (CI runs as root); without root they fail,
never skip. SQLite's PRAGMA max_page_count is not an alternative: it binds
only the connection that sets it, never rollsafe's.

What is checked is what the operator is promised: the fix stops with exit
4 and says why and how to resume (or retries and completes), no row is
half-written (each holds its original bytes or the converted bytes its
backup row records), the run's row counts exactly what was committed, no
concurrent write is lost, `fix --resume RUN` completes, every row then
reads as version 1 (parsed here with Python's protobuf, independently of
rollsafe), and `restore --run RUN` puts back exactly the originals of the
rows nobody changed since. Nothing here asserts how long anything takes.
"""

import hashlib
import io
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

import psycopg2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rsdata import Failure, Records, check, check_eq, run_cases  # noqa: E402
from test_fix_safety_sqlite import (CONVERTIBLE, HANG, mix,  # noqa: E402
                                    no_sanitizer, record, v1_order_id)

PG_BIN = os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")
PG_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                         "..", "pg", "pg_server.sh")
TABLE = "faults.orders"


# ---- a PostgreSQL server of the case's own ----------------------------------

def as_server(argv):
    """@argv as the user the server runs as (postgres, when we are root:
    PostgreSQL refuses to run as root)."""
    if os.getuid() == 0:
        return ["runuser", "-u", "postgres", "--"] + argv
    return argv


class PgServer:
    def __init__(self, r):
        h = hashlib.md5(os.path.abspath(r.work).encode()).hexdigest()[:12]
        self.dir = "/tmp/rollsafe-faults-" + h
        self.data = os.path.join(self.dir, "data")
        env = dict(os.environ, PG_BIN=PG_BIN)
        p = subprocess.run(["sh", PG_SCRIPT, "start", self.dir],
                           capture_output=True, text=True, env=env)
        check_eq(p.returncode, 0, "pg_server.sh start (stderr %s)" % p.stderr)
        with open(os.path.join(self.dir, "conninfo")) as f:
            self.dsn = f.read().strip()

    def restart(self):
        p = subprocess.run(as_server([
            os.path.join(PG_BIN, "pg_ctl"), "restart", "-D", self.data, "-m",
            "fast", "-w", "-t", "60", "-l",
            os.path.join(self.dir, "server.log")]),
            capture_output=True, text=True)
        check_eq(p.returncode, 0, "pg_ctl restart (stderr %s)" % p.stderr)

    def stop_server(self):
        p = subprocess.run(as_server([
            os.path.join(PG_BIN, "pg_ctl"), "stop", "-D", self.data, "-m",
            "fast", "-w", "-t", "60"]), capture_output=True, text=True)
        check_eq(p.returncode, 0, "pg_ctl stop (stderr %s)" % p.stderr)

    def start_server(self):
        p = subprocess.run(as_server([
            os.path.join(PG_BIN, "pg_ctl"), "start", "-D", self.data, "-w",
            "-t", "60", "-l", os.path.join(self.dir, "server.log")]),
            capture_output=True, text=True)
        check_eq(p.returncode, 0, "pg_ctl start (stderr %s)" % p.stderr)

    def stop(self):
        subprocess.run(["sh", PG_SCRIPT, "stop", self.dir],
                       capture_output=True,
                       env=dict(os.environ, PG_BIN=PG_BIN))


class Db:
    """The schema `faults` of a server: its table orders (bigint key, bytea
    payload)."""

    def __init__(self, dsn, fresh=True):
        self.dsn = dsn
        self.conn = psycopg2.connect(dsn)
        self.conn.autocommit = True
        if fresh:
            self.execute("DROP SCHEMA IF EXISTS faults CASCADE")
            self.execute("CREATE SCHEMA faults")

    def execute(self, sql, *args):
        with self.conn.cursor() as c:
            c.execute(sql, args if args else None)

    def query(self, sql, *args):
        with self.conn.cursor() as c:
            c.execute(sql, args if args else None)
            return c.fetchall()

    def load(self, orig):
        self.execute("CREATE TABLE faults.orders (id bigint PRIMARY KEY, "
                     "payload bytea NOT NULL)")
        buf = io.StringIO("".join("%d\t\\\\x%s\n" % (k, v.hex())
                                  for k, v in sorted(orig.items())))
        with self.conn.cursor() as c:
            c.copy_expert("COPY faults.orders (id, payload) FROM STDIN", buf)
        self.execute("ANALYZE faults.orders")

    def rows(self):
        return {k: bytes(v) for k, v in
                self.query("SELECT id, payload FROM faults.orders")}

    def backups(self, run_id):
        """{key: (old, new)} of @run_id."""
        return {int(k): (bytes(o), bytes(n)) for k, o, n in self.query(
            "SELECT key, old_value, new_value FROM rollsafe.backup "
            "WHERE run_id = %s", run_id)}

    def run_row(self, run_id):
        rows = self.query("SELECT status, converted, conflicts, impossible, "
                          "corrupt, checkpoint FROM rollsafe.runs WHERE "
                          "run_id = %s", run_id)
        check_eq(len(rows), 1, "run rows of " + run_id)
        return rows[0]

    def checkpoint(self):
        try:
            rows = self.query("SELECT max(checkpoint::bigint) FROM "
                              "rollsafe.runs WHERE table_name = %s", TABLE)
        except psycopg2.Error:  # no runs table yet
            return None
        return rows[0][0]

    def args(self):
        return ["--postgres", self.dsn, "--table", TABLE, "--key", "id",
                "--column", "payload", "--type", "shop.Order"]


def fix_json(r, args, codes, *extra):
    rc, out, err = r.run("fix", *args, "--execute", "--format", "json",
                         "--samples", "0", *extra, timeout=HANG)
    check(rc in codes, "rollsafe fix %s: exit %d, want one of %r"
          % (" ".join(extra), rc, codes), "stdout: " + out[-3000:],
          "stderr: " + err[-3000:])
    try:
        doc = json.loads(out)
    except ValueError as e:
        raise Failure("fix output is not JSON (%s): %s" % (e, out[:2000]))
    check_eq(doc["exit_code"], rc, "exit_code in the document")
    return doc, err


def runs_status(r, args, run_id):
    out, _ = r.expect(0, "runs", *args, "--format", "json")
    doc = json.loads(out)
    for runs in doc["targets"].values():
        for run in runs:
            if run["run_id"] == run_id:
                return run["status"]
    raise Failure("run %s not listed by `rollsafe runs`" % run_id, doc)


def check_rows(when, recs, kinds, orig, now, b, last=None):
    """Every row holds its original bytes (or its last write, @last), or
    the converted bytes its backup row records, whose old bytes were the
    row's before the swap: never anything else, never half a batch."""
    last = last or {}
    check_eq(set(now), set(orig), when + ": keys")
    for k, data in now.items():
        before = last.get(k, (orig[k], kinds[k]))
        if k in b and data == b[k][1]:
            old, new = b[k]
            check(old == orig[k] or (k in last and old in last[k][2]),
                  when + ": row %d's backup holds bytes the row never held"
                  % k)
            check(v1_order_id(recs, new) is not None,
                  when + ": row %d converted to bytes version 1 cannot read"
                  % k)
        elif k in last:
            check(data in last[k][2], when + ": row %d holds bytes neither "
                  "written nor backed up" % k, data.hex())
        else:
            check_eq(data, before[0], when + ": row %d untouched" % k)


# ---- pg_restart_mid_fix ---------------------------------------------------

def writer_main(argv):
    """A concurrent writer: until CTL/stop appears, rewrites rows of its own
    (key % N_WRITERS == INDEX) in the old format with a unique token, one
    transaction each, and logs each acknowledged write (key, token, bytes).
    A write whose COMMIT failed may or may not have committed: it is logged
    as uncertain and its row is never written again, so that the row must
    end holding either it or the last acknowledged write. Reconnects when
    the server goes away."""
    dsn, table, index, n_writers, log_path, ctl, seed = argv
    index, n_writers = int(index), int(n_writers)
    recs = Records()
    rng = random.Random(int(seed) * 1000 + index)
    with open(os.path.join(ctl, "ids.json")) as f:
        ids = [k for k in json.load(f) if k % n_writers == index]
    log = open(log_path, "a")
    conn = None
    acked = failed = n = 0
    frozen = set()
    while not os.path.exists(os.path.join(ctl, "stop")):
        paused = os.path.join(ctl, "paused-%d" % index)
        if os.path.exists(os.path.join(ctl, "pause")):
            open(paused, "a").close()
            time.sleep(0.01)
            continue
        if os.path.exists(paused):
            os.unlink(paused)
        if conn is None or conn.closed:
            try:
                conn = psycopg2.connect(dsn, connect_timeout=5,
                                        application_name="fault-writer")
            except psycopg2.Error:
                failed += 1
                time.sleep(0.05)
                continue
        key = rng.choice(ids)
        if key in frozen:
            continue
        token = "W%d-%d" % (index, n)
        n += 1
        data = record(recs, "v1", token)
        try:
            with conn.cursor() as c:
                c.execute("UPDATE %s SET payload = %%s WHERE id = %%s"
                          % table, (psycopg2.Binary(data), key))
                check_eq(c.rowcount, 1, "rows updated")
        except psycopg2.Error:
            failed += 1
            try:
                conn.rollback()
            except psycopg2.Error:
                conn.close()
            continue
        try:
            conn.commit()
        except psycopg2.Error:
            frozen.add(key)
            log.write("%d\t%s\tuncertain\t%s\n" % (key, token, data.hex()))
            log.flush()
            conn.close()
            continue
        log.write("%d\t%s\tacked\t%s\n" % (key, token, data.hex()))
        log.flush()
        acked += 1
        time.sleep(rng.uniform(0.002, 0.01))
    log.close()
    if conn is not None:
        conn.close()
    print(json.dumps({"acked": acked, "failed": failed,
                      "uncertain": len(frozen)}))
    return 0


def read_logs(logs, orig):
    """{key: (last acknowledged bytes or None, token, {bytes the row may
    hold})}: the last acknowledged write, and any uncertain one after it
    (which may not have committed: then the row holds what it held before,
    the original bytes when nothing was acknowledged)."""
    out = {}
    for p in logs:
        with open(p) as f:
            text = f.read()
        check(text == "" or text.endswith("\n"), "log %s ends a line" % p)
        for line in text.splitlines():
            k, token, how, data = line.split("\t")
            k, data = int(k), bytes.fromhex(data)
            acked, tok, may = out.get(k, (None, None, {orig[k]}))
            if how == "acked":
                out[k] = (data, token, {data})
            else:
                out[k] = (acked, tok, may | {data})
    return out


def wait_writers(procs, ctl, n_writers, paused):
    """Waits for every writer to say it paused (or resumed)."""
    deadline = time.monotonic() + HANG
    while any(os.path.exists(os.path.join(ctl, "paused-%d" % i)) != paused
              for i in range(n_writers)):
        for i, p in enumerate(procs):
            check(p.poll() is None, "writer %d exited %r" % (i, p.returncode))
        check(time.monotonic() < deadline, "hang guard: writers pausing")
        time.sleep(0.01)


def wait_checkpoint(db, p, at_least):
    """Waits for the run's checkpoint to reach @at_least."""
    deadline = time.monotonic() + HANG
    while (db.checkpoint() or 0) < at_least:
        check(p.poll() is None, "the fix ended before checkpoint %d"
              % at_least, p.stderr.read().decode()[-2000:]
              if p.poll() is not None else "")
        check(time.monotonic() < deadline, "hang guard: checkpoint")
        time.sleep(0.01)


def lock_ahead(db, kinds, orig):
    """Locks, in a transaction of a new connection, a row the fixer has yet
    to swap a few pages ahead of its checkpoint. @return (conn, key)."""
    at = db.checkpoint() or 0
    blk = psycopg2.connect(db.dsn)
    for k in sorted(k for k, kind in kinds.items()
                    if kind in CONVERTIBLE and k > at + 150):
        try:
            with blk.cursor() as c:
                c.execute("SELECT payload FROM %s WHERE id = %%s FOR UPDATE "
                          "NOWAIT" % TABLE, (k,))
                held = bytes(c.fetchone()[0])
        except psycopg2.errors.LockNotAvailable:
            blk.rollback()
            continue
        if held == orig[k]:
            return blk, k
        blk.rollback()
    raise Failure("no row left for the fixer to wait on", at)


def wait_blocked(db, p, blk):
    """Waits until the fixer's session waits for @blk's lock."""
    deadline = time.monotonic() + HANG
    while not db.query("SELECT 1 FROM pg_stat_activity WHERE %s = "
                       "ANY(pg_blocking_pids(pid)) AND application_name = "
                       "'rollsafe'", blk.get_backend_pid()):
        check(p.poll() is None, "the fix ended before it waited for the "
              "locked row")
        check(time.monotonic() < deadline, "hang guard: row lock")


def test_pg_restart_mid_fix(r):
    n_rows, n_guest, n_corrupt, n_writers = 4000, 8, 4, 2
    recs = Records()
    rng = random.Random(14)
    kinds = mix(rng, n_rows, n_guest, n_corrupt,
                {"v1": 1, "v2_plain": 1, "v2_gift": 1})
    orig = {k: recs.make(kind, k) for k, kind in kinds.items()}
    srv = PgServer(r)
    procs = []
    ctl = os.path.join(r.work, "ctl")
    try:
        db = Db(srv.dsn)
        db.load(orig)
        args = db.args()
        os.makedirs(ctl)
        with open(os.path.join(ctl, "ids.json"), "w") as f:
            json.dump([k for k, kind in kinds.items()
                       if kind not in ("v2_guest", "corrupt")], f)
        logs = []
        for i in range(n_writers):
            logs.append(os.path.join(r.work, "writer-%d.log" % i))
            procs.append(subprocess.Popen(
                [sys.executable, os.path.abspath(__file__), "--writer",
                 srv.dsn, TABLE, str(i), str(n_writers), logs[i], ctl, "14"],
                stdout=open(os.path.join(r.work, "writer-%d.out" % i), "w"),
                stderr=open(os.path.join(r.work, "writer-%d.err" % i), "w")))

        # The fix, slowed down so that the faults land in its middle: two
        # restarts, the first between two batches, the second inside one
        # (its compare-and-swap waits for a row this test holds locked,
        # with the rows before it in the batch already swapped,
        # uncommitted); the fix connects again each time and goes on. Then
        # the server stays down longer than the lock timeout: the fix stops
        # with exit 4, the run interrupted, and a resume finishes it.
        fix = [r.rollsafe, "fix", *args, "--execute", "--format", "json",
               "--samples", "0", "--batch", "50", "--max-rate", "500",
               "--lock-timeout", "10s"]
        p = subprocess.Popen(fix, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        stops = []
        wait_checkpoint(db, p, n_rows // 4)
        run_id = db.query("SELECT run_id FROM rollsafe.runs")[0][0]
        for how in ("between batches", "inside a batch"):
            blk = None
            if how == "inside a batch":
                blk, _ = lock_ahead(db, kinds, orig)
                wait_blocked(db, p, blk)
            at = db.checkpoint()
            db.conn.close()
            srv.restart()
            if blk is not None:
                blk.close()
            db = Db(srv.dsn, fresh=False)
            # It goes on: batches commit after the restart.
            wait_checkpoint(db, p, at + 100)
            stops.append("restart %s at checkpoint %s: went on" % (how, at))
        check(p.poll() is None, "the fix still runs")
        # Down for longer than the lock timeout.
        at = db.checkpoint()
        db.conn.close()
        srv.stop_server()
        out, err = p.communicate(timeout=HANG)
        out, err = out.decode(), err.decode("utf-8", "replace")
        no_sanitizer(err, "the fix the server left")
        srv.start_server()
        db = Db(srv.dsn, fresh=False)
        check_eq(p.returncode, 4, "the fix the server left for longer than "
                 "the lock timeout (stdout %s, stderr %s)"
                 % (out[-2000:], err[-3000:]))
        doc = json.loads(out)
        check_eq((doc["run_id"], doc["complete"]), (run_id, False),
                 "run id, complete")
        check(doc["resume_command"] is not None and
              ("--resume " + run_id) in doc["resume_command"],
              "the report says how to resume", doc["resume_command"])
        check("connection to the server was lost" in err and
              "(connecting again failed: " in err,
              "stderr names the lost connection", err)
        check("the connection to the server was lost 2 times; connected "
              "again" in err, "stderr says the fix connected again twice",
              err)
        check_eq(runs_status(r, args, run_id), "interrupted",
                 "the run's status after the server went away")
        stops.append("down at checkpoint %s: exit 4, %s" % (at, err.strip()))
        # Nothing half-written while it stands stopped (the writers
        # paused, their logs complete).
        open(os.path.join(ctl, "pause"), "w").close()
        wait_writers(procs, ctl, n_writers, True)
        b = db.backups(run_id)
        check_rows("after the server went away", recs, kinds, orig,
                   db.rows(), b, read_logs(logs, orig))
        check_eq(db.run_row(run_id)[1], len(b), "run row's converted vs its "
                 "backups after the server went away")
        os.unlink(os.path.join(ctl, "pause"))
        wait_writers(procs, ctl, n_writers, False)
        doc, err = fix_json(r, args, (1,), "--batch", "50", "--resume",
                            run_id)
        check_eq(doc["complete"], True, "the run completes")
        check_eq(doc["run_id"], run_id, "one run")
    finally:
        open(os.path.join(ctl, "stop"), "a").close() \
            if os.path.isdir(ctl) else None
        for p_ in procs:
            try:
                p_.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p_.kill()
                p_.wait()
    try:
        for i, p_ in enumerate(procs):
            with open(os.path.join(r.work, "writer-%d.err" % i)) as f:
                check_eq(p_.returncode, 0, "writer %d exit (stderr %s)"
                         % (i, f.read()[-2000:]))
        summaries = []
        for i in range(n_writers):
            with open(os.path.join(r.work, "writer-%d.out" % i)) as f:
                summaries.append(json.loads(f.read()))
        check(all(s["acked"] > 0 for s in summaries), "every writer wrote",
              summaries)
        last = read_logs(logs, orig)
        final = db.rows()
        b = db.backups(run_id)
        # No row half-written; no concurrent write lost: a row a writer
        # wrote holds its last acknowledged write (or the uncertain one
        # after it); writers write version 1, which is never converted.
        check_rows("after the run", recs, kinds, orig, final, b, last)
        for k, (acked, token, may) in last.items():
            # Only the original bytes (an uncertain first write that did
            # not commit) may have been converted since.
            check(final[k] in may or (acked is None and k in b and
                                      b[k] == (orig[k], final[k])),
                  "row %d lost write %s" % (k, token))
        # Every row reads as version 1, with the order_id it should have.
        for k, kind in kinds.items():
            if kind in ("v2_guest", "corrupt"):
                check_eq(final[k], orig[k], "planted row %d" % k)
                continue
            got = v1_order_id(recs, final[k])
            if k in last:
                check(got is not None and
                      (got.startswith("W") or
                       (last[k][0] is None and got == "O-%d" % k)),
                      "row %d: version 1 reads a writer's record" % k, got)
            else:
                check_eq(got, "O-%d" % k, "version-1 order_id of row %d" % k)
                check_eq(k in b, kind in CONVERTIBLE,
                         "row %d (%s, no writer) backed up" % (k, kind))
        # The run's record: done, converted = rows rewritten = backups.
        status, converted, _, impossible, corrupt, _ = db.run_row(run_id)
        check_eq((status, converted, impossible, corrupt),
                 ("done", len(b), n_guest, n_corrupt),
                 "run row: status, converted, impossible, corrupt")
        check_eq(doc["rewritten"], len(b), "the report's rewritten")
        check_eq(runs_status(r, args, run_id), "done", "runs after the run")

        # Restore: exactly the rows nobody changed since go back.
        rc, out, err = r.run("restore", *args, "--run", run_id, "--execute",
                             "--format", "json", "--samples", "0")
        check(rc in (0, 1), "restore: exit %d" % rc, out[-2000:], err[-2000:])
        rdoc = json.loads(out)
        back = {k for k, (old, new) in b.items() if final[k] == new}
        check_eq(rdoc["restored"], len(back), "restored")
        check_eq(rdoc["conflicts"], len(b) - len(back), "restore conflicts")
        now = db.rows()
        for k in orig:
            want = b[k][0] if k in back else final[k]
            check_eq(now[k], want, "row %d after the restore" % k)
        print("pg_restart_mid_fix: %d rows, %d writers (%s); restarts: %s; "
              "run %s converted %d, restore put back %d (%d changed since)"
              % (n_rows, n_writers, summaries, "; ".join(stops), run_id,
                 converted, len(back), len(b) - len(back)))
    finally:
        db.conn.close()
        srv.stop()


def test_pg_session_terminated(r):
    """The fixer's session ended by an administrator (pg_terminate_backend,
    SQLSTATE 57P01) twice during one fix, the server up: the fix connects
    again each time, goes on from its last committed batch and completes,
    with exactly one backup and one conversion per convertible row."""
    n_rows = 3000
    recs = Records()
    rng = random.Random(143)
    kinds = mix(rng, n_rows, 6, 3, {"v1": 1, "v2_plain": 1, "v2_gift": 1})
    orig = {k: recs.make(kind, k) for k, kind in kinds.items()}
    srv = PgServer(r)
    try:
        db = Db(srv.dsn)
        db.load(orig)
        args = db.args()
        p = subprocess.Popen(
            [r.rollsafe, "fix", *args, "--execute", "--format", "json",
             "--samples", "0", "--batch", "50", "--max-rate", "1000"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        ended = []
        for at in (n_rows // 3, 2 * n_rows // 3):
            wait_checkpoint(db, p, at)
            ended += [pid for (pid,) in db.query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = 'rollsafe' AND pid <> "
                "pg_backend_pid()")]
        out, err = p.communicate(timeout=HANG)
        out, err = out.decode(), err.decode("utf-8", "replace")
        no_sanitizer(err, "the fix whose session ended")
        check_eq(p.returncode, 1, "exit (stderr %s)" % err[-3000:])
        check_eq(ended, [True, True], "sessions ended")
        check("the connection to the server was lost 2 times; connected "
              "again" in err, "stderr says the fix connected again", err)
        doc = json.loads(out)
        run_id = doc["run_id"]
        b = db.backups(run_id)
        final = db.rows()
        check_rows("after the run", recs, kinds, orig, final, b)
        convertible = {k for k, kind in kinds.items() if kind in CONVERTIBLE}
        check_eq(set(b), convertible, "backed-up keys")
        for k in convertible:
            check_eq(v1_order_id(recs, final[k]), "O-%d" % k,
                     "version-1 order_id of row %d" % k)
        status, converted, _, impossible, corrupt, _ = db.run_row(run_id)
        check_eq((status, converted, impossible, corrupt, doc["rewritten"],
                  doc["complete"]),
                 ("done", len(convertible), 6, 3, len(convertible), True),
                 "run row: status, converted, impossible, corrupt; the "
                 "report's converted, complete")
        print("pg_session_terminated: %d rows, %d converted, sessions ended "
              "twice; %s" % (n_rows, converted, err.strip()))
    finally:
        srv.stop()


# ---- disk full --------------------------------------------------------------

class SmallDisk:
    """A tmpfs of @mib MiB at @path, filled by a file up to @free_kib KiB
    free: what the database may still grow by."""

    def __init__(self, path, mib):
        self.path = path
        os.makedirs(path, exist_ok=True)
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%dm" % mib,
                            "tmpfs", path], capture_output=True, text=True)
        check_eq(p.returncode, 0, "mount a %d MiB tmpfs at %s (the disk-full "
                 "tests need root: %s)" % (mib, path, p.stderr.strip()))
        self.filler = os.path.join(path, "filler")

    def fill(self, free_kib):
        st = os.statvfs(self.path)
        free = st.f_bavail * st.f_frsize
        size = free - free_kib * 1024
        check(size > 0, "room to fill on %s" % self.path, free)
        with open(self.filler, "wb") as f:
            f.write(b"\0" * size)  # tmpfs: zeros take room too

    def free(self):
        os.unlink(self.filler)

    def umount(self):
        subprocess.run(["umount", "-l", self.path], capture_output=True)
        try:
            os.rmdir(self.path)
        except OSError:
            pass


def test_disk_full_sqlite(r):
    """The database file (WAL mode) on a small tmpfs, filled up but for
    256 KiB: the fix runs out of room part of the way through."""
    n_rows, n_guest, n_corrupt = 4000, 8, 4
    recs = Records()
    rng = random.Random(141)
    kinds = mix(rng, n_rows, n_guest, n_corrupt,
                {"v1": 1, "v2_plain": 1, "v2_gift": 1})
    orig = {k: recs.make(kind, k) for k, kind in kinds.items()}
    disk = SmallDisk(os.path.join(r.work, "disk"), 16)
    try:
        path = os.path.join(disk.path, "orders.db")
        db = sqlite3.connect(path)
        check_eq(db.execute("PRAGMA journal_mode=WAL").fetchone()[0], "wal",
                 "journal mode")
        db.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, "
                   "payload BLOB NOT NULL)")
        db.executemany("INSERT INTO orders VALUES (?, ?)",
                       sorted(orig.items()))
        db.commit()
        db.close()
        args = ["--sqlite", path, "--table", "orders", "--key", "id",
                "--column", "payload", "--type", "shop.Order"]
        disk.fill(256)
        doc, err = fix_json(r, args, (4,), "--batch", "50")
        no_sanitizer(err, "the fix on a full disk")
        run_id = doc["run_id"]
        check(run_id, "a run id", doc)
        check("full" in err and path in err,
              "the error names the full disk and the database", err)
        check(doc["resume_command"] is not None and
              ("--resume " + run_id) in doc["resume_command"],
              "the report says how to resume", doc["resume_command"])

        def rows():
            c = sqlite3.connect(path)
            out = {k: bytes(v) for k, v in
                   c.execute("SELECT id, payload FROM orders")}
            c.close()
            return out

        def run_state():
            c = sqlite3.connect(path)
            b = {int(k): (bytes(o), bytes(n)) for k, o, n in c.execute(
                "SELECT key, old_value, new_value FROM rollsafe_backup "
                "WHERE run_id = ?", (run_id,))}
            row = c.execute("SELECT status, converted, checkpoint FROM "
                            "rollsafe_runs WHERE run_id = ?",
                            (run_id,)).fetchone()
            c.close()
            return b, row

        b, row = run_state()
        check(0 < len(b) < sum(1 for k in kinds.values()
                               if k in CONVERTIBLE),
              "the disk filled part of the way through (%d backups)" % len(b))
        check_rows("on the full disk", recs, kinds, orig, rows(), b)
        check_eq(row[1], len(b), "run row's converted vs its backups")
        check(row[2] is not None and
              {k for k in b} == {k for k, kd in kinds.items()
                                 if kd in CONVERTIBLE and k <= int(row[2])},
              "backed-up keys are the convertible ones up to the checkpoint",
              row)
        check_eq(runs_status(r, args, run_id), "interrupted",
                 "the run's status on the full disk")
        stopped = (len(b), row[0], err.strip())

        disk.free()
        doc, err = fix_json(r, args, (1,), "--resume", run_id)
        check_eq(doc["complete"], True, "the resumed run completes")
        b, row = run_state()
        final = rows()
        check_rows("after the resume", recs, kinds, orig, final, b)
        for k, kind in kinds.items():
            check_eq(k in b, kind in CONVERTIBLE, "row %d (%s) backed up"
                     % (k, kind))
            if kind in CONVERTIBLE or kind == "v1":
                check_eq(v1_order_id(recs, final[k]), "O-%d" % k,
                         "version-1 order_id of row %d" % k)
        check_eq((row[0], row[1]), ("done", len(b)),
                 "run row: status, converted")
        check_eq(doc["rewritten"], len(b), "the report's rewritten")
        print("disk_full_sqlite: %d rows; stopped with %d backups (run row "
              "%s): %s; resumed to %d" % (n_rows, stopped[0], stopped[1],
                                          stopped[2], len(b)))
    finally:
        disk.umount()


def test_disk_full_postgres(r):
    """The target table and rollsafe's own tables in a tablespace on a
    small tmpfs (the database's default_tablespace), filled up but for
    256 KiB: "could not extend file ...: No space left on device" part of
    the way through."""
    n_rows, n_guest, n_corrupt = 4000, 8, 4
    recs = Records()
    rng = random.Random(142)
    kinds = mix(rng, n_rows, n_guest, n_corrupt,
                {"v1": 1, "v2_plain": 1, "v2_gift": 1})
    orig = {k: recs.make(kind, k) for k, kind in kinds.items()}
    srv = PgServer(r)
    disk = None
    db = None
    try:
        disk = SmallDisk(srv.dir + "-disk", 16)
        ts = os.path.join(disk.path, "ts")
        os.makedirs(ts)
        if os.getuid() == 0:
            shutil.chown(disk.path, "postgres")
            shutil.chown(ts, "postgres")
        db = Db(srv.dsn)
        db.execute("CREATE TABLESPACE small LOCATION '%s'" % ts)
        db.execute("ALTER DATABASE rollsafe_test SET default_tablespace = "
                   "small")
        db.conn.close()
        db = Db(srv.dsn)
        db.load(orig)
        check_eq(db.query("SELECT tablespace FROM pg_tables WHERE "
                          "schemaname = 'faults'")[0][0], "small",
                 "the table's tablespace")
        args = db.args()
        disk.fill(256)
        doc, err = fix_json(r, args, (4,), "--batch", "50")
        no_sanitizer(err, "the fix on a full disk")
        run_id = doc["run_id"]
        check(run_id, "a run id", doc)
        check("No space left on device" in err and "full" in err,
              "the error names the full disk", err)
        check(doc["resume_command"] is not None and
              ("--resume " + run_id) in doc["resume_command"],
              "the report says how to resume", doc["resume_command"])
        b = db.backups(run_id)
        status, converted, _, _, _, cp = db.run_row(run_id)
        check(0 < len(b) < sum(1 for k in kinds.values()
                               if k in CONVERTIBLE),
              "the disk filled part of the way through (%d backups)" % len(b))
        check_rows("on the full disk", recs, kinds, orig, db.rows(), b)
        check_eq(converted, len(b), "run row's converted vs its backups")
        check(cp is not None and
              set(b) == {k for k, kd in kinds.items()
                         if kd in CONVERTIBLE and k <= int(cp)},
              "backed-up keys are the convertible ones up to the checkpoint",
              cp)
        check_eq(runs_status(r, args, run_id), "interrupted",
                 "the run's status on the full disk")
        stopped = (len(b), status, err.strip())

        disk.free()
        doc, err = fix_json(r, args, (1,), "--resume", run_id)
        check_eq(doc["complete"], True, "the resumed run completes")
        b = db.backups(run_id)
        final = db.rows()
        check_rows("after the resume", recs, kinds, orig, final, b)
        for k, kind in kinds.items():
            check_eq(k in b, kind in CONVERTIBLE, "row %d (%s) backed up"
                     % (k, kind))
            if kind in CONVERTIBLE or kind == "v1":
                check_eq(v1_order_id(recs, final[k]), "O-%d" % k,
                         "version-1 order_id of row %d" % k)
        status, converted, _, _, _, _ = db.run_row(run_id)
        check_eq((status, converted), ("done", len(b)),
                 "run row: status, converted")
        check_eq(doc["rewritten"], len(b), "the report's rewritten")
        print("disk_full_postgres: %d rows; stopped with %d backups (run row "
              "%s): %s; resumed to %d" % (n_rows, stopped[0], stopped[1],
                                          stopped[2], len(b)))
    finally:
        if db is not None:
            db.conn.close()
        srv.stop()  # before the umount: the server's files are on it
        if disk is not None:
            disk.umount()


TESTS = {name[len("test_"):]: fn for name, fn in globals().items()
         if name.startswith("test_") and callable(fn)}

if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--writer":
        sys.exit(writer_main(sys.argv[2:]))
    sys.exit(run_cases(TESTS))
