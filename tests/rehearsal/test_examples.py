#!/usr/bin/env python3
"""The recipes of examples/ci and examples/kubernetes: the CI script runs
the whole rehearsal on a SQLite database of the example domain (and, in
test_examples_postgres.py, on PostgreSQL) (its
migrations, rehearsal_service as the workload, old_reader as the stable
code, old_consumer as the stable version's outbox workers during the fix)
and fails when fix leaves records the stable code cannot read; every
YAML file parses and has the fields Argo Rollouts, Kubernetes and GitHub
Actions read.

Usage: test_examples.py --rollsafe BIN --work DIR CASE
"""

import glob
import json
import os
import re
import shlex
import subprocess
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from rehearsal import env_path  # noqa: E402
from rsdata import ROOT, check, check_eq, run_cases  # noqa: E402

EXAMPLES = os.path.join(ROOT, "examples")
SCRIPT = os.path.join(EXAMPLES, "ci", "rollback-rehearsal.sh")


def ci_script(r, impossible, backend=None):
    """Runs the CI script on a SQLite file, or on PostgreSQL with a
    rehearsal.PostgresBackend."""
    os.makedirs(r.work, exist_ok=True)
    config = os.path.join(r.work, "rollsafe.yaml")
    with open(config, "w") as f:
        f.write("feature: checkout_v2\nreader_version: 1\n"
                "reader_framing: raw\ntargets:\n")
        for t in ("orders", "order_events"):
            # The outbox as a queue: only the messages consumers still read.
            kind = "table" if t == "orders" else "queue"
            if backend is None:
                # A path relative to the config, as teams write them.
                where = ("kind: sqlite-%s, connection: shop.db, table: %s"
                         % (kind, t))
            else:
                where = "kind: postgres-%s, connection: %s, table: %s" % (
                    kind, json.dumps(backend.connection),
                    backend.qualified(t))
            if kind == "queue":
                where += (", state_column: state, pending_states: pending, "
                          "in_flight_states: processing")
            f.write("  - {name: %s, %s, key: id, column: payload, "
                    "type: shop.Order}\n" % (t, where))
    if backend is None:
        db = ["--sqlite", os.path.join(r.work, "shop.db")]
    else:
        db = ["--postgres", backend.dsn]
    db = " ".join(shlex.quote(a) for a in db)
    # The interpreter of the tests: psycopg2 is installed for it.
    migrate = "%s %s %s" % (shlex.quote(sys.executable),
                            shlex.quote(os.path.join(HERE, "migrate.py")), db)
    env = dict(os.environ,
               ROLLSAFE=r.rollsafe, RS_CONFIG=config,
               RS_OUT=os.path.join(r.work, "reports"),
               MIGRATE_UP=migrate + " up",
               MIGRATE_DOWN_FEATURE=migrate + " down 2",
               WORKLOAD="%s write %s --orders 300 %s >/dev/null"
               % (shlex.quote(env_path("RS_SERVICE")), db,
                  "" if impossible else "--no-impossible"),
               OLD_READER="%s %s --states pending,processing"
               % (shlex.quote(env_path("RS_OLD_READER")), db),
               CONSUMERS="%s %s --take 20 --finish-held --work-ms 2"
               % (shlex.quote(env_path("RS_OLD_CONSUMER")), db))
    for v in ("RS_SCHEMAS", "RS_DIFF_OLD", "RS_DIFF_NEW", "RS_FIX_ARGS"):
        env.pop(v, None)
    p = subprocess.run(["bash", SCRIPT], env=env, capture_output=True,
                       timeout=600)
    out, err = p.stdout.decode(), p.stderr.decode()
    return p.returncode, out, err, os.path.join(r.work, "reports")


def report(reports, name):
    with open(os.path.join(reports, name + ".json")) as f:
        return json.load(f)


def ci_script_passes(r, backend=None):
    """The whole rehearsal passes, and its reports say what happened."""
    rc, out, err, reports = ci_script(r, False, backend)
    check_eq(rc, 0, "exit of the rehearsal script (%s)\n%s" % (err, out))
    check("rollback rehearsal passed" in out, "verdict line", out)
    check("diff: not run: RS_DIFF_OLD and RS_DIFF_NEW are not set" in out,
          "the diff step says it did not run", out)
    before = report(reports, "scan-before")
    check_eq(before["exit_code"], 1, "scan before the fix")
    fix = report(reports, "fix")
    check_eq(fix["remaining"], 0, "remaining after the fix")
    found = {t["name"]: sum(t["verdicts"][v] for v in
                            ("misread", "unreadable", "corrupt"))
             for t in before["targets"]}
    fixed = {t["name"]: t for t in fix["targets"]}
    check_eq(fixed["orders"]["converted"], found["orders"],
             "orders: converted = found before")
    # The outbox: the consumers finished the messages in flight (never
    # rewritten) and may have taken some before the fix reached them.
    q = fixed["order_events"]
    check(0 < q["converted"] <= found["order_events"],
          "outbox: converted, of %d found before" % found["order_events"], q)
    check_eq(q["unsettled"], 0, "outbox: unsettled")
    check("consumers: exit " in out, "the consumers ran", out)
    check_eq(report(reports, "scan-after-fix")["exit_code"], 0,
             "scan after the fix")
    check_eq(report(reports, "scan-after-down")["exit_code"], 0,
             "scan after the down migration")
    for t in ("orders", "order_events"):
        doc = report(reports, "restore-target-%s" % t)
        # Restored, or consumed since the fix (gone): every conversion.
        check_eq(doc["restored"] + doc["gone"], fixed[t]["converted"],
                 "%s: restored and gone" % t)
        check_eq(doc["in_flight"], 0, "%s: in flight at the restore" % t)


def test_ci_script_passes(r):
    ci_script_passes(r)


def test_ci_script_fails_on_impossible(r):
    rc, out, err, reports = ci_script(r, impossible=True)
    check_eq(rc, 1, "exit of the rehearsal script (%s)\n%s" % (err, out))
    check("fix left records the stable code cannot read" in err,
          "reason", err)
    check(report(reports, "fix")["impossible"] > 0, "impossible records")


def load_all(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def test_yaml_files_parse(r):
    files = sorted(glob.glob(os.path.join(EXAMPLES, "**", "*.y*ml"),
                             recursive=True))
    check(len(files) >= 3, "YAML files under examples/", files)
    docs = {os.path.relpath(p, EXAMPLES): load_all(p) for p in files}
    kinds = {}
    for path, ds in docs.items():
        for d in ds:
            check(isinstance(d, dict), "%s: a mapping" % path)
            kinds.setdefault(d.get("kind"), []).append((path, d))

    # Argo Rollouts: a job metric whose Job runs rollsafe and never
    # restarts, and a metric that turns exit code 4 into Inconclusive.
    check("AnalysisTemplate" in kinds, "an AnalysisTemplate", list(kinds))
    for path, t in kinds["AnalysisTemplate"]:
        check_eq(t["apiVersion"], "argoproj.io/v1alpha1", path)
        metrics = t["spec"]["metrics"]
        jobs = [m for m in metrics if "job" in m["provider"]]
        for m in jobs:
            spec = m["provider"]["job"]["spec"]
            pod = spec["template"]["spec"]
            check_eq(pod["restartPolicy"], "Never", "%s: restartPolicy" % path)
            check_eq(spec["backoffLimit"], 0, "%s: backoffLimit" % path)
            check(any("rollsafe" in " ".join(c.get("command", []) +
                                             c.get("args", []))
                      for c in pod["containers"]), "%s: runs rollsafe" % path)
        for m in metrics:
            check(len(m["provider"]) == 1, "%s: one provider per metric"
                  % path)
        prom = [m for m in metrics if "prometheus" in m["provider"]]
        for m in prom:
            check("successCondition" in m and "failureCondition" in m,
                  "%s: both conditions, so that neither gives Inconclusive"
                  % path)
    check(any("job" in m["provider"] for _, t in kinds["AnalysisTemplate"]
              for m in t["spec"]["metrics"]), "a job metric")
    check("Job" in kinds, "a Job manifest")
    for path, j in kinds["Job"]:
        check_eq(j["apiVersion"], "batch/v1", path)
        check_eq(j["spec"]["template"]["spec"]["restartPolicy"], "Never",
                 path)

    # GitHub Actions: a workflow whose jobs have steps, one running diff.
    flows = [(p, d) for p, ds in docs.items() for d in ds
             if "jobs" in d and (True in d or "on" in d)]
    check(flows, "a GitHub Actions workflow", list(docs))
    for path, w in flows:
        text = open(os.path.join(EXAMPLES, path)).read()
        check("rollsafe diff" in text, "%s runs rollsafe diff" % path)
        for name, job in w["jobs"].items():
            check(job.get("steps"), "%s: job %s has steps" % (path, name))

    # The shell scripts are valid bash.
    for sh in glob.glob(os.path.join(EXAMPLES, "**", "*.sh"), recursive=True):
        p = subprocess.run(["bash", "-n", sh], capture_output=True)
        check_eq(p.returncode, 0, "bash -n %s: %s" % (sh, p.stderr))


def test_configs_accepted(r):
    """The rollsafe configs of examples/kubernetes and docs/runbook.md are
    accepted by rollsafe (it gets as far as connecting: exit 3, not 2),
    and scan the outbox with a queue kind and its states."""
    with open(os.path.join(ROOT, "docs", "runbook.md")) as f:
        runbook = re.search(r"```yaml\n(.*?)```", f.read(), re.S).group(1)
    os.makedirs(r.work, exist_ok=True)
    path = os.path.join(r.work, "runbook.yaml")
    with open(path, "w") as f:
        f.write(runbook)
    env = dict(os.environ, ORDERS_DB="host=%s dbname=shop"
               % os.path.join(r.work, "no-server"))
    for config in (os.path.join(EXAMPLES, "kubernetes", "rollsafe.yaml"),
                   path):
        with open(config) as f:
            doc = yaml.safe_load(f)
        outbox = [t for t in doc["targets"] if t["name"] == "order_events"]
        check_eq(len(outbox), 1, "%s: the outbox target" % config)
        check_eq((outbox[0]["kind"], outbox[0]["state_column"],
                  outbox[0]["pending_states"], outbox[0]["in_flight_states"]),
                 ("postgres-queue", "state", ["pending"], ["processing"]),
                 "%s: the outbox as a queue" % config)
        p = subprocess.run([r.rollsafe, "scan", "-c", config], env=env,
                           capture_output=True, timeout=600)
        err = p.stderr.decode()
        check_eq(p.returncode, 3, "%s: exit (3: the config was accepted, "
                 "the server is not there)\n%s" % (config, err))
        for t in doc["targets"]:
            check("target '%s'" % t["name"] in err and "cannot connect" in err,
                  "%s: target %s tried" % (config, t["name"]), err)


TESTS = {name[len("test_"):]: fn for name, fn in globals().items()
         if name.startswith("test_") and callable(fn)}

if __name__ == "__main__":
    sys.exit(run_cases(TESTS))
