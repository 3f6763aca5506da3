#!/usr/bin/env python3
"""Tests of the rollsafe command-line tool, run against the built binary.

Usage: test_cli.py --rollsafe BIN --render BIN --protoc PROTOC --schema DIR
                   --work DIR CASE

Each function named test_<case> below is one ctest case (tests/cli.cmake
finds them by name). The records are encoded here by protoc from the text
files under tests/cli/records/<case>/, never by rollsafe itself, so the CLI
and the codec are checked against bytes they did not make:

  v1.txtpb               a raw shop.v1.Order record
  v2.txtpb + header.txtpb  an envelope: 0xF7, 0x01 (envelope major version),
                         varint header length, rollsafe.envelope.Header,
                         then the shop.v2.Order payload
  expected_fields.json   what "fields" must be, key order included

The generic renderer of src/report/json_record.c is also checked on its own
(test_render) with the messages of tests/cli/render/*.proto, through the
rs_render_test driver: each tests/cli/render/cases/<name>.txtpb names its
message in a "# message:" line (and optionally "# encode:" for the type
protoc encodes it as), and <name>.json is the expected rendering.

Exit status: 0 passed, 1 failed (including: could not run, e.g. protoc missing).
"""

import argparse
import base64
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
RECORDS = os.path.join(HERE, "records")
RENDER = os.path.join(HERE, "render")

SKIP = 77
VERDICT_EXIT = {"ok": 0, "ignored_fields": 0, "misread": 1,
                "unreadable": 1, "corrupt": 1}
SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer",
                     "UndefinedBehaviorSanitizer", "runtime error:")


class Failure(Exception):
    pass


class Skip(Exception):
    pass


def check(cond, what, *context):
    if not cond:
        raise Failure(what + "".join("\n  " + str(c) for c in context))


class Ctx:
    def __init__(self, args):
        self.rollsafe = args.rollsafe
        self.render = args.render
        self.protoc = args.protoc
        self.schema = args.schema
        self.work = args.work
        os.makedirs(self.work, exist_ok=True)

    # ---- running the binary --------------------------------------------

    def run(self, *argv, stdin=b""):
        p = subprocess.run([self.rollsafe, *argv], input=stdin,
                           capture_output=True, timeout=60)
        out = p.stdout.decode("utf-8", "replace")
        err = p.stderr.decode("utf-8", "replace")
        for marker in SANITIZER_MARKERS:
            check(marker not in err,
                  "sanitizer report from rollsafe %s" % " ".join(argv), err)
        return p.returncode, out, err

    def expect(self, code, *argv, stdin=b""):
        rc, out, err = self.run(*argv, stdin=stdin)
        check(rc == code, "rollsafe %s: exit %d, expected %d"
              % (" ".join(argv), rc, code), "stdout: " + out[:2000],
              "stderr: " + err)
        return out, err

    def inspect(self, *argv, stdin=b"", code=None):
        """Runs inspect; checks the document and the exit code against
        the verdict; returns (doc, exit code)."""
        rc, out, err = self.run("inspect", *argv, stdin=stdin)
        try:
            doc = json.loads(out)
        except ValueError as e:
            raise Failure("inspect %s: stdout is not JSON (%s), exit %d"
                          % (" ".join(argv), e, rc), out[:2000], err)
        check(isinstance(doc, dict), "document is not an object", out)
        for key in ("format_version", "command", "type", "size", "framing",
                    "written_version", "fields", "verdict"):
            check(key in doc, "document lacks %r" % key, out)
        verdict = doc["verdict"]["verdict"]
        check(verdict in VERDICT_EXIT, "unknown verdict %r" % verdict)
        writer = doc.get("writer")
        check(isinstance(writer, dict) and
              isinstance(writer.get("decided"), bool), "no writer.decided",
              out)
        # A verdict that is no claim about the reader exits 4, never 0.
        want = VERDICT_EXIT[verdict] if writer["decided"] else 4
        check(rc == want, "exit %d does not match verdict %s (decided %s)"
              % (rc, verdict, writer["decided"]), err)
        if code is not None:
            check(rc == code, "exit %d, expected %d" % (rc, code), out, err)
        check(isinstance(doc["verdict"]["reasons"], list), "reasons not a list")
        check(isinstance(doc["verdict"]["reasons_omitted"], int),
              "reasons_omitted not an integer")
        for r in doc["verdict"]["reasons"]:
            for key in ("verdict", "path", "field", "text"):
                check(key in r, "reason lacks %r" % key, r)
            if "offset" in r:
                check(isinstance(r["offset"], int) and r["offset"] >= 0,
                      "bad reason offset", r)
        return doc, rc

    # ---- records, encoded by protoc ------------------------------------

    def protoc_encode(self, msgtype, proto, textfile, include=None):
        if not self.protoc or not os.path.exists(self.protoc):
            raise Skip("protoc not found")
        include = include or self.schema
        with open(textfile, "rb") as f:
            p = subprocess.run([self.protoc, "--encode=" + msgtype,
                                "-I", include, os.path.join(include, proto)],
                               stdin=f, capture_output=True)
        check(p.returncode == 0, "protoc failed on " + textfile,
              p.stderr.decode())
        return p.stdout

    def record(self, case):
        """(bytes, header length or None) of tests/cli/records/<case>."""
        d = os.path.join(RECORDS, case)
        if os.path.exists(os.path.join(d, "v1.txtpb")):
            return self.protoc_encode("shop.v1.Order", "shop/v1/order.proto",
                                      os.path.join(d, "v1.txtpb")), None
        header = self.protoc_encode("rollsafe.envelope.Header",
                                    "rollsafe/envelope.proto",
                                    os.path.join(d, "header.txtpb"))
        payload = self.protoc_encode("shop.v2.Order", "shop/v2/order.proto",
                                     os.path.join(d, "v2.txtpb"))
        return envelope(header, payload), len(header)

    def expected_fields(self, case):
        with open(os.path.join(RECORDS, case, "expected_fields.json")) as f:
            return json.load(f)

    def write(self, name, data):
        path = os.path.join(self.work, name)
        with open(path, "wb") as f:
            f.write(data)
        return path


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def envelope(header, payload):
    return bytes([0xF7, 0x01]) + varint(len(header)) + header + payload


def check_fields(doc, expected):
    check(doc["fields"] == expected, "fields differ",
          "got:      " + json.dumps(doc["fields"], sort_keys=True),
          "expected: " + json.dumps(expected, sort_keys=True))
    check(list(doc["fields"]) == list(expected),
          "fields not in field-number order", list(doc["fields"]))


def reasons_with(doc, **want):
    return [r for r in doc["verdict"]["reasons"]
            if all(r.get(k) == v for k, v in want.items())]


# ---- help, version, usage errors -------------------------------------------

def test_help(ctx):
    out, _ = ctx.expect(0, "--help")
    check(out.startswith("usage: rollsafe"), "--help lacks a usage line", out)
    check(re.search(r"^\s+inspect\s", out, re.M), "--help lists no inspect",
          out)
    out2, _ = ctx.expect(0, "-h")
    check(out2 == out, "-h differs from --help")
    out3, _ = ctx.expect(0, "help")
    check(out3 == out, "help differs from --help")
    out4, _ = ctx.expect(0, "help", "--help")
    check(out4 == out, "help --help differs from --help")


def test_write_error(ctx):
    if not os.path.exists("/dev/full"):
        raise Skip("no /dev/full")
    for argv in (["--help"], ["--version"], ["inspect", "--help"],
                 ["inspect", "--hex"]):
        with open("/dev/full", "wb") as full:
            p = subprocess.run([ctx.rollsafe, *argv], input=b"0a0161",
                               stdout=full, stderr=subprocess.PIPE,
                               timeout=60)
        err = p.stderr.decode("utf-8", "replace")
        check(p.returncode == 3, "%s to a full disk: exit %d, expected 3"
              % (argv, p.returncode), err)
        one_line_error(err, "standard output", os.strerror(28))


def test_help_inspect(ctx):
    out, _ = ctx.expect(0, "help", "inspect")
    for opt in ("--type", "--hex", "--base64", "--reader-version",
                "--reader-framing"):
        check(opt in out, "inspect help lacks " + opt, out)
    out2, _ = ctx.expect(0, "inspect", "--help")
    check(out2 == out, "'inspect --help' differs from 'help inspect'")
    out3, _ = ctx.expect(0, "inspect", "-h")
    check(out3 == out, "'inspect -h' differs from 'help inspect'")


def test_version(ctx):
    out, _ = ctx.expect(0, "--version")
    check(re.fullmatch(r"rollsafe \d+\.\d+\.\d+\S*\n", out),
          "--version prints %r" % out)


def one_line_error(err, *needles):
    lines = err.strip("\n").split("\n")
    check(len(lines) == 1, "error is not one line", err)
    for n in needles:
        check(n in err, "error does not mention %r" % n, err)


def test_no_arguments(ctx):
    _, err = ctx.expect(2)
    check("usage" in err, "no usage on stderr", err)


def test_unknown_option(ctx):
    _, err = ctx.expect(2, "--bogus")
    one_line_error(err, "'--bogus'", "--help")
    _, err = ctx.expect(2, "inspect", "--bogus")
    one_line_error(err, "'--bogus'", "rollsafe inspect --help")
    _, err = ctx.expect(2, "inspect", "--bogus=1")
    one_line_error(err, "'--bogus'")
    _, err = ctx.expect(2, "inspect", "-x")
    one_line_error(err, "'-x'")
    _, err = ctx.expect(2, "inspect", "--hex=yes")
    one_line_error(err, "--hex")
    _, err = ctx.expect(2, "inspect", "--type")
    one_line_error(err, "--type", "needs a value")
    _, err = ctx.expect(2, "inspect", "a", "b")
    one_line_error(err, "'b'")
    _, err = ctx.expect(2, "inspect", "--hex", "--base64")
    one_line_error(err, "--hex", "--base64")


def test_unknown_command(ctx):
    _, err = ctx.expect(2, "frobnicate")
    one_line_error(err, "'frobnicate'", "--help")
    _, err = ctx.expect(2, "help", "frobnicate")
    one_line_error(err, "'frobnicate'")


def test_every_command_listed(ctx):
    out, _ = ctx.expect(0, "--help")
    for name in ("scan", "demo", "inspect", "fix", "restore", "runs",
                 "purge", "diff"):
        check("\n  %s " % name in out, "--help lists %s" % name, out)
        ctx.expect(0, name, "--help")
    out, _ = ctx.expect(0, "help", "diff")
    for rule in ("FIELD_WIRE_TYPE_CHANGED", "ENUM_VALUE_ADDED",
                 "FIELD_DELETED_UNRESERVED"):
        check(rule in out, "diff --help lists rule " + rule, out)



def test_output_unwritable(ctx):
    # An -o or --metrics that cannot be written is refused before any work,
    # naming the option and the path, and leaves no file behind.
    d = os.path.join(ctx.work, "outdir")
    ctx.expect(0, "demo", "--force", "--rows", "50", d)
    base = ["scan", "--sqlite", os.path.join(d, "demo.db"), "--table",
            "orders", "--key", "id", "--column", "payload", "--type",
            "shop.Order", "--format", "json"]
    missing = os.path.join(ctx.work, "no-such-dir")
    for opt in ("-o", "--metrics"):
        target = os.path.join(missing, "report")
        out, err = ctx.expect(3, *base, opt, target)
        one_line_error(err, opt, target, os.strerror(2))
        check(not os.path.exists(missing), "created " + missing)
    out, err = ctx.expect(3, *base, "-o", ctx.work)
    one_line_error(err, "-o", "is a directory")
    _, err = ctx.expect(3, "fix", *base[1:], "-o",
                        os.path.join(missing, "fix.json"))
    one_line_error(err, "-o", missing)
    proto = os.path.join(ctx.schema, "shop", "v1", "order.proto")
    _, err = ctx.expect(3, "diff", proto, proto, "-o",
                        os.path.join(missing, "x.sarif"))
    one_line_error(err, "-o", missing)
    leftovers = [f for f in os.listdir(ctx.work) if ".tmp." in f]
    check(not leftovers, "temporary files left", leftovers)


def test_runs_purge_shared_database(ctx):
    # A config whose targets share one database: one fix is one run, with a
    # row for each of its targets, listed under each; a purge of the run
    # deletes every target's row and backups, or those --target names.
    d = os.path.join(ctx.work, "shared")
    ctx.expect(0, "demo", "--force", "--rows", "200", d)
    cfg = os.path.join(d, "rollsafe.yaml")
    out, _ = ctx.expect(1, "fix", "-c", cfg, "--execute", "--allow-lossy",
                        "--max-passes", "1",
                        "--format", "json")
    doc = json.loads(out)
    run = doc["run_id"]
    runs = {t["name"]: t["run_id"] for t in doc["targets"]
            if t.get("run_id")}
    check(runs == {"orders": run, "order-events": run},
          "one run id for both targets", doc)
    out, _ = ctx.expect(0, "runs", "-c", cfg, "--format", "json")
    listed = json.loads(out)["targets"]
    for name in runs:
        ids = [r["run_id"] for r in listed[name]]
        check(ids == [run], "runs of %s: %r, expected [%r]" % (name, ids, run),
              listed)
    rows = {listed[name][0]["row_id"] for name in runs}
    check(rows == {run, run + "/2"}, "a row of its own for each target",
          listed)
    out, _ = ctx.expect(0, "purge", "-c", cfg, "--run", run, "--target",
                        "orders")
    check(out.count("would be purged") == 1 and out.startswith("orders:"),
          "dry run of --target names that target once", out)
    out, _ = ctx.expect(0, "purge", "-c", cfg, "--run", run, "--target",
                        "orders", "--execute", "--format", "json")
    doc = json.loads(out)
    check(doc["run_id"] == run and doc["executed"] is True
          and doc["backups_deleted"] > 0 and
          [t["name"] for t in doc["targets"]] == ["orders"], "purge report",
          doc)
    out, _ = ctx.expect(0, "runs", "-c", cfg, "--format", "json")
    listed = json.loads(out)["targets"]
    check(listed["orders"] == [] and
          [r["run_id"] for r in listed["order-events"]] == [run],
          "runs after the purge", listed)
    _, err = ctx.expect(2, "purge", "-c", cfg, "--run", run, "--target",
                        "orders", "--execute")
    one_line_error(err, run, "no run")
    out, _ = ctx.expect(0, "purge", "-c", cfg, "--run", run, "--execute")
    check(out.count("purged run %s" % run) == 1 and
          out.startswith("order-events:"), "the rest of the run purged", out)
    out, _ = ctx.expect(0, "runs", "-c", cfg, "--format", "json")
    check(all(v == [] for v in json.loads(out)["targets"].values()),
          "no runs left", out)


def test_fix_error_document(ctx):
    # fix and restore give the document --format json, -o and --metrics ask
    # for on a configuration error too: exit code, no targets, not complete.
    missing = os.path.join(ctx.work, "no-such.yaml")
    for argv in (["fix"], ["restore", "--run", "x"]):
        cmd = argv[0]
        out, err = ctx.expect(3, *argv, "-c", missing, "--format", "json")
        doc = json.loads(out)
        check(doc["exit_code"] == 3 and doc["targets"] == [] and
              doc["complete"] is False, cmd + " error document", doc)
        one_line_error(err, missing)
    report = os.path.join(ctx.work, "fix.json")
    metrics = os.path.join(ctx.work, "fix.prom")
    for f in (report, metrics):
        with open(f, "w") as fh:
            fh.write("stale\n")
    d = os.path.join(ctx.work, "demo")
    ctx.expect(0, "demo", "--force", "--rows", "20", d)
    ctx.expect(2, "fix", "-c", os.path.join(d, "rollsafe.yaml"), "--schema",
               os.path.join(d, "no-such.desc"), "--format", "json", "-o",
               report, "--metrics", metrics)
    with open(report) as fh:
        doc = json.load(fh)
    check(doc["exit_code"] == 2 and doc["targets"] == [], "-o document", doc)
    # An option of another command is named as the option, not its value.
    for argv in (["restore", "--metrics", "m.prom"], ["runs", "--run=r1"],
                 ["purge", "--batch", "5"]):
        _, err = ctx.expect(2, *argv, "-c", missing)
        one_line_error(err, "'%s'" % argv[1].split("=")[0], "does not apply")
    with open(metrics) as fh:
        prom = fh.read()
    check(re.search(r"^rollsafe_fix_exit_code 2$", prom, re.M) and
          prom.endswith("# EOF\n"), "metrics of the error", prom)



def test_diff_error_document(ctx):
    # diff --format json is one document on its error paths too: no
    # findings, the exit code; and only one, when stdout itself fails.
    v1 = os.path.join(ctx.schema, "shop", "v1", "order.proto")
    v2 = os.path.join(ctx.schema, "shop", "v2", "order.proto")
    missing = os.path.join(ctx.work, "no-such.desc")
    for code, argv in ((3, [v1, missing]), (2, [v1, v2, "--type", "Nope"])):
        out, err = ctx.expect(code, "diff", *argv, "--format", "json")
        doc = json.loads(out)
        check(doc["exit_code"] == code and doc["findings"] == [] and
              doc["summary"]["failing"] == 0, "diff error document", doc)
        check(err.count("\n") == 1, "one error line", err)
    report = os.path.join(ctx.work, "diff.json")
    ctx.expect(3, "diff", v1, missing, "--format", "json", "-o", report)
    with open(report) as fh:
        check(json.load(fh)["exit_code"] == 3, "-o error document")
    out, _ = ctx.expect(1, "diff", v1, v2, "--type", "Order", "--format",
                        "json")
    check(json.loads(out)["summary"]["failing"] > 0, "findings", out)



def test_reader_version_too_new(ctx):
    # A reader version the type lacks names the option that gave it.
    d = os.path.join(ctx.work, "demo")
    ctx.expect(0, "demo", "--force", "--rows", "10", d)
    _, err = ctx.expect(2, "scan", "--sqlite", os.path.join(d, "demo.db"),
                        "--table", "orders", "--key", "id", "--column",
                        "payload", "--type", "shop.Order",
                        "--reader-version", "99")
    one_line_error(err, "99", "--reader-version", "newest: 2")


def test_unknown_type(ctx):
    _, err = ctx.expect(2, "inspect", "--type", "shop.Nope", "-",
                        stdin=b"\x0a\x01a")
    one_line_error(err, "'shop.Nope'", "shop.Order")


def test_bad_reader_options(ctx):
    for argv, needle in ((["--reader-version", "3"], "3"),
                         (["--reader-version", "0"], "'0'"),
                         (["--reader-version", "x"], "'x'"),
                         (["--reader-version", "-1"], "'-1'"),
                         (["--reader-framing", "json"], "'json'")):
        _, err = ctx.expect(2, "inspect", *argv, stdin=b"")
        one_line_error(err, needle)


def test_timeout_options(ctx):
    """--lock-timeout and --statement-timeout take durations (a bare number
    is milliseconds, as before); anything else is a usage error naming the
    option and the value, before any target is opened."""
    d, args = demo_scan_args(ctx)
    for cmd, option in (("fix", "--lock-timeout"),
                        ("fix", "--statement-timeout"),
                        ("restore", "--lock-timeout"),
                        ("runs", "--lock-timeout"),
                        ("scan", "--statement-timeout")):
        for bad in ("soon", "0", "0s", "-5s", "10d", "5 s", "25h"):
            extra = ["--run", "x"] if cmd == "restore" else []
            _, err = ctx.expect(2, cmd, *args, *extra, option, bad)
            one_line_error(err, option, "'%s'" % bad)
    # Good ones: a bare number, and each unit.
    for value in ("2000", "1500ms", "90s", "2m", "1h"):
        ctx.expect(0, "runs", *args, "--lock-timeout", value)
        ctx.expect(1, "fix", *args, "--lock-timeout", value,
                   "--statement-timeout", value)
        ctx.expect(1, "scan", *args, "--statement-timeout", value)


def demo_scan_args(ctx):
    d = os.path.join(ctx.work, "demo")
    ctx.expect(0, "demo", "--force", "--rows", "10", d)
    return d, ["--sqlite", os.path.join(d, "demo.db"), "--table", "orders",
               "--key", "id", "--column", "payload", "--type", "shop.Order"]


def test_raw_writer_validation(ctx):
    # --raw-writer must name a registered version of the type: a usage
    # error naming the option and the versions there are.
    d, args = demo_scan_args(ctx)
    for cmd in ("scan", "fix"):
        for value in ("3", "99"):
            _, err = ctx.expect(2, cmd, *args, "--raw-writer", value)
            one_line_error(err, "--raw-writer", value, "versions 1..2")
        for value in ("0", "x", "-1", "2x", ""):
            _, err = ctx.expect(2, cmd, *args, "--raw-writer", value)
            one_line_error(err, "--raw-writer", "'%s'" % value)
        _, err = ctx.expect(2, cmd, *args, "--raw-writer", "1",
                            "--raw-writer", "2")
        one_line_error(err, "--raw-writer")
    _, err = ctx.expect(2, "inspect", "--raw-writer", "3", stdin=b"\x0a\x01a")
    one_line_error(err, "--raw-writer", "3", "versions 1..2")
    _, err = ctx.expect(2, "inspect", "--raw-writer", "auto2",
                        stdin=b"\x0a\x01a")
    one_line_error(err, "--raw-writer", "'auto2'")
    # The config file's raw_writer, at the top and in a target: the file,
    # the key and the versions.
    target = ("targets:\n  - name: orders\n    kind: sqlite-table\n"
              "    connection: demo.db\n    table: orders\n    key: id\n"
              "    column: payload\n    type: shop.Order\n")
    for text, needles in (
            ("raw_writer: 5\n" + target, ("raw_writer", "5", "1..2",
                                          "orders")),
            (target + "    raw_writer: 7\n", ("raw_writer", "7", "1..2",
                                              "orders")),
            (target + "    raw_writer: latest\n", ("raw_writer",
                                                    "latest")),
            ("raw_writer: 0\n" + target, ("raw_writer", "'0'"))):
        path = os.path.join(d, "raw_writer.yaml")
        with open(path, "w") as f:
            f.write(text)
        _, err = ctx.expect(2, "scan", "-c", path)
        one_line_error(err, path, *needles)
    # Valid settings pass, and the command line's wins over the file's.
    path = os.path.join(d, "raw_writer.yaml")
    with open(path, "w") as f:
        f.write("raw_writer: 2\n" + target + "    raw_writer: auto\n")
    # The demo holds records the old reader cannot read: exit 1.
    out, _ = ctx.expect(1, "scan", "-c", path, "--format", "json")
    check(json.loads(out)["targets"][0]["reader"]["raw_writer"] == "auto",
          "a target's raw_writer overrides the top level's", out[:2000])
    out, _ = ctx.expect(1, "scan", "-c", path, "--format", "json",
                        "--raw-writer", "1")
    check(json.loads(out)["targets"][0]["reader"]["raw_writer"] == 1,
          "--raw-writer overrides the file", out[:2000])


def test_inspect_unregistered_version(ctx):
    # An envelope naming format version 3, which the registry lacks: the
    # reader linked with rollsafe reads the payload, but what the writer
    # meant cannot be compared: undetermined, exit 4, never 0.
    data, _ = ctx.record("v3_unregistered")
    path = ctx.write("v3_unregistered.bin", data)
    doc, rc = ctx.inspect("--reader-framing", "envelope", path, code=4)
    w = doc["writer"]
    check(w["basis"] == "unregistered" and w["decided"] is False,
          "writer of an unregistered version", w)
    check(w["raw_writer"] == "auto", "raw_writer setting", w)
    check(doc["written_version"] == 3, "written_version", doc)
    # A plain reader fails on any envelope: that is decided (unreadable).
    doc, rc = ctx.inspect("--reader-framing", "raw", path, code=1)
    check(doc["verdict"]["verdict"] == "unreadable", "plain reader", doc)


def test_inspect_raw_writer_setting(ctx):
    data, _ = ctx.record("v1_paid")
    path = ctx.write("v1_paid_rw.bin", data)
    doc, _ = ctx.inspect(path, code=0)
    check(doc["writer"]["raw_writer"] == "auto", "default setting",
          doc["writer"])
    check(doc["writer"]["basis"] in ("inferred", "given"), "basis",
          doc["writer"])
    doc, _ = ctx.inspect("--raw-writer", "1", path, code=0)
    check(doc["writer"]["raw_writer"] == 1, "given setting", doc["writer"])
    doc, _ = ctx.inspect("--raw-writer", "auto", path, code=0)
    check(doc["writer"]["raw_writer"] == "auto", "auto setting",
          doc["writer"])


def test_missing_file(ctx):
    path = os.path.join(ctx.work, "no", "such", "record.bin")
    _, err = ctx.expect(3, "inspect", path)
    one_line_error(err, path, os.strerror(2))


def test_unreadable_file(ctx):
    # A directory opens but cannot be read.
    _, err = ctx.expect(3, "inspect", ctx.work)
    one_line_error(err, ctx.work, os.strerror(21))


def test_bad_hex(ctx):
    _, err = ctx.expect(2, "inspect", "--hex", stdin=b"0a0b zz")
    one_line_error(err, "'z'", "offset 5")
    path = ctx.write("bad.hex", b"0a\n0b\n0g")
    _, err = ctx.expect(2, "inspect", "--hex", path)
    one_line_error(err, "'g'", "offset 7", path)
    _, err = ctx.expect(2, "inspect", "--hex", stdin=b"0a0b0")
    one_line_error(err, "offset 4")


def test_bad_base64(ctx):
    _, err = ctx.expect(2, "inspect", "--base64", stdin=b"CgFh*A==")
    one_line_error(err, "'*'", "offset 4")
    _, err = ctx.expect(2, "inspect", "--base64", stdin=b"CgF=h")
    one_line_error(err, "padding", "offset 4")
    _, err = ctx.expect(2, "inspect", "--base64", stdin=b"CgFhB")
    one_line_error(err, "offset 4")


# ---- inspect on real records -----------------------------------------------

def test_inspect_v1(ctx):
    data, _ = ctx.record("v1_paid")
    path = ctx.write("v1_paid.bin", data)
    doc, _ = ctx.inspect(path, code=0)
    check(doc["type"] == "shop.Order", "type", doc["type"])
    check(doc["size"] == len(data), "size", doc["size"], len(data))
    check(doc["framing"] == "raw", "framing", doc["framing"])
    check(doc["written_version"] == 1, "written_version")
    for key in ("provenance", "fingerprint", "error", "as_reader"):
        check(key not in doc, "a raw v1 record has %r" % key, doc)
    check_fields(doc, ctx.expected_fields("v1_paid"))
    v = doc["verdict"]
    check(v["verdict"] == "ok", "verdict", v)
    check(v["reader_version"] == 1, "reader_version", v)
    check(v["reasons"] == [] and v["reasons_omitted"] == 0, "reasons", v)
    check(list(doc)[:7] == ["format_version", "command", "rollsafe_version",
                            "type", "size", "framing", "written_version"],
          "key order", list(doc))


def test_inspect_psql_bytea_text(ctx):
    # psql shows bytea as \x and hex digits; inspect --hex takes that text
    # from a file or standard input, as it takes base64 in either alphabet.
    import base64
    data, _ = ctx.record("v1_paid")
    text = "\\x" + data.hex()
    for argv, stdin in ((["--hex", ctx.write("v1_paid.psql", text.encode())],
                         b""),
                        (["--hex", "-"], b"  " + text.upper().encode()
                         .replace(b"\\X", b"\\x") + b"\n"),
                        (["--base64", "-"], base64.urlsafe_b64encode(data)
                         .rstrip(b"="))):
        doc, _ = ctx.inspect(*argv, stdin=stdin, code=0)
        check(doc["size"] == len(data), "size of %s" % argv, doc["size"])
        check_fields(doc, ctx.expected_fields("v1_paid"))
    # "\x" only at the start: another one is a bad character.
    _, err = ctx.expect(2, "inspect", "--hex", stdin=b"\\x0a\\x0b")
    one_line_error(err, "offset 4")


def check_v2_envelope(ctx, doc, data, header_len, case):
    check(doc["framing"] == "envelope", "framing", doc["framing"])
    check(doc["written_version"] == 2, "written_version")
    check(doc["size"] == len(data), "size")
    check(doc["payload_offset"] == 2 + len(varint(header_len)) + header_len,
          "payload_offset", doc["payload_offset"])
    check_fields(doc, ctx.expected_fields(case))


def test_inspect_v2_awaiting_auth(ctx):
    data, hlen = ctx.record("v2_awaiting_auth")
    path = ctx.write("v2_awaiting_auth.bin", data)
    doc, _ = ctx.inspect(path, code=1)
    check_v2_envelope(ctx, doc, data, hlen, "v2_awaiting_auth")
    check(doc["provenance"] == {
        "flag_key": "checkout_v2", "variant": "on",
        "writer_id": "orders-api 4.2.0 pod-7",
        "write_time": "2024-05-01T12:34:56.123456Z",
        "write_time_us": 1714566896123456}, "provenance", doc["provenance"])
    check(doc["fingerprint"] is None and doc["fingerprint_matches"] is None,
          "no fingerprint was written", doc)
    # The default old reader is plain protobuf code: an envelope defeats it.
    v = doc["verdict"]
    check(v["reader_version"] == 1, "reader_version", v)
    check(v["verdict"] == "unreadable", "verdict", v)
    # What `fix` would write for that reader.
    a = doc["as_reader"]
    check(a["result"] in ("lossless", "lossy", "impossible"), "result", a)
    check(isinstance(a["losses"], list), "losses", a)
    for loss in a["losses"]:
        for key in ("kind", "path", "field", "text"):
            check(key in loss, "loss lacks %r" % key, loss)
    if a["result"] == "impossible":
        check("error" in a and "bytes" not in a, "impossible with bytes", a)
    else:
        check(isinstance(a["bytes"], int) and a["bytes"] > 0, "bytes", a)
        # Version 1 has no AWAITING_AUTH: the down-conversion must say
        # what it did to status(4).
        check(a["result"] == "lossy" and
              any(l["path"] == "status(4)" for l in a["losses"]),
              "no loss reported for status(4)", a)


def test_inspect_v2_awaiting_auth_envelope_reader(ctx):
    data, _ = ctx.record("v2_awaiting_auth")
    path = ctx.write("v2_awaiting_auth.bin", data)
    doc, _ = ctx.inspect("--reader-framing", "envelope", path, code=1)
    v = doc["verdict"]
    check(v["verdict"] == "misread", "verdict", v)
    check(v["reader_framing"] == "envelope", "reader_framing", v)
    hits = reasons_with(doc, path="status(4)", field=4)
    check(hits, "no reason about status(4)", v)
    check(hits[0]["verdict"] == "misread", "status(4) reason verdict", hits)
    # Same reader named explicitly.
    doc2, _ = ctx.inspect("--reader-framing", "envelope", "--reader-version",
                          "1", path, code=1)
    check(doc2 == doc, "--reader-version 1 differs from the default")
    # A version-2 reader reads its own record.
    doc3, _ = ctx.inspect("--reader-version", "2", path, code=0)
    check(doc3["verdict"]["verdict"] == "ok", "v2 reader", doc3["verdict"])
    check("as_reader" not in doc3, "as_reader for the record's own version")


def test_reader_runtime(ctx):
    # --reader-runtime and --reader-option: bad values are usage errors
    # naming them, for every command that judges records.
    d, args = demo_scan_args(ctx)
    for cmd, extra in (("scan", args), ("fix", args), ("inspect", []),
                       ("diff", [])):
        stdin = b"\x0a\x01a" if cmd == "inspect" else b""
        for argv, needles in (
                (["--reader-runtime", "rust"], ("--reader-runtime", "'rust'")),
                (["--reader-runtime", "go", "--reader-runtime", "cpp"],
                 ("--reader-runtime", "twice")),
                (["--reader-option", "frob=1"], ("--reader-option",
                                                 "'frob=1'")),
                (["--reader-option", "recursion_limit=0"],
                 ("recursion_limit",)),
                (["--reader-option", "allow_partial=yes"],
                 ("allow_partial",)),
                # An option the runtime does not have.
                (["--reader-option", "allow_partial=true"],
                 ("allow_partial", "protobuf-c")),
                (["--reader-runtime", "python", "--reader-option",
                  "recursion_limit=200"], ("recursion_limit", "Python")),
                (["--reader-runtime", "cpp", "--reader-option",
                  "discard_unknown=true"], ("discard_unknown", "C++")),
                (["--reader-runtime", "go", "--reader-option",
                  "extension_registry=true"], ("extension_registry", "Go")),
                (["--reader-runtime", "java", "--reader-option",
                  "extension_registry=maybe"],
                 ("extension_registry=maybe", "true or false"))):
            if cmd == "diff":
                v1 = os.path.join(ctx.schema, "shop", "v1", "order.proto")
                v2 = os.path.join(ctx.schema, "shop", "v2", "order.proto")
                extra = [v1, v2]
            _, err = ctx.expect(2, cmd, *extra, *argv, stdin=stdin)
            one_line_error(err, *needles)

    # inspect: the verdict names the runtime, and its reasons are the
    # runtime's. Version 1's closed enum Status has no AWAITING_AUTH:
    # protobuf-c keeps the number, C++ sends it to the unknown fields.
    data, _ = ctx.record("v2_awaiting_auth")
    path = ctx.write("v2_awaiting_auth.bin", data)
    texts = {}
    for runtime in ("protobuf-c", "cpp", "java", "go", "python"):
        doc, _ = ctx.inspect("--reader-framing", "envelope",
                             "--reader-runtime", runtime, path, code=1)
        v = doc["verdict"]
        check(v["reader_runtime"]["name"] == runtime, "reader_runtime", v)
        hits = reasons_with(doc, path="status(4)", field=4)
        check(hits, "%s: no reason about status(4)" % runtime, v)
        texts[runtime] = " ".join(h["text"] for h in hits)
    doc, _ = ctx.inspect("--reader-framing", "envelope", path, code=1)
    check(doc["verdict"]["reader_runtime"]["name"] == "protobuf-c",
          "the default runtime", doc["verdict"])
    check("protobuf-c keeps the number" in texts["protobuf-c"] and
          "Go keeps the number" in texts["go"] and
          "C++ keeps it as an unknown field" in texts["cpp"] and
          "Java keeps it as an unknown field" in texts["java"],
          "the reasons are not each runtime's", texts)

    # The config file: reader_runtime and reader_options at the top and in
    # a target, a target's over the top's, the command line's over both.
    target = ("targets:\n  - name: orders\n    kind: sqlite-table\n"
              "    connection: demo.db\n    table: orders\n    key: id\n"
              "    column: payload\n    type: shop.Order\n")
    cfg = os.path.join(d, "runtime.yaml")
    for text, needles in (
            ("reader_runtime: rust\n" + target,
             (cfg, "reader_runtime", "'rust'")),
            ("reader_runtime: [go]\n" + target, (cfg, "reader_runtime")),
            (target + "    reader_options: {frob: 1}\n",
             (cfg, "frob", "reader_options")),
            (target + "    reader_options: {recursion_limit: -3}\n",
             (cfg, "recursion_limit")),
            ("reader_runtime: python\n" + target +
             "    reader_options: {allow_partial: true}\n",
             (cfg, "reader_options", "allow_partial", "python",
              "target 'orders'")),
            ("reader_options: {discard_unknown: true}\n" + target,
             (cfg, "reader_options", "discard_unknown", "protobuf-c")),
            ("reader_options: {extension_registry: false}\n" + target,
             (cfg, "reader_options", "extension_registry", "protobuf-c")),
            ("reader_runtime: java\nreader_options: {extension_registry: 1}\n"
             + target,
             (cfg, "extension_registry", "expected true or false"))):
        with open(cfg, "w") as f:
            f.write(text)
        _, err = ctx.expect(2, "scan", "-c", cfg)
        one_line_error(err, *needles)
    with open(cfg, "w") as f:
        f.write("reader_runtime: java\nreader_options: {recursion_limit: 50}"
                "\n" + target + "    reader_runtime: go\n"
                "    reader_options: {allow_partial: true}\n")
    metrics = os.path.join(d, "runtime.prom")
    out, _ = ctx.expect(1, "scan", "-c", cfg, "--format", "json",
                        "--metrics", metrics)
    rt = json.loads(out)["targets"][0]["reader"]["runtime"]
    check(rt == {"name": "go", "allow_partial": True,
                 "discard_unknown": False, "recursion_limit": None,
                 "extension_registry": None},
          "a target's runtime and options win over the file's", rt)
    with open(metrics) as f:
        prom = f.read()
    check('rollsafe_scan_reader{target="orders",version="1",framing="raw",'
          'runtime="go"} 1' in prom, "no reader metric", prom[:3000])
    out, _ = ctx.expect(1, "scan", "-c", cfg, "--reader-runtime", "cpp",
                        "--reader-option", "recursion_limit=20")
    check("version 1, raw framing, cpp runtime (recursion_limit 20)" in out,
          "the command line wins; the text report names the runtime",
          out[:3000])
    # fix (a dry run) and diff name the runtime too.
    out, _ = ctx.expect(1, "fix", *args, "--reader-runtime", "python",
                        "--format", "json")
    check(json.loads(out)["targets"][0]["reader"]["runtime"]["name"] ==
          "python", "fix's reader.runtime", out[:2000])
    v1 = os.path.join(ctx.schema, "shop", "v1", "order.proto")
    v2 = os.path.join(ctx.schema, "shop", "v2", "order.proto")
    out, _ = ctx.expect(1, "diff", v1, v2, "--reader-runtime", "java",
                        "--format", "json")
    check(json.loads(out)["reader_runtime"]["name"] == "java",
          "diff's reader_runtime", out[:2000])


def test_inspect_v2_guest(ctx):
    data, hlen = ctx.record("v2_guest")
    path = ctx.write("v2_guest.bin", data)
    doc, _ = ctx.inspect(path, code=1)
    check_v2_envelope(ctx, doc, data, hlen, "v2_guest")
    check("customer_id" not in doc["fields"], "unset customer_id rendered")
    check(doc["provenance"]["writer_id"] is None, "writer_id", doc)
    check(doc["provenance"]["write_time"] is None, "write_time", doc)
    check(doc["provenance"]["write_time_us"] == 0, "write_time_us", doc)
    check(doc["verdict"]["verdict"] == "unreadable", "verdict", doc["verdict"])
    # Even a reader that unwraps envelopes fails: required field 2 is missing.
    doc, _ = ctx.inspect("--reader-framing", "envelope", path, code=1)
    check(doc["verdict"]["verdict"] == "unreadable", "verdict", doc["verdict"])
    check(reasons_with(doc, field=2, verdict="unreadable"),
          "no unreadable reason about customer_id (2)", doc["verdict"])


def test_inspect_v2_deliver_by(ctx):
    data, hlen = ctx.record("v2_deliver_by")
    path = ctx.write("v2_deliver_by.bin", data)
    doc, _ = ctx.inspect("--reader-framing", "envelope", path, code=1)
    check_v2_envelope(ctx, doc, data, hlen, "v2_deliver_by")
    check(doc["verdict"]["verdict"] == "unreadable", "verdict", doc["verdict"])
    hits = reasons_with(doc, path="deliver_by(9)", field=9,
                        verdict="unreadable")
    check(hits, "no unreadable reason about deliver_by(9)", doc["verdict"])
    # The offset is where field 9 starts in the stored bytes: its tag,
    # 0x4a (field 9, wire type 2), is there.
    off = hits[0].get("offset")
    check(isinstance(off, int) and off < len(data) and data[off] == 0x4A,
          "reason offset %r does not point at field 9's tag" % off)


def test_inspect_fingerprint(ctx):
    data, hlen = ctx.record("v2_wrong_fingerprint")
    path = ctx.write("v2_wrong_fingerprint.bin", data)
    doc, _ = ctx.inspect("--reader-framing", "envelope", path, code=0)
    check_v2_envelope(ctx, doc, data, hlen, "v2_wrong_fingerprint")
    check(doc["fingerprint"] == "0123456789abcdef", "fingerprint", doc)
    check(doc["fingerprint_matches"] is False, "fingerprint_matches", doc)
    check(doc["verdict"]["verdict"] == "ignored_fields", "verdict",
          doc["verdict"])
    # One microsecond before the epoch.
    check(doc["provenance"]["write_time"] == "1969-12-31T23:59:59.999999Z",
          "write_time", doc["provenance"])
    check(doc["provenance"]["variant"] == "treatment-b", "variant")
    # A record the library wrote itself carries version 2's fingerprint.
    example = os.path.join(HERE, "..", "..", "examples", "records",
                           "order-v2.bin")
    if os.path.exists(example):
        doc, _ = ctx.inspect(example)
        check(re.fullmatch(r"[0-9a-f]{16}", doc["fingerprint"] or ""),
              "example fingerprint", doc.get("fingerprint"))
        check(doc["fingerprint_matches"] is True, "example fingerprint "
              "does not match", doc["fingerprint"])


def test_inspect_text_input(ctx):
    data, _ = ctx.record("v2_awaiting_auth")
    path = ctx.write("v2_awaiting_auth.bin", data)
    want, _ = ctx.inspect(path)
    # Hex with line breaks and mixed case, from a file and from stdin.
    hx = data.hex()
    text = "\n".join(hx[i:i + 32] for i in range(0, len(hx), 32)).upper()
    text = ("  " + text + "\n").encode()
    hex_path = ctx.write("v2.hex", text)
    for argv, stdin in ((["--hex", hex_path], b""), (["--hex"], text),
                        (["--hex", "-"], text)):
        doc, _ = ctx.inspect(*argv, stdin=stdin)
        check(doc == want, "inspect %s differs from binary" % argv)
    b64 = base64.encodebytes(data)  # 76-column lines
    for argv, stdin in ((["--base64"], b64),
                        (["--base64"], base64.urlsafe_b64encode(data).rstrip(b"="))):
        doc, _ = ctx.inspect(*argv, stdin=stdin)
        check(doc == want, "inspect %s differs from binary" % argv)
    # Binary from stdin.
    doc, _ = ctx.inspect(stdin=data)
    check(doc == want, "binary stdin differs from the file")
    doc, _ = ctx.inspect("-", stdin=data)
    check(doc == want, "binary '-' differs from the file")


def test_inspect_garbage(ctx):
    for name, data in (("varint", b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"),
                       ("wiretype", b"\x0f\x00garbage\x00\x07"),
                       ("envelope", b"\xf7\x01\x7f\x0a\x01"),
                       ("envelope_major", b"\xf7\x09\x00")):
        path = ctx.write("garbage_%s.bin" % name, data)
        doc, _ = ctx.inspect(path, code=1)
        check(doc["fields"] is None, "%s: fields of garbage" % name, doc)
        check(doc["error"]["code"].startswith("RS_E"), "%s: error code" % name,
              doc["error"])
        check(doc["error"]["message"], "%s: no error message" % name)
        check(doc["verdict"]["verdict"] in ("corrupt", "unreadable"),
              "%s: verdict" % name, doc["verdict"])
        check("as_reader" not in doc, "%s: as_reader of garbage" % name)
    # Bytes no version decodes are corrupt.
    doc, _ = ctx.inspect(ctx.write("garbage.bin", b"\xff" * 11), code=1)
    check(doc["verdict"]["verdict"] == "corrupt", "verdict", doc["verdict"])


def test_inspect_unknown_fields(ctx):
    data, _ = ctx.record("v1_paid")
    # Field 20, varint 5, and field 21, 3 bytes: neither is in version 1.
    data += b"\xa0\x01\x05" + b"\xaa\x01\x03abc"
    doc, _ = ctx.inspect(ctx.write("v1_unknown.bin", data))
    check(doc["fields"].get("unknown_fields") == [
        {"number": 20, "wire_type": 0, "length": 1},
        {"number": 21, "wire_type": 2, "length": 3}],
        "unknown_fields", doc["fields"])


def test_inspect_empty(ctx):
    # The empty record is legacy raw protobuf with every field unset.
    doc, _ = ctx.inspect(ctx.write("empty.bin", b""))
    check(doc["size"] == 0, "size")
    check(doc["framing"] in ("raw", None), "framing", doc["framing"])


# ---- the generic renderer on its own ----------------------------------------

def render(ctx, message, data):
    p = subprocess.run([ctx.render, message], input=data, capture_output=True,
                       timeout=60)
    err = p.stderr.decode("utf-8", "replace")
    for marker in SANITIZER_MARKERS:
        check(marker not in err, "sanitizer report from rs_render_test", err)
    check(p.returncode == 0, "rs_render_test %s: exit %d" % (message,
                                                              p.returncode), err)
    return json.loads(p.stdout)


def test_render(ctx):
    cases = sorted(f[:-6] for f in os.listdir(os.path.join(RENDER, "cases"))
                   if f.endswith(".txtpb"))
    check(cases, "no render cases")
    failures = []
    for case in cases:
        text = os.path.join(RENDER, "cases", case + ".txtpb")
        with open(text) as f:
            head = f.read()
        message = re.search(r"^# message: (\S+)", head, re.M).group(1)
        enc = re.search(r"^# encode: (\S+)", head, re.M)
        enc = enc.group(1) if enc else message
        proto = ("render_test3.proto" if enc.startswith("rstest3.")
                 else "render_test.proto")
        data = ctx.protoc_encode(enc, proto, text, include=RENDER)
        got = render(ctx, message, data)
        with open(os.path.join(RENDER, "cases", case + ".json")) as f:
            want = json.load(f)
        if got != want or list(got) != list(want):
            failures.append("%s:\n    got:      %s\n    expected: %s"
                            % (case, json.dumps(got), json.dumps(want)))
    check(not failures, "render cases differ:", *failures)


def test_render_deep(ctx):
    # Inner.next (field 2) nested 1100 deep: levels past the renderer's
    # depth limit (RS__JSON_MAX_DEPTH, 256) are null, and nothing overflows.
    data = b"\x08\x01"  # a: 1 in the innermost message
    for _ in range(1100):
        data = b"\x12" + varint(len(data)) + data
    doc = render(ctx, "rstest.Inner", data)
    depth = 0
    while isinstance(doc, dict) and "next" in doc:
        doc = doc["next"]
        depth += 1
    check(depth == 257 and doc is None, "stopped at depth %d with %r"
          % (depth, doc))


TESTS = {name[5:]: fn for name, fn in sorted(globals().items())
         if name.startswith("test_") and callable(fn)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rollsafe", required=True)
    ap.add_argument("--render", required=True)
    ap.add_argument("--protoc", default="")
    ap.add_argument("--schema", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("case", nargs="?")
    ap.add_argument("--list", action="store_true")
    args = ap.parse_args()
    if args.list:
        print("\n".join(TESTS))
        return 0
    if args.case not in TESTS:
        print("no test case %r" % args.case, file=sys.stderr)
        return 1
    args.work = os.path.join(args.work, args.case)
    try:
        TESTS[args.case](Ctx(args))
    except Skip as e:
        # A case that cannot run has not passed: fail loudly, never skip.
        print("FAIL (not run): %s" % e)
        return 1
    except Failure as e:
        print("FAIL: %s" % e)
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
