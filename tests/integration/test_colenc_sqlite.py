#!/usr/bin/env python3
"""Integration tests of column encodings (--column-encoding base64|hex) on
SQLite: records written by Python's protobuf, stored as base64 or hex text
in every variant, through scan, fix and restore; and the column-type errors.

The variants and the checks are shared with test_colenc_postgres.py.

Usage: test_colenc_sqlite.py --rollsafe BIN --work DIR CASE
"""

import base64
import binascii
import json
import os
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rsdata import (EXPECTED, VERDICTS, Records, check,  # noqa: E402
                    check_eq, run_cases)

# name: (encoding option, encoder of bytes to text)
VARIANTS = {
    "base64_std_padded": ("base64", lambda b: base64.b64encode(b).decode()),
    "base64_std_bare": ("base64",
                        lambda b: base64.b64encode(b).decode().rstrip("=")),
    "base64_url_padded": ("base64",
                          lambda b: base64.urlsafe_b64encode(b).decode()),
    "base64_url_bare": ("base64", lambda b: base64.urlsafe_b64encode(
        b).decode().rstrip("=")),
    "hex_lower": ("hex", lambda b: b.hex()),
    "hex_upper": ("hex", lambda b: b.hex().upper()),
    "hex_psql": ("hex", lambda b: "\\x" + b.hex()),
    "hex_psql_upper": ("hex", lambda b: "\\x" + b.hex().upper()),
}

# Kinds of record and what a fix does with each (reader: version 1).
PLAN = {"v1": "nothing", "v2_plain": "converted", "v2_gift": "converted",
        "v2_awaiting": "lossy_skipped", "corrupt": "corrupt"}
KINDS = ["v1", "v2_plain", "v2_gift", "v2_awaiting", "corrupt"] * 4
# A value that is not base64 nor hex: corrupt, with the offset of the '!'.
BAD_KEY = 1000
BAD_TEXT = "CgNhYmMQAhgB!mFi"


def decode_text(variant, text):
    """Python's own decoding of a stored value in @variant."""
    if variant.startswith("hex"):
        return binascii.unhexlify(text[2:] if text.startswith("\\x")
                                  else text)
    if "_url_" in variant:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def expected_form(variant, original, record):
    """The text a fix must write for @record in place of @original: the
    variant's own encoding, where the original shows the trait; where it
    cannot (no character only one alphabet has, a length that needs no
    padding, no hex letter), rollsafe's documented default (standard
    alphabet, padded, lower case)."""
    enc = VARIANTS[variant][1]
    if variant.startswith("hex"):
        text = enc(record)
        if not any(c in "abcdefABCDEF" for c in original[2:]
                   if original.startswith("\\x")) and \
                not any(c in "abcdefABCDEF" for c in original
                        if not original.startswith("\\x")):
            text = text.lower()
        return text
    url = "_url_" in variant and any(c in "-_" for c in original)
    padded = original.endswith("=") or len(original) % 4 == 0
    text = (base64.urlsafe_b64encode(record) if url
            else base64.b64encode(record)).decode()
    return text if padded else text.rstrip("=")


# An order id whose bytes (0x7E repeated) give, at any alignment, the
# sextet 62: '+' in the standard alphabet, '-' in the URL-safe one. The
# URL-safe variants' version-2 records carry it, and so do the version-1
# records a fix writes for them: a fix that wrote the other alphabet back
# would be seen.
def order_id(variant, n):
    return "O-%d" % n + ("~~~~~~~~" if "_url_" in variant else "")


def make_rows(recs, variant):
    enc = VARIANTS[variant][1]
    rows, kinds = [], {}
    for n, kind in enumerate(KINDS, start=1):
        kw = ({"order_id": order_id(variant, n)}
              if "_url_" in variant and kind.startswith("v2") else {})
        rows.append((n, enc(recs.make(kind, n, **kw))))
        kinds[n] = kind
    rows.append((BAD_KEY, BAD_TEXT))
    return rows, kinds


def check_cycle(r, recs, variant, args, read_rows, column_type_ok):
    """Scan, fix, fix again, restore on a table filled by make_rows, with
    @read_rows() giving {key: stored value as Python reads it}."""
    option = VARIANTS[variant][0]
    rows, kinds = make_rows(recs, variant)
    original = read_rows()
    check_eq(original, dict(rows), variant + ": rows as written")
    enc_args = [*args, "--column-encoding", option]

    # Read as binary, the text column is refused before any row is judged.
    if column_type_ok is not None:
        _, err = r.expect(2, "scan", *args)
        check(column_type_ok in err, variant + ": binary refused", err)

    # Scan: the verdicts of the records, and the bad value's own reason.
    out, _ = r.expect(1, "scan", *enc_args, "--format", "json",
                      "--samples", "100")
    doc = json.loads(out)
    want = {v: 0 for v in VERDICTS}
    for kind in kinds.values():
        want[EXPECTED[kind]["raw"]] += 1
    want["corrupt"] += 1  # BAD_TEXT
    check_eq(doc["totals"]["verdicts"], want, variant + ": verdicts")
    check(BAD_TEXT[12] == "!", "the bad value's offset")
    want_reason = ("not base64: invalid character '!' at offset 12"
                   if option == "base64" else
                   "not hex: invalid character 'g' at offset 1")
    check(want_reason in out, variant + ": the bad value's reason",
          out[-3000:])

    # Fix: converted rows hold text in the same variant, which Python
    # decodes and parses as version 1 with the values written.
    out, _ = r.expect(1, "fix", *enc_args, "--execute", "--format", "json",
                      "--batch", "4", "--samples", "100")
    doc = json.loads(out)
    t = doc["targets"][0]
    run_id = doc["run_id"]
    want_conv = sum(1 for k in kinds.values() if PLAN[k] == "converted")
    check_eq(t["rewritten"], want_conv, variant + ": converted")
    check_eq(t["outcomes"]["corrupt"], KINDS.count("corrupt") + 1,
             variant + ": corrupt left alone")
    check(any(s["key"] == str(BAD_KEY) and want_reason in s["why"]
              for s in t["samples"]["corrupt"]),
          variant + ": the bad value's reason in the fix", t["samples"])
    now = read_rows()
    changed = {k for k in original if original[k] != now[k]}
    check_eq(changed, {k for k, kind in kinds.items()
                       if PLAN[kind] == "converted"}, variant + ": rewritten")
    if "_url_" in variant:
        # The originals and the fixed values show the URL-safe alphabet:
        # the check of the fix's alphabet below has teeth.
        check(all(any(c in "-_" for c in original[k]) and
                  any(c in "-_" for c in now[k]) for k in changed),
              variant + ": originals and fixed values show the URL-safe "
              "alphabet", [(original[k], now[k]) for k in changed])
    for k in changed:
        check(isinstance(now[k], str), "%s: row %d holds text" % (variant, k),
              repr(now[k]))
        record = decode_text(variant, now[k])
        m = recs.v1m.Order()
        m.ParseFromString(record)
        check(m.IsInitialized() and m.order_id == order_id(variant, k) and
              m.customer_id == "C-%d" % (k % 977) and m.total_cents == 2598 and
              m.status == 2 and m.items[0].sku == "SKU-TEA-250",
              "%s: version-1 parse of row %d" % (variant, k), m)
        check_eq(now[k], expected_form(variant, original[k], record),
                 "%s: row %d in the original's variant" % (variant, k))
    for k in set(original) - changed:
        check_eq(now[k], original[k], "%s: row %d untouched" % (variant, k))

    # Fixing again changes nothing.
    r.expect(1, "fix", *enc_args, "--execute", "--format", "json")
    check_eq(read_rows(), now, variant + ": rows after a second fix")

    # Restore, with no encoding option: every row byte-identical to before.
    out, _ = r.expect(0, "restore", *args, "--run", run_id, "--execute",
                      "--format", "json")
    check_eq(json.loads(out)["restored"], len(changed), variant + ": restored")
    check_eq(read_rows(), original, variant + ": rows after restore")


# ---- SQLite -----------------------------------------------------------------

def sqlite_table(r, name, ddl, rows):
    path = os.path.join(r.work, name + ".db")
    os.makedirs(r.work, exist_ok=True)
    if os.path.exists(path):
        os.unlink(path)
    db = sqlite3.connect(path)
    db.execute(ddl)
    db.executemany("INSERT INTO t VALUES (?, ?)", rows)
    db.commit()
    db.close()
    return path


def sqlite_rows(path):
    def read():
        db = sqlite3.connect(path)
        out = dict(db.execute("SELECT id, payload FROM t"))
        db.close()
        return out
    return read


def sqlite_args(path):
    return ["--sqlite", path, "--table", "t", "--key", "id", "--column",
            "payload", "--type", "shop.Order"]


def sqlite_cycle(r, variant, declared):
    recs = Records()
    rows, _ = make_rows(recs, variant)
    path = sqlite_table(r, variant + "_" + declared.lower(),
                        "CREATE TABLE t (id INTEGER PRIMARY KEY, payload %s)"
                        % declared, rows)
    refused = ("column 'payload' is TEXT; records stored as text need "
               "--column-encoding base64 or hex" if declared == "TEXT" else
               "column 'payload' holds TEXT (key '1'); records stored as "
               "text need --column-encoding base64 or hex")
    check_cycle(r, recs, variant, sqlite_args(path), sqlite_rows(path),
                refused)


def test_base64_std_padded(r):
    sqlite_cycle(r, "base64_std_padded", "TEXT")


def test_base64_std_bare(r):
    sqlite_cycle(r, "base64_std_bare", "TEXT")


def test_base64_url_padded(r):
    sqlite_cycle(r, "base64_url_padded", "TEXT")


def test_base64_url_bare(r):
    sqlite_cycle(r, "base64_url_bare", "TEXT")


def test_hex_lower(r):
    sqlite_cycle(r, "hex_lower", "TEXT")


def test_hex_upper(r):
    sqlite_cycle(r, "hex_upper", "TEXT")


def test_hex_psql(r):
    sqlite_cycle(r, "hex_psql", "TEXT")


def test_hex_psql_upper(r):
    sqlite_cycle(r, "hex_psql_upper", "TEXT")


def test_text_values_in_blob_column(r):
    # A column of BLOB affinity holding TEXT values: binary is refused by the
    # values met; base64 reads them, and a fix keeps them TEXT.
    sqlite_cycle(r, "base64_url_bare", "BLOB")


def test_config_column_encoding(r):
    # column_encoding from the config: the top-level default, and a
    # target's own, which wins.
    recs = Records()
    rows, _ = make_rows(recs, "hex_psql")
    path = sqlite_table(r, "config", "CREATE TABLE t (id INTEGER PRIMARY KEY, "
                        "payload TEXT)", rows)
    cfg = os.path.join(r.work, "colenc.yaml")
    for top, own, code in (("hex", None, 1), ("base64", "hex", 1),
                           (None, None, 2), ("hex", "binary", 2)):
        with open(cfg, "w") as f:
            if top:
                f.write("column_encoding: %s\n" % top)
            f.write("targets:\n  - name: t\n    kind: sqlite-table\n"
                    "    connection: %s\n    table: t\n    key: id\n"
                    "    column: payload\n    type: shop.Order\n" % path)
            if own:
                f.write("    column_encoding: %s\n" % own)
        out, err = r.expect(code, "scan", "-c", cfg, "--format", "json")
        if code == 1:
            check_eq(json.loads(out)["totals"]["verdicts"]["corrupt"],
                     KINDS.count("corrupt") + 1, "config %s/%s" % (top, own))
        else:
            check("need --column-encoding base64 or hex" in err,
                  "config %s/%s refused" % (top, own), err)
    with open(cfg, "w") as f:
        f.write("column_encoding: base32\ntargets: []\n")
    _, err = r.expect(2, "scan", "-c", cfg)
    check("column_encoding: unknown encoding 'base32' (known: binary, "
          "base64, hex)" in err, "bad column_encoding", err)
    _, err = r.expect(2, "scan", *sqlite_args(path), "--column-encoding",
                      "base32")
    check("invalid --column-encoding 'base32'" in err, "bad option", err)


def test_type_mismatch(r):
    # Columns that cannot hold records, whatever the encoding, and binary
    # records in a BLOB column read as text (each value then corrupt).
    recs = Records()
    cases = [
        ("INTEGER", [(1, 5)], "hex",
         "column 'payload' is INTEGER, which cannot hold records whatever "
         "the column encoding"),
        ("REAL", [(1, 1.5)], "base64",
         "column 'payload' is REAL, which cannot hold records"),
        ("NUMERIC", [(1, "abc")], "base64",
         "column 'payload' is NUMERIC, which cannot hold records"),
        ("VARCHAR(200)", [(1, "00")], "binary",
         "column 'payload' is VARCHAR(200) (TEXT affinity); records stored "
         "as text need --column-encoding base64 or hex"),
        ("BLOB", [(1, 7)], "base64",
         "column 'payload' holds an INTEGER (key '1'), which cannot be a "
         "record whatever the column encoding"),
        ("", [(1, recs.v1(1)), (2, "Zm9v")], "binary",
         "column 'payload' holds TEXT (key '2'); records stored as text "
         "need --column-encoding base64 or hex"),
    ]
    for i, (declared, rows, enc, message) in enumerate(cases):
        path = sqlite_table(r, "mismatch%d" % i,
                            "CREATE TABLE t (id INTEGER PRIMARY KEY, "
                            "payload %s)" % declared, rows)
        for cmd in (["scan"], ["fix"], ["fix", "--execute"]):
            _, err = r.expect(2, *cmd, *sqlite_args(path),
                              "--column-encoding", enc)
            check(message in err, "%r as %s: %s" % (declared, enc, cmd), err)
    # A restore looks its run up first: a run that is not there is refused,
    # naming it, and nothing is created.
    path = os.path.join(r.work, "mismatch0.db")
    _, err = r.expect(2, "restore", *sqlite_args(path), "--run", "x")
    check("no run 'x'" in err, "restore refused", err)


COMPOSITE_TENANT = 'acme, "inc" (eu)'


def composite_rows(recs, variant):
    """make_rows without the undecodable value, each row under
    COMPOSITE_TENANT: (tenant, id, value)."""
    rows, kinds = make_rows(recs, variant)
    return ([(COMPOSITE_TENANT, k, v) for k, v in rows if k != BAD_KEY],
            {k: kind for k, kind in kinds.items() if k != BAD_KEY})


def check_composite(r, recs, variant, option, args, read_rows):
    """Scan, fix and restore a table of composite_rows keyed (tenant, id),
    with @read_rows() giving {id: stored value}: rows are named by both
    parts and each value keeps its form."""
    _, kinds = composite_rows(recs, variant)
    original = read_rows()
    enc_args = [*args, "--column-encoding", option]
    out, _ = r.expect(1, "scan", *enc_args, "--format", "json",
                      "--samples", "100")
    doc = json.loads(out)
    want = {v: 0 for v in VERDICTS}
    for kind in kinds.values():
        want[EXPECTED[kind]["raw"]] += 1
    check_eq(doc["totals"]["verdicts"], want, "composite: verdicts")
    keys = [s["key"] for v in doc["targets"][0]["samples"].values() for s in v]
    check(keys and all(isinstance(k, list) and k[0] == COMPOSITE_TENANT
                       for k in keys),
          "composite: sample keys are [tenant, id]", keys)
    out, _ = r.expect(1, "fix", *enc_args, "--execute", "--format", "json",
                      "--batch", "3")
    doc = json.loads(out)
    want_conv = sum(1 for k in kinds.values() if PLAN[k] == "converted")
    check_eq(doc["targets"][0]["rewritten"], want_conv, "composite: converted")
    now = read_rows()
    changed = {k for k in original if original[k] != now[k]}
    check_eq(len(changed), want_conv, "composite: rows rewritten")
    for k in changed:
        record = decode_text(variant, now[k])
        m = recs.v1m.Order()
        m.ParseFromString(record)
        check(m.IsInitialized() and m.order_id == "O-%d" % k,
              "composite: version-1 parse of row %d" % k, m)
        check_eq(now[k], expected_form(variant, original[k], record),
                 "composite: row %d in the original's form" % k)
    out, _ = r.expect(0, "restore", *args, "--run", doc["run_id"],
                      "--execute", "--format", "json")
    check_eq(json.loads(out)["restored"], want_conv, "composite: restored")
    check_eq(read_rows(), original, "composite: rows after restore")


def test_composite_key(r):
    # A text column under a composite key (no rowid).
    recs = Records()
    variant = "base64_std_bare"
    rows, _ = composite_rows(recs, variant)
    path = os.path.join(r.work, "composite.db")
    if os.path.exists(path):
        os.unlink(path)
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE t (tenant TEXT NOT NULL, id INTEGER NOT NULL, "
               "payload TEXT, PRIMARY KEY (tenant, id)) WITHOUT ROWID")
    db.executemany("INSERT INTO t VALUES (?, ?, ?)", rows)
    db.commit()
    db.close()
    args = ["--sqlite", path, "--table", "t", "--key", "tenant,id",
            "--column", "payload", "--type", "shop.Order"]
    check_composite(r, recs, variant, "base64", args, sqlite_rows(path))


TESTS = {name[len("test_"):]: fn for name, fn in globals().items()
         if name.startswith("test_") and callable(fn)}

if __name__ == "__main__":
    sys.exit(run_cases(TESTS))
