#!/usr/bin/env python3
"""Integration tests of column encodings (--column-encoding base64|hex) on
the real PostgreSQL server of the test suite (ctest fixture pg_server):
every variant through scan, fix and restore in text and varchar columns
(test_colenc_sqlite.py has the variants and the checks), and the
column-type errors.

Usage: test_colenc_postgres.py --rollsafe BIN --work DIR CASE
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rsdata import Records, check, run_cases  # noqa: E402
from test_colenc_sqlite import (check_composite, check_cycle,  # noqa: E402
                                composite_rows, make_rows)
from test_scan_postgres import Db  # noqa: E402


def pg_rows(db):
    def read():
        with db.conn.cursor() as c:
            c.execute('SELECT id, payload FROM "%s".t' % db.schema)
            return dict(c.fetchall())
    return read


def pg_cycle(r, variant, column_type):
    recs = Records()
    rows, _ = make_rows(recs, variant)
    db = Db("it_colenc_" + variant)
    db.execute('CREATE TABLE "%s".t (id bigint PRIMARY KEY, payload %s)'
               % (db.schema, column_type))
    with db.conn.cursor() as c:
        c.executemany('INSERT INTO "%s".t VALUES (%%s, %%s)' % db.schema, rows)
    check_cycle(r, recs, variant, db.args("t"), pg_rows(db),
                "column 'payload' is %s; records stored as text need "
                "--column-encoding base64 or hex" % column_type)


def test_base64_std_padded(r):
    pg_cycle(r, "base64_std_padded", "text")


def test_base64_std_bare(r):
    pg_cycle(r, "base64_std_bare", "character varying")


def test_base64_url_padded(r):
    pg_cycle(r, "base64_url_padded", "text")


def test_base64_url_bare(r):
    pg_cycle(r, "base64_url_bare", "text")


def test_hex_lower(r):
    pg_cycle(r, "hex_lower", "text")


def test_hex_upper(r):
    pg_cycle(r, "hex_upper", "character varying")


def test_hex_psql(r):
    pg_cycle(r, "hex_psql", "text")


def test_hex_psql_upper(r):
    pg_cycle(r, "hex_psql_upper", "text")


def test_type_mismatch(r):
    db = Db("it_colenc_mismatch")
    db.execute('CREATE TABLE "%s".n (id bigint PRIMARY KEY, payload integer)'
               % db.schema)
    db.execute('CREATE TABLE "%s".j (id bigint PRIMARY KEY, payload jsonb)'
               % db.schema)
    db.execute('CREATE TABLE "%s".v (id bigint PRIMARY KEY, '
               'payload varchar(300))' % db.schema)
    cases = [("n", "hex", "column 'payload' is integer, which cannot hold "
              "records whatever the column encoding"),
             ("n", "binary", "column 'payload' is integer, which cannot "
              "hold records"),
             ("j", "base64", "column 'payload' is jsonb, which cannot hold "
              "records"),
             ("v", "binary", "column 'payload' is character varying(300); "
              "records stored as text need --column-encoding base64 or hex")]
    for table, enc, message in cases:
        for cmd in (["scan"], ["fix"], ["fix", "--execute"]):
            _, err = r.expect(2, *cmd, *db.args(table), "--column-encoding",
                              enc)
            check(message in err, "%s as %s: %s" % (table, enc, cmd), err)
    _, err = r.expect(2, "restore", *db.args("n"), "--run", "x")
    check("no run 'x'" in err, "restore refused", err)


def test_composite_key(r):
    # A text column under a composite key (a JSON array taken apart by the
    # server).
    recs = Records()
    variant = "hex_psql"
    rows, _ = composite_rows(recs, variant)
    db = Db("it_colenc_composite")
    db.execute('CREATE TABLE "%s".t (tenant text, id bigint, payload '
               'varchar, PRIMARY KEY (tenant, id))' % db.schema)
    with db.conn.cursor() as c:
        c.executemany('INSERT INTO "%s".t VALUES (%%s, %%s, %%s)' % db.schema,
                      rows)
    check_composite(r, recs, variant, "hex", db.args("t", key="tenant,id"),
                    pg_rows(db))


TESTS = {name[len("test_"):]: fn for name, fn in globals().items()
         if name.startswith("test_") and callable(fn)}

if __name__ == "__main__":
    sys.exit(run_cases(TESTS))
