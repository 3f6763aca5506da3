#!/usr/bin/env python3
"""Integration tests of `rollsafe fix` and `rollsafe restore` on SQLite.

Usage: test_fix_sqlite.py --rollsafe BIN --work DIR CASE

Tables are written here with Python's sqlite3 and records built by
rsdata.Records; converted rows are checked with Python's protobuf (the
version-1 schema), independently of rollsafe.
"""

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rsdata import (Failure, Records, check, check_eq,  # noqa: E402
                    check_restore_predicted, restore_json, restore_why,
                    run_cases)

# What a fix does to each kind for the default (plain, raw) version-1
# reader, to which every envelope is unreadable.
PLAN = {
    "v1": "nothing",
    "v2_plain": "converted",
    "v2_gift": "converted",      # gift_message kept as an unknown field
    "v2_awaiting": "lossy",      # AWAITING_AUTH mapped to PENDING
    "v2_guest": "impossible",    # customer_id is required in version 1
    "corrupt": "corrupt",
}
COUNTS = {"v1": 60, "v2_plain": 12, "v2_gift": 15, "v2_awaiting": 7,
          "v2_guest": 5, "corrupt": 2}


def build(r, recs, name="fix.db"):
    path = os.path.join(r.work, name)
    os.makedirs(r.work, exist_ok=True)
    if os.path.exists(path):
        os.unlink(path)
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, payload BLOB)")
    kinds, n = {}, 1
    order = []
    for kind, c in COUNTS.items():
        order += [kind] * c
    # Interleave deterministically so batches mix kinds.
    order = [order[(i * 37) % len(order)] for i in range(len(order))]
    for kind in order:
        db.execute("INSERT INTO orders VALUES (?, ?)", (n, recs.make(kind, n)))
        kinds[n] = kind
        n += 1
    db.commit()
    db.close()
    return path, kinds


def rows(path):
    db = sqlite3.connect(path)
    out = dict(db.execute("SELECT id, payload FROM orders"))
    db.close()
    return out


def tables(path):
    db = sqlite3.connect(path)
    out = {t for (t,) in db.execute(
        "SELECT name FROM sqlite_schema WHERE type = 'table'")}
    db.close()
    return out


def target(path):
    return ["--sqlite", path, "--table", "orders", "--key", "id", "--column",
            "payload", "--type", "shop.Order"]


def want(kinds, outcome):
    return sum(1 for k in kinds.values() if PLAN[k] == outcome)


def fix_json(r, code, path, *extra):
    out, err = r.expect(code, "fix", *target(path), "--format", "json",
                        "--samples", "1000", *extra)
    return json.loads(out)


def test_dry_run_changes_nothing(r):
    recs = Records()
    path, kinds = build(r, recs)
    before = hashlib.sha256(open(path, "rb").read()).hexdigest()
    doc = fix_json(r, 1, path)
    check_eq(doc["executed"], False, "executed")
    t = doc["targets"][0]
    check_eq(t["outcomes"]["converted"], want(kinds, "converted"),
             "would convert")
    check_eq(t["outcomes"]["lossy_skipped"], want(kinds, "lossy"),
             "lossy, not allowed")
    check_eq(t["outcomes"]["impossible"], want(kinds, "impossible"),
             "impossible")
    check_eq(t["outcomes"]["corrupt"], want(kinds, "corrupt"), "corrupt")
    for s in t["samples"]["lossy_skipped"]:
        check("AWAITING_AUTH" in s["why"], "lossy says what it loses", s)
    after = hashlib.sha256(open(path, "rb").read()).hexdigest()
    check_eq(after, before, "database file after a dry run")
    check_eq(tables(path), {"orders"}, "tables after a dry run")


def test_execute_backup_rerun_and_restore(r):
    recs = Records()
    path, kinds = build(r, recs)
    original = rows(path)
    doc = fix_json(r, 1, path, "--execute", "--batch", "7")
    t = doc["targets"][0]
    run_id = doc["run_id"]
    check(run_id, "a run id", doc)
    check_eq(t["rewritten"], want(kinds, "converted"), "converted")
    check_eq(t["conflicts"], 0, "conflicts")
    # Left: the impossible, the corrupt and the lossy ones (not allowed).
    check_eq(t["remaining"], want(kinds, "impossible") +
             want(kinds, "corrupt") + want(kinds, "lossy"), "remaining")
    now = rows(path)
    db = sqlite3.connect(path)
    backups = {k: (o, n) for k, o, n in db.execute(
        "SELECT key, old_value, new_value FROM rollsafe_backup "
        "WHERE run_id = ?", (run_id,))}
    status = db.execute("SELECT status FROM rollsafe_runs WHERE run_id = ?",
                        (run_id,)).fetchone()
    db.close()
    check_eq(status, ("done",), "run status")
    changed = {k for k in original if original[k] != now[k]}
    check_eq(changed, {k for k, kind in kinds.items()
                       if PLAN[kind] == "converted"}, "rows rewritten")
    check_eq({int(k) for k in backups}, changed, "a backup per rewritten row")
    for k in changed:
        old, new = backups[str(k)]
        check_eq(bytes(old), original[k], "backup old bytes of %d" % k)
        check_eq(bytes(new), now[k], "backup new bytes of %d" % k)
        # The old reader's own schema parses the new bytes.
        m = recs.v1m.Order()
        m.ParseFromString(now[k])
        check(m.IsInitialized() and m.order_id == "O-%d" % k,
              "version-1 parse of row %d" % k, m)
    # Running it again changes nothing.
    doc2 = fix_json(r, 1, path, "--execute")
    check_eq(doc2["targets"][0]["rewritten"], 0, "second run converts")
    check_eq(rows(path), now, "rows after the second run")
    # Restore: dry run first (nothing changes), then for real, then again.
    out, _ = r.expect(0, "restore", *target(path), "--run", run_id,
                      "--format", "json")
    check_eq(json.loads(out)["restored"], len(changed), "would restore")
    check_eq(rows(path), now, "rows after a dry restore")
    out, _ = r.expect(0, "restore", *target(path), "--run", run_id,
                      "--execute", "--format", "json")
    check_eq(json.loads(out)["restored"], len(changed), "restored")
    check_eq(rows(path), original, "every row byte-identical to before")
    out, _ = r.expect(0, "restore", *target(path), "--run", run_id,
                      "--execute", "--format", "json")
    d = json.loads(out)
    check_eq((d["restored"], rows(path) == original), (0, True),
             "restoring twice")


def test_allow_lossy_and_restore_conflict(r):
    recs = Records()
    path, kinds = build(r, recs)
    original = rows(path)
    doc = fix_json(r, 1, path, "--execute", "--allow-lossy")
    t = doc["targets"][0]
    check_eq(t["lossy"], want(kinds, "lossy"), "lossy rewritten")
    for s in t["samples"]["lossy"]:
        check("AWAITING_AUTH" in s["why"], "each says what it loses", s)
    # A writer changes one fixed row after the fix: restore leaves it.
    fixed = sorted(k for k, kind in kinds.items()
                   if PLAN[kind] in ("converted", "lossy"))
    db = sqlite3.connect(path)
    db.execute("UPDATE orders SET payload = ? WHERE id = ?",
               (recs.v1(999), fixed[0]))
    db.commit()
    db.close()
    out, _ = r.expect(0, "restore", *target(path), "--run", doc["run_id"],
                      "--execute", "--format", "json")
    d = json.loads(out)
    check_eq(d["conflicts"], 1, "restore conflicts")
    now = rows(path)
    check_eq(now[fixed[0]], recs.v1(999), "the writer's bytes kept")
    for k in fixed[1:]:
        check_eq(now[k], original[k], "row %d restored" % k)


def test_restore_dry_run_reads_the_rows(r):
    """A restore's dry run predicts what --execute does: rows a writer
    changed or deleted since the fix are conflicts, not "would restore",
    and after a restore nothing is left to restore (every row is named as
    already restored)."""
    recs = Records()
    path, kinds = build(r, recs)
    original = rows(path)
    doc = fix_json(r, 1, path, "--execute", "--allow-lossy")
    run_id = doc["run_id"]
    fixed = sorted(k for k, kind in kinds.items()
                   if PLAN[kind] in ("converted", "lossy"))
    check_eq(doc["rewritten"], len(fixed), "converted")
    # After the fix, a writer changes one fixed row and deletes another.
    db = sqlite3.connect(path)
    db.execute("UPDATE orders SET payload = ? WHERE id = ?",
               (recs.v1(999), fixed[0]))
    db.execute("DELETE FROM orders WHERE id = ?", (fixed[1],))
    db.commit()
    db.close()
    before = hashlib.sha256(open(path, "rb").read()).hexdigest()
    dry = restore_json(r, 0, target(path), run_id, False)
    check_eq(hashlib.sha256(open(path, "rb").read()).hexdigest(), before,
             "database file after a dry restore")
    check_eq((dry["restored"], dry["conflicts"]), (len(fixed) - 2, 2),
             "dry run: would restore, conflicts")
    check_eq(sorted(restore_why(dry, "conflict")), [str(fixed[0]),
                                                    str(fixed[1])],
             "the changed and the deleted row are the conflicts")
    # The execute does what the dry run said.
    dry, done = check_restore_predicted(r, 0, target(path), run_id)
    now = rows(path)
    check_eq(now[fixed[0]], recs.v1(999), "the writer's bytes kept")
    check(fixed[1] not in now, "the deleted row stays deleted")
    for k in fixed[2:]:
        check_eq(now[k], original[k], "row %d restored" % k)
    # Restored: a dry run (and a second execute) restores nothing more.
    dry, done = check_restore_predicted(r, 0, target(path), run_id)
    check_eq((dry["restored"], done["restored"]), (0, 0),
             "nothing left to restore after a restore")
    check_eq(done["conflicts"], len(fixed), "every row a conflict")
    why = restore_why(dry, "conflict")
    for k in fixed[2:]:
        check(why[str(k)].startswith("already restored"),
              "row %d named as already restored" % k, why[str(k)])
    for k in fixed[:2]:
        check(not why[str(k)].startswith("already restored"),
              "row %d (changed by a writer) is not" % k, why[str(k)])
    out, _ = r.expect(0, "restore", *target(path), "--run", run_id)
    check("would restore" not in out and "already restored" in out,
          "the text report of a dry run after a restore", out)


def test_interrupt_and_resume(r):
    recs = Records()
    path, kinds = build(r, recs)
    # Slow enough (rate limit) that the signal lands mid-run.
    p = subprocess.Popen([r.rollsafe, "fix", *target(path), "--execute",
                          "--batch", "5", "--max-rate", "40", "--format",
                          "json"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    time.sleep(0.8)  # not a limit: lets a few batches commit
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=120)
    check_eq(p.returncode, 4, "exit after SIGINT (stderr %s)" % err.decode())
    doc = json.loads(out)
    run_id = doc["run_id"]
    db = sqlite3.connect(path)
    st, cp = db.execute("SELECT status, checkpoint FROM rollsafe_runs "
                        "WHERE run_id = ?", (run_id,)).fetchone()
    n_backup = db.execute("SELECT count(*) FROM rollsafe_backup").fetchone()[0]
    db.close()
    check_eq(st, "interrupted", "run status")
    check(cp is not None and 0 < int(cp) < len(kinds), "a checkpoint", cp)
    check(n_backup < want(kinds, "converted"), "stopped part way", n_backup)
    doc = fix_json(r, 1, path, "--execute", "--resume", run_id)
    check_eq(doc["run_id"], run_id, "same run")
    db = sqlite3.connect(path)
    n_backup = db.execute("SELECT count(*) FROM rollsafe_backup").fetchone()[0]
    st = db.execute("SELECT status FROM rollsafe_runs WHERE run_id = ?",
                    (run_id,)).fetchone()[0]
    db.close()
    check_eq(n_backup, want(kinds, "converted"), "backups after resume")
    check_eq(st, "done", "status after resume")
    r.expect(2, "fix", *target(path), "--execute", "--resume", "nope")


def test_lock_held_by_another_process_is_exit_4(r):
    """Another process holds the database's lock (rollback journal mode,
    BEGIN EXCLUSIVE) for longer than --lock-timeout: every command that
    needs it gives up with exit 4 (incomplete), not 3, saying it waited,
    and nothing is written; once the lock goes, the same fix runs."""
    recs = Records()
    path, kinds = build(r, recs)
    r.expect(0, "runs", *target(path))  # makes rollsafe's tables
    before = rows(path)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        for argv in (["fix", "--execute"], ["runs"],
                     ["purge", "--run", "x", "--execute"]):
            _, err = r.expect(4, *argv, *target(path), "--lock-timeout",
                              "300ms")
            check("lock timeout" in err, "%s says it gave up waiting"
                  % argv[0], err)
        # A scan reads; in rollback journal mode an exclusive lock keeps
        # it out too: incomplete, not an I/O error.
        _, err = r.expect(4, "scan", *target(path))
        check("locked" in err, "the scan says the database is locked", err)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    check_eq(rows(path), before, "rows while the lock was held")
    doc = fix_json(r, 1, path, "--execute", "--lock-timeout", "300ms")
    check_eq(doc["rewritten"], want(kinds, "converted"), "converted")


def test_runs_and_purge(r):
    recs = Records()
    path, kinds = build(r, recs)
    doc = fix_json(r, 1, path, "--execute")
    run_id = doc["run_id"]
    out, _ = r.expect(0, "runs", *target(path), "--format", "json")
    runs = json.loads(out)["targets"]["orders"]
    check_eq([x["run_id"] for x in runs], [run_id], "runs listed")
    check_eq((runs[0]["status"], runs[0]["rewritten"]),
             ("done", want(kinds, "converted")), "run row")
    # A dry purge deletes nothing; --execute deletes the backups and the run.
    r.expect(0, "purge", *target(path), "--run", run_id)
    db = sqlite3.connect(path)
    n = db.execute("SELECT count(*) FROM rollsafe_backup").fetchone()[0]
    db.close()
    check_eq(n, want(kinds, "converted"), "backups after a dry purge")
    out, _ = r.expect(0, "purge", *target(path), "--run", run_id, "--execute",
                      "--format", "json")
    check_eq(json.loads(out)["backups_deleted"], want(kinds, "converted"),
             "backups deleted")
    db = sqlite3.connect(path)
    n = db.execute("SELECT count(*) FROM rollsafe_backup").fetchone()[0]
    m = db.execute("SELECT count(*) FROM rollsafe_runs").fetchone()[0]
    db.close()
    check_eq((n, m), (0, 0), "backup and run rows after purge")
    _, err = r.expect(2, "restore", *target(path), "--run", run_id,
                      "--execute")
    check(run_id in err, "restore of a purged run names it", err)


def test_left_alone_counted_once_across_passes(r):
    # A trigger changes row 2 when row 1 is swapped: row 2's swap conflicts
    # and a second pass reads the whole table again. Records left alone
    # (impossible, corrupt) must still be counted once.
    recs = Records()
    path = os.path.join(r.work, "passes.db")
    os.makedirs(r.work, exist_ok=True)
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, payload BLOB)")
    for k, kind in ((1, "v2_plain"), (2, "v2_plain"), (3, "v2_guest"),
                    (4, "corrupt")):
        db.execute("INSERT INTO orders VALUES (?, ?)", (k, recs.make(kind, k)))
    db.execute("CREATE TRIGGER race AFTER UPDATE OF payload ON orders "
               "WHEN NEW.id = 1 AND OLD.payload != NEW.payload "
               "AND (SELECT count(*) FROM orders WHERE id = 2 AND "
               "payload = X'%s') = 0 BEGIN UPDATE orders SET payload = "
               "X'%s' WHERE id = 2; END"
               % (recs.make("v2_plain", 99).hex(),
                  recs.make("v2_plain", 99).hex()))
    db.commit()
    db.close()
    doc = fix_json(r, 1, path, "--execute")
    t = doc["targets"][0]
    check(t["passes"] >= 2, "a second pass", t["passes"])
    check_eq(t["conflicts"], 1, "conflicts")
    check_eq((t["impossible"], t["corrupt"]), (1, 1), "left alone, once")
    check_eq(t["rewritten"], 2, "converted (row 2 in the second pass)")


def test_metrics_match_the_report(r):
    recs = Records()
    path, kinds = build(r, recs)
    metrics = os.path.join(r.work, "fix.prom")
    doc = fix_json(r, 1, path, "--metrics", metrics, "--name", 'ord"ers')
    with open(metrics) as f:
        lines = f.read().splitlines()
    check_eq(lines[-1], "# EOF", "ends with # EOF")
    samples = {}
    for line in lines:
        if not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    for outcome, n in doc["targets"][0]["outcomes"].items():
        key = 'rollsafe_fix_records{target="ord\\"ers",outcome="%s"}' % outcome
        check_eq(samples.get(key), float(n), key)
    check_eq(samples["rollsafe_fix_exit_code"], 1.0, "exit code metric")


def test_bad_where_creates_nothing(r):
    """A fix whose --where is not SQL, or names no column, fails before it
    creates its tables, and its error names the target once. A restore
    looks its run up first, creating nothing either."""
    recs = Records()
    path, _ = build(r, recs)
    before = tables(path)
    for where in ("bad sql ((", "nosuch > 1"):
        _, err = r.expect(2, "fix", "--execute", *target(path), "--where",
                          where)
        check("check --where" in err, "the error points at --where", err)
        check_eq(err.count("target 'orders'"), 1, "target named once")
        check_eq(tables(path), before, "tables after a bad --where")
        _, err = r.expect(2, "restore", "--run", "x", "--execute",
                          *target(path), "--where", where)
        check("no run 'x'" in err, "the error names the run", err)
        check_eq(tables(path), before, "tables after a restore of no run")


TESTS = {name[len("test_"):]: fn for name, fn in globals().items()
         if name.startswith("test_") and callable(fn)}

if __name__ == "__main__":
    sys.exit(run_cases(TESTS))
