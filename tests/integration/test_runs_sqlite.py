#!/usr/bin/env python3
"""One run per fix invocation, on SQLite: a fix over a config of three
targets in two databases is one run; resume, restore, runs and purge act on
the whole run by its id; what the run recorded is used, and options that
contradict it are refused; counts stay exact across kills, passes and
restores; every command printed for later works.

Usage: test_runs_sqlite.py --rollsafe BIN --work DIR CASE
"""

import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rsdata import ROOT, Records, check, check_eq, run_cases  # noqa: E402
from runcheck import (OLD_RUNS_DDL, by_target, counts, finish,  # noqa: E402
                      mixed, printed_command, report, run_printed,
                      sqlite_backups,
                      sqlite_rows, sqlite_runs, sqlite_table, start,
                      stop_when, write_config)

QUEUE = ["--queue", "--state-column", "state", "--pending-states", "pending",
         "--in-flight-states", "processing"]


def three_targets(r, recs, d, n=1200):
    """orders and the events outbox in a.db, audit in b.db, and a config
    naming the three. Returns the config's path and the original rows."""
    os.makedirs(d, exist_ok=True)
    a, b = os.path.join(d, "a.db"), os.path.join(d, "b.db")
    for p in (a, b):
        if os.path.exists(p):
            os.unlink(p)
    orders = mixed(recs, n, 1)
    events = mixed(recs, n // 2, 2)
    audit = mixed(recs, n, 3)
    sqlite_table(a, "orders", orders)
    sqlite_table(a, "order_events", events, states=lambda i: "pending")
    sqlite_table(b, "audit", audit)
    cfg = os.path.join(d, "rollsafe.yaml")
    write_config(cfg, [
        {"name": "orders", "kind": "sqlite-table", "connection": "a.db",
         "table": "orders", "key": "id", "column": "payload",
         "type": "shop.Order"},
        {"name": "events", "kind": "sqlite-queue", "connection": "a.db",
         "table": "order_events", "key": "id", "column": "payload",
         "type": "shop.Order", "state_column": "state",
         "pending_states": ["pending"], "in_flight_states": ["processing"]},
        {"name": "audit", "kind": "sqlite-table", "connection": "b.db",
         "table": "audit", "key": "id", "column": "payload",
         "type": "shop.Order"},
    ])
    return cfg, {"orders": (a, "orders"), "events": (a, "order_events"),
                 "audit": (b, "audit")}


def contents(tables):
    return {name: sqlite_rows(path, table)
            for name, (path, table) in tables.items()}


def all_runs(tables):
    out = {}
    for path in {p for p, _ in tables.values()}:
        out.update(sqlite_runs(path))
    return out


def test_three_targets_one_run_kill_and_resume(r):
    """A fix of three targets in two databases is one run: killed (-9) in
    the second target, resumed by its id through the config, every count
    comes out as in a run nobody stopped; a restore killed in its second
    target and run again restores every row exactly once."""
    recs = Records()
    ref_cfg, ref_tables = three_targets(r, recs, os.path.join(r.work, "ref"))
    cfg, tables = three_targets(r, recs, os.path.join(r.work, "run"))
    original = contents(tables)
    fix = ["--execute", "--allow-lossy", "--batch", "40"]

    # The run nobody stops.
    doc, _ = report(r, 1, "fix", "-c", ref_cfg, *fix)
    ref_runs = all_runs(ref_tables)
    check_eq(set(ref_runs), {"orders", "events", "audit"}, "reference rows")
    check_eq({t["run_id"] for t in doc["targets"]}, {doc["run_id"]},
             "one run id in the report")
    reference = contents(ref_tables)

    # The same run, killed once the events target has committed a batch.
    p = start(r, "fix", "-c", cfg, *fix, "--max-rate", "4000")
    a_db = tables["orders"][0]
    stop_when(p, lambda: (sqlite_runs(a_db).get("events") or {}).get(
        "checkpoint") is not None, what="the fix")
    runs = all_runs(tables)
    check_eq(runs["orders"]["status"], "done", "orders done before the kill")
    check_eq(runs["events"]["status"], "running", "events killed running")
    check("audit" not in runs, "audit not reached", runs)
    run_id = runs["orders"]["run"]
    check_eq(runs["events"]["run"], run_id, "one run id for both")
    check_eq(runs["orders"]["run_id"], run_id, "first row: the run's id")
    check_eq(runs["events"]["run_id"], run_id + "/2", "second row in a.db")
    listed = json.loads(r.expect(0, "runs", "-c", cfg, "--format",
                                 "json")[0])["targets"]
    check_eq([x["run_id"] for x in listed["orders"] + listed["events"]],
             [run_id, run_id], "runs lists the run under each target")
    check_eq(listed["audit"], [], "no row for audit yet")

    # Resumed by its id: --allow-lossy and the rest come from the run.
    doc, _ = report(r, 1, "fix", "-c", cfg, "--resume", run_id, "--execute",
                    "--batch", "40")
    check_eq(doc["run_id"], run_id, "the resumed run's id")
    runs = all_runs(tables)
    check_eq(runs["audit"]["run_id"], run_id, "audit's row in b.db")
    for name in ("orders", "events", "audit"):
        check_eq(runs[name]["status"], "done", name + " status")
        check_eq(counts(runs[name]), counts(ref_runs[name]),
                 name + ": the run's counts against the unstopped run's")
        t = by_target(doc)[name]
        check_eq((t["rewritten"], t["lossy"], t["impossible"], t["corrupt"],
                  t["rows_read"], t["remaining"]),
                 (ref_runs[name]["converted"], ref_runs[name]["lossy"],
                  ref_runs[name]["impossible"], ref_runs[name]["corrupt"],
                  ref_runs[name]["rows_read"], ref_runs[name]["remaining"]),
                 name + ": the report's counts")
        check_eq(len(sqlite_backups(tables[name][0], runs[name]["run_id"])),
                 runs[name]["converted"], name + ": a backup per row fixed")
    check_eq(contents(tables), reference, "rows as the unstopped run left "
             "them")

    # A restore killed in its second target; run again, it goes on there.
    p = start(r, "restore", "-c", cfg, "--run", run_id, "--execute",
              "--batch", "40", "--max-rate", "4000")
    stop_when(p, lambda: (sqlite_runs(a_db).get("events") or {}).get(
        "restore_checkpoint") is not None, what="the restore")
    runs = all_runs(tables)
    check_eq(runs["orders"]["restore_status"], "done", "orders restored")
    check_eq(runs["events"]["restore_status"], "running", "events killed")
    doc, _ = report(r, 0, "restore", "-c", cfg, "--run", run_id, "--execute")
    check_eq(contents(tables), original, "every original back")
    runs = all_runs(tables)
    for name in ("orders", "events", "audit"):
        row = runs[name]
        check_eq((row["restore_status"], row["restores"], row["restored"],
                  row["restore_restored"], row["restore_conflicts"]),
                 ("done", 1, row["converted"], row["converted"], 0),
                 name + ": restored exactly once")
        check_eq(by_target(doc)[name]["restored"], row["converted"],
                 name + ": the report counts the whole restore")
    # Restoring again changes nothing, and is counted apart from the fix.
    doc, _ = report(r, 0, "restore", "-c", cfg, "--run", run_id, "--execute")
    check_eq(contents(tables), original, "nothing changed")
    check_eq(doc["restored"], 0, "nothing restored twice")
    runs = all_runs(tables)
    for name in ("orders", "events", "audit"):
        row = runs[name]
        check_eq((row["restores"], row["restored"], row["restore_conflicts"],
                  row["conflicts"]),
                 (2, row["converted"], row["converted"],
                  ref_runs[name]["conflicts"]),
                 name + ": a second restore's own conflicts")


def queue_fix(r, recs, n=300):
    path = os.path.join(r.work, "queue.db")
    if os.path.exists(path):
        os.unlink(path)
    rows = mixed(recs, n, 5, kinds=("v1", "v2_plain", "v2_gift"),
                 weights=(1, 2, 2))
    sqlite_table(path, "order_events", rows, states=lambda i: "pending")
    args = ["--sqlite", path, "--table", "order_events", "--key", "id",
            "--column", "payload", "--type", "shop.Order"]
    doc, _ = report(r, 0, "fix", *args, *QUEUE, "--execute")
    return path, args, {i: p for i, _, p in rows}, doc["run_id"]


def test_restore_alone_leaves_consumed_messages(r):
    """`restore --sqlite DB --run ID` alone restores a queue fix as a queue:
    messages consumers marked done since are left alone, those they hold are
    revisited by the command it prints, deleted ones are gone."""
    recs = Records()
    path, args, original, run_id = queue_fix(r, recs)
    fixed = sqlite_rows(path, "order_events")
    converted = sorted(i for i in fixed if fixed[i] != original[i])
    check(len(converted) > 60, "messages converted", len(converted))
    done, held, deleted = converted[:20], converted[20:30], converted[30:40]
    db = sqlite3.connect(path)
    db.executemany("UPDATE order_events SET state = 'done' WHERE id = ?",
                   [(i,) for i in done])
    db.executemany("UPDATE order_events SET state = 'processing' WHERE id = ?",
                   [(i,) for i in held])
    db.executemany("DELETE FROM order_events WHERE id = ?",
                   [(i,) for i in deleted])
    db.commit()
    db.close()

    dry, _ = report(r, 4, "restore", "--sqlite", path, "--run", run_id)
    out, _ = r.expect(4, "restore", "--sqlite", path, "--run", run_id,
                      "--execute")
    now = sqlite_rows(path, "order_events")
    for i in done + held:
        check_eq(now[i], fixed[i], "message %d left alone" % i)
    for i in converted[40:]:
        check_eq(now[i], original[i], "message %d restored" % i)
    runs = sqlite_runs(path)["order_events"]
    check_eq((runs["restore_restored"], runs["restore_gone"],
              runs["restore_in_flight"], runs["restore_status"]),
             (len(converted) - 40, 30, 10, "incomplete"), "restore counts")
    t = dry["targets"][0]
    check_eq((t["outcomes"]["restored"], t["gone"], t["in_flight"]),
             (len(converted) - 40, 30, 10), "the dry run predicted it")

    # The consumer lets its messages go; the printed command finishes.
    db = sqlite3.connect(path)
    db.executemany("UPDATE order_events SET state = 'pending' WHERE id = ?",
                   [(i,) for i in held])
    db.commit()
    db.close()
    cmd = printed_command(out, "finish later with")
    check_eq(cmd[1:5], ["restore", "--sqlite", path, "--run"],
             "the printed command names the database alone")
    run_printed(r, cmd, 0)
    now = sqlite_rows(path, "order_events")
    for i in held + converted[40:]:
        check_eq(now[i], original[i], "message %d restored" % i)
    for i in done:
        check_eq(now[i], fixed[i], "done message %d still left alone" % i)
    runs = sqlite_runs(path)["order_events"]
    check_eq((runs["restored"], runs["restore_status"]),
             (len(converted) - 30, "done"), "restored in all, once each")

    # Target options without the queue's take the queue from the run.
    doc, _ = report(r, 0, "restore", *args, "--run", run_id, "--execute")
    check_eq(sqlite_rows(path, "order_events")[done[0]], fixed[done[0]],
             "a done message left alone by a restore given as a table")
    check_eq(doc["targets"][0]["kind"], "sqlite-queue", "restored as a queue")


def test_contradicting_options_refused(r):
    """Options that contradict what a run recorded are refused (exit 2),
    saying what the run recorded; nothing is written."""
    recs = Records()
    path = os.path.join(r.work, "t.db")
    rows = mixed(recs, 200, 7)
    sqlite_table(path, "orders", rows)
    args = ["--sqlite", path, "--table", "orders", "--key", "id",
            "--column", "payload", "--type", "shop.Order"]
    p = start(r, "fix", *args, "--execute", "--batch", "20", "--max-rate",
              "500")
    stop_when(p, lambda: (sqlite_runs(path).get("orders") or {}).get(
        "checkpoint") is not None, how=signal.SIGINT, what="the fix")
    run_id = sqlite_runs(path)["orders"]["run"]

    def digest():
        return hashlib.sha256(open(path, "rb").read()).hexdigest()

    before = digest()
    both = [
        (QUEUE, "recorded the kind sqlite-table"),
        (["--key", "rowid"], "recorded key id"),
        (["--column-encoding", "hex"], "recorded the column encoding binary"),
    ]
    for extra, said in both:
        given = args if extra[0] != "--key" else [
            a for a in args if a not in ("--key", "id")]
        for cmd in (["restore", "--run", run_id, "--execute"],
                    ["fix", "--resume", run_id, "--execute"]):
            _, err = r.expect(2, cmd[0], *given, *cmd[1:], *extra)
            check(said in err and err.count("\n") == 1,
                  "%s %s refused, saying what the run recorded"
                  % (cmd[0], extra), err)
    resume_only = [
        (["--reader-version", "2"], "recorded reader version 1, and 2"),
        (["--reader-framing", "envelope"], "recorded reader framing raw"),
        (["--raw-writer", "2"], "recorded raw writer (0: auto) 0"),
        (["--to-version", "2"], "recorded the version written "
         "(--to-version) 1"),
        (["--allow-lossy"], "recorded that lossy records stay as they are"),
        (["--where", "id > 5"], "recorded --where (none)"),
        (["--schema-id", "42=1"], "recorded schema ids {}"),
    ]
    for extra, said in resume_only:
        _, err = r.expect(2, "fix", *args, "--resume", run_id, "--execute",
                          *extra)
        check(said in err, "fix --resume %s refused" % extra, err)
    _, err = r.expect(2, "restore", "--sqlite", path, "--table", "orders",
                      "--column", "other", "--run", run_id)
    check("recorded column payload, and other is given" in err,
          "another column refused", err)
    check_eq(digest(), before, "nothing written by a refused command")
    # What the run recorded is enough to finish it.
    r.expect(1, "fix", "--sqlite", path, "--resume", run_id, "--execute")
    check_eq(sqlite_runs(path)["orders"]["status"], "done", "resumed")


def test_queue_in_flight_wait_and_max_passes(r):
    """--in-flight-wait 0 makes one pass and lists the messages still in
    flight with the command that finishes them later, which works;
    --max-passes and the config's max_passes and in_flight_wait bound the
    passes."""
    recs = Records()
    path = os.path.join(r.work, "q.db")
    rows = mixed(recs, 200, 9, kinds=("v1", "v2_plain", "v2_gift"),
                 weights=(1, 2, 2))
    held = sorted(i for i, kind, _ in rows if kind != "v1")[:12]
    sqlite_table(path, "order_events", rows,
                 states=lambda i: "processing" if i in held else "pending")
    args = ["--sqlite", path, "--table", "order_events", "--key", "id",
            "--column", "payload", "--type", "shop.Order", *QUEUE]
    dry = os.path.join(r.work, "copy.db")
    shutil.copyfile(path, dry)
    doc, _ = report(r, 4, "fix", *args, "--execute", "--in-flight-wait", "0")
    t = doc["targets"][0]
    check_eq((t["passes"], t["unsettled"]), (1, len(held)),
             "one pass, the held messages unsettled")
    check_eq(sorted(int(k["key"]) for k in t["unsettled_keys"]), held,
             "the report lists the messages left")
    check(doc["resume_command"].startswith("rollsafe fix --sqlite "),
          "the JSON names the command", doc["resume_command"])
    out, _ = r.expect(4, "fix", "--sqlite", path, "--resume", doc["run_id"],
                      "--execute", "--in-flight-wait", "0", "--samples", "50")
    check("INCOMPLETE %d messages still in flight" % len(held) in out,
          "the text report says what remains", out)
    for i in held:
        check("    id %d: in flight" % i in out, "message %d listed" % i, out)
    cmd = printed_command(out, "finish later with")
    check_eq(cmd, ["rollsafe", "fix", "--sqlite", path, "--resume",
                   doc["run_id"], "--execute"], "the printed command")
    db = sqlite3.connect(path)
    db.execute("UPDATE order_events SET state = 'pending'")
    db.commit()
    db.close()
    done, _ = run_printed(r, cmd, 0)
    check("result: exit 0" in done, "finished", done)
    rows_now = sqlite_rows(path, "order_events")
    original = {i: p for i, _, p in rows}
    check(all(rows_now[i] != original[i] for i in held),
          "the held messages converted once released")
    runs = sqlite_runs(path)["order_events"]
    check_eq(runs["converted"],
             len(sqlite_backups(path, runs["run_id"])),
             "converted as many as backed up, across three invocations")

    # Passes: --max-passes, and the config's keys.
    doc, _ = report(r, 4, "fix", "--sqlite", dry, "--table", "order_events",
                    "--key", "id", "--column", "payload", "--type",
                    "shop.Order", *QUEUE, "--execute", "--max-passes", "3",
                    "--in-flight-wait", "10m")
    check_eq(doc["targets"][0]["passes"], 3, "--max-passes 3")
    cfg = os.path.join(r.work, "q.yaml")
    outbox = {"name": "events", "kind": "sqlite-queue",
              "connection": "copy.db", "table": "order_events", "key": "id",
              "column": "payload", "type": "shop.Order",
              "state_column": "state", "pending_states": ["pending"],
              "in_flight_states": ["processing"]}
    for top, passes in (({"max_passes": 2, "in_flight_wait": "10m"}, 2),
                        ({"in_flight_wait": "0"}, 1)):
        write_config(cfg, [outbox], **top)
        doc, _ = report(r, 4, "fix", "-c", cfg, "--execute")
        check_eq(doc["targets"][0]["passes"], passes, "config %s" % top)
    _, err = r.expect(2, "fix", *args, "--in-flight-wait", "soon")
    check("--in-flight-wait 'soon'" in err, "a bad duration refused", err)


def test_resume_in_a_later_pass_counts_once(r):
    """A queue fix killed in its second pass and resumed counts the records
    it leaves alone once, as a run nobody stopped does."""
    recs = Records()
    path = os.path.join(r.work, "q.db")
    rows = mixed(recs, 600, 11)
    held = [i for i, kind, _ in rows if kind == "v2_plain"][:5]
    sqlite_table(path, "order_events", rows,
                 states=lambda i: "processing" if i in held else "pending")
    ref = os.path.join(r.work, "ref.db")
    shutil.copyfile(path, ref)
    args = ["--table", "order_events", "--key", "id", "--column", "payload",
            "--type", "shop.Order", *QUEUE, "--execute", "--batch", "20"]
    report(r, 4, "fix", "--sqlite", ref, *args, "--max-passes", "1")
    p = start(r, "fix", "--sqlite", path, *args, "--max-passes", "50",
              "--in-flight-wait", "10m", "--max-rate", "3000")
    stop_when(p, lambda: (sqlite_runs(path).get("order_events") or {}).get(
        "pass", 0) >= 2 and sqlite_runs(path)["order_events"]["checkpoint"]
        is not None, what="the fix")
    run = sqlite_runs(path)["order_events"]
    check(run["pass"] >= 2, "killed in a later pass", run)
    doc, _ = report(r, 4, "fix", "--sqlite", path, "--resume", run["run"],
                    "--execute", "--in-flight-wait", "0")
    got, want = sqlite_runs(path)["order_events"], sqlite_runs(ref)[
        "order_events"]
    for k in ("converted", "lossy_skipped", "impossible", "corrupt",
              "undetermined", "remaining"):
        check_eq(got[k], want[k], k + " counted once")
    t = doc["targets"][0]
    check_eq((t["impossible"], t["corrupt"], t["outcomes"]["lossy_skipped"]),
             (want["impossible"], want["corrupt"], want["lossy_skipped"]),
             "the report's counts")


def test_printed_hints_work(r):
    """The commands printed after Ctrl-C work as printed: a fix's resume, a
    restore's; a dry run interrupted prints none."""
    recs = Records()
    path = os.path.join(r.work, "h.db")
    rows = mixed(recs, 400, 13)
    sqlite_table(path, "orders", rows)
    original = sqlite_rows(path, "orders")
    args = ["--sqlite", path, "--table", "orders", "--key", "id",
            "--column", "payload", "--type", "shop.Order"]
    p = start(r, "fix", *args, "--execute", "--batch", "20", "--max-rate",
              "800")
    _, out, _ = stop_when(p, lambda: (sqlite_runs(path).get("orders") or {})
                          .get("checkpoint") is not None,
                          how=signal.SIGINT, what="the fix")
    check("INTERRUPTED" in out, "interrupted", out)
    cmd = printed_command(out, "resume with")
    check_eq(cmd[:3], ["rollsafe", "fix", "--sqlite"], "a fix's resume")
    run_printed(r, cmd, 1)
    fixed = sqlite_rows(path, "orders")
    run = sqlite_runs(path)["orders"]
    check_eq(run["status"], "done", "resumed to its end")
    p = start(r, "restore", "--sqlite", path, "--run", run["run"],
              "--execute", "--batch", "20", "--max-rate", "800")
    _, out, _ = stop_when(p, lambda: sqlite_runs(path)["orders"][
        "restore_checkpoint"] is not None, how=signal.SIGINT,
        what="the restore")
    cmd = printed_command(out, "resume with")
    check_eq(cmd[:3], ["rollsafe", "restore", "--sqlite"], "a restore's")
    check(fixed != sqlite_rows(path, "orders") != original,
          "interrupted half way")
    run_printed(r, cmd, 0)
    check_eq(sqlite_rows(path, "orders"), original, "restored")
    run = sqlite_runs(path)["orders"]
    check_eq((run["restored"], run["restore_restored"], run["restores"]),
             (run["converted"], run["converted"], 1), "restored once")
    # A dry run interrupted: nothing to resume, and no command that names
    # no run.
    big = os.path.join(r.work, "big.db")
    sqlite_table(big, "orders", mixed(recs, 60000, 15))
    p = start(r, "fix", "--sqlite", big, "--table", "orders", "--column",
              "payload", "--type", "shop.Order")
    time.sleep(0.2)
    p.send_signal(signal.SIGINT)
    rc, out, _ = finish(p, "the dry run")
    check_eq(rc, 4, "dry run interrupted")
    check("nothing was written; run the same command again" in out and
          "--resume" not in out and "resume with" not in out,
          "no resume for a dry run", out)


def descriptor_sets(r, extra_field=False):
    """protoc descriptor sets of schema/shop/v1 and v2 (with @extra_field,
    a version 2 with one optional field more: another fingerprint)."""
    root = os.path.join(ROOT, "schema")
    out = os.path.join(r.work, "schemas")
    os.makedirs(out, exist_ok=True)
    protoc = shutil.which("protoc") or "/usr/bin/protoc"
    paths = []
    for v in ("v1", "v2"):
        src_root = root
        if v == "v2" and extra_field:
            src_root = os.path.join(out, "v2b")
            os.makedirs(os.path.join(src_root, "shop", "v2"), exist_ok=True)
            text = open(os.path.join(root, "shop", "v2", "order.proto")).read()
            anchor = "  optional string gift_message = 12;\n"
            check(anchor in text, "schema/shop/v2/order.proto: field 12")
            with open(os.path.join(src_root, "shop", "v2", "order.proto"),
                      "w") as f:
                f.write(text.replace(
                    anchor, anchor + "  optional string referrer = 14;\n"))
        desc = os.path.join(out, "%s%s.desc" % (v, "b" if extra_field and
                                                 v == "v2" else ""))
        p = subprocess.run([protoc, "-I", src_root, "--include_imports",
                            "--descriptor_set_out=" + desc,
                            os.path.join(src_root, "shop", v, "order.proto")],
                           capture_output=True, timeout=600)
        check_eq(p.returncode, 0, "protoc: %s" % p.stderr)
        paths.append(desc)
    return paths


def test_schemas_recorded_and_checked(r):
    """A run records where its record type came from and the schemas'
    fingerprints: a resume given the database alone names the options to
    add; the resume printed at Ctrl-C carries them and works; schemas with
    other fingerprints are refused."""
    recs = Records()
    v1, v2 = descriptor_sets(r)
    _, v2b = descriptor_sets(r, extra_field=True)
    path = os.path.join(r.work, "s.db")
    sqlite_table(path, "t", mixed(recs, 400, 19, kinds=("v1",), weights=(1,)))
    types = ["--type", "acme.Order", "--message", "shop.Order"]
    p = start(r, "fix", "--sqlite", path, "--table", "t", "--column",
              "payload", *types, "--schema", v1, "--schema", v2, "--execute",
              "--batch", "20", "--max-rate", "800")
    _, out, _ = stop_when(p, lambda: (sqlite_runs(path).get("t") or {}).get(
        "checkpoint") is not None, how=signal.SIGINT, what="the fix")
    run_id = sqlite_runs(path)["t"]["run"]
    settings = json.loads(sqlite_runs(path)["t"]["settings"])
    check_eq((settings["type"], settings["message"], settings["schemas"]),
             ("acme.Order", "shop.Order",
              [os.path.realpath(v1), os.path.realpath(v2)]),
             "the type's source recorded")
    check_eq(sorted(settings["fingerprints"]), ["1", "2"], "fingerprints")
    _, err = r.expect(2, "fix", "--sqlite", path, "--resume", run_id,
                      "--execute")
    check("acme.Order is not compiled in" in err and
          "add --schema %s --schema %s --message shop.Order"
          % (os.path.realpath(v1), os.path.realpath(v2)) in err,
          "the options to add, named exactly", err)
    _, err = r.expect(2, "fix", "--sqlite", path, "--resume", run_id,
                      "--execute", "--schema", v1, "--schema", v2b,
                      "--message", "shop.Order")
    check("the schemas given for acme.Order differ from run %s's: version 2 "
          "has fingerprint" % run_id in err, "other schemas refused", err)
    cmd = printed_command(out, "resume with")
    check(v1 in cmd and v2 in cmd, "the printed resume names the schemas",
          cmd)
    run_printed(r, cmd, 0)
    check_eq(sqlite_runs(path)["t"]["status"], "done", "resumed")

    # A restore given the database alone loads no schema: its report names
    # the reader's schema as the run recorded it.
    out, _ = r.expect(0, "restore", "--sqlite", path, "--run", run_id)
    fp = settings["fingerprints"]["1"]
    check("schema file %s, fingerprint %s (as the run recorded it"
          % (os.path.realpath(v1), fp) in out,
          "the restore names the recorded schema", out)


def test_old_runs_table_gets_new_columns(r):
    """A runs table an earlier rollsafe made is read as it is, and a command
    that writes adds the new columns without touching its rows; its run is
    restored with the target's options, which its row never recorded."""
    recs = Records()
    path = os.path.join(r.work, "old.db")
    rows = mixed(recs, 10, 17, kinds=("v1",), weights=(1,))
    sqlite_table(path, "orders", rows)
    before = sqlite_rows(path, "orders")
    fixed = recs.v1(999)
    db = sqlite3.connect(path)
    db.executescript(OLD_RUNS_DDL)
    db.execute("INSERT INTO rollsafe_runs VALUES ('old-1', 'fix', 'orders', "
               "'orders', 'id', 'payload', 1, 'done', '7', 1, 2, 1, 0, 0, 0, "
               "0, 0)")
    db.execute("INSERT INTO rollsafe_backup VALUES ('old-1', 'orders', '3', "
               "?, ?, 1, 0)", (before[3], fixed))
    db.execute("UPDATE orders SET payload = ? WHERE id = 3", (fixed,))
    db.commit()
    db.close()

    def columns():
        db = sqlite3.connect(path)
        n = db.execute("SELECT count(*) FROM pragma_table_info("
                       "'rollsafe_runs')").fetchone()[0]
        db.close()
        return n

    out, _ = r.expect(0, "runs", "--sqlite", path, "--format", "json")
    check_eq([x["run_id"] for x in json.loads(out)["targets"]["orders"]], ["old-1"],
             "the old run listed")
    check_eq(columns(), 17, "listing adds nothing")
    _, err = r.expect(2, "restore", "--sqlite", path, "--run", "old-1")
    check("made by an earlier rollsafe" in err and "--table orders" in err,
          "restore alone says which options to add", err)
    doc, _ = report(r, 0, "restore", "--sqlite", path, "--table", "orders",
                    "--column", "payload", "--run", "old-1", "--execute")
    check_eq(doc["restored"], 1, "restored from the old table")
    check_eq(sqlite_rows(path, "orders"), before, "bytes back")
    check_eq(columns(), 37, "the new columns added")
    old = sqlite_runs(path)["orders"]
    check_eq((old["run_id"], old["checkpoint"], old["converted"],
              old["started_us"], old["run"], old["settings"]),
             ("old-1", "7", 1, 1, None, None), "the old row as it was")
    # A new fix beside it: a row of its own, with its settings.
    doc, _ = report(r, 0, "fix", "--sqlite", path, "--table", "orders",
                    "--column", "payload", "--type", "shop.Order",
                    "--execute")
    db = sqlite3.connect(path)
    new = db.execute("SELECT run, settings FROM rollsafe_runs WHERE "
                     "run_id = ?", (doc["run_id"],)).fetchone()
    db.close()
    check_eq(new[0], doc["run_id"], "the new row's run")
    check_eq(json.loads(new[1])["kind"], "sqlite-table", "settings recorded")


def test_old_database_without_leases(r):
    """A database an earlier rollsafe wrote has no lease table: its run left
    `running` shows as interrupted (no process holds a lease there), and a
    purge takes the run's lease all the same, making the table."""
    recs = Records()
    path = os.path.join(r.work, "old.db")
    rows = mixed(recs, 10, 17, kinds=("v1",), weights=(1,))
    sqlite_table(path, "orders", rows)
    db = sqlite3.connect(path)
    db.executescript(OLD_RUNS_DDL)
    db.execute("INSERT INTO rollsafe_runs VALUES ('old-2', 'fix', 'orders', "
               "'orders', 'id', 'payload', 1, 'running', '7', 1, 2, 1, 0, 0, "
               "0, 0, 0)")
    db.execute("INSERT INTO rollsafe_backup VALUES ('old-2', 'orders', '3', "
               "x'01', x'02', 1, 0)")
    db.commit()
    db.close()

    def tables():
        db = sqlite3.connect(path)
        names = [t for (t,) in db.execute(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name "
            "LIKE 'rollsafe%' ORDER BY name")]
        db.close()
        return names

    check_eq(tables(), ["rollsafe_backup", "rollsafe_runs"], "old tables")
    out, _ = r.expect(0, "runs", "--sqlite", path, "--format", "json")
    check_eq([(x["run_id"], x["status"]) for x in json.loads(out)["targets"]["orders"]],
             [("old-2", "interrupted")], "the stopped old run")
    out, _ = r.expect(0, "purge", "--sqlite", path, "--run", "old-2",
                      "--execute", "--format", "json")
    check_eq(json.loads(out)["backups_deleted"], 1, "backups deleted")
    check_eq(tables(), ["rollsafe_backup", "rollsafe_leases", "rollsafe_runs"],
             "the purge made the lease table")
    db = sqlite3.connect(path)
    left = [db.execute("SELECT count(*) FROM %s" % t).fetchone()[0]
            for t in ("rollsafe_runs", "rollsafe_backup", "rollsafe_leases")]
    db.close()
    check_eq(left, [0, 0, 0], "run, backups and lease gone")


TESTS = {name[len("test_"):]: fn for name, fn in globals().items()
         if name.startswith("test_") and callable(fn)}

if __name__ == "__main__":
    sys.exit(run_cases(TESTS))
