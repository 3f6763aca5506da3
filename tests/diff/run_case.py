#!/usr/bin/env python3
"""One case of the rollsafe diff suite: tests/diff/cases/<case>/.

Usage: run_case.py --rollsafe BIN --protoc PROTOC --repo DIR --work DIR CASE_DIR

A case folder holds:
  old.proto, new.proto     the two versions (reader, writer), or
  v1.proto, v2.proto, ...  more versions, oldest first, or
  versions                 one path a line (relative to the case folder;
                           @REPO@ is the repository root): files that may be
                           missing or garbage, for the bad-input cases
  args                     optional: extra arguments, one a line (@WORK@ is
                           this case's scratch folder)
  rollsafe.yaml            optional: passed with -c
  expected.json            what must come out:
    "exit":        the exit code
    "findings":    every finding, no more, no fewer: rule, severity,
                   verdict (what a protobuf-c reader makes of a record that
                   hits it; null when no record shows it), path,
                   file (base name), line (null without source info), and
                   optionally reader and writer (version numbers, default
                   1 and 2) and suppressed (default false)
    "suppressions": optional, compared exactly: line (in rollsafe.yaml),
                   status, matched
    "stderr":      for error cases: a text the one-line error must contain
                   (no report is expected then)
    "report_file": the report is read from this file of the scratch folder
                   (the case passes -o @WORK@/...) instead of stdout
    "descriptor_sets": false to skip the second run (default: every .proto
                   version is also compiled by protoc into a descriptor set
                   with source info, and the findings must be the same)

Every case also runs with --format sarif (the document is checked against
the required properties of SARIF 2.1.0 and must hold the same findings)
and with the text format (same exit code). Exit status: 0 passed, 1 failed.
"""

import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys

SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer",
                     "UndefinedBehaviorSanitizer", "runtime error:")
TODAY = "2026-06-01"


class Failure(Exception):
    pass


def check(cond, what, *context):
    if not cond:
        raise Failure(what + "".join("\n  " + str(c) for c in context))


def run(cmd, env=None):
    full_env = dict(os.environ)
    full_env["ROLLSAFE_TODAY"] = TODAY
    if env:
        full_env.update(env)
    p = subprocess.run(cmd, capture_output=True, text=True, env=full_env)
    for marker in SANITIZER_MARKERS:
        check(marker not in p.stderr, "sanitizer report", " ".join(cmd),
              p.stderr)
    return p


def versions_of(case, repo):
    path = os.path.join(case, "versions")
    if os.path.exists(path):
        with open(path) as f:
            lines = [l.strip() for l in f if l.strip()]
        return [os.path.join(case, l) if not l.startswith("@REPO@")
                else l.replace("@REPO@", repo) for l in lines]
    if os.path.exists(os.path.join(case, "old.proto")):
        return [os.path.join(case, "old.proto"),
                os.path.join(case, "new.proto")]
    vs = sorted(glob.glob(os.path.join(case, "v[0-9]*.proto")),
                key=lambda p: int(re.search(r"v(\d+)\.proto$", p).group(1)))
    check(len(vs) >= 2, "case has no versions")
    return vs


VERDICTS = (None, "ok", "ignored_fields", "misread", "unreadable")


def key_of(f):
    return (f["rule"], f["severity"], f["path"], f["file"], f["line"],
            f.get("reader", 1), f.get("writer", 2), f.get("suppressed", False),
            f["verdict"])


def actual_keys(doc):
    out = []
    for f in doc["findings"]:
        loc = f["location"]
        out.append((f["rule"], f["severity"], f["path"],
                    os.path.basename(loc["file"]), loc["line"], f["reader"],
                    f["writer"], f["suppressed"], f["verdict"]))
    return out


def compare_findings(expected, actual, what):
    exp = sorted(key_of(f) for f in expected)
    act = sorted(actual)
    missing = [k for k in exp if k not in act or exp.count(k) > act.count(k)]
    extra = [k for k in act if k not in exp or act.count(k) > exp.count(k)]
    check(not missing and not extra, "%s: findings differ" % what,
          "missing: %s" % json.dumps(missing, indent=1),
          "unexpected: %s" % json.dumps(extra, indent=1))


def check_json_doc(doc, expected, code):
    check(doc.get("command") == "diff", "command is not diff")
    check(doc.get("exit_code") == code, "exit_code differs from the exit",
          doc.get("exit_code"), code)
    for key in ("versions", "findings", "suppressions", "summary", "fail_on",
                "today"):
        check(key in doc, "missing key %s" % key)
    for f in doc["findings"]:
        for key in ("rule", "severity", "verdict", "path", "message",
                    "location", "reader", "writer", "reader_path",
                    "writer_path", "suppressed", "suppression"):
            check(key in f, "finding without %s" % key, f)
        check(f["severity"] in ("error", "warning", "info"), "bad severity", f)
        check(f["verdict"] in VERDICTS, "bad verdict", f)
        # The severity follows from the verdict: error for records misread
        # or unreadable, and only for them.
        check((f["severity"] == "error") ==
              (f["verdict"] in ("misread", "unreadable")),
              "severity does not follow from the verdict", f)
        check(isinstance(f["message"], str) and f["message"] and
              "\n" not in f["message"], "message is not one line", f)
        check(f["reader"] < f["writer"], "reader not older than writer", f)
    summary = doc["summary"]
    live = [f for f in doc["findings"] if not f["suppressed"]]
    for sev in ("error", "warning", "info"):
        check(summary[sev] == sum(1 for f in live if f["severity"] == sev),
              "summary.%s does not count the findings" % sev, summary)
    check(summary["suppressed"] == len(doc["findings"]) - len(live),
          "summary.suppressed is wrong", summary)
    if "suppressions" in expected:
        got = [{"line": int(s["location"].rsplit(":", 2)[1]),
                "status": s["status"], "matched": s["matched"]}
               for s in doc["suppressions"]]
        check(got == expected["suppressions"], "suppressions differ",
              "expected %s" % expected["suppressions"], "got %s" % got)


# ---- SARIF 2.1.0: the required properties and value sets of the schema ----

LEVELS = ("none", "note", "warning", "error")


def check_message(m, where):
    check(isinstance(m, dict) and ("text" in m or "id" in m),
          "%s: message needs text or id" % where, m)


def check_location(loc, where):
    check(isinstance(loc, dict), "%s: location is not an object" % where)
    phys = loc.get("physicalLocation")
    if phys is not None:
        art = phys.get("artifactLocation")
        check(isinstance(art, dict) and isinstance(art.get("uri"), str),
              "%s: artifactLocation.uri missing" % where, phys)
        check(not re.search(r"[\s\\]", art["uri"]),
              "%s: uri is not a URI reference" % where, art["uri"])
        region = phys.get("region")
        if region is not None:
            check(isinstance(region.get("startLine"), int) and
                  region["startLine"] >= 1, "%s: startLine < 1" % where)
            if "startColumn" in region:
                check(isinstance(region["startColumn"], int) and
                      region["startColumn"] >= 1, "%s: startColumn < 1" % where)
    for ll in loc.get("logicalLocations", []):
        check(isinstance(ll, dict), "%s: logicalLocation" % where)


def check_sarif(doc):
    check(doc.get("version") == "2.1.0", "SARIF version is not 2.1.0")
    check(isinstance(doc.get("$schema"), str), "no $schema")
    runs = doc.get("runs")
    check(isinstance(runs, list) and len(runs) == 1, "runs is not one run")
    r = runs[0]
    driver = r.get("tool", {}).get("driver")
    check(isinstance(driver, dict) and isinstance(driver.get("name"), str),
          "tool.driver.name missing")
    rules = driver.get("rules", [])
    ids = []
    for rule in rules:
        check(isinstance(rule.get("id"), str), "rule without id", rule)
        ids.append(rule["id"])
        dc = rule.get("defaultConfiguration")
        if dc is not None:
            check(dc.get("level") in LEVELS, "bad default level", rule)
        if "shortDescription" in rule:
            check_message(rule["shortDescription"], "rule " + rule["id"])
    check(len(ids) == len(set(ids)), "duplicate rule ids")
    for inv in r.get("invocations", []):
        check(isinstance(inv.get("executionSuccessful"), bool),
              "invocation.executionSuccessful missing")
        for n in inv.get("toolConfigurationNotifications", []):
            check_message(n.get("message"), "notification")
            check(n.get("level", "warning") in LEVELS, "notification level")
            for loc in n.get("locations", []):
                check_location(loc, "notification")
    out = []
    for res in r.get("results", []):
        check_message(res.get("message"), "result")
        check(res.get("level") in LEVELS, "result level", res)
        rid = res.get("ruleId")
        check(rid in ids, "result ruleId not among the rules", rid)
        if "ruleIndex" in res:
            check(ids[res["ruleIndex"]] == rid, "ruleIndex does not match")
        locs = res.get("locations")
        check(isinstance(locs, list) and locs, "result without locations")
        for loc in locs:
            check_location(loc, "result")
        for s in res.get("suppressions", []):
            check(s.get("kind") in ("inSource", "external"),
                  "suppression kind", s)
            check(s.get("status", "accepted") in
                  ("accepted", "underReview", "rejected"), "suppression status")
        for k, v in res.get("partialFingerprints", {}).items():
            check(isinstance(v, str), "fingerprint is not a string")
        phys = locs[0]["physicalLocation"]
        region = phys.get("region", {})
        level = {"note": "info"}.get(res["level"], res["level"])
        props = res.get("properties", {})
        check("verdict" in props, "result without a verdict property", res)
        out.append((rid, level, locs[0]["logicalLocations"][0]
                    ["fullyQualifiedName"],
                    os.path.basename(phys["artifactLocation"]["uri"]),
                    region.get("startLine"), bool(res.get("suppressions")),
                    props["verdict"]))
    return out


def one_run(args, case, versions, expected, work, tag):
    extra = []
    args_path = os.path.join(case, "args")
    if os.path.exists(args_path):
        with open(args_path) as f:
            extra = [l.rstrip("\n").replace("@WORK@", work)
                     for l in f if l.strip()]
    if os.path.exists(os.path.join(case, "rollsafe.yaml")):
        extra += ["-c", os.path.join(case, "rollsafe.yaml")]
    base = [args.rollsafe, "diff"] + extra + versions
    code = expected["exit"]

    p = run(base + ["--format", "json"])
    check(p.returncode == code, "%s: exit %d, expected %d" %
          (tag, p.returncode, code), p.stderr, p.stdout[:2000])
    if "stderr" in expected:
        check(expected["stderr"] in p.stderr, "%s: stderr lacks %r" %
              (tag, expected["stderr"]), p.stderr)
        check(p.stderr.count("\n") == 1, "error is not one line", p.stderr)
        if "-o" in extra or (p.stdout == "" and
                             "see 'rollsafe diff --help'" in p.stderr):
            # -o is checked, and options parsed, before any work: nothing
            # on stdout, only the usage error.
            check(p.stdout == "", "output on an -o or option error",
                  p.stdout)
        else:
            # --format json is one document on an error too: the exit
            # code, no findings.
            try:
                doc = json.loads(p.stdout)
            except ValueError as e:
                raise Failure("%s: stdout on an error is not one JSON "
                              "document (%s)" % (tag, e)) from None
            check(doc.get("exit_code") == code and doc.get("findings") == [],
                  "%s: error document" % tag, p.stdout[:2000])
        return
    if "report_file" in expected:
        check(p.stdout == "", "%s: report on stdout with -o" % tag)
        with open(os.path.join(work, expected["report_file"])) as f:
            doc = json.load(f)
    else:
        doc = json.loads(p.stdout)
    check_json_doc(doc, expected, code)
    compare_findings(expected["findings"], actual_keys(doc), tag)
    if "report_file" in expected:
        return

    s = run(base + ["--format", "sarif"])
    check(s.returncode == code, "%s: sarif exit %d" % (tag, s.returncode),
          s.stderr)
    sarif_doc = json.loads(s.stdout)
    sarif = check_sarif(sarif_doc)
    if "suppressions" in expected:
        notes = sarif_doc["runs"][0]["invocations"][0][
            "toolConfigurationNotifications"]
        stale = [x for x in expected["suppressions"] if x["status"] != "used"]
        check(len(notes) == len(stale), "%s: SARIF notifications are not the "
              "unused and expired suppressions" % tag, notes, stale)
        for n, x in zip(notes, stale):
            region = n["locations"][0]["physicalLocation"]["region"]
            check(region["startLine"] == x["line"], "notification line", n, x)
    from_json = sorted((k[0], k[1], k[2], k[3], k[4], k[7], k[8])
                       for k in actual_keys(doc))
    check(sorted(sarif) == from_json, "%s: SARIF results differ from the "
          "JSON findings" % tag, sorted(sarif), from_json)

    t = run(base)
    check(t.returncode == code, "%s: text exit %d" % (tag, t.returncode),
          t.stderr)
    check(t.stdout.strip() != "", "%s: empty text report" % tag)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rollsafe", required=True)
    ap.add_argument("--protoc", required=True)
    ap.add_argument("--repo", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("case")
    args = ap.parse_args()
    case = os.path.abspath(args.case)
    name = os.path.basename(case)
    work = os.path.join(args.work, name)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    try:
        with open(os.path.join(case, "expected.json")) as f:
            expected = json.load(f)
        versions = versions_of(case, args.repo)
        one_run(args, case, versions, expected, work, "proto")
        if (expected.get("descriptor_sets", True) and "stderr" not in expected
                and all(v.endswith(".proto") for v in versions)):
            check(args.protoc != "", "protoc not found")
            sets = []
            for i, v in enumerate(versions):
                out = os.path.join(work, "v%d.desc" % (i + 1))
                p = subprocess.run(
                    [args.protoc, "--include_imports", "--include_source_info",
                     "-I", os.path.dirname(v), "--descriptor_set_out=" + out,
                     v], capture_output=True, text=True)
                check(p.returncode == 0, "protoc failed on " + v, p.stderr)
                sets.append(out)
            one_run(args, case, sets, expected, work, "descriptor set")
    except Failure as e:
        print("FAIL diff.case.%s: %s" % (name, e))
        return 1
    print("ok diff.case.%s" % name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
