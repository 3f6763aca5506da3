#!/usr/bin/env python3
"""Every JSON document rollsafe prints matches its schema
(schema/json/<command>.schema.json, docs/reports.md), checked on real
outputs: the commands run on the demo database (a table, a queue and a dump
file), and the validator is shown to refuse documents with a member removed
or renamed, another format_version, or an unknown reason code.

Usage: test_report_schemas.py --rollsafe BIN --work DIR CASE
Each test_<case> is one ctest case, report_schemas.<case>. The PostgreSQL
and Kafka targets have their own: report_schemas_postgres.* and
report_schemas_kafka.*.
"""

import copy
import json
import os
import shutil
import sqlite3
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from schemacheck import (check_rejected, errors, validate,  # noqa: E402
                         validated)
from rsdata import check, check_eq, run_cases  # noqa: E402

ROOT = os.path.join(HERE, "..", "..")
V1 = os.path.join(ROOT, "schema", "shop", "v1", "order.proto")
V2 = os.path.join(ROOT, "schema", "shop", "v2", "order.proto")


def demo(r, name="demo", rows="600"):
    """A demo database and config in WORK/@name; the demo's report."""
    os.makedirs(r.work, exist_ok=True)
    path = os.path.join(r.work, name)
    out, _ = r.expect(0, "demo", "--format", "json", "--rows", rows, path)
    doc = validated(out, "demo")
    return path, doc


def json_of(r, code, *argv):
    out, _ = r.expect(code, *argv, "--format", "json")
    return validated(out, " ".join(argv[:1]))


def codes_of(doc):
    return {x["code"] for t in doc["targets"]
            for samples in t["samples"].values()
            for s in samples for x in s["reasons"]}


def test_scan(r):
    path, _ = demo(r)
    cfg = os.path.join(path, "rollsafe.yaml")
    doc = json_of(r, 1, "scan", "-c", cfg)
    check_eq(sorted(t["kind"] for t in doc["targets"]),
             ["sqlite-queue", "sqlite-table", "stream-file"], "target kinds")
    check(doc["format_version"] == 1, "format_version", doc["format_version"])
    codes = codes_of(doc)
    check({"wire-type-mismatch", "required-missing", "field-unknown",
           "enum-value-unknown"} <= codes, "reason codes of the demo", codes)
    check(all(w["framing"] in ("raw", "envelope")
              for t in doc["targets"] for w in t["writers"]),
          "writers' framing", doc["targets"][0]["writers"])
    # Other readers, a filter, one table given by flags, and the dump file.
    json_of(r, 1, "scan", "-c", cfg, "--reader-framing", "raw",
            "--reader-runtime", "cpp")
    json_of(r, 1, "scan", "-c", cfg, "--flag", "checkout_v2=on",
            "--samples", "50")
    db = os.path.join(path, "demo.db")
    json_of(r, 1, "scan", "--sqlite", db, "--table", "orders", "--key", "id",
            "--column", "payload", "--type", "shop.Order",
            "--reader-version", "1", "--reader-runtime", "go")
    json_of(r, 1, "scan", "--stream", os.path.join(path, "order-events.dump"),
            "--type", "shop.Order", "--reader-framing", "envelope")


def test_fix_restore_runs_purge(r):
    path, _ = demo(r)
    cfg = os.path.join(path, "rollsafe.yaml")
    dry = json_of(r, 1, "fix", "-c", cfg)
    check(dry["executed"] is False and dry["rewritten"] > 0, "a dry run",
          {k: dry[k] for k in ("executed", "rewritten")})
    for t in dry["targets"]:
        check_eq(t["rewritten"], t["outcomes"]["converted"] +
                 t["outcomes"]["lossy"], "%s: rewritten = converted + lossy"
                 % t["name"])
    done = json_of(r, 1, "fix", "-c", cfg, "--execute", "--allow-lossy")
    run = done["run_id"]
    runs = json_of(r, 0, "runs", "-c", cfg)
    check(run in [x["run_id"] for v in runs["targets"].values() for x in v],
          "runs lists the run", runs)
    json_of(r, 0, "restore", "-c", cfg, "--run", run)
    restored = json_of(r, 0, "restore", "-c", cfg, "--run", run, "--execute")
    check(restored["restored"] > 0, "restored", restored["restored"])
    json_of(r, 0, "runs", "-c", cfg)
    json_of(r, 0, "purge", "-c", cfg, "--run", run)
    json_of(r, 0, "purge", "-c", cfg, "--run", run, "--execute")
    empty = json_of(r, 0, "runs", "-c", cfg)
    check(all(v == [] for v in empty["targets"].values()), "no runs left",
          empty)


def test_diff(r):
    os.makedirs(r.work, exist_ok=True)
    doc = json_of(r, 1, "diff", V1, V2)
    check(doc["findings"], "findings", doc)
    json_of(r, 0, "diff", V1, V2, "--fail-on", "never", "--reader-runtime",
            "java")
    json_of(r, 0, "diff", V1, V1)


def test_inspect(r):
    path, _ = demo(r)
    db = sqlite3.connect(os.path.join(path, "demo.db"))
    rows = [p for (p,) in db.execute(
        "SELECT payload FROM orders ORDER BY id LIMIT 120")]
    db.close()
    rows += [b"", b"\xf7\x01\x05", b"\x00\x00\x00\x00\x01\x00\x08\x01",
             b"\x08\x96\x01\x12\x03abc"]
    readers = [["--reader-framing", "envelope"], ["--reader-framing", "raw"],
               ["--reader-framing", "envelope", "--reader-runtime", "cpp"],
               ["--reader-version", "2"], [],
               ["--reader-framing", "confluent", "--schema-id", "1=1"],
               ["--raw-writer", "2"]]
    seen = set()
    for i, rec in enumerate(rows):
        f = os.path.join(r.work, "rec.bin")
        with open(f, "wb") as out:
            out.write(rec)
        rc, out, err = r.run("inspect", *readers[i % len(readers)], f)
        check(rc in (0, 1, 4), "inspect exit %d" % rc, err)
        doc = validated(out, "inspect of record %d" % i)
        seen.add(doc["verdict"]["verdict"])
    check({"ok", "misread", "unreadable", "corrupt"} <= seen,
          "verdicts inspected", seen)


def test_validator_rejects_changed_documents(r):
    """The schemas bite: a member removed or renamed, another
    format_version, an unknown reason code or verdict."""
    path, demo_doc = demo(r, rows="300")
    cfg = os.path.join(path, "rollsafe.yaml")
    scan = json_of(r, 1, "scan", "-c", cfg)
    t = next(i for i, x in enumerate(scan["targets"])
             if x["kind"] == "sqlite-table")
    tgt = scan["targets"][t]
    misread = ["targets", t, "samples", "misread", 0, "reasons", 0]
    check(tgt["samples"]["misread"], "a misread sample", tgt["samples"])
    for p in (["format_version"], ["command"], ["totals", "verdicts", "ok"],
              ["targets", t, "reader", "framing"],
              ["targets", t, "writers", 0, "framing"],
              ["targets", t, "key_note"],
              misread + ["code"], misread + ["text"]):
        check_rejected(scan, p, "scan")
    for change in (("format_version", 2), ("code", "no-such-code"),
                   ("verdict", "fine")):
        bad = copy.deepcopy(scan)
        if change[0] == "format_version":
            bad["format_version"] = change[1]
        else:
            node = bad
            for p in misread:
                node = node[p]
            node[change[0]] = change[1]
        check(errors(bad), "scan with %s %r accepted" % change)
    fix = json_of(r, 1, "fix", "-c", cfg)
    for p in (["rewritten"], ["targets", 0, "rewritten"],
              ["targets", 0, "outcomes", "converted"],
              ["targets", 0, "reader"]):
        check_rejected(fix, p, "fix")
    old = copy.deepcopy(fix)
    old["converted"] = old.pop("rewritten")
    check(errors(old), "fix with the old name 'converted' accepted")
    runs = json_of(r, 0, "runs", "-c", cfg)
    check_rejected(runs, ["targets"], "runs")
    diff = json_of(r, 1, "diff", V1, V2)
    check_rejected(diff, ["findings", 0, "rule"], "diff")
    check_rejected(demo_doc, ["rows"], "demo")
    db = sqlite3.connect(os.path.join(path, "demo.db"))
    key = tgt["samples"]["misread"][0]["key"]
    (rec,) = db.execute("SELECT payload FROM orders WHERE id = ?",
                        (int(key),)).fetchone()
    db.close()
    f = os.path.join(r.work, "rec.bin")
    with open(f, "wb") as o:
        o.write(rec)
    rc, out, _ = r.run("inspect", "--reader-framing", "envelope", f)
    insp = validated(out, "inspect")
    for p in (["framing"], ["verdict", "reasons", 0, "code"],
              ["verdict", "reader_runtime", "name"]):
        check_rejected(insp, p, "inspect")
    old = copy.deepcopy(insp)
    old["encoding"] = old.pop("framing")
    check(errors(old), "inspect with the old name 'encoding' accepted")


if __name__ == "__main__":
    sys.exit(run_cases({n[5:]: f for n, f in sorted(globals().items())
                        if n.startswith("test_") and callable(f)}))
