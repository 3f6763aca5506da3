#!/usr/bin/env python3
"""Hostile shop.Order records, a few MB each, for the memory-limit tests.

Each record is raw protobuf that a version-1 reader would read if it had
the memory: the required order_id (1) and customer_id (2), then one kind of
bulk. Written here byte by byte, never by rollsafe.
"""

import sqlite3


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


def tag(number, wire_type):
    return varint(number << 3 | wire_type)


def ld(number, payload):
    return tag(number, 2) + varint(len(payload)) + payload


HEAD = ld(1, b"o") + ld(2, b"c")
ORDINARY = HEAD + tag(4, 0) + varint(1)


def repeated_items(n):
    """items (5) repeated: n line items {sku: "x"}."""
    one = ld(5, ld(1, b"x"))
    return HEAD + one * n


def unknown_fields(n):
    """n unknown varint fields, each its own number (100 on), value 0."""
    return HEAD + b"".join(tag(100 + i, 0) + b"\0" for i in range(n))


def nested_unknown(n):
    """One line item holding n unknown fields: wide one level down."""
    inner = ld(1, b"x") + (tag(100, 0) + varint(0)) * n
    return HEAD + ld(5, inner)


def packed_run(n):
    """One unknown length-delimited field of n packed varints."""
    return HEAD + ld(15, varint(300) * n)


def huge_string(n):
    """order_id of n bytes."""
    return ld(1, b"o" * n) + ld(2, b"c")


def merged_messages(n):
    """ship_to (7), a singular message, written n times: readers merge."""
    return HEAD + ld(7, ld(2, b"c")) * n


def repeated_scalar(n):
    """total_cents (3), a singular int64, written n times: the last wins."""
    return HEAD + (tag(3, 0) + varint(1)) * n


def nested(depth, kids):
    """A memtest.Node (tests/memory/node/) nested depth levels deep
    through child (1), the innermost with a label (3) and `kids` empty
    kids (2)."""
    inner = ld(3, b"x") + ld(2, b"") * kids
    for _ in range(depth - 1):
        inner = ld(1, inner)
    return inner


def make_nodes_db(path):
    """A table `nodes` (id, body) of memtest.Node records: an ordinary one,
    95 levels deep with a million kids at the bottom, 1002 levels deep (1001
    messages nested within the record, over the depth limit of 1000), and
    an ordinary one after them."""
    db = sqlite3.connect(path)
    db.execute("DROP TABLE IF EXISTS nodes")
    db.execute("CREATE TABLE nodes (id TEXT NOT NULL PRIMARY KEY, body BLOB)")
    rows = [("a_ordinary", ld(3, b"x")),
            ("d_deep_and_wide", nested(95, 1_000_000)),
            ("e_too_deep", nested(1002, 1)),
            ("z_ordinary", ld(3, b"y"))]
    db.executemany("INSERT INTO nodes VALUES (?, ?)", rows)
    db.commit()
    db.close()


HOSTILE = [
    ("h1_repeated_items", lambda: repeated_items(1_000_000)),
    ("h2_unknown_fields", lambda: unknown_fields(1_000_000)),
    ("h3_nested_unknown", lambda: nested_unknown(1_000_000)),
    ("h4_packed_run", lambda: packed_run(2_000_000)),
    ("h5_huge_string", lambda: huge_string(8_000_000)),
    ("h6_merged_messages", lambda: merged_messages(400_000)),
    ("h7_repeated_scalar", lambda: repeated_scalar(1_000_000)),
]


def make_db(path, hostile=HOSTILE):
    """A table `orders` (id, body): an ordinary record, the hostile ones,
    then ordinary ones after them. Returns the keys of the hostile ones."""
    db = sqlite3.connect(path)
    db.execute("DROP TABLE IF EXISTS orders")
    db.execute("CREATE TABLE orders (id TEXT NOT NULL PRIMARY KEY, body BLOB)")
    db.execute("INSERT INTO orders VALUES ('a0_ordinary', ?)", (ORDINARY,))
    for key, make in hostile:
        db.execute("INSERT INTO orders VALUES (?, ?)", (key, make()))
    for i in range(3):
        db.execute("INSERT INTO orders VALUES (?, ?)",
                   ("z%d_ordinary" % i, ORDINARY))
    db.commit()
    db.close()
    return [k for k, _ in hostile]


if __name__ == "__main__":
    import sys
    make_db(sys.argv[1])
    if len(sys.argv) > 2:
        with open(sys.argv[2], "wb") as f:
            f.write(unknown_fields(1_000_000))
