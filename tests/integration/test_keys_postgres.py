#!/usr/bin/env python3
"""Keys of every shape on PostgreSQL: bigint (negative, 64-bit), text
(commas, quotes, parentheses, unicode), uuid, composite keys of two and
three columns, a partitioned table of three partitions and an inherited
one, a table without a key; each through scan, fix killed and resumed,
restore, runs and purge (keycases.scenario), against the real server of
the test suite (ctest fixture pg_server).

Usage: test_keys_postgres.py --rollsafe BIN --work DIR CASE
"""

import json
import os
import sys
import uuid

import psycopg2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rsdata import Records, check, check_eq, run_cases  # noqa: E402
from test_scan_postgres import conninfo  # noqa: E402
import keycases  # noqa: E402

TRICKY_TEXT = ["a,b", 'quote"d', "(paren)", "back\\slash", "ünïcødé ✓",
               "10", "9", " lead", "[1,2]", "tab\tin", "x" * 300]


class Pg:
    def __init__(self, schema, ddl):
        self.schema = schema
        self.ddl = ddl
        self.dsn = conninfo()
        self.conn = psycopg2.connect(self.dsn)
        self.conn.autocommit = True
        self.execute('DROP SCHEMA IF EXISTS "%s" CASCADE' % schema)
        self.execute('CREATE SCHEMA "%s"' % schema)

    def execute(self, sql, *args):
        with self.conn.cursor() as c:
            c.execute(sql, args if args else None)

    def create(self, table, key_cols, rows):
        for stmt in self.ddl:
            self.execute(stmt.replace("{s}", '"%s"' % self.schema))
        cols = ", ".join(key_cols)
        with self.conn.cursor() as c:
            c.executemany(
                'INSERT INTO "%s"."%s" (%s, payload) VALUES (%s)' % (
                    self.schema, table, cols,
                    ", ".join(["%s"] * (len(key_cols) + 1))),
                [(*k, psycopg2.Binary(v)) for k, v in rows])

    def rows(self, table, key_cols):
        with self.conn.cursor() as c:
            c.execute('SELECT %s, payload FROM "%s"."%s"' % (
                ", ".join(key_cols), self.schema, table))
            return {tuple(str(x) if isinstance(x, uuid.UUID) else x
                          for x in r[:-1]): bytes(r[-1])
                    for r in c.fetchall()}

    def backups(self, run_id):
        with self.conn.cursor() as c:
            c.execute("SELECT to_regclass('rollsafe.backup') IS NOT NULL")
            if not c.fetchone()[0]:
                return {}
            c.execute("SELECT key, old_value, new_value FROM rollsafe.backup"
                      " WHERE run_id = %s", (run_id,))
            return {k: (bytes(o), bytes(n)) for k, o, n in c.fetchall()}

    def args(self, table, key):
        return ["--postgres", self.dsn, "--table",
                "%s.%s" % (self.schema, table), "--key", key, "--column",
                "payload", "--type", "shop.Order"]


def run(r, schema, ddl, key_cols, keys):
    be = Pg(schema, ddl)
    keycases.scenario(r, be, "t", key_cols, keys, Records())
    return be


def test_bigint_key(r):
    keys = [(v,) for v in (-9223372036854775808, 9223372036854775807, -1, 0,
                           1, 2, 10, 9, -10, 4294967296, 3, 4, 5, 6)]
    run(r, "kp_bigint",
        ["CREATE TABLE {s}.t (id bigint PRIMARY KEY, payload bytea)"], ["id"],
        keys)


def test_text_key(r):
    keys = [(v,) for v in TRICKY_TEXT + ["k%d" % i for i in range(6)]]
    run(r, "kp_text",
        ["CREATE TABLE {s}.t (id text PRIMARY KEY, payload bytea)"], ["id"],
        keys)


def test_uuid_key(r):
    keys = [(str(uuid.UUID(int=(i * 0x9E3779B97F4A7C15) % (1 << 128))),)
            for i in range(14)]
    run(r, "kp_uuid",
        ["CREATE TABLE {s}.t (id uuid PRIMARY KEY, payload bytea)"], ["id"],
        keys)


def test_composite_two_columns(r):
    keys = [(t, i) for t in ("acme", "a,b", 'q"t', "(x)") for i in
            (-5, 42, 9223372036854775807)]
    run(r, "kp_comp2",
        ["CREATE TABLE {s}.t (tenant text, id bigint, payload bytea,"
         " PRIMARY KEY (tenant, id))"], ["tenant", "id"], keys)


def test_composite_three_columns_with_uuid(r):
    keys = [(reg, str(uuid.UUID(int=i + 1)), n) for i, reg in
            enumerate(("eu", "us", "ünï")) for n in (1, -2, 30, 7)]
    be = run(r, "kp_comp3",
             ["CREATE TABLE {s}.t (region text NOT NULL, tenant uuid NOT NULL,"
              " n int NOT NULL, payload bytea, UNIQUE (n, region, tenant))"],
             ["region", "tenant", "n"], keys)
    # A unique index on columns that may hold NULL does not name rows.
    be.execute('CREATE TABLE "kp_comp3".u (a text, b int, payload bytea,'
               ' UNIQUE (a, b))')
    _, err = r.expect(2, "scan", *be.args("u", "a,b"))
    check("without a primary key or unique not-null column" in err,
          "refused", err)


def test_partitioned_table(r):
    # Three partitions, scanned, fixed and restored through the parent; the
    # primary key includes the partition key, as PostgreSQL requires.
    keys = [(reg, i) for i, reg in enumerate(
        ["eu", "us", "ap"] * 6, start=1)]
    be = run(r, "kp_part",
             ["CREATE TABLE {s}.t (region text, id bigint, payload bytea,"
              " PRIMARY KEY (region, id)) PARTITION BY LIST (region)",
              "CREATE TABLE {s}.t_eu PARTITION OF {s}.t FOR VALUES IN ('eu')",
              "CREATE TABLE {s}.t_us PARTITION OF {s}.t FOR VALUES IN ('us')",
              "CREATE TABLE {s}.t_ap PARTITION OF {s}.t FOR VALUES IN ('ap')"],
             ["region", "id"], keys)
    # Every partition holds rows: the scenario covered all three.
    for part in ("t_eu", "t_us", "t_ap"):
        check_eq(len(be.rows(part, ["region", "id"])), 6, part)
    # Without --key the partitioned table's primary key is taken.
    doc, _ = r.scan_json(1, "--postgres", be.dsn, "--table", "kp_part.t",
                         "--column", "payload", "--type", "shop.Order")
    check_eq(doc["targets"][0]["key"], "region,id", "the primary key")


def test_inherited_table(r):
    # A parent with an inheritance child: the parent's scan and fix read
    # the child's rows as well, as a SELECT on the parent does.
    keys = [(i,) for i in range(1, 15)]
    be = Pg("kp_inh", [
        "CREATE TABLE {s}.t (id bigint PRIMARY KEY, payload bytea)",
        "CREATE TABLE {s}.t_child () INHERITS ({s}.t)"])
    create = be.create

    def create_split(table, cols, rows):
        create(table, cols, rows[:7])
        be.execute('INSERT INTO "kp_inh".t_child (id, payload) VALUES ' +
                   ", ".join(["(%s, %s)"] * len(rows[7:])),
                   *[x for k, v in rows[7:] for x in (k[0],
                                                      psycopg2.Binary(v))])
    be.create = create_split
    keycases.scenario(r, be, "t", ["id"], keys, Records())
    with be.conn.cursor() as c:
        c.execute('SELECT count(*) FROM ONLY "kp_inh".t_child')
        check_eq(c.fetchone()[0], 7, "the child holds its rows")


def test_no_key_table(r):
    be = Pg("kp_nokey", [
        "CREATE TABLE {s}.events (ref text, payload bytea)"])
    recs = Records()
    rows = keycases.make_rows(recs, [("r%d" % i,) for i in range(7)])
    be.create("events", ["ref"], [(k, v) for k, v, _, _ in rows])
    args = ["--postgres", be.dsn, "--table", "kp_nokey.events", "--column",
            "payload", "--type", "shop.Order"]
    doc, _ = r.scan_json(1, *args)
    t = doc["targets"][0]
    check_eq(t["key"], "", "no key")
    check("not identities" in t["key_note"], "the note", t["key_note"])
    keys = [s["key"] for v in t["samples"].values() for s in v]
    check_eq(len(keys), sum(1 for _, _, kind, _ in rows if kind != "v1"),
             "every unreadable row named")
    check(all(k.startswith("ctid (") for k in keys), "by ctid", keys)
    before = be.rows("events", ["ref"])
    _, err = r.expect(2, "fix", *args, "--execute")
    check("has no primary key or unique not-null column; fix needs one to "
          "name rows" in err and "kp_nokey.events" in err
          and "scan can name rows by ctid" in err,
          "fix refused, naming what is missing", err)
    check_eq(be.rows("events", ["ref"]), before, "nothing written")
    _, err = r.expect(2, "scan", *args, "--key", "ref")
    check("refusing a table without a primary key" in err, "--key refused",
          err)


def test_partitioned_table_without_key(r):
    # Positions in a partitioned table name the partition with the ctid.
    be = Pg("kp_partnokey", [
        "CREATE TABLE {s}.events (region text, payload bytea)"
        " PARTITION BY LIST (region)",
        "CREATE TABLE {s}.e_a PARTITION OF {s}.events FOR VALUES IN ('a')",
        "CREATE TABLE {s}.e_b PARTITION OF {s}.events FOR VALUES IN ('b')"])
    recs = Records()
    rows = keycases.make_rows(recs, [("ab"[i % 2],) for i in range(6)])
    be.create("events", ["region"], [(k, v) for k, v, _, _ in rows])
    doc, _ = r.scan_json(1, "--postgres", be.dsn, "--table",
                         "kp_partnokey.events", "--column", "payload",
                         "--type", "shop.Order")
    keys = [s["key"] for v in doc["targets"][0]["samples"].values()
            for s in v]
    check(keys and all(" ctid (" in k and k.split(" ctid ")[0] in
                       ("kp_partnokey.e_a", "kp_partnokey.e_b")
                       for k in keys), "partition and ctid", keys)
    check_eq(len(set(keys)), len(keys), "positions distinct")


def test_queue_with_composite_key(r):
    # A queue keyed by (tenant, seq): pending messages are rewritten by
    # their composite key (SKIP LOCKED batches), others left alone.
    be = Pg("kp_queue", [])
    be.execute('CREATE TABLE "kp_queue".q (tenant text, seq bigint,'
               ' payload bytea, state text NOT NULL,'
               ' PRIMARY KEY (tenant, seq))')
    recs = Records()
    rows = []
    for i in range(12):
        state = ("pending", "processing", "done")[i % 3]
        rows.append((("t,%d" % (i % 2), i), state, i + 1))
        be.execute('INSERT INTO "kp_queue".q VALUES (%s, %s, %s, %s)',
                   "t,%d" % (i % 2), i,
                   psycopg2.Binary(recs.make("v2_plain", i + 1)), state)
    args = be.args("q", "tenant,seq") + [
        "--queue", "--state-column", "state", "--pending-states", "pending",
        "--in-flight-states", "processing"]
    out, _ = r.expect(4, "fix", *args, "--max-passes", "1", "--execute",
                      "--format", "json", "--samples", "100")
    doc = json.loads(out)
    t = doc["targets"][0]
    check_eq(t["outcomes"]["converted"], 4, "pending messages converted")
    with be.conn.cursor() as c:
        c.execute('SELECT tenant, seq, payload FROM "kp_queue".q')
        now = {(k, n): bytes(p) for k, n, p in c.fetchall()}
    for key, state, n in rows:
        if state == "pending":
            m = recs.v1m.Order()
            m.ParseFromString(now[key])
            want = recs.v1m.Order()
            want.ParseFromString(recs.v1(n))
            check_eq(m, want, "message %r converted" % (key,))
        else:
            check_eq(now[key], recs.make("v2_plain", n),
                     "message %r left alone" % (key,))
    out, _ = r.expect(0, "restore", *args, "--run", doc["run_id"],
                      "--execute", "--format", "json")
    check_eq(json.loads(out)["restored"], 4, "restored by composite key")
    with be.conn.cursor() as c:
        c.execute('SELECT tenant, seq, payload FROM "kp_queue".q')
        now = {(k, n): bytes(p) for k, n, p in c.fetchall()}
    for key, _, n in rows:
        check_eq(now[key], recs.make("v2_plain", n), "%r restored" % (key,))


TESTS = {name[len("test_"):]: fn for name, fn in globals().items()
         if name.startswith("test_") and callable(fn)}

if __name__ == "__main__":
    sys.exit(run_cases(TESTS))
