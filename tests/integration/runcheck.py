"""Shared by test_runs_sqlite.py and test_runs_postgres.py: tables of mixed
records, the runs table as rollsafe keeps it, killing a command at a chosen
point of its run, and running the commands rollsafe prints for later.

Records are built by rsdata.Records (Python's protobuf), never by rollsafe.
"""

import json
import os
import random
import shlex
import signal
import sqlite3
import subprocess
import time

from rsdata import SANITIZER_MARKERS, Failure, check, check_eq

# What a fix makes of each kind for a raw version-1 reader with
# --allow-lossy: envelopes are rewritten (lossy where a value has no
# version-1 form), guests are impossible, corrupt records left alone.
KINDS = ("v1", "v2_plain", "v2_gift", "v2_awaiting", "v2_guest", "corrupt")
WEIGHTS = (10, 6, 5, 3, 1, 1)

# Per-target counts a run keeps that must come out the same however often
# the run was stopped and resumed.
RUN_COUNTS = ("converted", "lossy", "lossy_skipped", "impossible", "corrupt",
              "check_failed", "undetermined", "unnamed", "rows_read",
              "remaining")

HANG = 600  # seconds: a command that takes this long is hung

# The run and backup tables as the first rollsafe that kept runs made them
# in SQLite (one row per run, no settings): what an earlier version leaves.
OLD_RUNS_DDL = """
  CREATE TABLE rollsafe_runs (run_id TEXT NOT NULL PRIMARY KEY,
    command TEXT NOT NULL, target TEXT NOT NULL, table_name TEXT NOT NULL,
    key_column TEXT NOT NULL, column_name TEXT NOT NULL,
    to_version INTEGER NOT NULL, status TEXT NOT NULL, checkpoint TEXT,
    started_us INTEGER NOT NULL, updated_us INTEGER NOT NULL,
    converted INTEGER NOT NULL DEFAULT 0,
    conflicts INTEGER NOT NULL DEFAULT 0, lossy INTEGER NOT NULL DEFAULT 0,
    impossible INTEGER NOT NULL DEFAULT 0,
    corrupt INTEGER NOT NULL DEFAULT 0,
    restored INTEGER NOT NULL DEFAULT 0);
  CREATE TABLE rollsafe_backup (run_id TEXT NOT NULL,
    target TEXT NOT NULL, "key" TEXT NOT NULL, old_value BLOB NOT NULL,
    new_value BLOB NOT NULL, written_us INTEGER NOT NULL,
    restored INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (run_id, "key"));
"""


def mixed(recs, n, seed, first=1, kinds=KINDS, weights=WEIGHTS):
    """[(id, kind, bytes)] of @n records, the kinds drawn with @weights."""
    rng = random.Random(seed)
    out = []
    for i in range(first, first + n):
        kind = rng.choices(kinds, weights[:len(kinds)])[0]
        out.append((i, kind, recs.make(kind, i)))
    return out


def sqlite_table(path, table, rows, states=None):
    """A table (or, with @states, an outbox with a state column) in SQLite
    file @path, WAL mode so that tests read it while rollsafe writes."""
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode = WAL")
    if states is None:
        db.execute('CREATE TABLE "%s" (id INTEGER PRIMARY KEY, payload BLOB)'
                   % table)
        db.executemany('INSERT INTO "%s" VALUES (?, ?)' % table,
                       [(i, p) for i, _, p in rows])
    else:
        db.execute('CREATE TABLE "%s" (id INTEGER PRIMARY KEY, payload BLOB '
                   "NOT NULL, state TEXT NOT NULL)" % table)
        db.executemany('INSERT INTO "%s" VALUES (?, ?, ?)' % table,
                       [(i, p, states(i)) for i, _, p in rows])
    db.commit()
    db.close()


def sqlite_rows(path, table):
    db = sqlite3.connect(path, timeout=30)
    out = {i: bytes(p) for i, p in
           db.execute('SELECT id, payload FROM "%s"' % table)}
    db.close()
    return out


def sqlite_runs(path):
    """The runs table of SQLite file @path as dicts, by target name."""
    db = sqlite3.connect(path, timeout=30)
    db.row_factory = sqlite3.Row
    try:
        rows = [dict(r) for r in db.execute("SELECT * FROM rollsafe_runs")]
    except sqlite3.OperationalError:  # no table yet
        rows = []
    db.close()
    return {r["target"]: r for r in rows}


def sqlite_backups(path, row_id):
    db = sqlite3.connect(path, timeout=30)
    out = {k: (bytes(o), bytes(n)) for k, o, n in db.execute(
        'SELECT "key", old_value, new_value FROM rollsafe_backup '
        "WHERE run_id = ?", (row_id,))}
    db.close()
    return out


def counts(row):
    return {k: row[k] for k in RUN_COUNTS}


def start(r, *argv):
    """rollsafe @argv in the background."""
    return subprocess.Popen([r.rollsafe, *argv], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def finish(p, what):
    out, err = p.communicate(timeout=HANG)
    out, err = out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
    for marker in SANITIZER_MARKERS:
        check(marker not in err, "sanitizer report from %s" % what, err)
    return p.returncode, out, err


def stop_when(p, ready, how=signal.SIGKILL, what="the command"):
    """Sends @how to @p as soon as @ready() holds; fails when the command
    ends first. Returns its exit status, stdout and stderr."""
    while p.poll() is None:
        try:
            hit = ready()
        except (sqlite3.OperationalError, Failure):
            hit = False
        if hit:
            p.send_signal(how)
            break
        time.sleep(0.002)
    rc, out, err = finish(p, what)
    check(rc == -how or (how != signal.SIGKILL and rc == 4),
          "%s stopped by signal %d: exit %s" % (what, how, rc),
          out[-2000:], err[-2000:])
    return rc, out, err


def printed_command(text, label):
    """The command printed on a line "LABEL: rollsafe ...", as argv."""
    for line in text.splitlines():
        if line.startswith(label + ": "):
            return shlex.split(line[len(label) + 2:])
    raise Failure("no '%s:' line in the output" % label, text[-3000:])


def run_printed(r, argv, code, *extra):
    """Runs a command rollsafe printed (its argv[0] "rollsafe" is the binary
    under test), expecting exit @code."""
    check_eq(argv[0], "rollsafe", "the printed command's program")
    return r.expect(code, *argv[1:], *extra)


def report(r, code, *argv):
    out, err = r.expect(code, *argv, "--format", "json", "--samples", "1000")
    try:
        return json.loads(out), err
    except ValueError as e:
        raise Failure("not JSON (%s): %s" % (e, out[:2000]))


def by_target(doc):
    return {t["name"]: t for t in doc["targets"]}


def write_config(path, targets, **top):
    """A config file: top-level keys, then the targets (dicts) as YAML."""
    lines = ["reader_version: 1", "reader_framing: raw"]
    for k, v in top.items():
        lines.append("%s: %s" % (k, v))
    lines.append("targets:")
    for t in targets:
        first = True
        for k, v in t.items():
            if isinstance(v, (list, tuple)):
                v = "[%s]" % ", ".join(v)
            elif isinstance(v, str) and k in ("connection", "where"):
                v = json.dumps(v)
            lines.append("%s%s: %s" % ("  - " if first else "    ", k, v))
            first = False
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.chmod(path, 0o644)
