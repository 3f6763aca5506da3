/*
 * src/store/sqlite_internal.h: what the SQLite adapter (sqlite.c) shares
 * with its run leases (sqlite_lease.c). Internal to the store library.
 */
#ifndef RS_STORE_SQLITE_INTERNAL_H
#define RS_STORE_SQLITE_INTERNAL_H

#include <sqlite3.h>

#include "store_impl.h"

/*
 * The lease table, created with the run and backup tables (formatted with
 * the schema, "%w"):
 *
 *   CREATE TABLE IF NOT EXISTS rollsafe_leases (
 *     run_id       TEXT NOT NULL PRIMARY KEY,
 *     token        TEXT NOT NULL,     -- random: names the holding store
 *     host         TEXT NOT NULL,     -- host name and boot id
 *     pid          INTEGER NOT NULL,  -- the holding process
 *     started      INTEGER NOT NULL,  -- its start time (clock ticks after
 *                                     -- boot, /proc; 0 when unknown)
 *     heartbeat_us INTEGER NOT NULL,  -- its last sign of life
 *     expires_us   INTEGER NOT NULL   -- when others may take it over
 *   );
 *
 * A lease is live while its process is: on the same host (and boot) that
 * is known at once (the process id exists and started when the row says);
 * from another host only by the heartbeat, so the row expires
 * STORE__SQ_LEASE_TTL_US after the last one. The holder renews it with
 * every batch and run update, and at most once a minute while it reads.
 */
extern const char store__sq_lease_ddl[];

#define STORE__SQ_LEASE_TTL_US (15 * 60 * (int64_t)1000000)

/* This process's identity as a lease holder, and the store's token. */
typedef struct store__sq_lease {
  char token[40];
  char host[320];
  int64_t pid, started;
  double last_beat; /* store__now() of the last heartbeat; 0: none held */
} store__sq_lease;

void store__sq_lease_init(store__sq_lease *l);

/*
 * Takes run @p run_id's lease in a transaction of its own (BEGIN
 * IMMEDIATE, waiting as the connection's busy handler does); @p shown
 * names the database in messages. STORE_OK; STORE_EBUSY when a live
 * holder other than this store has it (named in the message), or the
 * lock did not come; STORE_EIO.
 */
int store__sq_lease_take(sqlite3 *db, const char *schema, const char *shown,
                         store__sq_lease *l, const char *run_id,
                         store_error *err);

/* Deletes this store's lease of @p run_id (every lease it holds for
 * NULL), in a transaction of its own; failures are ignored (the lease
 * then shows its process gone once it ends). */
void store__sq_lease_release(sqlite3 *db, const char *schema,
                             store__sq_lease *l, const char *run_id);

/* 1 when a live process holds @p run_id's lease, 0 when none does, or a
 * negative store_status. */
int store__sq_lease_held(sqlite3 *db, const char *schema, const char *shown,
                         const char *run_id, store_error *err);

/* Renews this store's leases (one UPDATE, in the caller's transaction, or
 * its own). STORE_OK or a negative store_status. */
int store__sq_lease_beat(sqlite3 *db, const char *schema, store__sq_lease *l,
                         store_error *err);

/*
 * A reader's first read of @p path failed with (extended) code @p rc: when
 * the file is a WAL database whose -shm file SQLite could not make (see
 * sqlite_readonly.c), STORE_OK with *uri an `immutable=1` URI of it
 * (malloc'd) when that reads every committed change, or STORE_EIO saying
 * why it cannot be read here and what to do; STORE_OK with *uri NULL when
 * the failure is something else. @p shown and @p name are the file and the
 * target as messages name them.
 */
int store__sq_readonly_wal(const char *path, const char *shown,
                           const char *name, int rc, char **uri,
                           store_error *err);

#endif
