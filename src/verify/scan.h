/*
 * src/verify/scan.h: the scan engine. It reads one target's rows from a
 * store, asks the codec what the reader makes of each record, and keeps the
 * counts a report needs: per verdict, per writer (format version, flag,
 * variant) with first and last write time, and the first keys of each
 * verdict with their reasons. Internal to the CLI.
 *
 * Decoding uses an arena reset after every row: the hot path does no
 * malloc/free of its own. Memory held after a scan is bounded by the number
 * of distinct writers and the sample limit, not by the table size.
 */
#ifndef RS_VERIFY_SCAN_H
#define RS_VERIFY_SCAN_H

#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>

#include <rollsafe/rollsafe.h>

#include "store/store.h"
#include "verify/colenc.h"

/** Why a record is undetermined: which side of the comparison is unknown. */
typedef enum scan_undetermined_kind {
  SCAN_AMBIGUOUS_WRITER = 0,     /**< raw bytes several versions explain */
  SCAN_UNREGISTERED_VERSION = 1, /**< an envelope naming a version the
                                   registry lacks */
  SCAN_UNMAPPED_SCHEMA_ID = 2,   /**< a Confluent schema id (and message-index
                                    path) that no mapping names */
  SCAN_UNDECODED_GROUPS = 3,     /**< fields written as groups, which
                                    rollsafe cannot decode */
  SCAN_EXTENSION_FIELDS = 4,     /**< read otherwise with an
                                    ExtensionRegistry than without (Java) */
  SCAN_NO_READER = 5             /**< no reader of the version in the
                                    runtime (protobuf-c: editions, groups) */
} scan_undetermined_kind;

#define SCAN_UNDETERMINED_KINDS 6

/** "ambiguous_writer", "unregistered_version", "unmapped_schema_id",
 * "undecoded_groups", "extension_fields", "no_reader"; static. */
const char *scan_undetermined_name(scan_undetermined_kind kind);

/** Why a record whose writer was determined so is undetermined. */
scan_undetermined_kind scan_undetermined_of(rs_writer_basis basis);

/** Called now and then during a scan (at most every few thousand rows). */
typedef void (*scan_progress_fn)(void *ctx, uint64_t rows_read);

typedef struct scan_options {
  const rs_registry *registry;
  rs_reader reader;
  const rs_options *codec_options; /**< NULL: defaults (the arena is added) */
  /**
   * How the column holds records (COLENC_BINARY: the bytes themselves). A
   * value that is not in the encoding is a corrupt record whose reason
   * says why and at which offset of the stored text.
   */
  colenc_kind column_encoding;
  /**
   * Count only records whose provenance names this flag (NULL: all).
   * Records that carry no provenance (raw records, envelopes without one)
   * cannot be told apart by flag or time: they are judged and counted as
   * unattributed, never left out, so a filter never hides a finding.
   */
  const char *flag_key;
  /** ...and this variant (NULL: any variant of flag_key). */
  const char *flag_variant;
  /** Count only records whose envelope says they were written after this
   * time (microseconds since the epoch); 0: no filter. */
  int64_t written_after_us;
  /** Keys kept per verdict (with reasons) for the report. */
  size_t max_samples;
  /** Set by a signal handler: the scan stops at the next row. */
  volatile sig_atomic_t *interrupted;
  /** The same for a scan on a thread of its own (--jobs): set by another
   * thread, which a sig_atomic_t does not allow. NULL: none. */
  const atomic_int *stop;
  scan_progress_fn progress;
  void *progress_ctx;
  /**
   * --shard K/N: with shard_count > 1, only rows whose key hashes
   * (scan_key_hash) to shard_index modulo shard_count are judged and
   * counted; the others are read and passed over, as if absent.
   */
  unsigned shard_index, shard_count;
  /**
   * Writer groups kept apart before the rest share one (0: 256, what a
   * report shows). A part of a scan that is merged later keeps more
   * (SCAN_PART_WRITERS), so that the merge can keep apart the first 256
   * that the whole scan meets (scan_result_fold_writers).
   */
  size_t max_writers;
} scan_options;

/** scan_options.max_writers of a part of a scan: a range, a shard. */
#define SCAN_PART_WRITERS 4096

/** One reason of a sampled record (copied: owned by the result). */
typedef struct scan_reason {
  rs_verdict verdict;
  char *path;
  uint32_t field;
  size_t offset; /**< RS_OFFSET_NONE when unknown */
  char *text;
  const char *code; /**< rs_reason_code(): static, never NULL */
} scan_reason;

/** A record kept as an example of its verdict (or of being undetermined). */
typedef struct scan_sample {
  char *key;
  unsigned key_parts;       /**< as store_row.key_parts */
  int key_position;         /**< key_parts 0: the key is a position */
  unsigned written_version; /**< 0: unknown (corrupt) */
  rs_writer_basis basis;    /**< how the writer was determined */
  uint64_t candidates;      /**< bit v-1: version v explains the bytes */
  int has_schema_id;        /**< Confluent-framed: schema_id is its id */
  uint32_t schema_id;
  rs_verdict verdict; /**< undetermined records: the worst reading */
  char *flag_key;     /**< NULL when the record names none */
  char *variant;
  int64_t write_time_us; /**< 0: unknown */
  /** The row's place in the scan: rows the store gave before it (those
   * of other shards included), for merging parts of one scan in order. */
  uint64_t position;
  scan_reason *reasons;
  size_t n_reasons;
  size_t reasons_omitted;
} scan_sample;

/**
 * Records grouped by who wrote them: format version and framing, the
 * Confluent schema id, flag and variant from the provenance (NULL for
 * records that carry none).
 */
typedef struct scan_writer {
  unsigned version; /**< 0: corrupt records, whose writer is unknown */
  rs_encoding encoding;
  int has_schema_id; /**< Confluent-framed records: their schema id */
  uint32_t schema_id;
  char *flag_key;
  char *variant;
  uint64_t rows; /**< decided and undetermined */
  uint64_t verdicts[RS_VERDICT_COUNT];
  /** Records whose verdict is not decided, by why (not in `verdicts`). */
  uint64_t undetermined[SCAN_UNDETERMINED_KINDS];
  int64_t first_write_us; /**< 0: none recorded */
  int64_t last_write_us;
  /** The scan_sample.position of its first row: writers are listed in
   * the order the scan met them. */
  uint64_t first_position;
} scan_writer;

/** One partition's counts, for targets whose rows have one (Kafka). */
typedef struct scan_partition {
  int32_t partition;
  uint64_t rows_read, rows_null, rows_skipped;
  uint64_t verdicts[RS_VERDICT_COUNT];
  uint64_t undetermined; /**< of every kind */
} scan_partition;

/** What one target's scan found. */
/** The counts a sampled scan's clusters give: one slot per verdict, and
 * the findings in the last. */
#define SCAN_CLUSTER_KINDS (RS_VERDICT_COUNT + 1)

/**
 * A sampled scan whose store names each row's cluster (store_row.cluster:
 * the block or window the sample drew it with): the sums over the
 * clusters that the variance of its estimates takes, with n_c a cluster's
 * rows read and k_c its rows of one verdict (or findings). The rows of a
 * cluster come one after another; `open` and the start_ fields follow the
 * current one, which the end of the scan closes.
 */
typedef struct scan_clusters {
  uint64_t m;                    /**< clusters closed */
  double n2;                     /**< sum of n_c^2 */
  double k2[SCAN_CLUSTER_KINDS]; /**< sum of k_c^2 */
  double nk[SCAN_CLUSTER_KINDS]; /**< sum of n_c k_c */
  int open;
  int64_t id;
  uint64_t start_rows, start[SCAN_CLUSTER_KINDS];
} scan_clusters;

typedef struct scan_result {
  int complete;    /**< every row of the target was read */
  int interrupted; /**< stopped by a signal */
  int status;      /**< STORE_OK or the store_status that stopped it */
  char error[512]; /**< the store's message when status != STORE_OK */
  int64_t estimated_rows;
  uint64_t rows_read; /**< rows read from the target (of the shard) */
  /** Rows the store gave, those of other shards (--shard) included. */
  uint64_t rows_streamed;
  uint64_t rows_null; /**< rows whose column is NULL: no record, not counted */
  /** Excluded by --flag or --written-after: their provenance names another
   * flag, or an earlier time. */
  uint64_t rows_skipped;
  uint64_t rows_counted; /**< given a decided verdict and counted */
  uint64_t verdicts[RS_VERDICT_COUNT];
  /**
   * Records whose verdict is not decided (rs_classification_decided() 0:
   * the writer's meaning is unknown), by why. Not in `verdicts` nor in
   * `rows_counted`, never ok: the scan is inconclusive while any remain.
   */
  uint64_t undetermined[SCAN_UNDETERMINED_KINDS];
  /**
   * With --flag or --written-after: records counted (in `verdicts` or
   * `undetermined`) although their provenance cannot say whether the
   * filter selects them, and the findings among them.
   */
  uint64_t unattributed;
  uint64_t unattributed_findings;
  scan_writer *writers;
  size_t n_writers;
  size_t last_writer;  /**< the scan's own: the group the last row joined */
  size_t writer_limit; /**< scan_options.max_writers */
  scan_sample *samples[RS_VERDICT_COUNT];
  size_t n_samples[RS_VERDICT_COUNT];
  scan_sample *undetermined_samples; /**< the first max_samples of them */
  size_t n_undetermined_samples;
  double seconds;
  /** Rows with a partition (store_row.has_partition), counted per
   * partition in the order first met; none for tables and files. */
  scan_partition *partitions;
  size_t n_partitions;
  /** Sampled scans: the clusters' sums (m 0 when the rows had none). */
  scan_clusters clusters;
} scan_result;

/**
 * Scans @p s (opened by the caller) for records of @p type. Store errors
 * and interruptions are not failures of this call: they end the scan with
 * `complete` 0 and `status`/`interrupted` set, and what was read so far
 * stays counted.
 *
 * @param[out] result zeroed and filled; free with scan_result_dispose()
 * @return 0, or RS_ENOMEM / RS_ENOTFOUND / RS_EINVAL from the codec
 *         (with @p err filled), which stop the scan
 */
int scan_target(scan_result *result, store *s, const char *type,
                const scan_options *options, rs_error *err);

/**
 * Adds @p from, the result of the part of a scan that follows @p into's
 * part (the next range of the same target), to @p into, as if one scan
 * had read both: counts summed, writers in the order met, the first
 * @p max_samples samples of each verdict kept. @p from's positions are
 * shifted by into's rows_streamed. What @p from held is moved or freed:
 * it is left empty (disposed) in either case.
 *
 * @return 0, or RS_ENOMEM (then @p into holds what was merged so far and
 *         stays valid to dispose)
 */
int scan_result_merge(scan_result *into, scan_result *from, size_t max_samples);

/**
 * Puts a merged result's writers in the order the scan met them and, past
 * the 256 a report shows, the later ones into the catch-all group "(other
 * writers)", as one scan of the whole target keeps them.
 * @return 0 or RS_ENOMEM
 */
int scan_result_fold_writers(scan_result *r);

/** A stable 64-bit hash of a key's text (FNV-1a): the same on every
 * machine and in every release, for --shard. */
uint64_t scan_key_hash(const char *key, size_t len);

/** Frees what a result holds (not the struct itself). */
void scan_result_dispose(scan_result *result);

/** True when the verdict counts as a finding (misread and worse). */
int scan_verdict_is_finding(rs_verdict v);

/** Undetermined records of a result, whatever the reason. */
uint64_t scan_undetermined_total(const scan_result *result);

#endif
