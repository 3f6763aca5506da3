#!/usr/bin/env python3
"""Memory limits: one hostile record never costs more than --max-alloc.

Usage: test_memory.py --rollsafe BIN --work DIR CASE

Each test_<case> below is one ctest case (tests/memory.cmake). The records
come from hostile.py: a few MB each of one field repeated, a million
unknown fields, a million unknown fields one level down, a long packed
run, a long string, a message merged 400,000 times and a scalar written a
million times, in a SQLite table between ordinary records; and records of a
recursive type (node/) nested 95 levels deep with a million children at the
bottom, and 1002 levels deep. rollsafe runs
under an address-space limit (RLIMIT_AS) and its peak resident set size is
taken from wait4(2).

Exit status: 0 passed, 1 failed.
"""

import argparse
import json
import os
import resource
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import hostile  # noqa: E402

MIB = 1 << 20
AS_LIMIT = 256 * MIB  # as `ulimit -v 262144`
SLACK = 64 * MIB      # what the process may take besides max_alloc
DEFAULT_MAX_ALLOC = 256 * MIB

# At --max-alloc 32M: the records whose judging needs more, and what the
# others are.
OVER_32M = ["h1_repeated_items", "h2_unknown_fields", "h3_nested_unknown",
            "h6_merged_messages", "h7_repeated_scalar"]
WITHIN_32M = {"h4_packed_run": "ignored_fields", "h5_huge_string": "ok"}
ORDINARY = ["a0_ordinary", "z0_ordinary", "z1_ordinary", "z2_ordinary"]


class Failure(Exception):
    pass


def check(cond, what, *context):
    if not cond:
        raise Failure(what + "".join("\n  " + str(c)[:2000] for c in context))


def run(argv, work, as_limit=None):
    """Runs argv; returns (exit code, stdout, stderr, peak RSS in bytes)."""
    out_path = os.path.join(work, "stdout")
    err_path = os.path.join(work, "stderr")

    def limit():
        if as_limit is not None:
            resource.setrlimit(resource.RLIMIT_AS, (as_limit, as_limit))

    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        p = subprocess.Popen(argv, stdout=out, stderr=err, preexec_fn=limit)
        _, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
    with open(out_path, "rb") as f:
        stdout = f.read().decode("utf-8", "replace")
    with open(err_path, "rb") as f:
        stderr = f.read().decode("utf-8", "replace")
    return p.returncode, stdout, stderr, usage.ru_maxrss * 1024


def scan(ctx, db, extra, as_limit=None):
    argv = [ctx.rollsafe, "scan", "--sqlite", db, "--table", "orders",
            "--key", "id", "--column", "body", "--type", "shop.Order",
            "--format", "json"] + extra
    rc, out, err, rss = run(argv, ctx.work, as_limit)
    check(out.strip().startswith("{"), "scan printed no JSON document",
          "exit %d" % rc, err)
    return rc, json.loads(out), err, rss


def samples_by_key(target):
    keys = {}
    for verdict, samples in target["samples"].items():
        for s in samples:
            keys[s["key"]] = (verdict, s)
    return keys


def test_scan_hostile_records_under_address_limit(ctx):
    db = os.path.join(ctx.work, "hostile.sqlite")
    hostile.make_db(db)
    rc, doc, err, rss = scan(ctx, db, ["--max-alloc", "32M"], AS_LIMIT)
    check(rc == 1, "exit %d, not 1 (findings)" % rc, err)
    t = doc["targets"][0]
    check(t["status"] != "error" and t["complete"],
          "the target did not complete", t.get("error"))
    total = len(ORDINARY) + len(hostile.HOSTILE)
    check(t["rows_counted"] == total,
          "%d rows counted, not %d" % (t["rows_counted"], total))
    keys = samples_by_key(t)
    for key in OVER_32M:
        check(key in keys and keys[key][0] == "unreadable",
              "%s is not unreadable" % key, keys.get(key))
        texts = [r["text"] for r in keys[key][1]["reasons"]]
        check(any("over the limits" in x and "33554432 bytes" in x and
                  "--max-alloc" in x for x in texts),
              "%s: no reason names the limit and --max-alloc" % key, texts)
    for key, verdict in WITHIN_32M.items():
        if verdict == "ok":
            check(key not in keys, "%s is %s, not ok" % (key, keys.get(key)))
        else:
            check(keys.get(key, ("?",))[0] == verdict,
                  "%s is not %s" % (key, verdict), keys.get(key))
    for key in ORDINARY:
        check(key not in keys, "ordinary record %s is not ok" % key, keys[key]
              if key in keys else None)
    oks = len(ORDINARY) + sum(v == "ok" for v in WITHIN_32M.values())
    check(t["verdicts"]["ok"] == oks,
          "%d ok, not %d: the ordinary records after the hostile ones "
          "were not all judged" % (t["verdicts"]["ok"], oks), t["verdicts"])
    check(rss < 32 * MIB + SLACK,
          "peak RSS %d MiB, over --max-alloc 32M + 64 MiB" % (rss // MIB))


def test_scan_hostile_records_default_limit(ctx):
    db = os.path.join(ctx.work, "hostile.sqlite")
    hostile.make_db(db)
    rc, doc, err, rss = scan(ctx, db, [])
    check(rc == 1, "exit %d, not 1 (findings)" % rc, err)
    t = doc["targets"][0]
    check(t["complete"] and t["verdicts"]["ok"] >= len(ORDINARY),
          "the scan did not judge every record", t["verdicts"])
    check(rss < DEFAULT_MAX_ALLOC + SLACK,
          "peak RSS %d MiB, over the default max_alloc (256 MiB) + 64 MiB" %
          (rss // MIB))


def test_scan_deep_records_under_address_limit(ctx):
    db = os.path.join(ctx.work, "nodes.sqlite")
    hostile.make_nodes_db(db)
    schemas = os.path.join(HERE, "node")
    argv = [ctx.rollsafe, "scan", "--sqlite", db, "--table", "nodes",
            "--key", "id", "--column", "body", "--type", "memtest.Node",
            "--schema", os.path.join(schemas, "v1.proto"),
            "--schema", os.path.join(schemas, "v2.proto"),
            "--format", "json", "--max-alloc", "32M"]
    rc, out, err, rss = run(argv, ctx.work, AS_LIMIT)
    check(rc == 1 and out.startswith("{"), "exit %d, not 1" % rc, err)
    t = json.loads(out)["targets"][0]
    check(t["complete"] and t["verdicts"]["ok"] == 2 and
          t["verdicts"]["unreadable"] == 2,
          "not two ok and two unreadable", t["verdicts"], t.get("error"))
    keys = samples_by_key(t)
    texts = [r["text"] for r in keys["d_deep_and_wide"][1]["reasons"]]
    check(any("over the limits" in x and "--max-alloc" in x for x in texts),
          "the deep and wide record is not over the limits", texts)
    texts = [r["text"] for r in keys["e_too_deep"][1]["reasons"]]
    check(any("more than 1000 messages nested" in x for x in texts),
          "the record 1002 levels deep is not over the depth limit", texts)
    check(rss < 32 * MIB + SLACK,
          "peak RSS %d MiB, over --max-alloc 32M + 64 MiB" % (rss // MIB))


def test_scan_max_alloc_usage(ctx):
    db = os.path.join(ctx.work, "one.sqlite")
    hostile.make_db(db, [])
    for bad in ["0", "12x", "1023K", "2048G", ""]:
        rc, out, err, _ = run([ctx.rollsafe, "scan", "--sqlite", db,
                               "--table", "orders", "--key", "id",
                               "--column", "body", "--type", "shop.Order",
                               "--max-alloc", bad], ctx.work)
        check(rc == 2 and "--max-alloc" in err,
              "--max-alloc '%s': exit %d" % (bad, rc), err)
    rc, out, err, _ = run([ctx.rollsafe, "scan", "--help"], ctx.work)
    check(rc == 0 and "--max-alloc BYTES" in out, "scan --help lacks "
          "--max-alloc")


def inspect(ctx, record, extra, as_limit=None):
    path = os.path.join(ctx.work, "record.bin")
    with open(path, "wb") as f:
        f.write(record)
    rc, out, err, rss = run([ctx.rollsafe, "inspect", "--type",
                             "shop.Order"] + extra + [path], ctx.work,
                            as_limit)
    check(out.strip().startswith("{"), "inspect printed no JSON document",
          "exit %d" % rc, err)
    return rc, json.loads(out), err, rss


def count_values(fields):
    """Values shown in "fields", as --max-fields counts them."""
    n = 0
    for name, value in fields.items():
        items = value if isinstance(value, list) else [value]
        for v in items:
            n += 1
            if isinstance(v, dict) and name != "unknown_fields":
                n += count_values(v)
    return n


def test_inspect_million_unknown_fields(ctx):
    record = hostile.unknown_fields(1_000_000)
    rc, doc, err, rss = inspect(ctx, record, [], AS_LIMIT)
    check(rc == 0, "exit %d, not 0 (ignored_fields)" % rc, err)
    check(doc["verdict"]["verdict"] == "ignored_fields", "verdict",
          doc["verdict"])
    shown = count_values(doc["fields"])
    check(shown == 1000, "%d values shown, not the default 1000" % shown)
    omitted = 1_000_002 - 1000
    check(doc["fields_omitted"] == omitted,
          "fields_omitted %s, not %d" % (doc["fields_omitted"], omitted))
    line = "... 999,002 more fields not shown; --max-fields raises the limit"
    check(doc.get("fields_truncated") == line, "fields_truncated",
          doc.get("fields_truncated"))
    check(line in err, "stderr does not say what was left out", err)
    reasons = doc["verdict"]["reasons"]
    check(len(reasons) <= 32 and
          len(reasons) + doc["verdict"]["reasons_omitted"] >= 1_000_000,
          "reasons not bounded and counted", len(reasons),
          doc["verdict"]["reasons_omitted"])
    check(rss < DEFAULT_MAX_ALLOC + SLACK,
          "peak RSS %d MiB, over max_alloc + 64 MiB" % (rss // MIB))

    rc, doc, err, rss = inspect(ctx, record, ["--max-fields", "5"])
    check(count_values(doc["fields"]) == 5 and
          doc["fields_omitted"] == 1_000_002 - 5, "--max-fields 5",
          doc["fields_omitted"])
    rc, doc, err, rss = inspect(ctx, hostile.ORDINARY, [])
    check(doc["fields_omitted"] == 0 and "fields_truncated" not in doc and
          "not shown" not in err, "an ordinary record is truncated", doc, err)


def test_inspect_over_the_limit(ctx):
    record = hostile.unknown_fields(1_000_000)
    rc, doc, err, rss = inspect(ctx, record, ["--max-alloc", "32M"], AS_LIMIT)
    check(rc == 1, "exit %d, not 1 (unreadable)" % rc, err)
    check(doc["verdict"]["verdict"] == "unreadable", "verdict",
          doc["verdict"])
    check(any("over the limits" in r["text"] and "--max-alloc" in r["text"]
              for r in doc["verdict"]["reasons"]),
          "no reason names the limit", doc["verdict"]["reasons"])
    check(rss < 32 * MIB + SLACK,
          "peak RSS %d MiB, over --max-alloc 32M + 64 MiB" % (rss // MIB))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rollsafe", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("case")
    args = ap.parse_args()
    fn = globals().get("test_" + args.case)
    if fn is None:
        print("no such case: %s" % args.case, file=sys.stderr)
        return 1
    args.work = os.path.join(args.work, args.case)
    os.makedirs(args.work, exist_ok=True)
    check_binary = os.path.isfile(args.rollsafe) and os.access(
        args.rollsafe, os.X_OK)
    if not check_binary:
        print("FAIL: %s is not an executable" % args.rollsafe, file=sys.stderr)
        return 1
    try:
        fn(args)
    except Failure as e:
        print("FAIL: %s" % e, file=sys.stderr)
        return 1
    print("ok %s" % args.case)
    return 0


if __name__ == "__main__":
    sys.exit(main())
