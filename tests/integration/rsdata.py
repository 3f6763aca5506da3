"""Shared by the integration tests: records of the example domain written
independently of rollsafe, and a small harness to run the built binary.

Records are built with Python's protobuf (python3-protobuf) from the .proto
files under schema/, and envelopes with the byte layout of schema/README.md
as reimplemented in tests/fixtures/golden/generate.py. rollsafe's codec never
writes the data it is tested on here.
"""

import importlib.util
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))

_spec = importlib.util.spec_from_file_location(
    "rs_generate", os.path.join(ROOT, "tests", "fixtures", "golden",
                                "generate.py"))
gen = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gen)

SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer", "ThreadSanitizer",
                     "UndefinedBehaviorSanitizer", "runtime error:")

VERDICTS = ("ok", "ignored_fields", "misread", "unreadable", "corrupt")


class Failure(Exception):
    pass


def check(cond, what, *context):
    if not cond:
        raise Failure(what + "".join("\n  " + str(c) for c in context))


def check_eq(got, want, what):
    check(got == want, "%s: got %r, want %r" % (what, got, want))


# What the version-1 reader makes of each kind of record. "envelope" is a
# reader linked with rollsafe at version 1; "raw" is plain protobuf-c code,
# to which any envelope is unreadable.
EXPECTED = {
    "v1":            {"envelope": "ok",             "raw": "ok"},
    "v2_plain":      {"envelope": "ok",             "raw": "unreadable"},
    "v2_gift":       {"envelope": "ignored_fields", "raw": "unreadable"},
    "v2_awaiting":   {"envelope": "misread",        "raw": "unreadable"},
    "v2_guest":      {"envelope": "unreadable",     "raw": "unreadable"},
    "corrupt":       {"envelope": "corrupt",        "raw": "corrupt"},
}


class Records:
    """Builds shop.Order records of each kind in EXPECTED."""

    def __init__(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="rs-records-")
        self.v1m, self.v2m, self.env = gen.load_schema(self._tmp.name)
        self.fp2 = gen.fingerprint(self.v2m.Order.DESCRIPTOR)

    def _items(self, o):
        a = o.items.add()
        a.sku, a.quantity, a.unit_price_cents = "SKU-TEA-250", 2, 1299

    def v1(self, n):
        o = self.v1m.Order()
        o.order_id = "O-%d" % n
        o.customer_id = "C-%d" % (n % 977)
        o.total_cents = 2598
        o.status = 2
        self._items(o)
        return gen.serialize(o)

    def v2(self, kind, n, flag="checkout_v2", variant="on",
           write_time_us=1768473000000000, writer="orders-api 4.2.0",
           order_id=None):
        o = self.v2m.Order()
        o.order_id = order_id if order_id is not None else "O-%d" % n
        o.customer_id = "C-%d" % (n % 977)
        o.total_cents = 2598
        o.status = 2
        self._items(o)
        if kind == "v2_gift":
            o.gift_message = "happy birthday"
        elif kind == "v2_awaiting":
            o.status = 6  # AWAITING_AUTH: not in version 1's enum
        elif kind == "v2_guest":
            o.ClearField("customer_id")  # required in version 1
        elif kind != "v2_plain":
            raise ValueError(kind)
        h = self.env.Header()
        h.record_type = "shop.Order"
        h.format_version = 2
        if flag is not None:
            h.provenance.flag_key = flag
        if variant is not None:
            h.provenance.variant = variant
        h.provenance.writer_id = writer
        h.provenance.write_time_us = write_time_us
        h.schema_fingerprint = self.fp2
        return gen.envelope(gen.serialize(h), gen.serialize(o))

    def envelope(self, n, format_version=2, flag="checkout_v2", variant="on",
                 write_time_us=1768473000000000, provenance=True):
        """An envelope naming any @format_version (one the registry may
        lack) around a plain version-2 payload that every reader reads;
        without @provenance, the header carries none."""
        o = self.v2m.Order()
        o.order_id = "O-%d" % n
        o.customer_id = "C-%d" % (n % 977)
        o.total_cents = 2598
        o.status = 2
        self._items(o)
        h = self.env.Header()
        h.record_type = "shop.Order"
        h.format_version = format_version
        if provenance:
            if flag is not None:
                h.provenance.flag_key = flag
            if variant is not None:
                h.provenance.variant = variant
            h.provenance.writer_id = "orders-api 5.0.0"
            h.provenance.write_time_us = write_time_us
        return gen.envelope(gen.serialize(h), gen.serialize(o))

    @staticmethod
    def corrupt(n):
        # Field 1 (order_id) announces 100 bytes and has 3: no version
        # decodes it.
        return b"\x0a\x64abc" + bytes([n % 256])

    def make(self, kind, n, **kw):
        if kind == "v1":
            return self.v1(n)
        if kind == "corrupt":
            return self.corrupt(n)
        return self.v2(kind, n, **kw)


class Runner:
    def __init__(self, rollsafe, work):
        self.rollsafe = rollsafe
        self.work = work
        os.makedirs(work, exist_ok=True)

    def run(self, *argv, timeout=300, env=None):
        p = subprocess.run([self.rollsafe, *argv], capture_output=True,
                           timeout=timeout, env=env)
        out = p.stdout.decode("utf-8", "replace")
        err = p.stderr.decode("utf-8", "replace")
        for marker in SANITIZER_MARKERS:
            check(marker not in err,
                  "sanitizer report from rollsafe %s" % " ".join(argv), err)
        return p.returncode, out, err

    def expect(self, code, *argv, **kw):
        rc, out, err = self.run(*argv, **kw)
        check(rc == code, "rollsafe %s: exit %d, want %d"
              % (" ".join(argv), rc, code), "stdout: " + out[-3000:],
              "stderr: " + err[-3000:])
        return out, err

    def scan_json(self, code, *argv, **kw):
        out, err = self.expect(code, "scan", "--format", "json", *argv, **kw)
        try:
            return json.loads(out), err
        except ValueError as e:
            raise Failure("scan output is not JSON (%s): %s" % (e, out[:2000]))


# What a restore's report counts, and what its dry run must predict.
RESTORE_COUNTS = ("restored", "conflicts", "in_flight", "gone", "exit_code")


def restore_json(r, code, args, run_id, execute):
    """`rollsafe restore` of one target as JSON, expecting exit @code."""
    out, _ = r.expect(code, "restore", *args, "--run", run_id, "--format",
                      "json", "--samples", "1000",
                      *(["--execute"] if execute else []))
    doc = json.loads(out)
    check_eq(doc["executed"], bool(execute), "restore executed")
    return doc


def restore_summary(doc):
    """Counts, outcomes and the keys of each outcome of a restore report,
    with the reason of each row left alone (a conflict already restored is
    named so, as the execute names it)."""
    t = doc["targets"][0]
    return ({k: doc[k] for k in RESTORE_COUNTS}, t["outcomes"],
            {o: sorted((s["key"], s["why"] if o != "restored" else "")
                       for s in keys)
             for o, keys in t["samples"].items()})


def restore_why(doc, outcome):
    """{key: why} of one outcome's samples."""
    return {s["key"]: s["why"] for s in doc["targets"][0]["samples"][outcome]}


def check_restore_predicted(r, code, args, run_id):
    """A restore's dry run, then its execute: the same exit code, counts and
    keys in each outcome. Returns both reports."""
    dry = restore_json(r, code, args, run_id, False)
    done = restore_json(r, code, args, run_id, True)
    check_eq(restore_summary(dry), restore_summary(done),
             "the dry run predicts the execute (counts, keys, exit code)")
    return dry, done


def run_cases(tests, argv=None):
    """main() of a test script: --rollsafe BIN --work DIR CASE."""
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("--rollsafe", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--list", action="store_true")
    ap.add_argument("case", nargs="?")
    args = ap.parse_args(argv)
    if args.list:
        print("\n".join(tests))
        return 0
    if args.case not in tests:
        print("no test case %r" % args.case, file=sys.stderr)
        return 1
    work = os.path.join(args.work, args.case)
    if os.path.isdir(work):
        import shutil
        shutil.rmtree(work)
    try:
        tests[args.case](Runner(args.rollsafe, work))
    except Failure as e:
        print("FAIL: %s" % e)
        return 1
    print("PASS")
    return 0
