"""Keys of every shape through scan, fix (killed and resumed), restore,
runs and purge: what test_keys_sqlite.py and test_keys_postgres.py share.

A backend (one per database) creates a table from a list of rows, each a
key tuple (None for a NULL key part) and a record, reads the rows and the
backup rows back, and gives the target's arguments. The scenario checks
real values: the bytes of every row after the fix (converted rows read by
Python's protobuf as the version-1 record they came from, every other row
unchanged) and after the restore (byte-identical to the start), and that
every backup row names, through its key text alone, the row it was taken
from.
"""

import json
import signal
import subprocess
import time

from rsdata import check, check_eq

# Kinds of the rows: most readable, some the fix converts, some it cannot.
KINDS = ["v1", "v2_plain", "v1", "v2_gift", "v1", "v2_guest", "v2_plain"]


def kind_of(i):
    return KINDS[i % len(KINDS)]


def key_text(key):
    """What a key tuple reads as in reports and backup rows, decoded: a
    one-column key as its text, a composite one as a list."""
    if len(key) == 1:
        return str(key[0])
    return [k if isinstance(k, int) else str(k) for k in key]


def parse_key_text(text, n_parts):
    return json.loads(text) if n_parts > 1 else text


def hashable(k):
    return tuple(k) if isinstance(k, list) else k


def make_rows(recs, keys):
    """(key tuple, record bytes, kind) for each key; n is the row's number,
    which the record carries."""
    return [(k, recs.make(kind_of(i), i + 1), kind_of(i), i + 1)
            for i, k in enumerate(keys)]


def check_fixed(recs, before, after, rows, named, label):
    """Rows after a fix: each converted one is the version-1 record it was
    written as (read by Python's protobuf), everything else unchanged."""
    for key, _, kind, n in rows:
        converts = kind in ("v2_plain", "v2_gift") and named(key)
        if not converts:
            check_eq(after[key], before[key],
                     "%s: row %r unchanged" % (label, key))
            continue
        check(after[key] != before[key], "%s: row %r rewritten" % (label, key))
        m = recs.v1m.Order()
        m.ParseFromString(after[key])
        m.DiscardUnknownFields()  # a gift message stays an unknown field
        want = recs.v1m.Order()
        want.ParseFromString(recs.v1(n))
        check_eq(m, want, "%s: row %r reads as the writer meant" % (label, key))


def fix_killed(r, args, n_rows):
    """`fix --execute` with small batches, rate-limited to last about three
    seconds, killed (SIGKILL) part way."""
    rate = str(max(2, n_rows // 3))
    p = subprocess.Popen([r.rollsafe, "fix", *args, "--execute", "--batch",
                          "2", "--max-rate", rate, "--format", "json"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(0.9)  # not a limit: lets a few batches commit
    p.send_signal(signal.SIGKILL)
    p.communicate(timeout=60)
    return p


def scenario(r, be, table, key_cols, keys, recs, unnamed=()):
    """The whole cycle on one table whose key is @key_cols, holding a row
    per key of @keys; @unnamed are keys with a NULL part (SQLite only),
    which fix must report and never rewrite."""
    rows = make_rows(recs, keys)
    be.create(table, key_cols, [(k, v) for k, v, _, _ in rows])
    before = be.rows(table, key_cols)
    check_eq(len(before), len(rows), "rows written")
    args = be.args(table, ",".join(key_cols))
    n_parts = len(key_cols)

    def named(k):
        return k not in unnamed

    # Scan: keys in samples are the key texts (composite: JSON arrays).
    doc, _ = r.scan_json(1, *args, "--samples", "1000")
    t = doc["targets"][0]
    check_eq(t["key"], ",".join(key_cols), "the key resolved")
    check_eq(t["key_note"], None, "rows named by key")
    sampled = [s for v in t["samples"].values() for s in v]
    want = sorted(repr(key_text(k)) for k, _, kind, _ in rows
                  if kind != "v1" and named(k))
    got = sorted(repr(s["key"]) for s in sampled if not s.get(
        "key_is_position"))
    check_eq(got, want, "scan names every unreadable row by its key")
    if unnamed:
        pos = [s["key"] for s in sampled if s.get("key_is_position")]
        check_eq(len(pos), sum(1 for k, _, kind, _ in rows
                               if k in unnamed and kind != "v1"),
                 "rows whose key is NULL named by position")
        check(all(p.startswith("rowid ") for p in pos), "by rowid", pos)
    out, _ = r.expect(1, "scan", *args)
    if n_parts > 1:
        k0 = next(k for k, _, kind, _ in rows if kind != "v1" and named(k))
        shown = "(%s)" % ", ".join(str(x) for x in k0)
        check(shown in out, "text report shows %s" % shown, out)

    # Fix, killed part way, resumed from its checkpoint.
    p = fix_killed(r, args, len(rows))
    check(p.returncode == -signal.SIGKILL, "killed", p.returncode)
    runs_doc = json.loads(r.expect(0, "runs", *args, "--format",
                                   "json")[0])["targets"]
    listed = [x for v in runs_doc.values() if isinstance(v, list) for x in v]
    check_eq(len(listed), 1, "one run, killed: %r" % runs_doc)
    run_id = listed[0]["run_id"]
    converts = [k for k, _, kind, _ in rows
                if kind in ("v2_plain", "v2_gift") and named(k)]
    part = be.backups(run_id)
    check(len(part) < len(converts), "killed before the end",
          (len(part), len(converts)))
    check(listed[0]["checkpoint"] is not None, "a checkpoint", listed[0])
    check_eq(type(listed[0]["checkpoint"]), list if n_parts > 1 else str,
             "the checkpoint is a key (composite: its parts)")
    out, _ = r.expect(1, "fix", *args, "--execute", "--resume", run_id,
                      "--batch", "2", "--format", "json")
    doc = json.loads(out)
    check_eq(doc["run_id"], run_id, "resumed the same run")
    t = doc["targets"][0]
    check_eq(t["outcomes"]["converted"], len(converts), "converted in all")
    check_eq(t["outcomes"]["unnamed"],
             sum(1 for k, _, kind, _ in rows
                 if k in unnamed and kind in ("v2_plain", "v2_gift")),
             "unnamed rows counted, not rewritten")
    after = be.rows(table, key_cols)
    check_fixed(recs, before, after, rows, named, "after fix")
    backups = be.backups(run_id)
    by_key = {hashable(parse_key_text(k, n_parts)): v
              for k, v in backups.items()}
    check_eq(sorted(map(repr, by_key)),
             sorted(repr(hashable(key_text(k))) for k in converts),
             "a backup per rewritten row, named by its key text")
    for k in converts:
        check_eq(by_key[hashable(key_text(k))], (before[k], after[k]),
                 "backup of %r: original and new bytes" % (k,))

    # Runs: the run with its key; restore puts every byte back.
    runs_doc = json.loads(r.expect(0, "runs", *args, "--format",
                                   "json")[0])["targets"]
    listed = [x for v in runs_doc.values() if isinstance(v, list) for x in v]
    check_eq([(x["run_id"], x["key"]) for x in listed],
             [(run_id, ",".join(key_cols))], "runs lists the run and its key")
    out, _ = r.expect(0, "restore", *args, "--run", run_id, "--execute",
                      "--format", "json")
    check_eq(json.loads(out)["restored"], len(converts), "restored")
    check_eq(be.rows(table, key_cols), before, "byte-identical after restore")

    # Purge: the backups and the run go.
    r.expect(0, "purge", *args, "--run", run_id, "--execute")
    check_eq(be.backups(run_id), {}, "no backup rows after purge")
    runs_doc = json.loads(r.expect(0, "runs", *args, "--format",
                                   "json")[0])["targets"]
    listed = [x for v in runs_doc.values() if isinstance(v, list) for x in v]
    check_eq(listed, [], "no run after purge")
