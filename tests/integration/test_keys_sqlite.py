#!/usr/bin/env python3
"""Keys of every shape on SQLite: integer (64-bit, negative), text (commas,
quotes, parentheses, unicode), a TEXT primary key holding NULL, composite
keys of two and three columns, a table without a key; each through scan,
fix killed and resumed, restore, runs and purge (keycases.scenario).

Usage: test_keys_sqlite.py --rollsafe BIN --work DIR CASE
"""

import json
import os
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rsdata import Records, check, check_eq, run_cases  # noqa: E402
import keycases  # noqa: E402
from runcheck import OLD_RUNS_DDL  # noqa: E402

TRICKY_TEXT = ["a,b", 'quote"d', "(paren)", "back\\slash", "ünïcødé ✓",
               "10", "9", " lead", "[1,2]", "tab\tin", "x" * 300]


class Sqlite:
    def __init__(self, path):
        self.path = path
        if os.path.exists(path):
            os.unlink(path)

    def connect(self):
        return sqlite3.connect(self.path)

    def create(self, table, key_cols, rows, ddl=None):
        db = self.connect()
        db.execute(ddl)
        n = len(rows[0][0]) + 1
        db.executemany("INSERT INTO %s (%s, payload) VALUES (%s)" % (
            table, ", ".join(key_cols), ", ".join("?" * n)),
            [(*k, v) for k, v in rows])
        db.commit()
        db.close()

    def rows(self, table, key_cols):
        db = self.connect()
        out = {tuple(r[:-1]): bytes(r[-1]) for r in db.execute(
            "SELECT %s, payload FROM %s" % (", ".join(key_cols), table))}
        db.close()
        return out

    def backups(self, run_id):
        db = self.connect()
        try:
            return {k: (bytes(o), bytes(n)) for k, o, n in db.execute(
                'SELECT "key", old_value, new_value FROM rollsafe_backup '
                "WHERE run_id = ?", (run_id,))}
        except sqlite3.OperationalError:
            return {}
        finally:
            db.close()

    def args(self, table, key):
        return ["--sqlite", self.path, "--table", table, "--key", key,
                "--column", "payload", "--type", "shop.Order"]


def run(r, ddl, key_cols, keys, unnamed=()):
    be = Sqlite(os.path.join(r.work, "keys.db"))
    create = be.create
    be.create = lambda table, cols, rows: create(table, cols, rows, ddl)
    keycases.scenario(r, be, "t", key_cols, keys, Records(), unnamed)
    return be


def test_bigint_key(r):
    # BIGINT PRIMARY KEY is not the rowid: SQLite would allow NULL in it.
    keys = [(v,) for v in (-9223372036854775808, 9223372036854775807, -1, 0,
                           1, 2, 10, 9, -10, 4294967296, 1 << 53, 3, 4, 5)]
    run(r, "CREATE TABLE t (id BIGINT PRIMARY KEY, payload BLOB)", ["id"],
        keys)


def test_text_key(r):
    keys = [(v,) for v in TRICKY_TEXT + ["k%d" % i for i in range(6)]]
    run(r, "CREATE TABLE t (id TEXT PRIMARY KEY, payload BLOB)", ["id"], keys)


def test_nullable_text_key_with_null_rows(r):
    # NULL is allowed in a rowid table's TEXT primary key: such rows are
    # named by rowid, reported, and never rewritten; the others are fixed
    # and restored as usual.
    keys = [("k%d" % i,) for i in range(10)]
    keys[1] = keys[3] = keys[6] = (None,)
    path = os.path.join(r.work, "null.db")
    be = Sqlite(path)
    recs = Records()
    rows = keycases.make_rows(recs, keys)
    check(all(kind in ("v2_plain", "v2_gift") for k, _, kind, _ in rows
              if k == (None,)), "NULL rows hold convertible records")
    be.create("t", ["id"], [(k, v) for k, v, _, _ in rows],
              "CREATE TABLE t (id TEXT PRIMARY KEY, payload BLOB)")

    def by_rowid():
        db = sqlite3.connect(path)
        out = {rid: (k, bytes(p)) for rid, k, p in
               db.execute("SELECT rowid, id, payload FROM t")}
        db.close()
        return out
    before = by_rowid()
    args = be.args("t", "id")
    out, _ = r.expect(1, "fix", *args, "--format", "json")
    check_eq(json.loads(out)["targets"][0]["outcomes"]["unnamed"], 3,
             "the dry run counts the NULL-key rows unnamed")
    out, _ = r.expect(1, "fix", *args, "--execute", "--batch", "2",
                      "--format", "json", "--samples", "100")
    doc = json.loads(out)
    t = doc["targets"][0]
    check_eq(t["outcomes"]["unnamed"], 3, "NULL-key rows counted unnamed")
    check_eq(sorted(s["key"] for s in t["samples"]["unnamed"]),
             ["rowid 2", "rowid 4", "rowid 7"], "named by rowid")
    check(all(s.get("key_is_position") for s in t["samples"]["unnamed"]),
          "marked as positions", t["samples"]["unnamed"])
    guests = sum(1 for _, _, kind, _ in rows if kind == "v2_guest")
    check_eq(t["remaining"], 3 + guests,
             "the unnamed rows (and the impossible ones) remain")
    after = by_rowid()
    for rid, (k, payload) in before.items():
        _, _, kind, n = rows[rid - 1]
        if k is None or kind not in ("v2_plain", "v2_gift"):
            check_eq(after[rid], (k, payload), "rowid %d untouched" % rid)
        else:
            m = recs.v1m.Order()
            m.ParseFromString(after[rid][1])
            m.DiscardUnknownFields()
            want = recs.v1m.Order()
            want.ParseFromString(recs.v1(n))
            check_eq(m, want, "rowid %d converted" % rid)
    out, _ = r.expect(1, "fix", *args, "--execute")
    check("unnamed" in out and "rowid 2: its key is NULL" in out,
          "the text report says why", out)
    r.expect(0, "restore", *args, "--run", doc["run_id"], "--execute")
    check_eq(by_rowid(), before, "byte-identical after restore")


def test_composite_two_columns(r):
    keys = [(t, i) for t in ("acme", "a,b", 'q"t', "(x)") for i in
            (-5, 42, 9223372036854775807)]
    run(r, "CREATE TABLE t (tenant TEXT, id INTEGER, payload BLOB, "
        "PRIMARY KEY (tenant, id))", ["tenant", "id"], keys)


def test_composite_three_columns_without_rowid(r):
    keys = [(reg, ten, n) for reg in ("eu", "us") for ten in ("ünï", "b]")
            for n in (1, -2, 30)]
    run(r, "CREATE TABLE t (region TEXT NOT NULL, tenant TEXT NOT NULL, "
        "n BIGINT NOT NULL, payload BLOB, PRIMARY KEY (region, tenant, n)) "
        "WITHOUT ROWID", ["region", "tenant", "n"], keys)


def test_composite_key_given_in_config(r):
    path = os.path.join(r.work, "cfg.db")
    be = Sqlite(path)
    recs = Records()
    rows = keycases.make_rows(recs, [("t%d" % (i % 2), i) for i in range(7)])
    be.create("t", ["tenant", "id"], [(k, v) for k, v, _, _ in rows],
              "CREATE TABLE t (tenant TEXT, id INT, payload BLOB, "
              "UNIQUE (id, tenant))")
    cfg = os.path.join(r.work, "rollsafe.yaml")
    for key in ("[tenant, id]", "tenant, id", "\n      - tenant\n      - id"):
        with open(cfg, "w") as f:
            f.write("targets:\n  - name: t\n    kind: sqlite-table\n"
                    "    connection: cfg.db\n    table: t\n"
                    "    key: %s\n    column: payload\n"
                    "    type: shop.Order\n" % key)
        doc, _ = r.scan_json(1, "-c", cfg)
        t = doc["targets"][0]
        check_eq(t["key"], "tenant,id", "config key %r" % key)
        keys = sorted(map(repr, (s["key"] for s in t["samples"]["unreadable"]
                                 + t["samples"]["misread"])))
        check_eq(keys, sorted(repr(["t%d" % (i % 2), i]) for i in range(7)
                              if keycases.kind_of(i) != "v1"),
                 "samples keyed by the unique index's columns")
    with open(cfg, "w") as f:
        f.write("targets:\n  - name: t\n    kind: sqlite-table\n"
                "    connection: cfg.db\n    table: t\n    key: []\n"
                "    column: payload\n    type: shop.Order\n")
    _, err = r.expect(2, "scan", "-c", cfg)
    check("key: expected a column name or a list" in err, "empty list", err)


def test_no_key_default_and_refusal(r):
    path = os.path.join(r.work, "nokey.db")
    be = Sqlite(path)
    recs = Records()
    rows = keycases.make_rows(recs, [("r%d" % i,) for i in range(7)])
    be.create("events", ["ref"], [(k, v) for k, v, _, _ in rows],
              "CREATE TABLE events (ref TEXT, payload BLOB)")
    args = ["--sqlite", path, "--table", "events", "--column", "payload",
            "--type", "shop.Order"]
    doc, _ = r.scan_json(1, *args)
    t = doc["targets"][0]
    check_eq(t["key"], "", "no key")
    check("not identities" in t["key_note"], "the note", t["key_note"])
    keys = sorted(s["key"] for v in t["samples"].values() for s in v)
    check_eq(keys, sorted("rowid %d" % (i + 1) for i in range(7)
                          if keycases.kind_of(i) != "v1"), "rowids")
    before = be.rows("events", ["ref"])
    _, err = r.expect(2, "fix", *args, "--execute")
    check("table 'events' has no primary key or unique column; fix needs "
          "one to name rows" in err and "scan can name rows by rowid" in err,
          "fix refused, naming what is missing", err)
    check_eq(be.rows("events", ["ref"]), before, "nothing written")
    db = sqlite3.connect(path)
    tables = {n for (n,) in db.execute(
        "SELECT name FROM sqlite_schema WHERE type = 'table'")}
    db.close()
    check("rollsafe_runs" not in tables, "no run table made", tables)
    # Bad keys: a column that is not a key, a missing one, a column twice.
    for key, words in (("ref", "neither the primary key"),
                       ("nope", "no column 'nope'"),
                       ("ref,ref", "named twice"), (",", "1 to 63 bytes")):
        _, err = r.expect(2, "scan", *args, "--key", key)
        check(words in err, "--key %r: %s" % (key, words), err)


def test_old_runs_tables_still_read(r):
    """Run and backup tables made by the previous version (key TEXT, a
    one-column key) are read as they are: runs lists the run, restore puts
    its bytes back."""
    path = os.path.join(r.work, "old.db")
    be = Sqlite(path)
    recs = Records()
    rows = keycases.make_rows(recs, [(i,) for i in range(1, 8)])
    be.create("orders", ["id"], [(k, v) for k, v, _, _ in rows],
              "CREATE TABLE orders (id INTEGER PRIMARY KEY, payload BLOB)")
    before = be.rows("orders", ["id"])
    db = sqlite3.connect(path)
    db.executescript(OLD_RUNS_DDL)
    db.execute("INSERT INTO rollsafe_runs VALUES ('old-1', 'fix', 'orders', "
               "'orders', 'id', 'payload', 1, 'done', '7', 1, 2, 1, 0, 0, 0, "
               "0, 0)")
    fixed = recs.v1(2)
    db.execute("INSERT INTO rollsafe_backup VALUES ('old-1', 'orders', '2', "
               "?, ?, 1, 0)", (before[(2,)], fixed))
    db.execute("UPDATE orders SET payload = ? WHERE id = 2", (fixed,))
    db.commit()
    db.close()
    args = be.args("orders", "id")
    out, _ = r.expect(0, "runs", *args, "--format", "json")
    check_eq([x["run_id"] for x in json.loads(out)["targets"]["orders"]], ["old-1"],
             "the old run listed")
    out, _ = r.expect(0, "restore", *args, "--run", "old-1", "--execute",
                      "--format", "json")
    check_eq(json.loads(out)["restored"], 1, "restored from the old table")
    check_eq(be.rows("orders", ["id"]), before, "bytes back")


def test_queue_with_composite_key(r):
    # A queue keyed by (tenant, seq): pending messages are rewritten by
    # their composite key, in-flight and delivered ones left alone.
    path = os.path.join(r.work, "queue.db")
    recs = Records()
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE q (tenant TEXT NOT NULL, seq INTEGER NOT NULL, "
               "payload BLOB, state TEXT NOT NULL, PRIMARY KEY (tenant, seq))")
    rows = []
    for i in range(12):
        state = ("pending", "processing", "done")[i % 3]
        rows.append((("t,%d" % (i % 2), i), "v2_plain", state, i + 1))
        db.execute("INSERT INTO q VALUES (?, ?, ?, ?)",
                   ("t,%d" % (i % 2), i, recs.make("v2_plain", i + 1), state))
    db.commit()
    db.close()
    args = ["--sqlite", path, "--table", "q", "--key", "tenant,seq",
            "--column", "payload", "--type", "shop.Order", "--queue",
            "--state-column", "state", "--pending-states", "pending",
            "--in-flight-states", "processing"]
    out, _ = r.expect(4, "fix", *args, "--max-passes", "1", "--execute",
                      "--format", "json", "--samples", "100")
    doc = json.loads(out)
    t = doc["targets"][0]
    check_eq(t["outcomes"]["converted"], 4, "pending messages converted")
    check_eq(sorted(map(repr, (s["key"] for s in
                               t["samples"]["in_flight"]))),
             sorted(repr(["t,%d" % (i % 2), i]) for i in range(12)
                    if i % 3 == 1), "in-flight messages named by key")
    db = sqlite3.connect(path)
    now = {(k, n): (bytes(p), st) for k, n, p, st in
           db.execute("SELECT tenant, seq, payload, state FROM q")}
    db.close()
    for (key, _, state, n) in rows:
        payload, _ = now[key]
        if state == "pending":
            m = recs.v1m.Order()
            m.ParseFromString(payload)
            want = recs.v1m.Order()
            want.ParseFromString(recs.v1(n))
            check_eq(m, want, "message %r converted" % (key,))
        else:
            check_eq(payload, recs.make("v2_plain", n),
                     "message %r left alone" % (key,))
    out, _ = r.expect(0, "restore", *args, "--run", doc["run_id"],
                      "--execute", "--format", "json")
    check_eq(json.loads(out)["restored"], 4, "restored by composite key")
    db = sqlite3.connect(path)
    now = {(k, n): bytes(p) for k, n, p in
           db.execute("SELECT tenant, seq, payload FROM q")}
    db.close()
    for (key, _, _, n) in rows:
        check_eq(now[key], recs.make("v2_plain", n), "%r restored" % (key,))


def test_restore_with_another_key_refused(r):
    # A run's backup rows are texts of its own key: a restore given another
    # key of the table is refused, and writes nothing.
    path = os.path.join(r.work, "two.db")
    be = Sqlite(path)
    recs = Records()
    rows = keycases.make_rows(recs, [("t", i) for i in range(7)])
    be.create("t", ["tenant", "id"], [(k, v) for k, v, _, _ in rows],
              "CREATE TABLE t (tenant TEXT, id INT UNIQUE, payload BLOB, "
              "PRIMARY KEY (tenant, id))")
    out, _ = r.expect(1, "fix", *be.args("t", "tenant,id"), "--execute",
                      "--format", "json")
    run_id = json.loads(out)["run_id"]
    fixed = be.rows("t", ["tenant", "id"])
    _, err = r.expect(2, "restore", *be.args("t", "id"), "--run", run_id,
                      "--execute")
    check("recorded key tenant,id, and id is given" in err, "refused", err)
    check_eq(be.rows("t", ["tenant", "id"]), fixed, "nothing restored")
    r.expect(0, "restore", *be.args("t", "tenant,id"), "--run", run_id,
             "--execute")
    check_eq(be.rows("t", ["tenant", "id"]),
             {k: v for k, v, _, _ in rows}, "restored with its own key")


TESTS = {name[len("test_"):]: fn for name, fn in globals().items()
         if name.startswith("test_") and callable(fn)}

if __name__ == "__main__":
    sys.exit(run_cases(TESTS))
