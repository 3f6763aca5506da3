/*
 * src/cli/cmd_inspect.c: `rollsafe inspect`, one record as one JSON
 * document: its framing, provenance and fields, what a reader makes of it,
 * and what a down-conversion to that reader's version gives.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <rollsafe/rollsafe.h>

#include "cli.h"
#include "input.h"
#include "opt.h"
#include "report/format_version.h"
#include "report/json_record.h"
#include "report/json_verdict.h"
#include "report/scan_report.h"
#include "targets.h"
#include "types.h"

#define CMD "inspect"

/*
 * Inputs longer than this are refused before decoding. Binary records may
 * exceed the codec's own limit, so that an oversized record gets its
 * verdict (over a limit) rather than an error; text takes more room.
 */
#define MAX_BINARY_INPUT (2 * RS_DEFAULT_MAX_RECORD_SIZE)
#define MAX_TEXT_INPUT (4 * RS_DEFAULT_MAX_RECORD_SIZE)

/* Values of "fields" shown by default (--max-fields). */
#define DEFAULT_MAX_FIELDS 1000

void cli_inspect_help(FILE *out) {
  static const char *const lines[] = {
      "usage: " CLI_PROGRAM " inspect [options] [FILE|-]",
      "",
      "Reads one record from FILE, or from standard input when FILE is '-'",
      "or absent, and prints one JSON document: its type, size, framing (raw",
      "or envelope), written format version, provenance and schema",
      "fingerprint (envelopes), the decoded fields, the verdict of a reader",
      "and, for a newer record, what a down-conversion to the reader's",
      "version gives.",
      "",
      "Options:",
      "  -t, --type TYPE          record type (default: the only registered",
      "                           type)",
      "      --hex                the input is hex text, as psql shows bytea",
      "                           (\\x0a03...) or without the \\x; whitespace",
      "                           is ignored",
      "      --base64             the input is base64 text (standard or",
      "                           URL-safe, padded or not); whitespace is",
      "                           ignored",
      "      --reader-version N   highest format version the reader knows",
      "                           (default: the one before the newest)",
      "      --reader-framing F   raw: plain protobuf code, which cannot read",
      "                           envelopes; envelope: code linked with",
      "                           rollsafe (default: as the reader's version",
      "                           is framed); confluent: code reading through",
      "                           Confluent's deserializer",
      CLI_READER_RUNTIME_HELP,
      CLI_RAW_WRITER_HELP,
      CLI_SCHEMA_ID_HELP,
      CLI_TYPES_HELP,
      "      --max-fields N       values shown in \"fields\" (default 1000; 0:",
      "                           all): each set field, each element of a",
      "                           repeated field and each unknown field counts",
      "                           one. What is left out is counted in",
      "                           \"fields_omitted\" and said on stderr",
      "                           (unless -q)",
      CLI_MAX_ALLOC_HELP,
      CLI_QUIET_HELP,
      "  -h, --help               show this help",
      "",
      "Exit status:",
      "  0  the reader reads the record correctly (ok, ignored_fields)",
      "  1  it does not (misread, unreadable, corrupt)",
      "  2  usage error: bad option, unknown type or version, bad hex or",
      "     base64",
      "  3  the input cannot be read",
      "  4  undetermined: the writer's meaning is unknown (raw bytes that",
      "     several versions explain with different values: give",
      "     --raw-writer N; or a version the registry lacks)",
  };
  for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
    fprintf(out, "%s\n", lines[i]);
}

typedef struct inspect_args {
  const char *type; /* NULL: the registry's only type */
  cli_input_format format;
  unsigned reader_version; /* 0: the one before the newest */
  rs_reader_framing framing;
  const char *path; /* NULL: standard input */
  int raw_writer;   /* -1: not given (auto), 0: auto, else the version */
  /* --schema-id, through the target options' parser */
  cli_target_args ids;
  int help;
  cli_types_args types;
  size_t max_fields; /* SIZE_MAX: all */
  size_t max_alloc;  /* 0: the codec's default */
} inspect_args;

enum {
  OPT_TYPE = 1,
  OPT_HEX,
  OPT_BASE64,
  OPT_READER_VERSION,
  OPT_READER_FRAMING,
  OPT_RAW_WRITER,
  OPT_HELP,
  OPT_MAX_FIELDS,
  OPT_MAX_ALLOC,
  OPT_SCHEMA_ID = CLI_TOPT_SCHEMA_ID,
  OPT_READER_RUNTIME = CLI_TOPT_READER_RUNTIME,
  OPT_READER_OPTION = CLI_TOPT_READER_OPTION
};

static const cli_opt_spec inspect_opts[] = {
    {OPT_TYPE, "type", 't', 1},
    {OPT_HEX, "hex", 0, 0},
    {OPT_BASE64, "base64", 0, 0},
    {OPT_READER_VERSION, "reader-version", 0, 1},
    {OPT_READER_FRAMING, "reader-framing", 0, 1},
    {OPT_RAW_WRITER, "raw-writer", 0, 1},
    {OPT_SCHEMA_ID, "schema-id", 0, 1},
    {OPT_READER_RUNTIME, "reader-runtime", 0, 1},
    {OPT_READER_OPTION, "reader-option", 0, 1},
    {OPT_MAX_FIELDS, "max-fields", 0, 1},
    {OPT_MAX_ALLOC, "max-alloc", 0, 1},
    {OPT_HELP, "help", 'h', 0},
    CLI_TYPES_OPT_SPECS,
};

static int parse_args(inspect_args *a, int argc, char **argv) {
  cli_opt_parser p;
  cli_opt_init(&p, inspect_opts, sizeof inspect_opts / sizeof inspect_opts[0],
               argc, argv, CMD);
  const char *value;
  int id;
  while ((id = cli_opt_next(&p, &value)) != CLI_OPT_END) {
    int taken = cli_types_opt(&a->types, id, value, CMD);
    if (taken == CLI_EXIT_USAGE) return CLI_EXIT_USAGE;
    if (taken == 1) continue;
    switch (id) {
      case CLI_OPT_ERROR:
        return CLI_EXIT_USAGE;
      case CLI_OPT_ARG:
        if (a->path != NULL)
          return cli_usage_error(CMD,
                                 "unexpected argument '%s': inspect "
                                 "reads one record",
                                 value);
        a->path = value;
        break;
      case OPT_TYPE:
        a->type = value;
        break;
      case OPT_HEX:
      case OPT_BASE64: {
        cli_input_format f = id == OPT_HEX ? CLI_INPUT_HEX : CLI_INPUT_BASE64;
        if (a->format != CLI_INPUT_BINARY && a->format != f)
          return cli_usage_error(CMD, "--hex and --base64 exclude each other");
        a->format = f;
        break;
      }
      case OPT_READER_VERSION:
        if (cli_opt_version(CMD, "--reader-version", value,
                            &a->reader_version) != 0)
          return CLI_EXIT_USAGE;
        break;
      case OPT_READER_FRAMING:
        if (strcmp(value, "raw") == 0)
          a->framing = RS_READER_FRAMING_RAW;
        else if (strcmp(value, "envelope") == 0)
          a->framing = RS_READER_FRAMING_ENVELOPE;
        else if (strcmp(value, "confluent") == 0)
          a->framing = RS_READER_FRAMING_CONFLUENT;
        else
          return cli_usage_error(CMD,
                                 "invalid --reader-framing '%s': expected "
                                 "raw, envelope or confluent",
                                 value);
        break;
      case OPT_SCHEMA_ID:
      case OPT_READER_RUNTIME:
      case OPT_READER_OPTION:
        if (cli_target_opt(&a->ids, id, value, CMD) != 1) return CLI_EXIT_USAGE;
        break;
      case OPT_RAW_WRITER:
        if (a->raw_writer >= 0)
          return cli_usage_error(CMD, "--raw-writer given twice");
        if (cli_opt_raw_writer(CMD, value, &a->raw_writer) != 0)
          return CLI_EXIT_USAGE;
        break;
      case OPT_MAX_FIELDS: {
        unsigned long n;
        if (cli_opt_number(CMD, "--max-fields", value, 0, 100000000, &n) != 0)
          return CLI_EXIT_USAGE;
        a->max_fields = n == 0 ? SIZE_MAX : (size_t)n;
        break;
      }
      case OPT_MAX_ALLOC:
        if (cli_opt_bytes(CMD, "--max-alloc", value, CLI_MIN_MAX_ALLOC,
                          CLI_MAX_MAX_ALLOC, &a->max_alloc) != 0)
          return CLI_EXIT_USAGE;
        break;
      case OPT_HELP:
        a->help = 1;
        break;
      default:
        return cli_usage_error(CMD, "unhandled option");
    }
  }
  return 0;
}

/* "a, b, c": the registry's record types, malloc'd; NULL when out of memory. */
static char *type_list(const rs_registry *reg) {
  size_t n = rs_registry_type_count(reg), size = 1;
  for (size_t i = 0; i < n; i++)
    size += strlen(rs_registry_type_name(reg, i)) + 2;
  char *s = malloc(size);
  if (s == NULL) return NULL;
  s[0] = '\0';
  for (size_t i = 0; i < n; i++) {
    if (i > 0) strcat(s, ", ");
    strcat(s, rs_registry_type_name(reg, i));
  }
  return s;
}

static int resolve_type(const rs_registry *reg, inspect_args *a) {
  if (a->type != NULL && rs_registry_newest(reg, a->type) != 0) return 0;
  if (a->type == NULL && rs_registry_type_count(reg) == 1) {
    a->type = rs_registry_type_name(reg, 0);
    return 0;
  }
  char *known = type_list(reg);
  if (a->type == NULL)
    cli_usage_error(CMD, "--type is needed: known record types: %s",
                    known ? known : "(out of memory)");
  else
    cli_usage_error(CMD, "unknown record type '%s': known record types: %s",
                    a->type, known ? known : "(out of memory)");
  free(known);
  return CLI_EXIT_USAGE;
}

/* Exit status for an error of the library that is not about the record. */
static int exit_for_error(const rs_error *err) {
  cli_error(CMD, "%s", err->message[0] ? err->message : rs_strerror(err->code));
  return err->code == RS_ENOMEM || err->code == RS_EIO ? CLI_EXIT_IO
                                                       : CLI_EXIT_USAGE;
}

static int out_of_memory(void) {
  cli_error(CMD, "out of memory");
  return CLI_EXIT_IO;
}

/*
 * "as_reader": rs_transcode() to the reader's version. Returns 0 with *out
 * set (a result also when the conversion is impossible), or an exit status.
 */
static int as_reader(json_t **out, const rs_registry *reg, const char *type,
                     unsigned version, const uint8_t *buf, size_t len,
                     const rs_options *opts) {
  rs_buf bytes = RS_BUF_INIT;
  rs_conversion *report = NULL;
  rs_error err = RS_ERROR_INIT;
  int rc = rs_transcode(&bytes, &report, reg, type, version, buf, len, NULL,
                        opts, &err);
  if (rc == RS_ENOMEM) {
    rs_conversion_free(report);
    rs_buf_dispose(&bytes, NULL);
    return out_of_memory();
  }

  rs_conversion_result result = RS_CONVERSION_IMPOSSIBLE;
  if (rc == 0)
    result = report != NULL ? rs_conversion_result_of(report)
                            : RS_CONVERSION_LOSSLESS;
  json_t *o = json_object();
  int failed =
      o == NULL || json_object_set_new(o, "version", json_integer(version)) ||
      json_object_set_new(o, "result",
                          json_string(rs_conversion_result_name(result))) ||
      json_object_set_new(o, "losses", rs__json_losses(report)) ||
      json_object_set_new(
          o, "kept_unknown",
          json_integer(
              (json_int_t)(report ? rs_conversion_kept_unknown(report) : 0))) ||
      (rc == 0 &&
       json_object_set_new(o, "bytes", json_integer((json_int_t)bytes.len))) ||
      (rc != 0 && json_object_set_new(o, "error", rs__json_error(&err)));
  rs_conversion_free(report);
  rs_buf_dispose(&bytes, NULL);
  if (failed) {
    json_decref(o);
    return out_of_memory();
  }
  *out = o;
  return 0;
}

/* The fingerprint keys of an envelope; absent fingerprint: both null. */
static int add_fingerprint(json_t *doc, const rs_registry *reg,
                           const char *type, const rs_record *rec) {
  size_t fp_len = 0;
  const uint8_t *fp = rs_record_fingerprint(rec, &fp_len);
  if (fp == NULL)
    return json_object_set_new(doc, "fingerprint", json_null()) ||
           json_object_set_new(doc, "fingerprint_matches", json_null());
  const uint8_t *expected =
      rs_registry_fingerprint(reg, type, rs_record_written_version(rec));
  int matches = expected != NULL && fp_len == RS_FINGERPRINT_LEN &&
                memcmp(fp, expected, RS_FINGERPRINT_LEN) == 0;
  return json_object_set_new(doc, "fingerprint", rs__json_hex(fp, fp_len)) ||
         json_object_set_new(doc, "fingerprint_matches", json_boolean(matches));
}

/* {"raw_writer", "basis", "candidates", "decided"}: how the writer whose
 * meaning the reader's view is compared with was determined. */
static json_t *writer_json(const rs_classification *cls, unsigned raw_writer) {
  json_t *candidates = json_array();
  uint64_t bits = rs_classification_writer_candidates(cls);
  for (unsigned v = 1; candidates != NULL && v <= 64; v++)
    if (bits >> (v - 1) & 1u)
      json_array_append_new(candidates, json_integer(v));
  if (candidates == NULL) return NULL;
  return json_pack(
      "{s:o,s:s,s:o,s:b}", "raw_writer",
      raw_writer ? json_integer(raw_writer) : json_string("auto"), "basis",
      rs_writer_basis_name(rs_classification_writer_basis(cls)), "candidates",
      candidates, "decided", rs_classification_decided(cls));
}

/* 1234567 as "1,234,567". */
static void thousands(char *out, size_t cap, size_t n) {
  char digits[32];
  int nd = snprintf(digits, sizeof digits, "%zu", n);
  size_t o = 0;
  for (int i = 0; i < nd && o + 1 < cap; i++) {
    if (i > 0 && (nd - i) % 3 == 0 && o + 2 < cap) out[o++] = ',';
    out[o++] = digits[i];
  }
  out[o] = '\0';
}

/* The sentence that says how many values "fields" leaves out. */
static void omitted_text(char *out, size_t cap, size_t omitted) {
  char n[40];
  thousands(n, sizeof n, omitted);
  snprintf(out, cap,
           "... %s more field%s not shown; --max-fields raises the limit", n,
           omitted == 1 ? "" : "s");
}

/* "fields" (at most max_fields values), "fields_omitted" and, when some
 * are, "fields_truncated" saying so. Nonzero when out of memory. */
static int add_fields(json_t *doc, const rs_record *rec, size_t max_fields,
                      size_t *omitted) {
  *omitted = 0;
  json_t *fields = rec ? rs__json_message_limited(rs_record_message(rec),
                                                  max_fields, omitted)
                       : json_null();
  if (json_object_set_new(doc, "fields", fields) ||
      json_object_set_new(doc, "fields_omitted",
                          json_integer((json_int_t)*omitted)))
    return -1;
  if (*omitted == 0) return 0;
  char text[128];
  omitted_text(text, sizeof text, *omitted);
  return json_object_set_new(doc, "fields_truncated", json_string(text));
}

/*
 * Builds the document. Returns 0 with *out, *verdict and *decided set, or
 * an exit status after printing why.
 */
static int build_document(json_t **out, rs_verdict *verdict, int *decided,
                          size_t *omitted, const rs_registry *reg,
                          const inspect_args *a, const uint8_t *buf,
                          size_t len) {
  rs_classification *cls = NULL;
  rs_record *rec = NULL;
  json_t *doc = NULL;
  rs_error err = RS_ERROR_INIT;
  int status = 0;

  rs_reader reader = RS_READER_INIT;
  reader.format_version = a->reader_version;
  reader.framing = a->framing;
  reader.raw_writer = a->raw_writer > 0 ? (unsigned)a->raw_writer : 0;
  status = cli_runtime_resolve(&reader, &a->ids.runtime, NULL, NULL, NULL, NULL,
                               CMD);
  if (status != 0) goto done;
  rs_options opts = RS_OPTIONS_INIT;
  opts.schema_ids = a->ids.schema_ids;
  opts.n_schema_ids = a->ids.n_schema_ids;
  opts.max_alloc = a->max_alloc;
  if (rs_classify(&cls, reg, a->type, &reader, buf, len, &opts, &err) != 0) {
    status = exit_for_error(&err);
    goto done;
  }
  unsigned reader_version = rs_classification_reader_version(cls);

  rs_error decode_err = RS_ERROR_INIT;
  int drc = rs_decode(&rec, reg, a->type, buf, len, &opts, &decode_err);
  if (drc == RS_ENOMEM) {
    status = out_of_memory();
    goto done;
  }

  /* Without a decoded record, what the classification saw is all we know. */
  rs_encoding encoding =
      rec ? rs_record_encoding(rec) : rs_classification_encoding(cls);
  unsigned written = rec ? rs_record_written_version(rec)
                         : rs_classification_written_version(cls);
  const rs_provenance *prov =
      rec ? rs_record_provenance(rec) : rs_classification_provenance(cls);

  const char *framing_name =
      a->framing == RS_READER_FRAMING_RAW         ? "raw"
      : a->framing == RS_READER_FRAMING_ENVELOPE  ? "envelope"
      : a->framing == RS_READER_FRAMING_CONFLUENT ? "confluent"
      : rs_registry_encoding(reg, a->type, reader_version) == RS_ENCODING_RAW
          ? "raw"
          : "envelope";

  uint32_t schema_id = 0;
  doc = json_object();
  if (doc == NULL ||
      json_object_set_new(doc, "format_version",
                          json_integer(RS_REPORT_FORMAT_VERSION)) ||
      json_object_set_new(doc, "command", json_string("inspect")) ||
      json_object_set_new(doc, "rollsafe_version", json_string(rs_version())) ||
      json_object_set_new(doc, "type", json_string(a->type)) ||
      json_object_set_new(doc, "size", json_integer((json_int_t)len)) ||
      json_object_set_new(
          doc, "framing",
          encoding ? json_string(rs_encoding_name(encoding)) : json_null()) ||
      json_object_set_new(doc, "written_version",
                          written ? json_integer(written) : json_null()) ||
      json_object_set_new(doc, "schema_id",
                          rs_classification_schema_id(cls, &schema_id)
                              ? json_integer(schema_id)
                              : json_null()))
    goto oom;
  if (encoding == RS_ENCODING_ENVELOPE) {
    if (json_object_set_new(doc, "provenance",
                            prov ? rs__json_provenance(prov) : json_null()))
      goto oom;
    if (rec != NULL &&
        (add_fingerprint(doc, reg, a->type, rec) ||
         json_object_set_new(
             doc, "payload_offset",
             json_integer((json_int_t)rs_record_payload_offset(rec)))))
      goto oom;
  }
  if (add_fields(doc, rec, a->max_fields, omitted) ||
      (rec == NULL &&
       json_object_set_new(doc, "error", rs__json_error(&decode_err))) ||
      json_object_set_new(doc, "verdict",
                          rs__json_verdict(cls, framing_name)) ||
      json_object_set_new(doc, "writer", writer_json(cls, reader.raw_writer)))
    goto oom;
  /* The reader's runtime as every report names it: {name, options}. */
  if (json_object_set_new(json_object_get(doc, "verdict"), "reader_runtime",
                          rs__json_runtime(&reader)))
    goto oom;

  /* The decoded record is all in "fields" now: its memory is given back
   * before the conversion takes its own. */
  int convert = rec != NULL && written > reader_version;
  rs_record_free(rec);
  rec = NULL;
  if (convert) {
    json_t *conv = NULL;
    status = as_reader(&conv, reg, a->type, reader_version, buf, len, &opts);
    if (status != 0) goto done;
    if (json_object_set_new(doc, "as_reader", conv)) goto oom;
  }

  *verdict = rs_classification_verdict(cls);
  *decided = rs_classification_decided(cls);
  *out = doc;
  doc = NULL;
  goto done;

oom:
  status = out_of_memory();
done:
  json_decref(doc);
  rs_record_free(rec);
  rs_classification_free(cls);
  return status;
}

int cli_inspect_run(int argc, char **argv) {
  inspect_args a;
  memset(&a, 0, sizeof a);
  a.format = CLI_INPUT_BINARY;
  a.framing = RS_READER_FRAMING_DEFAULT;
  a.raw_writer = -1;
  a.ids.runtime = (cli_runtime_args)CLI_RUNTIME_ARGS_INIT;
  a.max_fields = DEFAULT_MAX_FIELDS;
  int status = parse_args(&a, argc, argv);
  if (status != 0) return status;
  if (a.help) {
    cli_inspect_help(stdout);
    return cli_finish_stdout(CMD, CLI_EXIT_CLEAN);
  }

  cli_types types;
  rs_registry *reg = NULL;
  uint8_t *buf = NULL;
  size_t len = 0;
  json_t *doc = NULL;

  if (a.types.n_schemas > 0 && a.type == NULL) {
    memset(&types, 0, sizeof types);
    status = cli_usage_error(CMD, "--schema needs --type, the record type");
    goto done;
  }
  cli_type_request req = {a.type, a.types.schemas, a.types.n_schemas,
                          a.types.message, "--schema"};
  status = cli_types_build(&types, &req, a.types.n_schemas > 0 ? 1 : 0,
                           a.types.plugins, a.types.n_plugins, NULL, 0, NULL,
                           a.types.proto_paths, CMD);
  reg = types.registry;
  if (status != 0) goto done;
  if ((status = resolve_type(reg, &a)) != 0) goto done;
  unsigned newest = rs_registry_newest(reg, a.type);
  if (a.reader_version > newest) {
    status = cli_usage_error(CMD,
                             "reader version %u is not a format version "
                             "of %s (1..%u)",
                             a.reader_version, a.type, newest);
    goto done;
  }
  if (a.raw_writer > 0 &&
      (status = cli_check_raw_writer(CMD, NULL, "--raw-writer", a.type,
                                     (unsigned)a.raw_writer, newest)) != 0)
    goto done;

  status = cli_read_input(
      &buf, &len, CMD, a.path, a.format,
      a.format == CLI_INPUT_BINARY ? MAX_BINARY_INPUT : MAX_TEXT_INPUT);
  if (status != 0) goto done;

  rs_verdict verdict = RS_VERDICT_CORRUPT;
  int decided = 1;
  size_t omitted = 0;
  if ((status = build_document(&doc, &verdict, &decided, &omitted, reg, &a, buf,
                               len)) != 0)
    goto done;
  /* Where the reader's schema came from: the verdict's reader version. */
  json_int_t reader = json_integer_value(
      json_object_get(json_object_get(doc, "verdict"), "reader_version"));
  schema_origin origin;
  cli_types_origin(&types, a.type, (unsigned)reader, &origin);
  json_t *jorigin = schema_origin_json(&origin);
  if (jorigin == NULL || json_object_set_new(doc, "reader_schema", jorigin)) {
    cli_error(CMD, "out of memory");
    status = CLI_EXIT_IO;
    goto done;
  }

  errno = 0;
  if (json_dumpf(doc, stdout, JSON_INDENT(2)) != 0 || putchar('\n') == EOF) {
    cli_error(CMD, "cannot write to standard output: %s",
              errno ? strerror(errno) : "write error");
    status = CLI_EXIT_IO;
    goto done;
  }
  if (omitted > 0) {
    char text[128];
    omitted_text(text, sizeof text, omitted);
    cli_note(CMD, "%s", text);
  }
  if (!decided)
    cli_note(CMD,
             "undetermined: the writer's meaning is unknown (\"writer\" "
             "says why); give --raw-writer N for raw bytes, or register the "
             "version the envelope names");
  status = cli_finish_stdout(CMD, !decided ? CLI_EXIT_INCOMPLETE
                                  : verdict <= RS_VERDICT_IGNORED_FIELDS
                                      ? CLI_EXIT_CLEAN
                                      : CLI_EXIT_FOUND);

done:
  json_decref(doc);
  free(buf);
  cli_types_free(&types);
  return status;
}
