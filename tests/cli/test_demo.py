#!/usr/bin/python3
"""Tests of `rollsafe demo`, run against the built binary.

Usage: test_demo.py --rollsafe BIN --protoc PROTOC --schema DIR --work DIR CASE

Each function named test_<case> below is one ctest case, demo.<case>
(tests/demo.cmake finds them by name). Run with Debian's /usr/bin/python3
(package python3-protobuf).

The database is checked independently of the codec that wrote it: the
schema is compiled with protoc --python_out into a temporary directory, the
rows are read with Python's sqlite3 and parsed with Python's protobuf, and
the envelope is taken apart here from its description in schema/README.md.
What the old reader makes of each kind of row is asked of `rollsafe
inspect` and `rollsafe scan`, and compared with what schema/README.md says.

Exit status: 0 passed, 1 failed (including: could not run, e.g. protoc or
google.protobuf missing).
"""

import argparse
import datetime
import glob
import importlib.util
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer",
                     "UndefinedBehaviorSanitizer", "runtime error:")
PROTOS = ["shop/v1/order.proto", "shop/v2/order.proto",
          "rollsafe/envelope.proto"]

KINDS = ["plain", "new_fields", "pickup_store", "awaiting_auth",
         "discount_usd", "discount_sub_cent", "discount_non_usd",
         "guest_checkout", "deliver_by_timestamp"]

# What a version-1 reader that unwraps envelopes makes of each kind of row
# (schema/README.md, "shop.Order: what changed in version 2"), and the
# field path the reason must name.
ENVELOPE_VERDICT = {
    "v1": ("ok", None),
    "plain": ("ok", None),
    "new_fields": ("ignored_fields", None),  # promo_codes(11)/gift_message(12)
    "pickup_store": ("ignored_fields", "pickup_store_id(13)"),
    "awaiting_auth": ("misread", "status(4)"),
    "discount_usd": ("misread", "discount(10)"),
    "discount_sub_cent": ("misread", "discount(10)"),
    "discount_non_usd": ("misread", "discount(10)"),
    "guest_checkout": ("unreadable", "customer_id(2)"),
    "deliver_by_timestamp": ("unreadable", "deliver_by(9)"),
    "corrupt": ("corrupt", None),
}

# Down-conversion to version 1 (the "as_reader" of inspect), same table.
DOWN_CONVERSION = {
    "plain": "lossless",
    "new_fields": "lossless",
    "pickup_store": "lossless",
    "awaiting_auth": "lossy",
    "discount_usd": "lossless",
    "discount_sub_cent": "lossy",
    "discount_non_usd": "impossible",
    "guest_checkout": "impossible",
    # deliver_by_timestamp: lossless without nanos, lossy with them
}

WINDOW_S = 2 * 3600


class Failure(Exception):
    pass


def check(cond, what, *context):
    if not cond:
        raise Failure(what + "".join("\n  " + str(c) for c in context))


def one_line_error(err, *needles):
    lines = err.strip("\n").split("\n")
    check(len(lines) == 1, "error is not one line", err)
    for n in needles:
        check(n in err, "error does not mention %r" % n, err)


# ---- the envelope, from schema/README.md -----------------------------------

def read_varint(buf, pos):
    value, shift = 0, 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise ValueError("truncated varint")
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return value, pos


def split_envelope(data):
    """(header bytes, payload bytes) of an envelope; ValueError if it is not
    one."""
    if len(data) < 3 or data[0] != 0xF7 or data[1] != 0x01:
        raise ValueError("no envelope marker and major version 1")
    hlen, pos = read_varint(data, 2)
    if hlen > 4096 or pos + hlen > len(data):
        raise ValueError("header runs past the end")
    return data[pos:pos + hlen], data[pos + hlen:]


class Schema:
    def __init__(self, protoc, schema_dir):
        if not protoc or not os.path.exists(protoc):
            raise Failure("protoc not found: install protobuf-compiler")
        try:
            from google.protobuf.message import DecodeError
        except ImportError:
            raise Failure("google.protobuf is missing for %s: install "
                          "python3-protobuf and run with /usr/bin/python3"
                          % sys.executable)
        self.DecodeError = DecodeError
        self.tmp = tempfile.mkdtemp(prefix="rs-demo-pb-")
        subprocess.run([protoc, "--python_out=" + self.tmp, "-I" + schema_dir]
                       + PROTOS, check=True)
        mods = {}
        for proto in PROTOS:
            stem = proto[:-len(".proto")]
            name = "rs_demo_" + stem.replace("/", "_") + "_pb2"
            spec = importlib.util.spec_from_file_location(
                name, os.path.join(self.tmp, stem + "_pb2.py"))
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)
            mods[stem] = mod
        self.v1 = mods["shop/v1/order"]
        self.v2 = mods["shop/v2/order"]
        self.env = mods["rollsafe/envelope"]

    def close(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def parse(self, cls, data):
        """The message, or None when the bytes do not decode as @p cls (its
        required fields included: Python's parser does not check them)."""
        m = cls()
        try:
            m.ParseFromString(data)
        except (self.DecodeError, RuntimeError, ValueError):
            return None
        return m if m.IsInitialized() else None

    def row(self, data):
        """(what, message, header): what is 'v1', a v2 kind, or 'corrupt'
        when no version decodes the bytes (as rs_decode would have it)."""
        if data[:1] == b"\xF7":
            try:
                hbytes, payload = split_envelope(data)
            except ValueError:
                return "corrupt", None, None
            header = self.parse(self.env.Header, hbytes)
            if header is None or header.record_type != "shop.Order" or \
                    header.format_version != 2:
                return "corrupt", None, None
            order = self.parse(self.v2.Order, payload)
            if order is None:
                return "corrupt", None, header
            return kind_of(order), order, header
        order = self.parse(self.v1.Order, data)
        if order is not None:
            return "v1", order, None
        if self.parse(self.v2.Order, data) is not None:
            return "raw-v2", None, None  # never written by demo
        return "corrupt", None, None


def kind_of(o):
    """The kind of a version-2 order, worst hazard first, as demo sorts
    them: each row has one of these, plus maybe harmless new fields."""
    if not o.HasField("customer_id"):
        return "guest_checkout"
    if o.HasField("deliver_by"):
        return "deliver_by_timestamp"
    if o.HasField("discount"):
        if o.discount.currency_code not in ("", "USD"):
            return "discount_non_usd"
        if o.discount.nanos % 10000000:
            return "discount_sub_cent"
        return "discount_usd"
    if o.status == 6:
        return "awaiting_auth"
    if o.WhichOneof("fulfilment") == "pickup_store_id":
        return "pickup_store"
    if len(o.promo_codes) or o.HasField("gift_message"):
        return "new_fields"
    return "plain"


# ---- running the binary ----------------------------------------------------

class Ctx:
    def __init__(self, args):
        self.rollsafe = args.rollsafe
        self.protoc = args.protoc
        self.schema_dir = args.schema
        self.work = args.work
        self._schema = None
        shutil.rmtree(self.work, ignore_errors=True)
        os.makedirs(self.work)

    @property
    def schema(self):
        if self._schema is None:
            self._schema = Schema(self.protoc, self.schema_dir)
        return self._schema

    def close(self):
        if self._schema is not None:
            self._schema.close()

    def path(self, *parts):
        return os.path.join(self.work, *parts)

    def run(self, *argv, timeout=300):
        p = subprocess.run([self.rollsafe, *argv], capture_output=True,
                           timeout=timeout)
        out = p.stdout.decode("utf-8", "replace")
        err = p.stderr.decode("utf-8", "replace")
        for marker in SANITIZER_MARKERS:
            check(marker not in err,
                  "sanitizer report from rollsafe %s" % " ".join(argv), err)
        return p.returncode, out, err

    def expect(self, code, *argv):
        rc, out, err = self.run(*argv)
        check(rc == code, "rollsafe %s: exit %d, expected %d"
              % (" ".join(argv), rc, code), "stdout: " + out[:3000],
              "stderr: " + err)
        return out, err

    def demo(self, d, *extra):
        """Runs demo --format json into @p d; returns the summary."""
        out, err = self.expect(0, "demo", "--format", "json", *extra, d)
        check(err == "", "demo wrote on stderr", err)
        try:
            doc = json.loads(out)
        except ValueError as e:
            raise Failure("demo --format json: not JSON (%s)" % e, out)
        for key in ("database", "config", "rows", "v1", "v2", "corrupt",
                    "seed"):
            check(key in doc, "summary lacks %r" % key, out)
        check(doc["database"] == os.path.join(d, "demo.db"), "database path",
              doc)
        check(doc["config"] == os.path.join(d, "rollsafe.yaml"),
              "config path", doc)
        check(sorted(doc["v2"]) == sorted(KINDS), "v2 kinds", doc["v2"])
        check(doc["rows"] == doc["v1"] + sum(doc["v2"].values()) +
              doc["corrupt"], "rows is not v1 + v2 + corrupt", doc)
        return doc

    def inspect(self, data, framing):
        path = self.path("record.bin")
        with open(path, "wb") as f:
            f.write(data)
        rc, out, err = self.run("inspect", "--type", "shop.Order",
                                "--reader-framing", framing, path)
        try:
            doc = json.loads(out)
        except ValueError:
            raise Failure("inspect: not JSON, exit %d" % rc, out, err)
        verdict = doc["verdict"]["verdict"]
        want_rc = 0 if verdict in ("ok", "ignored_fields") else 1
        check(rc == want_rc, "inspect exit %d for verdict %s" % (rc, verdict))
        return doc


def rows_of(db_path):
    db = sqlite3.connect("file:%s?mode=ro" % db_path, uri=True)
    try:
        return db.execute(
            "SELECT id, payload, written_at FROM orders ORDER BY id").fetchall()
    finally:
        db.close()


def parse_time(s):
    check(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", s),
          "written_at is not an ISO-8601 UTC timestamp", s)
    dt = datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ")
    dt = dt.replace(tzinfo=datetime.timezone.utc)
    return (int(dt.timestamp()) * 1000000) + dt.microsecond


def classify_all(ctx, rows):
    """{id: (what, message, header)} for every row."""
    return {rid: ctx.schema.row(payload) for rid, payload, _ in rows}


def tally(classes):
    counts = {"v1": 0, "corrupt": 0}
    counts.update({k: 0 for k in KINDS})
    for what, _, _ in classes.values():
        check(what in counts, "a row is %r" % what)
        counts[what] += 1
    return counts


def no_temporaries(d):
    left = glob.glob(os.path.join(d, ".demo.db.*")) + \
        glob.glob(os.path.join(d, ".rollsafe.yaml.*"))
    check(not left, "temporary files left behind", left)


# ---- the database ----------------------------------------------------------

def test_database(ctx):
    d = ctx.path("demo")
    before_us = int(time.time() * 1000000)
    started = time.monotonic()
    doc = ctx.demo(d)
    elapsed = time.monotonic() - started
    after_us = int(time.time() * 1000000)
    # Debug + sanitizers; a Release build takes a fraction of this.
    check(elapsed < 60, "100,000 rows took %.1f s" % elapsed)
    check(doc["rows"] == 100000, "default rows", doc)
    check(doc["corrupt"] == 50, "0.05% corrupt rows of 100,000", doc)
    check(sum(doc["v2"].values()) == 20000, "20% version 2", doc)
    for k in KINDS:
        check(doc["v2"][k] > 0, "no row of kind %s" % k, doc)
    # Realistic traffic: most new-format rows are harmless.
    harmless = doc["v2"]["plain"] + doc["v2"]["new_fields"] + \
        doc["v2"]["pickup_store"]
    check(harmless >= 0.7 * 20000, "fewer than 70% of v2 rows harmless", doc)
    no_temporaries(d)
    check(sorted(os.listdir(d)) == ["demo.db", "order-events.dump",
                                    "rollsafe.yaml"],
          "DIR holds other files", os.listdir(d))

    db = sqlite3.connect("file:%s?mode=ro" % doc["database"], uri=True)
    cols = [(r[1], r[2].upper(), r[3], r[5]) for r in
            db.execute("PRAGMA table_info(orders)")]
    check(cols == [("id", "INTEGER", 0, 1), ("payload", "BLOB", 1, 0),
                   ("written_at", "TEXT", 1, 0)], "table layout", cols)
    check(db.execute("PRAGMA journal_mode").fetchone()[0] != "wal",
          "a WAL database cannot be opened read-only everywhere")
    db.close()

    rows = rows_of(doc["database"])
    check(len(rows) == 100000, "row count", len(rows))
    check([r[0] for r in rows] == list(range(1, 100001)), "ids are not 1..N")
    check(all(isinstance(r[1], bytes) and len(r[1]) > 0 for r in rows),
          "a payload is not a non-empty blob")
    times = [parse_time(r[2]) for r in rows]
    check(times == sorted(times), "written_at does not increase with id")
    check(times[0] >= before_us - WINDOW_S * 1000000 and
          times[-1] <= after_us, "written_at outside the last two hours",
          rows[0][2], rows[-1][2])

    envelopes = sum(1 for r in rows if r[1][:1] == b"\xF7")
    classes = classify_all(ctx, rows)
    counts = tally(classes)
    check(counts["v1"] == doc["v1"], "v1 rows parsed by Python",
          counts["v1"], doc["v1"])
    check(counts["corrupt"] == doc["corrupt"], "corrupt rows",
          counts["corrupt"], doc["corrupt"])
    for k in KINDS:
        check(counts[k] == doc["v2"][k], "rows of kind " + k, counts[k],
              doc["v2"][k])
    v2_rows = sum(counts[k] for k in KINDS)
    check(v2_rows == 20000, "20% envelopes that decode", v2_rows)
    check(20000 <= envelopes <= 20000 + doc["corrupt"],
          "envelopes start with 0xF7", envelopes)

    # Provenance and the write times of the version-2 rows.
    last = 0
    by_id = {r[0]: r for r in rows}
    pods = set()
    for rid, (what, order, header) in sorted(classes.items()):
        if what == "v1":
            check(order.order_id == "ord-%08d" % rid, "order_id", rid,
                  order.order_id)
            check(len(order.items) >= 1, "a v1 order without items", rid)
        if what not in KINDS:
            continue
        p = header.provenance
        check(p.flag_key == "checkout_v2" and p.variant == "on",
              "provenance", rid, p)
        check(re.fullmatch(r"orders-api 4\.2\.0 pod-\d+", p.writer_id),
              "writer_id", rid, p.writer_id)
        pods.add(p.writer_id)
        check(p.write_time_us == parse_time(by_id[rid][2]),
              "write_time_us differs from written_at", rid)
        check(p.write_time_us > last, "write times do not increase", rid)
        last = p.write_time_us
        check(len(header.schema_fingerprint) == 8, "fingerprint", rid)
    check(len(pods) >= 3, "fewer than three writers", pods)


def test_small_counts(ctx):
    for rows, corrupt in ((1, 0), (999, 0), (1000, 1), (4000, 2)):
        d = ctx.path("n%d" % rows)
        doc = ctx.demo(d, "--rows", str(rows))
        check(doc["rows"] == rows, "rows", doc)
        check(doc["corrupt"] == corrupt, "corrupt rows for %d" % rows, doc)
        check(sum(doc["v2"].values()) == (rows + 2) // 5,
              "20%% of %d rows" % rows, doc)
        got = tally(classify_all(ctx, rows_of(doc["database"])))
        check(got["v1"] == doc["v1"] and got["corrupt"] == doc["corrupt"],
              "counts in the database", got, doc)
        for k in KINDS:
            check(got[k] == doc["v2"][k], "kind " + k, got, doc)


def test_deterministic(ctx):
    a = ctx.demo(ctx.path("a"), "--rows", "5000", "--seed", "7")
    b = ctx.demo(ctx.path("b"), "--rows", "5000", "--seed=7")
    for key in ("rows", "v1", "v2", "corrupt", "seed"):
        check(a[key] == b[key], "same seed, different %s" % key, a, b)
    check(a["seed"] == 7, "seed", a)
    ra, rb = rows_of(a["database"]), rows_of(b["database"])
    ca, cb = classify_all(ctx, ra), classify_all(ctx, rb)
    for (rid, pa, _), (_, pb, _) in zip(ra, rb):
        wa, wb = ca[rid][0], cb[rid][0]
        check(wa == wb, "row %d is %s in one run, %s in the other"
              % (rid, wa, wb))
        if wa == "v1":
            check(pa == pb, "v1 row %d differs" % rid)
        elif wa in KINDS:
            # Only the write time in the header may differ.
            ha, pla = split_envelope(pa)
            hb, plb = split_envelope(pb)
            check(pla == plb, "v2 payload of row %d differs" % rid)
            xa, xb = ca[rid][2], cb[rid][2]
            xa.provenance.write_time_us = 0
            xb.provenance.write_time_us = 0
            check(xa == xb, "v2 header of row %d differs" % rid, xa, xb)
        elif pa[:1] != b"\xF7":
            check(pa == pb, "corrupt row %d differs" % rid)

    c = ctx.demo(ctx.path("c"), "--rows", "5000", "--seed", "8")
    rc_ = rows_of(c["database"])
    same = sum(1 for x, y in zip(ra, rc_) if x[1] == y[1])
    check(same < 100, "another seed gives the same rows (%d equal)" % same)

    # The default seed is fixed too.
    d = ctx.demo(ctx.path("d"), "--rows", "2000")
    e = ctx.demo(ctx.path("e"), "--rows", "2000")
    check(d["seed"] == e["seed"] and d["v2"] == e["v2"],
          "default seed differs between runs", d, e)
    v1d = [r[1] for r in rows_of(d["database"]) if r[1][:1] != b"\xF7"]
    v1e = [r[1] for r in rows_of(e["database"]) if r[1][:1] != b"\xF7"]
    check(v1d == v1e, "default seed: raw rows differ")


# ---- what the old reader makes of each kind --------------------------------

def samples(classes, per_kind=3):
    by = {}
    for rid in sorted(classes):
        by.setdefault(classes[rid][0], []).append(rid)
    picked = {}
    for what, ids in by.items():
        idx = sorted({0, len(ids) // 2, len(ids) - 1})[:per_kind]
        picked[what] = [ids[i] for i in idx]
    return picked


def test_inspect_verdicts(ctx):
    doc = ctx.demo(ctx.path("demo"), "--rows", "5000")
    rows = rows_of(doc["database"])
    by_id = {r[0]: r[1] for r in rows}
    classes = classify_all(ctx, rows)
    picked = samples(classes)
    check(sorted(picked) == sorted(list(ENVELOPE_VERDICT)),
          "not every kind occurs in 5000 rows", sorted(picked))
    for what, ids in sorted(picked.items()):
        want, path = ENVELOPE_VERDICT[what]
        for rid in ids:
            data = by_id[rid]
            env = ctx.inspect(data, "envelope")
            v = env["verdict"]
            check(v["verdict"] == want, "row %d (%s), envelope reader: %s, "
                  "expected %s" % (rid, what, v["verdict"], want), v)
            paths = [r["path"] for r in v["reasons"]]
            if path is not None:
                check(path in paths, "row %d (%s): no reason about %s"
                      % (rid, what, path), paths)
            if what == "new_fields":
                check(set(paths) & {"promo_codes(11)", "gift_message(12)"},
                      "row %d: no reason about the new fields" % rid, paths)
            if what in KINDS:
                conv = env["as_reader"]["result"]
                order = classes[rid][1]
                want_conv = DOWN_CONVERSION.get(what) or (
                    "lossy" if order.deliver_by.nanos else "lossless")
                check(conv == want_conv, "row %d (%s): down-conversion %s, "
                      "expected %s" % (rid, what, conv, want_conv),
                      env["as_reader"])
                check(env["provenance"]["flag_key"] == "checkout_v2",
                      "provenance", env["provenance"])

            raw = ctx.inspect(data, "raw")["verdict"]
            want_raw = {"v1": "ok", "corrupt": "corrupt"}.get(what,
                                                              "unreadable")
            check(raw["verdict"] == want_raw, "row %d (%s), raw reader: %s, "
                  "expected %s" % (rid, what, raw["verdict"], want_raw), raw)


def expected_verdicts(doc):
    """Verdict totals for reader version 1 reading envelopes, from the
    summary's counts and schema/README.md's table."""
    want = {v: 0 for v in ("ok", "ignored_fields", "misread", "unreadable",
                           "corrupt")}
    want["ok"] += doc["v1"]
    want["corrupt"] += doc["corrupt"]
    for k in KINDS:
        want[ENVELOPE_VERDICT[k][0]] += doc["v2"][k]
    return want


def test_scan_totals(ctx):
    """A scan of the whole table finds what the summary promises: every
    v2 kind counted under the verdict schema/README.md gives it."""
    doc = ctx.demo(ctx.path("demo"), "--rows", "20000")
    rc, out, err = ctx.run("scan", "--sqlite", doc["database"], "--table",
                           "orders", "--key", "id", "--column", "payload",
                           "--type", "shop.Order", "--reader-version", "1",
                           "--reader-framing", "envelope", "--format",
                           "json")
    check(rc == 1, "scan exit %d, expected 1 (findings)" % rc, err, out[:2000])
    got = json.loads(out)["totals"]["verdicts"]
    want = expected_verdicts(doc)
    check(got == want, "scan verdicts differ from the demo's counts",
          "scan: %s" % got, "want: %s" % want)


def test_config(ctx):
    d = ctx.path("demo")
    doc = ctx.demo(d, "--rows", "1000")
    with open(doc["config"]) as f:
        text = f.read()
    # The keys of src/cli/config.h, each once; comments explain them.
    body = [l for l in text.split("\n") if l.strip() and
            not l.lstrip().startswith("#")]
    keys = [re.sub(r"\s+#.*$", "", l) for l in body]
    check(keys == ["feature: checkout_v2", "reader_version: 1",
                   "reader_framing: envelope", "targets:",
                   "  - name: orders", "    kind: sqlite-table",
                   "    connection: demo.db", "    table: orders",
                   "    key: id", "    column: payload",
                   "    type: shop.Order",
                   "  - name: order-events", "    kind: sqlite-queue",
                   "    connection: demo.db", "    table: order_events",
                   "    key: id", "    column: payload",
                   "    type: shop.Order", "    state_column: state",
                   "    pending_states: [pending]",
                   "    in_flight_states: [processing]",
                   "  - name: order-events-dump", "    kind: stream-file",
                   "    path: order-events.dump", "    type: shop.Order"],
          "config keys", keys)
    check("rollsafe scan -c %s" % doc["config"] in text,
          "config does not show how to scan with it", text)
    check(re.search(r"#.*\braw\b", text), "reader_framing raw not explained",
          text)
    comments = [l for l in text.split("\n") if l.lstrip().startswith("#")]
    check(len(comments) >= 10, "config is barely commented", text)
    try:
        import yaml
    except ImportError:
        yaml = None
    if yaml is not None:
        y = yaml.safe_load(text)
        check(y["targets"][0]["connection"] == "demo.db", "yaml parse", y)
        m = re.search(r'#\s*(where: .*)', text)
        check(m, "no where example", text)
        w = yaml.safe_load(m.group(1))["where"]
        db = sqlite3.connect(doc["database"])
        n = db.execute("SELECT count(*) FROM orders WHERE " + w).fetchone()[0]
        db.close()
        check(0 < n < 1000, "the where example selects %d of 1000 rows" % n,
              w)


def test_scan_config(ctx):
    """`rollsafe scan -c DIR/rollsafe.yaml` works as written, from another
    working directory (connection: demo.db is relative to the file), and
    reads with the reader the file names: version 1, envelope framing."""
    d = ctx.path("demo")
    doc = ctx.demo(d, "--rows", "2000")
    p = subprocess.run([ctx.rollsafe, "scan", "-c", doc["config"],
                        "--format", "json"], capture_output=True,
                       timeout=300, cwd="/")
    out = p.stdout.decode("utf-8", "replace")
    err = p.stderr.decode("utf-8", "replace")
    for marker in SANITIZER_MARKERS:
        check(marker not in err, "sanitizer report from scan -c", err)
    check(p.returncode == 1, "scan -c: exit %d, expected 1 (findings)"
          % p.returncode, err, out[:2000])
    report = json.loads(out)
    targets = {t["name"]: t for t in report["targets"]}
    check(sorted(targets) == ["order-events", "order-events-dump", "orders"],
          "targets of the demo's config", sorted(targets))
    orders = targets["orders"]
    check(orders["rows_read"] == 2000, "rows read", orders["rows_read"])
    got = orders["verdicts"]
    want = expected_verdicts(doc)
    check(got == want, "scan -c verdicts differ from the demo's counts",
          "scan: %s" % got, "want: %s" % want)
    # The outbox: pending and in-flight messages only; the dump: every
    # message, with the same mix as the summary says.
    ob = doc["outbox"]
    check(ob["messages"] == 200 and sum(ob["states"].values()) == 200,
          "outbox messages", ob)
    check(targets["order-events"]["rows_read"] ==
          ob["states"]["pending"] + ob["states"]["processing"],
          "queue messages read", targets["order-events"], ob)
    dump = targets["order-events-dump"]
    check(dump["rows_read"] == ob["messages"] and dump["truncated"] is None,
          "dump records", dump)
    check(dump["verdicts"] == expected_verdicts(ob),
          "dump verdicts differ from the outbox's counts", dump["verdicts"],
          expected_verdicts(ob))
    check(report["totals"]["rows_read"] == 2000 + dump["rows_read"] +
          targets["order-events"]["rows_read"], "total rows read",
          report["totals"])
    check(report.get("feature") == "checkout_v2", "feature",
          report.get("feature"))


def test_outbox_and_dump(ctx):
    """The order-events outbox has the example domain's table shape, its
    messages have the orders' mix and states, and the dump holds the same
    messages, in id order, varint-length-delimited."""
    doc = ctx.demo(ctx.path("demo"), "--rows", "5000")
    db = sqlite3.connect("file:%s?mode=ro" % doc["database"], uri=True)
    cols = [(r[1], r[2].upper(), r[3], r[4], r[5]) for r in
            db.execute("PRAGMA table_info(order_events)")]
    check(cols == [("id", "INTEGER", 0, None, 1),
                   ("order_id", "TEXT", 1, None, 0),
                   ("payload", "BLOB", 1, None, 0),
                   ("state", "TEXT", 1, "'pending'", 0),
                   ("enqueued_at", "TEXT", 1, None, 0)], "outbox layout",
          cols)
    rows = db.execute("SELECT id, payload, state FROM order_events "
                      "ORDER BY id").fetchall()
    db.close()
    ob = doc["outbox"]
    check(len(rows) == ob["messages"] == 500, "messages", len(rows), ob)
    states = {}
    for _, _, st in rows:
        states[st] = states.get(st, 0) + 1
    check(states == {k: v for k, v in ob["states"].items() if v},
          "states", states, ob)
    check(ob["v2"] and sum(ob["v2"].values()) == 100, "20% version 2", ob)
    with open(ob["dump"], "rb") as f:
        data = f.read()
    pos, records = 0, []
    while pos < len(data):
        n, shift = 0, 0
        while True:
            b = data[pos]
            pos += 1
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        check(pos + n <= len(data), "dump record cut short at %d" % pos)
        records.append(data[pos:pos + n])
        pos += n
    check(records == [bytes(r[1]) for r in rows],
          "the dump holds the outbox's messages in id order")


# ---- text output and help --------------------------------------------------

def test_text_output(ctx):
    d = ctx.path("demo")
    out, err = ctx.expect(0, "demo", "--rows", "3000", d)
    check(err == "", "stderr", err)
    db, cfg = os.path.join(d, "demo.db"), os.path.join(d, "rollsafe.yaml")
    check(db in out and cfg in out, "paths missing", out)
    check("rollsafe scan -c %s" % cfg in out, "next command missing", out)
    check(re.search(r"\b3000 rows\b", out), "row count missing", out)
    for k in KINDS + ["corrupt"]:
        check(re.search(r"^\s*\d+\s+%s\b" % k, out, re.M),
              "no count for %s" % k, out)


def test_help(ctx):
    out, _ = ctx.expect(0, "demo", "--help")
    check(out.startswith("usage: rollsafe demo"), "usage line", out)
    for opt in ("--rows", "--seed", "--force", "--format", "Examples:"):
        check(opt in out, "help lacks " + opt, out)
    out2, _ = ctx.expect(0, "help", "demo")
    check(out2 == out, "'help demo' differs from 'demo --help'")
    top, _ = ctx.expect(0, "--help")
    check(re.search(r"^\s+demo\s", top, re.M), "--help lists no demo", top)


def test_bad_arguments(ctx):
    d = ctx.path("never")
    cases = [
        ([], "DIR"),
        ([d, "extra"], "'extra'"),
        (["--rows", "0", d], "'0'"),
        (["--rows", "-5", d], "'-5'"),
        (["--rows", "100000001", d], "'100000001'"),
        (["--rows", "1e5", d], "'1e5'"),
        (["--rows", "", d], "--rows"),
        (["--rows", " 5", d], "--rows"),
        (["--rows", d], "--rows"),
        (["--seed", "x", d], "'x'"),
        (["--seed", "-1", d], "'-1'"),
        (["--seed", "9223372036854775808", d], "'9223372036854775808'"),
        (["--format", "xml", d], "'xml'"),
        (["--bogus", d], "'--bogus'"),
        (["--force=yes", d], "--force"),
        ([""], "DIR"),
        (["--format", "json", d + "\udcff"], "UTF-8"),
    ]
    for argv, needle in cases:
        _, err = ctx.expect(2, "demo", *argv)
        one_line_error(err, needle)
    check(not os.path.exists(d), "a usage error created DIR")
    # The largest --rows is accepted (checked through a usage error that
    # comes after option parsing: a second directory).
    _, err = ctx.expect(2, "demo", "--rows", "100000000", d, "x")
    one_line_error(err, "'x'")


def test_refuses_existing(ctx):
    d = ctx.path("demo")
    ctx.demo(d, "--rows", "1000")
    db, cfg = os.path.join(d, "demo.db"), os.path.join(d, "rollsafe.yaml")
    before = {p: open(p, "rb").read() for p in (db, cfg)}
    _, err = ctx.expect(2, "demo", "--rows", "1000", d)
    one_line_error(err, db, "already exists", "--force")
    for p, data in before.items():
        check(open(p, "rb").read() == data, "%s changed" % p)
    no_temporaries(d)

    # Either file alone is enough to refuse, and so is a journal left by
    # SQLite, which it would apply to a new database.
    for present, name in (("rollsafe.yaml", cfg), ("demo.db-journal",
                                                    db + "-journal"),
                          ("demo.db-wal", db + "-wal")):
        e = ctx.path("only-" + present)
        os.makedirs(e)
        with open(os.path.join(e, present), "w") as f:
            f.write("mine\n")
        _, err = ctx.expect(2, "demo", "--rows", "10", e)
        one_line_error(err, os.path.join(e, present), "--force")
        check(os.listdir(e) == [present], "files written despite refusal",
              os.listdir(e))
        with open(os.path.join(e, present)) as f:
            check(f.read() == "mine\n", "existing file changed")


def test_force_replaces(ctx):
    d = ctx.path("demo")
    os.makedirs(d)
    db, cfg = os.path.join(d, "demo.db"), os.path.join(d, "rollsafe.yaml")
    for p in (db, cfg, db + "-wal", db + "-journal"):
        with open(p, "w") as f:
            f.write("old contents\n")
    ctx.demo(d, "--rows", "1000", "--force")
    check(len(rows_of(db)) == 1000, "replaced database row count")
    with open(cfg) as f:
        check("feature: checkout_v2" in f.read(), "config not replaced")
    check(not os.path.exists(db + "-wal") and
          not os.path.exists(db + "-journal"),
          "a stale journal survived --force", os.listdir(d))
    no_temporaries(d)
    # And again over the demo's own files.
    doc2 = ctx.demo(d, "--rows", "2000", "-f")
    check(doc2["rows"] == 2000 and len(rows_of(db)) == 2000,
          "second --force", doc2)
    check(sorted(os.listdir(d)) == ["demo.db", "order-events.dump",
                                    "rollsafe.yaml"],
          "files in DIR", os.listdir(d))


def test_directory(ctx):
    # A missing DIR is created (one level); a missing parent is an error.
    d = ctx.path("new")
    ctx.demo(d, "--rows", "10")
    check(os.path.isdir(d), "DIR not created")
    d2 = ctx.path("no", "such", "dir")
    _, err = ctx.expect(3, "demo", "--rows", "10", d2)
    one_line_error(err, d2, "parent")
    check(not os.path.exists(ctx.path("no")), "parents created")
    f = ctx.path("a-file")
    with open(f, "w") as fh:
        fh.write("x")
    _, err = ctx.expect(3, "demo", "--rows", "10", f)
    one_line_error(err, f)
    # A trailing slash does not double in the paths shown.
    out, _ = ctx.expect(0, "demo", "--rows", "10", "--format", "json",
                        ctx.path("slash") + "/")
    doc = json.loads(out)
    check(doc["database"] == ctx.path("slash", "demo.db"), "path", doc)


def test_unwritable_directory(ctx):
    if os.geteuid() == 0:
        # root writes anyway; a read-only bind is not available to a test,
        # so use a directory that cannot hold files: /proc.
        d = "/proc/self"
        rc, out, err = ctx.run("demo", "--rows", "10", d)
        check(rc == 3, "demo into /proc/self: exit %d, expected 3" % rc, err)
        one_line_error(err, d)
        return
    d = ctx.path("ro")
    os.makedirs(d)
    os.chmod(d, 0o555)
    try:
        _, err = ctx.expect(3, "demo", "--rows", "10", d)
        one_line_error(err, d, os.strerror(13))
        check(os.listdir(d) == [], "files left", os.listdir(d))
    finally:
        os.chmod(d, 0o755)


def test_interrupted(ctx):
    """Ctrl-C while the table is written: exit 4, and nothing left, not even
    the directory the run created."""
    d = ctx.path("big")
    p = subprocess.Popen([ctx.rollsafe, "demo", "--rows", "100000000", d],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and p.poll() is None:
        if glob.glob(os.path.join(d, ".demo.db.*")):
            break
        time.sleep(0.05)
    check(p.poll() is None, "demo ended before it could be interrupted")
    time.sleep(0.3)
    p.send_signal(signal.SIGINT)
    try:
        out, err = p.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        raise Failure("demo did not stop on SIGINT")
    err = err.decode("utf-8", "replace")
    for marker in SANITIZER_MARKERS:
        check(marker not in err, "sanitizer report", err)
    check(p.returncode == 4, "exit %d after SIGINT, expected 4"
          % p.returncode, err)
    one_line_error(err, "interrupted")
    check(not os.path.exists(d), "DIR or files left after SIGINT",
          os.listdir(d) if os.path.isdir(d) else d)


TESTS = {name[len("test_"):]: fn for name, fn in sorted(globals().items())
         if name.startswith("test_") and callable(fn)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rollsafe", required=True)
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
    args.work = os.path.join(os.path.abspath(args.work), args.case)
    ctx = Ctx(args)
    try:
        TESTS[args.case](ctx)
    except Failure as e:
        print("FAIL: %s" % e)
        return 1
    finally:
        ctx.close()
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
