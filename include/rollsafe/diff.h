/*
 * rollsafe/diff.h: the schema guard. Compares protobuf schema versions in
 * the rollback direction: what does a reader built from an OLD schema make
 * of records written with a NEW one?
 *
 * Schemas come as FileDescriptorSets (`protoc --include_imports
 * --include_source_info --descriptor_set_out=FILE`) or as `.proto` files,
 * which are compiled with protoc. Each finding names a rule (a stable id),
 * a severity, the field path with numbers, a one-line message, and the
 * file:line:col of the declaration when the set carries source info.
 *
 * Each finding also carries its verdict: what a protobuf-c reader (the
 * default reader runtime) makes of a record that hits the change, in the
 * words of `rollsafe scan`: ok, ignored_fields, misread or unreadable; none
 * for changes of schema structure that no record shows.
 *
 * Severities follow from the verdict: error when such records are misread
 * or unreadable; otherwise warning (information the old code uses is
 * ignored, or a hazard outside this read: a number left free for reuse,
 * records written after the rollback that the new code rejects) or info
 * (wire-safe, worth knowing).
 */
#ifndef ROLLSAFE_DIFF_H
#define ROLLSAFE_DIFF_H

#include "common.h"
#include "classify.h"
#include "errors.h"

#ifdef __cplusplus
extern "C" {
#endif

/** How bad a finding is; higher is worse. */
typedef enum rs_diff_severity {
  RS_DIFF_INFO = 1,
  RS_DIFF_WARNING = 2,
  RS_DIFF_ERROR = 3
} rs_diff_severity;

/** What a reader makes of a record that hits a change (see rollsafe scan). */
typedef enum rs_diff_verdict {
  RS_DIFF_VERDICT_NONE = 0,           /**< no record shows the change */
  RS_DIFF_VERDICT_OK = 1,             /**< every value read as written */
  RS_DIFF_VERDICT_IGNORED_FIELDS = 2, /**< only fields it lacks differ */
  RS_DIFF_VERDICT_MISREAD = 3,        /**< a field it knows reads otherwise */
  RS_DIFF_VERDICT_UNREADABLE = 4      /**< its parse fails */
} rs_diff_verdict;

/*
 * The rules: id, usual verdict and severity, summary. A rule whose verdict
 * depends on the case (a packed field or not, a default or not, an enum
 * closed or open) gives its usual one here; each finding carries its own,
 * with the severity that follows from it.
 */
#define RS_DIFF_RULE_MAP(XX)                                                   \
  XX(FIELD_WIRE_TYPE_CHANGED, UNREADABLE, ERROR,                               \
     "a field's type changed to one of another wire type")                     \
  XX(FIELD_TYPE_INCOMPATIBLE, MISREAD, ERROR,                                  \
     "a field's type changed to one of the same wire type but another "        \
     "encoding")                                                               \
  XX(FIELD_TYPE_NARROWED, MISREAD, ERROR,                                      \
     "wire-compatible type change; values outside the old type's range are "   \
     "misread")                                                                \
  XX(FIELD_TYPE_SIGN_CHANGED, MISREAD, ERROR,                                  \
     "wire-compatible type change; some values change sign")                   \
  XX(FIELD_TYPE_COMPATIBLE, OK, INFO,                                          \
     "wire-compatible type change; every value is read the same")              \
  XX(FIELD_BYTES_TO_STRING, MISREAD, ERROR,                                    \
     "bytes written where the old reader expects a string")                    \
  XX(FIELD_BYTES_TO_MESSAGE, UNREADABLE, ERROR,                                \
     "bytes written where the old reader expects a message")                   \
  XX(FIELD_MESSAGE_TYPE_CHANGED, OK, INFO,                                     \
     "a field's message type changed to another message")                      \
  XX(FIELD_ENUM_TYPE_CHANGED, OK, INFO,                                        \
     "a field's enum type changed to another enum")                            \
  XX(FIELD_MADE_REPEATED, MISREAD, ERROR, "a singular field became repeated")  \
  XX(FIELD_MADE_SINGULAR, OK, INFO, "a repeated field became singular")        \
  XX(FIELD_PACKED_CHANGED, OK, INFO,                                           \
     "a repeated field's packed encoding changed")                             \
  XX(FIELD_NO_LONGER_REQUIRED, UNREADABLE, ERROR,                              \
     "a required field became optional")                                       \
  XX(FIELD_MADE_REQUIRED, OK, WARNING, "an optional field became required")    \
  XX(FIELD_PRESENCE_LOST, OK, INFO,                                            \
     "a field with presence became a proto3 field without presence")           \
  XX(FIELD_DEFAULT_CHANGED, MISREAD, ERROR, "a field's default value changed") \
  XX(FIELD_MOVED_INTO_ONEOF, OK, INFO, "a field moved into a oneof")           \
  XX(FIELD_MOVED_OUT_OF_ONEOF, MISREAD, ERROR, "a field moved out of a oneof") \
  XX(ONEOF_FIELD_ADDED, IGNORED_FIELDS, WARNING,                               \
     "a new field joined an existing oneof")                                   \
  XX(FIELD_ADDED, IGNORED_FIELDS, INFO,                                        \
     "a new field; the old reader ignores it")                                 \
  XX(FIELD_REQUIRED_ADDED, IGNORED_FIELDS, WARNING, "a new required field")    \
  XX(FIELD_DELETED, OK, INFO,                                                  \
     "a field was deleted, its number and name reserved")                      \
  XX(FIELD_DELETED_UNRESERVED, OK, WARNING,                                    \
     "a field was deleted without reserving its number and name")              \
  XX(REQUIRED_FIELD_DELETED, UNREADABLE, ERROR,                                \
     "a required field was deleted")                                           \
  XX(FIELD_RENAMED, OK, INFO,                                                  \
     "a field was renamed; number and type unchanged")                         \
  XX(FIELD_NUMBER_REUSED, MISREAD, ERROR,                                      \
     "a field number now holds another field")                                 \
  XX(FIELD_RENUMBERED, MISREAD, ERROR,                                         \
     "a field kept its name but changed number")                               \
  XX(MAP_KEY_TYPE_CHANGED, MISREAD, ERROR, "a map's key type changed")         \
  XX(MAP_VALUE_TYPE_CHANGED, MISREAD, ERROR, "a map's value type changed")     \
  XX(FIELD_MAP_CHANGED, OK, INFO,                                              \
     "a map became a repeated message field, or the reverse")                  \
  XX(ENUM_VALUE_ADDED, MISREAD, ERROR, "a new enum value")                     \
  XX(ENUM_VALUE_REMOVED, NONE, WARNING, "an enum value was removed")           \
  XX(ENUM_VALUE_RENAMED, OK, INFO,                                             \
     "an enum value was renamed; number unchanged")                            \
  XX(ENUM_VALUE_NUMBER_REUSED, MISREAD, ERROR,                                 \
     "an enum number now names another value")                                 \
  XX(MESSAGE_REMOVED, NONE, WARNING, "a message type was removed")             \
  XX(MESSAGE_RENAMED, NONE, INFO, "a message type was renamed")

/** The rules, in the table's order. */
typedef enum rs_diff_rule {
#define RS__DIFF_RULE_GEN(id, verdict, sev, summary) RS_DIFF_RULE_##id,
  RS_DIFF_RULE_MAP(RS__DIFF_RULE_GEN)
#undef RS__DIFF_RULE_GEN
      RS_DIFF_RULE_COUNT
} rs_diff_rule;

/** The rule's id, e.g. "FIELD_WIRE_TYPE_CHANGED" (static); NULL when out of
 * range. */
RS_EXTERN const char *rs_diff_rule_id(rs_diff_rule rule);

/** The rule's usual severity. */
RS_EXTERN rs_diff_severity rs_diff_rule_severity(rs_diff_rule rule);

/** The rule's usual verdict. */
RS_EXTERN rs_diff_verdict rs_diff_rule_verdict(rs_diff_rule rule);

/** The verdict's name as rollsafe scan spells it: "ok", "ignored_fields",
 * "misread", "unreadable"; "none" for RS_DIFF_VERDICT_NONE (static). */
RS_EXTERN const char *rs_diff_verdict_name(rs_diff_verdict verdict);

/** The rule's one-line summary (static). */
RS_EXTERN const char *rs_diff_rule_summary(rs_diff_rule rule);

/** The rule with that id, or -1 when there is none. */
RS_EXTERN int rs_diff_rule_from_id(const char *id);

/** "error", "warning" or "info" (static). */
RS_EXTERN const char *rs_diff_severity_name(rs_diff_severity severity);

/** The severity with that name, or 0 when there is none. */
RS_EXTERN int rs_diff_severity_from_name(const char *name);

/** 1 when @p date is a calendar date written YYYY-MM-DD, 0 otherwise. */
RS_EXTERN int rs_diff_date_valid(const char *date);

/** One schema version, loaded. Opaque; free with rs_diff_schema_free(). */
typedef struct rs_diff_schema rs_diff_schema;

/**
 * Loads a schema version: a serialized FileDescriptorSet, or a `.proto`
 * file compiled with `protoc --include_imports --include_source_info`
 * (protoc on PATH, or $PROTOC) with the file's directory and
 * @p include_dirs as import paths.
 *
 * The schema's own files are those no other file of the set imports (for a
 * `.proto`, the file itself); the others are imports.
 *
 * @param[out] out the schema, owned by the caller
 * @param path the file; messages and locations name it as given
 * @param include_dirs NULL-terminated extra import paths, or NULL
 * @return 0; RS_EIO (the file cannot be read, protoc cannot be run);
 *         RS_EDECODE (not a descriptor set, protoc rejected the .proto, a
 *         type name that does not resolve); RS_ELIMIT; RS_ENOMEM
 */
RS_EXTERN int rs_diff_schema_load(rs_diff_schema **out, const char *path,
                                  const char *const *include_dirs,
                                  rs_error *err);

/** The path the schema was loaded from (borrowed). */
RS_EXTERN const char *rs_diff_schema_path(const rs_diff_schema *schema);

/** Frees a schema; NULL is allowed. */
RS_EXTERN void rs_diff_schema_free(rs_diff_schema *schema);

#define RS_DIFF_OPTIONS_VERSION 2

/** Options of rs_diff_compare(); initialise with RS_DIFF_OPTIONS_INIT. */
typedef struct rs_diff_options {
  unsigned version; /**< RS_DIFF_OPTIONS_VERSION */
  /**
   * NULL-terminated list of root message types, or NULL for every message
   * of each newer schema's own files. Each entry is one name for every
   * version ("Order", matched as a full name or as the last components of
   * one, e.g. shop.v1.Order and shop.v2.Order), or one name per version
   * separated by ':' ("shop.v1.Order:shop.v2.Order"), oldest first. Only
   * these messages and what their fields reach are compared.
   */
  const char *const *types;
  /**
   * The old reader's runtime (classify.h): each finding's verdict and
   * message are what that runtime's generated code does with a record
   * that hits it. Version 2 of this struct, as is runtime_flags
   * (rs_runtime_flag: RS_RUNTIME_ALLOW_PARTIAL changes the required-field
   * rules).
   */
  rs_runtime runtime;
  unsigned runtime_flags;
} rs_diff_options;

#define RS_DIFF_OPTIONS_INIT \
  { RS_DIFF_OPTIONS_VERSION, NULL, RS_RUNTIME_PROTOBUF_C, 0u }

/** The findings of one comparison. Opaque; free with rs_diff_report_free(). */
typedef struct rs_diff_report rs_diff_report;

/** One finding, borrowed from its report. */
typedef struct rs_diff_finding rs_diff_finding;

/**
 * Compares every older schema (reader) with every newer one (writer):
 * schemas[i] reads what schemas[j] writes, for all i < j.
 *
 * Messages are matched between versions by full name; when a name is not
 * found, by the name relative to its file's package (shop.v1.Order and
 * shop.v2.Order are both "Order"). Types reached through fields are matched
 * through the fields, whatever their names.
 *
 * @param[out] out the report, owned by the caller
 * @param schemas the versions, oldest first; at least two
 * @param opts NULL for RS_DIFF_OPTIONS_INIT
 * @return 0; RS_EINVAL (fewer than two schemas, a malformed type list,
 *         unknown options version); RS_ENOTFOUND (a type not found or
 *         ambiguous in a version; the message lists what there is);
 *         RS_ENOMEM
 */
RS_EXTERN int rs_diff_compare(rs_diff_report **out,
                              const rs_diff_schema *const *schemas,
                              size_t n_schemas, const rs_diff_options *opts,
                              rs_error *err);

/** Frees a report; NULL is allowed. */
RS_EXTERN void rs_diff_report_free(rs_diff_report *report);

/** Number of findings, suppressed ones included. */
RS_EXTERN size_t rs_diff_report_count(const rs_diff_report *report);

/**
 * The i-th finding (borrowed, valid until the report is freed), ordered by
 * reader, writer, severity (worst first), file, line and path.
 */
RS_EXTERN const rs_diff_finding *rs_diff_report_get(
    const rs_diff_report *report, size_t i);

/** Whether a suppression applied, and how. */
typedef enum rs_diff_suppression_status {
  RS_DIFF_SUPPRESSION_USED = 1,   /**< in force, matched findings */
  RS_DIFF_SUPPRESSION_UNUSED = 2, /**< in force, matched nothing */
  RS_DIFF_SUPPRESSION_EXPIRED = 3 /**< past its date: suppresses nothing */
} rs_diff_suppression_status;

/**
 * Suppresses the findings of @p rule whose path matches @p path_glob
 * (fnmatch(3) pattern, `*` matching dots too) until @p expires, inclusive.
 * A suppressed finding stays in the report with the suppression's label and
 * reason. An expired suppression suppresses nothing, but still counts what
 * it matches.
 *
 * @param rule a rule id, or "*" for every rule
 * @param reason why; not empty
 * @param expires the last day it applies, YYYY-MM-DD
 * @param today the date to judge expiry by, YYYY-MM-DD
 * @param label names the suppression in reports (e.g. "rollsafe.yaml:12:7");
 *        copied
 * @param[out] matched findings it matches (not counting those an earlier
 *        suppression took); may be NULL
 * @param[out] status used, unused or expired; may be NULL
 * @return 0; RS_EINVAL (unknown rule, empty reason or glob, a date that is
 *         not YYYY-MM-DD); RS_ENOMEM
 */
RS_EXTERN int rs_diff_report_suppress(rs_diff_report *report, const char *rule,
                                      const char *path_glob, const char *reason,
                                      const char *expires, const char *today,
                                      const char *label, size_t *matched,
                                      rs_diff_suppression_status *status,
                                      rs_error *err);

/** The finding's rule. */
RS_EXTERN rs_diff_rule rs_diff_finding_rule(const rs_diff_finding *f);

/** The finding's severity. */
RS_EXTERN rs_diff_severity rs_diff_finding_severity(const rs_diff_finding *f);

/** The field path, e.g. "shop.v2.Order.deliver_by(9)" (borrowed). */
RS_EXTERN const char *rs_diff_finding_path(const rs_diff_finding *f);

/** What a protobuf-c reader makes of a record that hits it; the severity
 * follows from it (error for misread and unreadable, and only then). */
RS_EXTERN rs_diff_verdict rs_diff_finding_verdict(const rs_diff_finding *f);

/** One line saying what the old reader makes of it (borrowed). */
RS_EXTERN const char *rs_diff_finding_message(const rs_diff_finding *f);

/**
 * The file of the declaration (the newer version's, or the older one's
 * for what was deleted), as a path usable from the working directory when
 * the schema was a .proto; the file's name in the set otherwise. Borrowed.
 */
RS_EXTERN const char *rs_diff_finding_file(const rs_diff_finding *f);

/** 1-based line of the declaration; 0 when the set has no source info. */
RS_EXTERN unsigned rs_diff_finding_line(const rs_diff_finding *f);

/** 1-based column of the declaration; 0 when unknown. */
RS_EXTERN unsigned rs_diff_finding_column(const rs_diff_finding *f);

/** Index in the schemas array of the reader (older) version. */
RS_EXTERN size_t rs_diff_finding_reader(const rs_diff_finding *f);

/** Index in the schemas array of the writer (newer) version. */
RS_EXTERN size_t rs_diff_finding_writer(const rs_diff_finding *f);

/** The label of the suppression that took the finding, or NULL. */
RS_EXTERN const char *rs_diff_finding_suppressed_by(const rs_diff_finding *f);

/** The reason of that suppression, or NULL. */
RS_EXTERN const char *rs_diff_finding_suppression_reason(
    const rs_diff_finding *f);

#ifdef __cplusplus
}
#endif
#endif
