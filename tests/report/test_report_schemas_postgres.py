#!/usr/bin/env python3
"""The reports of PostgreSQL targets match their schemas
(schema/json/, docs/reports.md): the demo's orders and order-events outbox
copied into a table and a queue of the test server (tests/pg/pg_server.sh,
ctest fixture pg_server), then scan, fix (dry run and execute), runs,
restore and purge through a config, every document validated.

Usage: test_report_schemas_postgres.py --rollsafe BIN --work DIR CASE
(ctest: report_schemas_postgres.<case>)
"""

import os
import sqlite3
import sys

import psycopg2

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from schemacheck import validated  # noqa: E402
from rsdata import Failure, check, check_eq, run_cases  # noqa: E402

SCHEMA = "report_schemas"


def conninfo():
    path = os.environ.get("RS_PG_CONNINFO_FILE")
    if not path or not os.path.exists(path):
        raise Failure("no PostgreSQL test server: RS_PG_CONNINFO_FILE=%r "
                      "(run through ctest, which starts it)" % path)
    with open(path) as f:
        return f.read().strip()


def load(dsn, demo_db):
    """The demo's two tables in schema SCHEMA of the server."""
    lite = sqlite3.connect(demo_db)
    orders = list(lite.execute("SELECT id, payload FROM orders"))
    events = list(lite.execute(
        "SELECT id, payload, state FROM order_events"))
    lite.close()
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    with conn.cursor() as c:
        c.execute('DROP SCHEMA IF EXISTS "%s" CASCADE' % SCHEMA)
        c.execute('CREATE SCHEMA "%s"' % SCHEMA)
        c.execute('CREATE TABLE "%s".orders (id bigint PRIMARY KEY, '
                  'payload bytea)' % SCHEMA)
        c.execute('CREATE TABLE "%s".order_events (id bigint PRIMARY KEY, '
                  'payload bytea NOT NULL, state text NOT NULL)' % SCHEMA)
        c.executemany('INSERT INTO "%s".orders VALUES (%%s, %%s)' % SCHEMA,
                      [(k, psycopg2.Binary(p)) for k, p in orders])
        c.executemany('INSERT INTO "%s".order_events VALUES (%%s, %%s, %%s)'
                      % SCHEMA, [(k, psycopg2.Binary(p), s)
                                 for k, p, s in events])
    conn.close()


def test_scan_fix_runs_restore(r):
    dsn = conninfo()
    demo = os.path.join(r.work, "demo")
    r.expect(0, "demo", "--rows", "400", demo)
    load(dsn, os.path.join(demo, "demo.db"))
    cfg = os.path.join(r.work, "rollsafe.yaml")
    with open(cfg, "w") as f:
        f.write("""feature: checkout_v2
reader_version: 1
reader_framing: envelope
targets:
  - name: orders
    kind: postgres-table
    connection: "%(dsn)s"
    table: %(s)s.orders
    key: id
    column: payload
    type: shop.Order
  - name: order-events
    kind: postgres-queue
    connection: "%(dsn)s"
    table: %(s)s.order_events
    key: id
    column: payload
    type: shop.Order
    state_column: state
    pending_states: [pending]
    in_flight_states: [processing]
""" % {"dsn": dsn, "s": SCHEMA})

    def doc(code, *argv):
        out, _ = r.expect(code, *argv, "--format", "json")
        return validated(out, argv[0] + " of PostgreSQL targets")

    scan = doc(1, "scan", "-c", cfg)
    check_eq(sorted(t["kind"] for t in scan["targets"]),
             ["postgres-queue", "postgres-table"], "target kinds")
    doc(1, "fix", "-c", cfg)
    done = doc(1, "fix", "-c", cfg, "--execute", "--allow-lossy")
    check(done["rewritten"] > 0, "rewritten", done["rewritten"])
    run = done["run_id"]
    runs = doc(0, "runs", "-c", cfg)
    check(run in [x["run_id"] for v in runs["targets"].values() for x in v],
          "runs lists the run", runs)
    doc(0, "restore", "-c", cfg, "--run", run)
    doc(0, "restore", "-c", cfg, "--run", run, "--execute")
    doc(0, "purge", "-c", cfg, "--run", run, "--execute")
    doc(0, "runs", "-c", cfg)


if __name__ == "__main__":
    sys.exit(run_cases({n[5:]: f for n, f in sorted(globals().items())
                        if n.startswith("test_") and callable(f)}))
