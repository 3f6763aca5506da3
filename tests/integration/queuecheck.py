"""Shared by the queue tests (test_queue_postgres.py, test_queue_sqlite.py):
an order_events outbox filled with messages of both format versions, four
consumer processes (queue_consumer.py) taking messages while
`rollsafe fix` runs over the queue, and the checks that nothing was stolen,
lost, delivered twice or left unreadable.
"""

import json
import os
import subprocess
import sys
import time

from rsdata import check, check_eq, check_restore_predicted, restore_json, \
    restore_why

HERE = os.path.dirname(os.path.abspath(__file__))
CONSUMER = os.path.join(HERE, "queue_consumer.py")

FIXER_LOCK_MS = 1000
# Consumers wait for a lock at most a little longer than the fixer's own
# lock_timeout (PostgreSQL lock_timeout, SQLite busy timeout): a consumer
# whose lock wait times out (an error line, which fails the test) waited on
# the fixer too long. Only lock waits count, never a slow machine, so the
# check holds under any load; the longest wait is printed for information.
CONSUMER_LOCK_MS = FIXER_LOCK_MS + 500


def kind_of(n):
    """Planted impossible (v2_guest) and corrupt messages among v1 and
    convertible v2 ones."""
    if n % 997 == 0:
        return "v2_guest"
    if n % 1999 == 0:
        return "corrupt"
    return ("v1", "v1", "v1", "v1", "v1", "v2_plain", "v2_plain", "v2_plain",
            "v2_gift", "v2_gift")[n % 10]


PLANTED = ("v2_guest", "corrupt")


def messages(recs, n):
    return {i: (kind_of(i), recs.make(kind_of(i), i)) for i in range(1, n + 1)}


def v1_readable(recs, payload, n):
    m = recs.v1m.Order()
    try:
        m.ParseFromString(payload)
    except Exception:  # noqa: BLE001 - any parse failure is "unreadable"
        return False
    return m.IsInitialized() and m.order_id == "O-%d" % n


def read_consumer(path):
    taken, waits, errors = [], [], []
    with open(path) as f:
        for line in f:
            d = json.loads(line)
            if "id" in d:
                taken.append((d["id"], bytes.fromhex(d["payload"]), d["t0"]))
            elif "wait" in d:
                waits.append(d["wait"])
            elif "error" in d:
                errors.append(d)
    return taken, waits, errors


def run(r, backend, target_args, n_messages, recs, msgs, per_consumer):
    """Starts 4 consumers, runs the fix, lets the consumers take some more
    after it, stops them. Returns (fix document, fix end time, taken list,
    max lock wait)."""
    stop = os.path.join(r.work, "stop")
    procs, outs = [], []
    for c in range(4):
        out = os.path.join(r.work, "consumer%d.jsonl" % c)
        outs.append(out)
        procs.append(subprocess.Popen(
            [sys.executable, CONSUMER, backend.kind, backend.target, out, stop,
             str(CONSUMER_LOCK_MS), str(per_consumer), backend.table]))
    # The consumers are running before the fixer starts.
    while sum(_count_taken(o) for o in outs) < 50:
        check(all(p.poll() is None for p in procs), "a consumer ended early")
        time.sleep(0.05)
    p = subprocess.run([r.rollsafe, "fix", *target_args, "--execute",
                        "--lock-timeout", str(FIXER_LOCK_MS), "--format",
                        "json", "--samples", "5"], capture_output=True)
    fix_end = time.time()
    err = p.stderr.decode("utf-8", "replace")
    for marker in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
        check(marker not in err, "sanitizer report from the fixer", err)
    taken_at_end = sum(_count_taken(o) for o in outs)
    open(stop + ".after", "w").close()
    # Some messages are taken after the fix ended, so that what consumers
    # read then can be checked (unless the consumers stopped already).
    while (sum(_count_taken(o) for o in outs) < taken_at_end + 200 and
           any(q.poll() is None for q in procs)):
        time.sleep(0.05)
    open(stop, "w").close()
    for q in procs:
        q.wait()
    check(p.returncode == 1, "fix: exit %d, want 1 (planted records remain)"
          % p.returncode, p.stdout.decode()[-3000:], err[-3000:])
    doc = json.loads(p.stdout)
    taken, waits, errors = [], [], []
    for o in outs:
        t, w, e = read_consumer(o)
        taken += t
        waits += w
        errors += e
    check_eq(errors, [], "consumer errors (lock or busy timeouts)")
    return doc, fix_end, taken, max(waits) if waits else 0.0


def _count_taken(path):
    try:
        with open(path) as f:
            return sum(1 for line in f if line.startswith('{"id"'))
    except FileNotFoundError:
        return 0


def check_run(recs, msgs, doc, fix_end, taken, remaining, backups):
    """The checks common to both databases. @p remaining: {id: payload} of
    the messages still queued; @p backups: {id: (old, new)} of the run."""
    t = doc["targets"][0]
    check_eq(t["error"], None, "fix error")
    check_eq(t["unsettled"], 0, "messages left in flight")
    check_eq(t["conflicts"], 0, "conflicts (consumers never change bytes)")
    check(t["passes"] >= 1, "passes", t)
    # No message lost or delivered twice.
    ids = [i for i, _, _ in taken]
    check_eq(len(ids), len(set(ids)), "messages delivered twice")
    check_eq(set(ids) & set(remaining), set(), "taken and still queued")
    check_eq(set(ids) | set(remaining), set(msgs), "every message accounted")
    # Backups: the original bytes, and new bytes the old reader reads.
    check_eq(len(backups), t["rewritten"], "a backup per conversion")
    for i, (old, new) in backups.items():
        check_eq(old, msgs[i][1], "backup of %d holds the original" % i)
        check(v1_readable(recs, new, i), "backup new bytes of %d" % i)
    after, convertible_after = 0, 0
    for i, payload, t0 in taken:
        kind, original = msgs[i]
        # A message the fix converted was never held by a consumer when its
        # batch committed (SKIP LOCKED / in-flight state), and a consumer
        # that took it afterwards read the new bytes: taking the original
        # bytes of a converted message would mean the fix rewrote a
        # message a consumer owned.
        if i in backups:
            check(payload == backups[i][1],
                  "message %d: converted, but a consumer took other bytes" % i)
        if payload != original:
            check(i in backups and backups[i][1] == payload,
                  "message %d: a consumer got bytes the fix did not write" % i)
            check(v1_readable(recs, payload, i),
                  "message %d taken after its batch committed" % i)
        if t0 > fix_end:
            after += 1
            if kind not in PLANTED:
                convertible_after += 1
                check(v1_readable(recs, payload, i),
                      "message %d taken after the fix is readable" % i)
    check(after > 0, "messages taken after the fix ended", len(taken))
    for i, payload in remaining.items():
        kind = msgs[i][0]
        if kind not in PLANTED:
            check(v1_readable(recs, payload, i),
                  "queued message %d readable after the fix" % i)
    return after, convertible_after


def check_restore_prediction(r, args, run_id, fixed, gone, held, changed,
                             snapshot):
    """After a fix of the @fixed keys, consumers took the @gone messages and
    hold @held (an in-flight state), and a writer changed @changed: the
    restore's dry run says so (exit 4), writes nothing (@snapshot(), the
    queue's rows, is unchanged), and the execute then does what it said."""
    before = snapshot()
    dry = restore_json(r, 4, args, run_id, False)
    check_eq(snapshot(), before, "the dry run wrote nothing")
    check_eq(sorted(restore_why(dry, "gone")), sorted(str(k) for k in gone),
             "dry run: the consumed messages are gone")
    check_eq(list(restore_why(dry, "in_flight")), [str(held)],
             "dry run: the held message is in flight")
    check_eq(list(restore_why(dry, "conflict")), [str(changed)],
             "dry run: the changed message is a conflict")
    check_eq(dry["restored"], len(fixed) - len(gone) - 2,
             "dry run: would restore")
    _, done = check_restore_predicted(r, 4, args, run_id)
    check_eq(done["restored"], dry["restored"], "restored")


# ---- states are text like any other -----------------------------------------
#
# States are bound as parameters, never spliced into SQL: quotes, a
# backslash, LIKE's % and _, and non-ASCII text are states like any other,
# and a state written as an injection matches only itself.
READY = "it's \"ready\" 50%_ü"
HELD = 'held by "C:\\worker" 100%'
LOOKALIKE = "it's \"ready\" 50%Xü"  # READY, were _ a wildcard
INJECTION = "pending') OR ('1'='1"
ABSENT = "ç'est \"absent\""  # a pending state no message holds
ANY_TEXT_LABELS = (READY, HELD, LOOKALIKE, INJECTION, "pending", "done")


def any_text_rows(recs):
    """{id: (kind, payload, state)}: ten READY messages (the even ones v2,
    convertible), four HELD, and four each of LOOKALIKE, done and pending
    (none of them read), all v2; one v2 in the state INJECTION."""
    rows = {}
    layout = [(READY, 10), (HELD, 4), (LOOKALIKE, 4), ("done", 4),
              ("pending", 4), (INJECTION, 1)]
    i = 0
    for state, n in layout:
        for _ in range(n):
            i += 1
            kind = "v1" if state == READY and i % 2 == 1 else "v2_plain"
            rows[i] = (kind, recs.make(kind, i), state)
    return rows


def any_text_args(table_args):
    return table_args + ["--queue", "--state-column", "state",
                         "--pending-states",
                         ",".join((READY, INJECTION, ABSENT)),
                         "--in-flight-states", HELD]


def _finding_keys(t):
    """The keys of a scan's findings (--samples large enough for all)."""
    return sorted(int(s["key"]) for v in ("misread", "unreadable", "corrupt")
                  for s in t["samples"].get(v, []))


def check_any_text_states(r, recs, rows, args, queued, set_state,
                          fix_env=None):
    """The scenario on a queue built from any_text_rows(@rows): @args its
    target (any_text_args), @queued() {id: (payload, state)} of the table
    as it is now, @set_state(id, state). @fix_env: the environment of the
    first fix, whose stderr is returned."""
    def read_now():
        return sorted(i for i, (_, s) in queued().items()
                      if s in (READY, INJECTION, ABSENT, HELD))

    consumed = []  # converted, then consumed: its bytes are the fix's

    def unread_unchanged():
        for i, (p, s) in queued().items():
            if s not in (READY, INJECTION, HELD) and i not in consumed:
                check_eq(p, rows[i][1], "message %d (%s) untouched" % (i, s))

    read = read_now()
    check_eq(len(read), 15, "READY, HELD and INJECTION messages")
    findings = [i for i in read if rows[i][0] != "v1"]
    doc, _ = r.scan_json(1, *args, "--samples", "100")
    t = doc["targets"][0]
    check_eq(t["rows_read"], len(read), "scan: messages read")
    check_eq(t["findings"], len(findings), "scan: findings")
    # Every message not read is v2: one read by mistake would be a finding.
    check_eq(_finding_keys(t), findings, "scan: the keys of the findings")

    # The fix converts the pending ones and leaves HELD alone: in flight.
    out, fix_err = r.expect(4, "fix", *args, "--execute", "--max-passes",
                            "2", "--format", "json", env=fix_env)
    fix = json.loads(out)
    t = fix["targets"][0]
    pending_v2 = [i for i in findings if rows[i][2] != HELD]
    held = [i for i in read if rows[i][2] == HELD]
    check_eq((t["rewritten"], t["unsettled"], t["in_flight"], t["passes"]),
             (len(pending_v2), len(held), 2 * len(held), 2),
             "fix: converted, unsettled, in flight, passes")
    now = queued()
    for i in pending_v2:
        check(v1_readable(recs, now[i][0], i), "message %d converted" % i)
    for i in held:
        check_eq(now[i][0], rows[i][1], "held message %d untouched" % i)
    unread_unchanged()

    # Restore, with one converted message now held and one consumed.
    to_held, to_done = pending_v2[0], pending_v2[1]
    set_state(to_held, HELD)
    set_state(to_done, "done")
    consumed.append(to_done)
    _, done = check_restore_predicted(r, 4, args, fix["run_id"])
    check_eq((done["restored"], done["in_flight"], done["gone"]),
             (len(pending_v2) - 2, 1, 1), "restore: restored, held, gone")
    check_eq(sorted(restore_why(done, "in_flight")), [str(to_held)],
             "restore: the held message")
    now = queued()
    for i in pending_v2[2:]:
        check_eq(now[i][0], rows[i][1], "message %d restored" % i)

    # The consumers give the HELD messages back: the next fix settles all.
    for i in held:
        set_state(i, READY)
    out, _ = r.expect(0, "fix", *args, "--execute", "--format", "json")
    t = json.loads(out)["targets"][0]
    check_eq((t["rewritten"], t["unsettled"]),
             (len(held) + len(pending_v2) - 2, 0), "last fix")
    doc, _ = r.scan_json(0, *args, "--samples", "100")
    t = doc["targets"][0]
    check_eq((t["rows_read"], t["findings"]), (len(read_now()), 0),
             "last scan: messages read, findings")
    unread_unchanged()
    return fix_err
