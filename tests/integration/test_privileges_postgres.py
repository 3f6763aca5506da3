#!/usr/bin/env python3
"""The least-privilege roles of docs/privileges.md, made by running the
document's own SQL against the real server, do what the document says:
the scan role reads and cannot write, its scan runs in a read-only
transaction, the fix role fixes, restores, lists and purges with exactly
those grants, and a statement_timeout set on a role does not cut a scan
or a dry run short.

Usage: test_privileges_postgres.py --rollsafe BIN --work DIR CASE

Each case makes a database and two roles of its own from the document
(names rewritten: database shop -> rs_priv_<case>, rollsafe_scan and
rollsafe_fix -> rs_priv_<case>_scan, _fix), so that cases run in
parallel; the server is the suite's (ctest fixture pg_server).
"""

import json
import os
import re
import sys

import psycopg2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rsdata import (ROOT, Failure, Records, check, check_eq,  # noqa: E402
                    run_cases)
from test_trust_postgres import connect, dsn_of  # noqa: E402

DOC = os.path.join(ROOT, "docs", "privileges.md")


def doc_statements():
    """The SQL of the document's ```sql blocks, one statement each."""
    with open(DOC) as f:
        text = f.read()
    blocks = re.findall(r"```sql\n(.*?)```", text, re.S)
    check(len(blocks) == 2, "docs/privileges.md has the scan and the fix "
          "role's SQL", blocks)
    return [[s.strip() for s in b.split(";") if s.strip()] for b in blocks]


def query(conn, sql, *args):
    with conn.cursor() as c:
        c.execute(sql, args if args else None)
        return c.fetchall() if c.description else None


class Setup:
    """The database and roles of one case, as the document makes them."""

    def __init__(self, tag, recs):
        self.database = "rs_priv_%s" % tag
        self.scan_role = "rs_priv_%s_scan" % tag
        self.fix_role = "rs_priv_%s_fix" % tag
        admin = connect("postgres")
        query(admin, "DROP DATABASE IF EXISTS %s" % self.database)
        for role in (self.scan_role, self.fix_role):
            query(admin, "DROP ROLE IF EXISTS %s" % role)
        query(admin, "CREATE DATABASE %s" % self.database)
        admin.close()
        self.db = connect(self.database)
        query(self.db, "CREATE TABLE public.orders (id bigint PRIMARY KEY, "
              "payload bytea NOT NULL, note text)")
        query(self.db, "CREATE TABLE public.order_events (id bigint PRIMARY "
              "KEY, payload bytea NOT NULL, state text NOT NULL)")
        kinds = ["v1", "v2_plain", "v2_gift", "v2_guest"]
        with self.db.cursor() as c:
            for k in range(1, 201):
                data = psycopg2.Binary(recs.make(kinds[k % 4], k))
                c.execute("INSERT INTO public.orders VALUES (%s, %s, 'n')",
                          (k, data))
                c.execute("INSERT INTO public.order_events VALUES "
                          "(%s, %s, %s)", (k, data,
                                           "done" if k % 5 == 0
                                           else "pending"))
        rename = [("DATABASE shop", "DATABASE " + self.database),
                  ("rollsafe_scan", self.scan_role),
                  ("rollsafe_fix", self.fix_role)]
        for block in doc_statements():
            for sql in block:
                for a, b in rename:
                    sql = sql.replace(a, b)
                query(self.db, sql)

    def target(self, table="public.orders", user="postgres", queue=False):
        argv = ["--postgres", dsn_of(self.database, user), "--table", table,
                "--key", "id", "--column", "payload", "--type", "shop.Order"]
        if queue:
            argv += ["--queue", "--state-column", "state"]
        return argv

    def rows(self, table="public.orders"):
        return {k: bytes(v) for k, v in query(
            self.db, "SELECT id, payload FROM %s" % table)}

    def drop(self):
        self.db.close()
        admin = connect("postgres")
        query(admin, "DROP DATABASE %s" % self.database)
        for role in (self.scan_role, self.fix_role):
            query(admin, "DROP ROLE %s" % role)
        admin.close()


def refused(database, role, codes, *statements):
    """Each of @statements, run as @role by itself, fails with one of the
    SQLSTATEs @codes (read-only transaction, insufficient privilege)."""
    own = connect(database, role)
    try:
        for sql in statements:
            try:
                query(own, sql)
            except psycopg2.Error as e:
                check(e.pgcode in codes, "refused: " + sql, e.pgcode, str(e))
                continue
            raise Failure("role %s ran: %s" % (role, sql))
    finally:
        own.close()


def verdicts(r, code, argv):
    doc, _ = r.scan_json(code, *argv)
    check_eq(doc["complete"], True, "scan complete")
    return doc["totals"]["verdicts"]


def test_scan_role_reads_only(r):
    recs = Records()
    s = Setup("scan", recs)
    before = s.rows()
    # The scan role scans a table and a queue.
    got = verdicts(r, 1, s.target(user=s.scan_role))
    check_eq(sum(got.values()), 200, "records the scan role counted")
    check(got["unreadable"] > 0, "it finds what the reader cannot read", got)
    got_queue = verdicts(r, 1, s.target("public.order_events",
                                        s.scan_role, queue=True))
    check_eq(sum(got_queue.values()), 160, "pending messages counted")
    # Its transaction is read-only: every row passes a condition that holds
    # only there (and only the role's setting is not what makes it so: the
    # superuser's scan is read-only as well).
    ro = "pg_catalog.current_setting('transaction_read_only') = 'on'"
    for user in (s.scan_role, "postgres"):
        check_eq(verdicts(r, 1, s.target(user=user) + ["--where", ro]), got,
                 "verdicts of rows seen in a read-only transaction (%s)"
                 % user)
    # A --where that writes cannot, even for the superuser.
    query(s.db, "CREATE TABLE public.probe (n int)")
    query(s.db, "CREATE FUNCTION public.rs_probe() RETURNS boolean "
          "LANGUAGE sql AS 'INSERT INTO public.probe VALUES (1) RETURNING "
          "true'")
    _, err = r.expect(3, "scan", *s.target(), "--where", "public.rs_probe()")
    check("read-only transaction" in err, "the write is refused", err)
    check_eq(query(s.db, "SELECT count(*) FROM public.probe")[0][0], 0,
             "rows the probe wrote")
    # The scan role cannot write: not through rollsafe, not by itself.
    _, err = r.expect(2, "fix", *s.target(user=s.scan_role), "--execute")
    check("read-only" in err, "fix --execute as the scan role", err)
    _, err = r.expect(2, "runs", *s.target(user=s.scan_role))
    refused(s.database, s.scan_role, ("25006", "42501"),
            "UPDATE public.orders SET payload = payload",
            "SET default_transaction_read_only = off; "
            "UPDATE public.orders SET payload = payload",
            "CREATE TABLE public.mine (x int)")
    check_eq(s.rows(), before, "orders after everything the scan role did")
    s.drop()


def test_fix_role_with_exactly_the_grants(r):
    recs = Records()
    s = Setup("fix", recs)
    before = s.rows()
    fix = s.target(user=s.fix_role)
    out, _ = r.expect(1, "fix", *fix, "--format", "json")
    would = json.loads(out)["rewritten"]
    check(would > 0, "the dry run finds records to convert", would)
    out, _ = r.expect(1, "fix", *fix, "--execute", "--format", "json")
    doc = json.loads(out)
    check_eq(doc["rewritten"], would, "converted by the fix role")
    run_id = doc["run_id"]
    check_eq(query(s.db, "SELECT pg_get_userbyid(c.relowner) FROM pg_class c "
                   "WHERE c.oid = 'rollsafe.runs'::regclass")[0][0],
             s.fix_role, "owner of rollsafe.runs")
    # The queue (FOR UPDATE SKIP LOCKED needs its UPDATE grant).
    qfix = s.target("public.order_events", s.fix_role, queue=True)
    out, _ = r.expect(1, "fix", *qfix, "--execute", "--format", "json")
    check(json.loads(out)["rewritten"] > 0, "the queue is fixed", out[:500])
    out, _ = r.expect(0, "runs", *fix, "--format", "json")
    check(run_id in out, "runs lists the run", out)
    r.expect(0, "restore", *fix, "--run", run_id)
    r.expect(0, "restore", *fix, "--run", run_id, "--execute")
    check_eq(s.rows(), before, "orders after the restore")
    r.expect(0, "purge", *fix, "--run", run_id, "--execute")
    # A superuser's fix refuses the schema the fix role owns: the role
    # could have planted what would run with the superuser's rights.
    _, err = r.expect(2, "fix", *s.target(), "--execute")
    check(s.fix_role in err and "schema rollsafe" in err,
          "the superuser's fix refuses the fix role's schema", err)
    # Nothing beyond the grants: another column, another schema.
    refused(s.database, s.fix_role, ("42501",),
            "UPDATE public.orders SET note = 'x'", "CREATE SCHEMA elsewhere",
            "DELETE FROM public.orders")
    s.drop()


def test_role_statement_timeout_is_not_inherited(r):
    """A statement_timeout set on the role (meant for an application's
    short queries) does not end a scan or a dry run: they set their own
    (none), and --statement-timeout sets one that ends the scan with exit
    4. Each read here takes a few hundred milliseconds (a sleep per row in
    --where): longer than the role's 1 ms, far shorter than no limit."""
    recs = Records()
    s = Setup("timeout", recs)
    for role in (s.scan_role, s.fix_role):
        query(s.db, "ALTER ROLE %s SET statement_timeout = '1ms'" % role)
    # pg_sleep is volatile: evaluated for every row.
    slow = ["--where", "pg_catalog.pg_sleep(0.002)::text = ''"]
    got = verdicts(r, 1, s.target(user=s.scan_role) + slow)
    check_eq(sum(got.values()), 200, "records the scan counted")
    r.expect(1, "fix", *s.target(user=s.fix_role), *slow)
    r.expect(1, "fix", *s.target(user=s.fix_role), "--execute")
    # A limit the operator gives does apply: exit 4, incomplete.
    _, err = r.expect(4, "scan", *s.target(user=s.scan_role), *slow,
                      "--statement-timeout", "20ms")
    check("statement timeout" in err, "the scan says what stopped it", err)
    cfg = os.path.join(r.work, "rollsafe.yaml")
    with open(cfg, "w") as f:
        f.write("statement_timeout: 20ms\ntargets:\n"
                "  - {name: orders, kind: postgres-table, connection: '%s',"
                " table: public.orders, key: id, column: payload,"
                " type: shop.Order, where: \"%s\"}\n"
                % (dsn_of(s.database, s.scan_role), slow[1]))
    r.expect(4, "scan", "-c", cfg)
    s.drop()


TESTS = {name[len("test_"):]: fn for name, fn in globals().items()
         if name.startswith("test_") and callable(fn)}

if __name__ == "__main__":
    sys.exit(run_cases(TESTS))
