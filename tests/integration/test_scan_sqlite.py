#!/usr/bin/env python3
"""Integration tests of `rollsafe scan` on SQLite files.

Usage: test_scan_sqlite.py --rollsafe BIN --work DIR CASE

Each test_<case> function is one ctest case, scan_sqlite.<case>
(tests/integration.cmake finds them). Databases are written here with
Python's sqlite3 and records built by rsdata.Records, independently of
rollsafe; reports are parsed as JSON (or OpenMetrics), never string-matched
as JSON.
"""

import json
import os
import pty
import random
import select
import signal
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rsdata import (EXPECTED, VERDICTS, Failure, Records, check,  # noqa: E402
                    check_eq, run_cases)

T0 = 1768473000000000  # 2026-01-15T10:30:00Z in microseconds


def make_db(path, rows, table="orders", schema=None, wal=False):
    """rows: list of (key, bytes-or-None). Returns the path."""
    if os.path.exists(path):
        os.unlink(path)
    db = sqlite3.connect(path)
    if wal:
        db.execute("PRAGMA journal_mode=WAL")
    db.execute(schema or
               "CREATE TABLE %s (id INTEGER PRIMARY KEY, payload BLOB)"
               % table)
    db.executemany("INSERT INTO %s VALUES (?, ?)" % table, rows)
    db.commit()
    db.close()
    return path


def target_args(path, table="orders", key="id", column="payload"):
    """key None: no --key (the table's primary key, or rowids)."""
    return (["--sqlite", path, "--table", table] +
            (["--key", key] if key is not None else []) +
            ["--column", column, "--type", "shop.Order"])


def mix(recs, counts, seed=1, **kw):
    """A shuffled table with counts[kind] rows of each kind; returns
    (rows, kinds) where kinds[key] is the kind of that row."""
    kinds = []
    for kind, n in counts.items():
        kinds += [kind] * n
    random.Random(seed).shuffle(kinds)
    rows, by_key = [], {}
    for i, kind in enumerate(kinds, start=1):
        rows.append((i, recs.make(kind, i, **kw) if kind.startswith("v2")
                     else recs.make(kind, i)))
        by_key[str(i)] = kind
    return rows, by_key


def expected_counts(by_key, framing, keys=None):
    want = {v: 0 for v in VERDICTS}
    for k, kind in by_key.items():
        if keys is None or k in keys:
            want[EXPECTED[kind][framing]] += 1
    return want


COUNTS = {"v1": 700, "v2_plain": 60, "v2_gift": 150, "v2_awaiting": 40,
          "v2_guest": 30, "corrupt": 5}


def test_known_mix_envelope_reader(r):
    recs = Records()
    rows, by_key = mix(recs, COUNTS)
    db = make_db(os.path.join(r.work, "mix.db"), rows)
    doc, err = r.scan_json(1, *target_args(db), "--reader-framing",
                           "envelope", "--samples", "1000")
    want = expected_counts(by_key, "envelope")
    check_eq(doc["totals"]["verdicts"], want, "totals.verdicts")
    check_eq(doc["complete"], True, "complete")
    check_eq(doc["exit_code"], 1, "exit_code in the document")
    t = doc["targets"][0]
    check_eq(t["rows_read"], len(rows), "rows_read")
    check_eq(t["rows_counted"], len(rows), "rows_counted")
    check_eq(t["reader"], {"version": 1, "framing": "envelope",
                           "raw_writer": "auto",
                           "schema": {"source": "builtin", "path": None,
                                      "fingerprint": t["reader"]["schema"][
                                          "fingerprint"]},
                           "runtime": {"name": "protobuf-c",
                                       "allow_partial": False,
                                       "discard_unknown": False,
                                       "recursion_limit": None,
                                       "extension_registry": None}},
          "reader")
    check_eq(t["undetermined"]["total"], 0, "nothing undetermined")
    check_eq(t["findings"], want["misread"] + want["unreadable"]
             + want["corrupt"], "findings")
    # Every key of every non-ok verdict, and no other, in scan order.
    for verdict in VERDICTS[1:]:
        keys = [s["key"] for s in t["samples"][verdict]]
        want_keys = [k for k, kind in by_key.items()
                     if EXPECTED[kind]["envelope"] == verdict]
        check_eq(keys, want_keys, "sample keys of " + verdict)
        for s in t["samples"][verdict]:
            check(s["reasons"], "a %s sample without reasons" % verdict, s)
            check_eq(s["reasons"][0]["verdict"], verdict,
                     "worst reason of key %s" % s["key"])
    # Writers: legacy rows carry no flag; all version-2 rows are
    # checkout_v2=on; corrupt rows have no known writer.
    writers = {(w["version"], w["flag"], w["variant"]): w for w in t["writers"]}
    check_eq(writers[(1, None, None)]["rows"], COUNTS["v1"], "v1 writer rows")
    n2 = sum(n for k, n in COUNTS.items() if k.startswith("v2"))
    check_eq(writers[(2, "checkout_v2", "on")]["rows"], n2, "v2 writer rows")
    check_eq(writers[(None, None, None)]["rows"], COUNTS["corrupt"],
             "corrupt rows")
    check_eq(err, "", "stderr (not a terminal: no progress)")


def test_known_mix_raw_reader(r):
    recs = Records()
    rows, by_key = mix(recs, COUNTS, seed=2)
    db = make_db(os.path.join(r.work, "mix.db"), rows)
    # Default framing for version 1 is raw: the old code is plain protobuf.
    doc, _ = r.scan_json(1, *target_args(db))
    check_eq(doc["targets"][0]["reader"]["framing"], "raw", "default framing")
    check_eq(doc["totals"]["verdicts"], expected_counts(by_key, "raw"),
             "totals.verdicts")
    # --samples 3 keeps the first three keys of each verdict.
    unread = [k for k, kind in by_key.items()
              if EXPECTED[kind]["raw"] == "unreadable"]
    check_eq([s["key"] for s in doc["targets"][0]["samples"]["unreadable"]],
             unread[:10], "default samples (10)")
    doc, _ = r.scan_json(1, *target_args(db), "--samples", "3")
    check_eq([s["key"] for s in doc["targets"][0]["samples"]["unreadable"]],
             unread[:3], "--samples 3")


def test_clean_table_exits_0(r):
    recs = Records()
    rows = [(i, recs.v1(i)) for i in range(1, 301)] + [(301, None)]
    db = make_db(os.path.join(r.work, "clean.db"), rows)
    doc, _ = r.scan_json(0, *target_args(db))
    check_eq(doc["totals"]["verdicts"]["ok"], 300, "ok")
    check_eq(doc["targets"][0]["rows_null"], 1, "NULL rows")
    check_eq(doc["totals"]["findings"], 0, "findings")
    # ignored_fields alone is clean too: the reader reads those records.
    rows = [(i, recs.v2("v2_gift", i)) for i in range(1, 11)]
    db = make_db(os.path.join(r.work, "gift.db"), rows)
    doc, _ = r.scan_json(0, *target_args(db), "--reader-framing", "envelope")
    check_eq(doc["totals"]["verdicts"]["ignored_fields"], 10, "ignored")
    # The text report says so too.
    out, _ = r.expect(0, "scan", *target_args(db), "--reader-framing",
                      "envelope")
    check("clean" in out, "text report of a clean scan says clean", out)


def test_flag_filter(r):
    recs = Records()
    rows, want = [], {}
    plan = [("checkout_v2", "on", "v2_awaiting", 20),
            ("checkout_v2", "b", "v2_guest", 7),
            ("other_flag", "on", "v2_gift", 11)]
    n = 1
    for i in range(50):
        rows.append((n, recs.v1(n)))
        n += 1
    for flag, variant, kind, count in plan:
        for i in range(count):
            rows.append((n, recs.v2(kind, n, flag=flag, variant=variant)))
            n += 1
    db = make_db(os.path.join(r.work, "flags.db"), rows)
    args = target_args(db) + ["--reader-framing", "envelope"]

    # The 50 legacy raw rows carry no provenance: no filter can tell who
    # wrote them, so they are judged and counted as unattributed, never
    # left out.
    doc, _ = r.scan_json(1, *args, "--flag", "checkout_v2")
    check_eq(doc["filters"]["flag"], "checkout_v2", "filters.flag")
    check_eq(doc["totals"]["rows_counted"], 77, "counted for checkout_v2")
    check_eq(doc["totals"]["rows_skipped"], 11, "skipped for checkout_v2")
    check_eq(doc["totals"]["verdicts"]["misread"], 20, "misread")
    check_eq(doc["totals"]["verdicts"]["unreadable"], 7, "unreadable")
    check_eq(doc["totals"]["verdicts"]["ok"], 50, "legacy rows judged")
    check_eq(doc["totals"]["unattributed"], {"total": 50, "findings": 0},
             "legacy rows unattributed")

    doc, _ = r.scan_json(1, *args, "--flag", "checkout_v2=b")
    check_eq(doc["totals"]["rows_counted"], 57, "counted for checkout_v2=b")
    check_eq(doc["totals"]["verdicts"]["unreadable"], 7, "unreadable (b)")

    doc, _ = r.scan_json(0, *args, "--flag", "other_flag")
    check_eq(doc["totals"]["verdicts"]["ignored_fields"], 11, "other_flag")

    # Only the unattributed rows are verified: they are read correctly.
    doc, _ = r.scan_json(0, *args, "--flag", "never_seen")
    check_eq(doc["totals"]["rows_counted"], 50, "unknown flag: legacy rows")
    check_eq(doc["totals"]["unattributed"]["total"], 50, "unattributed")
    check_eq(doc["nothing_verified"], False, "nothing_verified")

    r.expect(2, "scan", *args, "--flag", "=x")
    r.expect(2, "scan", *args, "--flag", "checkout_v2=")


def test_written_after_and_write_times(r):
    recs = Records()
    rows = []
    # 40 writes one minute apart from T0; the flag was killed at T0+30min,
    # yet three writes came later: an instance still has it on.
    for i in range(1, 41):
        rows.append((i, recs.v2("v2_awaiting", i,
                                write_time_us=T0 + (i - 1) * 60_000_000)))
    rows.append((41, recs.v1(41)))
    db = make_db(os.path.join(r.work, "times.db"), rows)
    args = target_args(db) + ["--reader-framing", "envelope"]

    doc, _ = r.scan_json(1, *args)
    flags = doc["targets"][0]["flags"]
    check_eq(len(flags), 1, "one flag seen")
    check_eq(flags[0]["flag"], "checkout_v2", "flag")
    check_eq(flags[0]["first_write"], "2026-01-15T10:30:00.000000Z",
             "first write")
    check_eq(flags[0]["last_write"], "2026-01-15T11:09:00.000000Z",
             "last write")
    check_eq(doc["totals"]["flags"][0]["rows"], 40, "totals.flags rows")

    # Strictly after 10:59:00: the writes of 11:00 .. 11:09 (10 rows).
    # Row 41 is a raw record: no write time, so counted as unattributed.
    doc, _ = r.scan_json(1, *args, "--written-after", "2026-01-15T10:59:00Z")
    check_eq(doc["totals"]["rows_counted"], 11, "rows after 10:59Z")
    check_eq(doc["totals"]["unattributed"]["total"], 1, "raw row")
    check_eq(doc["filters"]["written_after"], "2026-01-15T10:59:00.000000Z",
             "filters.written_after")
    # The same instant with an offset, and as Unix seconds.
    doc, _ = r.scan_json(1, *args, "--written-after",
                         "2026-01-15T11:59:00+01:00")
    check_eq(doc["totals"]["rows_counted"], 11, "rows after 11:59+01:00")
    doc, _ = r.scan_json(1, *args, "--written-after",
                         "@%d" % ((T0 // 1000000) + 29 * 60))
    check_eq(doc["totals"]["rows_counted"], 11, "rows after @unix")
    doc, _ = r.scan_json(0, *args, "--written-after", "2026-01-16")
    check_eq(doc["totals"]["rows_counted"], 1, "only the raw row after the 16th")
    check_eq(doc["totals"]["rows_skipped"], 40, "envelopes before the 16th")
    for bad in ("2026-01-15T10:59:00", "yesterday", "2026-13-01", "@x"):
        _, err = r.expect(2, "scan", *args, "--written-after", bad)
        check("--written-after" in err, "error names the option", err)
    # Dates the calendar does not have are refused, not rolled over into
    # the next month (2026-02-30 is no March 2); a leap day is a date.
    for bad in ("2026-02-30", "2026-02-29T00:00:00Z", "2025-04-31",
                "1900-02-29"):
        _, err = r.expect(2, "scan", *args, "--written-after", bad)
        check("not a date in the calendar" in err and bad[:10] in err,
              "error names the date", err)
    doc, _ = r.scan_json(0, *args, "--written-after", "2028-02-29")
    check_eq(doc["totals"]["rows_counted"], 1, "only the raw row, 2028")


def unattributed_rows(recs):
    """Rows of every provenance: attributed to checkout_v2 (two misread),
    to another flag, and none at all (raw records, an envelope without
    provenance), findings among the last."""
    rows = []
    for n in range(1, 11):                  # raw, read correctly
        rows.append((n, recs.v1(n)))
    for n in range(11, 14):                 # raw, no version decodes them
        rows.append((n, recs.corrupt(n)))
    for n in range(14, 16):                 # checkout_v2, misread
        rows.append((n, recs.v2("v2_awaiting", n,
                                write_time_us=T0 + 3600_000_000)))
    for n in range(16, 20):                 # another flag: left out
        rows.append((n, recs.v2("v2_guest", n, flag="other_flag",
                                write_time_us=T0 + 3600_000_000)))
    rows.append((20, recs.envelope(20, provenance=False)))
    return rows


def test_filters_count_unattributed_records(r):
    # --flag and --written-after cannot attribute a record without
    # provenance: it is judged and counted, as unattributed, and a finding
    # among them is a finding (before, a filter left the corrupt raw rows
    # out and the scan looked clean).
    recs = Records()
    db = make_db(os.path.join(r.work, "unattributed.db"),
                 unattributed_rows(recs))
    metrics = os.path.join(r.work, "unattributed.prom")
    for filters in (["--flag", "checkout_v2"],
                    ["--written-after", "2026-01-15T11:00:00Z"],
                    ["--flag", "checkout_v2", "--written-after",
                     "2026-01-15T11:00:00Z"]):
        args = target_args(db) + ["--reader-framing", "envelope"] + filters
        doc, _ = r.scan_json(1, *args, "--metrics", metrics)
        t = doc["targets"][0]
        # written-after keeps the other flag's rows (written at 11:30).
        other = 4 if "--flag" not in filters else 0
        check_eq(t["unattributed"], {"total": 14, "findings": 3},
                 "unattributed %s" % filters)
        check_eq(doc["totals"]["unattributed"], t["unattributed"], "totals")
        check_eq(t["rows_skipped"], 4 - other, "left out %s" % filters)
        check_eq(t["rows_counted"], 16 + other, "counted %s" % filters)
        check_eq(t["verdicts"]["corrupt"], 3, "corrupt raw rows judged")
        check_eq(t["verdicts"]["misread"], 2, "checkout_v2's rows")
        check_eq(t["verdicts"]["ok"], 11, "raw and provenance-less rows")
        with open(metrics) as f:
            prom = f.read()
        check('rollsafe_scan_unattributed_records{target="orders"} 14' in prom,
              "unattributed metric", prom)
        out, _ = r.expect(1, "scan", *args)
        check("unattributed 14" in out, "text report", out)
    # The same rows without the corrupt ones and the flag's: the filter
    # selects nothing of its own, yet every record it cannot attribute was
    # checked and is read correctly.
    rows = [row for row in unattributed_rows(recs)
            if row[0] <= 10 or row[0] >= 16]
    db = make_db(os.path.join(r.work, "unattributed_ok.db"), rows)
    doc, _ = r.scan_json(0, *target_args(db), "--reader-framing", "envelope",
                         "--flag", "checkout_v2")
    check_eq(doc["totals"]["unattributed"]["total"], 11, "unattributed")
    check_eq(doc["nothing_verified"], False, "nothing_verified")


def test_nothing_verified_exits_4(r):
    # Filters that leave every record out, or a selection that is empty,
    # verified nothing: inconclusive (exit 4), never clean.
    recs = Records()
    rows = [(n, recs.v2("v2_gift", n, flag="other_flag",
                        write_time_us=T0 + n)) for n in range(1, 9)]
    db = make_db(os.path.join(r.work, "left_out.db"), rows)
    args = target_args(db) + ["--reader-framing", "envelope"]
    doc, _ = r.scan_json(0, *args)
    check_eq(doc["nothing_verified"], False, "no filter")
    metrics = os.path.join(r.work, "left_out.prom")
    for filters, skipped in ((["--flag", "checkout_v2"], 8),
                             (["--written-after", "2026-01-16"], 8),
                             (["--flag", "other_flag=nope"], 8)):
        doc, err = r.scan_json(4, *args, *filters, "--metrics", metrics)
        check_eq(doc["nothing_verified"], True, "nothing_verified %s" % filters)
        check_eq(doc["targets"][0]["nothing_verified"], True, "per target")
        check_eq(doc["totals"]["rows_skipped"], skipped, "left out")
        check_eq(doc["exit_code"], 4, "exit_code")
        check(doc["reason"] and "nothing verified" in doc["reason"],
              "reason in JSON", doc["reason"])
        check("nothing verified" in err, "reason on stderr", err)
        with open(metrics) as f:
            prom = f.read()
        check("rollsafe_scan_exit_code 4" in prom, "exit code metric", prom)
        out, _ = r.expect(4, "scan", *args, *filters)
        check("nothing verified" in out and "[exit 4]" in out, "text", out)
    # An empty selection with a filter: --where, or --flag on an empty
    # table.
    doc, _ = r.scan_json(4, *args, "--where", "id > 100")
    check_eq(doc["nothing_verified"], True, "empty --where selection")
    empty = make_db(os.path.join(r.work, "empty.db"), [])
    doc, _ = r.scan_json(4, *target_args(empty), "--flag", "checkout_v2")
    check_eq(doc["nothing_verified"], True, "empty table with --flag")
    # Without any filter an empty table is simply empty.
    doc, _ = r.scan_json(0, *target_args(empty))
    check_eq(doc["nothing_verified"], False, "empty table, no filter")


def test_unregistered_version_undetermined(r):
    # Envelopes naming format versions the registry (1 and 2) lacks: an
    # envelope-aware reader reads the payload, but what the writer meant
    # cannot be compared. Undetermined: not in the verdicts, never ok.
    recs = Records()
    rows = [(n, recs.v1(n)) for n in range(1, 6)]
    rows += [(6, recs.envelope(6, format_version=3)),
             (7, recs.envelope(7, format_version=3, flag="checkout_v3")),
             (8, recs.envelope(8, format_version=99, provenance=False))]
    db = make_db(os.path.join(r.work, "unregistered.db"), rows)
    args = target_args(db) + ["--reader-framing", "envelope"]
    metrics = os.path.join(r.work, "unregistered.prom")
    doc, err = r.scan_json(4, *args, "--metrics", metrics)
    t = doc["targets"][0]
    want = {"total": 3, "ambiguous_writer": 0, "unregistered_version": 3,
            "unmapped_schema_id": 0, "undecoded_groups": 0,
            "extension_fields": 0, "no_reader": 0}
    check_eq(t["undetermined"], want, "target undetermined")
    check_eq(doc["totals"]["undetermined"], want, "totals undetermined")
    check_eq(t["verdicts"], {"ok": 5, "ignored_fields": 0, "misread": 0,
                             "unreadable": 0, "corrupt": 0}, "verdicts")
    check_eq(t["rows_counted"], 5, "rows_counted")
    check_eq(t["reader"]["raw_writer"], "auto", "raw_writer setting")
    by_version = {}
    for w in t["writers"]:
        by_version.setdefault(w["version"], []).append(w)
    check_eq(sum(w["undetermined"]["unregistered_version"]
                 for w in by_version.get(3, [])), 2, "writer version 3")
    check_eq(sum(w["undetermined"]["unregistered_version"]
                 for w in by_version.get(99, [])), 1, "writer version 99")
    check_eq(sum(sum(w["verdicts"].values()) for w in by_version[3]), 0,
             "no verdict counted for version 3")
    samples = t["samples"]["undetermined"]
    check_eq(sorted(int(s["key"]) for s in samples), [6, 7, 8], "sample keys")
    for s in samples:
        check_eq(s["undetermined"], "unregistered_version", "sample reason")
        check(s["written_version"] in (3, 99), "sample version", s)
        check(s["reasons"], "sample reasons", s)
    check(doc["reason"] and "register" in doc["reason"], "reason",
          doc["reason"])
    check("register" in err and err.count("\n") == 1, "one line", err)
    with open(metrics) as f:
        prom = f.read()
    check('rollsafe_scan_undetermined_records{target="orders",'
          'reason="unregistered_version"} 3' in prom, "metric", prom)
    check('rollsafe_scan_records{target="orders",verdict="ok"} 5' in prom,
          "verdict metric without them", prom)
    out, _ = r.expect(4, "scan", *args)
    check("undetermined 3" in out and "unregistered version 3" in out and
          "[exit 4]" in out, "text report", out)
    # A finding elsewhere wins: exit 1.
    rows.append((9, recs.v2("v2_awaiting", 9)))
    db = make_db(os.path.join(r.work, "unregistered_misread.db"), rows)
    doc, _ = r.scan_json(1, *target_args(db), "--reader-framing", "envelope")
    check_eq(doc["totals"]["undetermined"]["total"], 3, "still undetermined")
    # --flag over them: the two with provenance are attributed (one left
    # out), the third has none: unattributed, and still undetermined.
    doc, _ = r.scan_json(4, *args, "--flag", "checkout_v2")
    check_eq(doc["totals"]["undetermined"]["total"], 2, "flag: undetermined")
    check_eq(doc["totals"]["unattributed"]["total"], 6, "flag: unattributed")
    check_eq(doc["totals"]["rows_skipped"], 1, "flag: left out")


def test_fix_leaves_undetermined_records(r):
    # fix never rewrites a record whose writer is unknown: counted as
    # undetermined, the row untouched, exit 4 with the hint.
    recs = Records()
    rows = [(1, recs.v1(1)), (2, recs.envelope(2, format_version=3)),
            (3, recs.v2("v2_gift", 3)), (4, recs.envelope(4, format_version=99))]
    db = make_db(os.path.join(r.work, "fix_undetermined.db"), rows)
    args = target_args(db) + ["--reader-framing", "envelope"]
    metrics = os.path.join(r.work, "fix.prom")
    out, err = r.expect(4, "fix", *args, "--format", "json", "--metrics",
                        metrics)
    doc = json.loads(out)
    t = doc["targets"][0]
    check_eq(t["outcomes"]["undetermined"], 2, "dry run undetermined")
    check_eq(doc["undetermined"], 2, "document undetermined")
    check_eq(sorted(s["key"] for s in t["samples"]["undetermined"]),
             ["2", "4"], "undetermined keys")
    check_eq(t["rewritten"], 0, "nothing to convert")
    check_eq(t["reader"]["raw_writer"], "auto", "raw_writer")
    check("--raw-writer" in doc["reason"], "hint in JSON", doc["reason"])
    check("--raw-writer" in err, "hint on stderr", err)
    with open(metrics) as f:
        prom = f.read()
    check('rollsafe_fix_records{target="orders",outcome="undetermined"} 2'
          in prom, "fix metric", prom)
    before = dict(sqlite3.connect(db).execute("SELECT id, payload FROM orders"))
    out, _ = r.expect(4, "fix", *args, "--execute", "--format", "json",
                      "--raw-writer", "1")
    doc = json.loads(out)
    t = doc["targets"][0]
    check_eq(t["remaining_undetermined"], 2, "after the fix")
    check_eq(t["reader"]["raw_writer"], 1, "raw_writer passed through")
    after = dict(sqlite3.connect(db).execute("SELECT id, payload FROM orders"))
    check_eq(after, before, "no row rewritten")
    out, _ = r.expect(4, "fix", *args)
    check("UNDETERMINED" in out and "--raw-writer" in out, "text", out)


def test_key_refusals_and_defaults(r):
    recs = Records()
    db = os.path.join(r.work, "keys.db")
    make_db(db, [(1, recs.v1(1))],
            schema="CREATE TABLE orders (id INTEGER PRIMARY KEY, payload BLOB)")
    c = sqlite3.connect(db)
    c.executescript("""
      CREATE TABLE nokey (ref TEXT, payload BLOB);
      INSERT INTO nokey VALUES ('a', x'0a0141');
      CREATE TABLE composite (a INT, b INT, payload BLOB, PRIMARY KEY (a, b));
      CREATE TABLE uniq (ref TEXT NOT NULL UNIQUE, payload BLOB);
      INSERT INTO uniq VALUES ('r1', NULL);
      CREATE TABLE uniq_nullable (ref TEXT UNIQUE, payload BLOB);
      CREATE TABLE partial (ref TEXT NOT NULL, payload BLOB);
      CREATE UNIQUE INDEX partial_ref ON partial (ref) WHERE ref > 'm';
    """)
    c.commit()
    c.close()
    # --key naming columns that are not a key is refused; a part of a
    # composite key alone is not one, nor is a partial unique index.
    for table, key in (("nokey", "ref"), ("composite", "a"),
                       ("partial", "ref"), ("orders", "payload")):
        _, err = r.expect(2, "scan", *target_args(db, table=table, key=key))
        check("neither the primary key" in err,
              "refusal of %s.%s names the reason" % (table, key), err)
    # Without --key: the primary key, whatever its columns; a table without
    # one is scanned with rows named by rowid, and the report says so.
    doc, _ = r.scan_json(1, *target_args(db, table="nokey", key=None))
    t = doc["targets"][0]
    check_eq(t["key"], "", "no key resolved")
    check("positions" in (t["key_note"] or ""), "position note", t)
    check_eq(t["rows_read"], 1, "the keyless table is read")
    samples = [s for v in t["samples"].values() for s in v]
    check_eq([(s["key"], s.get("key_is_position")) for s in samples],
             [("rowid 1", True)], "the row named by rowid")
    out, _ = r.expect(1, "scan", *target_args(db, table="nokey", key=None))
    check("positions are not identities" in out and "    rowid 1 " in out,
          "text report names the position and says what it is", out)
    _, err = r.expect(2, "fix", "--execute",
                      *target_args(db, table="nokey", key=None))
    check("has no primary key or unique column; fix needs one to name rows"
          in err and "'nokey'" in err, "fix refused with the reason", err)
    doc, _ = r.scan_json(0, *target_args(db, table="composite", key=None))
    check_eq(doc["targets"][0]["key"], "a,b", "composite primary key")
    check_eq(doc["targets"][0]["key_note"], None, "no position note")
    # A unique index on a column that may hold NULL names the other rows.
    doc, _ = r.scan_json(0, *target_args(db, table="uniq_nullable",
                                         key="ref"))
    check_eq(doc["targets"][0]["key"], "ref", "nullable unique key taken")
    doc, _ = r.scan_json(0, *target_args(db, table="uniq", key="ref"))
    check_eq(doc["targets"][0]["rows_null"], 1, "unique not-null key accepted")
    _, err = r.expect(2, "scan", *target_args(db, table="missing"))
    check("missing" in err, "missing table named", err)
    _, err = r.expect(2, "scan", *target_args(db, column="nope"))
    check("nope" in err, "missing column named", err)
    _, err = r.expect(2, "scan", *target_args(db, key="nope"))
    check("nope" in err, "missing key column named", err)
    doc, _ = r.scan_json(2, *target_args(db, table="nokey", key="ref"))
    check_eq(doc["complete"], False, "JSON of a refused target: complete")
    check_eq(doc["targets"][0]["status"], "error", "status")


def test_io_errors_exit_3(r):
    missing = os.path.join(r.work, "no-such.db")
    os.makedirs(r.work, exist_ok=True)
    _, err = r.expect(3, "scan", *target_args(missing))
    check("no-such.db" in err, "missing file named", err)
    notdb = os.path.join(r.work, "not-a-db.db")
    with open(notdb, "wb") as f:
        f.write(b"this is not a database" * 100)
    _, err = r.expect(3, "scan", *target_args(notdb))
    check("not-a-db.db" in err, "file named", err)
    doc, _ = r.scan_json(3, *target_args(missing))
    check_eq(doc["complete"], False, "complete")
    check(doc["targets"][0]["error"], "error in the document", doc)


def test_where_and_usage(r):
    recs = Records()
    rows = [(i, recs.v1(i) if i <= 50 else recs.v2("v2_guest", i))
            for i in range(1, 101)]
    db = make_db(os.path.join(r.work, "w.db"), rows)
    doc, _ = r.scan_json(0, *target_args(db), "--where", "id <= 50")
    check_eq(doc["totals"]["rows_read"], 50, "--where id <= 50")
    check_eq(doc["targets"][0]["where"], "id <= 50", "where in the report")
    _, err = r.expect(2, "scan", *target_args(db), "--where", "idd < 3")
    check("idd" in err, "bad --where names the problem", err)
    r.expect(2, "scan", *target_args(db), "--where", "1=1; DELETE FROM orders")
    c = sqlite3.connect(db)
    check_eq(c.execute("SELECT count(*) FROM orders").fetchone()[0], 100,
             "rows after a hostile --where")
    c.close()
    # Usage errors.
    r.expect(2, "scan")
    r.expect(2, "scan", "--sqlite", db, "--table", "orders")
    r.expect(2, "scan", *target_args(db), "--format", "xml")
    r.expect(2, "scan", *target_args(db), "--reader-version", "0")
    _, err = r.expect(2, "scan", *target_args(db), "--reader-version", "9")
    check("version 9" in err, "unknown reader version named", err)
    _, err = r.expect(2, "scan", "--sqlite", db, "--table", "orders", "--key",
                      "id", "--column", "payload", "--type", "shop.Nope")
    check("shop.Nope" in err and "shop.Order" in err,
          "unknown type named with the known ones", err)
    r.expect(2, "scan", "-c", "x.yaml", "--sqlite", db)
    # A dotted name whose schema is no attached database is the operator's
    # name (exit 2), not an I/O error; an attached schema reads.
    _, err = r.expect(2, "scan", "--sqlite", db, "--table", "a.b", "--key",
                      "id", "--column", "payload", "--type", "shop.Order")
    check("no database 'a' is attached" in err, "names the schema", err)
    r.expect(1, "scan", "--sqlite", db, "--table", "main.orders", "--key",
             "id", "--column", "payload", "--type", "shop.Order")
    r.expect(2, "fix", "--sqlite", db, "--table", "a.b", "--key", "id",
             "--column", "payload", "--type", "shop.Order", "--execute")
    out, _ = r.expect(0, "scan", "--help")
    check("--written-after" in out and "Exit status" in out, "help", out)


def test_outputs_file_and_metrics(r):
    recs = Records()
    rows, by_key = mix(recs, {"v1": 40, "v2_awaiting": 5, "corrupt": 2}, seed=3)
    db = make_db(os.path.join(r.work, "m.db"), rows)
    report = os.path.join(r.work, "report.json")
    metrics = os.path.join(r.work, "scan.prom")
    out, _ = r.expect(1, "scan", *target_args(db), "--reader-framing",
                      "envelope", "--format", "json", "-o", report,
                      "--metrics", metrics, "--name", "orders-main")
    check_eq(out, "", "stdout with -o")
    with open(report) as f:
        doc = json.load(f)
    check_eq(doc["targets"][0]["name"], "orders-main", "--name")
    samples = {}
    with open(metrics) as f:
        lines = f.read().splitlines()
    check_eq(lines[-1], "# EOF", "OpenMetrics ends with # EOF")
    for line in lines:
        if line.startswith("#"):
            continue
        name_labels, value = line.rsplit(" ", 1)
        samples[name_labels] = float(value)
    for v in VERDICTS:
        key = 'rollsafe_scan_records{target="orders-main",verdict="%s"}' % v
        check(key in samples, "metric " + key, lines)
        check_eq(samples[key], doc["totals"]["verdicts"][v], key)
    check_eq(samples['rollsafe_scan_complete{target="orders-main"}'], 1,
             "complete metric")
    check_eq(samples["rollsafe_scan_exit_code"], 1, "exit code metric")
    check('rollsafe_scan_duration_seconds{target="orders-main"}' in samples,
          "duration metric", lines)
    check(any(k.startswith("rollsafe_scan_flag_last_write_timestamp_seconds")
              for k in samples), "last write metric", lines)
    # Text to a file.
    text = os.path.join(r.work, "report.txt")
    r.expect(1, "scan", *target_args(db), "-o", text)
    with open(text) as f:
        body = f.read()
    check("exit 1" in body and "orders" in body, "text report file", body)
    # An unwritable report path is an I/O error.
    r.expect(3, "scan", *target_args(db), "-o",
             os.path.join(r.work, "no-dir", "r.json"))


def test_config_file(r):
    recs = Records()
    rows, by_key = mix(recs, COUNTS, seed=4)
    make_db(os.path.join(r.work, "a.db"), rows)
    make_db(os.path.join(r.work, "b.db"), [(i, recs.v1(i)) for i in range(1, 21)],
            table="archive")
    cfg = os.path.join(r.work, "rollsafe.yaml")
    with open(cfg, "w") as f:
        f.write("""feature: checkout_v2
reader_version: 1
reader_framing: envelope
targets:
  - name: orders
    kind: sqlite-table
    connection: a.db
    table: orders
    key: id
    column: payload
    type: shop.Order
  - name: archive
    kind: sqlite-table
    connection: b.db
    table: archive
    key: id
    column: payload
    type: shop.Order
""")
    # From another directory: relative paths are the config file's.
    doc, _ = r.scan_json(1, "-c", cfg)
    check_eq(doc["feature"], "checkout_v2", "feature")
    check_eq([t["name"] for t in doc["targets"]], ["orders", "archive"],
             "targets")
    check_eq(doc["targets"][0]["verdicts"], expected_counts(by_key, "envelope"),
             "orders verdicts")
    check_eq(doc["targets"][1]["verdicts"]["ok"], 20, "archive ok")
    check_eq(doc["totals"]["rows_read"], len(rows) + 20, "totals.rows_read")
    # The command line's reader overrides the file's.
    doc, _ = r.scan_json(1, "-c", cfg, "--reader-framing", "raw")
    check_eq(doc["targets"][0]["reader"]["framing"], "raw", "override")
    # A config error points at the line.
    bad = os.path.join(r.work, "bad.yaml")
    with open(bad, "w") as f:
        f.write("feature: x\ntargets:\n  - name: a\n    tabel: orders\n")
    _, err = r.expect(2, "scan", "-c", bad)
    check("bad.yaml:4:5" in err, "config error with line and column", err)
    r.expect(3, "scan", "-c", os.path.join(r.work, "missing.yaml"))


def _slow_where():
    # Makes each row cost a little so that the scan is surely running when
    # the signal comes; it does not change which rows are read.
    return "length(randomblob(20000)) > 0"


def test_interrupt_writes_partial_report(r):
    recs = Records()
    v1 = recs.v1(1)
    db = os.path.join(r.work, "big.db")
    make_db(db, [])
    c = sqlite3.connect(db)
    c.execute("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
              "WHERE i < 400000) INSERT INTO orders SELECT i, ? FROM n", (v1,))
    c.commit()
    c.close()
    report = os.path.join(r.work, "partial.json")
    # stderr on a pseudo-terminal: progress is drawn there, and its first
    # line tells that rows are being read.
    master, slave = pty.openpty()
    p = subprocess.Popen([r.rollsafe, "scan", *target_args(db), "--where",
                          _slow_where(), "--format", "json", "-o", report],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=slave)
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 120
    while b"of about" not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 1.0)
        if ready:
            try:
                seen += os.read(master, 4096)
            except OSError:
                break
        if p.poll() is not None:
            break
    check(b"rows/s" in seen, "progress on a terminal", seen[-500:])
    check(b"of about 400,000" in seen, "estimated total in the progress",
          seen[-500:])
    p.send_signal(signal.SIGINT)
    _, _ = p.communicate(timeout=120)
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 0.2)
            if not ready:
                break
            chunk = os.read(master, 4096)
            if not chunk:
                break
            seen += chunk
    except OSError:
        pass
    os.close(master)
    check_eq(p.returncode, 4, "exit code after Ctrl-C")
    with open(report) as f:
        doc = json.load(f)
    check_eq(doc["complete"], False, "complete")
    check_eq(doc["interrupted"], True, "interrupted")
    t = doc["targets"][0]
    check_eq(t["status"], "interrupted", "target status")
    check(0 < t["rows_read"] < 400000, "partial row count", t["rows_read"])
    check_eq(t["verdicts"]["ok"], t["rows_read"], "rows read so far counted")
    check(b"interrupted" in seen, "the interruption is said on stderr", seen)


def test_wal_writer_not_blocked(r):
    recs = Records()
    db = os.path.join(r.work, "wal.db")
    make_db(db, [], wal=True)
    c = sqlite3.connect(db)
    c.execute("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
              "WHERE i < 100000) INSERT INTO orders SELECT i, ? FROM n",
              (recs.v1(1),))
    c.commit()
    # A writer holds an open write transaction while the scan starts...
    w = sqlite3.connect(db, timeout=0, isolation_level=None)
    w.execute("BEGIN IMMEDIATE")
    w.execute("INSERT INTO orders VALUES (100001, ?)", (recs.v1(2),))
    report = os.path.join(r.work, "wal.json")
    p = subprocess.Popen([r.rollsafe, "scan", *target_args(db), "--where",
                          _slow_where(), "--format", "json", "-o", report],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # ...and keeps writing and committing while it runs, with no busy
    # timeout: any lock the scan took would fail these at once.
    commits = 0
    for i in range(20):
        if p.poll() is not None:
            break
        w.execute("COMMIT")
        commits += 1
        w.execute("BEGIN IMMEDIATE")
        w.execute("INSERT INTO orders VALUES (?, ?)", (100002 + i,
                                                       recs.v1(3)))
        time.sleep(0.05)
    running_during_writes = p.poll() is None
    w.execute("COMMIT")
    w.close()
    out, err = p.communicate(timeout=300)
    check_eq(p.returncode, 0, "scan exit code (stderr: %s)" % err.decode())
    check(commits > 0 and running_during_writes,
          "the writer committed while the scan ran", commits)
    with open(report) as f:
        doc = json.load(f)
    # The scan reads one snapshot: the rows committed before it started.
    check(100000 <= doc["totals"]["rows_read"] <= 100001 + commits,
          "rows read from a snapshot", doc["totals"]["rows_read"])
    check_eq(doc["complete"], True, "complete")


def test_interrupt_while_a_statement_runs(r):
    # One sqlite3_step that would run for a very long time (no row matches,
    # every row costs a 2 MB random blob): Ctrl-C must stop it inside the
    # call (sqlite3_interrupt from the handler), not after it.
    recs = Records()
    db = os.path.join(r.work, "slow.db")
    make_db(db, [])
    c = sqlite3.connect(db)
    c.execute("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
              "WHERE i < 100000) INSERT INTO orders SELECT i, ? FROM n",
              (recs.v1(1),))
    c.commit()
    c.close()
    report = os.path.join(r.work, "r.json")
    metrics = os.path.join(r.work, "m.prom")
    p = subprocess.Popen([r.rollsafe, "scan", *target_args(db), "--where",
                          "length(randomblob(2000000)) < 0", "--format",
                          "json", "-o", report, "--metrics", metrics],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(1.0)  # not a limit: lets the statement start
    check(p.poll() is None, "the scan is still running when signalled")
    p.send_signal(signal.SIGINT)
    try:
        _, err = p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        raise Failure("SIGINT did not stop a running statement")
    check_eq(p.returncode, 4, "exit code (stderr: %s)" % err.decode())
    with open(report) as f:
        doc = json.load(f)
    check_eq(doc["complete"], False, "complete")
    check_eq(doc["targets"][0]["status"], "interrupted", "status")
    with open(metrics) as f:
        check("rollsafe_scan_exit_code 4" in f.read(), "metrics exit code")


def test_outputs_rewritten_when_a_run_fails(r):
    # A file a pipeline reads must never keep an older run's "clean".
    recs = Records()
    db = make_db(os.path.join(r.work, "ok.db"), [(1, recs.v1(1))])
    report = os.path.join(r.work, "r.json")
    metrics = os.path.join(r.work, "m.prom")
    r.expect(0, "scan", *target_args(db), "--format", "json", "-o", report,
             "--metrics", metrics)
    missing = os.path.join(r.work, "missing.db")
    r.expect(3, "scan", *target_args(missing), "-o", report, "--format",
             "json", "--metrics", metrics)
    with open(report) as f:
        doc = json.load(f)
    check_eq((doc["exit_code"], doc["complete"]), (3, False), "report")
    check_eq(doc["targets"][0]["estimated_rows"], None,
             "estimate of a target never opened")
    with open(metrics) as f:
        body = f.read()
    check("rollsafe_scan_exit_code 3" in body, "metrics rewritten", body)
    # Usage errors found before any target is opened rewrite them too.
    r.expect(2, "scan", *target_args(db), "--reader-version", "7", "-o",
             report, "--format", "json", "--metrics", metrics)
    with open(report) as f:
        doc = json.load(f)
    check_eq((doc["exit_code"], doc["complete"]), (2, False), "usage report")
    bad = os.path.join(r.work, "bad.yaml")
    with open(bad, "w") as f:
        f.write("targets: 3\n")
    r.expect(2, "scan", "-c", bad, "--metrics", metrics)
    with open(metrics) as f:
        body = f.read()
    check("rollsafe_scan_exit_code 2" in body, "config error metrics", body)


def test_odd_provenance_strings_and_many_flags(r):
    # Provenance comes from the data: invalid UTF-8 and control characters
    # must neither drop entries from the JSON nor break the metrics, and
    # every flag is reported however many there are.
    recs = Records()
    rows = [(1, recs.v2("v2_awaiting", 1, flag="\udcffheckout\x1b[31m",
                        variant="on"))] if False else []
    raw = recs.v2("v2_awaiting", 1, flag="Xheckout_v2")
    rows.append((1, raw.replace(b"Xheckout_v2", b"\xffheckout\x1b[2")))
    for i in range(70):
        rows.append((i + 2, recs.v2("v2_guest", i + 2, flag="flag_%03d" % i,
                                    write_time_us=T0 + i)))
    db = make_db(os.path.join(r.work, "odd.db"), rows)
    metrics = os.path.join(r.work, "m.prom")
    doc, _ = r.scan_json(1, *target_args(db), "--reader-framing", "envelope",
                         "--metrics", metrics, "--samples", "100")
    t = doc["targets"][0]
    check_eq(t["rows_counted"], 71, "rows counted")
    check_eq(sum(w["rows"] for w in t["writers"]), 71, "writers' rows")
    check_eq(len(doc["totals"]["flags"]), 71, "every flag in totals.flags")
    check_eq(len(t["samples"]["misread"]), 1, "the odd record's sample")
    check("\ufffd" not in t["samples"]["misread"][0]["flag"]
          and "heckout" in t["samples"]["misread"][0]["flag"],
          "flag shown cleaned", t["samples"]["misread"][0]["flag"])
    with open(metrics) as f:
        body = f.read()
    body.encode("utf-8")
    check("\x1b" not in body, "no escape sequence in the metrics")
    n = sum(1 for line in body.splitlines() if line.startswith(
        "rollsafe_scan_flag_last_write_timestamp_seconds{"))
    check_eq(n, 71, "last-write samples")
    out, _ = r.expect(1, "scan", *target_args(db), "--reader-framing",
                      "envelope")
    check("\x1b" not in out, "no escape sequence in the text report")


def test_secret_connection_from_environment_never_shown(r):
    cfg = os.path.join(r.work, "env.yaml")
    os.makedirs(r.work, exist_ok=True)
    with open(cfg, "w") as f:
        f.write("""targets:
  - name: orders
    kind: sqlite-table
    connection_env: RS_IT_DB
    table: orders
    key: id
    column: payload
    type: shop.Order
""")
    env = dict(os.environ,
               RS_IT_DB="postgresql://app:S3cr3tPw@db.internal/shop")
    out, err = r.expect(3, "scan", "-c", cfg, "--format", "json", env=env)
    check("S3cr3tPw" not in out + err, "the value is not shown", out, err)
    check("$RS_IT_DB" in err, "the variable is named", err)


# A writer that leaves its -wal and -shm files behind: it commits rows the
# database file does not hold yet, and exits without the checkpoint a
# clean close would run.
_LEAVE_WAL = """
import os, sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("PRAGMA wal_autocheckpoint = 0")
rows = [(int(k), bytes.fromhex(v)) for k, v in
        (a.split(":") for a in sys.argv[2:])]
db.executemany("INSERT INTO orders VALUES (?, ?)", rows)
os._exit(0)
"""


def as_other_user(argv):
    """@argv run as a user who cannot write what root made read-only
    (nobody): permissions do not stop root."""
    if os.getuid() != 0:
        return argv
    return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
            *argv]


def test_read_only_wal_database(r):
    """A WAL database in a directory no one may write: read exactly, or
    refused with the reason; never a crash, never half an answer. With its
    -shm file present SQLite reads it, -wal included; with no -wal (or an
    empty one) and no -shm it is read as immutable, and the report says
    so; with committed frames in a -wal that SQLite cannot index (no -shm,
    none can be made) it is refused, exit 3, naming the -wal file and what
    to do, since reading the database file alone would miss them."""
    recs = Records()
    in_file, by_key = mix(recs, {"v1": 20, "v2_plain": 10, "v2_guest": 5})
    in_wal = [(k + 100, recs.make("v2_gift" if k % 2 else "v1", k + 100))
              for k in range(1, 16)]
    all_kinds = dict(by_key)
    all_kinds.update({str(k): "v2_gift" if (k - 100) % 2 else "v1"
                      for k, _ in in_wal})
    want = expected_counts(all_kinds, "raw")
    check_eq(sum(want.values()), 50, "records in file and log")

    # The user the scan runs as must reach the files and the binary:
    # both go to a directory of their own under the system's temporary
    # directory, which every user may traverse.
    import shutil
    import tempfile
    base = tempfile.mkdtemp(prefix="rs-readonly-")
    os.chmod(base, 0o755)
    rollsafe = os.path.join(base, "rollsafe")
    shutil.copy(r.rollsafe, rollsafe)
    os.chmod(rollsafe, 0o755)

    def make(name, leave_wal, keep_shm):
        d = os.path.join(base, name)
        os.makedirs(d)
        path = make_db(os.path.join(d, "orders.db"), in_file, wal=True)
        if leave_wal:
            subprocess.run([sys.executable, "-c", _LEAVE_WAL, path,
                            *("%d:%s" % (k, v.hex()) for k, v in in_wal)],
                           check=True)
            check(os.path.getsize(path + "-wal") > 0, "frames in the -wal")
            if not keep_shm:
                os.unlink(path + "-shm")
        for f in os.listdir(d):
            os.chmod(os.path.join(d, f), 0o444)
        os.chmod(d, 0o555)
        return path

    def scan(code, path):
        p = subprocess.run(as_other_user(
            [rollsafe, "scan", "--format", "json", *target_args(path)]),
            capture_output=True, timeout=300)
        out, err = p.stdout.decode(), p.stderr.decode()
        check_eq(p.returncode, code, "scan of %s (stderr %s)" % (path, err))
        check("Sanitizer" not in err and "runtime error" not in err,
              "no sanitizer report", err)
        return json.loads(out), err

    try:
        read_only_cases(base, scan, make, in_file, in_wal, want)
    finally:
        for d in ("with_shm", "checkpointed", "no_shm"):
            d = os.path.join(base, d)
            if os.path.isdir(d):
                os.chmod(d, 0o755)  # writable again, to be removed
        shutil.rmtree(base)


def read_only_cases(base, scan, make, in_file, in_wal, want):
    # -wal and -shm left by a writer: SQLite reads both.
    path = make("with_shm", True, True)
    doc, _ = scan(1, path)
    check_eq(doc["totals"]["verdicts"], want, "verdicts, -wal included")
    # Checkpointed: no -wal, no -shm. Read as immutable, said so.
    everything = in_file + in_wal
    d = os.path.join(base, "checkpointed")
    os.makedirs(d)
    path = make_db(os.path.join(d, "orders.db"), everything, wal=True)
    check(not os.path.exists(path + "-wal"), "no -wal after a clean close")
    for f in os.listdir(d):
        os.chmod(os.path.join(d, f), 0o444)
    os.chmod(d, 0o555)
    doc, _ = scan(1, path)
    check_eq(doc["totals"]["verdicts"], want, "verdicts, read as immutable")
    check("immutable" in json.dumps(doc), "the report says immutable",
          json.dumps(doc)[:2000])
    # Frames in the -wal and no -shm: refused, with the reason.
    path = make("no_shm", True, False)
    doc, err = scan(3, path)
    for needle in ("-wal", "-shm", "read-only", "checkpoint", "copy"):
        check(needle in err, "the refusal says %r" % needle, err)
    check_eq(doc["complete"], False, "the refused scan is not complete")


def test_nullable_primary_key_accepted(r):
    # SQLite lets a rowid table's TEXT primary key hold NULL: the key is
    # taken, and a row whose key is NULL is named by its rowid.
    recs = Records()
    db = os.path.join(r.work, "nk.db")
    make_db(db, [("a", recs.v1(1)), (None, recs.make("v2_plain", 2))],
            schema="CREATE TABLE orders (id TEXT PRIMARY KEY, payload BLOB)")
    doc, _ = r.scan_json(1, *target_args(db), "--reader-framing", "raw")
    t = doc["targets"][0]
    check_eq(t["rows_read"], 2, "both rows read")
    keys = [(s["key"], s.get("key_is_position", False))
            for v in t["samples"].values() for s in v]
    check(("rowid 2", True) in keys, "the NULL-key row named by rowid", keys)
    db2 = os.path.join(r.work, "nk2.db")
    make_db(db2, [("a", recs.v1(1))],
            schema="CREATE TABLE orders (id TEXT PRIMARY KEY NOT NULL, "
            "payload BLOB)")
    r.scan_json(0, *target_args(db2))


TESTS = {name[len("test_"):]: fn for name, fn in globals().items()
         if name.startswith("test_") and callable(fn)}

if __name__ == "__main__":
    sys.exit(run_cases(TESTS))
