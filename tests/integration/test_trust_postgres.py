#!/usr/bin/env python3
"""rollsafe trusts nothing in its schema that it did not make (DESIGN.md,
safety promise 10), and tells what a fix's UPDATEs fire on the target.

Usage: test_trust_postgres.py --rollsafe BIN --work DIR CASE

Against the real PostgreSQL server of the test suite (ctest fixture
pg_server), each case in a database of its own (the schema rollsafe is one
per database, and the shared one is other tests'), with roles of its own
(roles are the cluster's): rs_trust_* are made and dropped here. The
fixer connects as the superuser postgres, the case that matters most.
"""

import json
import os
import sys

import psycopg2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rsdata import Records, check, check_eq, run_cases  # noqa: E402
from test_scan_postgres import conninfo  # noqa: E402


def dsn_of(database, user="postgres"):
    params = dict(p.split("=", 1) for p in conninfo().split())
    params["dbname"], params["user"] = database, user
    return " ".join("%s=%s" % kv for kv in params.items())


def connect(database, user="postgres"):
    c = psycopg2.connect(dsn_of(database, user))
    c.autocommit = True
    return c


def execute(conn, *statements):
    with conn.cursor() as c:
        for sql in statements:
            c.execute(sql)


def query(conn, sql, *args):
    with conn.cursor() as c:
        c.execute(sql, args if args else None)
        return c.fetchall()


def fresh(database, roles):
    """Drops and makes @database and @roles (LOGIN, nothing else)."""
    admin = connect("postgres")
    execute(admin, "DROP DATABASE IF EXISTS %s" % database)
    for role in roles:
        execute(admin, "DROP ROLE IF EXISTS %s" % role,
                "CREATE ROLE %s LOGIN" % role)
    execute(admin, "CREATE DATABASE %s" % database)
    admin.close()
    return connect(database)


def orders(db, recs, n=30):
    """public.orders: a mix the version-1 reader needs converted."""
    execute(db, "CREATE TABLE public.orders (id bigint PRIMARY KEY, "
            "payload bytea NOT NULL)")
    kinds = ["v1", "v2_plain", "v2_gift"]
    with db.cursor() as c:
        c.executemany("INSERT INTO public.orders VALUES (%s, %s)",
                      [(k, psycopg2.Binary(recs.make(kinds[k % 3], k)))
                       for k in range(1, n + 1)])
    return rows(db)


def rows(db):
    return {k: bytes(v) for k, v in query(db, "SELECT id, payload FROM "
                                          "public.orders")}


def target(database, table="public.orders"):
    return ["--postgres", dsn_of(database), "--table", table, "--key", "id",
            "--column", "payload", "--type", "shop.Order"]


def superuser(db, role):
    return query(db, "SELECT rolsuper FROM pg_roles WHERE rolname = %s",
                 role)[0][0]


def run_rows(db):
    if not query(db, "SELECT to_regclass('rollsafe.runs') IS NOT NULL")[0][0]:
        return 0
    return query(db, "SELECT count(*) FROM rollsafe.runs")[0][0]


def test_planted_runs_table_makes_no_superuser(r):
    """The reported attack: a role allowed only CREATE on the database
    makes the schema rollsafe and a table rollsafe.runs (as rollsafe would)
    with a trigger that makes it a superuser, and waits for a superuser's
    `fix --execute`. The fix refuses the schema (exit 2, naming it, its
    owner and what to do), before anything fires: the role stays what it
    was, no run is recorded, no row is touched. runs, restore and purge
    refuse it too."""
    database, mallory = "rs_trust_attack", "rs_trust_mallory"
    recs = Records()
    db = fresh(database, [mallory])
    before = orders(db, recs)
    # What rollsafe.runs looks like: made by rollsafe itself, then moved
    # out of the way, so that the planted copy has its columns whatever
    # version of rollsafe this is.
    r.expect(0, "fix", *target(database), "--execute", "--where", "false")
    execute(db, "ALTER SCHEMA rollsafe RENAME TO rs_template",
            "GRANT USAGE ON SCHEMA rs_template TO %s" % mallory,
            "GRANT SELECT ON rs_template.runs TO %s" % mallory,
            "GRANT CREATE ON DATABASE %s TO %s" % (database, mallory))
    check(not superuser(db, mallory), "the role starts as no superuser")

    attacker = connect(database, mallory)
    execute(attacker,
            "CREATE SCHEMA rollsafe",
            "CREATE TABLE rollsafe.runs (LIKE rs_template.runs "
            "INCLUDING ALL)",
            "CREATE FUNCTION rollsafe.grab() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN "
            "EXECUTE 'ALTER ROLE %s SUPERUSER'; RETURN NEW; END $$" % mallory,
            "CREATE TRIGGER grab BEFORE INSERT OR UPDATE ON rollsafe.runs "
            "FOR EACH ROW EXECUTE FUNCTION rollsafe.grab()",
            "GRANT USAGE ON SCHEMA rollsafe TO PUBLIC",
            "GRANT ALL ON rollsafe.runs TO PUBLIC")
    attacker.close()
    execute(db, "DROP SCHEMA rs_template CASCADE")

    _, err = r.expect(2, "fix", *target(database), "--execute")
    for needle in ("schema rollsafe", mallory, "docs/privileges.md",
                   "refusing"):
        check(needle in err, "the refusal names %r" % needle, err)
    check(not superuser(db, mallory), "the planted trigger never ran: the "
          "role is still no superuser")
    check_eq(run_rows(db), 0, "runs recorded in the planted table")
    check_eq(rows(db), before, "orders after the refused fix")
    check_eq(query(db, "SELECT count(*) FROM pg_class c JOIN pg_namespace n "
                   "ON n.oid = c.relnamespace WHERE n.nspname = 'rollsafe' "
                   "AND c.relkind = 'r'")[0][0], 1,
             "tables in the planted schema (rollsafe created none)")
    # Every command that writes or reads runs refuses it alike.
    for argv in (["runs"], ["restore", "--run", "any", "--execute"],
                 ["restore", "--run", "any"],
                 ["purge", "--run", "any", "--execute"]):
        _, err = r.expect(2, *argv, *target(database))
        check(mallory in err and "schema rollsafe" in err,
              "%s refuses the planted schema" % argv[0], err)
    check(not superuser(db, mallory), "still no superuser")
    # Once the operator drops what was planted, rollsafe makes its own.
    execute(db, "DROP SCHEMA rollsafe CASCADE")
    r.expect(0, "fix", *target(database), "--execute")
    check_eq(query(db, "SELECT pg_get_userbyid(nspowner) FROM pg_namespace "
                   "WHERE nspname = 'rollsafe'")[0][0], "postgres",
             "the schema rollsafe made by the fix")
    db.close()
    connect("postgres").cursor().execute(
        "DROP DATABASE %s" % database)


# What is planted in the fix role's own schema (made by a first fix), how
# it is removed again, and what the refusal must say. Each is refused on
# its own; the schema is clean again between them.
OTHER = "rs_trust_other"
PLANTS = [
    ("a function",
     ["CREATE FUNCTION rollsafe.f() RETURNS int LANGUAGE sql AS 'SELECT 1'"],
     ["DROP FUNCTION rollsafe.f()"], "function rollsafe.f()"),
    ("a sequence", ["CREATE SEQUENCE rollsafe.s"], ["DROP SEQUENCE rollsafe.s"],
     "sequence rollsafe.s"),
    ("a view", ["CREATE VIEW rollsafe.v AS SELECT 1 AS one"],
     ["DROP VIEW rollsafe.v"], "view rollsafe.v"),
    ("a type", ["CREATE TYPE rollsafe.mood AS ENUM ('ok')"],
     ["DROP TYPE rollsafe.mood"], "type rollsafe.mood"),
    ("a trigger of the fix role's own",
     ["CREATE FUNCTION public.noop() RETURNS trigger LANGUAGE plpgsql AS "
      "$$ BEGIN RETURN NEW; END $$",
      "CREATE TRIGGER noop BEFORE INSERT ON rollsafe.backup FOR EACH ROW "
      "EXECUTE FUNCTION public.noop()"],
     ["DROP TRIGGER noop ON rollsafe.backup", "DROP FUNCTION public.noop()"],
     "trigger noop on rollsafe.backup"),
    ("a rule", ["CREATE RULE r AS ON UPDATE TO rollsafe.runs DO ALSO "
                "NOTIFY rs_trust"],
     ["DROP RULE r ON rollsafe.runs"], "rule r on rollsafe.runs"),
    ("a policy", ["CREATE POLICY p ON rollsafe.runs USING (true)"],
     ["DROP POLICY p ON rollsafe.runs"], "policy p on rollsafe.runs"),
    ("row-level security",
     ["ALTER TABLE rollsafe.backup ENABLE ROW LEVEL SECURITY"],
     ["ALTER TABLE rollsafe.backup DISABLE ROW LEVEL SECURITY"],
     "table rollsafe.backup has row-level security enabled"),
    ("CREATE on the schema for another role",
     ["GRANT CREATE ON SCHEMA rollsafe TO %s" % OTHER],
     ["REVOKE CREATE ON SCHEMA rollsafe FROM %s" % OTHER],
     "lets role %s create objects" % OTHER),
    ("a table another role owns",
     ["CREATE TABLE rollsafe.extra (x int)",
      "ALTER TABLE rollsafe.extra OWNER TO %s" % OTHER],
     ["DROP TABLE rollsafe.extra"],
     "table rollsafe.extra is owned by role %s" % OTHER),
    ("rollsafe.runs given to another role",
     ["ALTER TABLE rollsafe.runs OWNER TO %s" % OTHER],
     ["ALTER TABLE rollsafe.runs OWNER TO postgres"],
     "table rollsafe.runs is owned by role %s" % OTHER),
    ("the schema given to another role",
     ["ALTER SCHEMA rollsafe OWNER TO %s" % OTHER],
     ["ALTER SCHEMA rollsafe OWNER TO postgres"],
     "the schema rollsafe is owned by role %s" % OTHER),
    ("UPDATE on the backups for another role",
     ["GRANT UPDATE ON rollsafe.backup TO %s" % OTHER],
     ["REVOKE UPDATE ON rollsafe.backup FROM %s" % OTHER],
     "lets role %s change it (GRANT UPDATE)" % OTHER),
    ("TRIGGER on the runs for everyone",
     ["GRANT TRIGGER ON rollsafe.runs TO PUBLIC"],
     ["REVOKE TRIGGER ON rollsafe.runs FROM PUBLIC"],
     "lets role PUBLIC change it (GRANT TRIGGER)"),
]


def test_only_what_rollsafe_made(r):
    """Everything in the schema must be the fix role's and of the kinds
    rollsafe makes, with no trigger, rule or policy and no other role able
    to change it. Each plant is refused (exit 2, naming it) before any row
    or run is written; removed again, the fix goes on. SELECT for another
    role (a dashboard) is allowed."""
    database = "rs_trust_own"
    recs = Records()
    db = fresh(database, [OTHER])
    orders(db, recs)
    r.expect(0, "fix", *target(database), "--execute", "--where", "id < 3")
    for what, plant, remove, needle in PLANTS:
        execute(db, *plant)
        before, runs_before = rows(db), run_rows(db)
        _, err = r.expect(2, "fix", *target(database), "--execute")
        check(needle in err, "%s: the refusal names it (%r)" % (what, needle),
              err)
        check_eq(rows(db), before, what + ": orders after the refusal")
        check_eq(run_rows(db), runs_before, what + ": runs after the refusal")
        execute(db, *remove)
        r.expect(0, "runs", *target(database))
    execute(db, "GRANT USAGE ON SCHEMA rollsafe TO %s" % OTHER,
            "GRANT SELECT ON rollsafe.runs, rollsafe.backup TO %s" % OTHER)
    r.expect(0, "fix", *target(database), "--execute")
    check_eq(run_rows(db), 2, "runs once the schema is clean")
    db.close()
    connect("postgres").cursor().execute("DROP DATABASE %s" % database)


def test_dry_run_lists_what_updates_fire(r):
    """The dry run (and the execute) list the triggers on UPDATE of the
    target and of its inheritance children, its rules on UPDATE, and its
    policies for UPDATE or ALL once row-level security is on, each with
    what it runs and whose it is: they run with the fixer's rights. What an
    UPDATE does not fire (an INSERT trigger, a SELECT policy) is not
    listed; a table without any lists nothing."""
    database, owner = "rs_trust_hooks", "rs_trust_hook_owner"
    recs = Records()
    db = fresh(database, [owner])
    orders(db, recs)
    execute(db, "CREATE TABLE public.plain (id bigint PRIMARY KEY, "
            "payload bytea)",
            "INSERT INTO public.plain SELECT * FROM public.orders")
    out, _ = r.expect(1, "fix", *target(database, "public.plain"), "--format",
                      "json")
    check_eq(json.loads(out)["targets"][0]["write_hooks"], [],
             "hooks of a table without any")

    execute(db,
            "CREATE FUNCTION public.stamp() RETURNS trigger LANGUAGE plpgsql "
            "AS $$ BEGIN RETURN NEW; END $$",
            "ALTER FUNCTION public.stamp() OWNER TO %s" % owner,
            "CREATE FUNCTION public.audit() RETURNS trigger LANGUAGE plpgsql "
            "SECURITY DEFINER AS $$ BEGIN RETURN NULL; END $$",
            "CREATE TRIGGER a_stamp BEFORE UPDATE ON public.orders FOR EACH "
            "ROW EXECUTE FUNCTION public.stamp()",
            "CREATE TRIGGER b_audit AFTER UPDATE OF payload ON public.orders "
            "FOR EACH STATEMENT EXECUTE FUNCTION public.audit()",
            "CREATE TRIGGER c_insert_only BEFORE INSERT ON public.orders FOR "
            "EACH ROW EXECUTE FUNCTION public.stamp()",
            "CREATE RULE keep AS ON UPDATE TO public.orders DO ALSO NOTIFY "
            "orders_changed",
            "ALTER TABLE public.orders ENABLE ROW LEVEL SECURITY",
            "CREATE POLICY mine ON public.orders FOR UPDATE USING (true)",
            "CREATE POLICY everyone ON public.orders USING (true)",
            "CREATE POLICY readers ON public.orders FOR SELECT USING (true)",
            "CREATE TABLE public.orders_archive () INHERITS (public.orders)",
            "CREATE TRIGGER d_archived BEFORE UPDATE ON public.orders_archive "
            "FOR EACH ROW EXECUTE FUNCTION public.stamp()")
    want = [
        ("trigger", "a_stamp", "public.orders", ["BEFORE UPDATE FOR EACH ROW",
                                          "public.stamp()", owner]),
        ("trigger", "b_audit", "public.orders", ["AFTER UPDATE FOR EACH STATEMENT",
                                          "public.audit()", "postgres",
                                          "SECURITY DEFINER"]),
        ("rule", "keep", "public.orders", ["ON UPDATE DO ALSO",
                                           "--execute fails"]),
        ("policy", "everyone", "public.orders", ["FOR ALL"]),
        ("policy", "mine", "public.orders", ["FOR UPDATE"]),
        ("trigger", "d_archived", "public.orders_archive",
         ["BEFORE UPDATE FOR EACH ROW", "public.stamp()"]),
    ]
    out, _ = r.expect(1, "fix", *target(database))
    listed = list(want)
    for extra in ([], ["--execute"]):
        if extra:
            # PostgreSQL refuses rules in a batch's statement (the dry run
            # said so): the execute runs without it.
            execute(db, "DROP RULE keep ON public.orders")
            want = [w for w in want if w[0] != "rule"]
        doc, _ = r.expect(0 if extra else 1, "fix", *target(database),
                          "--format", "json", *extra)
        hooks = json.loads(doc)["targets"][0]["write_hooks"]
        check_eq(sorted((h["kind"], h["name"], h["table"]) for h in hooks),
                 sorted((k, n, t) for k, n, t, _ in want),
                 "hooks listed %s" % (extra or "by the dry run"))
        by_name = {h["name"]: h for h in hooks}
        for kind, name, _, words in want:
            for w in words:
                check(w in by_name[name]["detail"],
                      "%s %s: %r in its detail" % (kind, name, w),
                      by_name[name])
    for _, name, table, _ in listed:
        check("%s on %s" % (name, table) in out, "text report lists %s" % name,
              out)
    check("rights of the role it connects as" in out,
          "the text says whose rights they run with", out)
    check("c_insert_only" not in out and "readers" not in out,
          "what an UPDATE does not fire is not listed", out)
    db.close()
    connect("postgres").cursor().execute("DROP DATABASE %s" % database)


TESTS = {name[len("test_"):]: fn for name, fn in globals().items()
         if name.startswith("test_") and callable(fn)}

if __name__ == "__main__":
    sys.exit(run_cases(TESTS))
