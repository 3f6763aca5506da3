/*
 * src/verify/kafka_fix.h: fix and restore of Kafka topics. Internal to the
 * CLI.
 *
 * A Kafka log is immutable, so a fix never rewrites a message:
 *
 *  - To an output topic (kafka_fix_to_topic): each source partition's
 *    messages from its start (a group's committed offsets, a time, the
 *    beginning) up to the high watermark taken at start go, in order, to
 *    the partition of the same number of the output topic, with the same
 *    key, timestamp and headers plus rollsafe-original and rollsafe-run;
 *    those the reader cannot read down-converted (the fix engine's plan and
 *    pre-write check), the rest byte for byte. The output topic is the
 *    run's journal: a run starts each partition after the source offset
 *    named by the output partition's last message, so that a killed run
 *    resumes without a duplicate or a gap, and running it again only
 *    copies what arrived since.
 *
 *  - In place, on a compacted topic (kafka_fix_in_place): for each key
 *    whose latest message the reader cannot read, the original goes to a
 *    journal topic, then the down-converted value is produced under the
 *    same key to the same partition, where compaction makes it the key's
 *    value. kafka_restore puts a run's originals back the same way, for
 *    the keys whose latest message is still the fix's.
 */
#ifndef RS_VERIFY_KAFKA_FIX_H
#define RS_VERIFY_KAFKA_FIX_H

#include <stdint.h>

#include "store/store.h"
#include "verify/fix.h"

/** One partition of a Kafka fix or restore. */
typedef struct kafka_fix_partition {
  int32_t partition;
  /* The source range, as the read planned it. */
  const char *start_from; /**< static */
  int64_t start_offset, end_offset;
  int64_t first_offset, last_offset; /**< read; -1 when none */
  uint64_t messages;                 /**< read */
  /** The output partition already held copies: the run started after the
   * source offset its last one names (resumed_after). */
  int resumed;
  int64_t resumed_after;
  /* What became of the messages read. */
  uint64_t copied;        /**< byte for byte (readable, or left alone) */
  uint64_t converted;     /**< down-converted (lossy ones included) */
  uint64_t lossy;         /**< of converted: with --allow-lossy */
  uint64_t lossy_skipped; /**< lossy without --allow-lossy: copied as is */
  uint64_t left_alone;    /**< impossible, corrupt, check failed,
                               undetermined: copied as is */
  uint64_t dropped;       /**< left out (--drop-unfixable) */
  uint64_t superseded;    /**< in place: a later message has the key */
  uint64_t unkeyed;       /**< in place: no key, so compaction keeps none */
  /* Where the run's messages landed. */
  int64_t out_first, out_last; /**< -1 when none */
  uint64_t delivered;
  /** The source offsets converted (in place: restored), as ranges
   * [2i, 2i+1]; at most KAFKA_FIX_MAX_RANGES, then `repaired_cut`. */
  int64_t *repaired;
  size_t n_repaired;
  int repaired_cut;
  /* The verification of the output partition (execute, to a topic). */
  uint64_t verified;   /**< output messages read back */
  uint64_t duplicates; /**< a source offset copied twice, or out of order */
  uint64_t missing;    /**< this run's copies not found */
  /* --group: the group's committed offset on the source (at the end of
   * the run), and the output offset its consumers start at on the output
   * topic to read what they have not read yet; -1 when unknown. */
  int64_t group_offset, group_output_offset;
} kafka_fix_partition;

#define KAFKA_FIX_MAX_RANGES 10000

typedef struct kafka_fix_result {
  fix_result fix; /**< counts, samples, run id, status, remaining */
  kafka_fix_partition *parts;
  size_t n_parts;
  int in_place;
  int restore;
  char topic[256];   /**< the source */
  char output[256];  /**< the output or journal topic */
  char policy[64];   /**< in place: the cleanup.policy read */
  int has_group_map; /**< group_output_offset was computed */
  uint64_t copied, converted, lossy_skipped, left_alone, dropped, superseded,
      unkeyed, delivered, duplicates, missing, verified_messages;
} kafka_fix_result;

typedef struct kafka_fix_options {
  const fix_options *fix;     /**< execute, allow_lossy, drop_unfixable, ... */
  const store_target *source; /**< a kafka-topic target */
  const char *output_topic;   /**< to a topic; NULL in place */
  const char *journal_topic;  /**< in place and restore */
  const char *run_id;         /**< restore: the run to undo */
} kafka_fix_options;

/** Fix to an output topic. 0, or a codec error; the rest goes in
 * result->fix.status / error / interrupted. */
int kafka_fix_to_topic(kafka_fix_result *result, const kafka_fix_options *o,
                       rs_error *err);

/** Fix in place on a compacted topic (refused unless its cleanup.policy
 * includes compact). As kafka_fix_to_topic. */
int kafka_fix_in_place(kafka_fix_result *result, const kafka_fix_options *o,
                       rs_error *err);

/** Restore of an in-place run from the journal. As kafka_fix_to_topic. */
int kafka_restore(kafka_fix_result *result, const kafka_fix_options *o,
                  rs_error *err);

void kafka_fix_result_dispose(kafka_fix_result *result);

#endif
