#!/usr/bin/env python3
"""The recipes of examples/ci and examples/kubernetes: the CI script runs
the whole rehearsal on a SQLite database of the example domain (and, in
test_examples_postgres.py, on PostgreSQL) (its
migrations, rehearsal_service as the workload, old_reader as the stable
code, old_consumer as the stable version's outbox workers during the fix),
with the compiled-in record types and with descriptor sets compiled from
schema/shop/v1 and v2 at test time (RS_SCHEMAS), behind its diff gate
(RS_DIFF_OLD, RS_DIFF_NEW); it fails when fix leaves records the stable
code cannot read, when the old reader fails on what a schema cannot show,
and, before any data step, when the schema change is not rollback-safe;
every YAML file parses and has the fields Argo Rollouts, Kubernetes and
GitHub Actions read, and the workflow runs the script as the tests do.

Usage: test_examples.py --rollsafe BIN --work DIR CASE
"""

import glob
import json
import os
import re
import shlex
import subprocess
import sys
from collections import defaultdict

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from rehearsal import env_path  # noqa: E402
from rsdata import ROOT, check, check_eq, run_cases  # noqa: E402

EXAMPLES = os.path.join(ROOT, "examples")
SCRIPT = os.path.join(EXAMPLES, "ci", "rollback-rehearsal.sh")


# Version-2 kinds of rehearsal_service whose discount moved from
# discount_cents(8) to discount(10): only a converter that knows the move
# (the compiled-in one, or a plugin's) carries it over to version 1.
MOVED = ("discount_usd", "discount_sub_cent")


def ci_script(r, impossible, backend=None, schemas=None, diff=None,
              without=(), config_schemas=False):
    """Runs the CI script on a SQLite file, or on PostgreSQL with a
    rehearsal.PostgresBackend. schemas: descriptor sets for RS_SCHEMAS (the
    config then maps AWAITING_AUTH to PENDING, as a team using runtime
    schemas writes it), or with config_schemas, for the config's own
    schemas key, relative to the config file; diff: (RS_DIFF_OLD,
    RS_DIFF_NEW, RS_DIFF_TYPE); without: kinds the workload leaves out. The workload's manifest goes
    to manifest.tsv and the new code's reading of orders, right after the
    workload, to orders-before.tsv in r.work."""
    os.makedirs(r.work, exist_ok=True)
    config = os.path.join(r.work, "rollsafe.yaml")
    with open(config, "w") as f:
        f.write("feature: checkout_v2\nreader_version: 1\n"
                "reader_framing: raw\n")
        if schemas:
            f.write("enum_map:\n  shop.v2.Order.Status:\n"
                    "    AWAITING_AUTH: PENDING\n")
        if config_schemas:
            f.write("schemas: [%s]\n" % ", ".join(
                os.path.relpath(p, r.work) for p in schemas))
        f.write("targets:\n")
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
    service = shlex.quote(env_path("RS_SERVICE"))
    workload = "%s write %s --orders 300" % (service, db)
    if not impossible:
        workload += " --no-impossible"
    if without:
        workload += " --without " + ",".join(without)
    workload += " >%s && %s read %s --table orders >%s" % (
        shlex.quote(os.path.join(r.work, "manifest.tsv")), service, db,
        shlex.quote(os.path.join(r.work, "orders-before.tsv")))
    env = dict(os.environ,
               ROLLSAFE=r.rollsafe, RS_CONFIG=config,
               RS_OUT=os.path.join(r.work, "reports"),
               MIGRATE_UP=migrate + " up",
               MIGRATE_DOWN_FEATURE=migrate + " down 2",
               WORKLOAD=workload,
               OLD_READER="%s %s --states pending,processing"
               % (shlex.quote(env_path("RS_OLD_READER")), db),
               CONSUMERS="%s %s --take 20 --finish-held --work-ms 2"
               % (shlex.quote(env_path("RS_OLD_CONSUMER")), db))
    for v in ("RS_SCHEMAS", "RS_DIFF_OLD", "RS_DIFF_NEW", "RS_DIFF_TYPE",
              "RS_DIFF_ARGS", "RS_FIX_ARGS"):
        env.pop(v, None)
    if schemas and not config_schemas:
        env["RS_SCHEMAS"] = " ".join(schemas)
    if diff:
        env["RS_DIFF_OLD"], env["RS_DIFF_NEW"], env["RS_DIFF_TYPE"] = diff
    p = subprocess.run(["bash", SCRIPT], env=env, capture_output=True,
                       timeout=600)
    out, err = p.stdout.decode(), p.stderr.decode()
    return p.returncode, out, err, os.path.join(r.work, "reports")


def report(reports, name):
    with open(os.path.join(reports, name + ".json")) as f:
        return json.load(f)


def manifest(r):
    """The workload's records: {table: {key: kind}} ("v1" for version 1)."""
    kinds = defaultdict(dict)
    with open(os.path.join(r.work, "manifest.tsv")) as f:
        for line in f:
            table, key, _version, kind = line.rstrip("\n").split("\t")
            kinds[table][key] = kind
    return kinds


def service_read(r, backend, table):
    """What the new code reads of a table (rehearsal_service read)."""
    if backend is None:
        db = ["--sqlite", os.path.join(r.work, "shop.db")]
    else:
        db = ["--postgres", backend.dsn]
    p = subprocess.run([env_path("RS_SERVICE"), "read"] + db +
                       ["--table", table], capture_output=True, timeout=600)
    check_eq(p.returncode, 0, "rehearsal_service read %s: %s"
             % (table, p.stderr.decode()))
    return p.stdout.decode()


def sarif(path):
    """A SARIF report: parses as JSON, version 2.1.0; its results."""
    with open(path) as f:
        doc = json.load(f)
    check_eq(doc.get("version"), "2.1.0", "%s: SARIF version" % path)
    check_eq(len(doc["runs"]), 1, "%s: runs" % path)
    return doc["runs"][0]["results"]


def ci_script_passes(r, backend=None):
    """The whole rehearsal passes, and its reports say what happened."""
    rc, out, err, reports = ci_script(r, False, backend)
    check_eq(rc, 0, "exit of the rehearsal script (%s)\n%s" % (err, out))
    check("diff: not run: RS_DIFF_OLD and RS_DIFF_NEW are not set" in out,
          "the diff step says it did not run", out)
    check(not os.path.exists(os.path.join(reports, "diff.sarif")),
          "no diff report without RS_DIFF_OLD and RS_DIFF_NEW")
    check_passed(r, backend, out, reports)


def check_passed(r, backend, out, reports):
    """What every passing rehearsal's reports say."""
    check("rollback rehearsal passed" in out, "verdict line", out)
    before = report(reports, "scan-before")
    check_eq(before["exit_code"], 1, "scan before the fix")
    fix = report(reports, "fix")
    check_eq(fix["remaining"], 0, "remaining after the fix")
    found = {t["name"]: sum(t["verdicts"][v] for v in
                            ("misread", "unreadable", "corrupt"))
             for t in before["targets"]}
    fixed = {t["name"]: t for t in fix["targets"]}
    check_eq(fixed["orders"]["rewritten"], found["orders"],
             "orders: converted = found before")
    # The outbox: the consumers finished the messages in flight (never
    # rewritten) and may have taken some before the fix reached them.
    q = fixed["order_events"]
    check(0 < q["rewritten"] <= found["order_events"],
          "outbox: converted, of %d found before" % found["order_events"], q)
    check_eq(q["unsettled"], 0, "outbox: unsettled")
    check("consumers: exit " in out, "the consumers ran", out)
    check_eq(report(reports, "scan-after-fix")["exit_code"], 0,
             "scan after the fix")
    check_eq(report(reports, "scan-after-down")["exit_code"], 0,
             "scan after the down migration")
    restore = report(reports, "restore")
    check_eq(restore["run_id"], fix["run_id"], "one restore of the fix's run")
    restored = {t["name"]: t for t in restore["targets"]}
    for t in ("orders", "order_events"):
        doc = restored[t]
        # Restored, or consumed since the fix (gone): every conversion.
        check_eq(doc["restored"] + doc["gone"], fixed[t]["rewritten"],
                 "%s: restored and gone" % t)
        check_eq(doc["in_flight"], 0, "%s: in flight at the restore" % t)
    # The new code reads every order as right after the workload: the
    # version-2 records restored byte for byte.
    check_eq(service_read(r, backend, "orders"),
             open(os.path.join(r.work, "orders-before.tsv")).read(),
             "the new code's reading of orders after the restore")
    return before, fixed


def compile_schemas(r, extra_field=False):
    """Descriptor sets of schema/shop/v1 and v2 as CI builds them (protoc
    --include_imports --include_source_info), and, with extra_field, of a
    version 2 with one optional field more (a rollback-safe change).
    Returns their paths, oldest first."""
    protoc = env_path("RS_PROTOC")
    out = os.path.join(r.work, "schemas")
    os.makedirs(out, exist_ok=True)
    roots = [("v1", os.path.join(ROOT, "schema")),
             ("v2", os.path.join(ROOT, "schema"))]
    if extra_field:
        with open(os.path.join(ROOT, "schema", "shop", "v2",
                               "order.proto")) as f:
            text = f.read()
        anchor = "  optional string gift_message = 12;\n"
        check(anchor in text, "schema/shop/v2/order.proto: field 12")
        root = os.path.join(out, "v2b")
        os.makedirs(os.path.join(root, "shop", "v2"), exist_ok=True)
        with open(os.path.join(root, "shop", "v2", "order.proto"), "w") as f:
            f.write(text.replace(
                anchor, anchor + "  optional string referrer = 14;\n"))
        roots.append(("v2b", root))
    paths = []
    for name, root in roots:
        desc = os.path.join(out, name + ".desc")
        proto = os.path.join(root, "shop", name[:2], "order.proto")
        p = subprocess.run([protoc, "-I", root, "--include_imports",
                            "--include_source_info",
                            "--descriptor_set_out=" + desc, proto],
                           capture_output=True, timeout=600)
        check_eq(p.returncode, 0, "protoc %s: %s" % (proto, p.stderr))
        paths.append(desc)
    return paths


def ci_script_runtime_schemas_pass(r, backend=None):
    """The whole rehearsal with RS_SCHEMAS = descriptor sets compiled now
    from schema/shop/v1 and v2, so that scan, fix and restore decode with
    protobuf-c descriptors built at run time, not the compiled-in
    shop.Order, and a diff gate that passes: version 2 against itself with
    one optional field added (FIELD_ADDED, info).

    What runtime schemas can know differs from the compiled-in type, and
    the assertions follow it. A schema does not say that the discount moved
    from discount_cents(8) to discount(10): the compiled-in type converts
    it by meaning, the generic converter keeps field 10 as an unknown field
    and version 1 code sees money that does not add up; so the workload
    leaves the moved kinds out here (ci_script_runtime_schemas_moved_field
    shows the rehearsal failing on them). A schema does not map
    AWAITING_AUTH either: the config's enum_map does, as a lossy
    conversion. And the generic converter drops deliver_by(9), a Timestamp
    message version 1 reads as int64, where the compiled-in one converts
    it to seconds: every deliver_by record is lossy, not only those with a
    fraction of a second. The lossy keys of orders are exactly those."""
    v1, v2, v2b = compile_schemas(r, extra_field=True)
    rc, out, err, reports = ci_script(r, False, backend, schemas=[v1, v2],
                                      diff=(v2, v2b, "Order"), without=MOVED)
    check_eq(rc, 0, "exit of the rehearsal script (%s)\n%s" % (err, out))
    results = sarif(os.path.join(reports, "diff.sarif"))
    check_eq([(x["ruleId"], x["level"]) for x in results],
             [("FIELD_ADDED", "note")], "the diff gate's findings")
    check("FIELD_ADDED" in out and "shop.v2.Order.referrer(14)" in out,
          "the diff's text report in the log", out)
    before, fixed = check_passed(r, backend, out, reports)

    kinds = manifest(r)["orders"]
    v2_orders = {k for k, kind in kinds.items() if kind != "v1"}
    check(v2_orders and not {kinds[k] for k in v2_orders} & set(MOVED),
          "version-2 orders, none of the moved kinds", v2_orders)
    orders = {t["name"]: t for t in before["targets"]}["orders"]
    # Every version-2 record is in an envelope, which plain version-1 code
    # cannot read, whichever schema rollsafe judges it with.
    check_eq(orders["verdicts"]["unreadable"], len(v2_orders),
             "orders: unreadable before the fix")
    check_eq({s["key"] for s in orders["samples"]["unreadable"]}, v2_orders,
             "orders: the unreadable keys are the version-2 orders")
    lossy = {s["key"]: s["why"] for s in
             fixed["orders"]["samples"]["lossy"]}
    check_eq(set(lossy), {k for k in v2_orders if kinds[k] in
                          ("awaiting_auth", "deliver_by",
                           "deliver_by_fraction")},
             "orders: the lossy conversions")
    for k, why in lossy.items():
        want = ("written as PENDING (1) by enum_map"
                if kinds[k] == "awaiting_auth" else
                "deliver_by(9): version 1 reads field 9 as int64")
        check(want in why, "orders %s (%s): the generic converter's reason"
              % (k, kinds[k]), why)


def test_ci_script_passes(r):
    ci_script_passes(r)


def test_ci_script_fails_on_impossible(r):
    rc, out, err, reports = ci_script(r, impossible=True)
    check_eq(rc, 1, "exit of the rehearsal script (%s)\n%s" % (err, out))
    check("fix left records the stable code cannot read" in err,
          "reason", err)
    check(report(reports, "fix")["impossible"] > 0, "impossible records")


def test_ci_script_runtime_schemas_pass(r):
    ci_script_runtime_schemas_pass(r)


def test_ci_script_config_schemas(r):
    """Runtime schemas from the config's own schemas key (paths relative to
    the config file) instead of RS_SCHEMAS: the run records them, each
    made absolute."""
    v1, v2 = compile_schemas(r)
    rc, out, err, reports = ci_script(r, False, schemas=[v1, v2],
                                      without=MOVED, config_schemas=True)
    check_eq(rc, 0, "exit of the rehearsal script (%s)\n%s" % (err, out))
    check_passed(r, None, out, reports)
    runs = json.loads(r.expect(0, "runs", "-c",
                               os.path.join(r.work, "rollsafe.yaml"),
                               "--format", "json")[0])["targets"]
    for t in ("orders", "order_events"):
        check_eq(runs[t][-1]["settings"]["schemas"],
                 [os.path.realpath(v1), os.path.realpath(v2)],
                 "%s: the schemas the run recorded" % t)
    lossy = report(reports, "fix")["targets"][0]["samples"]["lossy"]
    check(any("by enum_map" in s["why"] for s in lossy),
          "the generic converter's enum_map at work", lossy)


def test_ci_script_runtime_schemas_moved_field(r):
    """With runtime schemas and the discounts in the workload, fix goes
    through and rollsafe scan is clean afterwards: to a schema, discount(10)
    is a field version 1 does not know, which it ignores (before the fix,
    too, the reason scan gives is ignored_fields on discount(10), where
    the compiled-in type says misread: the value moved). The old reader
    is the judge that knows better: the money of exactly those orders does
    not add up, and the rehearsal fails, before the down migration."""
    v1, v2 = compile_schemas(r)
    rc, out, err, reports = ci_script(r, False, schemas=[v1, v2])
    check_eq(rc, 1, "exit of the rehearsal script (%s)\n%s" % (err, out))
    check("the old reader fails after the fix although rollsafe scan is "
          "clean" in err, "reason", err)
    check("== 4." not in out, "no down migration after the failure", out)
    kinds = manifest(r)["orders"]
    moved = {k for k, kind in kinds.items() if kind in MOVED}
    check(moved, "orders with a moved discount written")
    before = {t["name"]: t for t in
              report(reports, "scan-before")["targets"]}["orders"]
    for s in before["samples"]["unreadable"]:
        if s["key"] in moved:
            check_eq([(x["verdict"], x["path"]) for x in s["reasons"]
                      if x["path"].startswith("discount")],
                     [("ignored_fields", "discount(10)")],
                     "orders %s: what a schema sees of the discount"
                     % s["key"])
    check_eq(report(reports, "scan-after-fix")["exit_code"], 0,
             "scan after the fix")
    bad = defaultdict(set)
    with open(os.path.join(reports, "old-reader-after-fix.txt")) as f:
        for line in f:
            table, key, why = line.rstrip("\n").split("\t", 2)
            check("money in a field version 1 does not read" in why,
                  "old reader on %s %s" % (table, key), why)
            bad[table].add(key)
    check_eq(bad["orders"], moved,
             "orders the old reader fails on after the fix")


def diff_gate_fails(r, diff):
    """The script with a diff gate that does not pass: nothing but the diff
    runs (no migration: the SQLite file is never created)."""
    rc, out, err, reports = ci_script(r, False, schemas=diff[:2], diff=diff)
    check("== 2." not in out, "no step after the diff", out)
    check(not os.path.exists(os.path.join(r.work, "shop.db")),
          "no migration ran")
    check(not os.path.exists(os.path.join(r.work, "manifest.tsv")),
          "no workload ran")
    check_eq(sorted(os.listdir(reports)) if os.path.isdir(reports) else [],
             ["diff.sarif"] if rc == 1 else [], "reports")
    return rc, out, err, reports


def test_ci_script_diff_gate_fails(r):
    """RS_DIFF_OLD = version 1, RS_DIFF_NEW = version 2, descriptor sets
    compiled now: `rollsafe diff` finds what schema/README.md lists
    (AWAITING_AUTH in a closed enum, customer_id no longer required,
    deliver_by's wire type changed) and the script exits 1 before any data
    step, saying why; the SARIF report parses and lists them as errors."""
    v1, v2 = compile_schemas(r)
    rc, out, err, reports = diff_gate_fails(r, (v1, v2, "Order"))
    check_eq(rc, 1, "exit of the rehearsal script (%s)\n%s" % (err, out))
    check("the schema change is not rollback-safe" in err
          and "no migration or workload was run" in err, "reason", err)
    check("ENUM_VALUE_ADDED" in out, "the diff's findings in the log", out)
    errors = {(x["ruleId"], x["locations"][0]["logicalLocations"][0]
               ["fullyQualifiedName"])
              for x in sarif(os.path.join(reports, "diff.sarif"))
              if x["level"] == "error"}
    check_eq(errors, {
        ("ENUM_VALUE_ADDED", "shop.v2.Order.Status.AWAITING_AUTH(6)"),
        ("FIELD_NO_LONGER_REQUIRED", "shop.v2.Order.customer_id(2)"),
        ("FIELD_WIRE_TYPE_CHANGED", "shop.v2.Order.deliver_by(9)")},
        "the errors of the SARIF report")


def test_ci_script_diff_type_not_found(r):
    """A diff that cannot run is a configuration error, not a verdict: a
    type neither version defines (shop.Invoice) exits 2, and so does the
    script, before any data step. The record type shop.Order itself names
    shop.v1.Order and shop.v2.Order, as it does for scan and fix (see
    test_ci_script_diff_gate_fails and the diff case
    shop_v1_v2_record_type)."""
    v1, v2 = compile_schemas(r)
    rc, out, err, reports = diff_gate_fails(r, (v1, v2, "shop.Invoice"))
    check_eq(rc, 2, "exit of the rehearsal script (%s)\n%s" % (err, out))
    check("no message type 'shop.Invoice'" in err
          and "failed with exit 2" in err, "reason", err)


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

    # GitHub Actions: a workflow whose jobs have steps, one running the
    # rehearsal script as the tests above do.
    flows = [(p, d) for p, ds in docs.items() for d in ds
             if "jobs" in d and (True in d or "on" in d)]
    check(flows, "a GitHub Actions workflow", list(docs))
    for path, w in flows:
        for name, job in w["jobs"].items():
            check(job.get("steps"), "%s: job %s has steps" % (path, name))
        check_workflow(path, w)

    # The shell scripts are valid bash.
    for sh in glob.glob(os.path.join(EXAMPLES, "**", "*.sh"), recursive=True):
        p = subprocess.run(["bash", "-n", sh], capture_output=True)
        check_eq(p.returncode, 0, "bash -n %s: %s" % (sh, p.stderr))


def check_workflow(path, w):
    """The workflow runs examples/ci/rollback-rehearsal.sh with runtime
    schemas and the diff gate, on descriptor sets an earlier step builds
    with --include_imports and --include_source_info, sets only variables
    the script reads, and uploads the SARIF report the script writes."""
    with open(SCRIPT) as f:
        script = f.read()
    steps = [s for job in w["jobs"].values() for s in job["steps"]]
    runs = [i for i, s in enumerate(steps)
            if "rollback-rehearsal.sh" in s.get("run", "")]
    check_eq(len(runs), 1, "%s: steps running the rehearsal script" % path)
    i = runs[0]
    env = steps[i]["env"]
    for v in env:
        check(re.search(r"\$\{?%s\b" % v, script),
              "%s: %s is a variable the script reads" % (path, v))
    schemas = env["RS_SCHEMAS"].split()
    check_eq(len(schemas), 2, "%s: RS_SCHEMAS, stable and new" % path)
    check_eq([env["RS_DIFF_OLD"], env["RS_DIFF_NEW"]], schemas,
             "%s: the diff gate compares the schemas scan reads" % path)
    built = {}
    for s in steps[:i]:
        # One command a line, once continuation lines are joined.
        for cmd in s.get("run", "").replace("\\\n", " ").split("\n"):
            m = re.search(r"--descriptor_set_out=(\S+)", cmd)
            if m and cmd.split()[0] == "protoc":
                built[m.group(1)] = cmd
    for d in schemas:
        check(d in built, "%s: %s is built before the rehearsal" % (path, d),
              list(built))
        for opt in ("--include_imports", "--include_source_info"):
            check(opt in built[d], "%s: %s built with %s" % (path, d, opt),
                  built[d])
    report = env["RS_OUT"].rstrip("/") + "/diff.sarif"
    uploads = [s for s in steps[i + 1:]
               if s.get("uses", "").startswith(
                   "github/codeql-action/upload-sarif@")]
    check_eq(len(uploads), 1, "%s: SARIF uploads after the rehearsal" % path)
    sarif_file = uploads[0]["with"]["sarif_file"]
    check(sarif_file == report or any(
        report in s.get("run", "") and sarif_file in s.get("run", "")
        for s in steps[i + 1:]),
        "%s: the upload is %s, or made from it" % (path, report), sarif_file)
    check("always()" in uploads[0].get("if", ""),
          "%s: the SARIF is uploaded when the gate fails too" % path)
    check_eq([job.get("permissions", {}).get("security-events")
              for job in w["jobs"].values()
              if uploads[0] in job["steps"]], ["write"],
             "%s: permission to upload to code scanning" % path)


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
