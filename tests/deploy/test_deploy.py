#!/usr/bin/python3
"""The assumptions examples/kubernetes states, checked against the files
and against the tool.

Usage: test_deploy.py --rollsafe BIN --work DIR CASE
Environment: RS_EXAMPLES (examples/), RS_SCHEMA_DIR (schema/).

Each function named test_<case> below is one ctest case, deploy.<case>:

- the Pushgateway: the verdict's query names the labels the gate pushes,
  and the scrape configuration keeps them (honor_labels);
- a read-only root file system: every container that runs rollsafe has
  one, and the gate with .proto schemas gets as far as connecting to the
  database with no temporary directory at all;
- the README states each assumption.

Exit status: 0 passed, 1 failed.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys

import yaml

SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer",
                     "UndefinedBehaviorSanitizer", "runtime error:")


class Failure(Exception):
    pass


def check(cond, what, *context):
    if not cond:
        raise Failure(what + "".join("\n  " + str(c)[:3000] for c in context))


class Ctx:
    def __init__(self, args):
        self.rollsafe = args.rollsafe
        self.work = args.work
        shutil.rmtree(self.work, ignore_errors=True)
        os.makedirs(self.work)
        self.examples = os.environ.get("RS_EXAMPLES", "")
        self.schema = os.environ.get("RS_SCHEMA_DIR", "")
        check(self.examples and os.path.isdir(self.examples),
              "RS_EXAMPLES is not a directory")
        self.k8s = os.path.join(self.examples, "kubernetes")

    def docs(self, name):
        with open(os.path.join(self.k8s, name)) as f:
            return [d for d in yaml.safe_load_all(f) if d is not None]


def containers(doc):
    """The containers of a Job or of an AnalysisTemplate's job metrics."""
    if doc.get("kind") == "Job":
        return doc["spec"]["template"]["spec"]["containers"]
    out = []
    if doc.get("kind") == "AnalysisTemplate":
        for m in doc["spec"]["metrics"]:
            job = m["provider"].get("job")
            if job:
                out += job["spec"]["template"]["spec"]["containers"]
    return out


def test_pushgateway_labels_are_kept(ctx):
    gate = open(os.path.join(ctx.k8s, "rollsafe-gate.sh")).read()
    m = re.search(r"/metrics/job/([a-z_]+)/canary_hash/", gate)
    check(m, "the gate's push URL", gate)
    job = m.group(1)
    queries = [m["provider"]["prometheus"]["query"]
               for d in ctx.docs("analysis-templates.yaml")
               if d.get("kind") == "AnalysisTemplate"
               for m in d["spec"]["metrics"] if "prometheus" in m["provider"]]
    check(len(queries) == 1, "one prometheus metric", queries)
    q = queries[0]
    check('job="%s"' % job in q and "canary_hash=" in q,
          "the query does not name the pushed labels (job %s)" % job, q)
    # Those labels survive the scrape only with honor_labels.
    docs = ctx.docs("pushgateway-scrape.yaml")
    scrape = [c for d in docs for c in d.get("scrape_configs", [])]
    check(scrape and all(c.get("honor_labels") is True for c in scrape),
          "a scrape configuration with honor_labels: true", scrape)
    monitors = [d for d in docs if d.get("kind") == "ServiceMonitor"]
    check(monitors and all(e.get("honorLabels") is True
                           for d in monitors for e in d["spec"]["endpoints"]),
          "a ServiceMonitor with honorLabels: true", monitors)


def test_read_only_root_file_system_is_enough(ctx):
    runs = 0
    for name in ("job.yaml", "analysis-templates.yaml"):
        for d in ctx.docs(name):
            for c in containers(d):
                if "rollsafe" not in " ".join(c.get("command", [])):
                    continue
                runs += 1
                check(c["securityContext"]["readOnlyRootFilesystem"] is True,
                      "%s: %s without a read-only root" % (name, c["name"]))
                mounts = [v for v in c.get("volumeMounts", [])
                          if not v.get("readOnly")]
                check(mounts == [], "%s: a writable mount" % name, mounts)
    check(runs >= 2, "containers that run rollsafe: %d" % runs)
    # The gate writes nothing but stdout and stderr.
    gate = open(os.path.join(ctx.k8s, "rollsafe-gate.sh")).read()
    scan = re.search(r"rollsafe scan [^\n]*", gate).group(0)
    check(" -o" not in scan and "--output" not in scan and
          "--metrics" not in scan, "the gate writes a file", scan)

    # The gate itself, with the config's schemas as .proto files, no
    # temporary directory (TMPDIR does not exist) and a database that
    # refuses: rollsafe compiles the schemas and gets as far as connecting
    # (exit 3), never failing for want of a temporary file (that would be
    # exit 2, with a message naming the schema).
    check(ctx.schema, "RS_SCHEMA_DIR is not set")
    cfg = open(os.path.join(ctx.k8s, "rollsafe.yaml")).read()
    check("# schemas:" in cfg, "rollsafe.yaml shows no schemas", cfg)
    v1 = os.path.join(ctx.schema, "shop/v1/order.proto")
    v2 = os.path.join(ctx.schema, "shop/v2/order.proto")
    cfg = cfg.replace("# schemas:\n#   - /etc/rollsafe/order-v1.desc\n"
                      "#   - /etc/rollsafe/order-v2.desc\n",
                      "schemas:\n  - %s\n  - %s\n" % (v1, v2))
    check(v1 in cfg, "the schemas comment is not the expected one")
    etc = os.path.join(ctx.work, "etc")
    os.makedirs(etc)
    with open(os.path.join(etc, "rollsafe.yaml"), "w") as f:
        f.write(cfg)
    shutil.copy(os.path.join(ctx.k8s, "rollsafe-gate.sh"), etc)
    bindir = os.path.join(ctx.work, "bin")
    os.makedirs(bindir)
    os.symlink(ctx.rollsafe, os.path.join(bindir, "rollsafe"))
    env = dict(os.environ,
               PATH=bindir + os.pathsep + os.environ.get("PATH", ""),
               TMPDIR="/nonexistent/tmp",
               RS_CONFIG=os.path.join(etc, "rollsafe.yaml"),
               ORDERS_DB="host=127.0.0.1 port=1 dbname=shop user=ro "
                         "connect_timeout=5",
               PGPASSWORD="x")
    env.pop("PUSHGATEWAY", None)
    p = subprocess.run(["sh", os.path.join(etc, "rollsafe-gate.sh")],
                       capture_output=True, cwd=etc, env=env, timeout=300)
    out, err = p.stdout.decode(), p.stderr.decode()
    for marker in SANITIZER_MARKERS:
        check(marker not in err, "sanitizer report", err)
    check("rollsafe scan: exit 3" in out, "the gate did not get as far as "
          "connecting", out, err)
    check("127.0.0.1" in err and "order.proto" not in err,
          "not a connection error", err)
    check(p.returncode == 1, "the gate passed an unreachable database",
          p.returncode)


def test_readme_states_each_assumption(ctx):
    text = open(os.path.join(ctx.k8s, "README.md")).read()
    section = text.split("## What these manifests assume", 1)
    check(len(section) == 2, "no assumptions section")
    section = section[1].split("\n## ", 1)[0]
    for needle in ("honor_labels: true", "readOnlyRootFilesystem",
                   "TMPDIR", "schemas:", "built-in example",
                   "cpack -G DEB", "initialDelay", "DELETE"):
        check(needle in section, "the assumptions do not mention %s" % needle)


TESTS = {name[5:]: fn for name, fn in sorted(globals().items())
         if name.startswith("test_") and callable(fn)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rollsafe", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("case")
    args = ap.parse_args()
    if args.case not in TESTS:
        print("no test case %r" % args.case, file=sys.stderr)
        return 1
    args.work = os.path.join(args.work, args.case)
    try:
        TESTS[args.case](Ctx(args))
    except Failure as e:
        print("FAIL: %s" % e)
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
