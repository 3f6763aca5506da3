#!/usr/bin/env python3
"""The old reader itself (tests/old_reader/: old_reader, and old_consumer,
the outbox's workers), on records it did not see
made: Python's protobuf writes them from the .proto files under schema/,
so that what old_reader reports is checked against bytes neither it nor
rollsafe's codec produced. Each hazard of schema/README.md is written as a
raw version-2 payload (a writer that skipped the envelope), where only the
fields themselves can break the version-1 reader.

Usage: test_old_reader.py --rollsafe BIN --work DIR CASE
"""

import os
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "integration"))
from rehearsal import env_path, run  # noqa: E402
from rsdata import Records, check, check_eq, gen, run_cases  # noqa: E402


def v2_raw(recs, n, hazard):
    o = recs.v2m.Order()
    o.order_id = "O-%d" % n
    o.customer_id = "C-%d" % n
    it = o.items.add()
    it.sku, it.quantity, it.unit_price_cents = "SKU-1", 2, 1000
    o.total_cents = 2000
    o.status = 2
    if hazard == "awaiting_auth":
        o.status = 6
    elif hazard == "discount":
        o.discount.units, o.discount.nanos = 2, 500000000
        o.discount.currency_code = "USD"
        o.total_cents = 1750
    elif hazard == "guest":
        o.ClearField("customer_id")
    elif hazard == "deliver_by":
        o.deliver_by.seconds = 1768473000
    elif hazard == "ignored":
        o.promo_codes.append("SPRING10")
        o.gift_message = "hi"
        o.pickup_store_id = "store-1"
    return gen.serialize(o)


# key: (bytes builder, what the reason must say; None = read correctly)
def cases(recs):
    v1 = recs.v1m.Order()
    v1.order_id, v1.customer_id, v1.total_cents = "O-1", "C-1", 1500
    it = v1.items.add()
    it.sku, it.quantity, it.unit_price_cents = "SKU-1", 2, 1000
    v1.discount_cents = 500
    bad_sum = recs.v1m.Order()
    bad_sum.CopyFrom(v1)
    bad_sum.total_cents = 1400
    return {
        1: (gen.serialize(v1), None),
        2: (v2_raw(recs, 2, "plain"), None),
        3: (v2_raw(recs, 3, "ignored"), None),
        4: (v2_raw(recs, 4, "awaiting_auth"),
            "status(4) = 6 is not a value of shop.v1.Order.Status"),
        5: (v2_raw(recs, 5, "discount"),
            "money in a field version 1 does not read (unknown fields: 10)"),
        6: (v2_raw(recs, 6, "guest"), "required field customer_id(2) missing"),
        7: (v2_raw(recs, 7, "deliver_by"),
            "deliver_by(9) at byte"),
        8: (recs.v2("v2_plain", 8), "an envelope, not a raw record"),
        9: (gen.serialize(v1)[:4], "field 1 at byte 0 runs past the end"),
        10: (gen.serialize(bad_sum), "the amounts do not add up"),
    }


def test_names_each_hazard(r):
    recs = Records()
    os.makedirs(r.work, exist_ok=True)
    path = os.path.join(r.work, "records.db")
    want = cases(recs)
    c = sqlite3.connect(path)
    c.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, payload BLOB)")
    c.execute("CREATE TABLE order_events (id INTEGER PRIMARY KEY, "
              "payload BLOB)")
    c.executemany("INSERT INTO orders VALUES (?, ?)",
                  [(k, b) for k, (b, _) in want.items()])
    c.execute("INSERT INTO order_events VALUES (1, ?)", (want[4][0],))
    c.commit()
    c.close()
    old_reader = env_path("RS_OLD_READER")
    _, out, err = run([old_reader, "--sqlite", path], 1)
    got = {}
    for line in out.splitlines():
        table, key, reason = line.split("\t")
        got[(table, int(key))] = reason
    bad = {("orders", k) for k, (_, why) in want.items() if why} | \
        {("order_events", 1)}
    check_eq(set(got), bad, "records named")
    for k, (_, why) in want.items():
        if why:
            check(why in got[("orders", k)], "reason for key %d" % k,
                  got[("orders", k)], "want: " + why)
    check("has wire type 2, version 1 expects 0" in got[("orders", 7)],
          "deliver_by reason", got[("orders", 7)])
    check("orders: 10 records read, 7 not read correctly" in err,
          "summary", err)

    # Only what is named: a table named with --table must exist.
    _, out, err = run([old_reader, "--sqlite", path, "--table", "orders"], 1)
    check_eq(len(out.splitlines()), 7, "lines for --table orders")
    _, _, err = run([old_reader, "--sqlite", path, "--table", "nope"], 2)
    check("no table nope" in err, "missing table named", err)
    _, _, err = run([old_reader, "--sqlite",
                     os.path.join(r.work, "missing.db")], 3)
    check(err.strip() != "", "missing file reported", err)
    _, _, err = run([old_reader], 2)
    check("give one of --sqlite FILE and --postgres CONNINFO" in err,
          "usage error", err)


def outbox(recs, path):
    """An order_events outbox with messages in every state: {id: (state,
    bytes, readable)}."""
    want = cases(recs)
    msgs = {1: ("pending", want[1][0], True),
            2: ("pending", want[8][0], False),
            3: ("processing", want[4][0], False),
            4: ("done", want[6][0], False),
            5: ("pending", want[2][0], True),
            6: ("done", want[1][0], True)}
    c = sqlite3.connect(path)
    c.execute("CREATE TABLE order_events (id INTEGER PRIMARY KEY, "
              "payload BLOB, state TEXT NOT NULL)")
    c.executemany("INSERT INTO order_events VALUES (?, ?, ?)",
                  [(k, b, st) for k, (st, b, _) in msgs.items()])
    c.commit()
    c.close()
    return msgs


def test_states(r):
    """--states reads only the outbox messages in those states; without
    it every row is read."""
    recs = Records()
    os.makedirs(r.work, exist_ok=True)
    path = os.path.join(r.work, "outbox.db")
    msgs = outbox(recs, path)
    old_reader = env_path("RS_OLD_READER")

    def named(want, *args):
        _, out, err = run([old_reader, "--sqlite", path, "--table",
                           "order_events", *args], want)
        return {int(line.split("\t")[1]) for line in out.splitlines()}, err
    got, err = named(1)
    check_eq(got, {k for k, (_, _, ok) in msgs.items() if not ok},
             "every state")
    check("order_events: 6 records read, 3 not read correctly" in err,
          "summary", err)
    got, err = named(1, "--states", "pending,processing")
    check_eq(got, {2, 3}, "pending and processing")
    check("order_events: 4 records read (states pending,processing), 2 not "
          "read correctly" in err, "summary with states", err)
    check_eq(named(1, "--states", "done")[0], {4}, "done")
    check_eq(named(0, "--states", "retry")[0], set(), "no message retrying")
    _, _, err = run([old_reader, "--sqlite", path, "--states", ""], 2)
    check("--states: an empty list" in err, "empty list", err)


def test_consumer(r):
    """old_consumer takes pending messages oldest first, says what the old
    code made of each, marks them done (or deletes them) and finishes the
    messages held when it started."""
    recs = Records()
    os.makedirs(r.work, exist_ok=True)
    consumer = env_path("RS_OLD_CONSUMER")
    for delete in (False, True):
        path = os.path.join(r.work, "consumer%d.db" % delete)
        msgs = outbox(recs, path)
        args = [consumer, "--sqlite", path, "--take", "2", "--finish-held"]
        _, out, _ = run(args + (["--delete"] if delete else []), 1)
        lines = [line.split("\t") for line in out.splitlines()]
        check_eq([f[:2] for f in lines],
                 [["held", "3"], ["taken", "1"], ["taken", "2"],
                  ["finished", "3"]], "events (delete: %s)" % delete)
        check_eq(bytes.fromhex(lines[1][2]), msgs[1][1], "bytes of 1")
        check_eq(lines[1][3], "ok", "message 1 read")
        check("an envelope, not a raw record" in lines[2][3],
              "message 2's reason", lines[2][3])
        c = sqlite3.connect(path)
        states = dict(c.execute("SELECT id, state FROM order_events"))
        c.close()
        gone = {1, 2, 3} if delete else set()
        want = {k: ("done" if k in (1, 2, 3) else st)
                for k, (st, _, _) in msgs.items() if k not in gone}
        check_eq(states, want, "states afterwards (delete: %s)" % delete)
        # What is left: one pending message, then nothing.
        _, out, _ = run([consumer, "--sqlite", path, "--take", "5"], 0)
        check_eq([line.split("\t")[:2] for line in out.splitlines()],
                 [["taken", "5"]], "the last pending message")
    _, _, err = run([consumer, "--sqlite", path, "--take", "x"], 2)
    check("--take: 'x' is not a count" in err, "usage error", err)


TESTS = {name[len("test_"):]: fn for name, fn in globals().items()
         if name.startswith("test_") and callable(fn)}

if __name__ == "__main__":
    sys.exit(run_cases(TESTS))
