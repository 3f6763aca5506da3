#!/usr/bin/env python3
"""A small runner for the numbered migrations of migrations/ (or of any
folder in the same plain convention), for the rehearsal tests and the CI
example. It is not part of rollsafe: a service keeps its own tool.

    migrate.py --sqlite FILE   [--dir DIR] up [VERSION]
    migrate.py --postgres DSN  [--dir DIR] down VERSION
    migrate.py ... status

NNNN_name.up.sql applies migration NNNN, NNNN_name.down.sql reverts it.
`up` applies every migration not applied yet (up to VERSION when given),
`down VERSION` reverts the applied ones above VERSION, newest first. Each
migration runs in one transaction with its row in schema_migrations
(version, name, applied_at), the table golang-migrate and others keep too.
With --postgres, tables are created in the connection's current schema
(set search_path through the DSN's options to choose another).
"""

import argparse
import os
import re
import sqlite3
import sys

NAME = re.compile(r"^(\d+)_([A-Za-z0-9_]+)\.(up|down)\.sql$")


class MigrationError(Exception):
    pass


def scan_dir(path):
    """[(version, name, up_path, down_path)] in version order."""
    found = {}
    for f in sorted(os.listdir(path)):
        m = NAME.match(f)
        if not m:
            continue
        v = int(m.group(1))
        entry = found.setdefault(v, {"name": m.group(2)})
        if entry["name"] != m.group(2):
            raise MigrationError("%s: version %d has two names: %s and %s"
                                 % (path, v, entry["name"], m.group(2)))
        entry[m.group(3)] = os.path.join(path, f)
    out = []
    for v in sorted(found):
        e = found[v]
        for d in ("up", "down"):
            if d not in e:
                raise MigrationError("%s: migration %04d_%s has no .%s.sql"
                                     % (path, v, e["name"], d))
        out.append((v, e["name"], e["up"], e["down"]))
    if not out:
        raise MigrationError("%s: no NNNN_name.up.sql files" % path)
    return out


class SqliteDb:
    def __init__(self, path):
        self.conn = sqlite3.connect(path, isolation_level=None)
        # WAL, as a database whose outbox workers, writers and a fix run at
        # once should be: readers (a fix's pages, old_reader) never wait
        # for a writer, and writers wait only for each other. The mode is
        # kept in the file.
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER "
            "PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL "
            "DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))")

    def applied(self):
        return [r[0] for r in self.conn.execute(
            "SELECT version FROM schema_migrations ORDER BY version")]

    def run(self, sql, version, name, up):
        record = ("INSERT INTO schema_migrations (version, name) VALUES "
                  "(%d, '%s')" % (version, name) if up else
                  "DELETE FROM schema_migrations WHERE version = %d" % version)
        try:
            self.conn.executescript("BEGIN;\n%s\n;%s;\nCOMMIT;"
                                    % (sql, record))
        except sqlite3.Error:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise

    def close(self):
        self.conn.close()


class PostgresDb:
    def __init__(self, dsn):
        import psycopg2
        self.conn = psycopg2.connect(dsn)
        with self.conn, self.conn.cursor() as c:
            c.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version "
                      "integer PRIMARY KEY, name text NOT NULL, applied_at "
                      "timestamptz NOT NULL DEFAULT now())")

    def applied(self):
        with self.conn, self.conn.cursor() as c:
            c.execute("SELECT version FROM schema_migrations ORDER BY version")
            return [r[0] for r in c.fetchall()]

    def run(self, sql, version, name, up):
        with self.conn, self.conn.cursor() as c:  # one transaction
            c.execute(sql)
            if up:
                c.execute("INSERT INTO schema_migrations (version, name) "
                          "VALUES (%s, %s)", (version, name))
            else:
                c.execute("DELETE FROM schema_migrations WHERE version = %s",
                          (version,))

    def close(self):
        self.conn.close()


def _run(db, path, version, name, is_up):
    with open(path) as f:
        sql = f.read()
    try:
        db.run(sql, version, name, is_up)
    except Exception as e:
        raise MigrationError("%s: %s" % (path, e))


def up(db, folder, to=None):
    """Applies what is not applied yet, up to version `to`; returns the
    versions applied."""
    done = set(db.applied())
    ran = []
    for v, name, up_path, _ in scan_dir(folder):
        if v not in done and (to is None or v <= to):
            _run(db, up_path, v, name, True)
            ran.append(v)
    return ran


def down(db, folder, to):
    """Reverts the applied migrations above version `to`, newest first;
    returns the versions reverted."""
    done = set(db.applied())
    ran = []
    for v, name, _, down_path in reversed(scan_dir(folder)):
        if v > to and v in done:
            _run(db, down_path, v, name, False)
            ran.append(v)
    return ran


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    where = ap.add_mutually_exclusive_group(required=True)
    where.add_argument("--sqlite")
    where.add_argument("--postgres")
    ap.add_argument("--dir", help="the migrations folder (default: "
                    "migrations/sqlite or migrations/postgres of this tree)")
    ap.add_argument("command", choices=("up", "down", "status"))
    ap.add_argument("version", nargs="?", type=int)
    a = ap.parse_args(argv)
    if a.command == "down" and a.version is None:
        ap.error("down needs the VERSION to go back to (0: revert all)")
    folder = a.dir or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "migrations",
        "sqlite" if a.sqlite else "postgres")
    try:
        db = SqliteDb(a.sqlite) if a.sqlite else PostgresDb(a.postgres)
        try:
            if a.command == "up":
                ran = up(db, folder, a.version)
            elif a.command == "down":
                ran = down(db, folder, a.version)
            else:
                ran = None
            print("applied: %s" % (" ".join("%04d" % v for v in db.applied())
                                   or "none"))
            if ran:
                print("%s: %s" % (a.command, " ".join("%04d" % v
                                                      for v in ran)))
        finally:
            db.close()
    except MigrationError as e:
        print("migrate.py: %s" % e, file=sys.stderr)
        return 1
    except Exception as e:  # connection errors of either driver
        print("migrate.py: %s" % e, file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
