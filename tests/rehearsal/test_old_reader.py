#!/usr/bin/env python3
"""The old reader itself (tests/old_reader/), on records it did not see
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


TESTS = {name[len("test_"):]: fn for name, fn in globals().items()
         if name.startswith("test_") and callable(fn)}

if __name__ == "__main__":
    sys.exit(run_cases(TESTS))
