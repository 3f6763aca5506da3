#!/usr/bin/python3
"""Random cases of the differential corpus: group `random`.

The corpus's other groups change one field at a time. Here a case is a
message of two to six fields, each with its own change drawn from the
kinds those groups cover (a type within its wire family or across, a
label, packing, a sub-message's change, a map's key or value, a field
added, removed or its number reused, required fields in proto2, a
sub-message of the case's own whose fields change in turn, fields moved
into or out of a oneof),
and records that set a random subset of the writer's fields to values
drawn from the corpus's VALUES (nested messages, repeated fields and maps
included, and now and then a record serialized twice, Dup). What counts as
the right verdict is what test_differential.py says of any case: the
readers' values against the writer's, record by record.

The cases follow from a seed: RS_DC_RANDOM="SEED:COUNT" in the
environment (CMake's RS_DC_RANDOM_SEED and RS_DC_RANDOM_CASES pass it to
gen.py and to the test), default "1:24". COUNT cases are made, half
proto2, half proto3, and COUNT/4 more whose writer's file moved to the
other syntax (a proto2 reader of a proto3 writer, and the reverse). A
failure names its case (random_s<SEED>_<n>_p<2|3>, random_s<SEED>_x<n>_p2p3
or _p3p2), and the same seed makes it again.
"""
import os
import random

DEFAULT = "1:24"

# Wire families: a type read as another of its family is a value question
# (the corpus's pair groups); across families it is a wire type question.
VARINT = ["int32", "int64", "uint32", "uint64", "bool", "enum"]
ZIGZAG = ["sint32", "sint64", "int32", "int64"]
FIXED32 = ["fixed32", "sfixed32", "float"]
FIXED64 = ["fixed64", "sfixed64", "double"]
LEN = ["string", "bytes"]
SCALARS = sorted(set(VARINT + ZIGZAG + FIXED32 + FIXED64 + LEN))
FAMILIES = [VARINT, ZIGZAG, FIXED32, FIXED64, LEN]
PACKABLE = set(SCALARS) - set(LEN)
# Sub-messages the writer changed (reader, writer), or left alone.
MESSAGES = [("S", "S"), ("S", "S64"), ("S64", "S"), ("S", "SX"),
            ("S", "SB"), ("SB", "S"), ("N", "N"), ("N", "N64"),
            ("N", "NX"), ("SE", "SEE"), ("KV", "KV"), ("S", "bytes"),
            ("bytes", "S"), ("string", "S"), ("S", "string")]
MAP_KEYS = ["int32", "int64", "uint32", "sint64", "string", "bool"]
MAP_VALUES = ["int32", "int64", "string", "bytes", "enum", "S", "S64",
              "SX"]
# Values a message type's fields take, by field name.
SUBFIELDS = {
    "S": {"a": "int32", "b": "string"},
    "S64": {"a": "int64", "b": "string"},
    "SX": {"a": "int32", "b": "string", "c": "int32"},
    "SB": {"a": "int32", "b": "bytes"},
    "SE": {"e": "E"},
    "SEE": {"e": "EE"},
    "N": {"s": "S"},
    "N64": {"s": "S64"},
    "NX": {"s": "SX"},
    "KV": {"key": "string", "value": "int32"},
    "SO": {"a": "int32", "b": "int32"},
}
# Bytes that parse as an S, a few of them with fields S lacks.
MESSAGE_BYTES = [b"\x08\x05", b"\x12\x01x", b"\x08\x05\x12\x01x",
                 b"\x18\x07", b"\x08\x96\x01"]
NUMBERS = list(range(2, 16)) + [16, 100, 2047, 2048, 300000]
# proto2 [default = ...] literals by type (an enum's: the number in the
# value's name, E1 or EE3).
DEFAULTS = {
    "int32": ["1", "-1", "7"], "int64": ["1", "-1", "7000000000"],
    "uint32": ["1", "7"], "uint64": ["1", "7000000000"],
    "sint32": ["1", "-1"], "sint64": ["1", "-7000000000"],
    "fixed32": ["1", "7"], "fixed64": ["1", "7000000000"],
    "sfixed32": ["1", "-1"], "sfixed64": ["1", "-1"],
    "bool": ["true"], "float": ["1.5", "-2.5"], "double": ["1.5", "-2.5"],
    "string": ['"d"', '"hello"'], "bytes": ['"d"', '"hello"'],
    "enum": ["1", "2"],
}


def _enum_name(t, side):
    if t != "enum":
        return t
    return "E" if side == "reader" else "EE"


class Field:
    """One side's declaration of a field: label ('', 'repeated',
    'optional'), type (a scalar, 'enum', a TYPES message, or map<K,V>),
    name and packing ('', 'true', 'false')."""

    def __init__(self, type_, name, label="", packed=""):
        self.type, self.name, self.label, self.packed = \
            type_, name, label, packed
        self.default = ""  # a proto2 [default = ...] literal, or ""

    def decl(self, number, side, in_oneof):
        t = self.type
        if t.startswith("map<"):
            k, v = t[4:-1].split(",")
            t = "map<%s, %s>" % (k, _enum_name(v.strip(), side))
        else:
            t = _enum_name(t, side)
        label = "" if in_oneof else self.label
        opts = []
        if self.packed:
            opts.append("packed = %s" % self.packed)
        if self.default and not in_oneof:
            d = self.default
            if t in ("E", "EE"):
                d = t + d  # a value's name: E1, EE3
            opts.append("default = %s" % d)
        opt = " [%s]" % ", ".join(opts) if opts else ""
        return "%s%s %s = %d%s;" % (label + " " if label else "", t,
                                     self.name, number, opt)

    def is_map(self):
        return self.type.startswith("map<")

    def singular(self):
        """Whether it may be a oneof's member."""
        return not self.is_map() and self.label not in ("repeated",
                                                        "required")


class Gen:
    def __init__(self, rng, syntax, values, types, name, wsyntax=None):
        # syntax: the reader's file; wsyntax: the writer's (the same unless
        # the file moved from proto2 to proto3 or back).
        self.rng, self.syntax, self.values = rng, syntax, values
        self.wsyntax = syntax if wsyntax is None else wsyntax
        # Defaults come from a generator of their own: the cases' fields
        # and records stay what they were without them.
        self.drng = random.Random(name + "/defaults")
        # Sub-messages made for this case go into cases.py's TYPES, named
        # after the case (upper case: gen.py finds the types a body uses
        # by their capitals).
        self.types, self.name = types, name
        self.subfields = {}  # writer's sub-message type -> its Fields
        self.depth, self.n_sub = 0, 0

    # -- schemas

    def scalar_pair(self):
        r = self.rng
        if r.random() < 0.8:
            fam = r.choice(FAMILIES)
            return r.choice(fam), r.choice(fam)
        return r.choice(SCALARS), r.choice(SCALARS)

    def field_pair(self, name):
        """(reader Field or None, writer Field or None) of one number."""
        r = self.rng
        kind = r.choices(
            ["same", "scalar", "message", "label", "packing", "map",
             "added", "removed", "reused", "optional", "required",
             "nested"],
            [14, 30, 14, 9, 5, 9, 5, 5, 5, 4,
             6 if 2 in (self.syntax, self.wsyntax) else 0,
             8 if self.depth == 0 else 0])[0]
        if kind == "nested":
            # A sub-message of this case's own, whose fields change too.
            rt, wt = self.sub_message()
            label = "repeated" if r.random() < 0.3 else ""
            return Field(rt, name, label), Field(wt, name, label)
        if kind == "same":
            t = r.choice(SCALARS + ["S", "N", "KV"])
            return Field(t, name), Field(t, name)
        if kind == "scalar":
            a, b = self.scalar_pair()
            return Field(a, name), Field(b, name)
        if kind == "message":
            a, b = r.choice(MESSAGES)
            label = "repeated" if r.random() < 0.25 else ""
            return Field(a, name, label), Field(b, name, label)
        if kind == "label":
            a, b = self.scalar_pair() if r.random() < 0.7 else \
                r.choice(MESSAGES)
            one, many = ("", "repeated")
            if r.random() < 0.5:
                one, many = many, one
            rf, wf = Field(a, name, one), Field(b, name, many)
            for f in (rf, wf):
                if f.label == "repeated" and f.type in PACKABLE and \
                        r.random() < 0.5:
                    f.packed = r.choice(["true", "false"])
            return rf, wf
        if kind == "packing":
            a, b = self.scalar_pair()
            if a not in PACKABLE or b not in PACKABLE:
                a = b = r.choice(sorted(PACKABLE))
            return (Field(a, name, "repeated", r.choice(["true", "false"])),
                    Field(b, name, "repeated", r.choice(["true", "false"])))
        if kind == "map":
            k1 = r.choice(MAP_KEYS)
            v1 = r.choice(MAP_VALUES)
            k2 = r.choice(MAP_KEYS) if r.random() < 0.4 else k1
            v2 = r.choice(MAP_VALUES) if r.random() < 0.5 else v1
            if r.random() < 0.15:
                # A map against a repeated entry message (KV's shape).
                if r.random() < 0.5:
                    return (Field("map<string, int32>", name),
                            Field("KV", name, "repeated"))
                return (Field("KV", name, "repeated"),
                        Field("map<string, int32>", name))
            return (Field("map<%s, %s>" % (k1, v1), name),
                    Field("map<%s, %s>" % (k2, v2), name))
        if kind == "added":
            return None, Field(r.choice(SCALARS + ["S"]), name)
        if kind == "removed":
            return Field(r.choice(SCALARS + ["S"]), name), None
        if kind == "reused":
            a, b = self.scalar_pair()
            return Field(a, name), Field(b, "g" + name[1:])
        if kind == "required":
            # proto2: required on either side, or inside a sub-message (SR
            # requires a; the writer's SO does not). A writer sets every
            # field it requires (its class serializes no record without).
            which = r.choice({(2, 2): ["reader", "writer", "both", "nested"],
                              (2, 3): ["reader", "nested"],
                              (3, 2): ["writer"]}[self.syntax,
                                                   self.wsyntax])
            if which == "nested":
                label = "repeated" if r.random() < 0.3 else ""
                return Field("SR", name, label), Field("SO", name, label)
            a, b = self.scalar_pair()
            return (Field(a, name, "required" if which != "writer" else ""),
                    Field(b, name, "required" if which != "reader" else ""))
        # proto3 optional on the writer's side (protoc-c generates no
        # reader of it); in proto2 an optional field is the default.
        a, b = self.scalar_pair()
        return Field(a, name), Field(b, name, "optional"
                                     if self.wsyntax == 3 else "")

    def fields_of(self, numbers):
        """(number, reader Field, writer Field) of each number."""
        fields = []
        for number in numbers:
            rf, wf = self.field_pair("f%d" % number)
            for f, syntax in ((rf, self.syntax), (wf, self.wsyntax)):
                if syntax == 2 and f is not None and f.label == "optional":
                    f.label = ""
                # A proto2 singular scalar may have a default of its own
                # (a oneof's member never shows it: Field.decl).
                if syntax == 2 and f is not None and f.type in DEFAULTS \
                        and f.label in ("", "required") and \
                        self.drng.random() < 0.2:
                    f.default = self.drng.choice(DEFAULTS[f.type])
            fields.append((number, rf, wf))
        return fields

    def sub_message(self):
        """A sub-message pair made for this case: (reader's type, writer's
        type), each field with its own change."""
        self.n_sub += 1
        base = "Q%sN%d" % (self.name.upper().replace("_", ""), self.n_sub)
        self.depth += 1
        fields = self.fields_of(sorted(self.rng.sample(range(1, 12),
                                                       self.rng.randint(1,
                                                                        4))))
        self.depth -= 1
        for side, k, suffix in (("reader", 1, "R"), ("writer", 2, "W")):
            body = " ".join(f[k].decl(f[0], side, False) for f in fields
                            if f[k] is not None)
            self.types[base + suffix] = "message %s%s { %s }" % (
                base, suffix, body)
        self.subfields[base + "W"] = [f[2] for f in fields
                                      if f[2] is not None]
        return base + "R", base + "W"

    def schema(self):
        r = self.rng
        n = r.randint(2, 6)
        numbers = sorted(r.sample(NUMBERS, n))
        fields = self.fields_of(numbers)
        # Two neighbouring singular fields into a oneof, on either side or
        # both.
        oneof = {"reader": set(), "writer": set()}
        for side, k in (("reader", 1), ("writer", 2)):
            i = 0
            while i < len(fields) - 1:
                pair = (fields[i][k], fields[i + 1][k])
                if r.random() < 0.15 and all(
                        f is not None and f.singular() and
                        f.label != "optional" for f in pair):
                    oneof[side].add(i)
                    i += 2
                else:
                    i += 1
        return fields, oneof

    def body(self, fields, oneof, side):
        k = 1 if side == "reader" else 2
        out, i = [], 0
        while i < len(fields):
            number, f = fields[i][0], fields[i][k]
            if i in oneof[side]:
                g = fields[i + 1]
                out.append("oneof o%d { %s %s }" % (
                    number, f.decl(number, side, True),
                    g[k].decl(g[0], side, True)))
                i += 2
                continue
            if f is not None:
                out.append(f.decl(number, side, False))
            i += 1
        return " ".join(out)

    # -- values

    def enum_values(self, name):
        if name == "E":
            vals = [0, 1, 2]
        else:
            vals = [0, 1, 2, 3, 1000]
        if self.wsyntax == 3:
            vals = vals + [77, -5]
        return vals

    def value(self, t):
        """A value of the writer's type @t (not repeated)."""
        r = self.rng
        if t in ("enum", "EE"):
            return r.choice(self.enum_values("EE"))
        if t == "E":
            return r.choice(self.enum_values("E"))
        if t in self.subfields:
            return {f.name: self.field_value(f) for f in self.subfields[t]
                    if f.label == "required" or r.random() < 0.6}
        if t in SUBFIELDS:
            return {k: self.value(v) for k, v in SUBFIELDS[t].items()
                    if r.random() < 0.6}
        if t == "bytes" and r.random() < 0.4:
            return r.choice(MESSAGE_BYTES)
        return r.choice(self.values[t])

    def field_value(self, f):
        r = self.rng
        if f.is_map():
            k, v = [x.strip() for x in f.type[4:-1].split(",")]
            out = {}
            for _ in range(r.randint(0, 3)):
                out[self.value(k)] = self.value(v)
            return out
        if f.label == "repeated":
            return [self.value(f.type) for _ in range(r.randint(0, 3))]
        return self.value(f.type)

    def record(self, fields, oneof):
        """A record: a random subset of the writer's fields, at most one
        member of each of its oneofs."""
        r = self.rng
        rec = {}
        i = 0
        while i < len(fields):
            members = [i, i + 1] if i in oneof["writer"] else [i]
            i += len(members)
            r.shuffle(members)
            for j in members:
                wf = fields[j][2]
                if wf is not None and (wf.label == "required" or
                                       r.random() < 0.65):
                    rec[wf.name] = self.field_value(wf)
                    break
        return rec


def _add_one(case, Dup, values, types, rng, name, syntax, wsyntax):
    g = Gen(rng, syntax, values, types, "random_" + name, wsyntax)
    fields, oneof = g.schema()
    records = [g.record(fields, oneof) for _ in range(6)]
    if rng.random() < 0.4:
        records.append(Dup(g.record(fields, oneof), g.record(fields, oneof)))
    case("random", name, syntax, g.body(fields, oneof, "reader"),
         g.body(fields, oneof, "writer"), records, wsyntax=wsyntax)


def add(case, Dup, values, types):
    """Adds the random cases through cases.py's case(); @values: its
    VALUES, @types: its TYPES, which gets the cases' own sub-messages."""
    spec = os.environ.get("RS_DC_RANDOM", "") or DEFAULT
    seed, count = (int(x) for x in spec.split(":"))
    for i in range(count):
        syntax = 2 if i % 2 == 0 else 3
        _add_one(case, Dup, values, types, random.Random("%d/%d" % (seed, i)),
                 "s%d_%d_p%d" % (seed, i, syntax), syntax, syntax)
    # Files that moved from one syntax to the other, a quarter as many,
    # from generators of their own (the cases above stay as they were).
    for i in range(max(1, count // 4)):
        syntax, wsyntax = (2, 3) if i % 2 == 0 else (3, 2)
        _add_one(case, Dup, values, types,
                 random.Random("%d/x%d" % (seed, i)),
                 "s%d_x%d_p%dp%d" % (seed, i, syntax, wsyntax), syntax,
                 wsyntax)
