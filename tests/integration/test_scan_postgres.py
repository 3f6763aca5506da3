#!/usr/bin/env python3
"""Integration tests of `rollsafe scan --postgres` against the real
PostgreSQL server the suite starts (tests/pg/pg_server.sh, ctest fixture
pg_server; its conninfo is in the file RS_PG_CONNINFO_FILE names).

Usage: test_scan_postgres.py --rollsafe BIN --work DIR CASE

Tables are created here with psycopg2 and records built by rsdata.Records,
independently of rollsafe; reports are parsed as JSON.
"""

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time

import psycopg2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rsdata import (EXPECTED, VERDICTS, Failure, Records, check,  # noqa: E402
                    check_eq, run_cases)

T0 = 1768473000000000  # 2026-01-15T10:30:00Z in microseconds


def conninfo():
    path = os.environ.get("RS_PG_CONNINFO_FILE")
    if not path or not os.path.exists(path):
        raise Failure("no PostgreSQL test server: RS_PG_CONNINFO_FILE=%r "
                      "(run through ctest, which starts it)" % path)
    with open(path) as f:
        return f.read().strip()


class Db:
    def __init__(self, schema):
        self.dsn = conninfo()
        self.schema = schema
        self.conn = psycopg2.connect(self.dsn)
        self.conn.autocommit = True
        with self.conn.cursor() as c:
            c.execute('DROP SCHEMA IF EXISTS "%s" CASCADE' % schema)
            c.execute('CREATE SCHEMA "%s"' % schema)

    def execute(self, sql, *args):
        with self.conn.cursor() as c:
            c.execute(sql, args if args else None)

    def table(self, name, rows, ddl=None):
        self.execute(ddl or 'CREATE TABLE "%s"."%s" (id bigint PRIMARY KEY, '
                     'payload bytea)' % (self.schema, name))
        with self.conn.cursor() as c:
            c.executemany('INSERT INTO "%s"."%s" VALUES (%%s, %%s)'
                          % (self.schema, name),
                          [(k, psycopg2.Binary(v) if v is not None else None)
                           for k, v in rows])
        self.execute('ANALYZE "%s"."%s"' % (self.schema, name))

    def args(self, table, key="id", column="payload"):
        return ["--postgres", self.dsn, "--table",
                "%s.%s" % (self.schema, table), "--key", key, "--column",
                column, "--type", "shop.Order"]


def mixed_rows(recs, counts):
    rows, by_key, n = [], {}, 1
    kinds = []
    for kind, c in counts.items():
        kinds += [kind] * c
    # Interleave deterministically.
    kinds.sort(key=lambda k: hash(k) % 7)
    for kind in kinds:
        rows.append((n, recs.make(kind, n)))
        by_key[str(n)] = kind
        n += 1
    return rows, by_key


COUNTS = {"v1": 500, "v2_plain": 40, "v2_gift": 90, "v2_awaiting": 25,
          "v2_guest": 15, "corrupt": 3}


def test_known_mix(r):
    recs = Records()
    db = Db("it_mix")
    rows, by_key = mixed_rows(recs, COUNTS)
    rows.append((10_000, None))
    db.table("orders", rows)
    for framing in ("envelope", "raw"):
        doc, err = r.scan_json(1, *db.args("orders"), "--reader-framing",
                               framing, "--samples", "1000")
        want = {v: 0 for v in VERDICTS}
        for kind in by_key.values():
            want[EXPECTED[kind][framing]] += 1
        check_eq(doc["totals"]["verdicts"], want, framing + " verdicts")
        check_eq(doc["complete"], True, "complete")
        t = doc["targets"][0]
        check_eq(t["rows_read"], len(rows), "rows_read")
        check_eq(t["rows_null"], 1, "rows_null")
        check(t["estimated_rows"] is not None and
              abs(t["estimated_rows"] - len(rows)) <= len(rows) // 10,
              "estimate from the statistics", t["estimated_rows"])
        for verdict in VERDICTS[1:]:
            got = sorted(int(s["key"]) for s in t["samples"][verdict])
            exp = sorted(int(k) for k, kind in by_key.items()
                         if EXPECTED[kind][framing] == verdict)
            check_eq(got, exp, "%s keys of %s" % (framing, verdict))
        check("password" not in t["description"], "description", t)
        check_eq(err, "", "stderr")


def test_flag_and_written_after(r):
    recs = Records()
    db = Db("it_flags")
    rows, n = [], 1
    for i in range(30):
        rows.append((n, recs.v1(n)))
        n += 1
    for i in range(20):
        rows.append((n, recs.v2("v2_awaiting", n, flag="checkout_v2",
                                variant="on",
                                write_time_us=T0 + i * 60_000_000)))
        n += 1
    for i in range(5):
        rows.append((n, recs.v2("v2_guest", n, flag="other", variant="x",
                                write_time_us=T0)))
        n += 1
    db.table("orders", rows)
    args = db.args("orders") + ["--reader-framing", "envelope"]
    # The 30 raw version-1 records carry no provenance: the filters cannot
    # tell who wrote them, so they are judged and counted as unattributed.
    doc, _ = r.scan_json(1, *args, "--flag", "checkout_v2")
    check_eq(doc["totals"]["rows_counted"], 50, "counted for the flag")
    check_eq(doc["totals"]["unattributed"], {"total": 30, "findings": 0},
             "unattributed")
    check_eq(doc["totals"]["verdicts"]["misread"], 20, "misread")
    check_eq(doc["totals"]["verdicts"]["ok"], 30, "raw records judged")
    check_eq(doc["totals"]["rows_skipped"], 5, "skipped")
    doc, _ = r.scan_json(1, *args, "--flag", "checkout_v2",
                         "--written-after", "2026-01-15T10:44:00Z")
    check_eq(doc["totals"]["rows_counted"], 35, "after 10:44Z")
    check_eq(doc["totals"]["unattributed"]["total"], 30, "unattributed")
    doc, _ = r.scan_json(1, *args)
    flags = {(f["flag"], f["variant"]): f for f in doc["totals"]["flags"]}
    check_eq(flags[("checkout_v2", "on")]["last_write"],
             "2026-01-15T10:49:00.000000Z", "last write of checkout_v2")
    check_eq(flags[("other", "x")]["rows"], 5, "rows of other=x")


def test_unattributed_and_undetermined(r):
    # Raw records a filter cannot attribute are judged: a finding among
    # them is a finding. Envelopes naming a version the registry lacks are
    # undetermined: never ok, exit 4 when nothing else is found.
    recs = Records()
    db = Db("it_undetermined")
    rows = [(n, recs.v1(n)) for n in range(1, 11)]
    rows += [(n, recs.corrupt(n)) for n in range(11, 14)]
    rows += [(n, recs.envelope(n, flag="other")) for n in range(14, 18)]
    db.table("orders", rows)
    args = db.args("orders") + ["--reader-framing", "envelope"]
    doc, _ = r.scan_json(1, *args, "--flag", "checkout_v2")
    t = doc["targets"][0]
    check_eq(t["unattributed"], {"total": 13, "findings": 3},
             "raw records unattributed, the corrupt ones findings")
    check_eq(t["verdicts"]["corrupt"], 3, "corrupt raw records counted")
    check_eq(t["rows_skipped"], 4, "other flag left out")
    check_eq(t["nothing_verified"], False, "nothing_verified")

    db2 = Db("it_unregistered")
    rows = [(n, recs.v1(n)) for n in range(1, 6)]
    rows += [(6, recs.envelope(6, format_version=3)),
             (7, recs.envelope(7, format_version=99, provenance=False))]
    db2.table("orders", rows)
    args = db2.args("orders") + ["--reader-framing", "envelope"]
    doc, err = r.scan_json(4, *args)
    t = doc["targets"][0]
    check_eq(t["undetermined"], {"total": 2, "ambiguous_writer": 0,
                                 "unregistered_version": 2,
                                 "unmapped_schema_id": 0, "undecoded_groups": 0,
                                 "extension_fields": 0, "no_reader": 0},
             "undetermined")
    check_eq(t["verdicts"]["ok"], 5, "only the decided records are ok")
    check_eq(t["rows_counted"], 5, "rows_counted")
    check_eq(sorted(s["written_version"] for s in t["samples"]["undetermined"]),
             [3, 99], "undetermined samples")
    check(doc["reason"] and "register" in doc["reason"], "reason",
          doc["reason"])
    check("register" in err, "the reason on stderr", err)
    # Filters that leave every record out verified nothing: exit 4.
    doc, _ = r.scan_json(4, *db.args("orders"), "--reader-framing",
                         "envelope", "--where", "id >= 14", "--flag",
                         "checkout_v2")
    check_eq(doc["nothing_verified"], True, "nothing_verified")
    check_eq(doc["totals"]["rows_skipped"], 4, "left out")


def test_table_without_key_exits_2(r):
    db = Db("it_keys")
    db.execute('CREATE TABLE it_keys.nokey (ref text, payload bytea)')
    db.execute('CREATE TABLE it_keys.ok (id int PRIMARY KEY, body text)')
    _, err = r.expect(2, "scan", *db.args("nokey", key="ref"))
    check("ref" in err, "names the column", err)
    _, err = r.expect(2, "scan", *db.args("missing"))
    check("missing" in err, "names the table", err)
    _, err = r.expect(2, "scan", *db.args("ok", column="body"))
    check("column 'body' is text; records stored as text need "
          "--column-encoding base64 or hex" in err,
          "refuses a text column read as binary", err)
    _, err = r.expect(2, "scan", *db.args("ok", column="payload"),
                      "--where", "nonsense_column > 1")
    doc, _ = r.scan_json(2, *db.args("nokey", key="ref"))
    check_eq(doc["complete"], False, "complete")


def test_connection_errors(r):
    os.makedirs(r.work, exist_ok=True)
    # A socket directory where nothing listens: connection refused.
    dead = "host=%s port=5432 dbname=x user=postgres connect_timeout=5" % r.work
    _, err = r.expect(3, "scan", "--postgres", dead, "--table", "t", "--key",
                      "id", "--column", "payload", "--type", "shop.Order")
    check("t" in err and err.count("\n") == 1, "one line naming it", err)
    doc, _ = r.scan_json(3, "--postgres", dead, "--table", "t", "--key", "id",
                         "--column", "payload", "--type", "shop.Order")
    check_eq(doc["complete"], False, "complete")
    # A password in the connection string is refused, and never printed.
    secret = "hunter2-" + "x" * 6
    out, err = r.expect(2, "scan", "--postgres",
                        conninfo() + " password=" + secret, "--table", "t",
                        "--key", "id", "--column", "payload", "--type",
                        "shop.Order")
    check(secret not in out + err, "the password is not echoed", out, err)
    check("PGPASSWORD" in err or ".pgpass" in err, "says where it goes", err)
    out, err = r.expect(2, "scan", "--postgres",
                        "postgresql://postgres:%s@localhost/x" % secret,
                        "--table", "t", "--key", "id", "--column", "payload",
                        "--type", "shop.Order", "--format", "json")
    check(secret not in out + err, "URI password not echoed", out, err)


def test_identifiers_and_config(r):
    recs = Records()
    db = Db("it_ids")
    db.execute('CREATE TABLE it_ids."Odd ""Name""" ("Key" text PRIMARY KEY, '
               '"Pay load" bytea NOT NULL)')
    with db.conn.cursor() as c:
        for i in range(1, 11):
            c.execute('INSERT INTO it_ids."Odd ""Name""" VALUES (%s, %s)',
                      ("k%02d" % i, psycopg2.Binary(recs.v2("v2_guest", i))))
    doc, _ = r.scan_json(1, "--postgres", db.dsn, "--table",
                         'it_ids.Odd "Name"', "--key", "Key", "--column",
                         "Pay load", "--type", "shop.Order")
    check_eq(doc["totals"]["verdicts"]["unreadable"], 10, "quoted names")
    check_eq(doc["targets"][0]["samples"]["unreadable"][0]["key"], "k01",
             "text key")
    cfg = os.path.join(r.work, "pg.yaml")
    with open(cfg, "w") as f:
        f.write("""feature: checkout_v2
reader_framing: envelope
targets:
  - name: odd
    kind: postgres-table
    connection_env: RS_IT_PG
    table: 'it_ids.Odd "Name"'
    key: Key
    column: Pay load
    type: shop.Order
""")
    env = dict(os.environ, RS_IT_PG=db.dsn)
    doc, _ = r.scan_json(1, "-c", cfg, env=env)
    check_eq(doc["targets"][0]["verdicts"]["unreadable"], 10, "via config")
    env.pop("RS_IT_PG")
    _, err = r.expect(2, "scan", "-c", cfg, env=env)
    check("RS_IT_PG" in err, "names the unset variable", err)
    # Names that are not UTF-8 (the session's encoding) are the operator's
    # (exit 2), not a connection error, in scan and in fix.
    bad = "it_ids.x\udcff"  # the byte 0xff on the command line
    for cmd in (["scan"], ["fix", "--execute"]):
        _, err = r.expect(2, *cmd, "--postgres", db.dsn, "--table", bad,
                          "--key", "id", "--column", "payload", "--type",
                          "shop.Order")
        check("must be UTF-8" in err, "says why", err)
        _, err = r.expect(2, *cmd, "--postgres", db.dsn, "--table",
                          "it_ids.t", "--key", "k\udcff", "--column",
                          "payload", "--type", "shop.Order")
        check("must be UTF-8" in err, "says why (key)", err)


def test_integer_keys_spelled_as_the_server_does(r):
    """smallint, integer and bigint keys travel in binary and the scan
    spells them; a domain over bigint and a numeric key go as key::text.
    Every row is a finding, so every key is in the samples, which must be
    exactly the server's own key::text."""
    db = Db("it_intkeys")
    db.execute("CREATE DOMAIN it_intkeys.order_no AS bigint")
    limits = {
        "smallint": [-32768, -1, 0, 1, 9, 10, 32767],
        "integer": [-2147483648, -10, 0, 7, 99, 100, 2147483647],
        "bigint": [-9223372036854775808, -9223372036854775807, -1, 0, 1,
                   1000000007, 9223372036854775807],
        "it_intkeys.order_no": [-42, 0, 42, 9223372036854775807],
        "numeric": [-1, 0, 12345678901234567890],
    }
    for n, (typ, keys) in enumerate(limits.items()):
        table = "t%d" % n
        db.execute('CREATE TABLE it_intkeys.%s (id %s PRIMARY KEY, '
                   'payload bytea NOT NULL)' % (table, typ))
        with db.conn.cursor() as c:
            for k in keys:
                c.execute("INSERT INTO it_intkeys.%s VALUES (%%s, %%s)"
                          % table, (k, psycopg2.Binary(Records.corrupt(1))))
            c.execute("SELECT id::text FROM it_intkeys.%s" % table)
            want = sorted(row[0] for row in c.fetchall())
        doc, err = r.scan_json(1, *db.args(table), "--samples", "1000")
        t = doc["targets"][0]
        check_eq(t["verdicts"]["corrupt"], len(keys), typ + " corrupt rows")
        got = sorted(s["key"] for s in t["samples"]["corrupt"])
        check_eq(got, want, typ + " keys")
        check_eq(err, "", "stderr")


def test_inheritance_children_and_partitions_are_scanned(r):
    """A plain table is read with COPY table TO, which skips inheritance
    children; a table that has children (and a partitioned table) must be
    read through a query, which includes their rows, as must a varchar key
    (binary form = text) and a character(n) key (::text drops padding)."""
    recs = Records()
    db = Db("it_inherit")
    db.execute("CREATE TABLE it_inherit.parent (id bigint PRIMARY KEY, "
               "payload bytea NOT NULL)")
    db.execute("CREATE TABLE it_inherit.child () INHERITS (it_inherit.parent)")
    db.execute("CREATE TABLE it_inherit.part (id bigint PRIMARY KEY, "
               "payload bytea NOT NULL) PARTITION BY RANGE (id)")
    db.execute("CREATE TABLE it_inherit.part_a PARTITION OF it_inherit.part "
               "FOR VALUES FROM (0) TO (100)")
    db.execute("CREATE TABLE it_inherit.part_b PARTITION OF it_inherit.part "
               "FOR VALUES FROM (100) TO (200)")
    db.execute("CREATE TABLE it_inherit.vc (id varchar(20) PRIMARY KEY, "
               "payload bytea NOT NULL)")
    db.execute("CREATE TABLE it_inherit.ch (id character(6) PRIMARY KEY, "
               "payload bytea NOT NULL)")
    with db.conn.cursor() as c:
        for k in range(1, 6):
            c.execute("INSERT INTO it_inherit.parent VALUES (%s, %s)",
                      (k, psycopg2.Binary(recs.v1(k))))
            c.execute("INSERT INTO it_inherit.child VALUES (%s, %s)",
                      (100 + k, psycopg2.Binary(Records.corrupt(k))))
            c.execute("INSERT INTO it_inherit.part VALUES (%s, %s), (%s, %s)",
                      (k, psycopg2.Binary(recs.v1(k)), 100 + k,
                       psycopg2.Binary(Records.corrupt(k))))
            c.execute("INSERT INTO it_inherit.vc VALUES (%s, %s)",
                      ("k-%d" % k, psycopg2.Binary(Records.corrupt(k))))
            c.execute("INSERT INTO it_inherit.ch VALUES (%s, %s)",
                      ("c%d" % k, psycopg2.Binary(Records.corrupt(k))))
    for table in ("parent", "part"):
        doc, err = r.scan_json(1, *db.args(table), "--samples", "100")
        t = doc["targets"][0]
        check_eq(t["rows_read"], 10, table + " rows, children included")
        check_eq(t["verdicts"]["ok"], 5, table + " ok")
        check_eq(sorted(int(s["key"]) for s in t["samples"]["corrupt"]),
                 [101, 102, 103, 104, 105], table + " corrupt keys")
        check_eq(err, "", "stderr")
    for table, keys in (("vc", ["k-%d" % k for k in range(1, 6)]),
                        ("ch", ["c%d" % k for k in range(1, 6)])):
        doc, err = r.scan_json(1, *db.args(table), "--samples", "100")
        got = sorted(s["key"] for s in doc["targets"][0]["samples"]["corrupt"])
        check_eq(got, keys, table + " keys as key::text gives them")


def test_interrupt_writes_partial_report(r):
    recs = Records()
    db = Db("it_big")
    db.execute("CREATE TABLE it_big.orders (id bigint PRIMARY KEY, "
               "payload bytea NOT NULL)")
    db.execute("INSERT INTO it_big.orders SELECT g, %s FROM "
               "generate_series(1, 300000) g", psycopg2.Binary(recs.v1(1)))
    db.execute("ANALYZE it_big.orders")
    report = os.path.join(r.work, "partial.json")
    os.makedirs(r.work, exist_ok=True)
    master, slave = pty.openpty()
    # The where clause slows the server down per row so that the scan is
    # surely running when the signal comes.
    p = subprocess.Popen([r.rollsafe, "scan", *db.args("orders"), "--where",
                          "length(repeat(md5(id::text), 3000)) > 0",
                          "--format", "json", "-o", report],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=slave)
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 120
    while b"of about" not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 1.0)
        if ready:
            try:
                seen += os.read(master, 4096)
            except OSError:
                break
        if p.poll() is not None:
            break
    check(b"of about 300,000" in seen, "progress with the estimate",
          seen[-300:])
    p.send_signal(signal.SIGINT)
    p.communicate(timeout=120)
    os.close(master)
    check_eq(p.returncode, 4, "exit code after Ctrl-C")
    with open(report) as f:
        doc = json.load(f)
    check_eq(doc["complete"], False, "complete")
    t = doc["targets"][0]
    check_eq(t["status"], "interrupted", "status")
    check(0 < t["rows_read"] < 300000, "partial rows", t["rows_read"])
    # The cancelled COPY left no session behind.
    left = None
    with db.conn.cursor() as c:
        for _ in range(100):
            c.execute("SELECT count(*) FROM pg_stat_activity WHERE "
                      "application_name = 'rollsafe'")
            left = c.fetchone()[0]
            if left == 0:
                break
            time.sleep(0.1)
    check_eq(left, 0, "rollsafe sessions left after the interrupted scan")


def test_interrupt_while_waiting_for_a_lock(r):
    # Another session holds an ACCESS EXCLUSIVE lock, so the COPY waits
    # inside libpq; Ctrl-C must cancel that wait (PQcancel from the handler)
    # and still write the report, while the lock is still held.
    recs = Records()
    db = Db("it_lock")
    db.table("orders", [(i, recs.v1(i)) for i in range(1, 101)])
    holder = psycopg2.connect(db.dsn)
    cur = holder.cursor()
    cur.execute("LOCK TABLE it_lock.orders IN ACCESS EXCLUSIVE MODE")
    report = os.path.join(r.work, "r.json")
    os.makedirs(r.work, exist_ok=True)
    p = subprocess.Popen([r.rollsafe, "scan", *db.args("orders"), "--format",
                          "json", "-o", report],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        waiting = False
        with db.conn.cursor() as c:
            for _ in range(600):
                # This scan's own session: other tests' rollsafe sessions
                # may wait on locks of their own at the same time.
                c.execute("SELECT count(*) FROM pg_stat_activity WHERE "
                          "application_name = 'rollsafe' AND "
                          "wait_event_type = 'Lock' AND "
                          "query LIKE '%it_lock%'")
                if c.fetchone()[0] > 0:
                    waiting = True
                    break
                if p.poll() is not None:
                    break
                time.sleep(0.1)
        check(waiting, "the scan waits for the lock")
        p.send_signal(signal.SIGINT)
        try:
            _, err = p.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
            raise Failure("SIGINT did not end a scan waiting for a lock")
    finally:
        holder.rollback()
        holder.close()
    check_eq(p.returncode, 4, "exit code (stderr: %s)" % err.decode())
    with open(report) as f:
        doc = json.load(f)
    check_eq(doc["complete"], False, "complete")
    check_eq(doc["targets"][0]["status"], "interrupted", "status")


TESTS = {name[len("test_"):]: fn for name, fn in globals().items()
         if name.startswith("test_") and callable(fn)}

if __name__ == "__main__":
    sys.exit(run_cases(TESTS))
