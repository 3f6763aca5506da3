/*
 * Internal declarations shared by the codec modules. Non-static internal
 * names carry a double underscore (rs__) and are hidden from the shared
 * library.
 */
#ifndef RS_CODEC_INTERNAL_H
#define RS_CODEC_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>

#include <rollsafe/rollsafe.h>

#include "reason_codes.h"

/* ---- errors ------------------------------------------------------------ */

/* Fills err (when not NULL) and returns code. */
int rs__fail(rs_error *err, int code, size_t offset, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- allocation --------------------------------------------------------- */

extern const ProtobufCAllocator rs__malloc_allocator;

/* protobuf-c takes non-const allocators but never writes through them. */
#define RS__PA(a) ((ProtobufCAllocator *)(a))

static inline const ProtobufCAllocator *rs__allocator_or_default(
    const ProtobufCAllocator *a) {
  return a != NULL ? a : &rs__malloc_allocator;
}

/*
 * A per-call allocation budget wrapped around the caller's allocator. It
 * counts every byte requested; once over the limit it returns NULL and sets
 * `over`, so a failed protobuf-c unpack can be told apart from a real
 * out-of-memory (`oom`). Memory obtained through it is freed through the
 * backing allocator, which is what outlives the call.
 */
typedef struct rs__budget {
  ProtobufCAllocator allocator;
  const ProtobufCAllocator *backing;
  size_t limit;
  size_t used;
  bool over;
  bool oom;
} rs__budget;

void rs__budget_init(rs__budget *b, const ProtobufCAllocator *backing,
                     size_t limit);

/* A budget counts each allocation as at least this many bytes, and as the
 * request plus up to this many: what malloc's bookkeeping and an arena's
 * alignment add. */
#define RS__ALLOC_OVERHEAD ((size_t)32)

/*
 * Working memory that a phase of one call frees before the phase ends (a
 * comparison's occurrences and values, a decode only tried, an
 * explanation): what is left of the call's budget, and at least `floor`,
 * on malloc so that it is given back when freed (for a record of len bytes
 * up to RS__SMALL_RECORD, in the caller's arena). Since all of it is freed,
 * it is not added to the parent's count: the call's live memory stays
 * within the parent's limit (plus the floor). End it with rs__budget_end,
 * which marks the parent over when the phase went over.
 */
void rs__budget_sub(rs__budget *sb, const rs__budget *parent, size_t floor,
                    size_t len);
/* Records up to this size (bytes) keep a phase's working memory in the
 * caller's arena (rs__budget_sub). */
#define RS__SMALL_RECORD ((size_t)64 << 10)
int rs__budget_end(const rs__budget *sb, rs__budget *parent, int rc);

/*
 * The floor of a comparison's working memory for a record of len bytes:
 * small records are compared whatever the budget, so that a verdict does
 * not turn on how much the decode before the comparison took; large ones
 * are bounded by the budget. At most RS__SCRATCH_FLOOR_MAX.
 */
#define RS__SCRATCH_FLOOR_MAX RS_SCRATCH_FLOOR_MAX
static inline size_t rs__scratch_floor(size_t len) {
  return len < (RS__SCRATCH_FLOOR_MAX - 65536) / 128 ? 128 * len + 65536
                                                     : RS__SCRATCH_FLOOR_MAX;
}
void *rs__alloc(const ProtobufCAllocator *a, size_t size); /* zeroed */
void rs__free(const ProtobufCAllocator *a, void *p);
/* True for an arena's allocator: freeing a message through it is a walk of
 * the whole message that releases nothing, so it can be skipped. */
bool rs__frees_nothing(const ProtobufCAllocator *a);
char *rs__strdup(const ProtobufCAllocator *a, const char *s);
char *rs__sprintf(const ProtobufCAllocator *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
char *rs__vsprintf(const ProtobufCAllocator *a, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Makes room for n bytes, discarding the old contents. */
int rs__buf_reserve(rs_buf *buf, size_t n, const ProtobufCAllocator *a);

/*
 * Counts an allocation of size bytes against b as its allocator would,
 * without making it: for working memory kept on the stack where the same
 * code once allocated, so that what a budget allows stays what it was.
 * False (and b over) when it does not fit.
 */
bool rs__budget_charge(rs__budget *b, size_t size);

/* Returns the error code a failed allocation under this budget stands for. */
static inline int rs__budget_code(const rs__budget *b) {
  return b->over ? RS_ELIMIT : RS_ENOMEM;
}
int rs__budget_fail(const rs__budget *b, rs_error *err, const char *what);

/* The options with NULL replaced by defaults; checks the version. */
int rs__options(rs_options *out, const rs_options *in, rs_error *err);

/* ---- notes: reasons and losses ------------------------------------------ */

typedef struct rs__note {
  int kind; /* rs_verdict for reasons, rs_loss_kind for losses */
  uint32_t field;
  /* The number of the record's own field the path starts in (the first
   * field of the path; 0: the whole record, or not known). */
  uint32_t top;
  size_t offset;
  unsigned from, to;
  char *path;
  char *text;
  /* rs__reason_code: every reason has one, set where it is made from a
   * static table (no cost on the ok path); RS__RC_NONE for losses. */
  int code;
} rs__note;

struct rs_reason {
  rs__note n;
};
struct rs_loss {
  rs__note n;
};

typedef struct rs__notes {
  const ProtobufCAllocator *a;
  rs__note *items;
  size_t n, cap, max, omitted;
  /* The record's fields (rs__note.top) of the notes left out of a full
   * list whose kind is track_from or worse, each once (INT_MAX, the
   * default: none); past RS_MAX_OMITTED_FIELDS, omitted_tops_over. */
  int track_from;
  uint32_t omitted_tops[RS_MAX_OMITTED_FIELDS];
  size_t n_omitted_tops;
  bool omitted_tops_over;
} rs__notes;

void rs__notes_init(rs__notes *ns, const ProtobufCAllocator *a, size_t max);
void rs__notes_dispose(rs__notes *ns, const ProtobufCAllocator *a);
/* code: an rs__reason_code for reasons, RS__RC_NONE for losses; top: the
 * record's field the path starts in (rs__note.top). */
int rs__notes_add(rs__notes *ns, int kind, int code, const char *path,
                  uint32_t top, uint32_t field, size_t offset, const char *fmt,
                  ...) __attribute__((format(printf, 8, 9)));
int rs__notes_vadd(rs__notes *ns, int kind, int code, const char *path,
                   uint32_t top, uint32_t field, size_t offset, const char *fmt,
                   va_list ap) __attribute__((format(printf, 8, 0)));
/* rs__notes_add with a finished text, copied as it is. */
int rs__notes_add_text(rs__notes *ns, int kind, int code, const char *path,
                       uint32_t top, uint32_t field, size_t offset,
                       const char *text);
int rs__notes_worst(const rs__notes *ns);
/* True when a note of this kind would be dropped by a full list, which
 * then counts it as omitted (and its record's field, top): the caller need
 * not write its text. */
bool rs__notes_skip(rs__notes *ns, int kind, uint32_t top);
void rs__notes_sort(rs__notes *ns);

/* A field path under construction: "items[3].unit_price_cents(3)". */
typedef struct rs__path {
  char buf[512];
  size_t len;
} rs__path;

size_t rs__path_push_field(rs__path *p, const char *name, uint32_t number);
size_t rs__path_push_index(rs__path *p, const char *name, size_t index);
static inline void rs__path_pop(rs__path *p, size_t mark) {
  p->len = mark;
  p->buf[mark] = '\0';
}

/* ---- the reader's runtime (rules.c)
 * -------------------------------------------
 *
 * What a runtime's generated code does with bytes, as data: the comparison
 * (compare.c) and the quick walk (quick.c) read these instead of branching
 * on the runtime. Each row is checked against the runtime itself by the
 * differential suite (tests/differential/test_runtimes.py).
 */
typedef enum rs__ext_reading {
  /* Kept as an unknown field: protobuf-c (protoc-c generates nothing for
   * `extend`), Java parsing without an ExtensionRegistry. */
  RS__EXT_UNKNOWN = 0,
  /* Parsed as a field: C++ and Go with the declaring file's generated
   * code linked in or imported, Python with its module imported, Java
   * given an ExtensionRegistry that holds it. */
  RS__EXT_PARSED,
  /* Either, as the reader's code chooses (Java's parseFrom with or
   * without a registry): a record whose reading depends on it is
   * undetermined. */
  RS__EXT_EITHER
} rs__ext_reading;

typedef struct rs__rules {
  rs_runtime runtime;
  const char *name; /* "protobuf-c", "C++", "Java", "Go", "Python" */
  /* protobuf-c's own reading: tags as parse_tag_and_wiretype reads them,
   * no groups, merge_messages, a oneof's message member replaced. */
  bool pbc;
  /* A known field with another wire type goes to the unknown-field set
   * (else the parse fails); a bool takes any wire type when false and
   * pbc (parse_boolean). */
  bool wire_unknown;
  /* An unknown value of a closed enum goes to the unknown-field set, and
   * with it the whole entry of a map whose value it is (map_entry_drop)
   * or only the entry's value, which reads its default (else). */
  bool closed_enums;
  bool map_entry_drop;
  /* Invalid UTF-8 in a proto3 string fails the parse. */
  bool utf8_fails;
  /* A proto2 string holds U+FFFD for each invalid UTF-8 sequence. */
  bool utf8_replaces;
  /* A string key or value of a map entry must be UTF-8 in every syntax
   * (Java's MapEntryLite reads them with readStringRequireUtf8). */
  bool utf8_map_strict;
  /* A oneof's message member merges into its earlier value even when
   * another member was set in between (Java's builder for the member
   * outlives the switch). */
  bool oneof_stale_merge;
  /* A string ends at its first NUL (a C string). */
  bool c_strings;
  /* A missing required field fails the parse (else it reads unset). */
  bool required;
  /* Unknown fields are dropped (Go's DiscardUnknown): reasons say so. */
  bool discards_unknown;
  /* Messages that may nest within the record; 0: no limit of its own. */
  unsigned nested_limit;
  /* Go: field numbers past 2^29-1 fail the parse; the others read a
   * 32-bit tag, whose number never is. */
  bool tag_strict;
  /* What the reader does with an extension its version declares. */
  rs__ext_reading extensions;
  /* Python's C++ backend: a top-level tag of 0 or an end-group tag ends
   * the record without an error (MergeFromString warns "Unexpected
   * end-group tag" and keeps what it read); nested, it fails the parse. */
  bool early_end;
  /* Java's CodedInputStream: a ten-byte varint read as 64 bits (int64,
   * uint64, sint64, bool) has bit 63 set whatever its last byte holds. */
  bool varint64_bit63;
} rs__rules;

/* protobuf-c's rules: the default reader's. */
extern const rs__rules rs__rules_pbc;
/* The rules of runtime rt with its defaults (rt valid). */
const rs__rules *rs__rules_for(rs_runtime rt);

/* Where the runtime of r ends a record's bytes (rs__rules.early_end): the
 * offset of the top-level tag that ends it, else len. */
size_t rs__early_end(const rs__rules *r, const uint8_t *buf, size_t len);

/* The rules of a reader's runtime and options (rs_reader version 3; older
 * versions get protobuf-c's). 0 or RS_EINVAL (err says which option). */
int rs__rules_init(rs__rules *out, const rs_reader *reader, rs_error *err);

/* Levels of messages a walk with the record at level 1 allows for a limit
 * of max_depth messages nested within the record. */
static inline unsigned rs__levels(unsigned max_depth) {
  return max_depth < 0xffffffffu ? max_depth + 1 : max_depth;
}

/* ---- wire format --------------------------------------------------------- */

enum {
  RS__WT_VARINT = 0,
  RS__WT_I64 = 1,
  RS__WT_LEN = 2,
  RS__WT_SGROUP = 3,
  RS__WT_EGROUP = 4,
  RS__WT_I32 = 5
};

typedef struct rs__wfield {
  uint32_t number;
  unsigned wire_type;
  size_t tag_offset;   /* first byte of the tag */
  size_t value_offset; /* first byte of the value (after the length prefix) */
  size_t value_len;    /* bytes of the value; a group's: its fields */
  uint64_t value;      /* varint or fixed value */
  size_t end;          /* first byte after the field */
} rs__wfield;

/*
 * Reads one field at *pos as runtime `r` reads tags: protobuf-c's
 * (rs__read_field) or the others' (a tag of up to 10 bytes whose low 32
 * bits hold the number, or Go's 64; groups skipped as one field of wire
 * type 3 whose value is its fields, up to its end-group tag, and whose end
 * is past that tag). Returns as rs__read_field.
 */
int rs__read_field_rt(const rs__rules *r, const uint8_t *buf, size_t len,
                      size_t *pos, rs__wfield *f, const char **why);

/*
 * Whether bytes hold a group (wire type 3), read as runtimes that skip
 * groups read them: 1 at the top level, 2 only inside a length-delimited
 * field that reads as a message (at most 100 deep); 0 none. *at gets the
 * first group tag's offset.
 */
int rs__holds_group(const uint8_t *buf, size_t len, size_t *at);

/*
 * The message d's bytes as protobuf-c can unpack them: each group
 * (wire types 3 and 4) of a field d declares DELIMITED written as a
 * length-delimited field holding the group's fields, at any depth; a
 * group of a field number d does not declare left out, as an unknown
 * field of any other wire type is kept and ignored (protobuf-c keeps no
 * group). A group of a field d declares otherwise, or a length-delimited
 * occurrence of a DELIMITED one, is a field in a foreign wire type, which
 * fails the message as protobuf-c fails one (a nested message that fails
 * so is kept as it is, and fails protobuf-c's unpack). Nested messages
 * deeper than `levels` are kept as they are. With drop_foreign, every
 * known field in a wire type its type is not written in (packed or not) is
 * left out instead, at any depth, as the runtimes but protobuf-c keep it
 * unknown (rs__rules.wire_unknown). *out from a (free it), *out_len its
 * bytes. 0, RS_ENOMEM, or RS_EDECODE when the bytes are malformed or
 * foreign at their top level.
 */
int rs__degroup(uint8_t **out, size_t *out_len,
                const ProtobufCMessageDescriptor *d, const uint8_t *buf,
                size_t len, unsigned levels, bool drop_foreign,
                const ProtobufCAllocator *a);

/* Reads a varint at *pos; 0 ok, -1 truncated, -2 longer than 10 bytes. */
int rs__read_varint(const uint8_t *buf, size_t len, size_t *pos, uint64_t *out);
/*
 * Reads one field at *pos. Returns 0, or -1 with *why set to a static
 * explanation and *pos at the offending byte.
 */
int rs__read_field(const uint8_t *buf, size_t len, size_t *pos, rs__wfield *f,
                   const char **why);
/*
 * Whether protobuf-c can write a field with this number back: it keeps
 * unknown fields numbered 0 or 2^29 and up when reading, but packs their
 * tags wrongly, so such a field must never be carried into new bytes.
 */
static inline bool rs__number_writable(uint32_t n) {
  return n >= 1 && n <= 536870911u;
}
size_t rs__varint_size(uint64_t v);
size_t rs__put_varint(uint8_t *out, uint64_t v);
const char *rs__wire_type_name(unsigned wt);
/* The field of d numbered `number`, as protobuf-c's int_range_lookup
 * finds it; a message's ranges are few, so a linear look beats its binary
 * search. */
static inline const ProtobufCFieldDescriptor *rs__field_of(
    const ProtobufCMessageDescriptor *d, uint32_t number) {
  const ProtobufCIntRange *r = d->field_ranges;
  for (unsigned i = 0; i < d->n_field_ranges; i++) {
    uint32_t start = (uint32_t)r[i].start_value;
    uint32_t n = (uint32_t)(r[i + 1].orig_index - r[i].orig_index);
    if (number >= start && number - start < n)
      return &d->fields[(uint32_t)r[i].orig_index + (number - start)];
  }
  return NULL;
}

/* Wire type a field of this type is written with (unpacked). */
unsigned rs__field_wire_type(const ProtobufCFieldDescriptor *f);
/* Whether protobuf-c accepts wire type wt for field f (packed or not). */
bool rs__wire_type_ok(const ProtobufCFieldDescriptor *f, unsigned wt);
bool rs__is_packable(const ProtobufCFieldDescriptor *f);
const char *rs__type_name(ProtobufCType t);
/* Length of the longest valid UTF-8 prefix of s (len when all of it is). */
size_t rs__utf8_valid_prefix(const uint8_t *s, size_t len);
/* Whether a reader must find UTF-8 in this string field: proto3 strings
 * (RS_FIELD_FLAG_UTF8 from runtime schemas; LABEL_NONE from protoc-c). */
static inline bool rs__field_wants_utf8(const ProtobufCFieldDescriptor *f) {
  return f->type == PROTOBUF_C_TYPE_STRING &&
         !(f->reserved_flags & RS_FIELD_FLAG_NO_UTF8) &&
         ((f->reserved_flags & RS_FIELD_FLAG_UTF8) ||
          f->label == PROTOBUF_C_LABEL_NONE);
}

/*
 * Whether an enum field's enum is closed (proto2): from the flags runtime
 * schemas set; for protoc-c's descriptors, which carry none, a singular
 * field without a label (proto3) is open, one with a label closed, and a
 * repeated one is open when a sibling field has no label.
 */
static inline bool rs__enum_closed(const ProtobufCMessageDescriptor *d,
                                   const ProtobufCFieldDescriptor *f) {
  if (f->reserved_flags & RS_FIELD_FLAG_CLOSED_ENUM) return true;
  if (f->reserved_flags & RS_FIELD_FLAG_OPEN_ENUM) return false;
  if (f->label == PROTOBUF_C_LABEL_NONE) return false;
  if (f->label != PROTOBUF_C_LABEL_REPEATED || d == NULL) return true;
  for (unsigned i = 0; i < d->n_fields; i++)
    if (d->fields[i].label == PROTOBUF_C_LABEL_NONE) return false;
  return true;
}

/* Whether a field is a map: repeated entries of a map entry message. */
bool rs__is_map_field(const ProtobufCFieldDescriptor *f);
/* Whether a message is a map entry: named ...Entry, holding key = 1 and
 * value = 2 only (what protoc makes of map<K, V>). */
bool rs__is_map_entry(const ProtobufCMessageDescriptor *e);

/* A varint field's value as a reader of some type sees it. */
typedef struct rs__ival {
  bool neg;
  uint64_t mag;
} rs__ival;
bool rs__is_varint_type(ProtobufCType t);
rs__ival rs__varint_value(ProtobufCType t, uint64_t raw);
/* Encodes v for type t; false when t cannot represent it. */
bool rs__varint_encode(ProtobufCType t, rs__ival v, uint64_t *raw);
bool rs__ival_eq(rs__ival a, rs__ival b);
void rs__ival_format(rs__ival v, char *out, size_t n);

/*
 * Checks nesting depth and framing of the message fields protobuf-c will
 * recurse into. Returns 0, RS_ELIMIT (too deep) or RS_EDECODE, with err
 * naming the offset.
 */
int rs__check_depth(const ProtobufCMessageDescriptor *d, const uint8_t *buf,
                    size_t len, size_t base, unsigned depth, unsigned max_depth,
                    rs_error *err);

/* ---- envelope --------------------------------------------------------------
 */

typedef enum rs__env_status {
  RS__ENV_OK = 0,
  RS__ENV_MALFORMED = 1,  /* bytes that no envelope writer produced */
  RS__ENV_UNSUPPORTED = 2 /* a newer envelope this reader cannot read */
} rs__env_status;

typedef struct rs__envelope {
  unsigned major;
  size_t header_offset, header_len, payload_offset;
  char *record_type;
  unsigned format_version;
  bool has_provenance;
  char *flag_key, *variant, *writer_id;
  int64_t write_time_us;
  uint8_t fingerprint[32];
  size_t fingerprint_len;
} rs__envelope;

/*
 * Parses the envelope at the start of buf (the marker already seen). On
 * failure returns RS_EENVELOPE with err filled and *status telling malformed
 * from unsupported; RS_ENOMEM/RS_ELIMIT from the allocator. Strings are
 * allocated with a; release with rs__envelope_dispose.
 */
int rs__envelope_parse(rs__envelope *env, rs__env_status *status,
                       const uint8_t *buf, size_t len,
                       const ProtobufCAllocator *a, rs_error *err);
void rs__envelope_dispose(rs__envelope *env, const ProtobufCAllocator *a);
/* Header bytes for an envelope; returns the header's packed size. */
/* ---- Confluent framing (confluent.c) ----------------------------------- */

/* The mapping of h's schema id and path in o, or NULL. */
const rs_schema_id *rs__schema_id_lookup(const rs_options *o,
                                         const rs_confluent_header *h);
/* Every version o->schema_ids names is one of t's: 0 or RS_ENOTFOUND. */
struct rs__type;
int rs__check_schema_ids(const struct rs__type *t, const rs_options *o,
                         rs_error *err);
/* "[0]", "[1, 0]": h's message-index path. */
void rs__confluent_path_text(const rs_confluent_header *h, char *out,
                             size_t cap);
/* Writes payload (of format version `version`) in Confluent framing, with
 * the schema id and path o->schema_ids maps to that version (exactly one).
 * 0, RS_EINVAL, RS_ELIMIT or RS_ENOMEM. */
int rs__confluent_write(rs_buf *out, unsigned version,
                        const ProtobufCMessage *payload, const rs_options *o,
                        const ProtobufCAllocator *a, rs_error *err);

int rs__envelope_write(rs_buf *out, const char *type, unsigned version,
                       const rs_provenance *prov, const uint8_t *fingerprint,
                       size_t fingerprint_len, const ProtobufCMessage *payload,
                       size_t max_size, const ProtobufCAllocator *a,
                       rs_error *err);

/* A message's full name without the package components that name a
 * version (v1, v2, v1beta1: "shop.v2.Order" is "shop.Order"), into out
 * (cap bytes, NUL-terminated). scan's --schema and diff's --type match
 * message names across versions with it (src/schema/runtime.c). */
void rs__unversioned_name(const char *name, char *out, size_t cap);

/* ---- the quick walk (quick.c) ----------------------------------------------
 */

/* Set only by tests: rs_classify never takes the quick path, so that its
 * verdict-only answers can be compared with and without it. */
#define RS__OPT_NO_QUICK (1u << 30)

/* The value of e numbered `value`, or NULL; unlike
 * protobuf_c_enum_descriptor_get_value, right for values up to INT32_MAX. */
const ProtobufCEnumValue *rs__enum_value(const ProtobufCEnumDescriptor *e,
                                         int value);
bool rs__enum_known(const ProtobufCEnumDescriptor *e, int value);

/*
 * A message type's fields prepared for the quick walk: for each descriptor
 * reachable from a version's, what each field number is, which fields are
 * required, which enum defaults the descriptor lacks. Built once with the
 * registry, read-only after.
 */
#define RS__QUICK_MAX_FIELDS 255 /* more: the walk gives up */
#define RS__QDENSE 128           /* field numbers looked up by table */
/* What protobuf-c's unpack may allocate for each member it scans: past the
 * first 16 of a message, slabs of scanned members (at most 64 bytes a
 * member, counted for every member, a bound). */
#define RS__QSLAB 64

typedef struct rs__qplan rs__qplan;
typedef struct rs__qfield {
  uint8_t type;       /* ProtobufCType */
  uint8_t wt;         /* wire type of its unpacked form */
  uint8_t repeated;   /* label repeated */
  uint8_t alloc_each; /* bytes one occurrence may take: its array slot and
                         RS__QSLAB */
  uint8_t utf8;       /* bit 0: a proto3 string; bit 1: any string */
  uint8_t ranged;     /* a varint type narrower than 64 bits, or bool */
  uint8_t max1;       /* the largest one-byte varint in range */
  /* A oneof member: the other members of its oneof, as bits of the seen
   * fields (bit i: d->fields[i]); members are all among the first 64, else
   * the plan's oneof_unchecked is set. */
  uint64_t rivals;
  const ProtobufCEnumDescriptor *e; /* enums */
  uint64_t enum_small;              /* enums: bit v, value v is defined */
  const rs__qplan *sub;             /* messages */
} rs__qfield;
struct rs__qplan {
  const ProtobufCMessageDescriptor *d;
  rs__qfield *fields;         /* in d->fields order */
  uint16_t dense[RS__QDENSE]; /* field number -> index + 1; 0: none */
  uint64_t required[RS__QUICK_MAX_FIELDS / 64 + 1];
  uint64_t bad_default[RS__QUICK_MAX_FIELDS / 64 + 1];
  unsigned n_words;
  size_t fixed_alloc;   /* the message and its required-field bitmap */
  bool oneof_unchecked; /* a oneof member past the first 64 fields: strict
                           walks give up */
  bool usable;          /* at most RS__QUICK_MAX_FIELDS fields */
};
typedef struct rs__qplans {
  rs__qplan *plans; /* plans[0] is the root descriptor's */
  size_t n;
} rs__qplans;

/* 0 or RS_ENOMEM; free with rs__qplans_free and the same allocator. */
int rs__qplans_build(rs__qplans **out, const ProtobufCMessageDescriptor *d,
                     const ProtobufCAllocator *a);
void rs__qplans_free(rs__qplans *ps, const ProtobufCAllocator *a);

/*
 * True only if protobuf_c_message_unpack(root, buf, len) succeeds (root:
 * the descriptor the plans were built for), given *alloc bytes of memory
 * (an upper bound of what it allocates), nesting no deeper than max_depth
 * (the top message is level 1). With `clean`, also only if the message it
 * returns has no unknown field and no enum value its descriptor lacks, at
 * any level, every proto3 string (with all_utf8, every string) is UTF-8
 * and no string holds a NUL. Such bytes every runtime reads alike (fields
 * of their own wire types only, bools as varints, no singular message
 * twice). False means "not proven": the caller unpacks to find out.
 * Allocates nothing.
 */
bool rs__quick_unpacks(const rs__qplans *plans, const uint8_t *buf, size_t len,
                       unsigned max_depth, bool clean, bool all_utf8,
                       size_t *alloc);

/*
 * rs__quick_unpacks in its clean mode that also proves every varint in its
 * type's range (int32 and enums sign-extended 32-bit, uint32 and sint32
 * 32-bit, bool 0 or 1): true only if the version explains the bytes
 * (rs__explains) as far as its fields go. *top gets the top-level fields
 * present, bit i for the descriptor's fields[i] (its first 64).
 */
bool rs__quick_explains(const rs__qplans *plans, const uint8_t *buf, size_t len,
                        unsigned max_depth, bool all_utf8, size_t *alloc,
                        uint64_t *top);

typedef struct rs__quick_text {
  const char *p; /* into the record; NULL when empty (not recorded) */
  size_t n;
} rs__quick_text;

/* An envelope header as rs__envelope_parse would read it. */
typedef struct rs__quick_envelope {
  size_t header_offset, payload_offset;
  rs__quick_text record_type;
  unsigned format_version;
  bool has_provenance;
  rs__quick_text flag_key, variant, writer_id;
  int64_t write_time_us;
  uint8_t fingerprint[32];
  size_t fingerprint_len;
  size_t alloc; /* upper bound of what rs__envelope_parse allocates */
} rs__quick_envelope;

/*
 * True only if rs__envelope_parse succeeds on buf (an envelope of the
 * supported major version, no critical features) and reads what *e holds;
 * false means "not proven" (including every malformed or unsupported
 * envelope, and headers with repeated or unknown fields).
 */
bool rs__quick_envelope_parse(rs__quick_envelope *e, const uint8_t *buf,
                              size_t len);

/* ---- registry
 * ---------------------------------------------------------------- */

/*
 * Declares version @p version of @p type as a runtime that parses
 * extensions reads it (C++, Go, Python; Java given an ExtensionRegistry):
 * @p desc holds the extensions of its messages among their fields, laid
 * out after the fields of the version's own descriptor. The registry keeps
 * these versions apart (rs_registry.parsed), with the type's converters,
 * moved fields and enum maps; rs__registry_type_for() picks them. 0, or an
 * error of rs_registry_builder_add_version().
 */
int rs__registry_builder_add_parsed(rs_registry_builder *b, const char *type,
                                    unsigned version,
                                    const ProtobufCMessageDescriptor *desc,
                                    rs_encoding encoding, rs_error *err);

typedef struct rs__move {
  unsigned writer_version, reader_version;
  uint32_t writer_field, reader_field;
} rs__move;

typedef struct rs__conv {
  rs_converter c; /* handled_fields points into owned storage */
} rs__conv;

typedef struct rs__version {
  unsigned number;
  const ProtobufCMessageDescriptor *desc;
  rs_encoding encoding;
  uint8_t fingerprint[RS_FINGERPRINT_LEN];
  /* Deepest nesting a message of desc can have (1: no message fields); 0
   * when its types are recursive. Bounded and within max_depth, protobuf-c
   * cannot recurse too deep on any input: unknown fields are kept as bytes,
   * never parsed, so the depth pre-check is skipped. */
  unsigned static_depth;
  rs__qplans *plans; /* for the quick walk; NULL when out of memory */
  /* Its types reach a message field written as a group
   * (RS_FIELD_FLAG_DELIMITED), which protobuf-c cannot decode; a type
   * from an editions file (RS_FIELD_FLAG_EDITIONS), which protoc-c 1.4
   * cannot compile. */
  bool groups, editions;
  /* Its types reach a string field (which protobuf-c keeps as a C string:
   * rs__convert_nul_losses). */
  bool strings;
  /* Bit j: this version and version j + 1 read alike what both can have
   * written (rs__versions_agree), for versions 1..64. */
  uint64_t agrees;
  /* Bit j: this version and version j + 1 read alike raw bytes that both
   * explain and that hold none of `conflicts` at the top level. */
  uint64_t settles;
  uint32_t conflicts[32];
  size_t n_conflicts;
  /* Over this version's fields by index, when it has at most 64 (masks;
   * see rs__quick_explains' top-level presence): conflict_mask, the fields
   * among `conflicts`; excludes[j], the fields whose presence proves that
   * version j + 1 does not explain the bytes; never bit j, that version
   * j + 1 explains none of the bytes this version explains
   * (rs__explains_excludes), for versions 1..64. */
  bool masks;
  uint64_t conflict_mask;
  uint64_t never;
  uint64_t excludes[64];
} rs__version;

/* An enum_map entry: value `from` of enum `enum_name` becomes `to`. */
typedef struct rs__enum_map {
  char *enum_name; /* full name, of the source's or the target's enum */
  char *from, *to; /* value names */
} rs__enum_map;

typedef struct rs__type {
  char *name;
  rs__version *versions; /* versions[i].number == i + 1 once built */
  size_t n_versions, cap_versions;
  rs__conv *convs;
  size_t n_convs, cap_convs;
  rs__move *moves;
  size_t n_moves, cap_moves;
  rs__enum_map *enum_maps;
  size_t n_enum_maps, cap_enum_maps;
  /* Every pair of versions reads alike what both can have written
   * (rs__versions_agree): raw bytes a version explains mean the same to
   * every version that explains them. */
  bool raw_agree;
} rs__type;

struct rs_registry {
  const ProtobufCAllocator *a;
  rs__type *types; /* sorted by name */
  size_t n_types, cap_types;
  /* The types whose schemas extend their messages, as a runtime that
   * parses extensions reads them (rs__registry_builder_add_parsed); NULL
   * when there are none. */
  struct rs_registry *parsed;
};

const rs__type *rs__registry_type(const rs_registry *r, const char *name);
/* The type as the runtime of @p rules reads it: its parsed form when the
 * runtime parses extensions and the type has one. */
const rs__type *rs__registry_type_for(const rs_registry *r, const char *name,
                                      const rs__rules *rules);
const rs__version *rs__type_version(const rs__type *t, unsigned v);
const rs__conv *rs__type_converter(const rs__type *t, unsigned from,
                                   unsigned to);

void rs__fingerprint(const ProtobufCMessageDescriptor *d,
                     uint8_t out[RS_FINGERPRINT_LEN]);

/* ---- conversion
 * ---------------------------------------------------------------- */

struct rs_conversion {
  const ProtobufCAllocator *a;
  unsigned from, to;
  int result;
  size_t kept_unknown;
  rs__notes losses;
};

/*
 * Converts msg (version from of t) to version to, allocating through the
 * budget. *conv is always set when RS_OK or RS_ECONVERT is returned.
 */
int rs__convert(ProtobufCMessage **out, rs_conversion **conv, const rs__type *t,
                unsigned from, unsigned to, const ProtobufCMessage *msg,
                const rs_options *opts, rs__budget *budget, rs_error *err);

/*
 * Adds to *conv (made, lossless but for these, when NULL) a loss for each
 * string of payload p (n bytes, read as version `from` of t) that holds a
 * NUL: protobuf-c's message keeps it as a C string, which ends there, so
 * whatever is written from that message holds the text before the NUL
 * only. The losses are of the step from `from` to `to`. 0 or RS_ENOMEM.
 */
int rs__convert_nul_losses(rs_conversion **conv, const rs__type *t,
                           unsigned from, unsigned to, const uint8_t *p,
                           size_t n, const rs_options *opts,
                           rs__budget *budget);

/* ---- decoding
 * ---------------------------------------------------------------- */

/*
 * Unpacks a payload with d after the depth check, through the budget.
 * Returns 0, RS_EDECODE (err says why and where, offsets shifted by base),
 * RS_ELIMIT or RS_ENOMEM.
 */
int rs__unpack(ProtobufCMessage **out, const ProtobufCMessageDescriptor *d,
               const uint8_t *buf, size_t len, size_t base,
               const rs_options *opts, rs__budget *budget, rs_error *err);

/* rs__unpack with v's descriptor; skips the depth check when v's types
 * cannot nest deeper than opts->max_depth (rs__version.static_depth). */
int rs__unpack_version(ProtobufCMessage **out, const rs__version *v,
                       const uint8_t *buf, size_t len, size_t base,
                       const rs_options *opts, rs__budget *budget,
                       rs_error *err);

/* rs__unpack_version as the runtime of rules reads the writer's bytes
 * (NULL: protobuf-c): a runtime that keeps a known field of a foreign wire
 * type unknown (rs__rules.wire_unknown) decodes what protobuf-c fails on
 * such a field, without it (rs__degroup's drop_foreign). */
int rs__unpack_version_rt(ProtobufCMessage **out, const rs__version *v,
                          const uint8_t *buf, size_t len, size_t base,
                          const rs_options *opts, const rs__rules *rules,
                          rs__budget *budget, rs_error *err);

/* rs__unpack without the depth check, for bytes already walked with d. */
int rs__unpack_walked(ProtobufCMessage **out,
                      const ProtobufCMessageDescriptor *d, const uint8_t *buf,
                      size_t len, size_t base, const rs_options *opts,
                      rs__budget *budget, rs_error *err);

/* The writer's side of a stored record. */
typedef struct rs__written {
  rs_encoding encoding;  /* 0 when over the size limit */
  size_t header_offset;  /* envelopes */
  size_t payload_offset; /* 0 for raw records */
  /* Where the payload's bytes end for the runtime that read them: the
   * record's length, or where it ends the record early (rs__early_end). */
  size_t payload_end;
  unsigned number; /* the version the writer used (from the envelope) */
  const rs__version *version; /* NULL: the envelope names an unknown version */
  ProtobufCMessage *msg;      /* the payload as `version` decodes it */
  bool has_provenance;
  rs_provenance provenance; /* strings owned until taken */
  uint8_t fingerprint[32];
  size_t fingerprint_len;
  rs__env_status env_status; /* why RS_EENVELOPE (a foreign type: malformed) */
  bool has_confluent;        /* a well-formed Confluent header was read */
  rs_confluent_header confluent;
  bool framing_only; /* rs__read_framing: msg stays NULL */
} rs__written;

/*
 * Reads the writer's side of a record: the size limit, the framing, the
 * envelope header (filled in before any check fails, so provenance is there
 * even then), and the payload decoded as the version that wrote it. Raw
 * bytes are decoded as the oldest version that explains them (rs__explains),
 * failing that as the raw versions newest first, then the others; a
 * depth limit ends that search when limit_is_final, else the next version
 * is tried. Each version is read as the runtime of rules reads it
 * (rs__unpack_version_rt; NULL: protobuf-c). Returns 0 (version NULL when
 * the envelope names a version the registry lacks), RS_ELIMIT, RS_EENVELOPE,
 * RS_EDECODE (err: why the writer's version, or the first raw version tried,
 * fails) or RS_ENOMEM. Release with rs__written_dispose() what the caller did
 * not take.
 */
int rs__read_written(rs__written *w, const rs__type *t, const uint8_t *buf,
                     size_t len, const rs_options *o, const rs__rules *rules,
                     rs__budget *b, bool limit_is_final, rs_error *err);
/*
 * What rs__read_written reads but the payload: the size limit, the framing,
 * the envelope or Confluent header, where the payload begins and ends (as
 * the runtime of rules ends it), and the version the header names (raw
 * bytes: none). Nothing is decoded: msg stays NULL, and a payload its
 * version cannot read is not an error here. For a caller that reads the
 * payload its own way (a comparison walk, an unpack as another version).
 */
int rs__read_framing(rs__written *w, const rs__type *t, const uint8_t *buf,
                     size_t len, const rs_options *o, const rs__rules *rules,
                     rs__budget *b, rs_error *err);
void rs__written_dispose(rs__written *w, const ProtobufCAllocator *a);

/* ---- comparison (compare.c) ------------------------------------------------
 */

/*
 * What a reader sees against what the writer meant (the one definition of a
 * verdict): fill in, then rs__compare. Reasons go to `notes`, each text
 * after `prefix` (may be NULL); `worst` is the worst verdict noted.
 */
typedef struct rs__cmp {
  rs__notes *notes;
  const ProtobufCAllocator *a; /* scratch */
  rs__budget *budget;          /* a's budget, or NULL */
  const char *prefix;
  const char *reader_label; /* "version 1" */
  const char *writer_label;
  unsigned max_depth;
  const rs__type *type; /* for moved fields; NULL when not applicable */
  unsigned reader_version, writer_version;
  /* Top-level field numbers whose values a custom converter or a moved
   * field rewrote by meaning: the reader's own checks only (its conversion
   * report declares what they lose). */
  const uint32_t *skip;
  size_t n_skip;
  /* Offsets past this are not in the record (inside a message merged from
   * several occurrences): reported as RS_OFFSET_NONE. 0: no bound. */
  size_t end;
  int worst;
  int rc; /* sticky RS_ENOMEM / RS_ELIMIT */
  bool too_deep;
  /* The reader's runtime (NULL: protobuf-c). max_depth above is
   * rollsafe's own limit, in levels with the record at level 1; the
   * runtime's nested_limit may be lower. */
  const rs__rules *rules;
  /* rs__compare's working memory (compare.c); callers leave it NULL. */
  struct rs__cmp_pool *pool;
  /* The walk's field path (compare.c), where notes find the record's field
   * they are in (rs__note.top); callers leave it NULL. */
  const struct lpath *path;
  /* A note at least this bad ends the walk at the next field (0: never),
   * for callers to whom nothing the rest of the walk finds matters then;
   * `stopped` says it did. The walk must fit its budget all the same
   * (rs__compare_bound): over it, the record is over the limits. */
  int stop_at;
  bool stopped;
} rs__cmp;

/*
 * An upper bound of what rs__compare may allocate (as its budget counts
 * it: rs__budget) comparing payloads of at most len bytes each, with
 * messages nested at most `levels` deep in both versions' types
 * (rs__version.static_depth), for protobuf-c's rules. Saturates at
 * SIZE_MAX.
 */
size_t rs__compare_bound(size_t len, unsigned levels);

/*
 * Compares the writer's view of wb (descriptor W; NULL: judged by the
 * reader's descriptor alone) with the reader's view of rb (descriptor R).
 * For a scan both are the stored payload; for fix's pre-write check, wb is
 * the original and rb the new bytes. Bases shift offsets for reports.
 */
void rs__compare(rs__cmp *c, const ProtobufCMessageDescriptor *W,
                 const uint8_t *wb, size_t wlen, size_t wbase,
                 const ProtobufCMessageDescriptor *R, const uint8_t *rb,
                 size_t rlen, size_t rbase);

/* Whether a varint is one a writer of type t writes: int32 and enums
 * sign-extended 32-bit, uint32 and sint32 32-bit, bool 0 or 1, the rest
 * any. */
static inline bool rs__varint_in_type_range(ProtobufCType t, uint64_t raw) {
  switch (t) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_ENUM:
      return raw <= 0x7fffffffu || raw >= 0xffffffff80000000u;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_SINT32:
      return raw <= 0xffffffffu;
    case PROTOBUF_C_TYPE_BOOL:
      return raw <= 1;
    default:
      return true;
  }
}

/*
 * Whether version descriptor d can have written buf: it decodes with no
 * unknown field, every value in its type's range, every enum value
 * defined, every required field set, one member per oneof, no string
 * holding a NUL.
 */
bool rs__explains(const ProtobufCMessageDescriptor *d, const uint8_t *buf,
                  size_t len, unsigned max_depth);

/*
 * Whether two versions read alike every field that both can have written:
 * then raw bytes that both explain mean the same to both.
 */
bool rs__versions_agree(const ProtobufCMessageDescriptor *a,
                        const ProtobufCMessageDescriptor *b);

/*
 * Where two versions read differently only fields present in the bytes:
 * false when they may read alike-looking bytes differently even without
 * such a field (other defaults); else true, with the
 * top-level field numbers (at most cap) whose presence makes them read
 * differently.
 */
bool rs__versions_conflicts(const ProtobufCMessageDescriptor *a,
                            const ProtobufCMessageDescriptor *b, uint32_t *out,
                            size_t cap, size_t *n);

/*
 * What the presence of a top-level field of version a, in bytes a explains,
 * proves about version b: bit i of *mask, that b does not explain them
 * (field a->fields[i] is unknown to b, or no wire type both accept for it);
 * *never, that b explains no bytes a explains (b requires a field that a
 * lacks or holds only under other wire types). False when a has more than
 * 64 fields (nothing proved).
 */
bool rs__explains_excludes(const ProtobufCMessageDescriptor *a,
                           const ProtobufCMessageDescriptor *b, uint64_t *mask,
                           bool *never);

/* Whether buf has a top-level field numbered one of numbers[] (malformed
 * bytes: true). */
bool rs__has_field(const uint8_t *buf, size_t len, const uint32_t *numbers,
                   size_t n);

/* The first reason the reader d cannot read buf, as an error message; its
 * working memory within what b has left (else a plainer message). */
void rs__explain_unpack_failure(const ProtobufCMessageDescriptor *d,
                                const uint8_t *buf, size_t len, size_t base,
                                unsigned max_depth, const rs__budget *b,
                                rs_error *err);

#endif
