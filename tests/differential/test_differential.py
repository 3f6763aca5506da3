#!/usr/bin/python3
"""Differential verdicts: rollsafe against readers it did not write.

Usage: test_differential.py --rollsafe BIN --reader BIN --readas BIN
                            --gen DIR --work DIR [--list] GROUP

GROUP is a group of tests/differential/cases.py (ctest case
differential.GROUP); DIR of --gen is gen.py's output (built by ctest's
build). For every case of the group:

1. The writer, Python's protobuf with the case's generated v2 class, writes
   each record: raw (the plain serialized bytes) and in a rollsafe envelope
   (tests/fixtures/golden/generate.py's envelope and schema fingerprint).
   A Dup record is two serialized messages one after the other. What the
   writer meant is the v2 class's parse of those bytes.
2. Independent readers of the v1 schema read the bytes: the protobuf-c
   reader (--reader: protoc-c generated code, see reader.c) and Python's
   generated v1 class. A plain (raw-framing) reader gets the stored bytes;
   a reader linked with rollsafe at version 1 gets the envelope's payload.
3. The expected verdict compares what the protobuf-c reader sees with what
   the writer meant, field by field by number and by value, types mapped
   (see Compare below). The Python reader's verdict is computed the same
   way; where the two runtimes disagree it is listed (in the output and in
   WORK/runtime-disagreements.txt), never a failure.
   WORK/verdicts.jsonl holds the three verdicts of every record inspected,
   WORK/failures.jsonl every failure as data (tests/differential/
   summarize.py groups them).
4. rollsafe: `inspect` of every record (raw records by a raw reader,
   envelopes by a reader linked with rollsafe; the schemas as descriptor
   sets), `scan` (the schemas as .proto files) of SQLite tables of
   the case's records, raw and in envelopes, for both reader framings
   (counts per verdict and the verdict of every key) and `fix --execute`
   of the same, with and without --allow-lossy, whose rewritten bytes the
   protobuf-c reader reads back: a record fix converts must be read as the
   writer meant it (a lossy one may differ in the fields its reasons
   name), a record it leaves must be one it names (lossy, impossible...)
   when the reader does not read it as written, and a record it names so
   must be left as it was.
5. rollsafe's own reader: rs_read_as() at version 1 from a registry that
   knows only the reader's schema (--readas, see readas.c) reads every
   record, raw and in its envelope (whose version 2 the registry lacks: it
   reads the payload as version 1). It must give the values the protobuf-c
   reader sees in the payload, value for value (see Same reading below),
   and fail exactly when that reader fails. A proto3 string that is not
   UTF-8 is read by both: the model's `unreadable` is a verdict, not a
   failure of the read.

Raw records are written by version 2. When the CLI has --raw-writer it is
given `--raw-writer 2` for them; without it the expectation is the same.
The raw table is scanned once more with the writer inferred (no
--raw-writer): a record rollsafe decides must get its true writer's verdict,
or be undetermined.

Exit status 0 when rollsafe agrees everywhere, 1 otherwise (every
disagreement printed with the case, record, framing, the writer's values,
the protobuf-c reader's values, the expected verdict and rollsafe's).
"""
import argparse
import collections
import concurrent.futures
import importlib.util
import json
import math
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
import cases as corpus  # noqa: E402

_spec = importlib.util.spec_from_file_location(
    "rs_generate", os.path.join(ROOT, "tests", "fixtures", "golden",
                                "generate.py"))
golden = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(golden)

from google.protobuf import descriptor as pbd  # noqa: E402
from google.protobuf import message_factory  # noqa: E402

FD = pbd.FieldDescriptor
VERDICTS = ("ok", "ignored_fields", "misread", "unreadable", "corrupt")
SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer",
                     "UndefinedBehaviorSanitizer", "runtime error:")
FRAMINGS = ("raw", "envelope")
WRITE_TIME_US = 1768473000123456
FIX_UNCHANGED = ("lossy_skipped", "impossible", "corrupt", "check_failed")
FIX_MODES = ("strict", "allow-lossy")


# ---- values ---------------------------------------------------------------
#
# Both readers and the writer are brought to one form, by field number:
#   None                     not set (a repeated field or map: empty)
#   ("i", int)               integers, bools (0/1), the writer's enums
#   ("e", int, known)        an enum as a reader sees it; known: its enum
#                            has the number
#   ("f", float)             float, double
#   ("s", bytes)             string (UTF-8) and bytes
#   ("m", {number: value}, bytes, unknown)  a message, with its
#                            serialization and (readers) how many unknown
#                            fields its runtime kept
#   [value, ...]             repeated
#   ("map", {key: value}, [entry message, ...])


def is_map(field):
    return (field.type == FD.TYPE_MESSAGE and
            field.message_type.GetOptions().map_entry)


def implicit(field):
    """A field without presence: proto3 singular scalars."""
    return (field is not None and field.label != FD.LABEL_REPEATED and
            not field.has_presence)


def default_value(field, reader):
    t = field.type
    if t in (FD.TYPE_MESSAGE, FD.TYPE_GROUP):
        return ("m", {f.number: None for f in field.message_type.fields}, b"",
                0)
    if t in (FD.TYPE_STRING, FD.TYPE_BYTES):
        return ("s", b"")
    if t in (FD.TYPE_FLOAT, FD.TYPE_DOUBLE):
        return ("f", 0.0)
    if t == FD.TYPE_ENUM:
        n = field.enum_type.values[0].number
        return ("e", n, True) if reader else ("i", n)
    return ("i", 0)


_classes = {}


def entry_class(desc):
    if desc.full_name not in _classes:
        _classes[desc.full_name] = message_factory.MessageFactory(
            desc.file.pool).GetPrototype(desc)
    return _classes[desc.full_name]


class Unreadable(Exception):
    pass


def py_scalar(field, v, reader):
    t = field.type
    if t in (FD.TYPE_MESSAGE, FD.TYPE_GROUP):
        return ("m", py_message(v, reader), v.SerializePartialToString(
            deterministic=True), len(v.UnknownFields()) if reader else 0)
    if t == FD.TYPE_STRING:
        # Python's proto2 strings that are not UTF-8 come as bytes.
        if isinstance(v, bytes):
            return ("s", v)
        return ("s", v.encode("utf-8", "surrogatepass"))
    if t == FD.TYPE_BYTES:
        return ("s", bytes(v))
    if t == FD.TYPE_BOOL:
        return ("i", int(v))
    if t == FD.TYPE_ENUM:
        if reader:
            return ("e", v, v in field.enum_type.values_by_number)
        return ("i", v)
    if t in (FD.TYPE_FLOAT, FD.TYPE_DOUBLE):
        return ("f", float(v))
    return ("i", int(v))


def py_map(field, container, reader):
    entry = field.message_type
    kf, vf = entry.fields_by_number[1], entry.fields_by_number[2]
    cls = entry_class(entry)
    values, entries = {}, []
    for k in sorted(container):
        v = container[k]
        key = py_scalar(kf, k, reader)
        val = py_scalar(vf, v, reader)
        # The entry as written, as near as Python tells: a default key or
        # value is left out. A proto2 string that is not UTF-8 comes as
        # bytes, which an entry does not take: its bytes stay unknown.
        e = cls()
        try:
            if k != kf.default_value:
                e.key = k
            if vf.type == FD.TYPE_MESSAGE:
                e.value.CopyFrom(v)
            elif v != vf.default_value:
                e.value = v
            data = e.SerializePartialToString(deterministic=True)
        except (TypeError, ValueError):
            data = None
        values[key] = val
        entries.append(("m", {1: key, 2: val}, data, 0))
    return ("map", values, entries) if values else None


def py_message(msg, reader):
    """A Python message in the common form; raises Unreadable when a field
    cannot be read (a string that is not UTF-8)."""
    out = {}
    for field in msg.DESCRIPTOR.fields:
        try:
            v = getattr(msg, field.name)
            if is_map(field):
                out[field.number] = py_map(field, v, reader)
            elif field.label == FD.LABEL_REPEATED:
                out[field.number] = [py_scalar(field, x, reader)
                                     for x in v] or None
            elif field.has_presence and not msg.HasField(field.name):
                out[field.number] = None
            else:
                out[field.number] = py_scalar(field, v, reader)
        except (UnicodeError, ValueError) as e:
            raise Unreadable("field %d: %s" % (field.number, e))
    return out


def c_scalar(field, j):
    if isinstance(j, bool):
        return ("i", int(j))
    if isinstance(j, int):
        return ("i", j)
    if "e" in j:
        return ("e", j["e"], bool(j["k"]))
    if "d" in j:
        return ("f", float.fromhex(j["d"]))
    if "s" in j:
        return ("s", bytes.fromhex(j["s"]))
    if "b" in j:
        return ("s", bytes.fromhex(j["b"]))
    if "m" in j:
        # "p", the message packed again: the runtime readers leave it out
        # of map entries, which compare by key and value.
        return ("m", c_message(field.message_type, j["m"]),
                bytes.fromhex(j["p"]) if "p" in j else None, j["m"]["#u"])
    raise ValueError("unexpected reader output %r" % (j,))


def c_message(desc, obj):
    """The protobuf-c reader's JSON of a message in the common form; desc is
    the same v1 schema's Python descriptor (it tells maps apart)."""
    out = {}
    for field in desc.fields:
        j = obj[str(field.number)]
        if j is None:
            out[field.number] = None
        elif isinstance(j, list):
            items = [c_scalar(field, x) for x in j]
            if not items:
                out[field.number] = None
            elif is_map(field):
                kf = field.message_type.fields_by_number[1]
                vf = field.message_type.fields_by_number[2]
                values = {}
                for e in items:
                    k = e[1][1] if e[1][1] is not None else \
                        default_value(kf, True)
                    v = e[1][2] if e[1][2] is not None else \
                        default_value(vf, True)
                    values[k] = v
                out[field.number] = ("map", values, items)
            else:
                out[field.number] = items
        else:
            out[field.number] = c_scalar(field, j)
    return out


def fmt(v):
    """Short text of a value of the common form."""
    if v is None:
        return "unset"
    if isinstance(v, list):
        return "[" + ", ".join(fmt(x) for x in v) + "]"
    k = v[0]
    if k == "i":
        return str(v[1])
    if k == "e":
        return "enum %d%s" % (v[1], "" if v[2] else " (not in its enum)")
    if k == "f":
        return repr(v[1])
    if k == "s":
        return repr(v[1])
    if k == "m":
        return "{" + ", ".join("%d: %s" % (n, fmt(x))
                               for n, x in sorted(v[1].items())
                               if x is not None) + "}"
    if k == "map":
        return "map{" + ", ".join("%s: %s" % (fmt(a), fmt(b))
                                  for a, b in v[1].items()) + "}"
    return repr(v)


def fmt_fields(fields):
    if fields is None:
        return "(none)"
    if isinstance(fields, str):
        return fields
    return fmt(("m", fields, b""))


# ---- Compare ----------------------------------------------------------------
#
# What the reader sees against what the writer meant, by field number:
# * a number the reader's message lacks: when the writer set it, the
#   reader ignores it (ignored_fields);
# * a number the reader knows: the two values must be equal, types mapped:
#   integers, bools and enums by number (an enum number the reader's enum
#   lacks never equals), integers and floating point by value (7000000000
#   and the double 3.458e-314 differ, 0 and 0.0 do not), string and bytes
#   by their bytes (a C string ends at its first NUL), a message and
#   bytes/string iff the bytes are that message's serialization (the
#   reader's message re-packed by its runtime), messages field by field,
#   repeated fields element by element, a singular value and a repeated
#   field iff the list holds that one value, maps by key (a map and a
#   repeated entry message are the same on the wire). Unset and set differ,
#   except that a field without presence (proto3) reads unset as its zero;
#   unset on both sides, a singular scalar means each side's default
#   (defaults_agree).


class Diff:
    def __init__(self):
        self.misread, self.ignored = [], []
        self.paths = []  # the paths of the misread fields

    def verdict(self):
        if self.misread:
            return "misread"
        return "ignored_fields" if self.ignored else "ok"


class _Single:
    """A repeated field's descriptor taken as one of its values: no
    presence of its own (the reader's field decides)."""

    def __init__(self, f):
        self._f = f
        self.label = FD.LABEL_OPTIONAL
        self.has_presence = True

    def __getattr__(self, name):
        return getattr(self._f, name)


def absent(v):
    return v is None or v == []


def zeroish(v):
    """The value a field without presence has when unset (an empty
    message: the empty bytes it serializes to)."""
    if isinstance(v, list):
        return not v
    return v[0] in ("i", "f", "s") and not v[1] or \
        (v[0] == "e" and v[1] == 0) or (v[0] == "m" and v[2] == b"")


def negative_zero(v):
    return isinstance(v, tuple) and v[0] == "f" and v[1] == 0 and \
        math.copysign(1.0, v[1]) < 0


def is_map_value(v):
    return isinstance(v, tuple) and v[0] == "map"


def as_map(v, field, reader):
    """A list of entry messages (fields 1 and 2) as a map, or None: not
    such a list, or a key twice (entries a map would lose). An entry
    without a key or a value has the default one, as a map reads it (a
    map's key and value have no presence the reader's code can ask)."""
    if not (isinstance(v, list) and v and all(x[0] == "m" for x in v)):
        return None
    kf, vf = sub_field(field, 1), sub_field(field, 2)
    values = {}
    for e in v:
        key = e[1].get(1)
        if key is None and kf is not None:
            key = default_value(kf, False)
        if key in values:
            return None
        val = e[1].get(2)
        if val is None and vf is not None:
            val = default_value(vf, reader)
        values[key] = val
    return ("map", values, v)


def sub_field(field, number):
    if field is None or field.message_type is None:
        return None
    return field.message_type.fields_by_number.get(number)


def equal_scalar(wf, w, rf, r, path, diff):
    wk, rk = w[0], r[0]
    if rk == "e":
        # By number, as integers are: a floating-point value by its value.
        return r[2] and wk in ("i", "e", "f") and w[1] == r[1]
    if wk == "e":
        return w[2] and rk == "i" and w[1] == r[1]
    if wk in ("i", "f") and rk in ("i", "f"):
        if wk == rk == "f" and math.isnan(w[1]) and math.isnan(r[1]):
            return True
        return w[1] == r[1]
    if wk == "s" and rk == "s":
        return w[1] == r[1]
    if wk == "m" and rk == "m":
        sub = Diff()
        compare_message(wf.message_type if wf else None, w[1],
                        rf.message_type if rf else None, r[1], path, sub)
        diff.ignored += sub.ignored
        diff.misread += sub.misread
        diff.paths += sub.paths
        return not sub.misread
    if {wk, rk} == {"m", "s"}:
        # Bytes hold a message's encoding (the language guide's
        # compatibility); a string holds text, which a message is not.
        text = (rf if rk == "s" else wf)
        if text is not None and text.type == FD.TYPE_STRING:
            return False
        data = w[2 if wk == "m" else 1], r[2 if rk == "m" else 1]
        if None in data or data[0] != data[1]:
            return False
        # The reader's message holds the writer's bytes; what its schema
        # does not know there, it ignores.
        if rk == "m" and r[3]:
            diff.ignored.append("%s: %d unknown field(s) inside" % (path,
                                                                    r[3]))
        return True
    return False


def plain_singular(field):
    """A singular scalar outside a (real) oneof: a field whose getter
    gives its default when unset."""
    if field is None or isinstance(field, _Single) or \
            field.label == FD.LABEL_REPEATED or \
            field.type in (FD.TYPE_MESSAGE, FD.TYPE_GROUP):
        return False
    o = field.containing_oneof
    # proto3 `optional` is a oneof of its own (synthetic), not a real one.
    return o is None or (len(o.fields) == 1 and o.name == "_" + field.name)


def defaults_agree(wf, rf, path, diff):
    """A field set on neither side: the writer left it unset, which means
    its default to the writer's code; the reader's code gets the reader's
    default. Different defaults (a proto2 [default = ...], or proto3's
    zero against one) differ; zeros of any type are alike."""
    if not (plain_singular(wf) and plain_singular(rf)):
        return True
    wd = py_scalar(wf, wf.default_value, False)
    rd = py_scalar(rf, rf.default_value, True)
    if zeroish(wd) and zeroish(rd):
        return True
    return equal_scalar(wf, wd, rf, rd, path, diff)


def equal(wf, w, rf, r, path, diff):
    # Text the writer put on the wire, read as a message the reader has:
    # a string holds text, which a message is not, even the empty one.
    if wf is not None and wf.type == FD.TYPE_STRING and \
            isinstance(r, tuple) and r[0] == "m" and \
            isinstance(w, tuple) and w[0] == "s":
        return equal_scalar(wf, w, rf, r, path, diff)
    # A list of one value read by a singular field: the reader reads that
    # value (zero or not).
    if isinstance(w, list) and len(w) == 1 and r is not None and \
            not isinstance(r, list) and not is_map_value(r) and \
            not is_map_value(w):
        w = w[0]
        wf = None if wf is None else _Single(wf)
    # Without presence, a zero is the field unset; -0.0 is on the wire
    # and read as written (a repeated field reads it too).
    if implicit(wf) and not absent(w) and zeroish(w) and \
            not negative_zero(w):
        w = None
    if implicit(rf) and not absent(r) and zeroish(r) and \
            not negative_zero(r):
        r = None
    if absent(w) and absent(r):
        return defaults_agree(wf, rf, path, diff)
    if absent(w) or absent(r):
        other = r if absent(w) else w
        return (implicit(wf) or implicit(rf)) and zeroish(other)
    # A map and a repeated entry message are one thing on the wire.
    if is_map_value(w) and not is_map_value(r):
        r = as_map(r, rf, True) or r
    elif is_map_value(r) and not is_map_value(w):
        w = as_map(w, wf, False) or w
    if is_map_value(w) and is_map_value(r):
        if set(w[1]) != set(r[1]):
            return False
        wvf, rvf = sub_field(wf, 2), sub_field(rf, 2)
        return all([equal(wvf, w[1][k], rvf, r[1][k],
                          "%s[%s]" % (path, fmt(k)), diff) for k in w[1]])
    # Otherwise a map is its list of entries.
    if is_map_value(w):
        w = w[2]
    if is_map_value(r):
        r = r[2]
    if isinstance(w, list) and isinstance(r, list):
        return len(w) == len(r) and all([
            equal_scalar(wf, a, rf, b, "%s[%d]" % (path, i), diff)
            for i, (a, b) in enumerate(zip(w, r))])
    if isinstance(w, list):
        return len(w) == 1 and equal_scalar(wf, w[0], rf, r, path, diff)
    if isinstance(r, list):
        return len(r) == 1 and equal_scalar(wf, w, rf, r[0], path, diff)
    return equal_scalar(wf, w, rf, r, path, diff)


def compare_message(wdesc, w, rdesc, r, path, diff):
    for number in sorted(set(w) | set(r)):
        wf = wdesc.fields_by_number.get(number) if wdesc else None
        rf = rdesc.fields_by_number.get(number) if rdesc else None
        wv, rv = w.get(number), r.get(number)
        name = (rf or wf).name if (rf or wf) else "?"
        p = "%s%s(%d)" % (path + "." if path else "", name, number)
        # Another name and another type: the number was reused for another
        # field; whatever the values, the reader's field is not the one the
        # writer set.
        if wf is not None and rf is not None and wf.name != rf.name and \
                wf.type != rf.type and not absent(wv) and \
                not (implicit(wf) and zeroish(wv)):
            diff.paths.append(p)
            diff.misread.append("%s: the writer's %s, the reader's %s"
                                % (p, wf.name, rf.name))
            continue
        if number not in r:
            # A proto3 zero is not on the wire: nothing to ignore. -0.0 is
            # (its bits are not 0).
            if not absent(wv) and not (implicit(wf) and zeroish(wv) and
                                       not negative_zero(wv)):
                diff.ignored.append(p)
            continue
        if not equal(wf, wv, rf, rv, p, diff):
            diff.paths.append(p)
            diff.misread.append("%s: writer %s, reader %s" % (p, fmt(wv),
                                                              fmt(rv)))


def wire_fields(data):
    """(number, wire type, value) of each field of a message's bytes; None
    when they are malformed."""
    out, pos = [], 0

    def varint():
        nonlocal pos
        v, shift = 0, 0
        while True:
            if pos >= len(data) or shift > 63:
                raise ValueError
            b = data[pos]
            pos += 1
            v |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return v
    try:
        while pos < len(data):
            tag = varint()
            wt = tag & 7
            if wt == 0:
                out.append((tag >> 3, wt, varint()))
            elif wt in (1, 5):
                n = 8 if wt == 1 else 4
                out.append((tag >> 3, wt, data[pos:pos + n]))
                pos += n
            elif wt == 2:
                n = varint()
                out.append((tag >> 3, wt, data[pos:pos + n]))
                pos += n
            else:
                return None
    except ValueError:
        return None
    return out


def bad_proto3_utf8(desc, data, depth=0):
    """Whether a proto3 string field of @desc (at any depth) holds bytes
    that are not UTF-8."""
    fields = wire_fields(data) if depth < 64 else None
    for number, wt, value in fields or ():
        f = desc.fields_by_number.get(number)
        if f is None or wt != 2:
            continue
        if f.type == FD.TYPE_STRING and desc.file.syntax == "proto3":
            try:
                bytes(value).decode("utf-8")
            except UnicodeDecodeError:
                return True
        elif f.type == FD.TYPE_MESSAGE and \
                bad_proto3_utf8(f.message_type, value, depth + 1):
            return True
    return False


def has_unknown(doc):
    """Whether a reader's JSON (print.h) keeps an unknown field anywhere."""
    if isinstance(doc, list):
        return any(has_unknown(x) for x in doc)
    if not isinstance(doc, dict):
        return False
    if doc.get("#u"):
        return True
    return any(has_unknown(v) for k, v in doc.items() if k != "#u")


def reader_verdict(writer, wdesc, seen, rdesc, doc, paths=None):
    """expected_verdict of a reader that printed @doc: a record it reads
    as the writer meant, but with fields in its unknown-field set, it
    ignores them (a oneof's member a later one cleared included: the
    reader holds its bytes, and writes them out again)."""
    verdict, detail = expected_verdict(writer, wdesc, seen, rdesc, paths)
    if verdict == "ok" and "error" not in doc and has_unknown(doc):
        return "ignored_fields", "unknown fields kept"
    return verdict, detail


def expected_verdict(writer, wdesc, seen, rdesc, paths=None):
    """(verdict, detail) of a reader that saw @seen (common form, or a str:
    why its parse failed) where the writer meant @writer; the paths of the
    misread fields are added to the list @paths."""
    if writer is None:
        return "corrupt", "the writer's own schema does not decode it"
    if isinstance(seen, str):
        return "unreadable", seen
    diff = Diff()
    compare_message(wdesc, writer, rdesc, seen, "", diff)
    if paths is not None:
        paths += diff.paths
    return diff.verdict(), "; ".join(diff.misread + [
        "%s: unknown to the reader" % p for p in diff.ignored])


def declared(path, why):
    """Whether a fix's reasons (@why) name the top-level field of @path
    ("f(2).a(1)"): by number, "(2)", or by name with an index, "f[0]"."""
    m = re.match(r"([A-Za-z_][A-Za-z0-9_]*)\((\d+)\)", path)
    if m is None or not why:
        return False
    return ("(%s)" % m.group(2)) in why or \
        re.search(r"\b%s\[" % re.escape(m.group(1)), why) is not None


# ---- Same reading ---------------------------------------------------------
#
# Two runtimes of one schema (protoc-c's generated descriptors and rollsafe's
# runtime ones) read the same bytes: their values, in the common form, must
# be the same, except where the common form holds what is not a value:
# * a field without presence (proto3) unset and at its zero are one value:
#   rollsafe's runtime descriptors track the presence of a map entry's key
#   and value, protoc-c's proto3 ones do not;
# * a map entry's bytes as its runtime packs them again (the same presence);
# floating point is compared by its bits (-0.0 is not 0.0, NaN is NaN).


def reading(field, v):
    """@v (common form) of @field as compared by same_reading."""
    if absent(v) or (implicit(field) and zeroish(v)):
        return None
    if isinstance(v, list):
        return [reading_scalar(field, x) for x in v]
    if is_map_value(v):
        kf, vf = sub_field(field, 1), sub_field(field, 2)
        return ("map", {reading_scalar(kf, k): reading(vf, x)
                        for k, x in v[1].items()},
                [reading_scalar(field, e) for e in v[2]])
    return reading_scalar(field, v)


def holds_map(desc, seen=None):
    """Whether messages of @desc hold a map entry at any depth."""
    seen = set() if seen is None else seen
    if desc is None or desc.full_name in seen:
        return False
    seen.add(desc.full_name)
    return desc.GetOptions().map_entry or any(
        holds_map(f.message_type, seen) for f in desc.fields
        if f.message_type is not None)


def reading_scalar(field, v):
    if v[0] == "f":
        return ("f", float(v[1]).hex())
    if v[0] == "m":
        desc = field.message_type if field is not None else None
        # A map entry's bytes as packed again differ (presence, above), and
        # so do those of a message that holds one.
        return ("m", {n: reading(desc.fields_by_number.get(n) if desc else
                                 None, x) for n, x in v[1].items()},
                None if holds_map(desc) else v[2], v[3])
    return v


def reading_diff(desc, a, b):
    """The top-level fields of @desc whose values differ between the two
    readings @a and @b (common form): ["name(number): A against B"]."""
    out = []
    for number in sorted(set(a) | set(b)):
        f = desc.fields_by_number.get(number)
        va, vb = a.get(number), b.get(number)
        if reading(f, va) != reading(f, vb):
            out.append("%s(%d): %s against %s" % (
                f.name if f else "?", number, fmt(va), fmt(vb)))
    return out


# ---- records ----------------------------------------------------------------

def assign(msg, values):
    for name, v in values.items():
        field = msg.DESCRIPTOR.fields_by_name[name]
        if is_map(field):
            container = getattr(msg, name)
            for k, x in v.items():
                if isinstance(x, dict):
                    assign(container[k], x)
                else:
                    container[k] = x
        elif field.label == FD.LABEL_REPEATED:
            container = getattr(msg, name)
            for x in v:
                if isinstance(x, dict):
                    assign(container.add(), x)
                else:
                    container.append(x)
        elif field.type == FD.TYPE_MESSAGE:
            sub = getattr(msg, name)
            sub.SetInParent()
            assign(sub, v)
        else:
            setattr(msg, name, v)


def payload_of(data):
    """The payload of a rollsafe envelope (schema/README.md), or None."""
    if len(data) < 3 or data[0] != golden.ENVELOPE_MARKER:
        return None
    n, shift, i = 0, 0, 2
    while i < len(data):
        b = data[i]
        n |= (b & 0x7F) << shift
        shift += 7
        i += 1
        if not b & 0x80:
            break
    return data[i + n:]


class Record:
    def __init__(self, case, index, spec, payload, envelope, writer):
        self.case, self.index, self.spec = case, index, spec
        self.key = index + 1
        self.payload, self.envelope = payload, envelope
        self.writer = writer  # common form, None when v2 cannot decode
        self.c = {}      # framing -> what the protobuf-c reader saw
        self.c_doc = {}  # framing -> the protobuf-c reader's JSON
        self.py = {}     # framing -> what the Python reader saw
        self.expected = {}   # (record framing, reader framing) -> (v, why)
        self.python = {}

    def stored(self, framing):
        return self.payload if framing == "raw" else self.envelope


# ---- the harness ------------------------------------------------------------

class Ctx:
    def __init__(self, args):
        self.rollsafe, self.reader = args.rollsafe, args.reader
        self.readas = args.readas
        self.gen = os.path.abspath(args.gen)
        self.work = os.path.abspath(args.work)
        self.failures, self.failure_info = [], []
        self.stats = collections.Counter()
        self.verdicts = []  # every inspect: the three verdicts
        self.disagreements = []
        self.pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=2 * (os.cpu_count() or 2))
        tmp = os.path.join(self.work, "golden-py")
        os.makedirs(tmp, exist_ok=True)
        _, _, self.env = golden.load_schema(tmp)
        self.raw_writer = {}
        for cmd in ("scan", "inspect", "fix"):
            p = subprocess.run([self.rollsafe, cmd, "--help"],
                               capture_output=True, text=True)
            self.raw_writer[cmd] = "--raw-writer" in p.stdout

    def module(self, case, version):
        name = "dc_%s_v%d_pb2" % (case.name, version)
        if name in sys.modules:
            return sys.modules[name]
        path = os.path.join(self.gen, "py", case.name, "v%d" % version,
                            "rec_pb2.py")
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
        return mod

    def proto(self, case, version):
        return os.path.join(self.gen, "protos", case.name, "v%d" % version,
                            "rec.proto")

    def fail(self, text, **info):
        """A failure: @text for people, @info (check, case, key, stored,
        reader, expected, got, ...) for WORK/failures.jsonl."""
        self.failures.append(text)
        self.failure_info.append(info)

    def rollsafe_run(self, argv):
        p = subprocess.run([self.rollsafe] + [str(a) for a in argv],
                           capture_output=True, timeout=120)
        err = p.stderr.decode("utf-8", "replace")
        for marker in SANITIZER_MARKERS:
            if marker in err:
                self.fail("sanitizer report from rollsafe %s\n%s"
                          % (" ".join(map(str, argv)), err),
                          check="sanitizer", argv=" ".join(map(str, argv)))
        return p.returncode, p.stdout.decode("utf-8", "replace"), err

    def read_c(self, requests):
        """The protobuf-c reader over [(case, bytes)]: its JSON, in order."""
        return self.read_with([self.reader], "the protobuf-c reader",
                              requests)

    def read_as(self, requests):
        """rs_read_as() (readas.c) over [(case, bytes)]: its JSON, in
        order."""
        return self.read_with([self.readas, self.gen], "rs_dc_readas",
                              requests)

    def read_with(self, argv, what, requests):
        if not requests:
            return []
        text = "".join("%s %s\n" % (c.name, b.hex()) for c, b in requests)
        p = subprocess.run(argv, input=text, capture_output=True,
                           text=True, timeout=120)
        for marker in SANITIZER_MARKERS:
            if marker in p.stderr:
                raise SystemExit("sanitizer report from %s:\n%s"
                                 % (what, p.stderr))
        if p.returncode != 0:
            raise SystemExit("%s failed (%d): %s"
                             % (what, p.returncode, p.stderr))
        lines = p.stdout.splitlines()
        if len(lines) != len(requests):
            raise SystemExit("%s answered %d of %d"
                             % (what, len(lines), len(requests)))
        return [json.loads(line) for line in lines]

    # -- independent readings

    def c_seen(self, case, doc, data=None):
        if "error" in doc:
            return "protobuf-c: " + doc["error"]
        v1 = self.module(case, 1)
        return c_message(v1.Rec.DESCRIPTOR, doc)

    def py_seen(self, case, data):
        v1 = self.module(case, 1)
        try:
            msg = v1.Rec.FromString(data)
        except Exception as e:  # DecodeError, and the runtime's own errors
            return "python: %s" % (str(e) or type(e).__name__)
        try:
            return py_message(msg, reader=True)
        except Unreadable as e:
            return "python: %s" % e

    def build(self, case):
        v2 = self.module(case, 2)
        fp = golden.fingerprint(v2.Rec.DESCRIPTOR)
        records = []
        for i, spec in enumerate(case.records):
            parts = spec.parts if isinstance(spec, corpus.Dup) else (spec,)
            payload = b""
            for part in parts:
                m = v2.Rec()
                if isinstance(part, corpus.Raw):
                    payload += part.data
                    parts = ()
                    continue
                m.id = i + 1
                assign(m, part)
                payload += golden.serialize(m)
            h = self.env.Header()
            h.record_type = "dc.%s.Rec" % case.name
            h.format_version = 2
            h.provenance.flag_key = "dc_flag"
            h.provenance.variant = "on"
            h.provenance.write_time_us = WRITE_TIME_US
            h.schema_fingerprint = fp
            envelope = golden.envelope(golden.serialize(h), payload)
            try:
                writer = py_message(v2.Rec.FromString(payload), reader=False)
            except Exception:
                # Python's parser stops at 100 nested messages; one message
                # is what its writer meant as built.
                writer = py_message(m, reader=False) if len(parts) == 1 \
                    else None
            records.append(Record(case, i, spec, payload, envelope, writer))
        return records

    def expect(self, cases_records):
        # The protobuf-c reader sees: the payload (a reader linked with
        # rollsafe, or raw bytes for any reader) and the whole envelope (a
        # plain reader handed an envelope).
        requests = []
        for case, records in cases_records:
            for r in records:
                requests.append((case, r.payload))
                requests.append((case, r.envelope))
        docs = iter(self.read_c(requests))
        for case, records in cases_records:
            v1 = self.module(case, 1)
            v2 = self.module(case, 2)
            rdesc, wdesc = v1.Rec.DESCRIPTOR, v2.Rec.DESCRIPTOR
            for r in records:
                r.c_doc["payload"] = next(docs)
                r.c_doc["envelope"] = next(docs)
                r.c["payload"] = self.c_seen(case, r.c_doc["payload"],
                                             r.payload)
                r.c["envelope"] = self.c_seen(case, r.c_doc["envelope"])
                r.py["payload"] = self.py_seen(case, r.payload)
                r.py["envelope"] = self.py_seen(case, r.envelope)
                for rec_framing in FRAMINGS:
                    for reader_framing in FRAMINGS:
                        seen = "envelope" if (rec_framing == "envelope" and
                                              reader_framing == "raw") \
                            else "payload"
                        r.expected[rec_framing, reader_framing] = \
                            reader_verdict(r.writer, wdesc, r.c[seen], rdesc,
                                           r.c_doc[seen])
                        r.python[rec_framing, reader_framing] = \
                            expected_verdict(r.writer, wdesc, r.py[seen],
                                             rdesc)
                c, py = r.expected["raw", "raw"], r.python["raw", "raw"]
                if c[0] != py[0]:
                    self.disagreements.append(
                        "%s record %d: protobuf-c %s (%s); python %s (%s)"
                        % (case.name, r.key, c[0], c[1], py[0], py[1]))
                env = r.expected["envelope", "raw"]
                if env[0] != "unreadable":
                    self.fail("%s record %d: the protobuf-c reader does not "
                              "refuse the envelope: %s"
                              % (case.name, r.key, env), check="harness",
                              case=case.name, key=r.key)

    # -- rollsafe

    def desc(self, case, version):
        return os.path.join(self.gen, "desc", case.name, "v%d" % version,
                            "rec.desc")

    def schema_args(self, case, form="proto"):
        """--schema of both versions: the .proto files (rollsafe runs
        protoc), or the descriptor sets gen.py made of them."""
        path = self.proto if form == "proto" else self.desc
        return ["--schema", path(case, 1), "--schema", path(case, 2),
                "--type", "dc.%s.Rec" % case.name]

    def describe(self, r, rec_framing, reader_framing):
        seen = "envelope" if (rec_framing == "envelope" and
                              reader_framing == "raw") else "payload"
        exp = r.expected[rec_framing, reader_framing]
        return ("  case %s, record %d (%r), stored %s, reader framing %s\n"
                "    bytes:            %s\n"
                "    writer's values:  %s\n"
                "    protobuf-c reads: %s\n"
                "    python reads:     %s\n"
                "    expected:         %s%s"
                % (r.case.name, r.key, r.spec, rec_framing, reader_framing,
                   r.stored(rec_framing).hex(), fmt_fields(r.writer),
                   fmt_fields(r.c[seen]), fmt_fields(r.py[seen]), exp[0],
                   " (%s)" % exp[1] if exp[1] else ""))

    def record_file(self, r, rec_framing):
        return os.path.join(self.work, "rec", "%s-%d-%s.bin"
                            % (r.case.name, r.key, rec_framing))

    def inspect(self, case, r, rec_framing, reader_framing):
        path = self.record_file(r, rec_framing)
        # Descriptor sets: inspect runs once per record, and protoc twice
        # a run would double the suite's time; scan and fix take the .proto
        # files.
        argv = ["inspect"] + self.schema_args(case, "desc") + [
            "--reader-version", "1", "--reader-framing", reader_framing]
        if rec_framing == "raw" and self.raw_writer["inspect"]:
            argv += ["--raw-writer", "2"]
        rc, out, err = self.rollsafe_run(argv + [path])
        return rc, out, err

    def check_inspect(self, cases_records):
        jobs = []
        os.makedirs(os.path.join(self.work, "rec"), exist_ok=True)
        # Each record as its writer stored it, read by the reader of that
        # framing: the other two pairs are checked by scan, key by key.
        for case, records in cases_records:
            for r in records:
                for rf in FRAMINGS:
                    with open(self.record_file(r, rf), "wb") as f:
                        f.write(r.stored(rf))
                    jobs.append((case, r, rf, rf, self.pool.submit(
                        self.inspect, case, r, rf, rf)))
        for case, r, rf, rdf, fut in jobs:
            rc, out, err = fut.result()
            self.stats["inspect"] += 1
            exp = r.expected[rf, rdf][0]
            try:
                doc = json.loads(out)
                got = doc["verdict"]["verdict"]
                reasons = doc["verdict"].get("reasons", [])
            except (ValueError, KeyError, TypeError):
                self.fail("inspect failed (exit %d):\n%s\n    stderr: %s"
                          % (rc, self.describe(r, rf, rdf), err.strip()),
                          check="inspect", case=r.case.name, key=r.key,
                          stored=rf, reader=rdf, expected=exp,
                          got="error")
                continue
            self.verdicts.append({
                "case": r.case.name, "key": r.key, "stored": rf,
                "reader": rdf, "protobuf_c": exp,
                "python": r.python[rf, rdf][0], "rollsafe": got})
            want_rc = 0 if got in ("ok", "ignored_fields") else 1
            if got != exp or rc != want_rc:
                self.fail("inspect: rollsafe says %s (exit %d)\n%s\n"
                          "    rollsafe:         %s, reasons: %s%s"
                          % (got, rc, self.describe(r, rf, rdf), got,
                             json.dumps([x.get("text") for x in reasons]),
                             "\n    rollsafe's writer: version %s"
                             % doc.get("written_version")),
                          check="inspect", case=r.case.name, key=r.key,
                          stored=rf, reader=rdf, expected=exp, got=got,
                          detail=r.expected[rf, rdf][1],
                          reasons=[x.get("text") for x in reasons],
                          written_version=doc.get("written_version"))

    def make_db(self, case, records, path):
        if os.path.exists(path):
            os.unlink(path)
        db = sqlite3.connect(path)
        for rf in FRAMINGS:
            db.execute("CREATE TABLE %s (id INTEGER PRIMARY KEY, "
                       "payload BLOB)" % rf)
            db.executemany("INSERT INTO %s VALUES (?, ?)" % rf,
                           [(r.key, r.stored(rf)) for r in records])
        db.commit()
        db.close()

    def config(self, case, db):
        """A config file with the case's two tables as targets."""
        path = db[:-len(".db")] + ".yaml"
        lines = ["feature: dc_flag", "reader_version: 1", "targets:"]
        for rf in FRAMINGS:
            lines += ["  - name: %s" % rf, "    kind: sqlite-table",
                      "    connection: %s" % json.dumps(db),
                      "    table: %s" % rf, "    key: id",
                      "    column: payload",
                      "    type: dc.%s.Rec" % case.name]
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def scan(self, case, db, reader_framing, given=True):
        argv = ["scan", "-c", self.config(case, db)] + \
            self.schema_args(case)[:4] + [
            "--reader-framing", reader_framing, "--format", "json",
            "--samples", "10000"]
        if self.raw_writer["scan"] and given:
            argv += ["--raw-writer", "2"]
        return self.rollsafe_run(argv)

    def check_scan_inferred(self, case, records, dbs):
        """The raw records scanned as users scan them, the writer inferred
        from the bytes: a record rollsafe decides must get the verdict of
        its true writer (version 2); otherwise it is undetermined."""
        if not self.raw_writer["scan"]:
            return  # the same scan as check_scan's
        jobs = [(rdf, self.pool.submit(self.scan, case, dbs[rdf], rdf,
                                       False)) for rdf in FRAMINGS]
        for rdf, fut in jobs:
            rc, out, err = fut.result()
            try:
                t = {t["name"]: t for t in json.loads(out)["targets"]}["raw"]
                by_key = {}
                for verdict, samples in t["samples"].items():
                    for x in samples:
                        by_key[x["key"]] = (verdict, x.get("reasons", []))
            except (ValueError, KeyError, TypeError):
                self.fail("scan of %s (writer inferred), reader framing %s "
                          "failed (exit %d): %s" % (case.name, rdf, rc,
                                                    err.strip()),
                          check="scan-inferred", case=case.name, reader=rdf)
                continue
            for r in records:
                if isinstance(r.spec, corpus.Dup):
                    # Inference takes a record for one serialization: a
                    # concatenation may hold two members of a oneof, which
                    # rules out the version that has the oneof.
                    continue
                verdict, reasons = by_key.get(str(r.key), ("ok", []))
                if verdict == "undetermined":
                    self.stats["scan, writer inferred: undetermined"] += 1
                    continue
                self.stats["scan, writer inferred: decided"] += 1
                want = r.expected["raw", rdf][0]
                if verdict != want:
                    self.fail("scan of %s (writer inferred), table raw, "
                              "reader framing %s: key %d: scan says %s, "
                              "reasons: %s\n%s"
                              % (case.name, rdf, r.key, verdict,
                                 json.dumps([x.get("text") for x in reasons]),
                                 self.describe(r, "raw", rdf)),
                              check="scan-inferred", case=case.name,
                              key=r.key, stored="raw", reader=rdf,
                              expected=want, got=verdict)

    def check_scan(self, case, records, dbs):
        jobs = [(rdf, self.pool.submit(self.scan, case, dbs[rdf], rdf))
                for rdf in FRAMINGS]
        for rdf, fut in jobs:
            rc, out, err = fut.result()
            try:
                doc = json.loads(out)
                targets = {t["name"]: t for t in doc["targets"]}
            except (ValueError, KeyError, TypeError):
                self.fail("scan of %s, reader framing %s failed (exit %d): %s"
                          % (case.name, rdf, rc, err.strip()),
                          check="scan", case=case.name, reader=rdf)
                continue
            want_rc = 0
            for rf in FRAMINGS:
                t = targets.get(rf)
                if t is None:
                    self.fail("scan of %s: no target %s in the report"
                              % (case.name, rf), check="scan",
                              case=case.name, reader=rdf)
                    continue
                want = {v: 0 for v in VERDICTS}
                for r in records:
                    want[r.expected[rf, rdf][0]] += 1
                if any(want[v] for v in ("misread", "unreadable", "corrupt")):
                    want_rc = 1
                got = {v: t["verdicts"].get(v, 0) for v in VERDICTS}
                by_key = {}
                for verdict, samples in t.get("samples", {}).items():
                    for x in samples:
                        by_key[x["key"]] = (verdict, x.get("reasons", []))
                bad = []
                self.stats["scan: keys"] += len(records)
                for r in records:
                    verdict, reasons = by_key.get(str(r.key), ("ok", []))
                    if verdict != r.expected[rf, rdf][0]:
                        bad.append((r, verdict, reasons))
                if got != want:
                    self.fail("scan of %s, table %s, reader framing %s: "
                              "counts %s, expected %s"
                              % (case.name, rf, rdf, got, want),
                              check="scan-counts", case=case.name,
                              stored=rf, reader=rdf,
                              expected="the expected counts",
                              got="other counts")
                for r, verdict, reasons in bad:
                    self.fail("scan of %s, table %s, reader framing %s: key "
                              "%d: scan says %s, reasons: %s\n%s"
                              % (case.name, rf, rdf, r.key, verdict,
                                 json.dumps([x.get("text") for x in reasons]),
                                 self.describe(r, rf, rdf)),
                              check="scan", case=case.name, key=r.key,
                              stored=rf, reader=rdf,
                              expected=r.expected[rf, rdf][0], got=verdict,
                              reasons=[x.get("text") for x in reasons])
            if rc != want_rc:
                self.fail("scan of %s, reader framing %s: exit %d, expected "
                          "%d" % (case.name, rdf, rc, want_rc),
                          check="scan-exit", case=case.name, reader=rdf,
                          expected="exit %d" % want_rc, got="exit %d" % rc)

    def fix(self, case, db, reader_framing, mode):
        argv = ["fix", "-c", self.config(case, db)] + \
            self.schema_args(case)[:4] + [
            "--reader-framing", reader_framing, "--execute", "--format",
            "json", "--samples", "10000"]
        if mode == "allow-lossy":
            argv.append("--allow-lossy")
        if self.raw_writer["fix"]:
            argv += ["--raw-writer", "2"]
        rc, text, err = self.rollsafe_run(argv)
        # The report beside the database, for a failure's reader.
        with open(db[:-len(".db")] + ".json", "w") as f:
            f.write(text)
        return rc, text, err

    def run_fixes(self, case, records, dbs):
        """fix --execute, and fix --execute --allow-lossy, on a copy of the
        database per reader framing; returns [(case, records, table,
        reader framing, mode, exit status, the table's report or an error
        text, {key: bytes after})]."""
        jobs = [(rdf, mode, self.pool.submit(self.fix, case, dbs[rdf, mode],
                                             rdf, mode))
                for rdf in FRAMINGS for mode in FIX_MODES]
        out = []
        for rdf, mode, fut in jobs:
            rc, text, err = fut.result()
            try:
                targets = {t["name"]: t for t in json.loads(text)["targets"]}
            except (ValueError, KeyError, TypeError):
                targets = None
            con = sqlite3.connect(dbs[rdf, mode])
            for rf in FRAMINGS:
                after = {k: bytes(b) for k, b in
                         con.execute("SELECT id, payload FROM %s" % rf)}
                t = targets.get(rf, "no target %s in the report" % rf) \
                    if targets is not None else "exit %d: %s" % (
                        rc, err.strip())
                out.append((case, records, rf, rdf, mode, rc, t, after))
            con.close()
        return out

    def check_fixes(self, fixes):
        # Every rewritten record is read again by the protobuf-c reader, as
        # the reader framing gets it.
        requests, slots = [], []
        for case, records, rf, rdf, mode, rc, doc, after in fixes:
            for r in records:
                data = after.get(r.key, b"")
                if data != r.stored(rf):
                    seen = data
                    if rdf == "envelope" and payload_of(data) is not None:
                        seen = payload_of(data)
                    requests.append((case, seen))
                    slots.append((case, r, rf, rdf, mode, data))
        docs = self.read_c(requests)
        reread = {}
        for (case, r, rf, rdf, mode, data), d in zip(slots, docs):
            v1 = self.module(case, 1)
            v2 = self.module(case, 2)
            seen = self.c_seen(case, d)
            paths = []
            verdict = reader_verdict(r.writer, v2.Rec.DESCRIPTOR, seen,
                                     v1.Rec.DESCRIPTOR, d, paths)
            pv = payload_of(data) if rdf == "envelope" else None
            py = expected_verdict(r.writer, v2.Rec.DESCRIPTOR,
                                  self.py_seen(case, data if pv is None
                                               else pv), v1.Rec.DESCRIPTOR)
            reread[case.name, r.key, rf, rdf, mode] = (data, seen, verdict,
                                                       py, paths)

        for case, records, rf, rdf, mode, rc, t, after in fixes:
            where = "fix%s of %s, table %s, reader framing %s" % (
                " --allow-lossy" if mode == "allow-lossy" else "",
                case.name, rf, rdf)
            check = "fix" if mode == "strict" else "fix --allow-lossy"
            unchanged = FIX_UNCHANGED if mode == "strict" else \
                tuple(o for o in FIX_UNCHANGED if o != "lossy_skipped")
            if not isinstance(t, dict):
                self.fail("%s failed: %s" % (where, t), check=check,
                          case=case.name, stored=rf, reader=rdf)
                continue
            try:
                outcome = {}
                for name, samples in t["samples"].items():
                    for s in samples:
                        outcome[s["key"]] = (name, s.get("why"))
            except (KeyError, IndexError, TypeError):
                self.fail("%s: unexpected report %s" % (where, t),
                          check=check, case=case.name, stored=rf, reader=rdf)
                continue
            for r in records:
                name, why = outcome.get(str(r.key), (None, None))
                before = r.expected[rf, rdf][0]
                got = reread.get((case.name, r.key, rf, rdf, mode))
                if got is None:
                    # Left as it was.
                    self.stats["fix: left as it was"] += 1
                    if name == "converted" or name == "lossy":
                        self.fail("%s: key %d reported %s, bytes unchanged\n%s"
                                  % (where, r.key, name,
                                     self.describe(r, rf, rdf)),
                                  check=check, case=case.name, key=r.key,
                                  stored=rf, reader=rdf, expected=before,
                                  got="%s, bytes unchanged" % name)
                    elif before not in ("ok", "ignored_fields") and \
                            name not in unchanged:
                        self.fail("%s: key %d left as it was, which the "
                                  "reader does not read as written, and the "
                                  "fix does not say why (outcome %s, exit "
                                  "%d)\n%s" % (where, r.key, name, rc,
                                               self.describe(r, rf, rdf)),
                                  check=check, case=case.name, key=r.key,
                                  stored=rf, reader=rdf, expected=before,
                                  got="left unchanged without a reason",
                                  detail=r.expected[rf, rdf][1])
                    continue
                data, seen, verdict, py, paths = got
                if name in FIX_UNCHANGED or name is None:
                    self.fail("%s: key %d rewritten though reported %s (%s)"
                              "\n%s\n    new bytes: %s"
                              % (where, r.key, name, why,
                                 self.describe(r, rf, rdf), data.hex()),
                              check=check, case=case.name, key=r.key,
                              stored=rf, reader=rdf, expected=before,
                              got="rewritten though %s" % name)
                    continue
                # A lossy conversion may differ from the writer where it says
                # so: every field that differs is named in its reasons.
                undeclared = [p for p in paths if not declared(p, why)]
                if name == "lossy" and verdict[0] == "misread" and \
                        not undeclared:
                    self.stats["fix: lossy, the loss declared"] += 1
                    continue
                self.stats["fix: rewritten, read again"] += 1
                if verdict[0] not in ("ok", "ignored_fields"):
                    self.fail("%s: key %d reported %s (%s), but protobuf-c "
                              "reads the new bytes as %s (%s)\n%s\n"
                              "    new bytes:        %s\n"
                              "    protobuf-c reads: %s\n"
                              "    python reads:     %s (%s)"
                              % (where, r.key, name, why, verdict[0],
                                 verdict[1], self.describe(r, rf, rdf),
                                 data.hex(), fmt_fields(seen), py[0], py[1]),
                              check=check, case=case.name, key=r.key,
                              stored=rf, reader=rdf, expected="ok after fix" if mode == "strict"
                              else "ok after fix, or the loss declared",
                              got="%s after fix (%s)" % (verdict[0], name),
                              detail=verdict[1], why=why)

    # -- rollsafe's reader

    def check_read_as(self, cases_records):
        """rs_read_as() at version 1, from a registry of version 1 alone, of
        every record as stored (raw, envelope) against the protobuf-c
        reader of the payload."""
        requests = [(case, r.stored(rf)) for case, records in cases_records
                    for r in records for rf in FRAMINGS]
        docs = iter(self.read_as(requests))
        for case, records in cases_records:
            rdesc = self.module(case, 1).Rec.DESCRIPTOR
            for r in records:
                want = r.c_doc["payload"]
                for rf in FRAMINGS:
                    got = next(docs)
                    self.stats["read_as"] += 1
                    c_fails, rs_fails = "error" in want, "error" in got
                    if c_fails and rs_fails:
                        continue
                    c_vals = None if c_fails else c_message(rdesc, want)
                    rs_vals = None if rs_fails else c_message(rdesc, got)
                    if c_fails or rs_fails:
                        differ = []
                        problem = ("rs_read_as fails (%s), protobuf-c reads "
                                   "the payload" % got["error"]
                                   if rs_fails else
                                   "rs_read_as reads what protobuf-c cannot "
                                   "unpack")
                    else:
                        differ = reading_diff(rdesc, c_vals, rs_vals)
                        if not differ:
                            continue
                        problem = "rs_read_as reads other values"
                    payload = payload_of(r.stored(rf)) if rf == "envelope" \
                        else r.payload
                    self.fail("read_as: %s\n%s\n"
                              "    payload:          %s\n"
                              "    protobuf-c:       %s\n"
                              "    rs_read_as:       %s%s"
                              % (problem, self.describe(r, rf, "envelope"),
                                 payload.hex(),
                                 want["error"] if c_fails else
                                 fmt_fields(c_vals),
                                 got["error"] if rs_fails else
                                 fmt_fields(rs_vals),
                                 "".join("\n    differs:          " + d
                                         for d in differ)),
                              check="read_as", case=case.name, key=r.key,
                              stored=rf, reader="envelope",
                              expected="unpack fails" if c_fails else
                              "protobuf-c's values",
                              got="fails" if rs_fails else
                              ("reads" if c_fails else "other values"),
                              detail=got.get("error") or "; ".join(differ))

    # -- one group

    def run_group(self, group, only=None):
        cases = [c for c in corpus.CASES if c.group == group and c.verdicts
                 and (not only or c.name in only)]
        if not cases:
            raise SystemExit("no cases in group %r" % group)
        cases_records = [(c, self.build(c)) for c in cases]
        self.expect(cases_records)
        self.check_inspect(cases_records)
        self.check_read_as(cases_records)
        dbdir = os.path.join(self.work, "db")
        os.makedirs(dbdir, exist_ok=True)
        fixes = []
        for case, records in cases_records:
            # One database per reader framing: fix rewrites it.
            dbs = {(rdf, mode): os.path.join(dbdir, "%s-%s-%s.db"
                                             % (case.name, rdf, mode))
                   for rdf in FRAMINGS for mode in FIX_MODES}
            for db in dbs.values():
                self.make_db(case, records, db)
            self.check_scan(case, records,
                            {rdf: dbs[rdf, "strict"] for rdf in FRAMINGS})
            self.check_scan_inferred(
                case, records, {rdf: dbs[rdf, "strict"] for rdf in FRAMINGS})
            fixes += self.run_fixes(case, records, dbs)
        self.check_fixes(fixes)
        return cases_records


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rollsafe", required=True)
    ap.add_argument("--reader", required=True)
    ap.add_argument("--readas", required=True)
    ap.add_argument("--gen", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--case", action="append",
                    help="only this case of the group (repeatable)")
    ap.add_argument("group", nargs="?")
    args = ap.parse_args()
    if args.list:
        print("\n".join(corpus.groups()))
        return 0
    if args.group is None:
        ap.error("a group is needed: " + ", ".join(corpus.groups()))
    if os.path.isdir(args.work):
        shutil.rmtree(args.work)
    os.makedirs(args.work)
    start = time.monotonic()
    ctx = Ctx(args)
    cases_records = ctx.run_group(args.group, args.case)
    n_cases = len(cases_records)
    n_records = sum(len(r) for _, r in cases_records)

    with open(os.path.join(args.work, "failures.jsonl"), "w") as f:
        f.write("".join(json.dumps(i, sort_keys=True) + "\n"
                        for i in ctx.failure_info))
    with open(os.path.join(args.work, "verdicts.jsonl"), "w") as f:
        f.write("".join(json.dumps(v, sort_keys=True) + "\n"
                        for v in ctx.verdicts))
    with open(os.path.join(args.work, "runtime-disagreements.txt"), "w") as f:
        f.write("".join(line + "\n" for line in ctx.disagreements))
    if ctx.disagreements:
        print("protobuf-c and Python disagree (%d records; not failures):"
              % len(ctx.disagreements))
        for line in ctx.disagreements:
            print("  " + line)
    print("raw records given --raw-writer 2: %s" % (
        "yes" if all(ctx.raw_writer.values()) else
        "no (the CLI lacks it: %s)" % ", ".join(
            c for c, ok in ctx.raw_writer.items() if not ok)))
    for text in ctx.failures:
        print("FAIL " + text)
    # The same failures by cause: what was checked, how the record was
    # stored and read, what the protobuf-c reader expects, what rollsafe did.
    causes = collections.defaultdict(list)
    for info in ctx.failure_info:
        cause = (info.get("check"), info.get("stored"), info.get("reader"),
                 info.get("expected"), info.get("got"))
        if info.get("case") not in causes[cause]:
            causes[cause].append(info.get("case"))
    if causes:
        print("failures by cause (check, stored, reader framing: expected "
              "-> rollsafe: cases):")
        for (check, stored, reader, expected, got), names in sorted(
                causes.items(), key=lambda kv: (str(kv[0][0]), -len(kv[1]))):
            print("  %s, stored %s, reader %s: %s -> %s: %s"
                  % (check, stored, reader, expected, got,
                     " ".join(str(n) for n in names)))
    print("checked: " + ", ".join("%s %d" % kv for kv in
                                  sorted(ctx.stats.items())))
    expected = collections.Counter(
        r.expected[f, f][0] for _, records in cases_records for r in records
        for f in FRAMINGS)
    print("expected verdicts (raw and envelope records): " + ", ".join(
        "%s %d" % (v, expected[v]) for v in VERDICTS))
    print("%s: %d cases, %d records, %d failures, %.1fs"
          % (args.group, n_cases, n_records, len(ctx.failures),
             time.monotonic() - start))
    return 1 if ctx.failures else 0


if __name__ == "__main__":
    sys.exit(main())
