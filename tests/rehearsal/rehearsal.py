"""The rollback rehearsal, shared by test_rehearsal_sqlite.py and
test_rehearsal_postgres.py: the flag-kill cycle a team runs in CI, against
a real database, with three independent parties:

* rehearsal_service (tests/rehearsal/service.c), the service: writes
  orders and outbox messages through rollsafe's codec (rs_encode, with
  provenance checkout_v2/on) with the flag at 20%, and prints which record
  of which kind it wrote under which key; its `read` mode is the new code's
  reader (the codec reading as version 2);
* old_reader (tests/old_reader/), the code the kill returns to: built
  only from schema/shop/v1/order.proto with protoc-c and plain
  protobuf_c_message_unpack, no rollsafe;
* rollsafe scan / fix / restore, judged by the other two.

The verdicts are for the plain old reader (reader_framing: raw), the one
old_reader is: every version-2 record is an envelope it fails on at byte 0,
so the records rollsafe must find are exactly the version-2 records the
service wrote, and after `fix` the old reader must read every converted
record correctly (known status values, money where version 1 reads it).

What `fix` can and cannot do decides how the cycle ends (README, "Fixing"):
lossless conversions always, lossy ones (AWAITING_AUTH mapped to PENDING, a
sub-cent discount rounded, a sub-second deliver_by truncated) only with
--allow-lossy, and never the impossible ones: a guest checkout has no
customer_id, which version 1 requires, and a discount in EUR has no place
in version 1's USD cents. So:

* the cycle (flag_kill_cycle) runs the realistic mix without the two
  impossible kinds and fixes with --allow-lossy: afterwards scan exits 0
  and the old reader reads everything. Restore brings the lossy records'
  originals back byte for byte, which is what makes --allow-lossy
  acceptable in a rollback;
* impossible_records_left runs the full mix and proves the other half:
  fix converts everything else, exits 1 and names exactly the impossible
  records, leaves their bytes alone, and scan and the old reader then
  agree on exactly those keys. What to do with them is a decision for
  people (docs/runbook.md): keep the flag's code path able to read them,
  or handle them by hand.

The queue step is the outbox order_events: its target is defined apart
(outbox_target), and check_queue checks after each step that its messages
are all there with their states untouched.
"""

import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, HERE)
from rsdata import SANITIZER_MARKERS, Failure, check, check_eq  # noqa: E402
import migrate  # noqa: E402

TABLES = ("orders", "order_events")
LOSSY = {"awaiting_auth", "discount_sub_cent", "deliver_by_fraction"}
IMPOSSIBLE = {"guest_checkout", "discount_non_usd"}
ALL_KINDS = {"plain", "new_fields", "pickup_store", "awaiting_auth",
             "discount_usd", "discount_sub_cent", "deliver_by",
             "deliver_by_fraction", "guest_checkout", "discount_non_usd"}
FINDINGS = ("misread", "unreadable", "corrupt")
FEATURE_MIGRATION = 3  # 0003_checkout_v2


def check_keys(got, want, what):
    """Two sets of keys are equal; the failure names the difference."""
    got, want = set(got), set(want)
    missing, extra = sorted(want - got), sorted(got - want)
    check(not missing and not extra,
          "%s: %d keys, want %d; missing %d %s, extra %d %s"
          % (what, len(got), len(want), len(missing), missing[:10],
             len(extra), extra[:10]))


def env_path(name):
    v = os.environ.get(name)
    if not v:
        raise Failure("%s is not set (run through ctest)" % name)
    return v


def run(argv, want=None):
    p = subprocess.run(argv, capture_output=True, timeout=600)
    out = p.stdout.decode("utf-8", "replace")
    err = p.stderr.decode("utf-8", "replace")
    for marker in SANITIZER_MARKERS:
        check(marker not in err, "sanitizer report from %s" % argv[0], err)
    if want is not None:
        check(p.returncode == want, "%s: exit %d, want %d"
              % (" ".join(argv[:3]), p.returncode, want),
              "stdout: " + out[-3000:], "stderr: " + err[-3000:])
    return p.returncode, out, err


def orders_target(db):
    """The orders table: a table target."""
    return {"name": "orders", "kind": db.kind, "connection": db.connection,
            "table": db.qualified("orders"), "key": "id", "column": "payload",
            "type": "shop.Order"}


def outbox_target(db):
    """The queue step's target: the order_events outbox, whose consumers
    claim pending messages and mark them processing and done.

    It is read with the table kinds (postgres-table, sqlite-table), which
    work on any table with a primary key: scan and fix see every message
    whatever its state, and fix's compare-and-swap on the payload never
    overwrites a message a consumer changed in between. A queue target
    kind that skips the messages a consumer holds is a change of this
    entry only; check_queue() says what the outbox must look like after
    each step either way.
    """
    return {"name": "order_events", "kind": db.kind,
            "connection": db.connection, "table": db.qualified("order_events"),
            "key": "id", "column": "payload", "type": "shop.Order"}


def check_queue(db, before, what):
    """The outbox after a step: the same messages (none lost, none added),
    each with its order, state and enqueue time untouched; only payloads
    are rewritten."""
    check_eq(db.outbox_meta(), before, "order_events bookkeeping " + what)


class Rehearsal:
    """One database (a Backend) and the three parties working on it."""

    def __init__(self, r, backend):
        self.r = r
        self.db = backend
        self.old_reader = env_path("RS_OLD_READER")
        self.service = env_path("RS_SERVICE")
        self.migrations = os.path.join(env_path("RS_MIGRATIONS"),
                                       backend.dialect)
        # One config for both targets, and one per target for restore,
        # whose --run names a run of one target.
        self.config = self._write_config("rollsafe.yaml", TABLES)
        self.target_config = {t: self._write_config("%s.yaml" % t, [t])
                              for t in TABLES}

    def _write_config(self, name, tables):
        targets = {"orders": orders_target, "order_events": outbox_target}
        path = os.path.join(self.r.work, name)
        with open(path, "w") as f:
            f.write("feature: checkout_v2\nreader_version: 1\n"
                    "reader_framing: raw\ntargets:\n")
            for t in tables:
                f.write("  - %s\n" % json.dumps(targets[t](self.db)))
        return path

    # -- migrations ---------------------------------------------------------

    def migrate_up(self, to=None):
        db = self.db.migration_db()
        try:
            return migrate.up(db, self.migrations, to)
        finally:
            db.close()

    def migrate_down(self, to):
        db = self.db.migration_db()
        try:
            return migrate.down(db, self.migrations, to)
        finally:
            db.close()

    # -- the service --------------------------------------------------------

    def _write(self, *args):
        _, out, _ = run([self.service, "write", *self.db.service_args(),
                         *args], 0)
        manifest = {t: {} for t in TABLES}
        for line in out.splitlines():
            table, key, version, kind = line.split("\t")
            manifest[table][key] = (int(version), kind)
        return manifest

    def old_code_writes(self, manifest, orders, first_id, start_us):
        """After the kill: the service goes on, in the old format only.
        Adds what it wrote to `manifest`."""
        more = self._write("--orders", str(orders), "--first-id",
                           str(first_id), "--start-us", str(start_us),
                           "--v2-percent", "0")
        for t in TABLES:
            check(more[t], "%s: written after the kill" % t)
            check(all(v == 1 for v, _ in more[t].values()),
                  "%s: only version 1 after the kill" % t)
            check(not set(more[t]) & set(manifest[t]),
                  "%s: new keys after the kill" % t)
            manifest[t].update(more[t])

    def workload(self, orders, seed, impossible, start_us=None):
        args = ["--orders", str(orders), "--seed", str(seed), "--v2-percent",
                "20"]
        if start_us is not None:
            args += ["--start-us", str(start_us)]
        if not impossible:
            args.append("--no-impossible")
        manifest = self._write(*args)
        kinds = {k for t in TABLES for _, k in manifest[t].values()}
        want = ALL_KINDS if impossible else ALL_KINDS - IMPOSSIBLE
        check_eq(kinds - {"v1"}, want, "kinds the workload wrote")
        n_v2 = sum(1 for _, k in manifest["orders"].values() if k != "v1")
        check(0.1 * orders < n_v2 < 0.3 * orders,
              "checkout_v2 at 20%%: %d of %d orders" % (n_v2, orders))
        check(len(manifest["order_events"]) > orders,
              "the outbox holds a message per order and some updates")
        return manifest

    def new_reader(self):
        """{table: {key: (written_version, flag, v2 bytes hex)}}"""
        out = {}
        for t in TABLES:
            _, text, _ = run([self.service, "read", *self.db.service_args(),
                              "--table", t], 0)
            out[t] = {}
            for line in text.splitlines():
                key, version, flag, packed = line.split("\t")
                out[t][key] = (int(version), flag, packed)
        return out

    # -- the old reader -----------------------------------------------------

    def old_read(self, want):
        """Runs old_reader; {table: {key: reason}} of what it cannot read."""
        _, out, err = run([self.old_reader, *self.db.old_reader_args()], want)
        bad = {t: {} for t in TABLES}
        for line in out.splitlines():
            table, key, reason = line.split("\t")
            bad[table][key] = reason
        for t in TABLES:
            check("%s: " % t in err, "old_reader read table %s" % t, err)
        return bad

    # -- rollsafe -----------------------------------------------------------

    def rollsafe(self, want, *argv, config=None):
        _, out, _ = run([self.r.rollsafe, *argv, "-c", config or self.config,
                         "--format", "json"], want)
        try:
            return json.loads(out)
        except ValueError as e:
            raise Failure("rollsafe %s: output is not JSON (%s): %s"
                          % (argv[0], e, out[:2000]))

    def scan(self, want):
        """{table: set of finding keys}, checking that the samples hold
        every finding."""
        doc = self.rollsafe(want, "scan", "--samples", "10000")
        check(doc["complete"], "scan complete")
        found = {}
        for t in doc["targets"]:
            keys = set()
            for verdict in FINDINGS:
                keys |= {s["key"] for s in t["samples"].get(verdict, [])}
            n = sum(t["verdicts"][v] for v in FINDINGS)
            check_eq(len(keys), n, "%s: finding keys listed" % t["name"])
            found[t["name"]] = keys
        return found

    # -- the steps ----------------------------------------------------------

    def kill_and_compare(self, manifest):
        """Step 2: after the kill, scan finds exactly the version-2 records
        and the old reader fails on exactly those, at the envelope."""
        v2 = {t: {k for k, (v, _) in manifest[t].items() if v == 2}
              for t in TABLES}
        found = self.scan(1)
        bad = self.old_read(1)
        for t in TABLES:
            check_keys(found[t], v2[t], "%s: keys rollsafe scan finds" % t)
            check_keys(bad[t], v2[t], "%s: keys the old reader fails" % t)
            for k, why in bad[t].items():
                check("envelope" in why, "%s %s: old reader's reason" % (t, k),
                      why)
        return v2


def rows(db):
    return {t: db.rows(t) for t in TABLES}


def flag_kill_cycle(r, backend):
    """Steps 1 to 5 of the rehearsal with a mix fix can convert."""
    h = Rehearsal(r, backend)
    # 1. Migrations up, and half an hour of checkout_v2 at 20%.
    check_eq(h.migrate_up(), [1, 2, 3], "migrations applied")
    n, second = 2000, 10**6
    t0 = (int(time.time()) - 6 * 3600) * second  # six hours ago
    manifest = h.workload(n, 7, impossible=False, start_us=t0)

    # 2. Kill the flag right after the flag's last write. The service goes
    # on writing orders and messages, in the old format only.
    kill = t0 + n * second
    h.old_code_writes(manifest, 300, n + 1, kill + 60 * second)
    before = rows(backend)
    queue = backend.outbox_meta()
    states = {st for _, st, _ in queue.values()}
    check_eq(states, {"pending", "processing", "done"}, "outbox states")
    new_before = h.new_reader()
    backend.check_side_tables(manifest, True)

    v2 = h.kill_and_compare(manifest)

    # The runbook's check that no instance still writes with the flag on:
    # nothing written with checkout_v2 after the kill, all of it since t0.
    def flag_writes(after, want):
        doc = h.rollsafe(want, "scan", "--flag", "checkout_v2",
                         "--written-after", "@%d" % (after // second))
        return sum(t["rows_counted"] for t in doc["targets"])
    check_eq(flag_writes(kill, 0), 0, "flag writes after the kill")
    check_eq(flag_writes(t0 - second, 1), sum(len(v2[t]) for t in TABLES),
             "flag writes since the rollout")

    # 3. Fix, then a clean scan and an old reader that reads everything.
    doc = h.rollsafe(0, "fix", "--execute", "--allow-lossy", "--batch", "50")
    run_ids = {t["name"]: t["run_id"] for t in doc["targets"]}
    for t in doc["targets"]:
        kinds = [manifest[t["name"]][k][1] for k in v2[t["name"]]]
        check_eq(t["converted"], len(kinds), "%s: converted" % t["name"])
        check_eq(t["outcomes"]["converted"],
                 sum(1 for k in kinds if k not in LOSSY),
                 "%s: lossless conversions" % t["name"])
        check_eq(t["outcomes"]["lossy"], sum(1 for k in kinds if k in LOSSY),
                 "%s: lossy conversions" % t["name"])
    check_eq(h.scan(0), {t: set() for t in TABLES}, "findings after the fix")
    check_eq(h.old_read(0), {t: {} for t in TABLES}, "old reader after fix")
    fixed = rows(backend)
    for t in TABLES:
        changed = {k for k in before[t] if before[t][k] != fixed[t][k]}
        check_keys(changed, v2[t], "%s: rows the fix rewrote" % t)
    check_queue(backend, queue, "after the fix")

    # 4. The feature's down migration; the old reader still reads it all.
    check_eq(h.migrate_down(FEATURE_MIGRATION - 1), [FEATURE_MIGRATION],
             "down migration")
    backend.check_side_tables(manifest, False)
    check_eq(h.old_read(0), {t: {} for t in TABLES},
             "old reader after the down migration")
    check_eq(rows(backend), fixed, "rows after the down migration")
    check_queue(backend, queue, "after the down migration")

    # 5. Re-enable: up again, restore, and the new reader sees every
    # version-2 record as before the fix.
    check_eq(h.migrate_up(), [FEATURE_MIGRATION], "up migration again")
    for t in TABLES:
        doc = h.rollsafe(0, "restore", "--run", run_ids[t], "--execute",
                         config=h.target_config[t])
        check_eq(doc["restored"], len(v2[t]), "%s: restored" % t)
    check_eq(rows(backend), before, "rows byte-identical after restore")
    check_queue(backend, queue, "after the restore")
    new_after = h.new_reader()
    for t in TABLES:
        for k in v2[t]:
            check_eq(new_after[t][k][:2], (2, "checkout_v2"),
                     "%s %s: written version and flag" % (t, k))
    check_eq(new_after, new_before, "what the new reader sees")
    # The flag's records are back, and so is what a kill would break.
    found = h.scan(1)
    for t in TABLES:
        check_keys(found[t], v2[t], "%s: findings after the restore" % t)


def impossible_records_left(r, backend):
    """The records no version-1 record can hold: fix leaves them, names
    them, and everything else is read."""
    h = Rehearsal(r, backend)
    h.migrate_up()
    manifest = h.workload(500, 11, impossible=True)
    before = rows(backend)
    v2 = h.kill_and_compare(manifest)
    impossible = {t: {k for k in v2[t] if manifest[t][k][1] in IMPOSSIBLE}
                  for t in TABLES}
    check(all(impossible[t] for t in TABLES), "impossible records written")

    doc = h.rollsafe(1, "fix", "--execute", "--allow-lossy")
    for t in doc["targets"]:
        check_eq(t["outcomes"]["impossible"], len(impossible[t["name"]]),
                 "%s: impossible" % t["name"])
        listed = {s["key"] for s in t["samples"].get("impossible", [])}
        check_keys(listed, impossible[t["name"]],
                   "%s: impossible keys listed" % t["name"])
    check_eq(doc["remaining"], sum(len(impossible[t]) for t in TABLES),
             "remaining after the fix")
    found, bad = h.scan(1), h.old_read(1)
    for t in TABLES:
        check_keys(found[t], impossible[t], "%s: findings after the fix" % t)
        check_keys(bad[t], impossible[t], "%s: old reader after the fix" % t)
    after = rows(backend)
    for t in TABLES:
        for k in impossible[t]:
            check_eq(after[t][k], before[t][k], "%s %s untouched" % (t, k))
    check_eq(h.migrate_down(FEATURE_MIGRATION - 1), [FEATURE_MIGRATION],
             "down migration")
    bad = h.old_read(1)
    for t in TABLES:
        check_keys(bad[t], impossible[t],
                   "%s: old reader after the down migration" % t)


# ---- the databases ---------------------------------------------------------

DISCOUNT_KINDS = {"discount_usd", "discount_sub_cent", "discount_non_usd"}


def expected_side_rows(manifest):
    o = manifest["orders"]
    return (sum(1 for _, k in o.values() if k == "pickup_store"),
            sum(1 for _, k in o.values() if k in DISCOUNT_KINDS))


class SqliteBackend:
    dialect = "sqlite"
    kind = "sqlite-table"

    def __init__(self, work):
        os.makedirs(work, exist_ok=True)
        self.path = os.path.join(work, "shop.db")
        self.connection = self.path

    def qualified(self, table):
        return table

    def migration_db(self):
        return migrate.SqliteDb(self.path)

    def service_args(self):
        return ["--sqlite", self.path]

    old_reader_args = service_args

    def _conn(self):
        import sqlite3
        return sqlite3.connect(self.path)

    def rows(self, table):
        c = self._conn()
        try:
            return {str(k): bytes(v) for k, v in c.execute(
                "SELECT id, payload FROM %s" % table)}
        finally:
            c.close()

    def outbox_meta(self):
        c = self._conn()
        try:
            return {str(k): (o, st, at) for k, o, st, at in c.execute(
                "SELECT id, order_id, state, enqueued_at FROM order_events")}
        finally:
            c.close()

    def check_side_tables(self, manifest, present):
        c = self._conn()
        try:
            cols = [r[1] for r in c.execute("PRAGMA table_info(orders)")]
            tables = [r[0] for r in c.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")]
            check_eq("pickup_store_id" in cols, present, "pickup_store_id")
            check_eq("order_discounts" in tables, present, "order_discounts")
            if present:
                got = (c.execute("SELECT count(*) FROM orders WHERE "
                                 "pickup_store_id IS NOT NULL").fetchone()[0],
                       c.execute("SELECT count(*) FROM order_discounts")
                       .fetchone()[0])
                check_eq(got, expected_side_rows(manifest),
                         "rows the new checkout wrote next to the records")
        finally:
            c.close()


class PostgresBackend:
    dialect = "postgres"
    kind = "postgres-table"

    def __init__(self, schema):
        import psycopg2
        path = env_path("RS_PG_CONNINFO_FILE")
        if not os.path.exists(path):
            raise Failure("no PostgreSQL test server: %s is missing" % path)
        with open(path) as f:
            self.connection = f.read().strip()
        self.schema = schema
        # Old code, the service and the migrations find the tables through
        # search_path, as they would in production.
        self.dsn = "%s options='-csearch_path=%s'" % (self.connection, schema)
        self.conn = psycopg2.connect(self.connection)
        self.conn.autocommit = True
        with self.conn.cursor() as c:
            c.execute('DROP SCHEMA IF EXISTS "%s" CASCADE' % schema)
            c.execute('CREATE SCHEMA "%s"' % schema)
            # Runs and backups of earlier runs of this test.
            c.execute("SELECT to_regclass('rollsafe.runs') IS NOT NULL")
            if c.fetchone()[0]:
                c.execute("DELETE FROM rollsafe.backup WHERE run_id IN "
                          "(SELECT run_id FROM rollsafe.runs WHERE "
                          "table_name LIKE %s)", (schema + ".%",))
                c.execute("DELETE FROM rollsafe.runs WHERE table_name LIKE %s",
                          (schema + ".%",))

    def qualified(self, table):
        return "%s.%s" % (self.schema, table)

    def migration_db(self):
        return migrate.PostgresDb(self.dsn)

    def service_args(self):
        return ["--postgres", self.dsn]

    old_reader_args = service_args

    def rows(self, table):
        with self.conn.cursor() as c:
            c.execute('SELECT id::text, payload FROM "%s"."%s"'
                      % (self.schema, table))
            return {k: bytes(v) for k, v in c.fetchall()}

    def outbox_meta(self):
        with self.conn.cursor() as c:
            c.execute('SELECT id::text, order_id, state, enqueued_at FROM '
                      '"%s".order_events' % self.schema)
            return {k: (o, st, at) for k, o, st, at in c.fetchall()}

    def check_side_tables(self, manifest, present):
        with self.conn.cursor() as c:
            c.execute("SELECT count(*) FROM information_schema.columns WHERE "
                      "table_schema = %s AND table_name = 'orders' AND "
                      "column_name = 'pickup_store_id'", (self.schema,))
            check_eq(c.fetchone()[0] == 1, present, "pickup_store_id")
            c.execute("SELECT to_regclass(%s) IS NOT NULL",
                      (self.schema + ".order_discounts",))
            check_eq(c.fetchone()[0], present, "order_discounts")
            if present:
                c.execute('SELECT (SELECT count(*) FROM "%s".orders WHERE '
                          'pickup_store_id IS NOT NULL), (SELECT count(*) '
                          'FROM "%s".order_discounts)'
                          % (self.schema, self.schema))
                check_eq(tuple(c.fetchone()), expected_side_rows(manifest),
                         "rows the new checkout wrote next to the records")
