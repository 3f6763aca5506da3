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

What `fix` can and cannot do decides how the cycle ends (docs/cli/fix.md):
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

The outbox order_events is scanned and fixed as an operator should, with
the queue target kinds (sqlite-queue, postgres-queue; outbox_target):
state column `state`, pending state `pending`, in-flight state
`processing`, as the workload writes them. What "the old reader reads
every message" means for an outbox: every message a consumer will still
read, those pending or processing (LIVE), must be readable after the fix;
a `done` message is history that no consumer reads again, which the queue
kinds neither count nor rewrite. So old_reader reads the outbox with
`--states pending,processing`, and the test also checks that its default
(every row) fails on exactly the version-2 messages that are done.

Consumers are part of the cycle. The workload leaves messages processing,
held by workers from before the kill; a fix never rewrites one and keeps
passing over them (in_flight) until their workers finish them (gone). In
step 3 two old_consumer processes (tests/old_reader/old_consumer.c,
version-1 workers: FOR UPDATE SKIP LOCKED in PostgreSQL, BEGIN IMMEDIATE
in SQLite, pending -> processing -> done, or deleted) start while the fix
runs, once its first pass has committed the batch of the first pending
version-2 message; they take pending messages, record what the old code
made of each, and finish the held messages, so that the fix settles and
exits 0. Every message a consumer took after its batch committed (its
bytes are the ones the fix wrote) must have been read; one taken before
the fix reached it is the window every kill has, and must be untouched
(never converted under a consumer). Restore then puts back the messages
still pending and reports the ones consumed since the fix as `gone`.
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
# The outbox's states: consumers take pending messages and hold them
# processing; done messages are consumed (history).
PENDING, IN_FLIGHT = ("pending",), ("processing",)
LIVE = PENDING + IN_FLIGHT
OUTBOX = "order_events"


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


def parse_json(what, out):
    try:
        return json.loads(out)
    except ValueError as e:
        raise Failure("rollsafe %s: output is not JSON (%s): %s"
                      % (what, e, out[:2000]))


def orders_target(db):
    """The orders table: a table target."""
    return {"name": "orders", "kind": db.table_kind,
            "connection": db.connection,
            "table": db.qualified("orders"), "key": "id", "column": "payload",
            "type": "shop.Order"}


def outbox_target(db):
    """The order_events outbox, as a queue target (sqlite-queue,
    postgres-queue): consumers take pending messages, hold them
    processing, and mark them done or delete them. Scan and fix read only
    the pending and processing messages; fix rewrites only pending ones
    (SKIP LOCKED in PostgreSQL), counts the processing ones in_flight and
    passes again until their consumers have finished them (gone)."""
    return {"name": OUTBOX, "kind": db.queue_kind,
            "connection": db.connection, "table": db.qualified(OUTBOX),
            "key": "id", "column": "payload", "type": "shop.Order",
            "state_column": "state", "pending_states": list(PENDING),
            "in_flight_states": list(IN_FLIGHT)}


def check_queue(db, want, what):
    """The outbox's bookkeeping after a step: exactly the messages of
    @p want (none lost, none added beyond what consumers deleted), each
    with its order, state and enqueue time; fix and restore rewrite only
    payloads."""
    check_eq(db.outbox_meta(), want, "order_events bookkeeping " + what)


def live_keys(meta):
    """The outbox messages a consumer will still read (pending or
    processing)."""
    return {k for k, (_, st, _) in meta.items() if st in LIVE}


class Consumers:
    """old_consumer processes taking outbox messages; parse() gives what
    each took, held and finished."""

    def __init__(self, h):
        self.h, self.procs = h, []

    def start(self, *args, held=0):
        """Starts a consumer; with @p held, returns once it has listed that
        many held messages (before it takes any), so that a consumer
        started next cannot have claimed one of them yet."""
        # Unbuffered (bufsize=0): readline() then takes exactly the held
        # lines off the pipe. A buffered reader may also take taken lines
        # the consumer has already written, and communicate() in wait(),
        # which reads the pipe itself, would never see them.
        p = subprocess.Popen(
            [self.h.old_consumer, *self.h.db.old_reader_args(), *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0)
        first = [p.stdout.readline() for _ in range(held)]
        self.procs.append((p, "--delete" in args, b"".join(first)))

    def wait(self):
        """{key: (bytes read, "ok" or the reason, deleted)}, [held],
        [finished]; every message taken at most once."""
        taken, held, finished = {}, [], []
        for p, deleted, first in self.procs:
            out, err = p.communicate(timeout=600)
            out = first + out
            err = err.decode("utf-8", "replace")
            for marker in SANITIZER_MARKERS:
                check(marker not in err, "sanitizer report from old_consumer",
                      err)
            check(p.returncode in (0, 1), "old_consumer: exit %d"
                  % p.returncode, err)
            unread = 0
            for line in out.decode().splitlines():
                f = line.split("\t")
                if f[0] == "taken":
                    check(f[1] not in taken, "message %s taken twice" % f[1])
                    taken[f[1]] = (bytes.fromhex(f[2]), f[3], deleted)
                    unread += f[3] != "ok"
                elif f[0] == "held":
                    held.append(f[1])
                else:
                    check(f[0] == "finished", "old_consumer line", line)
                    finished.append(f[1])
            check_eq(p.returncode, 1 if unread else 0,
                     "old_consumer's exit status")
        self.procs = []
        return taken, held, finished


class Rehearsal:
    """One database (a Backend) and the three parties working on it."""

    def __init__(self, r, backend):
        self.r = r
        self.db = backend
        self.old_reader = env_path("RS_OLD_READER")
        self.old_consumer = env_path("RS_OLD_CONSUMER")
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

    def old_read(self, want, every_state=False):
        """Runs old_reader; {table: {key: reason}} of what it cannot read.
        The outbox is read as its consumers read it (pending and
        processing messages), or with @p every_state done ones too."""
        states = [] if every_state else ["--states", ",".join(LIVE)]
        _, out, err = run([self.old_reader, *self.db.old_reader_args(),
                           *states], want)
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
        return parse_json(argv[0], out)

    def start_rollsafe(self, *argv):
        return subprocess.Popen([self.r.rollsafe, *argv, "-c", self.config,
                                 "--format", "json"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)

    def finish_rollsafe(self, p, want, what):
        out, err = p.communicate(timeout=600)
        out, err = out.decode("utf-8", "replace"), err.decode("utf-8",
                                                               "replace")
        for marker in SANITIZER_MARKERS:
            check(marker not in err, "sanitizer report from rollsafe", err)
        check(p.returncode == want, "rollsafe %s: exit %d, want %d"
              % (what, p.returncode, want), "stdout: " + out[-3000:],
              "stderr: " + err[-3000:])
        return parse_json(what, out)

    def finish_held(self):
        """The workers that held messages at the kill finish them (mark them
        done) and take nothing more."""
        c = Consumers(self)
        c.start("--take", "0", "--finish-held")
        taken, held, finished = c.wait()
        check_eq(taken, {}, "messages taken")
        check_eq(finished, held, "held messages finished")
        return set(held)

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
        (in the outbox: those pending or processing) and the old reader
        fails on exactly those, at the envelope; read in every state, it
        fails on every version-2 message, done ones included. Returns the
        keys of those records per table."""
        v2 = {t: {k for k, (v, _) in manifest[t].items() if v == 2}
              for t in TABLES}
        every = self.old_read(1, every_state=True)
        check_keys(every[OUTBOX], v2[OUTBOX],
                   "outbox: keys the old reader fails in every state")
        v2[OUTBOX] &= live_keys(self.db.outbox_meta())
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


def fix_with_consumers(h, backend, queue, v2):
    """Step 3's fix, with the outbox's consumers running: returns the fix's
    document, what the consumers took ({key: (bytes, reason, deleted)}),
    the keys they finished, and the run's backups of the outbox
    ({key: (old, new)})."""
    pending_v2 = sorted((k for k in v2[OUTBOX] if queue[k][1] in PENDING),
                        key=int)
    check(pending_v2, "pending version-2 messages at the kill")
    check({k for k in v2[OUTBOX] if queue[k][1] in IN_FLIGHT},
          "version-2 messages processing at the kill")
    # The consumers finish the held messages at their own pace, slower on
    # a loaded machine: the fix waits for them as long as its passes last
    # (it ends as soon as nothing is left in flight), not the default 2 s.
    fix = h.start_rollsafe("fix", "--execute", "--allow-lossy", "--batch",
                           "50", "--max-passes", "100",
                           "--in-flight-wait", "600s")
    # The consumers start once the batch holding the first pending
    # version-2 message has committed, so that some of what they take was
    # converted before. The fix cannot end before: the held messages keep
    # it passing until a consumer finishes them.
    while (fix.poll() is None and
           not backend.backed_up(OUTBOX, pending_v2[0])):
        time.sleep(0.01)
    check(fix.poll() is None, "the fix runs when the consumers start",
          fix.poll())
    consumers = Consumers(h)
    consumers.start("--take", "40", "--finish-held", "--work-ms", "2",
                    held=sum(1 for m in queue.values() if m[1] in IN_FLIGHT))
    consumers.start("--take", "40", "--delete", "--work-ms", "2")
    doc = h.finish_rollsafe(fix, 0, "fix")
    taken, held, finished = consumers.wait()
    check_eq(set(held), {k for k in queue if queue[k][1] in IN_FLIGHT},
             "messages held at the kill")
    check_eq(finished, held, "held messages finished")
    # The outbox's own row of the run: its backup rows are keyed by it.
    row_id = {t["name"]: t["row_id"] for t in doc["targets"]}[OUTBOX]
    return doc, taken, set(held), backend.backups(row_id)


def check_taken(taken, backups, before, v2_live):
    """What the consumers took while the fix ran: a message taken after its
    batch committed was read in the bytes the fix wrote, and the old code
    read it; one taken before the fix reached it is untouched (never
    converted under a consumer). Returns the keys of the latter."""
    after, window = 0, set()
    for k, (got, why, _) in sorted(taken.items()):
        check(k in before, "message %s taken existed at the kill" % k)
        if k in backups:
            check_eq(got, backups[k][1],
                     "message %s: bytes taken = bytes the fix wrote" % k)
            check_eq(why, "ok", "message %s taken after its batch committed: "
                     "the old code reads it" % k)
            after += 1
        else:
            check_eq(got, before[k], "message %s taken unconverted" % k)
            if k in v2_live:
                check(why != "ok", "message %s: version 2, taken before the "
                      "fix: the old code fails on it" % k, why)
                window.add(k)
            else:
                check_eq(why, "ok", "message %s: version 1" % k)
    check(after > 0, "messages taken after their batch committed",
          len(taken))
    return window


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
    # Records without provenance (the old code's raw records) cannot be
    # attributed by the filters: they are judged and counted apart, as
    # unattributed; the flag's writes are the rest.
    def flag_writes(after, want):
        doc = h.rollsafe(want, "scan", "--flag", "checkout_v2",
                         "--written-after", "@%d" % (after // second))
        return sum(t["rows_counted"] + t["undetermined"]["total"] -
                   t["unattributed"]["total"] for t in doc["targets"])
    check_eq(flag_writes(kill, 0), 0, "flag writes after the kill")
    check_eq(flag_writes(t0 - second, 1), sum(len(v2[t]) for t in TABLES),
             "flag writes since the rollout")

    # 3. Fix while the outbox's consumers run, then a clean scan and an old
    # reader that reads every record and every message still to consume.
    doc, taken, held, backups = fix_with_consumers(h, backend, queue, v2)
    window = check_taken(taken, backups, before[OUTBOX], v2[OUTBOX])
    q = {t["name"]: t for t in doc["targets"]}[OUTBOX]
    print("outbox: fix converted %d in %d passes (in_flight %d, gone %d); "
          "consumers took %d (%d after their batch committed, %d version-2 "
          "before the fix reached them), finished %d held"
          % (q["rewritten"], q["passes"], q["in_flight"], q["gone"],
             len(taken), len(set(taken) & set(backups)), len(window),
             len(held)))
    converted = {"orders": v2["orders"], OUTBOX: set(backups)}
    check_keys(converted[OUTBOX],
               {k for k in v2[OUTBOX] if queue[k][1] in PENDING} - window,
               "outbox: messages the fix converted (pending, not taken "
               "before the fix reached them)")
    run_ids = {t["name"]: t["run_id"] for t in doc["targets"]}
    for t in doc["targets"]:
        kinds = [manifest[t["name"]][k][1] for k in converted[t["name"]]]
        check_eq(t["rewritten"], len(kinds), "%s: converted" % t["name"])
        check_eq(t["outcomes"]["converted"],
                 sum(1 for k in kinds if k not in LOSSY),
                 "%s: lossless conversions" % t["name"])
        check_eq(t["outcomes"]["lossy"], sum(1 for k in kinds if k in LOSSY),
                 "%s: lossy conversions" % t["name"])
    check_eq(q["kind"], backend.queue_kind, "outbox target kind")
    check_eq((q["unsettled"], q["conflicts"]), (0, 0),
             "outbox: unsettled and conflicts after the fix")
    check(q["in_flight"] > 0, "outbox: the held messages met in flight", q)
    for k, (old, _) in backups.items():
        check_eq(old, before[OUTBOX][k], "backup of message %s" % k)
    check_eq(h.scan(0), {t: set() for t in TABLES}, "findings after the fix")
    check_eq(h.old_read(0), {t: {} for t in TABLES}, "old reader after fix")
    # The outbox now: consumed messages done or deleted, payloads rewritten
    # where converted, nothing else changed.
    queue_after = dict(queue)
    for k in held:
        queue_after[k] = queue[k][:1] + ("done",) + queue[k][2:]
    for k, (_, _, deleted) in taken.items():
        if deleted:
            del queue_after[k]
        else:
            queue_after[k] = queue[k][:1] + ("done",) + queue[k][2:]
    fixed = rows(backend)
    changed = {k for k in before["orders"]
               if before["orders"][k] != fixed["orders"][k]}
    check_keys(changed, v2["orders"], "orders: rows the fix rewrote")
    check_eq(fixed[OUTBOX], {k: backups[k][1] if k in backups
                             else before[OUTBOX][k] for k in queue_after},
             "outbox payloads after the fix")
    check_queue(backend, queue_after, "after the fix")
    # Read in every state, the old reader fails on exactly the version-2
    # messages consumed without conversion: history no consumer reads.
    history = {k for k in queue_after if k not in backups and
               manifest[OUTBOX][k][0] == 2}
    check(all(queue_after[k][1] == "done" for k in history),
          "version-2 messages left unconverted are all done")
    check_keys(h.old_read(1, every_state=True)[OUTBOX], history,
               "outbox: the old reader in every state after the fix")

    # 4. The feature's down migration; the old reader still reads it all.
    check_eq(h.migrate_down(FEATURE_MIGRATION - 1), [FEATURE_MIGRATION],
             "down migration")
    backend.check_side_tables(manifest, False)
    check_eq(h.old_read(0), {t: {} for t in TABLES},
             "old reader after the down migration")
    check_eq(rows(backend), fixed, "rows after the down migration")
    check_queue(backend, queue_after, "after the down migration")

    # 5. Re-enable: up again, restore, and the new reader sees every
    # version-2 record still to consume as before the fix; the messages
    # consumed since the fix are gone.
    check_eq(h.migrate_up(), [FEATURE_MIGRATION], "up migration again")
    consumed = set(backups) & set(taken)
    want = {"orders": (len(v2["orders"]), 0),
            OUTBOX: (len(backups) - len(consumed), len(consumed))}
    counted = ("restored", "conflicts", "gone", "in_flight", "exit_code")
    for t in TABLES:
        # As the runbook says: the dry run first; it predicts the execute.
        dry = h.rollsafe(0, "restore", "--run", run_ids[t],
                         config=h.target_config[t])
        check_eq(dry["executed"], False, "%s: a dry restore" % t)
        doc = h.rollsafe(0, "restore", "--run", run_ids[t], "--execute",
                         config=h.target_config[t])
        check_eq((doc["restored"], doc["gone"], doc["in_flight"]),
                 want[t] + (0,), "%s: restored, gone, in flight" % t)
        check_eq({k: dry[k] for k in counted}, {k: doc[k] for k in counted},
                 "%s: the restore's dry run predicts it" % t)
    restored = rows(backend)
    check_eq(restored["orders"], before["orders"],
             "orders byte-identical after restore")
    check_eq(restored[OUTBOX], {k: backups[k][1] if k in consumed
                                else before[OUTBOX][k] for k in queue_after},
             "outbox: every message not consumed since the fix "
             "byte-identical after restore")
    check_queue(backend, queue_after, "after the restore")
    new_after = h.new_reader()
    check_eq(new_after["orders"], new_before["orders"],
             "orders: what the new reader sees")
    for k in v2["orders"]:
        check_eq(new_after["orders"][k][:2], (2, "checkout_v2"),
                 "orders %s: written version and flag" % k)
    check_eq(set(new_after[OUTBOX]), set(queue_after), "outbox messages read")
    for k, seen in new_after[OUTBOX].items():
        if k in consumed:
            # The version-1 bytes the fix wrote keep version 2's own fields
            # as unknown fields: only version 2 explains them when such a
            # field is there, so the raw writer is inferred as 2 then.
            want = (1, 2) if manifest[OUTBOX][k][0] == 2 else (1,)
            check(seen[0] in want, "message %s consumed since the fix: the "
                  "version-1 bytes it was read in: got %s, want one of %s"
                  % (k, seen[0], want))
        else:
            check_eq(seen, new_before[OUTBOX][k],
                     "message %s: what the new reader sees" % k)
            if manifest[OUTBOX][k][0] == 2:
                check_eq(seen[:2], (2, "checkout_v2"),
                         "message %s: written version and flag" % k)
    # The flag's records are back, and so is what a kill would break.
    found = h.scan(1)
    check_keys(found["orders"], v2["orders"], "orders: findings after restore")
    check_keys(found[OUTBOX], set(backups) - consumed,
               "outbox: findings after the restore (the restored messages)")


def impossible_records_left(r, backend):
    """The records no version-1 record can hold: fix leaves them, names
    them, and everything else is read. The workers holding messages at the
    kill finish them first, so that the fix meets none in flight."""
    h = Rehearsal(r, backend)
    h.migrate_up()
    manifest = h.workload(500, 11, impossible=True)
    before = rows(backend)
    queue = backend.outbox_meta()
    check_eq(h.finish_held(), {k for k in queue if queue[k][1] in IN_FLIGHT},
             "messages held at the kill, finished")
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
    table_kind = "sqlite-table"
    queue_kind = "sqlite-queue"

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
        # A fix may be writing: wait for its batch rather than fail.
        return sqlite3.connect(self.path, timeout=600)

    def backed_up(self, table, key):
        """Whether a fix of @p table has committed the backup of @p key."""
        import sqlite3
        c = self._conn()
        try:
            return c.execute(
                "SELECT count(*) FROM rollsafe_backup WHERE key = ? AND "
                "run_id IN (SELECT run_id FROM rollsafe_runs WHERE "
                "command = 'fix' AND table_name = ?)",
                (key, table)).fetchone()[0] > 0
        except sqlite3.OperationalError:  # no run yet: no table yet
            return False
        finally:
            c.close()

    def backups(self, run_id):
        c = self._conn()
        try:
            return {k: (bytes(o), bytes(n)) for k, o, n in c.execute(
                "SELECT key, old_value, new_value FROM rollsafe_backup "
                "WHERE run_id = ?", (run_id,))}
        finally:
            c.close()

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
    table_kind = "postgres-table"
    queue_kind = "postgres-queue"

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

    def backed_up(self, table, key):
        """Whether a fix of @p table has committed the backup of @p key."""
        with self.conn.cursor() as c:
            c.execute("SELECT to_regclass('rollsafe.backup') IS NOT NULL")
            if not c.fetchone()[0]:
                return False
            c.execute("SELECT count(*) FROM rollsafe.backup WHERE key = %s "
                      "AND run_id IN (SELECT run_id FROM rollsafe.runs WHERE "
                      "command = 'fix' AND table_name = %s)",
                      (key, self.qualified(table)))
            return c.fetchone()[0] > 0

    def backups(self, run_id):
        with self.conn.cursor() as c:
            c.execute("SELECT key, old_value, new_value FROM rollsafe.backup "
                      "WHERE run_id = %s", (run_id,))
            return {k: (bytes(o), bytes(n)) for k, o, n in c.fetchall()}

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
