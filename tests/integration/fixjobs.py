"""Shared by test_fix_jobs_sqlite.py and test_fix_jobs_postgres.py: what a
fix split into parts (--jobs N, --shard K/N) must come out as, whatever the
database. Each backend gives the table's rows, the run's rows and its
backups; the checks here compare them with a fix of one part (--jobs 1).

Records are built by rsdata.Records (Python's protobuf), never by rollsafe;
which part a key belongs to is computed here (FNV-1a 64 of the key's text,
as docs/scale.md states it), never asked of rollsafe.
"""

import json

from rsdata import Failure, check, check_eq
from scale import first_difference

# Fields of a fix report that differ between two fixes of the same data
# whatever they do: the run's ids, the command that resumes it, the parts,
# timing, and how often a step gave way to another (each part's batches
# take turns for SQLite's one write lock).
UNTIMED = ("run_id", "resume_command", "row_id", "parts", "duration_seconds",
           "busy_retries")

# Counts of a run's rows that add up over the parts of a target.
PART_COUNTS = ("converted", "lossy", "lossy_skipped", "impossible", "corrupt",
               "check_failed", "undetermined", "unnamed", "rows_read",
               "remaining")


def fnv1a(text):
    h = 0xcbf29ce484222325
    for b in text.encode("utf-8"):
        h ^= b
        h = (h * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def part_of(key, count):
    return fnv1a(str(key)) % count


def normalized(doc):
    """@doc without the fields two equal fixes may differ in."""
    doc = json.loads(json.dumps(doc))
    for k in UNTIMED:
        doc.pop(k, None)
    for t in doc.get("targets", []):
        for k in UNTIMED:
            t.pop(k, None)
    return doc


def check_same_report(one, many, what):
    """The report of a split fix is the one --jobs 1 writes, but for its
    ids and timing."""
    d = first_difference(normalized(one), normalized(many))
    if d is not None:
        raise Failure("%s: the report differs from --jobs 1's: %s" % (what, d))


def check_parts(runs, run_id, count, what, shards=None):
    """@runs: the run rows of run @run_id ({row_id: row dict}): one per part,
    each recording its part of @count in its settings, with row ids
    RUN.t0.pIofC. Returns {index: row}."""
    parts = {}
    for row_id, row in runs.items():
        if row["run"] != run_id:
            continue
        st = json.loads(row["settings"])
        p = st.get("partition")
        check(p is not None, "%s: row %s has no partition" % (what, row_id),
              row["settings"][:500])
        check_eq(p["count"], count, "%s: parts of row %s" % (what, row_id))
        check_eq(row_id, "%s.t0.p%dof%d" % (run_id, p["index"], count),
                 "%s: row id of part %d" % (what, p["index"]))
        if shards is not None:
            check_eq((p["shard"], p["shards"]),
                     (p["index"] % shards, shards),
                     "%s: the shard of part %d" % (what, p["index"]))
        parts[p["index"]] = row
    return parts


def check_backups_in_parts(backups, count, what):
    """@backups: {row_id: {key: (old, new)}}: each part's backup rows name
    only keys of its part."""
    for row_id, b in backups.items():
        index = int(row_id.rsplit(".p", 1)[1].split("of")[0])
        for k in b:
            check_eq(part_of(k, count), index,
                     "%s: the part of backed-up key %s of row %s"
                     % (what, k, row_id))


def merged_backups(backups):
    """{key: (old, new)} of every part; a key in two parts fails."""
    out = {}
    for row_id, b in backups.items():
        for k, v in b.items():
            check(k not in out, "key %s backed up by two parts" % k, row_id)
            out[k] = v
    return out


def check_rows_hold_old_or_new(now, orig, backups, what):
    """No half-written row: every row holds its original bytes, or the new
    bytes its backup row records (the old bytes being the original)."""
    check_eq(set(now), set(orig), what + ": keys")
    for k, data in now.items():
        if k in backups:
            old, new = backups[k]
            check_eq(old, orig[k], "%s: backup old bytes of %s" % (what, k))
            check_eq(data, new, "%s: row %s vs its backup" % (what, k))
        else:
            check_eq(data, orig[k], "%s: row %s untouched" % (what, k))


def check_killed_parts(runs, run_id, backups, now, orig, convertible, count,
                       what):
    """After a kill: each part's backed-up keys are exactly the convertible
    keys of its part up to its checkpoint, its converted count commits with
    them, and every row is old or new. @runs: the run's rows ({row_id:
    row}); @backups: {row_id: {key: (old, new)}}; @now and @orig: the
    table's rows and its rows before the run. Returns the rows backed up."""
    parts = check_parts(runs, run_id, count, what)
    check_backups_in_parts(backups, count, what)
    for index, row in parts.items():
        cp = row["checkpoint"]
        mine = backups.get(row["run_id"], {})
        upto = {k for k in convertible if part_of(k, count) == index and
                cp is not None and k <= int(cp)}
        check_eq(set(mine), upto, "%s: part %d's backed-up keys up to its "
                 "checkpoint %r" % (what, index, cp))
        check_eq(row["converted"], len(mine),
                 "%s: part %d's converted count" % (what, index))
    merged = merged_backups(backups)
    check_rows_hold_old_or_new(now, orig, merged, what)
    return len(merged)


def sum_counts(parts):
    return {c: sum(p[c] or 0 for p in parts.values()) for c in PART_COUNTS}
