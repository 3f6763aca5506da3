/*
 * src/verify/fix.h: the fix engine. It reads a target's rows, and for each
 * record the reader cannot read correctly asks the codec for the bytes of
 * the target version, checks that the reader reads them, and hands
 * (key, old bytes, new bytes) batches to the store, which swaps them in by
 * compare-and-swap with a backup and the run's checkpoint in the same
 * transaction. Restore walks a run's backups the other way. Internal to
 * the CLI.
 *
 * Without `execute` nothing is written, not even the run and backup tables:
 * the dry run reads through a read-only store.
 */
#ifndef RS_VERIFY_FIX_H
#define RS_VERIFY_FIX_H

#include <signal.h>
#include <stdint.h>

#include <rollsafe/rollsafe.h>

#include "store/store.h"
#include "verify/scan.h"

/** What happened to one record (and what the report counts). */
typedef enum fix_outcome {
  FIX_CONVERTED = 0, /**< rewritten (dry run: would be), lossless */
  FIX_LOSSY,         /**< rewritten with --allow-lossy (dry run: would be) */
  FIX_LOSSY_SKIPPED, /**< lossy, left alone without --allow-lossy */
  FIX_IMPOSSIBLE,    /**< the target version cannot hold it: left alone */
  FIX_CORRUPT,       /**< no version decodes it: left alone */
  FIX_CHECK_FAILED, /**< the new bytes failed the reader's check: not written */
  FIX_CONFLICT,     /**< the row changed between read and write */
  FIX_RESTORED,     /**< restore: the original bytes are back */
  FIX_IN_FLIGHT,    /**< queues: a consumer held the message; revisited */
  FIX_GONE,         /**< queues: consumed (deleted, no longer pending) */
  FIX_DROPPED,      /**< stream files: left out of the new file */
  /**
   * The writer's meaning is unknown (rs_classification_decided() 0: raw
   * bytes several versions explain differently, or an envelope naming a
   * version the registry lacks): never rewritten, since a conversion would
   * guess the writer. --raw-writer settles raw records.
   */
  FIX_UNDETERMINED,
  /**
   * No key value names the row (a key with a NULL part: SQLite allows it):
   * a record the fix would rewrite, left alone, since a fix writes rows by
   * key. Named by position in samples.
   */
  FIX_UNNAMED,
  FIX_OUTCOME_COUNT
} fix_outcome;

/** "converted", "lossy", ...; static. */
const char *fix_outcome_name(fix_outcome o);

/** A record kept as an example of its outcome, with why. */
typedef struct fix_sample {
  char *key;
  unsigned key_parts; /**< as store_row.key_parts */
  int key_position;   /**< key_parts 0: the key is a position */
  char *why;          /**< what it loses, why it cannot be converted, ... */
} fix_sample;

typedef struct fix_options {
  const rs_registry *registry;
  const char *type;
  /** Resolved: version, framing and raw_writer (the caller records them
   * in the run's settings and takes them from there to resume). */
  rs_reader reader;
  /**
   * Confluent schema ids (rs_options.schema_ids) for reading records; with
   * a Confluent reader (reader.framing), new bytes are written in
   * Confluent framing with the one id mapped to to_version.
   */
  const rs_schema_id *schema_ids;
  size_t n_schema_ids;
  unsigned to_version; /**< the version records are rewritten as */
  /**
   * How the column holds records. A value is decoded before it is judged,
   * and a new record is written back in the form of the value it replaces
   * (colenc_variant): the compare-and-swap and the backup keep the stored
   * text as read, so a restore needs no encoding. A value not in the
   * encoding is corrupt, left alone.
   */
  colenc_kind column_encoding;
  int execute; /**< 0: dry run */
  int allow_lossy;
  size_t batch;              /**< rows per batch (and page) */
  double max_rate;           /**< rows per second at most; 0: no limit */
  unsigned max_passes;       /**< passes while conflicts remain (at least 1) */
  unsigned max_busy_retries; /**< retries of a batch that gave way */
  size_t max_samples;        /**< keys kept per outcome */
  /**
   * Execute: this target's part of the run. A new one (@p resume 0) is
   * created from it (its ids, target, table, key, column, to_version and
   * settings; counts and checkpoints start at zero); one loaded from the
   * runs table (@p resume 1) goes on from its pass, checkpoint and counts.
   * A restore: the fix's part, as loaded.
   */
  const store_run *run;
  int resume;
  /** Queue kinds: messages a consumer holds are in flight and revisited;
   * passes go on while any is left (up to max_passes or the deadline). */
  int queue;
  /** Queues: how long passes go on revisiting messages in flight (or in
   * conflict) after the first pass of this invocation ends, in seconds;
   * 0: not at all (one pass, and what remains is reported). */
  double in_flight_wait;
  /** verify_now_seconds() after which no new batch or pass starts; 0:
   * none. Reaching it leaves the run incomplete. */
  double deadline;
  /** Stream files: where the new file goes (NULL: "<file>.fixed"), and
   * whether records the reader still cannot read are left out of it. */
  const char *stream_output;
  int drop_unfixable;
  /**
   * A part of the target (fix --jobs, --shard): only the rows whose key
   * hashes (scan_key_hash, as scan --shard) to part_index modulo
   * part_count are read, judged, counted, written and verified; the
   * others are passed over. The parts of one split are disjoint and
   * cover the target, so each keeps its own run row, checkpoint, counts
   * and backups. part_count 0 or 1: every row.
   */
  unsigned part_index, part_count;
  volatile sig_atomic_t *interrupted;
  scan_progress_fn progress;
  void *progress_ctx;
} fix_options;

typedef struct fix_result {
  store_run run;      /**< the run (execute), as last saved */
  unsigned key_parts; /**< the store's key columns (store_key_parts) */
  int executed;
  int complete; /**< every pass and the verification ran to the end */
  int interrupted;
  int status; /**< STORE_OK or what stopped it */
  /** The store_fault that stopped it from outside the run (a lost
   * connection, a full disk), or STORE_FAULT_NONE; status is then
   * STORE_EBUSY and the run resumable */
  int fault;
  /** How many times a lost connection was made again and the run went
   * on from its last committed batch */
  unsigned reconnects;
  char error[512];
  uint64_t rows_read; /**< rows read, all passes */
  uint64_t passes;
  uint64_t counts[FIX_OUTCOME_COUNT];
  fix_sample *samples[FIX_OUTCOME_COUNT];
  size_t n_samples[FIX_OUTCOME_COUNT];
  uint64_t busy_retries; /**< steps that gave way and were tried again */
  /** What the fix's UPDATEs fire or apply on the target, with the rights
   * of the role it connects as (store_write_hooks): listed by the dry run
   * and the execute alike. Owned; n_hooks 0 when none. */
  store_hook *hooks;
  size_t n_hooks;
  int verified;       /**< the verification pass ran to the end */
  uint64_t remaining; /**< after it: records the reader still cannot read */
  uint64_t remaining_verdicts[RS_VERDICT_COUNT]; /**< decided records only */
  /** After it: records whose verdict is still not decided (not in
   * `remaining`). */
  uint64_t remaining_undetermined;
  double seconds;
  /** Queues: messages still in flight or in conflict after the last pass
   * (the passes ran out, or the deadline came): the run is incomplete. */
  uint64_t unsettled;
  /** The keys of the rows and messages the last pass left in conflict or
   * in flight (the first max_samples): what a later run must finish. */
  fix_sample *unsettled_keys;
  size_t n_unsettled_keys;
  int deadline_reached;
  /** Stream files: the new file (execute), and how the original ends. */
  char stream_output[4096];
  int has_framing;
  store_framing framing;
} fix_result;

/**
 * Runs a fix (or its dry run) on @p s: a read-only store for a dry run, a
 * writer store (store_open_writer) to execute. @p target names the run's
 * target in the runs table.
 * @return 0 (store problems and interruptions end the run with `status` /
 *         `interrupted` set), or RS_ENOMEM / RS_EINVAL from the codec
 */
int fix_target(fix_result *result, store *s, const store_target *target,
               const fix_options *options, rs_error *err);

/**
 * Fixes a stream file (@p s opened with store_open()): every record is
 * planned as in fix_target(); with `execute` the records go to a new file
 * beside the original (options->stream_output, default "<file>.fixed"),
 * converted where the reader cannot read them and copied as they are
 * otherwise (or left out with `drop_unfixable`), through a temporary
 * file, fsync and rename. The original is never written: it is the
 * backup. A truncated last record is never copied. The new file is then
 * read back and verified.
 */
int fix_stream(fix_result *result, store *s, const store_target *target,
               const fix_options *options, rs_error *err);

/**
 * Restores the fix's part options->run on writer store @p s: every backup
 * row whose table row still holds the fixed bytes gets its original bytes
 * back; others are conflicts (named as already restored where the row
 * holds the original bytes), or, for queues, gone or in flight, left
 * alone. The restore keeps its checkpoint and counts in the part's row
 * (restore_status, restore_checkpoint, restore_*): a restore that was
 * interrupted, failed or killed goes on from its checkpoint, with its
 * counts; one that ended starts a new restore from the first backup row.
 * Without `execute` each page of backup rows is checked against the table
 * (store_restore_check) and counted exactly as the execute would count it,
 * from where the execute would start, writing nothing.
 */
int fix_restore(fix_result *result, store *s, const fix_options *options,
                rs_error *err);

/**
 * Fills @p result as the report shows a part that is done already (a
 * resumed run's target that has nothing left to do): its recorded counts,
 * rows, passes and, where the verification pass ran, what remained; with
 * @p restore, its last restore's counts.
 */
void fix_result_from_run(fix_result *result, const store_run *run, int restore);

/** Whether the last restore of @p run stopped before its end (interrupted,
 * failed, or its process killed): a restore goes on from its checkpoint. */
int fix_restore_unfinished(const store_run *run);

/** A new run id: the UTC time and 24 random bits,
 * "20261126T103000Z-3f9a01". */
void fix_run_id_new(char out[40]);

void fix_result_dispose(fix_result *result);

/**
 * Adds the result of one part of a target (fix_options.part_count) to
 * @p into, the target's result so far (zeroed before the first part):
 * counts, rows and retries are summed; `complete`, `executed` and
 * `verified` hold when they hold for every part merged; the first error
 * is kept; samples and unsettled keys are merged in key order (an
 * integer key by its value) and cut to @p max_samples, as one fix of the
 * whole target keeps its first keys. @p from's samples, keys and hooks
 * move into @p into or are freed: @p from is left empty either way.
 * @p first: @p into holds nothing yet. @return 0 or RS_ENOMEM (@p into
 * then holds what was merged before, and @p from is still freed)
 */
int fix_result_merge(fix_result *into, fix_result *from, int first,
                     size_t max_samples);

/*
 * Planning for drivers of their own (Kafka topics, src/verify/kafka_fix.c):
 * the same plan as fix_target's for each record (the reader's verdict, the
 * conversion to options->to_version, lossy or not, the pre-write check of
 * safety promise 6), record by record.
 */
typedef struct fix_planner fix_planner;

/** A planner with its own copy of @p options (whose pointers it borrows).
 * 0 or RS_ENOMEM. Free with fix_planner_free(). */
int fix_planner_new(fix_planner **out, const fix_options *options,
                    rs_error *err);

/**
 * Plans one stored value: *oc is -1 when the reader reads it (nothing to
 * do), else a fix_outcome; for FIX_CONVERTED and FIX_LOSSY, *out and
 * *out_len are the bytes to write, valid until the next call. *why is the
 * reason of an outcome ("" when there is none), every loss of a lossy
 * conversion named, borrowed from the planner until the next call.
 * @return 0 or a codec error (RS_ENOMEM...).
 */
int fix_planner_plan(fix_planner *p, const uint8_t *value, size_t len,
                     const uint8_t **out, size_t *out_len, int *oc,
                     const char **why, rs_error *err);

/** The verification pass, one record: what the reader makes of @p value,
 * counted into @p r's remaining_verdicts or remaining_undetermined. */
int fix_planner_check(fix_planner *p, fix_result *r, const uint8_t *value,
                      size_t len, rs_error *err);

/** The verification pass is over: sets @p r's remaining and verified. */
void fix_planner_verified(fix_result *r);

/** Counts outcome @p oc of the record named @p key (one text key part) and
 * keeps it as a sample while options->max_samples allows. 0 or RS_ENOMEM. */
int fix_count(fix_result *r, const fix_options *options, fix_outcome oc,
              const char *key, const char *why);

void fix_planner_free(fix_planner *p);

#endif
