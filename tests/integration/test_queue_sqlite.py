#!/usr/bin/env python3
"""Queue targets on SQLite: a fix over an order_events outbox (WAL mode)
while four consumer processes mark messages 'processing' and then 'done'.
A message in 'processing' is in flight: the fixer leaves it alone and
revisits it; one moved to 'done' is gone.

Usage: test_queue_sqlite.py --rollsafe BIN --work DIR CASE
"""

import json
import os
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import queuecheck  # noqa: E402
from rsdata import (Records, check, check_eq,  # noqa: E402
                    check_restore_predicted, run_cases)

# The table shape of the example domain's outbox (migrations/sqlite).
DDL = ("CREATE TABLE order_events (id INTEGER PRIMARY KEY, "
       "order_id TEXT NOT NULL, payload BLOB NOT NULL, "
       "state TEXT NOT NULL DEFAULT 'pending', enqueued_at TEXT NOT NULL)")


class Backend:
    kind = "sqlite"
    table = "order_events"

    def __init__(self, path):
        self.target = path


def build(r, recs, n, name="queue.db"):
    os.makedirs(r.work, exist_ok=True)
    path = os.path.join(r.work, name)
    if os.path.exists(path):
        os.unlink(path)
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute(DDL)
    msgs = queuecheck.messages(recs, n)
    db.executemany(
        "INSERT INTO order_events (id, order_id, payload, enqueued_at) "
        "VALUES (?, ?, ?, '2026-11-26T10:00:00Z')",
        [(i, "O-%d" % i, p) for i, (_, p) in msgs.items()])
    db.commit()
    db.close()
    return path, msgs


def target(path):
    return ["--sqlite", path, "--table", "order_events", "--key", "id",
            "--column", "payload", "--type", "shop.Order", "--queue",
            "--state-column", "state", "--pending-states", "pending",
            "--in-flight-states", "processing"]


def queued(path, states=("pending", "processing")):
    db = sqlite3.connect(path)
    out = {i: bytes(p) for i, p, s in db.execute(
        "SELECT id, payload, state FROM order_events") if s in states}
    db.close()
    return out


def test_consumers_processing_state(r):
    recs = Records()
    n = 6_000
    path, msgs = build(r, recs, n)
    doc, fix_end, taken, max_wait = queuecheck.run(
        r, Backend(path), target(path) + ["--batch", "200"], n, recs, msgs,
        per_consumer=1_000)
    remaining = queued(path)
    db = sqlite3.connect(path)
    run_id = doc["run_id"]
    bk = {int(k): (bytes(o), bytes(nw)) for k, o, nw in db.execute(
        "SELECT key, old_value, new_value FROM rollsafe_backup "
        "WHERE run_id = ?", (run_id,))}
    done = {i for (i,) in db.execute(
        "SELECT id FROM order_events WHERE state = 'done'")}
    db.close()
    check_eq({i for i, _, _ in taken}, done, "taken = marked done")
    after, _ = queuecheck.check_run(recs, msgs, doc, fix_end, taken,
                                    remaining, bk)
    print("consumers took %d messages (%d after the fix), longest lock "
          "wait %.3f s; fix: %d passes, converted %d, in_flight %d, gone %d"
          % (len(taken), after, max_wait, doc["targets"][0]["passes"],
             doc["rewritten"], doc["targets"][0]["in_flight"],
             doc["targets"][0]["gone"]))
    planted = sum(1 for i in remaining if msgs[i][0] in queuecheck.PLANTED)
    doc2, _ = r.scan_json(1 if planted else 0, *target(path))
    t = doc2["targets"][0]
    check_eq(t["rows_read"], len(remaining), "pending messages scanned")
    check_eq(t["findings"], planted, "findings: the planted messages left")
    # Restore: consumed ('done') messages are gone, the rest restored.
    out, _ = r.expect(0, "restore", *target(path), "--run", run_id,
                      "--execute", "--format", "json")
    d = json.loads(out)["targets"][0]
    check_eq(d["restored"], len(set(bk) & set(remaining)), "restored")
    check_eq(d["gone"], len(set(bk) - set(remaining)), "gone since the fix")
    for i, p in queued(path).items():
        check_eq(p, msgs[i][1], "message %d restored" % i)


def test_processing_message_in_flight(r):
    recs = Records()
    path, msgs = build(r, recs, 200)
    db = sqlite3.connect(path)
    db.execute("UPDATE order_events SET state = 'processing' WHERE id = 5")
    db.execute("UPDATE order_events SET state = 'done' WHERE id = 6")
    db.commit()
    db.close()
    out, _ = r.expect(4, "fix", *target(path), "--execute", "--max-passes",
                      "2", "--format", "json")
    t = json.loads(out)["targets"][0]
    check_eq((t["in_flight"], t["unsettled"], t["passes"]), (2, 1, 2),
             "in flight, unsettled, passes")
    now = queued(path, ("pending", "processing", "done"))
    check_eq(now[5], msgs[5][1], "the processing message untouched")
    check_eq(now[6], msgs[6][1], "the done message untouched")
    # The scan counts the in-flight message (a consumer will still read
    # it) but not the done one.
    doc, _ = r.scan_json(1, *target(path))
    check_eq(doc["targets"][0]["rows_read"], 199, "pending and in flight")
    # The consumer gives it back (a retry): the next fix converts it.
    db = sqlite3.connect(path)
    db.execute("UPDATE order_events SET state = 'pending' WHERE id = 5")
    db.commit()
    db.close()
    out, _ = r.expect(0, "fix", *target(path), "--execute", "--format",
                      "json")
    t = json.loads(out)["targets"][0]
    check_eq((t["rewritten"], t["unsettled"]), (1, 0), "converted after")
    check(queuecheck.v1_readable(recs, queued(path)[5], 5), "message 5")
    # Bad queue options are usage errors.
    r.expect(2, "scan", "--sqlite", path, "--table", "order_events", "--key",
             "id", "--column", "payload", "--type", "shop.Order",
             "--state-column", "nope")
    r.expect(2, "scan", "--sqlite", path, "--table", "order_events", "--key",
             "id", "--column", "payload", "--type", "shop.Order",
             "--state-column", "state", "--pending-states", "a,b",
             "--in-flight-states", "b")
    _, err = r.expect(2, "scan", "--sqlite", path, "--table", "order_events",
                      "--key", "id", "--column", "payload", "--type",
                      "shop.Order", "--state-column", "state",
                      "--pending-states", "pending,," + "x" * 64)
    check("each state is 1 to 63 bytes" in err, "the state list refused",
          err)


def test_restore_dry_run_sees_consumers(r):
    """After a fix, consumers delete one message, finish another ('done')
    and hold a third ('processing'); a writer changes a fourth. The restore's
    dry run says what --execute then does: two gone, one in flight (exit
    4), one conflict, the rest restored."""
    recs = Records()
    path, msgs = build(r, recs, 200)
    out, _ = r.expect(0, "fix", *target(path), "--execute", "--format",
                      "json")
    run_id = json.loads(out)["run_id"]
    now = queued(path)
    fixed = sorted(i for i in now if now[i] != msgs[i][1])
    check(len(fixed) >= 6, "the fix rewrote messages", len(fixed))
    deleted, done, held, changed = fixed[:4]
    db = sqlite3.connect(path)
    db.execute("DELETE FROM order_events WHERE id = ?", (deleted,))
    db.execute("UPDATE order_events SET state = 'done' WHERE id = ?", (done,))
    db.execute("UPDATE order_events SET state = 'processing' WHERE id = ?",
               (held,))
    db.execute("UPDATE order_events SET payload = ? WHERE id = ?",
               (recs.v1(9999), changed))
    db.commit()
    db.close()
    queuecheck.check_restore_prediction(
        r, target(path), run_id, fixed, [deleted, done], held, changed,
        lambda: queued(path, ("pending", "processing", "done")))
    # The consumer gives the held message back: only it is left to restore.
    db = sqlite3.connect(path)
    db.execute("UPDATE order_events SET state = 'pending' WHERE id = ?",
               (held,))
    db.commit()
    db.close()
    dry, done_doc = check_restore_predicted(r, 0, target(path), run_id)
    check_eq((dry["restored"], dry["in_flight"]), (1, 0),
             "only the given-back message is left to restore")
    check_eq(queued(path)[held], msgs[held][1], "it is restored")


def test_any_text_states(r):
    """States with quotes, a backslash, % and _, non-ASCII text, and one
    written as an injection: bound, they match exactly themselves."""
    recs = Records()
    rows = queuecheck.any_text_rows(recs)
    path = os.path.join(r.work, "any_text.db")
    if os.path.exists(path):
        os.unlink(path)
    db = sqlite3.connect(path)
    db.execute(DDL)
    db.execute("CREATE INDEX order_events_state ON order_events (state)")
    db.executemany(
        "INSERT INTO order_events (id, order_id, payload, state, enqueued_at)"
        " VALUES (?, ?, ?, ?, '2026-11-26T10:00:00Z')",
        [(i, "O-%d" % i, p, st) for i, (_, p, st) in rows.items()])
    db.commit()
    db.close()

    def queued_states():
        c = sqlite3.connect(path)
        out = {i: (bytes(p), st) for i, p, st in
               c.execute("SELECT id, payload, state FROM order_events")}
        c.close()
        return out

    def set_state(i, state):
        c = sqlite3.connect(path)
        c.execute("UPDATE order_events SET state = ? WHERE id = ?",
                  (state, i))
        c.commit()
        c.close()

    args = queuecheck.any_text_args(
        ["--sqlite", path, "--table", "order_events", "--key", "id",
         "--column", "payload", "--type", "shop.Order"])
    queuecheck.check_any_text_states(r, recs, rows, args, queued_states,
                                     set_state)


TESTS = {name[len("test_"):]: fn for name, fn in globals().items()
         if name.startswith("test_") and callable(fn)}

if __name__ == "__main__":
    sys.exit(run_cases(TESTS))
