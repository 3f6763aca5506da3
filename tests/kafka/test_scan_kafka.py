#!/usr/bin/env python3
"""Integration tests of kafka-topic targets: `rollsafe scan --kafka`.

Usage: test_scan_kafka.py --rollsafe BIN --work DIR CASE

The brokers are librdkafka's mock cluster (tests/kafka/kafka_mock.c, path in
RS_KAFKA_MOCK), which speaks the Kafka protocol on loopback sockets; no real
broker runs in CI. With RS_KAFKA_BOOTSTRAP naming a real cluster's bootstrap
servers, the same cases run against it instead (topics are created there
with the admin API, under fresh names). Records are produced and the group's
offsets committed with Python's confluent-kafka, independently of rollsafe;
the records themselves are built with Python's protobuf (rsdata.Records).
"""

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from rsdata import Records, check, check_eq, run_cases  # noqa: E402
sys.path.insert(0, os.path.join(HERE, "..", "report"))
from schemacheck import validate  # noqa: E402
from test_confluent import (V1_ID, V2_ID, MAPPINGS, confluent,  # noqa: E402
                            payload)

from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402

PARTITIONS = 3
GROUP = "old-consumers"
TYPE = ["--type", "shop.Order"]

# (kind, framing) of each message, in production order; message i goes to
# partition i % PARTITIONS. Kinds are rsdata.EXPECTED's.
LAYOUT = ([("v1", "raw"), ("v2_plain", "envelope"), ("v2_gift", "envelope"),
           ("v2_awaiting", "envelope"), ("v2_guest", "envelope"),
           ("v1", "confluent"), ("v2_awaiting", "confluent"),
           ("corrupt", "raw"), ("v1", "raw")] * 2)


class Cluster:
    """A Kafka cluster: the mock, or RS_KAFKA_BOOTSTRAP's, with the topics
    given: a list of names (PARTITIONS each), or {name: partitions} or
    {name: (partitions, configs)} (configs only on a real cluster: the
    mock keeps none)."""

    def __init__(self, topics):
        self.proc = None
        if not isinstance(topics, dict):
            topics = {t: PARTITIONS for t in topics}
        specs = {t: spec if isinstance(spec, tuple) else (spec, {})
                 for t, spec in topics.items()}
        real = os.environ.get("RS_KAFKA_BOOTSTRAP")
        suffix = uuid.uuid4().hex[:8]
        self.topics = {t: "%s-%s" % (t, suffix) if real else t
                       for t in topics}
        if real:
            from confluent_kafka.admin import AdminClient, NewTopic
            self.bootstrap = real
            admin = AdminClient({"bootstrap.servers": real})
            fs = admin.create_topics([NewTopic(self.topics[t], n, 1,
                                               config=cfg)
                                      for t, (n, cfg) in specs.items()])
            for f in fs.values():
                f.result(30)
            return
        mock = os.environ["RS_KAFKA_MOCK"]
        args = [mock, "--brokers", "3"]
        for t, (n, _) in specs.items():
            args += ["--topic", "%s:%d" % (self.topics[t], n)]
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE)
        self.bootstrap = self.proc.stdout.readline().decode().strip()
        check(self.bootstrap, "the mock cluster printed its bootstrap servers")

    def close(self):
        if self.proc is not None:
            self.proc.stdin.close()
            self.proc.wait(30)


def with_cluster(topics):
    def wrap(fn):
        def run(r):
            c = Cluster(topics)
            try:
                fn(r, c)
            finally:
                c.close()
        return run
    return wrap


def record(recs, kind, framing, n):
    if kind == "corrupt":
        return recs.corrupt(n)
    if framing == "raw":
        return recs.v1(n)
    if framing == "envelope":
        return recs.make(kind, n)
    version = 1 if kind == "v1" else 2
    body = payload(recs, kind, n)
    return confluent(V1_ID, [0], body) if version == 1 else \
        confluent(V2_ID, [1], body)


def produce(cluster, topic, messages):
    """Produces (partition, value, headers) in order; returns the
    [partition, offset] of each, from the delivery reports."""
    p = Producer({"bootstrap.servers": cluster.bootstrap})
    where = [None] * len(messages)

    def delivered(i):
        def cb(err, msg):
            check(err is None, "delivery of message %d: %s" % (i, err))
            where[i] = (msg.partition(), msg.offset())
        return cb

    for i, (part, value, headers) in enumerate(messages):
        p.produce(cluster.topics[topic], value, partition=part,
                  headers=headers or None, on_delivery=delivered(i))
    check_eq(p.flush(30), 0, "messages left unflushed")
    check(all(w is not None for w in where), "every message delivered")
    return where


def commit(cluster, topic, offsets):
    """Commits {partition: offset} for GROUP, as a consumer would."""
    c = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": GROUP,
                  "enable.auto.commit": False})
    c.commit(offsets=[TopicPartition(cluster.topics[topic], p, o)
                      for p, o in offsets.items()], asynchronous=False)
    c.close()


def committed(cluster, topic):
    c = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": GROUP,
                  "enable.auto.commit": False})
    got = c.committed([TopicPartition(cluster.topics[topic], p)
                       for p in range(PARTITIONS)], timeout=30)
    c.close()
    return {tp.partition: tp.offset for tp in got}


def kafka_args(cluster, topic, *start):
    return ["--kafka", cluster.bootstrap, "--topic", cluster.topics[topic],
            *TYPE, *start, "--kafka-timeout", "20"]


def scan(r, code, args, *extra):
    doc, err = r.scan_json(code, *args, "--reader-version", "1",
                           "--reader-framing", "envelope", "--samples",
                           "1000", *MAPPINGS, *extra)
    # Every report of a topic scan matches schema/json/scan.schema.json.
    return validate(doc, "scan of a topic"), err


def verdicts(doc):
    """{key: verdict} of every sampled record (ok records have none)."""
    out = {}
    for verdict, samples in doc["targets"][0]["samples"].items():
        for s in samples:
            out[s["key"]] = verdict
    return out


def layout_messages(recs):
    return [(i % PARTITIONS, record(recs, k, f, i + 1), None)
            for i, (k, f) in enumerate(LAYOUT)]


def sqlite_verdicts(r, recs):
    """The same records in a SQLite table, scanned with the same reader:
    {index: verdict}, ok included."""
    path = os.path.join(r.work, "same.db")
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, payload BLOB)")
    db.executemany("INSERT INTO orders VALUES (?, ?)",
                   [(i, m[1]) for i, m in enumerate(layout_messages(recs))])
    db.commit()
    db.close()
    doc, _ = scan(r, 1, ["--sqlite", path, "--table", "orders", "--key", "id",
                         "--column", "payload", *TYPE])
    v = verdicts(doc)
    return {i: v.get(str(i), "ok") for i in range(len(LAYOUT))}


def check_partitions(doc, where, first_index):
    """The report's partitions: offsets, lag and counts of the messages
    from @first_index[p] on in each partition p."""
    parts = doc["targets"][0]["partitions"]
    check_eq([p["partition"] for p in parts], list(range(PARTITIONS)),
             "partitions listed")
    for p in parts:
        mine = [o for (q, o) in where if q == p["partition"]]
        read = [o for o in mine if o >= first_index[p["partition"]]]
        check_eq(p["end_offset"], max(mine) + 1, "high watermark of %d"
                 % p["partition"])
        check_eq(p["lag"], len(read), "lag of partition %d" % p["partition"])
        check_eq(p["messages"], len(read), "read from %d" % p["partition"])
        check_eq(p["first_offset"], read[0] if read else None, "first")
        check_eq(p["last_offset"], read[-1] if read else None, "last")
        check_eq(sum(p["verdicts"].values()) + p["undetermined"], len(read),
                 "counts of partition %d" % p["partition"])


@with_cluster(["orders"])
def test_from_beginning_matches_sqlite(r, c):
    recs = Records()
    where = produce(c, "orders", layout_messages(recs))
    want = sqlite_verdicts(r, recs)
    check_eq(set(want.values()), {"ok", "ignored_fields", "misread",
                                  "unreadable", "corrupt"},
             "the layout covers each verdict")
    doc, _ = scan(r, 1, kafka_args(c, "orders", "--from-beginning"))
    t = doc["targets"][0]
    check_eq(t["kind"], "kafka-topic", "kind")
    check_eq(t["rows_read"], len(LAYOUT), "messages read")
    got = verdicts(doc)
    for key in got:
        p, o = key.split("@")
        check(p.isdigit() and o.isdigit(), "records named P@O", key)
    for i, (p, o) in enumerate(where):
        check_eq(got.get("%d@%d" % (p, o), "ok"), want[i],
                 "verdict of message %d (%d@%d)" % (i, p, o))
    check_partitions(doc, where, {p: 0 for p in range(PARTITIONS)})
    # Per-partition counts add up to the target's.
    total = {}
    for p in t["partitions"]:
        for v, n in p["verdicts"].items():
            total[v] = total.get(v, 0) + n
    check_eq(total, t["verdicts"], "partition verdicts sum to the target's")
    # Metrics as for every target.
    prom = os.path.join(r.work, "scan.prom")
    scan(r, 1, kafka_args(c, "orders"), "--metrics", prom)
    with open(prom) as f:
        metrics = f.read()
    check('target="orders"' in metrics and metrics.rstrip().endswith("# EOF"),
          "metrics name the topic's target", metrics[:2000])
    # Per partition: each verdict's count and the lag, as the JSON says.
    for p in t["partitions"]:
        for v, n in p["verdicts"].items():
            line = ('rollsafe_scan_partition_records{target="orders",'
                    'partition="%d",verdict="%s"} %d' % (p["partition"], v, n))
            check(line in metrics, "partition metric", line, metrics[:3000])
        line = ('rollsafe_scan_partition_lag{target="orders",partition="%d"} '
                '%d' % (p["partition"], p["lag"]))
        check(line in metrics, "lag metric", line)
    # The text report names partitions and the P@O of findings.
    out, _ = r.expect(1, "scan", *kafka_args(c, "orders"),
                      "--reader-version", "1", *MAPPINGS)
    check("messages as PARTITION@OFFSET" in out, "text names the keys", out)
    check("partitions" in out and "lag" in out, "text lists partitions", out)


@with_cluster(["orders"])
def test_group_reads_after_committed_offsets(r, c):
    recs = Records()
    where = produce(c, "orders", layout_messages(recs))
    per_part = {p: [o for (q, o) in where if q == p] for p in range(PARTITIONS)}
    # Partition 0 half read, partition 1 read to its end, partition 2 never
    # committed.
    offsets = {0: per_part[0][len(per_part[0]) // 2], 1: max(per_part[1]) + 1}
    commit(c, "orders", offsets)
    before = committed(c, "orders")
    check_eq({p: before[p] for p in offsets}, offsets, "committed offsets")
    want = sqlite_verdicts(r, recs)
    doc, _ = scan(r, 1, kafka_args(c, "orders", "--group", GROUP))
    starts = {0: offsets[0], 1: offsets[1], 2: 0}
    expect_keys = {"%d@%d" % (p, o): want[i] for i, (p, o) in enumerate(where)
                   if o >= starts[p]}
    t = doc["targets"][0]
    check_eq(t["rows_read"], len(expect_keys), "messages after the offsets")
    got = verdicts(doc)
    check(set(got) <= set(expect_keys), "only messages after the offsets",
          sorted(set(got) - set(expect_keys)))
    for key, v in expect_keys.items():
        check_eq(got.get(key, "ok"), v, "verdict of %s" % key)
    check_partitions(doc, where, starts)
    sf = {p["partition"]: p["start_from"] for p in t["partitions"]}
    check_eq(sf, {0: "committed", 1: "committed",
                  2: "no committed offset: beginning"}, "start_from")
    check_eq(t["group"], GROUP, "group in the report")
    # Read-only: the group's offsets are as they were.
    check_eq(committed(c, "orders"), before, "committed offsets after scan")


@with_cluster(["orders"])
def test_config_target_as_options(r, c):
    """A kafka-topic target of a config file scans as the same options do;
    its secret from properties_file is never printed."""
    recs = Records()
    where = produce(c, "orders", layout_messages(recs))
    per_part = {p: [o for (q, o) in where if q == p] for p in range(PARTITIONS)}
    commit(c, "orders", {0: per_part[0][2], 2: per_part[2][1]})
    before = committed(c, "orders")
    secret = "s3cret-" + uuid.uuid4().hex
    with open(os.path.join(r.work, "kafka.properties"), "w") as f:
        f.write("sasl.password=%s\n" % secret)
    cfg = os.path.join(r.work, "rollsafe.yaml")
    with open(cfg, "w") as f:
        f.write("""feature: checkout_v2
reader_version: 1
reader_framing: envelope
schema_ids: {%d: 1, %d: "2@1"}
targets:
  - name: order-events
    kind: kafka-topic
    connection_env: RS_TEST_KAFKA_BOOTSTRAP
    topic: %s
    type: shop.Order
    group: %s
    properties: {fetch.wait.max.ms: 50}
    properties_file: kafka.properties
    properties_env: {ssl.key.password: RS_TEST_KEY_PASSWORD}
    timeout: 20
""" % (V1_ID, V2_ID, c.topics["orders"], GROUP))
    env = dict(os.environ, RS_TEST_KAFKA_BOOTSTRAP=c.bootstrap,
               RS_TEST_KEY_PASSWORD=secret)
    rc, out, err = r.run("scan", "-c", cfg, "--format", "json", "--samples",
                         "1000", env=env)
    check_eq(rc, 1, "exit of the config scan")
    check(secret not in out + err, "secret not printed", err)
    doc = validate(json.loads(out), "scan of a topic through a config")
    opt, _ = scan(r, 1, kafka_args(c, "orders", "--group", GROUP))
    t, o = doc["targets"][0], opt["targets"][0]
    check_eq(t["name"], "order-events", "target name")
    check("$RS_TEST_KAFKA_BOOTSTRAP" in t["description"],
          "the variable named, not its value", t["description"])
    for k in ("rows_read", "verdicts", "partitions", "start", "group"):
        check_eq(t[k], o[k], k)
    check_eq(verdicts(doc), verdicts(opt), "verdicts per message")
    check_eq(committed(c, "orders"), before, "committed offsets after scan")


@with_cluster(["events"])
def test_header_provenance_filters(r, c):
    recs = Records()
    hdr = [("rollsafe-flag", b"checkout_v2"), ("rollsafe-variant", b"on"),
           ("rollsafe-writer", b"orders-api 4.2.0"),
           ("rollsafe-write-time", b"1768473000000000")]
    other = [("rollsafe-flag", b"search_v3")]
    # Raw records (no envelope): provenance only from the headers. The
    # corrupt one with the flag's headers is the finding.
    msgs = [(0, recs.v1(1), hdr), (1, recs.v1(2), hdr),
            (2, recs.corrupt(3), hdr), (0, recs.v1(4), other),
            (1, recs.corrupt(5), other), (2, recs.v1(6), None)]
    where = produce(c, "events", msgs)
    doc, _ = scan(r, 1, kafka_args(c, "events"), "--flag", "checkout_v2=on")
    t = doc["targets"][0]
    check_eq(t["rows_skipped"], 2, "other flag's messages left out")
    check_eq(t["unattributed"]["total"], 1, "the message without headers")
    check_eq(t["verdicts"]["ok"], 3, "ok")
    check_eq(t["verdicts"]["corrupt"], 1, "corrupt")
    check_eq(list(verdicts(doc)), ["%d@%d" % where[2]], "the finding's key")
    flags = {(w["flag"], w["variant"]) for w in t["writers"]}
    check(("checkout_v2", "on") in flags, "writer from headers", flags)
    w = [w for w in t["writers"] if w["flag"] == "checkout_v2"]
    check(all(x["first_write"] == "2026-01-15T10:30:00.000000Z" for x in w),
          "write time from the header", w)
    # Written before the time by the headers' account: left out (the
    # corrupt one among them too); no write time: judged, unattributed,
    # and the corrupt one among those is still a finding.
    doc, _ = scan(r, 1, kafka_args(c, "events"), "--written-after",
                  "2026-02-01T00:00:00Z")
    t = doc["targets"][0]
    check_eq(t["rows_skipped"], 3, "written before the time")
    check_eq(t["unattributed"], {"total": 3, "findings": 1}, "no write time")
    check_eq(list(verdicts(doc)), ["%d@%d" % where[4]], "the finding's key")


@with_cluster(["events"])
def test_headers_of_the_library_helper_read_back(r, c):
    """Messages whose headers a producer set with rs_provenance_headers()
    (kafka_provenance_produce, linking librollsafe): the scan reads back the
    flag, variant, writer and write time it was given; a message with the
    same provenance from Python's producer, using the documented names, is
    counted as the same writer."""
    recs = Records()
    tool = os.environ["RS_KAFKA_PRODUCE"]
    given = [("checkout_v2", "on", "orders-api 4.2.0 pod-7",
              1768473000123456),
             ("checkout_v2", "off", "orders-api 4.1.0", 1768400000000000),
             ("search_v3", "", "", 0)]
    for i, (flag, variant, writer, us) in enumerate(given):
        p = subprocess.run([tool, c.bootstrap, c.topics["events"], str(i),
                            flag, variant, writer, str(us)],
                           input=recs.corrupt(i), capture_output=True)
        check_eq(p.returncode, 0, "produced with the helper: %s" % p.stderr)
    produce(c, "events", [(0, recs.corrupt(9), [
        ("rollsafe-flag", b"checkout_v2"), ("rollsafe-variant", b"on"),
        ("rollsafe-writer", b"orders-api 4.2.0 pod-7"),
        ("rollsafe-write-time", b"1768473000123456")])])
    doc, _ = scan(r, 1, kafka_args(c, "events"), "--flag", "checkout_v2")
    t = doc["targets"][0]
    check_eq(t["rows_skipped"], 1, "search_v3's message left out")
    got = {(w["flag"], w["variant"], w["first_write"], w["rows"])
           for w in t["writers"]}
    check_eq(got, {("checkout_v2", "on", "2026-01-15T10:30:00.123456Z", 2),
                   ("checkout_v2", "off", "2026-01-14T14:13:20.000000Z", 1)},
             "provenance read back per writer")
    doc, _ = scan(r, 1, kafka_args(c, "events"), "--flag", "checkout_v2=on",
                  "--written-after", "2026-01-15T10:30:00.123Z")
    check_eq(doc["targets"][0]["rows_read"] -
             doc["targets"][0]["rows_skipped"], 2, "write time to the "
             "microsecond")


@with_cluster(["orders"])
def test_since_a_time_after_every_message(r, c):
    """The mock cluster answers a time lookup with "no such message" for
    every time (it keeps no time index): what is checked here is that a
    partition with nothing at or after the time is read from its end and the
    scan says it verified nothing (exit 4). A real broker
    (RS_KAFKA_BOOTSTRAP) also checks a time between messages."""
    recs = Records()
    msgs = layout_messages(recs)[:6]
    produce(c, "orders", msgs[:3])
    mid = int(time.time() * 1000) + 1500
    time.sleep(3)
    where = produce(c, "orders", msgs[3:])
    doc, err = scan(r, 4, kafka_args(c, "orders", "--since", "2100-01-01"))
    t = doc["targets"][0]
    check_eq(t["rows_read"], 0, "nothing read")
    check_eq({p["start_from"] for p in t["partitions"]},
             {"no message at or after the time"}, "start_from")
    check(t["nothing_verified"], "nothing verified", t)
    if os.environ.get("RS_KAFKA_BOOTSTRAP"):
        since = "@%d" % (mid // 1000 + 1)
        doc, _ = scan(r, 1, kafka_args(c, "orders", "--since", since))
        got = set(verdicts(doc))
        check_eq(doc["targets"][0]["rows_read"], 3, "messages after the time")
        check(got <= {"%d@%d" % w for w in where}, "only the later ones", got)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_unreachable_broker_exits_3(r):
    bootstrap = "127.0.0.1:%d" % free_port()
    # A hang is caught by the subprocess timeout, not by timing the run.
    out, err = r.expect(3, "scan", "--kafka", bootstrap, "--topic", "orders",
                        *TYPE, "--kafka-timeout", "2", timeout=120)
    check(bootstrap in err and "orders" in err, "names bootstrap and topic",
          err)


@with_cluster(["orders"])
def test_secrets_only_from_file_or_env(r, c):
    recs = Records()
    produce(c, "orders", layout_messages(recs)[:3])
    secret = "hunter2-" + uuid.uuid4().hex
    # Refused on the command line, without echoing the value.
    out, err = r.expect(2, "scan", *kafka_args(c, "orders"),
                        "--kafka-property", "sasl.password=" + secret)
    check("sasl.password" in err and "never taken from the command line"
          in err, "refusal says why", err)
    check(secret not in out + err, "secret not printed", err)
    # From a file, and from the environment: accepted, never printed.
    path = os.path.join(r.work, "client.properties")
    with open(path, "w") as f:
        f.write("# SASL settings\nsasl.username = rollsafe\n"
                "sasl.password=%s\n" % secret)
    env = dict(os.environ, KAFKA_KEY_PASSWORD=secret)
    for extra in (["--kafka-property-file", path],
                  ["--kafka-property-env",
                   "ssl.key.password=KAFKA_KEY_PASSWORD"]):
        rc, out, err = r.run("scan", *kafka_args(c, "orders"),
                             "--reader-version", "1", *MAPPINGS, *extra,
                             env=env)
        check(rc in (0, 1), "scan with %s: exit %d" % (extra[0], rc), err)
        check(secret not in out + err, "secret not printed", out, err)
    # A bad file line is named by its number, not shown.
    with open(path, "w") as f:
        f.write("sasl.password %s\n" % secret)
    out, err = r.expect(2, "scan", *kafka_args(c, "orders"),
                        "--kafka-property-file", path)
    check(path + ":1:" in err and secret not in err, "bad line named", err)


def test_fix_refuses_topics(r):
    """fix of a config's topic whose config says neither output_topic nor
    in_place_compacted is refused (a topic is never rewritten), as is one
    beside a table without --target; runs has none: each says so before
    connecting anywhere."""
    cfg = os.path.join(r.work, "rollsafe.yaml")
    topic = ("targets:\n  - name: events\n    kind: kafka-topic\n"
             "    bootstrap: 127.0.0.1:%d\n    topic: order-events\n"
             "    type: shop.Order\n    timeout: 1\n" % free_port())
    with open(cfg, "w") as f:
        f.write(topic)
    mixed = os.path.join(r.work, "mixed.yaml")
    with open(mixed, "w") as f:
        f.write(topic.replace("order-events\n", "order-events\n"
                              "    output_topic: order-events.v1\n") +
                "  - name: orders\n    kind: sqlite-table\n"
                "    connection: demo.db\n    table: orders\n"
                "    key: id\n    column: payload\n    type: shop.Order\n")
    for argv, how in ((["fix", "-c", cfg], "output_topic: TOPIC"),
                      (["fix", "-c", cfg, "--execute"], "output_topic: TOPIC"),
                      (["fix", "-c", mixed, "--execute"], "--target events"),
                      (["restore", "-c", mixed, "--run", "x"],
                       "--target events"),
                      (["runs", "-c", cfg], "")):
        out, err = r.expect(2, *argv)
        check("target 'events' is a Kafka topic" in err, "%s says why"
              % argv[0], err)
        check(how in err, "%s says how" % argv[0], err)
        check("transport" not in err, "%s connects nowhere" % argv[0], err)


@with_cluster(["orders"])
def test_usage_errors(r, c):
    base = kafka_args(c, "orders")
    for extra, what in (
            (["--group", GROUP, "--from-beginning"], "give one of"),
            (["--table", "t"], "does not apply to a Kafka topic"),
            (["--kafka-property", "group.id=x"], "cannot be set"),
            (["--kafka-property", "enable.auto.commit=true"],
             "cannot be set")):
        out, err = r.expect(2, "scan", *base, *extra)
        check(what in err, "message for %s" % extra, err)
    out, err = r.expect(2, "scan", "--topic", "orders", *TYPE)
    check("needs --kafka" in err, "topic without --kafka", err)
    out, err = r.expect(2, "scan", "--kafka", c.bootstrap, "--topic",
                        "no-such-topic", *TYPE, "--kafka-timeout", "5")
    check("no topic 'no-such-topic'" in err, "unknown topic named", err)


TESTS = {name[len("test_"):]: fn for name, fn in list(globals().items())
         if name.startswith("test_")}

if __name__ == "__main__":
    sys.exit(run_cases(TESTS))
