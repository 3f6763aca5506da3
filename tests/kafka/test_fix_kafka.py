#!/usr/bin/env python3
"""Integration tests of `rollsafe fix` and `restore` of Kafka topics.

Usage: test_fix_kafka.py --rollsafe BIN --work DIR CASE

As test_scan_kafka.py: librdkafka's mock cluster (RS_KAFKA_MOCK), or a real
cluster named by RS_KAFKA_BOOTSTRAP. Records are produced, read back and
decoded independently of rollsafe: produced and consumed with Python's
confluent-kafka, built and decoded with the Python classes protoc generates
from schema/ (rsdata.Records).
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, HERE)
from rsdata import Records, check, check_eq, run_cases  # noqa: E402
sys.path.insert(0, os.path.join(HERE, "..", "report"))
from schemacheck import validate  # noqa: E402
from test_confluent import MAPPINGS  # noqa: E402
from test_scan_kafka import (GROUP, LAYOUT, PARTITIONS, TYPE,  # noqa: E402
                             commit, committed, free_port, record,
                             with_cluster)

from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402

# The old code: plain protobuf-c of version 1, which reads raw records only.
READER = ["--reader-version", "1", "--reader-framing", "raw", *MAPPINGS]


def produce(c, topic, messages):
    """Produces (partition, key, value, headers) in order; returns the
    (partition, offset) of each."""
    p = Producer({"bootstrap.servers": c.bootstrap})
    where = [None] * len(messages)

    def delivered(i):
        def cb(err, msg):
            check(err is None, "delivery of message %d: %s" % (i, err))
            where[i] = (msg.partition(), msg.offset())
        return cb

    for i, (part, key, value, headers) in enumerate(messages):
        p.produce(c.topics[topic], value, key=key, partition=part,
                  headers=headers or None, on_delivery=delivered(i))
    check_eq(p.flush(30), 0, "messages left unflushed")
    return where


def read_all(c, topic, partitions=PARTITIONS):
    """Every message of the topic: {partition: [message, ...]} in offset
    order, as (offset, key, value, headers, timestamp)."""
    cons = Consumer({"bootstrap.servers": c.bootstrap,
                     "group.id": "rs-test-reader-" + uuid.uuid4().hex[:6],
                     "enable.auto.commit": False,
                     "enable.partition.eof": True})
    out = {}
    for p in range(partitions):
        lo, hi = cons.get_watermark_offsets(
            TopicPartition(c.topics[topic], p), timeout=30)
        out[p] = []
        if hi <= lo:
            continue
        cons.assign([TopicPartition(c.topics[topic], p, lo)])
        while True:
            m = cons.poll(30)
            check(m is not None, "a message of %s partition %d" % (topic, p))
            if m.error():
                check(m.error().code() == -191, "read error: %s" % m.error())
                break
            out[p].append((m.offset(), m.key(), m.value(),
                           list(m.headers() or []), m.timestamp()[1]))
            if m.offset() + 1 >= hi:
                break
        cons.unassign()
    cons.close()
    return out


def watermarks(c, topic, partitions=PARTITIONS):
    cons = Consumer({"bootstrap.servers": c.bootstrap,
                     "group.id": "rs-test-wm-" + uuid.uuid4().hex[:6]})
    got = {p: cons.get_watermark_offsets(TopicPartition(c.topics[topic], p),
                                         timeout=30)
           for p in range(partitions)}
    cons.close()
    return got


def header(headers, name):
    v = [val for (k, val) in headers if k == name]
    return v[-1] if v else None


def fix_args(c, src, out, *start):
    return ["--kafka", c.bootstrap, "--topic", c.topics[src], *TYPE, *READER,
            "--output-topic", c.topics[out], *start, "--kafka-timeout", "20"]


def fix_json(r, code, args, *extra):
    out, err = r.expect(code, "fix", *args, "--format", "json", "--samples",
                        "1000", *extra)
    try:
        doc = json.loads(out)
    except ValueError as e:
        raise AssertionError("not JSON (%s): %s" % (e, out[:2000]))
    # Every report of a Kafka fix matches schema/json/fix.schema.json.
    return validate(doc, "fix of a topic"), err


def layout(recs, keyed=True):
    """(partition, key, value, headers) of LAYOUT: message i to partition
    i % PARTITIONS, keys "k<i>", every third with a header of its own."""
    msgs = []
    for i, (kind, framing) in enumerate(LAYOUT):
        hdr = [("trace-id", ("t-%d" % i).encode())] if i % 3 == 0 else None
        msgs.append((i % PARTITIONS, ("k%d" % i).encode() if keyed else None,
                     record(recs, kind, framing, i + 1), hdr))
    return msgs


def v1_reads(recs, value):
    """What plain protobuf code of version 1 makes of @value: the message,
    or None when it cannot parse it (the independent reader)."""
    m = recs.v1m.Order()
    with warnings.catch_warnings():
        # The pure-Python runtime warns where it stops short of the end.
        warnings.simplefilter("error")
        try:
            m.ParseFromString(value)
        except Exception:  # noqa: BLE001 (DecodeError, RuntimeWarning)
            return None
    return m if m.IsInitialized() else None


def meant(recs, value):
    """The (order_id, customer_id, total_cents) the writer of @value meant:
    an envelope's payload decoded as its version, a raw record as v1."""
    if value[:1] == b"\xf7":
        hlen, pos = value[2], 3
        h = recs.env.Header()
        h.ParseFromString(value[pos:pos + hlen])
        m = (recs.v2m if h.format_version == 2 else recs.v1m).Order()
        m.ParseFromString(value[pos + hlen:])
    elif value[:1] == b"\x00":
        # Confluent: magic, schema id, message indexes ([0] is one 0 byte;
        # test_confluent writes version 2 at [1]: 02 02).
        v2 = value[5] != 0
        m = (recs.v2m if v2 else recs.v1m).Order()
        m.ParseFromString(value[7:] if v2 else value[6:])
    else:
        m = recs.v1m.Order()
        m.ParseFromString(value)
    return (m.order_id, m.customer_id, m.total_cents)


def check_copy(recs, src, out, repaired, drop=frozenset()):
    """The output partition holds, in order, one copy of each source message
    from the first one copied on: same key, timestamp and headers plus
    rollsafe-original; the bytes as they were, or (the repaired offsets) a
    version-1 record the independent reader reads with the writer's
    values."""
    for p in range(PARTITIONS):
        origins = [header(h, "rollsafe-original") for (_, _, _, h, _) in
                   out[p]]
        check(all(o is not None for o in origins),
              "every copy names its original", p)
        offs = [int(o.decode().rsplit("/", 1)[1]) for o in origins]
        check_eq(offs, sorted(set(offs)), "copies of partition %d in order, "
                 "each once" % p)
        first = offs[0] if offs else None
        want = [m for m in src[p] if first is not None and m[0] >= first
                and (p, m[0]) not in drop]
        check_eq(offs, [m[0] for m in want], "no gap in partition %d" % p)
        for (o, key, value, hdrs, ts), s in zip(out[p], want):
            so, skey, svalue, shdrs, sts = s
            check_eq(header(hdrs, "rollsafe-original").decode(),
                     "%s/%d/%d" % (src["topic"], p, so), "original named")
            check(header(hdrs, "rollsafe-run") is not None, "run named")
            check_eq(key, skey, "key of %d@%d" % (p, so))
            check_eq(ts, sts, "timestamp of %d@%d" % (p, so))
            check_eq([h for h in hdrs if not h[0].startswith("rollsafe-")],
                     shdrs, "headers of %d@%d" % (p, so))
            if (p, so) in repaired:
                check(value != svalue, "%d@%d converted" % (p, so))
                got = v1_reads(recs, value)
                check(got is not None,
                      "the old reader reads the copy of %d@%d" % (p, so))
                check_eq((got.order_id, got.customer_id, got.total_cents),
                         meant(recs, svalue),
                         "the copy of %d@%d means what its writer meant"
                         % (p, so))
            else:
                check_eq(value, svalue, "%d@%d copied byte for byte"
                         % (p, so))


def repaired_set(doc):
    out = set()
    for p in doc["targets"][0]["partitions"]:
        for a, b in p["repaired_offsets"]:
            out |= {(p["partition"], o) for o in range(a, b + 1)}
    return out


def source_of(c, topic):
    src = read_all(c, topic)
    src["topic"] = c.topics[topic]
    return src


@with_cluster({"orders": PARTITIONS, "orders-v1": PARTITIONS})
def test_fix_to_output_topic(r, c):
    recs = Records()
    produce(c, "orders", layout(recs))
    src = source_of(c, "orders")
    # A group with committed offsets at known positions: the fix must not
    # move them.
    commit(c, "orders", {0: 2, 1: 1})
    before = committed(c, "orders")
    args = fix_args(c, "orders", "orders-v1", "--from-beginning")
    # The dry run writes nothing and says what it would convert.
    dry, _ = fix_json(r, 1, args)
    t = dry["targets"][0]
    check_eq(dry["executed"], False, "dry run")
    check(t["rewritten"] > 0, "the dry run would convert", t["rewritten"])
    check_eq(watermarks(c, "orders-v1"), {p: (0, 0) for p in range(3)},
             "nothing written by the dry run")
    # The old reader cannot read what the fix converts: those are exactly
    # the messages the independent reader fails on and that decode as v2.
    doc, _ = fix_json(r, 1, args, "--execute")
    t = doc["targets"][0]
    check_eq(t["kind"], "kafka-topic", "kind")
    check_eq(t["output_topic"], c.topics["orders-v1"], "output topic named")
    check_eq(t["rows_read"], len(LAYOUT), "every message read")
    check_eq(t["delivered"], len(LAYOUT), "every message delivered")
    check_eq(t["rewritten"], dry["targets"][0]["rewritten"],
             "the dry run predicted the conversions")
    repaired = repaired_set(doc)
    check_eq(len(repaired), t["rewritten"], "repaired offsets listed")
    for p in range(PARTITIONS):
        for (o, _, value, _, _) in src[p]:
            if (p, o) in repaired:
                check(v1_reads(recs, value) is None,
                      "%d@%d converted: the old reader fails on it" % (p, o))
    out = read_all(c, "orders-v1")
    check_copy(recs, src, out, repaired)
    # Per partition: counts add up, output offsets, nothing duplicated.
    for p in t["partitions"]:
        n = len(src[p["partition"]])
        check_eq(p["messages"], n, "read from %d" % p["partition"])
        check_eq(p["copied"] + p["rewritten"] + p["dropped"], n,
                 "counts of %d" % p["partition"])
        check_eq((p["output_first_offset"], p["output_last_offset"]),
                 (0, n - 1), "output offsets of %d" % p["partition"])
        check_eq((p["duplicates"], p["missing"]), (0, 0), "verified")
    # What the old reader still cannot read is what the fix left alone.
    left = t["lossy_skipped"] + t["left_alone"]
    check_eq(t["remaining"], left, "remaining: what was left alone")
    check_eq(committed(c, "orders"), before, "committed offsets after fix")
    # Running it again copies nothing new and still finds no duplicate.
    again, _ = fix_json(r, 1, args, "--execute")
    t2 = again["targets"][0]
    check_eq((t2["rows_read"], t2["delivered"], t2["duplicates"]), (0, 0, 0),
             "a second run copies nothing")
    check(all(p["resumed"] for p in t2["partitions"]), "resumed")
    check_eq(read_all(c, "orders-v1"), out, "the output is unchanged")
    # Metrics per partition.
    prom = os.path.join(r.work, "fix.prom")
    r.expect(0, "fix", *args, "--metrics", prom)  # nothing left to do
    with open(prom) as f:
        metrics = f.read()
    for p in range(PARTITIONS):
        check('partition="%d",action="copied"' % p in metrics,
              "per-partition metrics", metrics[:3000])
    check(metrics.rstrip().endswith("# EOF"), "OpenMetrics", metrics[-200:])


@with_cluster({"orders": PARTITIONS, "orders-v1": PARTITIONS})
def test_group_resume_and_offsets_on_the_output(r, c):
    """From the group's committed offsets; later messages copied by the next
    run only; the report maps the group's offsets to the output topic."""
    recs = Records()
    produce(c, "orders", layout(recs))
    commit(c, "orders", {0: 2, 1: 4})  # partition 2: none (beginning)
    before = committed(c, "orders")
    args = fix_args(c, "orders", "orders-v1", "--group", GROUP)
    doc, _ = fix_json(r, 1, args, "--execute")
    t = doc["targets"][0]
    starts = {p["partition"]: p["start_offset"] for p in t["partitions"]}
    check_eq(starts, {0: 2, 1: 4, 2: 0}, "start at the committed offsets")
    out = read_all(c, "orders-v1")
    for p, s in starts.items():
        check_eq(len(out[p]), 6 - s, "copies of partition %d" % p)
    groups = {p["partition"]: (p["group_offset"], p["group_output_offset"])
              for p in t["partitions"]}
    check_eq(groups, {0: (2, 0), 1: (4, 0), 2: (None, None)},
             "the group starts at the output's first copies")
    check_eq(committed(c, "orders"), before, "committed offsets after fix")
    repaired = repaired_set(doc)
    # The old consumers read on (partition 0 to 4), producers write more;
    # the next run copies only the new messages and maps the new offsets.
    commit(c, "orders", {0: 4})
    more = [(i % PARTITIONS, b"n%d" % i, recs.make("v2_plain", 100 + i), None)
            for i in range(6)]
    produce(c, "orders", more)
    doc, _ = fix_json(r, 1, args, "--execute")
    t = doc["targets"][0]
    check_eq(t["rows_read"], 6, "only the new messages")
    check_eq(t["rewritten"], 6, "the new messages converted")
    src = source_of(c, "orders")
    out = read_all(c, "orders-v1")
    check_copy(recs, src, out, repaired | repaired_set(doc))
    groups = {p["partition"]: (p["group_offset"], p["group_output_offset"])
              for p in t["partitions"]}
    # Partition 0: source offset 4 is the third copy (offsets 2, 3, 4...).
    want = {}
    for p in range(PARTITIONS):
        g = committed(c, "orders")[p]
        if g < 0:
            want[p] = (None, None)
            continue
        offs = [int(header(h, "rollsafe-original").decode().rsplit("/", 1)[1])
                for (_, _, _, h, _) in out[p]]
        first = [o for (o, s) in zip([m[0] for m in out[p]], offs) if s >= g]
        want[p] = (g, first[0] if first else len(out[p]))
    check_eq(groups, want, "the group's offsets on the output topic")
    check_eq(groups[0], (4, 2), "partition 0 worked out by hand")


@with_cluster({"orders": PARTITIONS, "orders-v1": PARTITIONS})
def test_kill_during_fix_and_resume(r, c):
    """SIGKILL in the middle of a fix, then the same command again: every
    source message once in the output, in order, none missing, and the
    converted ones read by the independent reader as their writer meant."""
    recs = Records()
    kinds = ["v1", "v2_plain", "v2_gift", "v2_awaiting"]
    n = 900
    msgs = [(i % PARTITIONS, b"k%d" % i,
             recs.v1(i) if kinds[i % 4] == "v1" else
             recs.make(kinds[i % 4], i), [("i", b"%d" % i)])
            for i in range(n)]
    produce(c, "orders", msgs)
    src = source_of(c, "orders")
    args = fix_args(c, "orders", "orders-v1", "--from-beginning")
    # Slowed down, so that the kill lands in the middle: it comes once the
    # output holds a tenth of the messages.
    proc = subprocess.Popen([r.rollsafe, "fix", *args, "--execute",
                             "--allow-lossy", "--max-rate", "150"],
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    copied = 0
    while copied < n // 10:
        check(proc.poll() is None, "the fix still runs before the kill")
        time.sleep(0.05)
        copied = sum(hi for (_, hi) in watermarks(c, "orders-v1").values())
    proc.send_signal(signal.SIGKILL)
    proc.wait(60)
    partial = sum(len(v) for v in read_all(c, "orders-v1").values())
    check(n // 10 <= partial < n, "killed in the middle", partial)
    doc, _ = fix_json(r, 0, args, "--execute", "--allow-lossy")
    t = doc["targets"][0]
    check(all(p["resumed"] for p in t["partitions"]
              if p["resumed_after"] is not None), "resumed")
    check_eq(t["rows_read"], n - partial, "the rest read once")
    check_eq((t["duplicates"], t["missing"], t["remaining"]), (0, 0, 0),
             "verified by rollsafe")
    check_eq(t["verified_messages"], n, "every copy read back")
    out = read_all(c, "orders-v1")
    check_eq(sum(len(v) for v in out.values()), n, "no duplicate, no gap")
    # Every envelope was converted (a raw reader reads none), every raw
    # record copied as it is.
    check_copy(recs, src, out, {(p, o) for p in range(PARTITIONS)
                                for (o, _, v, _, _) in src[p]
                                if v[:1] == b"\xf7"})


@with_cluster({"orders": PARTITIONS, "orders-v1": PARTITIONS,
               "small": 2, "other": PARTITIONS})
def test_refusals(r, c):
    recs = Records()
    produce(c, "orders", layout(recs)[:6])
    produce(c, "other", [(1, b"x", b"not ours", None)])
    base = ["--kafka", c.bootstrap, "--topic", c.topics["orders"], *TYPE,
            *READER, "--kafka-timeout", "20"]
    for extra, code, what in (
            (["--output-topic", c.topics["orders"]], 2,
             "never writes the topic it reads"),
            (["--output-topic", "no-such-topic"], 2, "create it first"),
            (["--output-topic", c.topics["small"]], 2,
             "fewer than the 3 of"),
            (["--output-topic", c.topics["other"]], 2,
             "did not copy from topic"),
            ([], 2, "give --output-topic"),
            (["--output-topic", "x", "--in-place-compacted"], 2,
             "give --output-topic"),
            (["--output-topic", "x", "--resume", "r1"], 2,
             "resumes by itself"),
            (["--in-place-compacted", "--group", GROUP], 2,
             "do not apply"),
            (["--output-topic", c.topics["orders-v1"], "--kafka-property",
              "acks=1"], 2,
             "cannot be set")):
        out, err = r.expect(code, "fix", *base, *extra, "--execute")
        check(what in err, "message for %s" % extra, err)
    for t in ("orders-v1", "small"):
        check(all(hi == 0 for (_, hi) in watermarks(
            c, t, 2 if t == "small" else PARTITIONS).values()),
            "nothing written to %s" % t)
    check_eq(watermarks(c, "other")[1], (0, 1), "the foreign topic unchanged")


@with_cluster({"orders": PARTITIONS, "orders-v1": PARTITIONS,
               "orders-v1b": PARTITIONS})
def test_fix_from_config(r, c):
    """`fix -c rollsafe.yaml --execute` of a kind: kafka-topic target whose
    config names its output_topic does what the same fix from command-line
    options does (the output read back, the counts); beside a table in
    the config, the topic is fixed alone (--target)."""
    from test_confluent import V1_ID, V2_ID
    recs = Records()
    produce(c, "orders", layout(recs))
    src = source_of(c, "orders")
    cfg = os.path.join(r.work, "rollsafe.yaml")
    with open(cfg, "w") as f:
        f.write("reader_version: 1\n"
                "reader_framing: raw\n"
                "schema_ids: {%d: 1, %d: \"2@1\"}\n"
                "targets:\n"
                "  - name: events\n"
                "    kind: kafka-topic\n"
                "    bootstrap: %s\n"
                "    topic: %s\n"
                "    type: shop.Order\n"
                "    output_topic: %s\n"
                "    timeout: 20\n"
                "  - name: orders\n"
                "    kind: sqlite-table\n"
                "    connection: demo.db\n"
                "    table: orders\n"
                "    key: id\n"
                "    column: payload\n"
                "    type: shop.Order\n"
                % (V1_ID, V2_ID, c.bootstrap, c.topics["orders"],
                   c.topics["orders-v1"]))
    out, err = r.expect(2, "fix", "-c", cfg, "--execute")
    check("target 'events' is a Kafka topic" in err and
          "--target events" in err, "a topic beside a table", err)
    check_eq(watermarks(c, "orders-v1"), {p: (0, 0) for p in range(3)},
             "nothing written by the refused fix")
    doc, _ = fix_json(r, 1, ["-c", cfg, "--target", "events"], "--execute")
    ref, _ = fix_json(r, 1, fix_args(c, "orders", "orders-v1b"),
                      "--execute")
    t, rt = doc["targets"][0], ref["targets"][0]
    check_eq(t["output_topic"], c.topics["orders-v1"], "the config's output")
    for k in ("rows_read", "delivered", "rewritten", "remaining",
              "lossy_skipped", "left_alone"):
        check_eq(t[k], rt[k], "%s: from the config vs from the options" % k)
    out = read_all(c, "orders-v1")
    check_copy(recs, src, out, repaired_set(doc))
    check_eq({p: [m[2] for m in ms] for p, ms in out.items()},
             {p: [m[2] for m in ms]
              for p, ms in read_all(c, "orders-v1b").items()},
             "the output from the config vs from the options")
    # The command line's way of writing wins over the config's.
    _, err = r.expect(2, "fix", "-c", cfg, "--target", "events",
                      "--in-place-compacted", "--output-topic", "x")
    check("give --output-topic" in err, "both ways refused", err)


def latest_per_key(msgs):
    """What compaction leaves of a partition's messages: {key: message}."""
    out = {}
    for m in msgs:
        out[m[1]] = m
    return out


class Policies:
    """The bootstrap servers rollsafe is given for in-place fixes: on the
    mock cluster, a proxy that answers DescribeConfigs with the topics'
    cleanup.policy (kafka_config_proxy.py; the mock keeps no configs); on
    a real cluster, the cluster itself (its topics made with those
    configs)."""

    def __init__(self, c, policies):
        self.proxy = None
        self.bootstrap = c.bootstrap
        if c.proc is not None:
            from kafka_config_proxy import ConfigProxy
            self.proxy = ConfigProxy(c.bootstrap, {
                c.topics[t]: {"cleanup.policy": p}
                for t, p in policies.items()})
            self.bootstrap = self.proxy.bootstrap

    def close(self):
        if self.proxy is not None:
            self.proxy.close()


COMPACT = {"cleanup.policy": "compact"}


@with_cluster({"ledger": (PARTITIONS, COMPACT),
               "ledger.rollsafe-journal": 1,
               "plain": (PARTITIONS, {"cleanup.policy": "delete"})})
def test_in_place_compacted_and_restore(r, c):
    recs = Records()
    # Keys k0..k8: a version-1 value first; then the even keys get a
    # version-2 envelope (unreadable to the raw reader), k2's followed by a
    # version-1 value again (the unreadable one superseded), k4's by a
    # tombstone, and k8 an AWAITING_AUTH status (lossy: left alone).
    msgs = [(i % 3, b"k%d" % i, recs.v1(i), None) for i in range(9)]
    msgs += [(i % 3, b"k%d" % i,
              recs.make("v2_awaiting" if i == 8 else "v2_plain", 10 + i),
              [("h", b"%d" % i)]) for i in range(0, 9, 2)]
    msgs += [(2, b"k2", recs.v1(22), None), (1, b"k4", None, None)]
    produce(c, "ledger", msgs)
    pol = Policies(c, {"ledger": "compact", "plain": "delete"})
    try:
        args = ["--kafka", pol.bootstrap, "--topic", c.topics["ledger"],
                *TYPE, *READER, "--kafka-timeout", "20"]
        if os.environ.get("RS_KAFKA_BOOTSTRAP"):
            args += ["--journal-topic", c.topics["ledger.rollsafe-journal"]]
        before = read_all(c, "ledger")
        src = {p: latest_per_key(before[p]) for p in range(PARTITIONS)}
        want = {(p, m[0]) for p in range(PARTITIONS) for m in src[p].values()
                if m[2] is not None and m[2][:1] == b"\xf7" and
                m[1] != b"k8"}
        check_eq(len(want), 2, "k0 and k6 to convert")
        dry, _ = fix_json(r, 1, args, "--in-place-compacted")
        t = dry["targets"][0]
        check_eq(t["cleanup_policy"], "compact", "policy read")
        check_eq(repaired_set(dry), want, "the dry run names what it would "
                 "convert")
        check_eq(read_all(c, "ledger"), before, "the dry run writes nothing")
        doc, _ = fix_json(r, 1, args, "--in-place-compacted", "--execute")
        t = doc["targets"][0]
        run_id = t["run_id"]
        check_eq(repaired_set(doc), want, "converted: each key's latest")
        check_eq(t["lossy_skipped"], 1, "k8 left alone (lossy)")
        check(t["superseded"] >= 3, "superseded ones skipped", t)
        after = read_all(c, "ledger")
        # The journal holds each original, named and keyed by its offset.
        journal = read_all(c, "ledger.rollsafe-journal", 1)[0]
        check_eq(len(journal), len(want), "one journal entry per original")
        for (_, key, value, hdrs, _) in journal:
            origin = header(hdrs, "rollsafe-original").decode()
            topic, p, o = origin.rsplit("/", 2)
            p, o = int(p), int(o)
            check_eq(key.decode(), origin, "journal key")
            orig = [m for m in before[p] if m[0] == o][0]
            check_eq(value, orig[2], "original bytes journaled")
            check_eq(header(hdrs, "rollsafe-original-key"), orig[1],
                     "original key journaled")
            check_eq(header(hdrs, "rollsafe-run").decode(), run_id, "run")
        # After compaction every key's latest value is read by the old
        # reader as its writer meant, but k8's (left alone).
        for p in range(PARTITIONS):
            latest = latest_per_key(after[p])
            for key, m in latest.items():
                if m[2] is None or key == b"k8":
                    continue
                got = v1_reads(recs, m[2])
                check(got is not None, "latest of %s readable" % key)
                old = src[p][key]
                check_eq((got.order_id, got.customer_id, got.total_cents),
                         meant(recs, old[2]), "latest of %s as meant" % key)
                if (p, old[0]) in want:
                    check_eq(header(m[3], "rollsafe-original").decode(),
                             "%s/%d/%d" % (c.topics["ledger"], p, old[0]),
                             "replacement names its original")
                    check_eq(header(m[3], "h"), old[3][0][1],
                             "original headers kept")
        # Again: nothing left to convert, nothing written.
        again, _ = fix_json(r, 1, args, "--in-place-compacted", "--execute")
        check_eq(again["targets"][0]["rewritten"], 0, "nothing to convert")
        check_eq(read_all(c, "ledger"), after, "nothing written again")
        # A producer writes k6 after the fix: restore leaves it alone and
        # puts k0's original back.
        k6 = [(p, m) for p in range(PARTITIONS) for m in after[p]
              if m[1] == b"k6"][0]
        produce(c, "ledger", [(k6[0], b"k6", recs.v1(66), None)])
        rargs = [a for a in args if a != "--in-place-compacted"]
        out, _ = r.expect(0, "restore", *rargs, "--run", run_id, "--format",
                          "json")
        rd = validate(json.loads(out), "restore of a topic")["targets"][0]
        check_eq((rd["restored"], rd["conflicts"]), (1, 1), "dry restore")
        mid = read_all(c, "ledger")
        out, _ = r.expect(0, "restore", *rargs, "--run", run_id, "--format",
                          "json", "--execute")
        rd = validate(json.loads(out), "restore of a topic")["targets"][0]
        check_eq((rd["restored"], rd["conflicts"]), (1, 1), "restore")
        restored = read_all(c, "ledger")
        for p in range(PARTITIONS):
            latest = latest_per_key(restored[p])
            for key, m in latest.items():
                if key == b"k0":
                    check_eq(m[2], src[p][key][2], "k0's original back")
                    check_eq(header(m[3], "rollsafe-restored").decode(),
                             run_id, "marked restored")
                    check_eq(header(m[3], "h"), b"0", "its headers back")
                if key == b"k6":
                    check_eq(m[2], recs.v1(66), "k6's new value kept")
        check_eq(sum(len(v) for v in restored.values()),
                 sum(len(v) for v in mid.values()) + 1, "one message added")
        # Restoring twice changes nothing.
        out, _ = r.expect(0, "restore", *rargs, "--run", run_id, "--format",
                          "json", "--execute")
        rd = validate(json.loads(out), "restore of a topic")["targets"][0]
        check_eq((rd["restored"], rd["conflicts"]), (0, 2), "restore again")
        check("already restored" in json.dumps(rd["samples"]),
              "named already restored", rd["samples"])
        check_eq(read_all(c, "ledger"), restored, "nothing written")
        # A topic that is not compacted is refused, and so is a journal
        # topic that does not exist.
        out, err = r.expect(2, "fix", "--kafka", pol.bootstrap, "--topic",
                            c.topics["plain"], *TYPE, *READER,
                            "--in-place-compacted", "--execute")
        check("cleanup.policy=delete" in err, "delete refused", err)
        out, err = r.expect(2, "fix", *args, "--in-place-compacted",
                            "--journal-topic", "no-such-journal",
                            "--execute")
        check("no journal topic" in err, "journal needed", err)
    finally:
        pol.close()
    if c.proc is not None:
        # The mock itself cannot say: never written in place.
        out, err = r.expect(3, "fix", "--kafka", c.bootstrap, "--topic",
                            c.topics["ledger"], *TYPE, *READER,
                            "--in-place-compacted", "--execute",
                            "--kafka-timeout", "5")
        check("cannot read the cleanup.policy" in err, "unknown policy", err)
        check_eq(read_all(c, "ledger"), restored, "nothing written")


def test_silent_broker_fix_exits_3(r):
    """A broker that accepts connections and never answers: the fix gives
    up with exit 3 once the configured timeout has passed (ctest's own
    timeout catches a hang), naming the brokers and the topic."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    bootstrap = "127.0.0.1:%d" % srv.getsockname()[1]
    try:
        for argv in (["fix", "--output-topic", "orders-v1", "--execute"],
                     ["fix", "--in-place-compacted", "--execute"]):
            start = time.monotonic()
            out, err = r.expect(3, argv[0], "--kafka", bootstrap, "--topic",
                                "orders", *TYPE, "--kafka-timeout", "2",
                                *argv[1:], timeout=300)
            took = time.monotonic() - start
            check(took >= 2, "waited for the configured timeout", took)
            check(bootstrap in err and "orders" in err,
                  "names bootstrap and topic", err)
    finally:
        srv.close()
    # Nothing listening at all: the same exit.
    out, err = r.expect(3, "fix", "--kafka", "127.0.0.1:%d" % free_port(),
                        "--topic", "orders", *TYPE, "--output-topic",
                        "orders-v1", "--kafka-timeout", "2", timeout=300)


TESTS = {name[len("test_"):]: fn for name, fn in list(globals().items())
         if name.startswith("test_")}

if __name__ == "__main__":
    sys.exit(run_cases(TESTS))
