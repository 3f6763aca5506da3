"""What the tests of scan --jobs, --shard and merge share
(test_scale_sqlite.py, test_scale_postgres.py): running the same scan at
several --jobs or as shards, and comparing reports record for record.

Reports are compared as parsed JSON, with only the timing fields
(started_at, duration_seconds) removed: counts, writers, flags and every
sample with its reasons must be equal, in the same order.
"""

import json
import os
import subprocess
import sys

from rsdata import VERDICTS, Failure, check, check_eq

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "report"))
from schemacheck import validate  # noqa: E402

TIMING = ("started_at", "duration_seconds")


def untimed(doc):
    """@doc without its timing fields, at every depth (a copy)."""
    if isinstance(doc, dict):
        return {k: untimed(v) for k, v in doc.items() if k not in TIMING}
    if isinstance(doc, list):
        return [untimed(v) for v in doc]
    return doc


def first_difference(a, b, path="$"):
    """Where two JSON values first differ, for the failure message."""
    if type(a) is not type(b):
        return "%s: %r != %r" % (path, a, b)
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                return "%s.%s: only in one" % (path, k)
            d = first_difference(a[k], b[k], "%s.%s" % (path, k))
            if d:
                return d
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return "%s: %d items != %d" % (path, len(a), len(b))
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_difference(x, y, "%s[%d]" % (path, i))
            if d:
                return d
        return None
    return None if a == b else "%s: %r != %r" % (path, a, b)


def check_same_report(a, b, what):
    a, b = untimed(a), untimed(b)
    check(a == b, what + ": reports differ", first_difference(a, b))


def scan_jobs(r, code, args, jobs, *extra):
    doc, _ = r.scan_json(code, *args, "--jobs", str(jobs), *extra)
    return validate(doc, "scan --jobs %d" % jobs)


def jobs_identical(r, code, args, extra=()):
    """--jobs 1, 2 and 3 give one report; returns --jobs 1's."""
    base = scan_jobs(r, code, args, 1, *extra)
    for jobs in (2, 3):
        check_same_report(base, scan_jobs(r, code, args, jobs, *extra),
                          "--jobs 1 against --jobs %d" % jobs)
    return base


def finding_keys(target):
    """Every (verdict, key) the samples of a target list."""
    out = []
    for verdict in VERDICTS[1:] + ("undetermined",):
        for s in target["samples"].get(verdict, []):
            out.append((verdict, json.dumps(s["key"])))
    return out


def run_shards(r, code, args, n, extra=()):
    """N shards of one scan at once, as N processes; their JSON reports'
    paths, in shard order."""
    procs, paths = [], []
    for k in range(n):
        path = os.path.join(r.work, "shard-%d.json" % k)
        paths.append(path)
        procs.append(subprocess.Popen(
            [r.rollsafe, "scan", *args, "--shard", "%d/%d" % (k, n),
             "--format", "json", "-o", path, *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    for k, p in enumerate(procs):
        _, err = p.communicate(timeout=600)
        err = err.decode("utf-8", "replace")
        check(p.returncode == code, "shard %d/%d: exit %d, want %d"
              % (k, n, p.returncode, code), err)
        check("Sanitizer" not in err, "sanitizer report of shard %d" % k, err)
    return paths


def shards_cover(r, code, args, full, extra=(), every_key=True):
    """4 shards in parallel: together the counts of @full, and merged,
    @full itself. With @every_key (@extra keeps every finding: --samples
    large enough), the shards' findings are every one of @full's once."""
    paths = run_shards(r, code, args, 4, extra)
    shards = [validate(json.load(open(p)), "shard") for p in paths]
    for t, ft in enumerate(full["targets"]):
        seen = []
        for s in shards:
            seen += finding_keys(s["targets"][t])
        check_eq(len(seen), len(set(seen)), "no finding in two shards")
        if every_key:
            check_eq(sorted(seen), sorted(finding_keys(ft)),
                     "the shards' findings are the full scan's")
        for field in ("rows_read", "rows_null", "rows_counted"):
            check_eq(sum(s["targets"][t][field] for s in shards), ft[field],
                     "%s summed over the shards" % field)
        for v in VERDICTS:
            check_eq(sum(s["targets"][t]["verdicts"][v] for s in shards),
                     ft["verdicts"][v], "%s summed over the shards" % v)
        check(all(s["targets"][t]["rows_read"] > 0 for s in shards)
              or ft["rows_read"] < 40, "every shard has rows",
              [s["targets"][t]["rows_read"] for s in shards])
    merged = os.path.join(r.work, "merged.json")
    r.expect(code, "merge", "-o", merged, *paths)
    check_same_report(full, validate(json.load(open(merged)), "merge"),
                      "merge of 4 shards")
    # A shard twice (and so one missing), or one missing: refused.
    _, err = r.expect(2, "merge", paths[0], paths[1], paths[1], paths[3])
    check("shard 1 of 4 given twice" in err, "duplicate named", err)
    _, err = r.expect(2, "merge", paths[0], paths[1], paths[3])
    check("shard 2 of 4 missing" in err, "missing named", err)
    return paths


# ---- scan --sample -------------------------------------------------------

ESTIMATED = ("rows", "findings") + VERDICTS


def truth_of(full_target):
    """What a whole scan of a target counted: rows read, findings and each
    verdict, by the names the estimates use."""
    out = {"rows": full_target["rows_read"],
           "findings": full_target["findings"]}
    for v in VERDICTS:
        out[v] = full_target["verdicts"][v]
    return out


def estimate_of(sample, name):
    return sample[name] if name in ("rows", "findings") \
        else sample["verdicts"][name]


def scan_sampled(r, *argv):
    """A sampled scan's JSON report: its exit code is 1 or 4 (never 0) and
    the one the report gives."""
    rc, out, err = r.run("scan", "--format", "json", *argv)
    check(rc in (1, 4), "rollsafe scan %s: exit %d, want 1 or 4"
          % (" ".join(argv), rc), err[-3000:])
    try:
        doc = json.loads(out)
    except ValueError as e:
        raise Failure("scan output is not JSON (%s): %s" % (e, out[:2000]))
    check_eq(doc["exit_code"], rc, "the report's exit code")
    return doc


def check_sampled(doc, full, percent, seed, what):
    """A sampled scan's report against the whole scan's @full: marked as an
    estimate, valid, fewer rows read, exit 1 exactly when the sample holds
    a finding (never 0). Returns, per target, its sample object."""
    validate(doc, what)
    s = doc.get("sample")
    check(isinstance(s, dict) and s["estimate"] is True, what +
          ": the report is marked as an estimate", s)
    check_eq(s["percent"], percent, what + ": percent")
    check_eq(s["seed"], seed, what + ": seed")
    found = doc["totals"]["findings"]
    check_eq(doc["exit_code"], 1 if found > 0 else 4, what + ": exit code")
    check(doc["reason"] is None if found else
          "does not show there are none" in doc["reason"],
          what + ": the reason of a sample without findings", doc["reason"])
    out = []
    for t, ft in zip(doc["targets"], full["targets"]):
        ts = t["sample"]
        check(isinstance(ts, dict), what + ": the target's sample", ts)
        check_eq(ts["rows_sampled"], t["rows_read"], what + ": rows sampled")
        check(t["rows_read"] < ft["rows_read"], what + ": fewer rows read",
              t["rows_read"], ft["rows_read"])
        for name in ESTIMATED:
            e = estimate_of(ts, name)
            check(e["low"] <= e["count"] <= e["high"], what + ": " + name +
                  ": low <= count <= high", e)
        out.append(ts)
    return out


def sample_calibration(r, args, full, percent, seeds, extra=()):
    """--sample @percent with each of @seeds: for each target and each
    estimate, how often its 95% interval held the whole scan's count, and
    the mean estimate. Fails when an interval holds the truth in fewer than
    80% of the seeds, or a mean estimate of a count above 100 is more than
    15% off: intervals too narrow, or a biased estimator."""
    hits, sums = {}, {}
    for seed in seeds:
        doc = scan_sampled(r, *args, "--sample", str(percent),
                           "--sample-seed", str(seed), *extra)
        samples = check_sampled(doc, full, percent, seed,
                                "--sample %s --sample-seed %d"
                                % (percent, seed))
        for i, ts in enumerate(samples):
            truth = truth_of(full["targets"][i])
            for name in ESTIMATED:
                e = estimate_of(ts, name)
                key = (i, name)
                hits[key] = hits.get(key, 0) + \
                    (e["low"] <= truth[name] <= e["high"])
                sums[key] = sums.get(key, 0) + e["count"]
    n = len(seeds)
    for (i, name), hit in sorted(hits.items()):
        truth = truth_of(full["targets"][i])[name]
        check(hit >= 0.8 * n, "target %d, %s: the 95%% interval held the "
              "true count %d in only %d of %d samples" % (i, name, truth,
                                                          hit, n))
        mean = sums[(i, name)] / n
        check(truth <= 100 or abs(mean - truth) <= 0.15 * truth,
              "target %d, %s: mean estimate %.1f, true count %d"
              % (i, name, mean, truth))
    return hits
