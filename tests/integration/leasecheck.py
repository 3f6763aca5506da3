"""Run leases, as the operator sees them, on either database
(test_fix_safety_sqlite.py and test_fix_safety_postgres.py call it): one
process works on a run at a time, and a run whose process is gone (kill
-9, or a second Ctrl-C during the first one's shutdown) shows as
`interrupted` in `rollsafe runs`, never `running`, and is resumed to the
end by the next `fix --resume`.

Everything is observed through rollsafe's own commands (`runs --format
json`), as an operator would; the callers check the data itself with their
own readers.
"""

import json
import signal
import subprocess
import time

from rsdata import SANITIZER_MARKERS, check, check_eq

# Hang guards only: nothing asserts how long anything takes.
HANG = 300


def runs_of(r, target):
    """The runs `rollsafe runs` lists for the target, by id."""
    out, _ = r.expect(0, "runs", *target, "--format", "json")
    doc = json.loads(out)["targets"]
    check_eq(len(doc), 1, "targets listed by runs")
    return {run["run_id"]: run for run in list(doc.values())[0]}


def wait_running_run(r, target, p, known):
    """The id of the run process @p works on, once it has committed a
    batch (a run not in @known, or the one in it, with a checkpoint)."""
    deadline = time.monotonic() + HANG
    while True:
        check(p.poll() is None, "the fix ended before its run showed",
              p.stderr.read().decode("utf-8", "replace")[-2000:]
              if p.poll() is not None else "")
        for run_id, run in runs_of(r, target).items():
            if (not known or run_id in known) and run["checkpoint"] is not \
                    None and run["status"] == "running":
                if not known or run["checkpoint"] != known[run_id]:
                    return run_id, run["checkpoint"]
        check(time.monotonic() < deadline, "hang guard: the run's first batch")
        time.sleep(0.05)


def wait_status(r, target, run_id, want):
    """Waits for run @run_id to show @want (PostgreSQL: the killed
    process's session may take a moment to end, and with it its lease)."""
    deadline = time.monotonic() + HANG
    while True:
        status = runs_of(r, target)[run_id]["status"]
        if status == want:
            return
        check(time.monotonic() < deadline, "hang guard: run %s shows %s, "
              "waiting for %s" % (run_id, status, want))
        time.sleep(0.05)


def no_sanitizer(text, what):
    for marker in SANITIZER_MARKERS:
        check(marker not in text, "sanitizer report from " + what, text)


def lease_scenario(r, target, convertible, immediate):
    """@target: the fix's target options; @convertible: the records a
    whole run converts; @immediate: whether a dead process's lease is free
    at once (SQLite: the process is asked; PostgreSQL: its session must
    end first)."""
    # Slow enough that the run is still at work when the other commands
    # and the listing below have run (it is killed after them).
    slow = ["--execute", "--batch", "50", "--max-rate", "50", "--format",
            "json", "--samples", "0"]
    p = subprocess.Popen([r.rollsafe, "fix", *target, *slow],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        run_id, cp = wait_running_run(r, target, p, {})
        # While it works, no other process takes the run.
        for argv in (["fix", *target, "--execute", "--resume", run_id],
                     ["restore", *target, "--run", run_id, "--execute"],
                     ["purge", *target, "--run", run_id, "--execute"]):
            _, err = r.expect(4, *argv)
            check("being worked on by another rollsafe process" in err,
                  "%s refused while the run is worked on" % argv[0], err)
        check_eq(runs_of(r, target)[run_id]["status"], "running",
                 "status while its process works")
    finally:
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
        _, err = p.communicate(timeout=HANG)
    no_sanitizer(err.decode("utf-8", "replace"), "the killed fix")
    check_eq(p.returncode, -signal.SIGKILL, "the first fix was killed")
    if immediate:
        check_eq(runs_of(r, target)[run_id]["status"], "interrupted",
                 "status once its process is gone")
    else:
        wait_status(r, target, run_id, "interrupted")

    # A second Ctrl-C during the shutdown the first one began: the process
    # ends at once (or had ended), and the run is not left running.
    p = subprocess.Popen([r.rollsafe, "fix", *target, *slow, "--resume",
                          run_id], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    try:
        wait_running_run(r, target, p, {run_id: cp})
        p.send_signal(signal.SIGINT)
        p.send_signal(signal.SIGINT)
    finally:
        _, err = p.communicate(timeout=HANG)
    no_sanitizer(err.decode("utf-8", "replace"), "the interrupted fix")
    check(p.returncode in (4, -signal.SIGINT), "the resumed fix ended by "
          "Ctrl-C: exit %d" % p.returncode, err[-2000:])
    if immediate:
        check_eq(runs_of(r, target)[run_id]["status"], "interrupted",
                 "status after two Ctrl-C")
    else:
        wait_status(r, target, run_id, "interrupted")

    # The next resume finishes the run.
    out, _ = r.expect(1, "fix", *target, "--execute", "--resume", run_id,
                      "--format", "json", "--samples", "0")
    doc = json.loads(out)
    check_eq(doc["complete"], True, "the last resume completes")
    check_eq(doc["run_id"], run_id, "the run resumed")
    run = runs_of(r, target)[run_id]
    check_eq(run["status"], "done", "status at the end")
    check_eq(run["rewritten"], convertible, "converted over the whole run")
    return run_id


def check_converted_once(recs, orig, final, backed_up, convertible,
                         order_id):
    """After a whole run: every convertible row holds its conversion, once,
    with a backup row of its original bytes (@backed_up: {key: (old, new,
    time)}), read by @order_id as the version-1 reader reads it; every other
    row is untouched."""
    check_eq(set(backed_up), convertible, "backed-up keys")
    for k, data in final.items():
        if k in convertible:
            check_eq((backed_up[k][0], backed_up[k][1]), (orig[k], data),
                     "row %d and its backup" % k)
            check_eq(order_id(recs, data), "O-%d" % k,
                     "version-1 order_id of row %d" % k)
        else:
            check_eq(data, orig[k], "row %d untouched" % k)
