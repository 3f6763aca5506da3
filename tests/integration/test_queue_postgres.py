#!/usr/bin/env python3
"""Queue targets on the real PostgreSQL server of the test suite: a fix
over 50,000 queued order_events messages while four consumer processes take
and delete messages with FOR UPDATE SKIP LOCKED.

Usage: test_queue_postgres.py --rollsafe BIN --work DIR CASE
"""

import json
import os
import sys

import psycopg2
import psycopg2.extras

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import queuecheck  # noqa: E402
from rsdata import (Records, check, check_eq,  # noqa: E402
                    check_restore_predicted, run_cases)
from test_scan_postgres import Db  # noqa: E402

# The table shape of the example domain's outbox (migrations/postgres).
DDL = ('CREATE TABLE "%s".order_events (id bigserial PRIMARY KEY, '
       "order_id text NOT NULL, payload bytea NOT NULL, "
       "state text NOT NULL DEFAULT 'pending', "
       "enqueued_at timestamptz NOT NULL DEFAULT now())")


class Backend:
    kind = "postgres"

    def __init__(self, db):
        self.target = db.dsn
        self.table = '"%s".order_events' % db.schema


def build(schema, recs, n):
    db = Db(schema)
    db.execute(DDL % schema)
    msgs = queuecheck.messages(recs, n)
    with db.conn.cursor() as c:
        psycopg2.extras.execute_values(
            c, 'INSERT INTO "%s".order_events (id, order_id, payload) '
            "VALUES %%s" % schema,
            [(i, "O-%d" % i, psycopg2.Binary(p)) for i, (_, p) in
             msgs.items()], page_size=2000)
    db.execute('ANALYZE "%s".order_events' % schema)
    return db, msgs


def target(db):
    return ["--postgres", db.dsn, "--table", "%s.order_events" % db.schema,
            "--key", "id", "--column", "payload", "--type", "shop.Order",
            "--queue", "--state-column", "state", "--pending-states",
            "pending"]


def queued(db):
    with db.conn.cursor() as c:
        c.execute('SELECT id, payload FROM "%s".order_events' % db.schema)
        return {i: bytes(p) for i, p in c.fetchall()}


def backups(db, run_id):
    with db.conn.cursor() as c:
        c.execute("SELECT key, old_value, new_value FROM rollsafe.backup "
                  "WHERE run_id = %s", (run_id,))
        return {int(k): (bytes(o), bytes(n)) for k, o, n in c.fetchall()}


def test_consumers_skip_locked_50000(r):
    recs = Records()
    n = 50_000
    db, msgs = build("it_queue", recs, n)
    doc, fix_end, taken, max_wait = queuecheck.run(
        r, Backend(db), target(db), n, recs, msgs, per_consumer=10_000)
    remaining = queued(db)
    run_id = doc["run_id"]
    bk = backups(db, run_id)
    after, _ = queuecheck.check_run(recs, msgs, doc, fix_end, taken,
                                    remaining, bk)
    print("consumers took %d messages (%d after the fix), longest lock "
          "wait %.3f s; fix: %d passes, converted %d, in_flight %d, gone %d"
          % (len(taken), after, max_wait, doc["targets"][0]["passes"],
             doc["rewritten"], doc["targets"][0]["in_flight"],
             doc["targets"][0]["gone"]))
    check(len(remaining) > 0, "consumers left messages for the final scan")
    # The final scan: only the planted messages still queued remain.
    planted = sum(1 for i in remaining if msgs[i][0] in queuecheck.PLANTED)
    doc2, _ = r.scan_json(1 if planted else 0, *target(db))
    t = doc2["targets"][0]
    check_eq(t["rows_read"], len(remaining), "messages scanned")
    check_eq(t["findings"], planted, "findings: the planted messages left")
    check_eq(t["verdicts"]["corrupt"],
             sum(1 for i in remaining if msgs[i][0] == "corrupt"), "corrupt")
    # Restore after consumption: consumed messages are gone, not errors.
    out, _ = r.expect(0, "restore", *target(db), "--run", run_id,
                      "--execute", "--format", "json")
    d = json.loads(out)["targets"][0]
    check_eq(d["error"], None, "restore error")
    check_eq(d["restored"], len(set(bk) & set(remaining)), "restored")
    check_eq(d["gone"], len(set(bk) - set(remaining)), "gone since the fix")
    check_eq(d["conflicts"], 0, "restore conflicts")
    now = queued(db)
    for i, p in now.items():
        check_eq(p, msgs[i][1], "message %d back to its original bytes" % i)


def test_in_flight_message_and_deadline(r):
    """A message a consumer holds is never waited on: it is in flight, the
    passes run out (or the deadline comes) and the fix exits 4."""
    recs = Records()
    db, msgs = build("it_queue_held", recs, 300)
    held = psycopg2.connect(db.dsn)
    hc = held.cursor()
    hc.execute('SELECT id FROM "it_queue_held".order_events WHERE id = 5 '
               "FOR UPDATE SKIP LOCKED")  # v2_plain, convertible
    check_eq(hc.fetchall(), [(5,)], "the consumer holds message 5")
    out, _ = r.expect(4, "fix", *target(db), "--execute", "--max-passes",
                      "3", "--format", "json")
    t = json.loads(out)["targets"][0]
    check_eq(t["unsettled"], 1, "one message left in flight")
    check_eq(t["in_flight"], 3, "in flight once per pass")
    check_eq(t["passes"], 3, "passes")
    check_eq(queued(db)[5], msgs[5][1], "the held message untouched")
    with db.conn.cursor() as c:
        c.execute("SELECT status FROM rollsafe.runs WHERE run_id = %s",
                  (json.loads(out)["run_id"],))
        check_eq(c.fetchone(), ("incomplete",), "run status")
    out, _ = r.expect(4, "fix", *target(db), "--execute", "--deadline",
                      "300ms", "--format", "json")
    t = json.loads(out)["targets"][0]
    check_eq((t["unsettled"] > 0 or t["deadline_reached"]), True,
             "deadline leaves the run incomplete")
    # The consumer deletes it: gone, and the next fix completes.
    hc.execute('DELETE FROM "it_queue_held".order_events WHERE id = 5')
    held.commit()
    held.close()
    # (no planted messages among the first 300: clean once it is gone)
    out, _ = r.expect(0, "fix", *target(db), "--execute", "--format", "json")
    t = json.loads(out)["targets"][0]
    check_eq(t["unsettled"], 0, "nothing left in flight")


def test_restore_dry_run_sees_consumers(r):
    """After a fix, a consumer deletes one message, marks one 'done' and one
    'processing'; a writer changes a fourth. The restore's dry run (which
    locks nothing) says what --execute then does."""
    recs = Records()
    db, msgs = build("it_queue_restore_dry", recs, 300)
    args = target(db) + ["--in-flight-states", "processing"]
    out, _ = r.expect(0, "fix", *args, "--execute", "--format", "json")
    run_id = json.loads(out)["run_id"]
    now = queued(db)
    fixed = sorted(i for i in now if now[i] != msgs[i][1])
    check(len(fixed) >= 6, "the fix rewrote messages", len(fixed))
    deleted, done, held, changed = fixed[:4]
    t = '"it_queue_restore_dry".order_events'
    db.execute("DELETE FROM %s WHERE id = %%s" % t, deleted)
    db.execute("UPDATE %s SET state = 'done' WHERE id = %%s" % t, done)
    db.execute("UPDATE %s SET state = 'processing' WHERE id = %%s" % t, held)
    db.execute("UPDATE %s SET payload = %%s WHERE id = %%s" % t,
               psycopg2.Binary(recs.v1(9999)), changed)
    queuecheck.check_restore_prediction(r, args, run_id, fixed,
                                        [deleted, done], held, changed,
                                        lambda: queued(db))
    db.execute("UPDATE %s SET state = 'pending' WHERE id = %%s" % t, held)
    dry, _ = check_restore_predicted(r, 0, args, run_id)
    check_eq(dry["restored"], 1, "only the given-back message left")
    check_eq(queued(db)[held], msgs[held][1], "it is restored")


# The plans of a fix's statements, sent to rollsafe's stderr as notices:
# auto_explain logs each plan as a warning, and the writer's sessions pass
# warnings on to the client.
EXPLAIN_ENV = dict(os.environ, PGOPTIONS=(
    "-c session_preload_libraries=auto_explain"
    " -c auto_explain.log_min_duration=0 -c auto_explain.log_level=warning"))


def any_text_states(r, schema, state_type):
    """The any-text scenario of queuecheck on a table whose state column
    is @state_type ('text', or an enum of the states) with an index, and
    20,000 consumed messages beside the scenario's: the fix's pages read
    through the state column's index."""
    recs = Records()
    rows = queuecheck.any_text_rows(recs)
    db = Db(schema)
    if state_type == "enum":
        db.execute('CREATE TYPE "%s".event_state AS ENUM (%s)'
                   % (schema, ", ".join(["%s"] * len(
                       queuecheck.ANY_TEXT_LABELS))),
                   *queuecheck.ANY_TEXT_LABELS)
        state_type = '"%s".event_state' % schema
    db.execute('CREATE TABLE "%s".order_events (id bigint PRIMARY KEY, '
               "payload bytea NOT NULL, state %s NOT NULL)"
               % (schema, state_type))
    db.execute('CREATE INDEX order_events_state ON "%s".order_events (state)'
               % schema)
    with db.conn.cursor() as c:
        c.executemany('INSERT INTO "%s".order_events VALUES (%%s, %%s, %%s)'
                      % schema, [(i, psycopg2.Binary(p), st)
                                 for i, (_, p, st) in rows.items()])
        c.execute('INSERT INTO "%s".order_events SELECT g, %%s, %%s FROM '
                  "generate_series(1000, 20999) g" % schema,
                  (psycopg2.Binary(recs.v1(1000)), "done"))
    db.execute('ANALYZE "%s".order_events' % schema)

    def queued_states():
        with db.conn.cursor() as c:
            c.execute('SELECT id, payload, state::text FROM "%s".order_events'
                      " WHERE id < 1000" % schema)
            return {i: (bytes(p), st) for i, p, st in c.fetchall()}

    def set_state(i, state):
        db.execute('UPDATE "%s".order_events SET state = %%s WHERE id = %%s'
                   % schema, state, i)

    args = queuecheck.any_text_args(db.args("order_events"))
    err = queuecheck.check_any_text_states(r, recs, rows, args, queued_states,
                                           set_state, fix_env=EXPLAIN_ENV)
    pages = [p for p in err.split("WARNING:  duration:")
             if "ORDER BY" in p and "order_events" in p]
    check(len(pages) >= 2, "auto_explain showed the pages' plans", err[-3000:])
    for p in pages:
        check("Index Scan using order_events_state" in p or
              "Bitmap Index Scan on order_events_state" in p,
              "a page reads through the state column's index", p)


def test_any_text_states_text_column(r):
    any_text_states(r, "it_queue_any_text", "text")


def test_any_text_states_enum_column(r):
    any_text_states(r, "it_queue_any_enum", "enum")


TESTS = {name[len("test_"):]: fn for name, fn in globals().items()
         if name.startswith("test_") and callable(fn)}

if __name__ == "__main__":
    sys.exit(run_cases(TESTS))
