#!/usr/bin/python3
"""tests/differential/runtimes/reader.py: the Python reader of the runtime
table (docs/runtimes.md): protoc's generated Python classes of the table's
version-1 schemas, run by the python3-protobuf in use (its backend is printed
on standard error), nothing of rollsafe.

Usage: reader.py GEN (the corpus' build folder, holding py/<case>/v1/).
Standard input: one request a line, "CASE HEX"; standard output: one JSON
document a line in the form of print.h, what Rec.FromString() gives, walked
through its descriptor; extensions it parsed (the extending module loaded
registers them) follow as fields of their numbers when set. "#u" is the
number of fields in UnknownFields(). A
failed parse, or a field whose value cannot be read, prints
{"error": "..."}.
"""
import importlib.util
import json
import os
import sys

from google.protobuf import descriptor as pbd
from google.protobuf.internal import api_implementation

FD = pbd.FieldDescriptor


def load(gen, case):
    path = os.path.join(gen, "py", case, "v1", "rec_pb2.py")
    if not os.path.exists(path):
        return None
    spec = importlib.util.spec_from_file_location("dc_rt_%s_v1" % case, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.Rec


def value(field, v):
    t = field.type
    if t in (FD.TYPE_MESSAGE, FD.TYPE_GROUP):
        return {"m": message(v),
                "p": v.SerializePartialToString(deterministic=True).hex()}
    if t == FD.TYPE_STRING:
        # proto2 strings that are not UTF-8 come as bytes
        raw = v if isinstance(v, bytes) else v.encode("utf-8",
                                                      "surrogatepass")
        return {"s": raw.hex()}
    if t == FD.TYPE_BYTES:
        return {"b": bytes(v).hex()}
    if t == FD.TYPE_BOOL:
        return bool(v)
    if t == FD.TYPE_ENUM:
        return {"e": v, "k": int(v in field.enum_type.values_by_number)}
    if t in (FD.TYPE_FLOAT, FD.TYPE_DOUBLE):
        return {"d": float(v).hex()}
    return int(v)


def message(msg):
    out = {}
    for field in sorted(msg.DESCRIPTOR.fields, key=lambda f: f.number):
        v = getattr(msg, field.name)
        if field.message_type and field.message_type.GetOptions().map_entry:
            kf = field.message_type.fields_by_number[1]
            vf = field.message_type.fields_by_number[2]
            out[str(field.number)] = [
                {"m": {"1": value(kf, k), "2": value(vf, v[k]), "#u": 0}}
                for k in sorted(v)]
        elif field.label == FD.LABEL_REPEATED:
            out[str(field.number)] = [value(field, x) for x in v]
        elif field.has_presence and not msg.HasField(field.name):
            out[str(field.number)] = None
        else:
            out[str(field.number)] = value(field, v)
    for field, v in msg.ListFields():
        if field.is_extension:
            out[str(field.number)] = (
                [value(field, x) for x in v]
                if field.label == FD.LABEL_REPEATED else value(field, v))
    out["#u"] = len(msg.UnknownFields())
    return out


def main():
    gen = sys.argv[1]
    print("python protobuf backend: %s" % api_implementation.Type(),
          file=sys.stderr)
    classes = {}
    for line in sys.stdin:
        name, _, hexed = line.rstrip("\n").partition(" ")
        if name not in classes:
            classes[name] = load(gen, name)
        cls = classes[name]
        if cls is None:
            doc = {"error": "unknown case"}
        else:
            try:
                doc = message(cls.FromString(bytes.fromhex(hexed)))
            except Exception as e:  # DecodeError and the backend's own
                doc = {"error": "%s: %s" % (type(e).__name__, e)}
        print(json.dumps(doc), flush=True)


if __name__ == "__main__":
    main()
