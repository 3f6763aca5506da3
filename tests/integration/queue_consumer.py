#!/usr/bin/env python3
"""A queue consumer for the queue tests: takes order_events messages the
way a worker does, and records every message it took.

  queue_consumer.py postgres CONNINFO OUT STOPFILE LOCK_TIMEOUT_MS MAX TABLE
  queue_consumer.py sqlite   DBPATH   OUT STOPFILE BUSY_TIMEOUT_MS MAX TABLE

PostgreSQL: SELECT ... FOR UPDATE SKIP LOCKED (a few messages, oldest
first), a little work while holding them, DELETE, COMMIT, with lock_timeout
set on the session. SQLite: BEGIN IMMEDIATE, mark a few pending messages
'processing', COMMIT; a little work; BEGIN IMMEDIATE, mark them 'done',
COMMIT, with a busy timeout.

Writes one JSON line per message taken: id, payload (hex), "t0" (time just
before the statement that took it: its snapshot is no older), and one line
per batch with the lock wait ("wait", seconds). Errors (a lock timeout, a
busy database) are recorded as {"error": ...} lines and end the consumer.
Stops when STOPFILE exists, or when the queue is empty for a while. MAX
bounds what it takes while the fix runs (so that messages are left for the
final scan): having taken MAX, it waits until STOPFILE.after exists (the
fix has ended) and then takes up to 100 more, so that every consumer takes
messages after the fix whatever the fixer's speed.
"""

import json
import os
import sys
import time

BATCH = 5
AFTER = 100


def may_take(taken, limit, stop):
    """False while the consumer must wait (cap reached, fix not ended)."""
    if taken < limit:
        return True
    return os.path.exists(stop + ".after") and taken < limit + AFTER


def done(taken, limit, stop, idle):
    return (os.path.exists(stop) or idle >= 400 or
            (taken >= limit + AFTER))


def run_postgres(conninfo, out, stop, timeout_ms, limit, table):
    import psycopg2
    conn = psycopg2.connect(conninfo)
    cur = conn.cursor()
    cur.execute("SET lock_timeout = %s", ("%dms" % timeout_ms,))
    conn.commit()
    taken, idle = 0, 0
    while not done(taken, limit, stop, idle):
        if not may_take(taken, limit, stop):
            time.sleep(0.01)
            continue
        t0 = time.time()
        try:
            cur.execute(
                "SELECT id, payload FROM %s WHERE state = 'pending'"
                " ORDER BY id LIMIT %%s FOR UPDATE SKIP LOCKED" % table,
                (BATCH,))
            rows = cur.fetchall()
            t1 = time.time()
            time.sleep(0.004)  # the work done while holding the messages
            if rows:
                cur.execute("DELETE FROM %s WHERE id = ANY(%%s)" % table,
                            ([r[0] for r in rows],))
            t2 = time.time()
            conn.commit()
        except psycopg2.Error as e:
            out.write(json.dumps({"error": str(e).strip(),
                                  "pgcode": e.pgcode}) + "\n")
            conn.rollback()
            return
        out.write(json.dumps({"wait": max(t1 - t0, t2 - t1 - 0.004)}) + "\n")
        if not rows:
            idle += 1
            time.sleep(0.01)
            continue
        idle = 0
        for i, p in rows:
            out.write(json.dumps({"id": i, "payload": bytes(p).hex(),
                                  "t0": t0}) + "\n")
        taken += len(rows)
        time.sleep(0.006)
    conn.close()


def run_sqlite(path, out, stop, timeout_ms, limit, table):
    import sqlite3
    db = sqlite3.connect(path, timeout=timeout_ms / 1000.0,
                         isolation_level=None)
    taken, idle = 0, 0
    while not done(taken, limit, stop, idle):
        if not may_take(taken, limit, stop):
            time.sleep(0.01)
            continue
        t0 = time.time()
        try:
            db.execute("BEGIN IMMEDIATE")
            t1 = time.time()
            rows = db.execute(
                "SELECT id, payload FROM %s WHERE state = 'pending'"
                " ORDER BY id LIMIT ?" % table, (BATCH,)).fetchall()
            db.executemany(
                "UPDATE %s SET state = 'processing' WHERE id = ?" % table,
                [(r[0],) for r in rows])
            db.execute("COMMIT")
            time.sleep(0.004)  # the work done while holding the messages
            t2 = time.time()
            db.execute("BEGIN IMMEDIATE")
            t3 = time.time()
            db.executemany(
                "UPDATE %s SET state = 'done' WHERE id = ?" % table,
                [(r[0],) for r in rows])
            db.execute("COMMIT")
        except sqlite3.Error as e:
            out.write(json.dumps({"error": str(e)}) + "\n")
            return
        out.write(json.dumps({"wait": max(t1 - t0, t3 - t2)}) + "\n")
        if not rows:
            idle += 1
            time.sleep(0.01)
            continue
        idle = 0
        for i, p in rows:
            out.write(json.dumps({"id": i, "payload": bytes(p).hex(),
                                  "t0": t0}) + "\n")
        taken += len(rows)
        time.sleep(0.006)
    db.close()


def main():
    kind, target, out_path, stop, timeout_ms, limit, table = sys.argv[1:8]
    with open(out_path, "w", buffering=1) as out:
        fn = run_postgres if kind == "postgres" else run_sqlite
        fn(target, out, stop, int(timeout_ms), int(limit), table)
        out.write(json.dumps({"end": time.time()}) + "\n")


if __name__ == "__main__":
    main()
