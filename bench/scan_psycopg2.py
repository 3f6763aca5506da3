#!/usr/bin/python3
"""The Python baseline of the benchmark: a straightforward verifier in Python.

    /usr/bin/python3 bench/scan_psycopg2.py CONNINFO TABLE [--batch N]

What a team would write without rollsafe, with Debian's python3-psycopg2
and python3-protobuf: schema/shop/v1/order.proto is compiled with
`protoc --python_out` into a temporary directory at run time (as
tests/fixtures/golden/generate.py does); the table is read through a
server-side named cursor in batches of --batch rows (key, payload); each
payload is parsed as a version-1 shop.Order. A record whose first byte is
0xF7 is a rollsafe envelope: its header is skipped (byte 1 is the major
version, then the header length as a varint) and the payload after it is
parsed. Prints the count of each outcome on stdout:

    raw_ok              legacy record, parses as version 1
    raw_error           legacy record, does not parse
    envelope_ok         envelope, the payload parses as version 1
    envelope_unknown    ... and carries fields version 1 does not know
                        (new fields, or an enum value it does not know:
                        proto2 enums are closed, Python keeps it unknown)
    envelope_error      envelope, the payload does not parse, or misses a
                        required field (IsInitialized: Python's parser,
                        unlike protobuf-c, does not fail on it), or the
                        envelope is malformed

The whole run counts: start-up, protoc, connecting, fetching and parsing.
"""
import argparse
import os
import subprocess
import sys
import tempfile

SCHEMA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                      "schema")


def load_v1(tmp):
    subprocess.run(["protoc", "--python_out=" + tmp, "-I" + SCHEMA,
                    "shop/v1/order.proto"], check=True)
    sys.path.insert(0, tmp)
    from shop.v1 import order_pb2  # noqa: E402 (generated just now)
    return order_pb2.Order


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("conninfo")
    ap.add_argument("table")
    ap.add_argument("--batch", type=int, default=10000)
    args = ap.parse_args()

    import psycopg2
    from psycopg2 import sql
    from google.protobuf.message import DecodeError

    with tempfile.TemporaryDirectory(prefix="rs-bench-py-") as tmp:
        Order = load_v1(tmp)

    counts = dict.fromkeys(("raw_ok", "raw_error", "envelope_ok",
                            "envelope_unknown", "envelope_error"), 0)
    conn = psycopg2.connect(args.conninfo)
    conn.set_session(readonly=True)
    cur = conn.cursor(name="rs_bench_scan")
    cur.itersize = args.batch
    cur.execute(sql.SQL("SELECT key, payload FROM {}").format(
        sql.Identifier(args.table)))
    for key, payload in cur:
        data = bytes(payload)
        if data[:1] == b"\xf7":
            # Envelope: 0xF7, major version, header length (varint), header.
            pos, hlen, shift = 2, 0, 0
            while pos < len(data) and shift < 35:
                b = data[pos]
                pos += 1
                hlen |= (b & 0x7F) << shift
                shift += 7
                if b < 0x80:
                    break
            else:
                counts["envelope_error"] += 1
                continue
            if len(data) < 2 or data[1] != 1 or pos + hlen > len(data):
                counts["envelope_error"] += 1
                continue
            msg = Order()
            try:
                msg.ParseFromString(data[pos + hlen:])
            except DecodeError:
                counts["envelope_error"] += 1
                continue
            if not msg.IsInitialized():  # a required field is missing
                counts["envelope_error"] += 1
            elif msg.UnknownFields():
                counts["envelope_unknown"] += 1
            else:
                counts["envelope_ok"] += 1
        else:
            msg = Order()
            try:
                msg.ParseFromString(data)
            except DecodeError:
                counts["raw_error"] += 1
                continue
            if msg.IsInitialized():
                counts["raw_ok"] += 1
            else:
                counts["raw_error"] += 1
    cur.close()
    conn.close()
    print(" ".join("%s=%d" % kv for kv in counts.items()))
    print("rows=%d" % sum(counts.values()))


if __name__ == "__main__":
    main()
