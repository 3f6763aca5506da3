#!/usr/bin/env python3
"""`rollsafe fix --jobs N` and `--shard K/N` on SQLite (docs/scale.md).
SQLite takes one writer at a time, so --jobs fixes a SQLite table as one
part. --shard splits it by the hash of the key into parts, each with its
own run row, checkpoint, counts and backups under the one run: shards in
processes of their own, killed with -9, leave every row old or new, never
half-written, and go on when started again; a killed shard resumes alone;
the end is the table and the counts of `--jobs 1`; `restore` of a sharded
run restores every row.

Usage: test_fix_jobs_sqlite.py --rollsafe BIN --work DIR CASE
"""

import os
import random
import shutil
import signal
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixjobs import (check_killed_parts, check_parts,  # noqa: E402
                     check_rows_hold_old_or_new, check_same_report,
                     merged_backups, sum_counts)
from rsdata import Records, check, check_eq, run_cases  # noqa: E402
from runcheck import (HANG, finish, mixed, report, sqlite_rows,  # noqa: E402
                      sqlite_table, start, write_config)


def setup(d, recs, n, seed=7, jobs=None):
    """orders (n mixed records) in d/a.db and a config naming it, with
    `jobs:` when given. Returns the config and the original rows."""
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "a.db")
    for suffix in ("", "-wal", "-shm", "-journal"):
        if os.path.exists(path + suffix):
            os.unlink(path + suffix)
    sqlite_table(path, "orders", mixed(recs, n, seed))
    cfg = os.path.join(d, "rollsafe.yaml")
    top = {"jobs": jobs} if jobs else {}
    write_config(cfg, [{"name": "orders", "kind": "sqlite-table",
                        "connection": "a.db", "table": "orders", "key": "id",
                        "column": "payload", "type": "shop.Order"}], **top)
    return cfg, sqlite_rows(path, "orders")


def copy_of(src_dir, dst_dir):
    if os.path.exists(dst_dir):
        shutil.rmtree(dst_dir)
    shutil.copytree(src_dir, dst_dir)
    return os.path.join(dst_dir, "rollsafe.yaml")


def db_of(cfg):
    return os.path.join(os.path.dirname(cfg), "a.db")


def runs(cfg):
    db = sqlite3.connect(db_of(cfg), timeout=30)
    db.row_factory = sqlite3.Row
    try:
        rows = [dict(x) for x in db.execute("SELECT * FROM rollsafe_runs")]
    except sqlite3.OperationalError:
        rows = []
    db.close()
    return {x["run_id"]: x for x in rows}


def backups(cfg, run):
    """{row_id: {key: (old, new)}} of every row of run @run."""
    db = sqlite3.connect(db_of(cfg), timeout=30)
    out = {}
    for row_id, k, o, n in db.execute(
            'SELECT b.run_id, b."key", b.old_value, b.new_value FROM '
            "rollsafe_backup b JOIN rollsafe_runs r ON r.run_id = b.run_id "
            "WHERE r.run = ?", (run,)):
        out.setdefault(row_id, {})[int(k)] = (bytes(o), bytes(n))
    db.close()
    return out


def table(cfg):
    return sqlite_rows(db_of(cfg), "orders")


def fix(r, code, cfg, *extra):
    return report(r, code, "fix", "-c", cfg, "--execute", "--allow-lossy",
                  *extra)[0]


def test_jobs_one_part_on_sqlite(r):
    """SQLite takes one writer at a time: --jobs 2 and the config's jobs: 3
    fix a SQLite table as one part (a note says so), writing the report,
    the table and the backups --jobs 1 writes."""
    recs = Records()
    base = os.path.join(r.work, "same")
    cfg1, orig = setup(os.path.join(base, "one"), recs, 2000)
    cfg2 = copy_of(os.path.dirname(cfg1), os.path.join(base, "two"))
    cfg3 = copy_of(os.path.dirname(cfg1), os.path.join(base, "three"))
    with open(cfg3, "a") as f:
        f.write("jobs: 3\n")
    one = fix(r, 1, cfg1, "--batch", "40")
    for cfg, extra, what in ((cfg2, ["--jobs", "2"], "--jobs 2"),
                             (cfg3, [], "jobs: 3")):
        doc, err = report(r, 1, "fix", "-c", cfg, "--execute",
                          "--allow-lossy", "--batch", "40", *extra)
        check("fixed as one part" in err, what + ": the note", err)
        check_same_report(one, doc, what)
        check_eq(doc["targets"][0]["parts"], None, what + ": parts")
        check_eq(list(runs(cfg)), [doc["run_id"]], what + ": run rows")
        check_eq(table(cfg), table(cfg1), what + ": the table")
        check_eq(backups(cfg, doc["run_id"])[doc["run_id"]],
                 backups(cfg1, one["run_id"])[one["run_id"]],
                 what + ": backups")
    print("jobs_one_part_on_sqlite: %d rows, %d rewritten"
          % (len(orig), one["rewritten"]))


def part_state(cfg, orig, convertible, count, what):
    """After a kill: an intact database; each part's backed-up keys are
    exactly the convertible keys of its part up to its checkpoint, its
    counts commit with them, and every row is old or new. Returns the run
    id (None before the first part row) and the rows backed up."""
    db = sqlite3.connect(db_of(cfg), timeout=30, isolation_level=None)
    check_eq(db.execute("PRAGMA integrity_check").fetchall(), [("ok",)],
             what + ": integrity check")
    db.close()
    rs = runs(cfg)
    if not rs:
        check_eq(table(cfg), orig, what + ": rows before any run")
        return None, 0
    ids = {x["run"] for x in rs.values()}
    check_eq(len(ids), 1, what + ": one run")
    run = ids.pop()
    return run, check_killed_parts(rs, run, backups(cfg, run), table(cfg),
                                   orig, convertible, count, what)


def test_shards_kill_9_and_resume(r):
    """Two shards of one run (--run NAME --shard K/2) in two processes at
    once, both writing the one SQLite file (the rollback journal, so a
    kill mid-commit leaves a hot journal), both killed with -9 at random
    moments and started again with the same command: every part keeps
    backups, rows and counts in step with its own checkpoint, and the end
    is the table and the counts of one --jobs 1 fix; a restore of the run
    restores every row."""
    recs = Records()
    rng = random.Random(18)
    base = os.path.join(r.work, "kill")
    cfg1, orig = setup(os.path.join(base, "one"), recs, 8000, seed=11)
    db = sqlite3.connect(db_of(cfg1))
    db.execute("PRAGMA journal_mode = DELETE")
    db.close()
    cfg2 = copy_of(os.path.dirname(cfg1), os.path.join(base, "two"))
    one = fix(r, 1, cfg1, "--batch", "50")
    convertible = set(backups(cfg1, one["run_id"])[one["run_id"]])
    name = "kill-shards"

    # --max-rate spreads the run over seconds, so that the kills land
    # inside it on a fast machine too.
    def argv(k):
        return ["fix", "-c", cfg2, "--execute", "--allow-lossy", "--batch",
                "50", "--run", name, "--shard", "%d/2" % k, "--max-rate",
                "4000", "--format", "json", "--samples", "1000"]

    log = []
    for i in range(8):
        ps = [start(r, *argv(k)) for k in (0, 1)]
        delay = rng.uniform(0.05, 0.6) if i else rng.uniform(0, 0.01)
        end = time.monotonic() + delay
        while (any(p.poll() is None for p in ps) and
               time.monotonic() < end):
            time.sleep(0.002)
        ended = []
        for k, p in enumerate(ps):
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
            else:
                ended.append(k)
            rc, out, err = finish(p, "shard %d before kill %d" % (k, i))
            check(rc in (1, -signal.SIGKILL), "kill %d: shard %d's status"
                  % (i, k), rc, err[-2000:])
        run, done = part_state(cfg2, orig, convertible, 2,
                               "after kill %d (%.3f s)" % (i, delay))
        log.append("%.3fs: %d fixed%s" % (delay, done, "".join(
            " (shard %d ended)" % k for k in ended)))
        if len(ended) == 2:
            break
    docs = [report(r, 1, *argv(k)[:-4])[0] for k in (0, 1)]
    part_state(cfg2, orig, convertible, 2, "after the run")
    check_eq(table(cfg2), table(cfg1), "the table as --jobs 1 left it")
    parts = check_parts(runs(cfg2), name, 2, "after the run", shards=2)
    check(all(p["status"] == "done" for p in parts.values()),
          "both shards done", parts)
    check_eq(sum_counts(parts), {c: runs(cfg1)[one["run_id"]][c]
                                 for c in sum_counts(parts)},
             "the shards' counts add up to --jobs 1's, across the kills")
    for k in ("rewritten", "lossy", "impossible", "corrupt", "remaining",
              "undetermined"):
        check_eq(sum(d[k] for d in docs), one[k], "the shards' " + k)
    done, _ = report(r, 0, "restore", "-c", cfg2, "--run", name,
                     "--execute")
    check_eq(done["restored"], one["rewritten"], "rows restored")
    check_eq(table(cfg2), orig, "the table after the restore")
    print("shards_kill_9_and_resume: %d rows, %d to fix; kills: %s"
          % (len(orig), len(convertible), ", ".join(log)))


def test_shards_one_killed_resumes_alone(r):
    """Three shards of one run (--run NAME --shard K/3, shard 0 with
    --jobs 2, which SQLite runs as one part): shard 1 is killed with -9 while the others complete, then
    resumes alone (the same command again, then --resume NAME --shard
    1/3); the shards' counts add up to a --jobs 1 fix's, the table is the
    one it leaves, and a restore of the run restores all of it."""
    recs = Records()
    base = os.path.join(r.work, "shards")
    cfg1, orig = setup(os.path.join(base, "one"), recs, 6000, seed=5)
    cfg2 = copy_of(os.path.dirname(cfg1), os.path.join(base, "sharded"))
    one = fix(r, 1, cfg1, "--batch", "50")
    name = "rollback-1"

    def shard(k, *extra):
        return ["fix", "-c", cfg2, "--execute", "--allow-lossy", "--batch",
                "50", "--run", name, "--shard", "%d/3" % k, "--format",
                "json", "--samples", "1000", *extra]

    # Shard 1 starts, and is killed once its first batch committed.
    p = start(r, *shard(1))
    row = "%s.t0.p1of3" % name
    deadline = time.monotonic() + HANG
    while p.poll() is None and time.monotonic() < deadline:
        cp = runs(cfg2).get(row, {}).get("checkpoint") if os.path.exists(
            db_of(cfg2)) else None
        if cp is not None:
            break
        time.sleep(0.002)
    check(p.poll() is None, "shard 1 ended before it could be killed")
    p.send_signal(signal.SIGKILL)
    finish(p, "shard 1")
    killed = runs(cfg2)[row]
    check_eq(killed["status"], "running", "shard 1's row after the kill")
    # The other shards complete meanwhile.
    docs = {}
    docs[0], _ = report(r, 1, *shard(0)[:-4], "--jobs", "2")
    docs[2], _ = report(r, 1, *shard(2)[:-4])
    # SQLite: one part per shard, whatever --jobs.
    check_eq(docs[0]["targets"][0]["parts"], ["%s.t0.p0of3" % name],
             "shard 0 --jobs 2: its part")
    # Killed again after it resumed (the same command: its part goes on).
    p = start(r, *shard(1))
    before = killed["checkpoint"]
    deadline = time.monotonic() + HANG
    while p.poll() is None and time.monotonic() < deadline:
        if runs(cfg2)[row]["checkpoint"] != before:
            break
        time.sleep(0.002)
    if p.poll() is None:
        p.send_signal(signal.SIGKILL)
    finish(p, "shard 1 again")
    # --resume NAME --shard 1/3 finishes it, alone.
    docs[1], _ = report(r, 1, "fix", "-c", cfg2, "--execute", "--resume",
                        name, "--shard", "1/3")
    check_eq(docs[1]["targets"][0]["parts"], [row], "shard 1: its part")
    rs = runs(cfg2)
    check_eq(sorted(rs), ["%s.t0.p%dof3" % (name, k) for k in range(3)],
             "the run's rows")
    check(all(x["status"] == "done" and x["run"] == name
              for x in rs.values()), "every shard's part done", rs)
    check_eq(table(cfg2), table(cfg1), "the table as --jobs 1 left it")
    for k in ("rewritten", "lossy", "impossible", "corrupt", "remaining",
              "undetermined"):
        check_eq(sum(d[k] for d in docs.values()), one[k],
                 "the shards' %s add up to --jobs 1's" % k)
    check_eq(sum(d["targets"][0]["rows_read"] for d in docs.values()),
             len(orig), "the shards' rows read")
    b = backups(cfg2, name)
    check_rows_hold_old_or_new(table(cfg2), orig, merged_backups(b),
                               "sharded run")
    # A shard run again finds its part done and changes nothing; one given
    # other options than its part recorded is refused.
    fixed = table(cfg2)
    again, _ = report(r, 1, *shard(2)[:-4])
    check_eq((again["rewritten"], again["targets"][0]["complete"]),
             (docs[2]["rewritten"], True), "shard 2 again: as it ended")
    argv = [a for a in shard(2)[:-4] if a != "--allow-lossy"]
    _, err = r.expect(2, *argv)
    check("made with other options" in err, "other options refused", err)
    check_eq(table(cfg2), fixed, "rows after shard 2 again")
    # The restore of the run restores every shard's rows.
    done, _ = report(r, 0, "restore", "-c", cfg2, "--run", name, "--execute")
    check_eq(done["restored"], one["rewritten"], "rows restored")
    check_eq(table(cfg2), orig, "the table after the restore")
    print("shards_one_killed_resumes_alone: %d rows, %d rewritten by 3 "
          "shards" % (len(orig), one["rewritten"]))


def test_shard_usage(r):
    """--shard with --execute needs --run (the id every shard is given);
    --run names a new run only with --shard; a bad --run is refused."""
    recs = Records()
    cfg, _ = setup(os.path.join(r.work, "usage"), recs, 50)
    for argv, what in (
            (["--execute", "--shard", "0/2"], "--shard without --run"),
            (["--execute", "--run", "x"], "--run without --shard"),
            (["--execute", "--run", "a/b", "--shard", "0/2"], "--run a/b"),
            (["--execute", "--run", "x" * 24, "--shard", "0/2"],
             "--run too long"),
            (["--shard", "2/2"], "--shard 2/2"),
            (["--jobs", "0"], "--jobs 0")):
        out, err = r.expect(2, "fix", "-c", cfg, *argv)
        check(err.strip() and "\n" not in err.strip(),
              what + ": one line", err)
    # A dry run of one shard judges that shard's rows only.
    whole, _ = report(r, 1, "fix", "-c", cfg)
    halves = [report(r, 1, "fix", "-c", cfg, "--shard", "%d/2" % k)[0]
              for k in (0, 1)]
    for k in ("lossy", "impossible", "corrupt"):
        check_eq(sum(h[k] for h in halves), whole[k], "dry run shards' " + k)
    check_eq(sum(h["targets"][0]["rows_read"] for h in halves),
             whole["targets"][0]["rows_read"], "dry run shards' rows")


TESTS = {name[len("test_"):]: fn for name, fn in globals().items()
         if name.startswith("test_") and callable(fn)}

if __name__ == "__main__":
    sys.exit(run_cases(TESTS))
