/*
 * src/store/pg_internal.h: what the PostgreSQL adapter (postgres.c) shares
 * with its trust checks, write hooks and run leases (pg_trust.c). Internal
 * to the store library.
 *
 * Each function takes the adapter's connection, with search_path pinned to
 * pg_catalog, pg_temp, and the label that starts its messages ("target
 * 'x': table s.t").
 */
#ifndef RS_STORE_PG_INTERNAL_H
#define RS_STORE_PG_INTERNAL_H

#include <libpq-fe.h>

#include "store_impl.h"

/*
 * Checks that the schema rollsafe, when it exists, is rollsafe's own: the
 * schema and every relation in it owned by the role the session runs as
 * (CURRENT_USER), only tables and their indexes in it, no function, type,
 * operator or other object rollsafe never makes, no trigger, rule,
 * row-level security or policy on its tables, and no other role allowed
 * to create in it or to change its tables (only SELECT may be granted).
 * Called before the run tables are created and again after: nothing
 * another role planted or can change is ever used with the fixer's
 * rights. Runs outside any transaction, in one statement.
 * @return STORE_OK; STORE_EUSAGE naming the first problem, its owner, and
 *         what to do; STORE_EIO when the catalog cannot be read
 */
int store__pg_check_trust(PGconn *conn, const char *label, store_error *err);

/*
 * The triggers, rules and row-level security policies that an UPDATE of
 * relation @p relid (an oid as text) and of its partitions and inheritance
 * children would fire or apply, for the dry run to list. Runs in the
 * caller's transaction (or none), one statement.
 * @param[out] out malloc'd array (free()), NULL when there are none
 * @return STORE_OK, or STORE_EIO / STORE_ENOMEM
 */
int store__pg_write_hooks(PGconn *conn, const char *label, const char *relid,
                          store_hook **out, size_t *n, store_error *err);

/*
 * Run leases: a session-level advisory lock (two-key form, keys derived
 * from the run id) held by the writer's connection for as long as it
 * works on the run. It ends with the session, however the process ends:
 * a killed fixer's server session ends when its socket closes.
 */

/* Takes run @p run_id's lease. STORE_OK; STORE_EBUSY when another session
 * holds it (the message names the server process); STORE_EIO. */
int store__pg_lease_take(PGconn *conn, const char *label, const char *run_id,
                         store_error *err);

/* Gives it back (nothing when not held). */
void store__pg_lease_release(PGconn *conn, const char *run_id);

/* 1 when some session of this database holds run @p run_id's lease, 0
 * when none does, or a negative store_status. */
int store__pg_lease_held(PGconn *conn, const char *label, const char *run_id,
                         store_error *err);

#endif
