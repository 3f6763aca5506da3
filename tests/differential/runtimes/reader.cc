// tests/differential/runtimes/reader.cc: the C++ reader of the runtime
// table (docs/runtimes.md). It links protoc's generated C++ code of the
// table's version-1 schemas (cases.inc, written by build.py) and
// libprotobuf, nothing of rollsafe.
//
// Standard input: one request a line, "CASE HEX"; standard output: one JSON
// document a line in the form of print.h, what Rec::ParseFromString() of
// dc.<CASE>.v1.Rec gives, walked through its descriptor; extensions it
// parsed (the generated code linked in registers its file's extensions)
// follow as fields of their numbers when set. "#u" is the number of fields
// in the message's unknown field set. A failed parse prints
// {"error": "..."}.
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/message.h>
#include <google/protobuf/unknown_field_set.h>

#include "cases.h"

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

static std::string hex(const std::string &s) {
  static const char digits[] = "0123456789abcdef";
  std::string out = "\"";
  for (unsigned char c : s) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out + "\"";
}

static std::string hexfloat(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "{\"d\": \"%a\"}", v);
  return buf;
}

static std::string message_json(const Message &m);

static std::string value_json(const Message &m, const FieldDescriptor *f,
                              int index) {
  const Reflection *r = m.GetReflection();
  bool rep = index >= 0;
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return std::to_string(rep ? r->GetRepeatedInt32(m, f, index)
                                : r->GetInt32(m, f));
    case FieldDescriptor::CPPTYPE_INT64:
      return std::to_string(rep ? r->GetRepeatedInt64(m, f, index)
                                : r->GetInt64(m, f));
    case FieldDescriptor::CPPTYPE_UINT32:
      return std::to_string(rep ? r->GetRepeatedUInt32(m, f, index)
                                : r->GetUInt32(m, f));
    case FieldDescriptor::CPPTYPE_UINT64:
      return std::to_string(rep ? r->GetRepeatedUInt64(m, f, index)
                                : r->GetUInt64(m, f));
    case FieldDescriptor::CPPTYPE_BOOL:
      return (rep ? r->GetRepeatedBool(m, f, index) : r->GetBool(m, f))
                 ? "true"
                 : "false";
    case FieldDescriptor::CPPTYPE_FLOAT:
      return hexfloat(rep ? r->GetRepeatedFloat(m, f, index)
                          : r->GetFloat(m, f));
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return hexfloat(rep ? r->GetRepeatedDouble(m, f, index)
                          : r->GetDouble(m, f));
    case FieldDescriptor::CPPTYPE_ENUM: {
      int v =
          rep ? r->GetRepeatedEnumValue(m, f, index) : r->GetEnumValue(m, f);
      return "{\"e\": " + std::to_string(v) +
             ", \"k\": " + (f->enum_type()->FindValueByNumber(v) ? "1" : "0") +
             "}";
    }
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string s =
          rep ? r->GetRepeatedString(m, f, index) : r->GetString(m, f);
      return std::string(f->type() == FieldDescriptor::TYPE_BYTES
                             ? "{\"b\": "
                             : "{\"s\": ") +
             hex(s) + "}";
    }
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      const Message &sub =
          rep ? r->GetRepeatedMessage(m, f, index) : r->GetMessage(m, f);
      return "{\"m\": " + message_json(sub) +
             ", \"p\": " + hex(sub.SerializePartialAsString()) + "}";
    }
  }
  return "null";
}

static std::string message_json(const Message &m) {
  const Descriptor *d = m.GetDescriptor();
  const Reflection *r = m.GetReflection();
  std::map<int, const FieldDescriptor *> by_number;
  for (int i = 0; i < d->field_count(); i++)
    by_number[d->field(i)->number()] = d->field(i);
  std::vector<const FieldDescriptor *> set;
  r->ListFields(m, &set);
  for (const FieldDescriptor *f : set)
    if (f->is_extension()) by_number[f->number()] = f;
  std::string out = "{";
  for (const auto &[number, f] : by_number) {
    out += "\"" + std::to_string(number) + "\": ";
    if (f->is_repeated()) {
      out += "[";
      for (int k = 0; k < r->FieldSize(m, f); k++)
        out += (k ? ", " : "") + value_json(m, f, k);
      out += "]";
    } else if (!f->has_presence() || r->HasField(m, f)) {
      out += value_json(m, f, -1);
    } else {
      out += "null";
    }
    out += ", ";
  }
  return out +
         "\"#u\": " + std::to_string(r->GetUnknownFields(m).field_count()) +
         "}";
}

static int unhex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Options, as a reader's code gives them: --allow-partial
// (ParsePartialFromCodedStream), --recursion-limit N (SetRecursionLimit);
// none: ParseFromString.
static bool parse(Message *m, const std::string &bytes, bool partial,
                  int limit) {
  if (!partial && limit == 0) return m->ParseFromString(bytes);
  google::protobuf::io::ArrayInputStream ais(bytes.data(),
                                             static_cast<int>(bytes.size()));
  google::protobuf::io::CodedInputStream cis(&ais);
  if (limit != 0) cis.SetRecursionLimit(limit);
  bool ok = partial ? m->ParsePartialFromCodedStream(&cis)
                    : m->ParseFromCodedStream(&cis);
  return ok && cis.ConsumedEntireMessage();
}

int main(int argc, char **argv) {
  bool partial = false;
  int limit = 0;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--allow-partial") {
      partial = true;
    } else if (a == "--recursion-limit" && i + 1 < argc) {
      limit = std::stoi(argv[++i]);
    } else {
      std::cerr << "dc_rt_cpp: unknown option " << a << "\n";
      return 2;
    }
  }
  std::map<std::string, const Message *> cases;
  for (const auto &c : dc_rt_cases()) cases[c.first] = c.second;
  std::string line;
  while (std::getline(std::cin, line)) {
    size_t space = line.find(' ');
    std::string name = line.substr(0, space);
    std::string hexed =
        space == std::string::npos ? "" : line.substr(space + 1);
    std::string bytes;
    for (size_t i = 0; i + 1 < hexed.size(); i += 2) {
      int hi = unhex(hexed[i]), lo = unhex(hexed[i + 1]);
      if (hi < 0 || lo < 0) {
        std::cerr << "dc_rt_cpp: bad hex for " << name << "\n";
        return 2;
      }
      bytes += static_cast<char>(hi << 4 | lo);
    }
    auto it = cases.find(name);
    if (it == cases.end()) {
      std::cout << "{\"error\": \"unknown case\"}\n";
    } else {
      std::unique_ptr<Message> m(it->second->New());
      if (!parse(m.get(), bytes, partial, limit))
        std::cout << "{\"error\": \"ParseFromString failed\"}\n";
      else
        std::cout << message_json(*m) << "\n";
    }
    std::cout.flush();
  }
  return 0;
}
