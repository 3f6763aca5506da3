#!/usr/bin/env python3
"""Safety tests of `rollsafe fix --execute` on SQLite (DESIGN.md, "Safety
promises" 2 to 6): no lost updates under concurrent writers, and kill -9 at
random points followed by --resume.

Usage: test_fix_safety_sqlite.py --rollsafe BIN --work DIR CASE
       test_fix_safety_sqlite.py --writer DB INDEX LOG CTL_DIR SEED
       (the concurrent writer of lost_updates, started by the test itself)

Tables are written with Python's sqlite3, records built with Python's
protobuf (rsdata), and every row the fixer wrote is parsed with the
version-1 schema here, independently of rollsafe.
"""

import bisect
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rsdata import (Failure, Records, SANITIZER_MARKERS, check,  # noqa: E402
                    check_eq, gen, run_cases)

# Hang guards only: nothing here asserts how long anything takes. ctest's
# own TIMEOUT (tests/integration.cmake) bounds a whole case.
HANG = 540
# Kinds that the default (raw, version-1) reader cannot read and that a fix
# converts losslessly; the planted ones are never touched.
CONVERTIBLE = ("v2_plain", "v2_gift")
PLANTED = ("v2_guest", "corrupt")  # impossible, corrupt


def target(path):
    return ["--sqlite", path, "--table", "orders", "--key", "id", "--column",
            "payload", "--type", "shop.Order"]


def record(recs, kind, token):
    """A shop.Order of @kind ("v1", "v2_plain", "v2_gift") whose order_id
    (and, for a gift, gift_message) is @token."""
    m = (recs.v1m if kind == "v1" else recs.v2m).Order()
    m.order_id = token
    m.customer_id = "C-" + token
    m.total_cents = 1000 + len(token)
    m.status = 2
    a = m.items.add()
    a.sku, a.quantity, a.unit_price_cents = "SKU-" + token, 1, 1000
    if kind == "v1":
        return gen.serialize(m)
    if kind == "v2_gift":
        m.gift_message = "for " + token
    elif kind != "v2_plain":
        raise ValueError(kind)
    h = recs.env.Header()
    h.record_type = "shop.Order"
    h.format_version = 2
    h.provenance.flag_key = "checkout_v2"
    h.provenance.variant = "on"
    h.provenance.writer_id = "safety-writer"
    h.provenance.write_time_us = time.time_ns() // 1000
    h.schema_fingerprint = recs.fp2
    return gen.envelope(gen.serialize(h), gen.serialize(m))


def v1_order_id(recs, data):
    """order_id of @data parsed as plain version-1 protobuf, or None when the
    old reader's own schema cannot parse it (an envelope, missing required
    fields)."""
    if data[:1] == bytes([gen.ENVELOPE_MARKER]):
        return None
    m = recs.v1m.Order()
    try:
        m.ParseFromString(data)
    except Exception:
        return None
    return m.order_id if m.IsInitialized() else None


def build(path, recs, kinds, wal):
    if os.path.exists(path):
        os.unlink(path)
    db = sqlite3.connect(path)
    if wal:
        mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        check_eq(mode, "wal", "journal mode")
    db.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, "
               "payload BLOB NOT NULL)")
    orig = {k: recs.make(kind, k) for k, kind in kinds.items()}
    db.executemany("INSERT INTO orders VALUES (?, ?)", sorted(orig.items()))
    db.commit()
    db.close()
    return orig


def mix(rng, n, n_guest, n_corrupt, weights):
    """Kinds of keys 1..n: the planted ones at random keys, the rest drawn
    from @weights."""
    keys = list(range(1, n + 1))
    planted = rng.sample(keys, n_guest + n_corrupt)
    kinds = {}
    pool = [kind for kind, w in weights.items() for _ in range(w)]
    for k in keys:
        kinds[k] = rng.choice(pool)
    for k in planted[:n_guest]:
        kinds[k] = "v2_guest"
    for k in planted[n_guest:]:
        kinds[k] = "corrupt"
    return kinds


def connect(path):
    return sqlite3.connect(path, timeout=60, isolation_level=None)


def table_rows(path):
    db = connect(path)
    out = {k: bytes(v)
           for k, v in db.execute("SELECT id, payload FROM orders")}
    db.close()
    return out


def backups(path, run_id):
    """{key: (old, new, written_us)} of @run_id, with the backups of its
    parts (fix --shard: rows RUN_ID.t0.pIofN)."""
    db = connect(path)
    out = {int(k): (bytes(o), bytes(n), w) for k, o, n, w in db.execute(
        "SELECT key, old_value, new_value, written_us FROM rollsafe_backup "
        "WHERE run_id = ?1 OR run_id GLOB ?1 || '.t*'", (run_id,))}
    db.close()
    return out


def no_sanitizer(text, what):
    for marker in SANITIZER_MARKERS:
        check(marker not in text, "sanitizer report from " + what, text)


def fix_doc(r, codes, path, *extra):
    rc, out, err = r.run("fix", *target(path), "--execute", "--format",
                         "json", "--samples", "0", *extra, timeout=HANG)
    check(rc in codes, "rollsafe fix %s: exit %d, want one of %r"
          % (" ".join(extra), rc, codes), "stdout: " + out[-3000:],
          "stderr: " + err[-3000:])
    try:
        doc = json.loads(out)
    except ValueError as e:
        raise Failure("fix output is not JSON (%s): %s" % (e, out[:2000]))
    check_eq(doc["exit_code"], rc, "exit_code in the document")
    return doc


def fix_shards_doc(r, codes, path, shards, run_id, *extra):
    """fix_doc of @shards processes at once, --run @run_id --shard K/N,
    all writing the one file: their reports added up as one fix's."""
    procs = [subprocess.Popen(
        [r.rollsafe, "fix", *target(path), "--execute", "--format", "json",
         "--samples", "0", "--run", run_id, "--shard", "%d/%d" % (k, shards),
         *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for k in range(shards)]
    docs = []
    for k, p in enumerate(procs):
        out, err = p.communicate(timeout=HANG)
        out, err = out.decode("utf-8", "replace"), err.decode("utf-8",
                                                              "replace")
        no_sanitizer(err, "fix --shard %d/%d" % (k, shards))
        check(p.returncode in codes, "fix --shard %d/%d: exit %d, want one "
              "of %r" % (k, shards, p.returncode, codes), err[-3000:])
        docs.append(json.loads(out))
    doc = {"run_id": run_id, "complete": all(d["complete"] for d in docs),
           "exit_code": max(d["exit_code"] for d in docs),
           "targets": [{"passes": max(d["targets"][0]["passes"]
                                      for d in docs),
                        "busy_retries": sum(d["targets"][0]["busy_retries"]
                                            for d in docs)}]}
    for k in ("rewritten", "lossy", "conflicts", "impossible", "corrupt",
              "remaining"):
        doc[k] = sum(d[k] for d in docs)
    return doc


def scan_verdicts(r, path):
    doc, _ = r.scan_json(1, *target(path), timeout=HANG)
    check_eq(doc["complete"], True, "scan complete")
    return doc["totals"]["verdicts"]


# ---- lost_updates: four writers while the fixer runs ----------------------

def writer_main(argv):
    """One concurrent writer: updates random rows until CTL/stop appears,
    in the new format (envelopes) and the old, or only the old one once
    CTL/old_only appears. Half of its writes go to rows just after the
    newest run's checkpoint, where the fixer reads and swaps, so that its
    compare-and-swaps meet changed rows. Each write is its own BEGIN
    IMMEDIATE transaction and carries a unique token in order_id; after
    its COMMIT succeeds it is acknowledged: one line in LOG, flushed. The
    times on the line are taken while the write lock is held (after the
    UPDATE, before COMMIT), so they order this writer's commits against the
    other writers' and the fixer's batches (whose backup written_us is also
    taken under the lock)."""
    path, index, log_path, ctl, seed = argv[:5]
    index, seed = int(index), int(seed)
    # hold: seconds each transaction keeps the write lock at most (a busy
    # application's writes); 0: as short as it can.
    hold = float(argv[5]) if len(argv) > 5 else 0.0
    recs = Records()
    rng = random.Random(seed * 1000 + index)
    with open(os.path.join(ctl, "ids.json")) as f:
        ids = json.load(f)
    db = sqlite3.connect(path, timeout=10.0, isolation_level=None)
    log = open(log_path, "a")
    acked = failed = n = 0
    errors = []
    old_only = False
    while not os.path.exists(os.path.join(ctl, "stop")):
        if not old_only and os.path.exists(os.path.join(ctl, "old_only")):
            # Every earlier write has committed or failed by now.
            old_only = True
            open(os.path.join(ctl, "old_only-%d" % index), "w").close()
        # Holding writers take the lock first and make their record under
        # it: the lock is free only between a COMMIT and the next BEGIN.
        began = False
        if hold:
            try:
                db.execute("BEGIN IMMEDIATE")
                began = True
            except sqlite3.Error as e:
                failed += 1
                if len(errors) < 5:
                    errors.append(str(e))
                continue
        kind = "v1" if old_only else rng.choice(("v1", "v2_plain",
                                                 "v2_gift"))
        token = "W%d-%d" % (index, n)
        n += 1
        data = record(recs, kind, token)
        key = rng.choice(ids)
        if rng.random() < 0.5:
            try:
                row = db.execute("SELECT checkpoint FROM rollsafe_runs "
                                 "ORDER BY started_us DESC LIMIT 1").fetchone()
            except sqlite3.Error:  # no runs table yet
                row = None
            if row is not None and row[0] is not None:
                at = bisect.bisect_right(ids, int(row[0]))
                if at < len(ids):
                    key = ids[rng.randrange(at, min(at + 400, len(ids)))]
        try:
            if not began:
                db.execute("BEGIN IMMEDIATE")
            cur = db.execute("UPDATE orders SET payload = ? WHERE id = ?",
                             (data, key))
            if cur.rowcount != 1:
                raise RuntimeError("row %d: %d rows updated"
                                   % (key, cur.rowcount))
            mono, real = time.monotonic_ns(), time.time_ns() // 1000
            if hold:
                time.sleep(rng.uniform(0, hold))
            db.execute("COMMIT")
        except (sqlite3.Error, RuntimeError) as e:
            failed += 1
            if len(errors) < 5:
                errors.append(str(e))
            try:
                db.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            continue
        log.write("%d\t%s\t%s\t%d\t%d\t%s\n"
                  % (key, token, kind, mono, real, data.hex()))
        log.flush()
        acked += 1
        if hold:
            time.sleep(rng.uniform(0, 0.001))
        else:
            time.sleep(rng.uniform(0.001, 0.006))
    log.close()
    db.close()
    print(json.dumps({"acked": acked, "failed": failed, "errors": errors}))
    return 0


class Write:
    __slots__ = ("key", "token", "kind", "mono", "real", "data")

    def __init__(self, line):
        k, self.token, self.kind, mono, real, data = line.split("\t")
        self.key, self.mono, self.real = int(k), int(mono), int(real)
        self.data = bytes.fromhex(data)


def read_writes(logs):
    writes = {}
    for p in logs:
        with open(p) as f:
            text = f.read()
        check(text == "" or text.endswith("\n"), "log %s ends a line" % p)
        for line in text.splitlines():
            w = Write(line)
            writes.setdefault(w.key, []).append(w)
    for ws in writes.values():
        ws.sort(key=lambda w: w.mono)
        for a, b in zip(ws, ws[1:]):
            # Both clocks are read under the write lock: they agree unless
            # CLOCK_REALTIME stepped back during the test.
            check(a.real <= b.real, "writes to row %d: monotonic and real "
                  "time disagree (clock stepped?)" % a.key, a.token, b.token)
    return writes


def line_count(path):
    try:
        with open(path, "rb") as f:
            return f.read().count(b"\n")
    except FileNotFoundError:
        return 0


def wait_for(what, cond, procs):
    deadline = time.monotonic() + HANG
    while not cond():
        for i, (p, _, err_path) in enumerate(procs):
            if p.poll() is not None:
                with open(err_path) as f:
                    raise Failure("writer %d exited %d while waiting for %s"
                                  % (i, p.returncode, what), f.read()[-3000:])
        check(time.monotonic() < deadline, "hang guard: waiting for " + what)
        time.sleep(0.05)


def check_last_writes_kept(recs, writes, final, backup_sets):
    """No acknowledged write is lost: each row a writer wrote holds its
    last write, as written or as the fixer's conversion of exactly those
    bytes (a backup row of one of @backup_sets says so)."""
    for k, ws in writes.items():
        last = ws[-1]
        if final[k] == last.data:
            continue
        check(last.kind in CONVERTIBLE,
              "row %d lost write %s (%s)" % (k, last.token, last.kind))
        check(any(b is not None and b[0] == last.data and b[1] == final[k]
                  for b in (bs.get(k) for bs in backup_sets)),
              "row %d: last write %s replaced by bytes no backup explains"
              % (k, last.token), final[k].hex())
        check_eq(v1_order_id(recs, final[k]), last.token,
                 "version-1 order_id of row %d" % k)


def start_writers(r, path, kinds, n_writers, hold):
    """The concurrent writers (writer_main), each with its log; returns
    (procs, logs, ctl)."""
    ctl = os.path.join(r.work, "ctl")
    os.makedirs(ctl)
    # Writers never touch the planted rows, so that they can be counted.
    with open(os.path.join(ctl, "ids.json"), "w") as f:
        json.dump([k for k, kind in kinds.items() if kind not in PLANTED], f)
    logs = [os.path.join(r.work, "writer-%d.log" % i)
            for i in range(n_writers)]
    procs = []
    for i in range(n_writers):
        out_path = os.path.join(r.work, "writer-%d.out" % i)
        err_path = os.path.join(r.work, "writer-%d.err" % i)
        p = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--writer", path,
             str(i), logs[i], ctl, "7", str(hold)],
            stdout=open(out_path, "w"), stderr=open(err_path, "w"))
        procs.append((p, out_path, err_path))
    return procs, logs, ctl


def stop_writers(procs, ctl):
    """Stops the writers (killed if they do not stop)."""
    open(os.path.join(ctl, "stop"), "w").close()
    for p, _, _ in procs:
        try:
            p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def writer_summaries(procs):
    """What each stopped writer says it did, once each exited 0."""
    summaries = []
    for i, (p, out_path, err_path) in enumerate(procs):
        with open(err_path) as f:
            err = f.read()
        check_eq(p.returncode, 0, "writer %d exit (stderr %s)" % (i, err))
        with open(out_path) as f:
            summaries.append(json.loads(f.read()))
    return summaries


def test_writers_hold_the_lock_default_options(r):
    """Four writers that keep the write lock most of the time (each write a
    transaction holding it up to 20 ms, the next one at most 1 ms later), on a
    WAL database, while `fix --execute` runs with every option at its
    default: the fix takes its turn (busy handler, retries up to the lock
    timeout) and completes with exit 1 (the planted records remain), not
    4; no acknowledged write is lost; every row no writer touched is
    converted once. The writers' locks are what the default lock timeout
    must outlast, so they are the test's load, not a limit: nothing here
    asserts how long anything takes."""
    n_rows, n_guest, n_corrupt, n_writers = 20000, 20, 10, 4
    recs = Records()
    rng = random.Random(20261207)
    kinds = mix(rng, n_rows, n_guest, n_corrupt,
                {"v1": 2, "v2_plain": 1, "v2_gift": 1})
    path = os.path.join(r.work, "orders.db")
    orig = build(path, recs, kinds, wal=True)
    procs, logs, ctl = start_writers(r, path, kinds, n_writers, 0.02)
    try:
        wait_for("the writers' first writes",
                 lambda: all(line_count(p) >= 20 for p in logs), procs)
        doc = fix_doc(r, (1,), path)
    finally:
        stop_writers(procs, ctl)
    summaries = writer_summaries(procs)
    check_eq(doc["complete"], True, "fix complete")
    t = doc["targets"][0]
    check_eq((t["impossible"], t["corrupt"]), (n_guest, n_corrupt),
             "impossible, corrupt")
    writes = read_writes(logs)
    check_eq(sum(len(ws) for ws in writes.values()),
             sum(s["acked"] for s in summaries), "logged writes")
    check(all(s["acked"] > 0 for s in summaries), "every writer wrote",
          summaries)
    final = table_rows(path)
    check_eq(set(final), set(orig), "keys")
    b = backups(path, doc["run_id"])
    check_last_writes_kept(recs, writes, final, (b,))
    for k, kind in kinds.items():
        if k in writes:
            continue
        if kind in CONVERTIBLE:
            check(k in b and b[k][0] == orig[k] and b[k][1] == final[k],
                  "untouched %s row %d converted once, backed up" % (kind, k))
        else:
            check_eq(final[k], orig[k], "untouched %s row %d" % (kind, k))
    print("writers_hold_the_lock: %d rows, %d acknowledged writes to %d "
          "rows, fix converted %d (conflicts %d, busy retries %d, %d passes, "
          "%.1f s)" % (n_rows, sum(s["acked"] for s in summaries),
                       len(writes), doc["rewritten"], doc["conflicts"],
                       t["busy_retries"], t["passes"], t["duration_seconds"]))


def test_lost_updates(r):
    lost_updates(r, 0)


def test_lost_updates_two_shards(r):
    """The same with each fix run as two shards in two processes at once
    (--run ID --shard K/2), taking turns with each other and with the
    writers for the file's write lock. (fix --jobs leaves a SQLite target
    as one part: see docs/scale.md.)"""
    lost_updates(r, 2)


def lost_updates(r, shards):
    n_rows, n_guest, n_corrupt, n_writers = 100000, 40, 15, 4
    recs = Records()
    rng = random.Random(20261126)
    kinds = mix(rng, n_rows, n_guest, n_corrupt,
                {"v1": 2, "v2_plain": 1, "v2_gift": 1})
    path = os.path.join(r.work, "orders.db")
    orig = build(path, recs, kinds, wal=True)
    t0 = time.monotonic()
    # Writers never touch the planted rows, so (c) can count them exactly.
    procs, logs, ctl = start_writers(r, path, kinds, n_writers, 0)
    try:
        wait_for("the writers' first writes",
                 lambda: all(line_count(p) >= 50 for p in logs), procs)

        # The fix, while writers write both formats.
        opts = ("--batch", "200", "--lock-timeout", "2000", "--max-passes",
                "10")
        doc1 = (fix_shards_doc(r, (0, 1), path, shards, "lu-first", *opts)
                if shards else fix_doc(r, (0, 1), path, *opts))
        t1 = time.monotonic()
        check_eq(doc1["complete"], True, "first fix complete")
        run1 = doc1["run_id"]
        check(run1, "a run id", doc1)

        # Writers write only the old format from now on.
        open(os.path.join(ctl, "old_only"), "w").close()
        wait_for("the writers to switch to the old format",
                 lambda: all(os.path.exists(os.path.join(
                     ctl, "old_only-%d" % i)) for i in range(n_writers)),
                 procs)
        switched = [line_count(p) for p in logs]
        wait_for("old-format writes",
                 lambda: all(line_count(p) >= n + 20
                             for p, n in zip(logs, switched)), procs)
        # The final fix, while they still write (the old format).
        doc2 = (fix_shards_doc(r, (1,), path, shards, "lu-final", *opts)
                if shards else fix_doc(r, (1,), path, *opts))
        t2 = time.monotonic()
        check_eq(doc2["complete"], True, "final fix complete")
        run2 = doc2["run_id"]
    finally:
        stop_writers(procs, ctl)
    summaries = writer_summaries(procs)
    writes = read_writes(logs)
    n_acked = sum(len(ws) for ws in writes.values())
    check_eq(n_acked, sum(s["acked"] for s in summaries), "logged writes")
    check(all(s["acked"] > 0 for s in summaries), "every writer wrote",
          summaries)

    final = table_rows(path)
    check_eq(set(final), set(orig), "keys")
    b1, b2 = backups(path, run1), backups(path, run2)

    # (a) No acknowledged write is lost.
    check_last_writes_kept(recs, writes, final, (b1, b2))
    # Rows no writer touched: converted once by the first fix (no conflict
    # is possible on them), left alone otherwise.
    for k, kind in kinds.items():
        if k in writes:
            continue
        check(k not in b2, "untouched row %d rewritten by the final fix" % k)
        if kind in CONVERTIBLE:
            check(k in b1, "untouched %s row %d not fixed" % (kind, k))
            check_eq(b1[k][0], orig[k], "backup old bytes of row %d" % k)
            check_eq(b1[k][1], final[k], "backup new bytes of row %d" % k)
            check_eq(v1_order_id(recs, final[k]), "O-%d" % k,
                     "version-1 order_id of row %d" % k)
        else:
            check(k not in b1, "untouched %s row %d rewritten" % (kind, k))
            check_eq(final[k], orig[k], "untouched %s row %d" % (kind, k))

    # (b) Every backup row is a compare-and-swap of what the row held: its
    # old bytes are the last acknowledged write before the batch (or the
    # original), its new bytes that record converted, and the row still
    # holds them unless a writer wrote it after the batch.
    for run, doc, b in ((run1, doc1, b1), (run2, doc2, b2)):
        most = 0  # swaps this run could have made of its backed-up keys
        for k, (old, new, written) in b.items():
            ws = writes.get(k, [])
            before = [w for w in ws if w.real < written]
            after = [w for w in ws if w.real > written]
            check(len(before) + len(after) == len(ws),
                  "row %d: a write at the batch's own microsecond" % k)
            prior = before[-1] if before else None
            check((prior.kind if prior else kinds[k]) in CONVERTIBLE,
                  "run %s: row %d rewritten from a record the reader reads"
                  % (run, k))
            check_eq(old, prior.data if prior else orig[k],
                     "run %s: backup old bytes of row %d" % (run, k))
            check_eq(v1_order_id(recs, new),
                     prior.token if prior else "O-%d" % k,
                     "run %s: version-1 order_id of the new bytes of row %d"
                     % (run, k))
            if not after:
                check_eq(final[k], new, "run %s: row %d after its swap, no "
                         "later write" % (run, k))
            most += sum(1 for w in before if w.kind in CONVERTIBLE) + \
                (1 if kinds[k] in CONVERTIBLE else 0)
        conv = doc["rewritten"]
        check(len(b) <= conv <= most, "run %s: converted %d, backup rows %d,"
              " at most %d swaps possible" % (run, conv, len(b), most))
        if all(k not in writes for k in b):
            check_eq(conv, len(b), "run %s: converted = backup rows" % run)
        check_eq(doc["lossy"], 0, "run %s: lossy" % run)
        # Records left alone are counted once, however many passes.
        check_eq((doc["impossible"], doc["corrupt"]), (n_guest, n_corrupt),
                 "run %s: impossible, corrupt (%d passes)"
                 % (run, doc["targets"][0]["passes"]))

    # (c) The final fix leaves only the planted records, and a scan agrees.
    check_eq(doc2["remaining"], n_guest + n_corrupt, "final fix: remaining")
    gifts = sum(1 for k, kind in kinds.items()
                if (writes[k][-1].kind if k in writes else kind) == "v2_gift")
    verdicts = scan_verdicts(r, path)
    check_eq(verdicts, {"ok": n_rows - gifts - n_guest - n_corrupt,
                        "ignored_fields": gifts, "misread": 0,
                        "unreadable": n_guest, "corrupt": n_corrupt},
             "scan after the final fix")
    t3 = time.monotonic()
    print("lost_updates (%s): %d rows, %d acknowledged writes to %d rows "
          "(failed: %d), first fix %.1f s (%d passes, converted %d, "
          "conflicts %d, busy retries %d, impossible %d, exit %d), "
          "final fix %.1f s "
          "(converted %d, conflicts %d), total %.1f s"
          % ("%d shards" % shards if shards else "one process", n_rows, n_acked, len(writes),
             sum(s["failed"] for s in summaries), t1 - t0,
             doc1["targets"][0]["passes"], doc1["rewritten"],
             doc1["conflicts"], doc1["targets"][0]["busy_retries"],
             doc1["impossible"], doc1["exit_code"], t2 - t1, doc2["rewritten"],
             doc2["conflicts"], t3 - t0))


# ---- kill_9_and_resume ----------------------------------------------------

def run_state(path):
    """The runs (run_id, status, checkpoint, converted, impossible,
    corrupt), after an integrity check that also rolls back a hot
    journal."""
    db = connect(path)
    check_eq(db.execute("PRAGMA integrity_check").fetchall(), [("ok",)],
             "integrity check")
    tables = {t for (t,) in db.execute(
        "SELECT name FROM sqlite_schema WHERE type = 'table'")}
    runs = []
    if "rollsafe_runs" in tables:
        check("rollsafe_backup" in tables, "backup table with the runs table")
        runs = db.execute(
            "SELECT run_id, status, checkpoint, converted, impossible, "
            "corrupt FROM rollsafe_runs").fetchall()
    db.close()
    return runs


class KillState:
    def __init__(self, path, recs, kinds, orig):
        self.path, self.recs, self.kinds, self.orig = path, recs, kinds, orig
        self.run_id = None
        self.runs = None  # (runner, target): also ask `rollsafe runs`
        self.checkpoint = None
        self.backed_up = 0
        self.convertible = {k for k, kind in kinds.items()
                            if kind in CONVERTIBLE}

    def check(self, when, final=False):
        runs = run_state(self.path)
        check(len(runs) <= 1, when + ": one run at most", runs)
        if not runs:
            check(self.run_id is None, when + ": run %s vanished"
                  % self.run_id)
            check_eq(table_rows(self.path), self.orig,
                     when + ": rows before any run")
            return
        run_id, status, cp, converted, impossible, corrupt = runs[0]
        if self.run_id is not None:
            check_eq(run_id, self.run_id, when + ": run id")
        self.run_id = run_id
        check_eq(status, "done" if final else "running", when + ": status")
        # As rollsafe shows it: a run whose process is gone is interrupted.
        if self.runs is not None:
            from leasecheck import runs_of
            check_eq(runs_of(*self.runs)[run_id]["status"],
                     "done" if final else "interrupted",
                     when + ": status `rollsafe runs` shows")
        # The checkpoint only moves forward.
        if cp is not None:
            cp = int(cp)
        if self.checkpoint is not None:
            check(cp is not None and cp >= self.checkpoint,
                  when + ": checkpoint went back from %d to %r"
                  % (self.checkpoint, cp))
        self.checkpoint = cp
        db = connect(self.path)
        n, distinct, others = db.execute(
            "SELECT count(*), count(DISTINCT key), "
            "(SELECT count(*) FROM rollsafe_backup WHERE run_id != ?1) "
            "FROM rollsafe_backup WHERE run_id = ?1", (run_id,)).fetchone()
        db.close()
        check_eq((n, others), (distinct, 0),
                 when + ": backup rows (count, of other runs)")
        b = backups(self.path, run_id)
        now = table_rows(self.path)
        check_eq(set(now), set(self.orig), when + ": keys")
        # Every row holds its original bytes, or the converted bytes its
        # backup row records, never anything else.
        for k, data in now.items():
            if k in b:
                old, new, _ = b[k]
                check_eq(old, self.orig[k], when + ": backup old of %d" % k)
                check_eq(data, new, when + ": row %d vs its backup" % k)
                check_eq(v1_order_id(self.recs, new), "O-%d" % k,
                         when + ": version-1 order_id of row %d" % k)
            else:
                check_eq(data, self.orig[k], when + ": row %d untouched" % k)
        # Batches, backups and checkpoint commit together: exactly the
        # convertible keys up to the checkpoint are backed up.
        upto = set() if cp is None else {k for k in self.convertible
                                         if k <= cp}
        check(set(b) == upto, when + ": backed-up keys are the convertible "
              "ones up to checkpoint %r" % cp,
              "missing: %r" % sorted(upto - set(b))[:10],
              "extra: %r" % sorted(set(b) - upto)[:10])
        # Counts of records left alone commit with their batch.
        for kind, got in (("v2_guest", impossible), ("corrupt", corrupt)):
            want = sum(1 for k, kd in self.kinds.items()
                       if kd == kind and cp is not None and k <= cp)
            check_eq(got, want, when + ": run row's %s count" % kind)
        # So do the counts of rows swapped: a resumed run goes on from them.
        check_eq(converted, len(b), when + ": run row's converted count")
        self.backed_up = len(b)


def fix_argv(r, path, run_id):
    argv = [r.rollsafe, "fix", *target(path), "--execute", "--batch", "50",
            "--format", "json", "--samples", "0"]
    return argv + (["--resume", run_id] if run_id else [])


def poll_checkpoint(p, path, run_id):
    """Waits for the run's checkpoint to change (a batch committed);
    False when the process ended first. No busy timeout: a read that meets
    the fixer's commit is retried at once, so the change is seen as soon as
    the commit is done."""
    db = sqlite3.connect(path, timeout=0, isolation_level=None)
    q = "SELECT checkpoint FROM rollsafe_runs WHERE run_id = ?"
    start = None
    deadline = time.monotonic() + HANG
    try:
        while p.poll() is None:
            check(time.monotonic() < deadline, "hang guard: checkpoint")
            try:
                now = db.execute(q, (run_id,)).fetchone()
            except sqlite3.OperationalError:  # locked: the commit is on
                continue
            if start is None:
                start = now
            elif now != start:
                return True
        return False
    finally:
        db.close()


def wait_random(p, path, delay, cap):
    """Waits @delay seconds, or until the process ends or any run's
    checkpoint reaches @cap; True in the last case."""
    db = sqlite3.connect(path, timeout=0, isolation_level=None)
    end = time.monotonic() + delay
    try:
        while p.poll() is None and time.monotonic() < end:
            try:
                row = db.execute("SELECT max(CAST(checkpoint AS INTEGER)) "
                                 "FROM rollsafe_runs").fetchone()
            except sqlite3.OperationalError:  # locked, or no table yet
                row = None
            if row is not None and row[0] is not None and row[0] >= cap:
                return True
            time.sleep(0.002)
        return False
    finally:
        db.close()


def hot_journal(path):
    """A rollback journal with its magic number: the next connection rolls
    the interrupted transaction back (one whose header is still zero is
    ignored)."""
    try:
        with open(path + "-journal", "rb") as f:
            return f.read(8) == bytes.fromhex("d9d505f920a163d7")
    except FileNotFoundError:
        return False


def poll_write_lock(p, path):
    """Waits until the fixer holds the write lock (a batch's transaction is
    open, or committing): a BEGIN IMMEDIATE of our own fails at once. Ours,
    when it succeeds, is rolled back at once. False when the process ended
    first."""
    db = sqlite3.connect(path, timeout=0, isolation_level=None)
    deadline = time.monotonic() + HANG
    try:
        while p.poll() is None:
            check(time.monotonic() < deadline, "hang guard: write lock")
            try:
                db.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError:
                return True
            db.execute("ROLLBACK")
        return False
    finally:
        db.close()


def test_kill_9_and_resume(r):
    n_rows, n_guest, n_corrupt, n_random = 20000, 30, 10, 20
    recs = Records()
    rng = random.Random(9)
    kinds = mix(rng, n_rows, n_guest, n_corrupt,
                {"v1": 6, "v2_plain": 7, "v2_gift": 7})
    path = os.path.join(r.work, "orders.db")
    # The default rollback journal: a kill mid-commit leaves a hot journal
    # that the next connection rolls back.
    orig = build(path, recs, kinds, wal=False)
    st = KillState(path, recs, kinds, orig)
    st.runs = (r, target(path))
    t_start = time.monotonic()

    # Calibration on a copy: when the first batch commits, and how fast
    # the run goes, so that the random kills spread over the run (the kill
    # loop never depends on it being right: see the cap below).
    calib = os.path.join(r.work, "calibration.db")
    shutil.copyfile(path, calib)
    c0 = time.monotonic()
    p = subprocess.Popen(fix_argv(r, calib, None), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    db = sqlite3.connect(calib, timeout=0, isolation_level=None)
    t_first = None
    while p.poll() is None and t_first is None:
        try:
            row = db.execute("SELECT checkpoint FROM rollsafe_runs").fetchone()
        except sqlite3.OperationalError:  # locked, or no table yet
            row = None
        if row is not None and row[0] is not None:
            t_first = time.monotonic() - c0
        time.sleep(0.001)
    db.close()
    out, err = p.communicate(timeout=HANG)
    t_full = time.monotonic() - c0
    no_sanitizer(err.decode("utf-8", "replace"), "the calibration fix")
    check_eq(p.returncode, 1, "calibration fix exit")
    if t_first is None:
        t_first = t_full / 20
    # Rows fixed per second after the first commit (verification included:
    # a little low).
    rate = len(st.convertible) / max(t_full - t_first, 0.01)

    # Random kills; once each, right after a commit, a moment after one
    # (likely mid-batch), and inside a batch's transaction (write lock
    # held: before or during its commit, which leaves a hot journal);
    # first, one that lands before the run row exists.
    sched = ["random"] * n_random
    for how in ("after_commit", "mid_batch", "in_transaction"):
        sched.insert(rng.randint(3, len(sched)), how)
    sched.insert(0, "early")
    log = []
    for i, how in enumerate(sched):
        capped = False
        run_id = st.run_id
        p = subprocess.Popen(fix_argv(r, path, run_id),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        started = time.monotonic()
        if how == "early":
            time.sleep(rng.uniform(0, 0.002))
        elif how == "random" or run_id is None:
            # A random moment within a share of what is left at the
            # calibrated rate; and, whatever the timing, before the
            # checkpoint passes that share of the keys left (so that the
            # run cannot end before every kill has landed).
            kills_left = len(sched) - i
            left = len(st.convertible) - st.backed_up
            delay = rng.uniform(0, t_first + left / (rate * (kills_left + 1)))
            at = st.checkpoint or 0
            cap = at + (n_rows - at) // (kills_left + 1)
            capped = wait_random(p, path, delay, cap)
        else:
            check(poll_checkpoint(p, path, run_id),
                  "kill %d (%s): the fix ended before a commit" % (i, how))
            if how == "mid_batch":
                time.sleep(rng.uniform(0.0005, 0.005))
            if how == "in_transaction":
                check(poll_write_lock(p, path), "kill %d (%s): the fix "
                      "ended before its next batch" % (i, how))
        alive = time.monotonic() - started
        ended = p.poll() is not None
        if not ended:
            p.send_signal(signal.SIGKILL)
        out, err = p.communicate(timeout=HANG)
        err = err.decode("utf-8", "replace")
        no_sanitizer(err, "fix before kill %d" % i)
        check(not ended, "kill %d (%s): the fix ended on its own after "
              "%.3f s (exit %d) before it could be killed"
              % (i, how, alive, p.returncode), err[-2000:])
        check_eq(p.returncode, -signal.SIGKILL, "kill %d: status" % i)
        hot = hot_journal(path)
        before = st.backed_up
        st.check("after kill %d (%s, %.3f s)" % (i, how, alive))
        if capped:
            how += " (capped)"
        log.append("%s %.3fs +%d%s%s" % (how, alive, st.backed_up - before,
                                         "" if st.run_id else " (no run)",
                                         " (hot journal)" if hot else ""))

    # Resume until done: the run completes and leaves only what was
    # planted.
    doc = fix_doc(r, (1,), path, "--batch", "50",
                  *(["--resume", st.run_id] if st.run_id else []))
    check_eq(doc["complete"], True, "the last resume completes")
    if st.run_id is not None:
        check_eq(doc["run_id"], st.run_id, "resumed run id")
    st.check("after the run completed", final=True)
    check_eq(st.backed_up, len(st.convertible), "rows fixed in all")
    t = doc["targets"][0]
    check_eq(t["rewritten"], len(st.convertible),
             "converted, over the whole run")
    check_eq((t["impossible"], t["corrupt"], t["remaining"], t["conflicts"]),
             (n_guest, n_corrupt, n_guest + n_corrupt, 0),
             "impossible, corrupt, remaining, conflicts of the whole run")
    gifts = sum(1 for kind in kinds.values() if kind == "v2_gift")
    verdicts = scan_verdicts(r, path)
    check_eq(verdicts, {"ok": n_rows - gifts - n_guest - n_corrupt,
                        "ignored_fields": gifts, "misread": 0,
                        "unreadable": n_guest, "corrupt": n_corrupt},
             "scan after the run")
    # Running it again changes nothing.
    before = table_rows(path)
    doc = fix_doc(r, (1,), path)
    check_eq(doc["rewritten"], 0, "a new fix converts")
    check_eq(table_rows(path), before, "rows after a new fix")
    print("kill_9_and_resume: %d rows (%d to fix), calibration %.2f s "
          "(first commit %.2f s), %d kills: %s; total %.1f s"
          % (n_rows, len(st.convertible), t_full, t_first, len(sched),
             ", ".join(log), time.monotonic() - t_start))


def test_leases_after_kill_and_ctrl_c(r):
    """A run is worked on by one process at a time, shows `interrupted`
    (never `running`) once its process is killed with -9 or stopped by a
    second Ctrl-C, and the next --resume finishes it (leasecheck.py); the
    table then holds every convertible record converted once, backed up,
    and nothing else changed."""
    from leasecheck import check_converted_once, lease_scenario
    recs = Records()
    rng = random.Random(14)
    kinds = mix(rng, 3000, 10, 5, {"v1": 1, "v2_plain": 1, "v2_gift": 1})
    path = os.path.join(r.work, "orders.db")
    orig = build(path, recs, kinds, wal=True)
    convertible = {k for k, kind in kinds.items() if kind in CONVERTIBLE}
    run_id = lease_scenario(r, target(path), len(convertible), True)
    check_converted_once(recs, orig, table_rows(path), backups(path, run_id),
                         convertible, v1_order_id)


TESTS = {name[len("test_"):]: fn for name, fn in globals().items()
         if name.startswith("test_") and callable(fn)}

if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--writer":
        sys.exit(writer_main(sys.argv[2:]))
    sys.exit(run_cases(TESTS))
