/*
 * The reader's runtime: what each runtime's generated code does with the
 * same bytes, at the versions Debian 12 ships, as one row of data each.
 *
 * Read from the runtimes' sources and confirmed by running their readers
 * (docs/runtimes.md, tests/differential/test_runtimes.py):
 *
 *   protobuf-c 1.4.1   protobuf-c.c: parse_required_member() fails a known
 *                      field whose wire type differs, except a bool
 *                      (parse_boolean reads any); an enum number is kept;
 *                      strings are copied and NUL-terminated; a missing
 *                      required field without a default fails the unpack;
 *                      no recursion limit; wire types 3 and 4 fail.
 *   C++ 3.21.12        TcParser / WireFormat: another wire type and an
 *                      unknown closed-enum value (also a map entry's) go
 *                      to the UnknownFieldSet; VerifyUTF8 fails proto3
 *                      strings; IsInitialized() after ParseFromString;
 *                      ParseContext's recursion limit of 100; groups of
 *                      unknown fields skipped.
 *   Java 3.21.12       CodedInputStream: as C++; readString() decodes
 *                      proto2 strings with replacement (U+FFFD),
 *                      readStringRequireUtf8() fails proto3 ones, and
 *                      map keys and values in every syntax (MapEntryLite);
 *                      a oneof's message member parses into its field
 *                      builder, which a switch to another member leaves
 *                      in place; recursionLimit 100.
 *   Go 1.28.1          internal/impl/decode.go: errUnknown sends another
 *                      wire type to the unknown fields; enums are open in
 *                      every syntax; proto3 strings validated;
 *                      checkInitialized unless AllowPartial; field numbers
 *                      outside 1..2^29-1 fail; depth starts at 10,000 and
 *                      the record takes one (9,999 nested).
 *   Python 3.21.12     the C++ backend (pyext/message.cc) over C++'s
 *                      parser: as C++, but FromString does not check
 *                      required fields, and a dynamic map entry keeps its
 *                      key when its closed-enum value goes to the entry's
 *                      unknown fields (the value reads its default).
 */
#include <string.h>

#include "internal.h"

const rs__rules rs__rules_pbc = {
    .runtime = RS_RUNTIME_PROTOBUF_C,
    .name = "protobuf-c",
    .pbc = true,
    .c_strings = true,
    .required = true,
};

static const rs__rules rules_cpp = {
    .runtime = RS_RUNTIME_CPP,
    .name = "C++",
    .wire_unknown = true,
    .closed_enums = true,
    .map_entry_drop = true,
    .utf8_fails = true,
    .required = true,
    .nested_limit = 100,
    .extensions = RS__EXT_PARSED,
};

static const rs__rules rules_java = {
    .runtime = RS_RUNTIME_JAVA,
    .name = "Java",
    .wire_unknown = true,
    .closed_enums = true,
    .map_entry_drop = true,
    .utf8_fails = true,
    .utf8_replaces = true,
    .utf8_map_strict = true,
    .oneof_stale_merge = true,
    .varint64_bit63 = true,
    .required = true,
    .nested_limit = 100,
    .extensions = RS__EXT_EITHER,
};

static const rs__rules rules_go = {
    .runtime = RS_RUNTIME_GO,
    .name = "Go",
    .wire_unknown = true,
    .utf8_fails = true,
    .required = true,
    .nested_limit = 9999,
    .tag_strict = true,
    .extensions = RS__EXT_PARSED,
};

static const rs__rules rules_python = {
    .runtime = RS_RUNTIME_PYTHON,
    .name = "Python",
    .wire_unknown = true,
    .closed_enums = true,
    .utf8_fails = true,
    .early_end = true,
    .nested_limit = 100,
    .extensions = RS__EXT_PARSED,
};

static const rs__rules *const all_rules[RS_RUNTIME_COUNT] = {
    &rs__rules_pbc, &rules_cpp, &rules_java, &rules_go, &rules_python};

const rs__rules *rs__rules_for(rs_runtime rt) {
  return all_rules[(unsigned)rt < RS_RUNTIME_COUNT ? rt : 0];
}

const char *rs_runtime_name(rs_runtime runtime) {
  static const char *const names[RS_RUNTIME_COUNT] = {"protobuf-c", "cpp",
                                                      "java", "go", "python"};
  return (unsigned)runtime < RS_RUNTIME_COUNT ? names[runtime] : "unknown";
}

int rs_runtime_from_name(const char *name) {
  if (name == NULL) return -1;
  for (int i = 0; i < RS_RUNTIME_COUNT; i++)
    if (strcmp(name, rs_runtime_name((rs_runtime)i)) == 0) return i;
  return -1;
}

int rs__rules_init(rs__rules *out, const rs_reader *reader, rs_error *err) {
  *out = rs__rules_pbc;
  if (reader == NULL || reader->version < 3) return 0;
  if ((unsigned)reader->runtime >= RS_RUNTIME_COUNT)
    return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                    "rs_reader.runtime %d is not a known runtime",
                    (int)reader->runtime);
  *out = *all_rules[reader->runtime];
  unsigned flags = reader->runtime_flags;
  const unsigned known = RS_RUNTIME_ALLOW_PARTIAL | RS_RUNTIME_DISCARD_UNKNOWN |
                         RS_RUNTIME_EXTENSION_REGISTRY |
                         RS_RUNTIME_NO_EXTENSION_REGISTRY;
  if (flags & ~known)
    return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                    "rs_reader.runtime_flags has unknown bits 0x%x",
                    flags & ~known);
  rs_runtime rt = reader->runtime;
  unsigned registry = flags & (RS_RUNTIME_EXTENSION_REGISTRY |
                               RS_RUNTIME_NO_EXTENSION_REGISTRY);
  if (registry != 0) {
    /* Java parses an extension only with an ExtensionRegistry that holds
     * it; the others always or never do. */
    if (rt != RS_RUNTIME_JAVA)
      return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                      "extension_registry is an option of Java's parseFrom; "
                      "%s %s",
                      out->name,
                      rt == RS_RUNTIME_PROTOBUF_C
                          ? "never parses extensions (protoc-c generates "
                            "nothing for `extend`)"
                          : "parses every extension its generated code "
                            "declares");
    if (registry ==
        (RS_RUNTIME_EXTENSION_REGISTRY | RS_RUNTIME_NO_EXTENSION_REGISTRY))
      return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                      "extension_registry: both with and without a registry");
    out->extensions = registry == RS_RUNTIME_EXTENSION_REGISTRY
                          ? RS__EXT_PARSED
                          : RS__EXT_UNKNOWN;
  }
  if (flags & RS_RUNTIME_ALLOW_PARTIAL) {
    /* Go's AllowPartial, C++'s ParsePartialFromString, Java's
     * parsePartialFrom; Python never checks; protobuf-c always does. */
    if (rt == RS_RUNTIME_PROTOBUF_C || rt == RS_RUNTIME_PYTHON)
      return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                      "allow_partial: %s has no such option (%s)", out->name,
                      rt == RS_RUNTIME_PYTHON
                          ? "its FromString never checks required fields"
                          : "protobuf_c_message_unpack always checks them");
    out->required = false;
  }
  if (flags & RS_RUNTIME_DISCARD_UNKNOWN) {
    if (rt != RS_RUNTIME_GO)
      return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                      "discard_unknown is an option of Go's "
                      "proto.UnmarshalOptions; %s has none",
                      out->name);
    out->discards_unknown = true;
  }
  if (reader->recursion_limit != 0) {
    if (rt == RS_RUNTIME_PROTOBUF_C || rt == RS_RUNTIME_PYTHON)
      return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                      "recursion_limit: %s has no such option (%s)", out->name,
                      rt == RS_RUNTIME_PYTHON
                          ? "its C++ backend keeps the default of 100"
                          : "protobuf-c has no recursion limit");
    /* Go counts the record itself against its limit; C++ and Java count
     * the messages nested in it. */
    out->nested_limit = rt == RS_RUNTIME_GO ? reader->recursion_limit - 1
                                            : reader->recursion_limit;
  }
  return 0;
}

int rs_reader_validate(const rs_reader *reader, rs_error *err) {
  rs__rules r;
  if (reader == NULL) return 0;
  if (reader->version == 0 || reader->version > RS_READER_VERSION)
    return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                    "rs_reader.version is %u; this library knows 1..%d",
                    reader->version, RS_READER_VERSION);
  return rs__rules_init(&r, reader, err);
}

/* ---- reading fields as the runtime does ---------------------------------- */

/* A varint of at most 10 bytes; the length, 0 when truncated, SIZE_MAX when
 * longer. */
static size_t varint_at(const uint8_t *p, size_t rem, uint64_t *out);

/* As varint_at, as runtime r reads it: Go (tag_strict) refuses a ten-byte
 * varint whose last byte holds more than bit 63 (protowire.ConsumeVarint:
 * errCodeOverflow), SIZE_MAX; the others keep the low 64 bits. */
static size_t varint_rt(const rs__rules *r, const uint8_t *p, size_t rem,
                        uint64_t *out) {
  size_t n = varint_at(p, rem, out);
  if (n == 10 && r->tag_strict && p[9] > 1) return SIZE_MAX;
  return n;
}

static size_t varint_at(const uint8_t *p, size_t rem, uint64_t *out) {
  uint64_t v = 0;
  for (size_t i = 0; i < 10; i++) {
    if (i >= rem) return 0;
    v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
    if ((p[i] & 0x80) == 0) {
      *out = v;
      return i + 1;
    }
  }
  return SIZE_MAX;
}

/* The tag at *pos: its number and wire type, *pos past it; -1 with why. */
static int read_tag(const rs__rules *r, const uint8_t *buf, size_t len,
                    size_t *pos, uint32_t *number, unsigned *wt,
                    const char **why) {
  uint64_t tag;
  size_t n = varint_rt(r, buf + *pos, len - *pos, &tag);
  if (n == 0 || n == SIZE_MAX) {
    *why = n == 0 ? "truncated tag" : "tag longer than 10 bytes";
    return -1;
  }
  if (r->tag_strict) {
    /* Go: the number from all 64 bits, within 1..2^29-1. */
    if ((tag >> 3) == 0 || (tag >> 3) > 536870911u) {
      *why = (tag >> 3) == 0 ? "field number 0"
                             : "field number past 2^29-1, which Go refuses";
      return -1;
    }
  } else {
    /* C++, Java, Python: a 32-bit tag; its number is never past 2^29-1. */
    tag &= 0xffffffffu;
    if ((tag >> 3) == 0) {
      *why = "field number 0";
      return -1;
    }
  }
  *number = (uint32_t)(tag >> 3);
  *wt = (unsigned)(tag & 7);
  *pos += n;
  return 0;
}

size_t rs__early_end(const rs__rules *r, const uint8_t *buf, size_t len) {
  if (r == NULL || !r->early_end) return len;
  size_t pos = 0;
  while (pos < len) {
    uint64_t tag;
    size_t n = varint_at(buf + pos, len - pos, &tag);
    /* A tag C++ cannot read fails the parse: no early end. */
    if (n == 0 || n > 5) return len;
    tag &= 0xffffffffu;
    if (tag == 0 || (tag & 7) == RS__WT_EGROUP) return pos;
    rs__wfield f;
    const char *why;
    if (rs__read_field_rt(r, buf, len, &pos, &f, &why) != 0) return len;
  }
  return len;
}

/* Skips one field's value of wire type wt at *pos (groups to their end,
 * nested at most `levels` deep; *body_end, when not NULL, is where a
 * group's end-group tag starts); -1 with why. */
static int skip_value(const rs__rules *r, const uint8_t *buf, size_t len,
                      size_t *pos, uint32_t number, unsigned wt,
                      unsigned levels, size_t *body_end, const char **why) {
  uint64_t v;
  size_t n;
  switch (wt) {
    case RS__WT_VARINT:
      n = varint_rt(r, buf + *pos, len - *pos, &v);
      if (n == 0 || n == SIZE_MAX) {
        *why = n == 0 ? "truncated varint"
                      : "varint longer than 10 bytes, or past 64 bits";
        return -1;
      }
      *pos += n;
      return 0;
    case RS__WT_I64:
    case RS__WT_I32:
      n = wt == RS__WT_I64 ? 8 : 4;
      if (len - *pos < n) {
        *why = "truncated fixed-width value";
        return -1;
      }
      *pos += n;
      return 0;
    case RS__WT_LEN:
      n = varint_rt(r, buf + *pos, len - *pos, &v);
      if (n == 0 || n == SIZE_MAX) {
        *why = "truncated length";
        return -1;
      }
      if (v > len - *pos - n) {
        *why = "length runs past the end";
        return -1;
      }
      *pos += n + (size_t)v;
      return 0;
    case RS__WT_SGROUP:
      if (levels == 0) {
        *why = "groups nested deeper than the recursion limit";
        return -1;
      }
      for (;;) {
        if (*pos >= len) {
          *why = "group without its end-group tag";
          return -1;
        }
        uint32_t num;
        unsigned t;
        size_t tag_at = *pos;
        if (read_tag(r, buf, len, pos, &num, &t, why) != 0) return -1;
        if (t == RS__WT_EGROUP) {
          if (body_end != NULL) *body_end = tag_at;
          if (num != number) {
            *why = "end-group tag of another field";
            return -1;
          }
          return 0;
        }
        if (skip_value(r, buf, len, pos, num, t, levels - 1, NULL, why) != 0)
          return -1;
      }
    case RS__WT_EGROUP:
      *why = "end-group tag without its group";
      return -1;
    default:
      *why = "invalid wire type 6 or 7";
      return -1;
  }
}

int rs__read_field_rt(const rs__rules *r, const uint8_t *buf, size_t len,
                      size_t *pos, rs__wfield *f, const char **why) {
  if (r == NULL || r->pbc) return rs__read_field(buf, len, pos, f, why);
  size_t start = *pos, i = *pos;
  if (i >= len) {
    *why = "truncated tag";
    return -1;
  }
  uint32_t number;
  unsigned wt;
  if (read_tag(r, buf, len, &i, &number, &wt, why) != 0) {
    *pos = start;
    return -1;
  }
  f->tag_offset = start;
  f->number = number;
  f->wire_type = wt;
  f->value_offset = i;
  f->value = 0;
  size_t at = i;
  unsigned levels = r->nested_limit != 0 ? r->nested_limit : 0xffffffffu;
  size_t body_end = 0;
  if (skip_value(r, buf, len, &i, number, wt, levels, &body_end, why) != 0) {
    *pos = at;
    return -1;
  }
  switch (wt) {
    case RS__WT_VARINT: {
      size_t q = at;
      (void)rs__read_varint(buf, len, &q, &f->value);
      f->value_len = i - at;
      break;
    }
    case RS__WT_I64:
    case RS__WT_I32: {
      uint64_t v = 0;
      for (size_t k = 0; k < i - at; k++) v |= (uint64_t)buf[at + k] << (8 * k);
      f->value = v;
      f->value_len = i - at;
      break;
    }
    case RS__WT_LEN: {
      size_t q = at;
      uint64_t n = 0;
      (void)rs__read_varint(buf, len, &q, &n);
      f->value_offset = q;
      f->value_len = (size_t)n;
      f->value = n;
      break;
    }
    default: /* a group: its fields, up to its end-group tag */
      f->value_len = body_end - at;
      break;
  }
  f->end = i;
  *pos = i;
  return 0;
}

/* Whether buf holds a group: 1 at its top level (*at: the tag's offset),
 * 2 inside a length-delimited field that reads as a message, levels deep
 * at most; 0 none (malformed bytes: none found so far). */
static int holds_group(const uint8_t *buf, size_t len, size_t base,
                       unsigned levels, size_t *at) {
  size_t pos = 0;
  int nested = 0;
  size_t nested_at = 0;
  while (pos < len) {
    rs__wfield f;
    const char *why;
    if (rs__read_field_rt(&rules_cpp, buf, len, &pos, &f, &why) != 0)
      return nested;
    if (f.wire_type == RS__WT_SGROUP) {
      *at = base + f.tag_offset;
      return 1;
    }
    if (f.wire_type == RS__WT_LEN && levels > 0 && nested == 0 &&
        holds_group(buf + f.value_offset, f.value_len, base + f.value_offset,
                    levels - 1, &nested_at) != 0)
      nested = 2;
  }
  if (nested) *at = nested_at;
  return nested;
}

int rs__holds_group(const uint8_t *buf, size_t len, size_t *at) {
  return holds_group(buf, len, 0, 100, at);
}
