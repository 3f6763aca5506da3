#!/usr/bin/python3
"""The differential verdict corpus: one line per case.

A case is a field-level schema change between the writer (format version 2)
and the reader (format version 1) of one record type, plus the records the
writer writes. From each line, tests/differential/gen.py makes two .proto
files,

    <case>/v1/rec.proto   package dc.<case>.v1; message Rec { id = 1; READER }
    <case>/v2/rec.proto   package dc.<case>.v2; message Rec { id = 1; WRITER }

and test_differential.py writes every record with Python's protobuf (the v2
class), raw and in a rollsafe envelope, reads it back with readers rollsafe
did not write (protoc-c generated C, Python's generated v1 class) and checks
rollsafe's verdicts against theirs.

The line format:

    case(GROUP, NAME, SYNTAX, READER_FIELDS, WRITER_FIELDS, RECORDS)
    both(GROUP, NAME, READER_FIELDS, WRITER_FIELDS, RECORDS)  # proto2 + proto3
    pair(GROUP, READER_TYPE, WRITER_TYPE)                     # proto2 + proto3

* FIELDS is the message body after `id = 1`. In proto2, a field without a
  label gets `optional`; fields inside a oneof never get one.
* Types named in FIELDS that are defined in TYPES below (E, EE, S, ...) are
  defined in that .proto too, with the types they use in turn.
* RECORDS is a list of records; a record is a dict of the writer's field
  values (nested dicts for messages, lists for repeated fields, dicts for
  maps; enums as numbers), or Dup(a, b): the two messages serialized one
  after the other (the bytes hold a non-repeated field twice), or Raw(HEX):
  the record's bytes as they are, bytes no writer's class writes (groups,
  field number 0, malformed varints); what the writer meant is what its
  class parses of them. The field `id` is set by the harness to the
  record's index + 1 (not in Raw records).
* pair() declares `f = 2` with the two types (`enum` is E for the reader and
  EE, which has more values, for the writer) and writes VALUES[writer type].

A case's full name is GROUP_NAME, a package component: lower case, digits,
underscores. The proto2 and proto3 variants end in _p2 and _p3. SYNTAX is
both versions' unless case() is given wsyntax, the writer's (a file that
moved from proto2 to proto3 or back: names end in _p2p3 or _p3p2). protoc-c
cannot generate proto3 `optional` fields, so only writers use them.
"""

import random_cases

P2, P3 = 2, 3

# Types a case may name. Messages are given by their body (labels added in
# proto2 as for the case's fields).
TYPES = {
    # the reader's enum, and the writer's with values added
    "E": "enum E { E0 = 0; E1 = 1; E2 = 2; }",
    "EE": "enum EE { EE0 = 0; EE1 = 1; EE2 = 2; EE3 = 3; EE1000 = 1000; }",
    # an enum whose value 2 the writer dropped
    "EL": "enum EL { EL0 = 0; EL1 = 1; }",
    # sub-messages; S64 and SX are S with a change the reader does not know
    "S": "message S { int32 a = 1; string b = 2; }",
    "S64": "message S64 { int64 a = 1; string b = 2; }",
    "SX": "message SX { int32 a = 1; string b = 2; int32 c = 3; }",
    "SB": "message SB { int32 a = 1; bytes b = 2; }",
    "SE": "message SE { E e = 1; }",
    "SEE": "message SEE { EE e = 1; }",
    "SR": "message SR { required int32 a = 1; optional int32 b = 2; }",
    "SO": "message SO { optional int32 a = 1; optional int32 b = 2; }",
    # a required closed enum, and the writer's with values added
    "SRE": "message SRE { required E e = 1; }",
    "SREE": "message SREE { required EE e = 1; }",
    "N": "message N { S s = 1; }",
    "N64": "message N64 { S64 s = 1; }",
    "NX": "message NX { SX s = 1; }",
    "KV": "message KV { string key = 1; int32 value = 2; }",
    # a message that holds itself: nesting depth
    "R": "message R { R r = 1; int32 a = 2; }",
}

# Values the writer writes with pair(), by the writer's type.
VALUES = {
    "int32": [0, 1, -1, 2**31 - 1, -2**31],
    "int64": [0, 1, -1, 7000000000, -7000000000, 2**63 - 1],
    "uint32": [0, 1, 2**31, 2**32 - 1],
    "uint64": [0, 1, 7000000000, 2**64 - 1],
    "sint32": [0, 1, -1, 2**31 - 1, -2**31],
    "sint64": [0, 1, -1, 7000000000, -7000000000],
    "bool": [False, True],
    "enum": [0, 1, 3, 1000],
    "fixed32": [0, 1, 2**32 - 1, 1065353216],  # 1065353216: bits of 1.0f
    "sfixed32": [0, 1, -1, -2**31, 1065353216],
    "fixed64": [0, 1, 7000000000, 2**64 - 1, 4607182418800017408],
    "sfixed64": [0, 1, -1, 7000000000, 4607182418800017408],
    "float": [0.0, 1.0, -2.5, -0.0, 1e-45],
    "double": [0.0, 1.0, -2.5, 7000000000.0, 3.458e-314],
    "string": ["", "hello", "grüße", "a\x00b"],
    "bytes": [b"", b"hello", b"a\x00b", b"a\xffb", b"\x08\x01"],
}
# An open (proto3) enum also holds numbers its own definition lacks.
VALUES_P3 = {"enum": VALUES["enum"] + [77]}

CASES = []


class Dup:
    """A record made of two serialized messages, one after the other."""

    def __init__(self, *parts):
        self.parts = parts

    def __repr__(self):
        return "Dup(%s)" % ", ".join(repr(p) for p in self.parts)


class Case:
    def __init__(self, group, name, syntax, reader, writer, records,
                 verdicts=True, runtimes=True, wsyntax=None):
        self.group, self.name, self.syntax = group, group + "_" + name, syntax
        # The writer's syntax, when its file moved to the other one (a
        # proto2 file migrated to proto3, or back).
        self.wsyntax = syntax if wsyntax is None else wsyntax
        self.reader, self.writer, self.records = reader, writer, records
        # False: test_differential.py (protobuf-c's reader, fixes, scans)
        # leaves the case out.
        self.verdicts = verdicts
        # False: test_runtimes.py reads the case for the table only, and
        # does not check rollsafe's verdicts of it per runtime; a tuple:
        # only for those runtimes.
        self.runtimes = runtimes


class Raw:
    """A record given as its bytes, hex (spaces allowed)."""

    def __init__(self, hexbytes):
        self.data = bytes.fromhex(hexbytes.replace(" ", ""))

    def __repr__(self):
        return "Raw(%r)" % self.data.hex()


def F(*values):
    """Records setting field f to each value."""
    return [{"f": v} for v in values]


def nest(levels):
    """A value of R nested @levels messages deep (the outermost counts)."""
    v = {"a": 1}
    for _ in range(levels - 1):
        v = {"r": v}
    return v


def case(group, name, syntax, reader, writer, records, verdicts=True,
         runtimes=True, wsyntax=None):
    CASES.append(Case(group, name, syntax, reader, writer, records,
                      verdicts, runtimes, wsyntax))


def both(group, name, reader, writer, records, records_p3=None,
         verdicts=True, runtimes=True):
    case(group, name + "_p2", P2, reader, writer, records, verdicts, runtimes)
    case(group, name + "_p3", P3, reader, writer,
         records if records_p3 is None else records_p3, verdicts, runtimes)


def _decl(t, side):
    return {"enum": "E" if side == "reader" else "EE"}.get(t, t) + " f = 2;"


def pair(group, reader_type, writer_type, syntaxes=(P2, P3)):
    for s in syntaxes:
        vals = (VALUES_P3 if s == P3 else {}).get(writer_type,
                                                  VALUES[writer_type])
        case(group, "%s_as_%s_p%d" % (writer_type, reader_type, s), s,
             _decl(reader_type, "reader"), _decl(writer_type, "writer"),
             F(*vals))


# ---- varint: int32, int64, uint32, uint64, bool, enum among each other ----
pair("varint", "int32", "int64")
pair("varint", "int32", "uint32")
pair("varint", "int32", "uint64")
pair("varint", "int32", "bool")
pair("varint", "int32", "enum")
pair("varint", "int64", "int32")
pair("varint", "int64", "uint32")
pair("varint", "int64", "uint64")
pair("varint", "int64", "bool")
pair("varint", "int64", "enum")
pair("varint", "uint32", "int32")
pair("varint", "uint32", "int64")
pair("varint", "uint32", "uint64")
pair("varint", "uint32", "bool")
pair("varint", "uint32", "enum")
pair("varint", "uint64", "int32")
pair("varint", "uint64", "int64")
pair("varint", "uint64", "uint32")
pair("varint", "uint64", "bool")
pair("varint", "uint64", "enum")
pair("varint", "bool", "int32")
pair("varint", "bool", "int64")
pair("varint", "bool", "uint32")
pair("varint", "bool", "uint64")
pair("varint", "bool", "enum")
pair("varint", "enum", "int32")
pair("varint", "enum", "int64")
pair("varint", "enum", "uint32")
pair("varint", "enum", "uint64")
pair("varint", "enum", "bool")
# zigzag: sint32 <-> sint64, sint <-> int
pair("zigzag", "sint32", "sint64")
pair("zigzag", "sint64", "sint32")
pair("zigzag", "int32", "sint32")
pair("zigzag", "sint32", "int32")
pair("zigzag", "int64", "sint64")
pair("zigzag", "sint64", "int64")
pair("zigzag", "int64", "sint32")
pair("zigzag", "sint64", "uint64")

# ---- fixed: same width, signedness and float/integer reinterpreted --------
pair("fixed", "fixed32", "sfixed32")
pair("fixed", "sfixed32", "fixed32")
pair("fixed", "fixed64", "sfixed64")
pair("fixed", "sfixed64", "fixed64")
pair("fixed", "double", "fixed64")
pair("fixed", "fixed64", "double")
pair("fixed", "double", "sfixed64")
pair("fixed", "sfixed64", "double")
pair("fixed", "float", "fixed32")
pair("fixed", "fixed32", "float")
pair("fixed", "float", "sfixed32")
pair("fixed", "sfixed32", "float")
# another width or wire type: the reader's wire type does not match
pair("fixed", "double", "float")
pair("fixed", "float", "double")
pair("fixed", "fixed64", "fixed32")
pair("fixed", "int32", "fixed32")
pair("fixed", "fixed32", "int32")
pair("fixed", "double", "int64")

# ---- len: string, bytes, embedded messages, maps ---------------------------
pair("len", "string", "bytes")
pair("len", "bytes", "string")
case("len", "bytes_as_string_invalid_utf8_p3", P3, "string f = 2;", "bytes f = 2;", F(b"a\xffb", b"\xc3\x28", b"\xed\xa0\x80", b"ok"))
case("len", "bytes_as_string_invalid_utf8_p2", P2, "string f = 2;", "bytes f = 2;", F(b"a\xffb", b"\xc3\x28", b"ok"))
both("len", "string_nul", "string f = 2;", "string f = 2;", F("a\x00b", "\x00", "ab\x00"))
both("len", "bytes_nul_as_string", "string f = 2;", "bytes f = 2;", F(b"a\x00b", b"\x00", b"a\x00\xff"))
both("len", "string_as_message", "S f = 2;", "string f = 2;", F("", "hello", "\x08\x05", "\x08\x05\x12\x01x", "\x12\x01"))
both("len", "bytes_as_message", "S f = 2;", "bytes f = 2;", F(b"", b"\x08\x05", b"\x08\x05\x12\x01x", b"\x0a", b"\x08\x05\x18\x07", b"\xff"))
both("len", "message_as_bytes", "bytes f = 2;", "S f = 2;", F({}, {"a": 5}, {"a": 5, "b": "x"}, {"b": "hello"}))
both("len", "message_as_string", "string f = 2;", "S f = 2;", F({}, {"a": 0}, {"a": 5}, {"b": "hello"}, {"a": -1}))
both("len", "string_as_map", "map<string, string> f = 2;", "string f = 2;", F("", "\x0a\x01k\x12\x01v", "hello"))
both("len", "map_as_string", "string f = 2;", "map<string, string> f = 2;", F({}, {"k": "v"}, {"a": "1", "b": "2"}))
both("len", "map_as_bytes", "bytes f = 2;", "map<string, string> f = 2;", F({"k": "v"}, {"a": "1", "b": "2"}))
both("len", "string_as_int32", "int32 f = 2;", "string f = 2;", F("x", ""))
both("len", "message_as_int64", "int64 f = 2;", "S f = 2;", F({"a": 1}, {}))
both("len", "int32_as_message", "S f = 2;", "int32 f = 2;", F(1, 0))

# ---- enum: open (proto3) and closed (proto2), values added by the writer ---
case("enum", "added_values_p2", P2, "E f = 2;", "EE f = 2;", F(0, 1, 2, 3, 1000))
case("enum", "added_values_p3", P3, "E f = 2;", "EE f = 2;", F(0, 1, 2, 3, 1000, 77, -5))
case("enum", "removed_value_p3", P3, "E f = 2;", "EL f = 2;", F(0, 1, 2))
case("enum", "repeated_added_p2", P2, "repeated E f = 2;", "repeated EE f = 2;", F([1, 2], [1, 3, 2], [1000]))
case("enum", "repeated_packed_added_p2", P2, "repeated E f = 2 [packed = true];", "repeated EE f = 2 [packed = true];", F([1, 2], [1, 3, 2]))
case("enum", "repeated_added_p3", P3, "repeated E f = 2;", "repeated EE f = 2;", F([1, 2], [1, 3, 2], [77]))
both("enum", "map_value_added", "map<int32, E> f = 2;", "map<int32, EE> f = 2;", F({1: 1}, {1: 1, 2: 3}))
both("enum", "nested_added", "SE f = 2;", "SEE f = 2;", F({"e": 1}, {"e": 3}, {}))
case("enum", "oneof_added_p2", P2, "oneof o { E f = 2; int32 g = 3; }", "oneof o { EE f = 2; int32 g = 3; }", F(1, 3) + [{"g": 4}])
case("enum", "oneof_added_p3", P3, "oneof o { E f = 2; int32 g = 3; }", "oneof o { EE f = 2; int32 g = 3; }", F(0, 1, 3) + [{"g": 4}])
case("enum", "proto3_optional_added", P3, "E f = 2;", "optional EE f = 2;", F(0, 1, 3) + [{}])
case("varint", "proto3_optional_as_implicit", P3, "int32 f = 2;", "optional int32 f = 2;", F(0, 1) + [{}])

# ---- repeated: singular <-> repeated, packed <-> unpacked ------------------
both("repeated", "singular_as_repeated", "repeated int32 f = 2;", "int32 f = 2;", F(0, 1, -1, 300))
both("repeated", "repeated_as_singular", "int32 f = 2;", "repeated int32 f = 2 [packed = false];", F([], [5], [1, 2], [-1, 7, 9]))
both("repeated", "packed_as_singular", "int32 f = 2;", "repeated int32 f = 2 [packed = true];", F([], [5], [1, 2]))
both("repeated", "packed_as_unpacked", "repeated int32 f = 2 [packed = false];", "repeated int32 f = 2 [packed = true];", F([], [1], [1, -2, 300]))
both("repeated", "unpacked_as_packed", "repeated int32 f = 2 [packed = true];", "repeated int32 f = 2 [packed = false];", F([], [1], [1, -2, 300]))
both("repeated", "packed_int64_as_int32", "repeated int32 f = 2;", "repeated int64 f = 2;", F([1, 2], [7000000000, 1], [-1]))
both("repeated", "packed_double_as_fixed64", "repeated fixed64 f = 2;", "repeated double f = 2;", F([0.0], [1.0, 0.0]))
both("repeated", "string_as_repeated", "repeated string f = 2;", "string f = 2;", F("", "x", "a\x00b"))
both("repeated", "repeated_string_as_string", "string f = 2;", "repeated string f = 2;", F([], ["x"], ["x", "y"]))
both("repeated", "message_as_repeated", "repeated S f = 2;", "S f = 2;", F({}, {"a": 1}, {"a": 1, "b": "x"}))
both("repeated", "repeated_message_as_message", "S f = 2;", "repeated S f = 2;", F([], [{"a": 1}], [{"a": 1}, {"b": "y"}], [{"a": 1}, {"a": 2}]))
both("repeated", "repeated_fixed32_as_float", "repeated float f = 2;", "repeated fixed32 f = 2;", F([0], [1065353216, 1]))
both("repeated", "repeated_as_bytes", "bytes f = 2;", "repeated int32 f = 2;", F([1, 2, 3], [300]))

# ---- oneof -----------------------------------------------------------------
both("oneof", "moved_into_oneof", "int32 f = 2; string g = 3;", "oneof o { int32 f = 2; string g = 3; }", [{"f": 1}, {"g": "x"}, {"f": 0}, {}])
both("oneof", "two_fields_in_reader_oneof", "oneof o { int32 f = 2; string g = 3; }", "int32 f = 2; string g = 3;", [{"f": 1}, {"g": "x"}, {"f": 1, "g": "x"}, {"f": 5, "g": ""}])
both("oneof", "moved_out_of_oneof", "oneof o { int32 f = 2; string g = 3; }", "int32 f = 2; oneof o { string g = 3; }", [{"f": 1}, {"g": "x"}, {"f": 2, "g": "y"}])
both("oneof", "member_added", "oneof o { int32 f = 2; }", "oneof o { int32 f = 2; string g = 3; }", [{"f": 1}, {"g": "x"}, {}])
both("oneof", "message_members", "oneof o { S f = 2; SX g = 3; }", "S f = 2; SX g = 3;", [{"f": {"a": 1}}, {"g": {"c": 3}}, {"f": {"a": 1}, "g": {"a": 2}}])
# proto3 optional, set to its zero, beside a field the reader's oneof keeps
# instead: the reader can tell the member is not set.
case("oneof", "optional_zero_into_reader_oneof_p3", P3, "oneof o { int32 f = 2; string g = 3; }", "optional int32 f = 2; string g = 3;", [{"f": 0, "g": "x"}, {"f": 0}, {"g": "x"}, {"f": 5, "g": "x"}, {"f": 0, "g": ""}])
# A member a later member clears is parsed all the same: bytes that are not
# the reader's message fail the record, required fields inside are not
# checked (protobuf-c's unpack of the member checks them).
both("oneof", "cleared_member_parsed", "oneof o { S f = 2; int32 g = 3; }", "bytes f = 2; int32 g = 3;", [{"f": b"a\xffb", "g": 1}, {"f": b"\x08\x05", "g": 1}, {"f": b"\x12\x01\xff", "g": 1}, {"f": b"a\xffb"}, {"g": 1}])
case("oneof", "cleared_member_required_p2", P2, "oneof o { SR f = 2; int32 g = 3; }", "bytes f = 2; int32 g = 3;", [{"f": b"\x10\x01", "g": 1}, {"f": b"\x08\x01", "g": 1}, {"f": b"", "g": 0}])
both("oneof", "member_type_changed", "oneof o { int32 f = 2; string g = 3; }", "oneof o { int64 f = 2; string g = 3; }", F(1, 7000000000) + [{"g": "x"}])

# ---- map ----------------------------------------------------------------------
both("map", "value_int32_as_int64", "map<string, int64> f = 2;", "map<string, int32> f = 2;", F({}, {"a": 1}, {"a": -1, "b": 2}))
both("map", "value_int64_as_int32", "map<string, int32> f = 2;", "map<string, int64> f = 2;", F({"a": 1}, {"a": 7000000000}, {"a": -1}))
both("map", "key_int64_as_int32", "map<int32, string> f = 2;", "map<int64, string> f = 2;", F({1: "x"}, {7000000000: "y"}, {-1: "z"}))
both("map", "key_int32_as_string", "map<string, string> f = 2;", "map<int32, string> f = 2;", F({1: "x"}))
both("map", "as_repeated_entry", "repeated KV f = 2;", "map<string, int32> f = 2;", F({}, {"a": 1}, {"a": 1, "b": 2}))
both("map", "repeated_entry_as_map", "map<string, int32> f = 2;", "repeated KV f = 2;", F([], [{"key": "a", "value": 1}], [{"key": "a", "value": 1}, {"key": "a", "value": 2}], [{"value": 3}]))
both("map", "message_value_changed", "map<string, S> f = 2;", "map<string, S64> f = 2;", F({"a": {"a": 1}}, {"a": {"a": 7000000000}}, {"a": {}}))
both("map", "message_value_field_added", "map<string, S> f = 2;", "map<string, SX> f = 2;", F({"a": {"a": 1}}, {"a": {"c": 3}}))
both("map", "removed", "", "map<string, int32> f = 2;", F({}, {"a": 1}))
both("map", "value_string_as_bytes", "map<int32, bytes> f = 2;", "map<int32, string> f = 2;", F({1: "x", 2: "a\x00b"}))
both("map", "value_bytes_as_string", "map<int32, string> f = 2;", "map<int32, bytes> f = 2;", F({1: b"x"}, {2: b"a\x00b"}, {3: b"\xff"}))

# ---- required (proto2) -------------------------------------------------------
case("required", "added_required", P2, "", "required int32 f = 2;", F(0, 5))
case("required", "removed_required", P2, "required int32 f = 2;", "", [{}])
case("required", "optional_as_required", P2, "required int32 f = 2;", "optional int32 f = 2;", F(0, 5) + [{}])
case("required", "required_as_optional", P2, "optional int32 f = 2;", "required int32 f = 2;", F(0, 5))
case("required", "nested_required_missing", P2, "optional SR f = 2;", "optional SO f = 2;", F({"a": 1}, {"b": 2}, {}))
case("required", "required_type_changed", P2, "required int32 f = 2;", "required int64 f = 2;", F(1, 7000000000))
case("required", "required_repeated_nested", P2, "repeated SR f = 2;", "repeated SO f = 2;", F([{"a": 1}], [{"a": 1}, {"b": 2}]))
# a required field whose value the reader's runtime keeps unknown is not set
case("required", "enum_value_added", P2, "required E f = 2;", "required EE f = 2;", F(1, 3) + [Dup({"f": 1}, {"f": 3})])
case("required", "wire_type_changed", P2, "required fixed32 f = 2;", "required int32 f = 2;", F(0, 1))
case("required", "message_as_varint", P2, "required SO f = 2;", "required int32 f = 2;", F(5))
case("required", "nested_enum_value_added", P2, "optional SRE f = 2;", "optional SREE f = 2;", F({"e": 1}, {"e": 3}))
case("required", "repeated_enum_value_added", P2, "repeated SRE f = 2;", "repeated SREE f = 2;", F([{"e": 1}], [{"e": 1}, {"e": 3}]))
case("required", "map_value_enum_value_added", P2, "map<int32, SRE> f = 2;", "map<int32, SREE> f = 2;", F({1: {"e": 1}}, {1: {"e": 1}, 2: {"e": 3}}))

# ---- nested: the change inside a sub-message ---------------------------------
both("nested", "int32_as_int64_inside", "S64 f = 2;", "S f = 2;", F({"a": 1}, {"a": -1}, {"b": "x"}))
both("nested", "int64_as_int32_inside", "S f = 2;", "S64 f = 2;", F({"a": 1}, {"a": 7000000000}, {"a": -7000000000, "b": "y"}))
both("nested", "field_added_inside", "S f = 2;", "SX f = 2;", F({"a": 1}, {"c": 3}, {"a": 1, "c": 0}))
both("nested", "string_as_bytes_inside", "SB f = 2;", "S f = 2;", F({"b": "x"}, {"b": "a\x00b"}))
both("nested", "bytes_as_string_inside", "S f = 2;", "SB f = 2;", F({"b": b"x"}, {"b": b"a\x00b"}, {"b": b"\xff\xfe"}))
both("nested", "two_levels", "N f = 2;", "N64 f = 2;", F({"s": {"a": 1}}, {"s": {"a": 7000000000}}, {"s": {}}))
both("nested", "two_levels_added", "N f = 2;", "NX f = 2;", F({"s": {"a": 1}}, {"s": {"c": 9}}))
both("nested", "repeated_inside_changed", "repeated S f = 2;", "repeated S64 f = 2;", F([{"a": 1}, {"a": 2}], [{"a": 1}, {"a": 7000000000}]))

# ---- duplicates: a non-repeated field twice in the bytes ---------------------
both("duplicates", "scalar_twice", "int32 f = 2;", "int32 f = 2;", [Dup({"f": 1}, {"f": 2}), Dup({"f": 2}, {"f": 0})])
both("duplicates", "int64_as_int32_twice", "int32 f = 2;", "int64 f = 2;", [Dup({"f": 7000000000}, {"f": 5}), Dup({"f": 5}, {"f": 7000000000})])
both("duplicates", "string_twice", "string f = 2;", "string f = 2;", [Dup({"f": "first"}, {"f": "second"}), Dup({"f": "a\x00b"}, {"f": "c"})])
both("duplicates", "message_twice", "S f = 2;", "S f = 2;", [Dup({"f": {"a": 1}}, {"f": {"b": "x"}}), Dup({"f": {"a": 1, "b": "x"}}, {"f": {"a": 2}})])
both("duplicates", "message_twice_field_added", "S f = 2;", "SX f = 2;", [Dup({"f": {"c": 1}}, {"f": {"a": 2}}), Dup({"f": {"a": 1}}, {"f": {"c": 2}})])
both("duplicates", "message_twice_as_bytes", "bytes f = 2;", "S f = 2;", [Dup({"f": {"a": 1}}, {"f": {"b": "x"}}), Dup({"f": {"a": 1}}, {"f": {"a": 2}})])
both("duplicates", "bytes_twice_as_message", "S f = 2;", "bytes f = 2;", [Dup({"f": b"\x08\x01"}, {"f": b"\x12\x01x"})])
both("duplicates", "oneof_members", "oneof o { int32 f = 2; string g = 3; }", "oneof o { int32 f = 2; string g = 3; }", [Dup({"f": 1}, {"g": "x"}), Dup({"g": "x"}, {"f": 1})])
both("duplicates", "oneof_message_twice", "oneof o { S f = 2; int32 g = 3; }", "oneof o { S f = 2; int32 g = 3; }", [Dup({"f": {"a": 1}}, {"f": {"b": "x"}}), Dup({"f": {"a": 1}}, {"g": 2}, {"f": {"b": "y"}})])
both("duplicates", "nested_message_twice", "N f = 2;", "N f = 2;", [Dup({"f": {"s": {"a": 1}}}, {"f": {"s": {"b": "x"}}})])
both("duplicates", "map_key_twice", "map<string, int32> f = 2;", "map<string, int32> f = 2;", [Dup({"f": {"a": 1}}, {"f": {"a": 2}}), Dup({"f": {"a": 1}}, {"f": {"b": 2}})])
# The entry a later one of its key replaces holds a field the reader lacks:
# protobuf-c keeps that entry, and the field in its unknown-field set.
both("duplicates", "map_key_twice_lost_entry_unknown", "map<string, S> f = 2;", "map<string, SX> f = 2;", [Dup({"f": {"a": {"c": 3}}}, {"f": {"a": {"a": 1}}}), Dup({"f": {"a": {"a": 1}}}, {"f": {"a": {"c": 3}}})])
both("duplicates", "enum_twice_added", "E f = 2;", "EE f = 2;", [Dup({"f": 3}, {"f": 1}), Dup({"f": 1}, {"f": 3})])
both("duplicates", "repeated_as_singular_twice", "int32 f = 2;", "repeated int32 f = 2 [packed = false];", [Dup({"f": [1]}, {"f": [2]})])

# ---- fields added, removed, numbers reused -----------------------------------
both("addrem", "field_added", "", "int32 f = 2;", F(0, 1, -1))
both("addrem", "message_field_added", "", "S f = 2;", F({}, {"a": 1}))
both("addrem", "field_removed", "int32 f = 2;", "", [{}])
both("addrem", "removed_and_added", "int32 g = 3;", "string f = 2;", F("x", ""))
both("addrem", "number_reused_wire_type", "int32 f = 2;", "string g = 2;", [{"g": "x"}, {"g": ""}, {}])
both("addrem", "number_reused_same_wire_type", "int32 f = 2;", "sint32 g = 2;", [{"g": 1}, {"g": -1}, {"g": 0}])
both("addrem", "number_reused_string_as_message", "S f = 2;", "string g = 2;", [{"g": "x"}, {"g": "\x08\x07"}])
both("addrem", "fixed32_reused_as_int32", "fixed32 f = 2;", "int32 g = 2;", [{"g": 1}, {"g": 0}])
both("addrem", "field_added_high_number", "", "string f = 536870911;", F("x"))

# ---- wire: bytes no writer's class writes, read by the runtimes' rules -----
# Records given as bytes (Raw); 08 01 is id = 1. For the table, and for the
# verdicts where rollsafe models every runtime.
# Unknown groups (field 3): unknown fields, skipped by every runtime but
# protobuf-c, which fails on them.
case("wire", "groups_p2", P2, "int32 f = 2;", "int32 f = 2;", [Raw("0801 1b 0801 1c"), Raw("0801 1b 1c"), Raw("0801 1b 0801")], verdicts=False)
# The known int32 field 2 written as a group: a field of another wire type
# in every version, which the runtimes but protobuf-c keep unknown for the
# writer's version too (ignored_fields); protobuf-c fails it.
case("wire", "known_field_as_group_p2", P2, "int32 f = 2;", "int32 f = 2;", [Raw("0801 13 0801 14")], verdicts=False)
# A message field written as a group (a proto2 group, editions'
# message_encoding = DELIMITED) where the reader expects it
# length-delimited, and so does every version: a foreign wire type in every
# version, kept unknown as above (the editions cases judge a version that
# writes the group).
case("wire", "message_as_group_p2", P2, "S f = 2;", "S f = 2;", [Raw("0801 13 0805 14")], verdicts=False)
# Field numbers: 19000 (reserved for protobuf's own use, never declared),
# 2^29-1, a 5-byte tag of 2^29 (its low 32 bits are 0), a 33-bit tag whose
# low 32 bits are field 2^29-1, field 2's tag in 6 bytes.
case("wire", "field_numbers_p2", P2, "int32 f = 2;", "int32 f = 2;", [Raw("0801 f8a90900"), Raw("0801 f8ffffff0f00"), Raw("0801 8080808010 0a"), Raw("0801 f8ffffff1f 00"), Raw("0801 908080808000 05")], verdicts=False)
# Field number 0: as a one-byte tag, and with wire type 2.
case("wire", "field_zero_p2", P2, "int32 f = 2;", "int32 f = 2;", [Raw("0801 0010"), Raw("0801 0200 1002")], verdicts=False)
# A top-level end-group tag, tag 0, and tag 0 in two bytes, each between
# two values of f: Python's C++ backend ends the record there without an
# error (f reads 5); the others fail. Inside a nested message the same
# tags fail everywhere.
case("wire", "early_end_p2", P2, "int32 f = 2;", "int32 f = 2;", [Raw("0801 1005 0c 1007"), Raw("0801 1005 00 1007"), Raw("0801 1005 8000 1007")], verdicts=False)
case("wire", "early_end_nested_p2", P2, "S f = 2;", "S f = 2;", [Raw("0801 12 03 0801 00"), Raw("0801 12 03 0801 0c"), Raw("0801 12 02 0801 00")], verdicts=False)
# Varints: 11 bytes, truncated, a zero in two bytes (not the shortest form).
case("wire", "varints_p2", P2, "int64 f = 2;", "int64 f = 2;", [Raw("0801 10 8080808080808080808001"), Raw("0801 10 80"), Raw("0801 10 8000")], verdicts=False)
# Ten bytes with bits past 64 in the last, and with a last byte of 0 (not
# the shortest form): Go refuses the first; Java's fast path reads bit 63
# set from both, whatever the last byte holds; the others keep the low 64
# bits. As int64, uint64, sint64, a packed int64 and a bool.
case("wire", "varint_overflow_p2", P2, "int64 f = 2;", "int64 f = 2;", [Raw("0801 10 80808080808080808002"), Raw("0801 10 80808080808080808000"), Raw("0801 10 ffffffffffffffffff01")], verdicts=False)
case("wire", "varint_overflow_types_p2", P2, "uint64 f = 2; sint64 g = 3; bool h = 4; repeated int64 k = 5 [packed = true];", "uint64 f = 2; sint64 g = 3; bool h = 4; repeated int64 k = 5 [packed = true];", [Raw("0801 10 80808080808080808000"), Raw("0801 18 80808080808080808000"), Raw("0801 20 80808080808080808000"), Raw("0801 20 80808080808080808002"), Raw("0801 2a 0b 01 80808080808080808000"), Raw("0801 2a 0a 80808080808080808001")], verdicts=False)
# A bool as fixed32, as length-delimited, as the varints 2 and 2^32.
case("wire", "bool_p2", P2, "bool f = 2;", "bool f = 2;", [Raw("0801 15 01000000"), Raw("0801 12 01 01"), Raw("0801 10 02"), Raw("0801 10 8080808010")], verdicts=False)
# Map entries: an extra field 3, no key, no value.
case("wire", "map_entries_p2", P2, "map<int32, string> f = 2;", "map<int32, string> f = 2;", [Raw("0801 12 07 0801 1201 78 1805"), Raw("0801 12 03 1201 78"), Raw("0801 12 02 0807")], verdicts=False)
# A map key of another wire type: the runtimes but protobuf-c read the map
# with the key's default, the writer's version as the reader's (ok);
# protobuf-c fails it.
case("wire", "map_key_wire_type_p2", P2, "map<int32, string> f = 2;", "map<int32, string> f = 2;", [Raw("0801 12 08 0d01000000 1201 78")], verdicts=False)
# Integers out of their field's range: an int32 of 2^32 + 1, a negative
# int32 in five bytes (the low 32 bits), an open enum of 2^32 + 1.
case("wire", "int32_range_p3", P3, "int32 f = 2;", "int32 f = 2;", [Raw("0801 10 8180808010"), Raw("0801 10 ffffffff0f")], verdicts=False)
case("enum", "repeated_unpacked_added_p3", P3, "repeated E f = 2 [packed = false];", "repeated EE f = 2 [packed = false];", F([1, 3, 2], [77]))

# ---- limits: nesting depth around the runtimes' recursion limits -------------
# f = 2 nested N messages deep: N messages nested within the record. C++,
# Java and Python fail past 100; protobuf-c (none) and Go (9,999) read all.
both("limits", "recursion", "R f = 2;", "R f = 2;", F(*[nest(n) for n in (98, 99, 100, 101)]))

# ---- random: many fields, each its own change (random_cases.py) --------------
random_cases.add(case, Dup, VALUES, TYPES)


def groups():
    seen = []
    for c in CASES:
        if c.verdicts and c.group not in seen:
            seen.append(c.group)
    return seen


def _check():
    import re
    names = set()
    for c in CASES:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", c.name):
            raise SystemExit("cases.py: bad case name %r" % c.name)
        if c.name in names:
            raise SystemExit("cases.py: case %r twice" % c.name)
        names.add(c.name)


_check()

if __name__ == "__main__":
    import sys
    if sys.argv[1:] == ["--groups"]:
        print(";".join(groups()), end="")
    else:
        for c in CASES:
            print(c.group, c.name, len(c.records))
