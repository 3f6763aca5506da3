#define _POSIX_C_SOURCE 200809L
/*
 * src/store/sqlite_lease.c: run leases in an SQLite database (see
 * sqlite_internal.h and store.h, "run leases").
 *
 * SQLite has no session that ends with its process, so a lease is a row
 * naming the process that holds it. Whether that process still runs is
 * asked of the operating system when it ran on this host (kill(pid, 0),
 * and its start time in /proc/PID/stat, so that a process id used again
 * by another program is not taken for the holder); a holder on another
 * host sharing the file is trusted until its heartbeat expires.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "sqlite_internal.h"

const char store__sq_lease_ddl[] =
    "CREATE TABLE IF NOT EXISTS \"%w\".rollsafe_leases (\n"
    "  run_id TEXT NOT NULL PRIMARY KEY,\n"
    "  token TEXT NOT NULL,\n"
    "  host TEXT NOT NULL,\n"
    "  pid INTEGER NOT NULL,\n"
    "  started INTEGER NOT NULL,\n"
    "  heartbeat_us INTEGER NOT NULL,\n"
    "  expires_us INTEGER NOT NULL\n"
    ");";

static int64_t wall_us(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_REALTIME, &ts) != 0) return 0;
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The first line of a small file, without its newline; "" when unreadable. */
static void read_line(const char *path, char *out, size_t cap) {
  out[0] = '\0';
  FILE *f = fopen(path, "r");
  if (f == NULL) return;
  if (fgets(out, (int)cap, f) == NULL) out[0] = '\0';
  fclose(f);
  out[strcspn(out, "\n")] = '\0';
}

/* The start time of process @p pid in clock ticks after boot (field 22 of
 * /proc/PID/stat, after the command name in parentheses, which may hold
 * anything); 0 when unknown. */
static int64_t process_start(int64_t pid) {
  char path[64], line[1024];
  snprintf(path, sizeof path, "/proc/%lld/stat", (long long)pid);
  read_line(path, line, sizeof line);
  const char *p = strrchr(line, ')');
  if (p == NULL) return 0;
  /* ") S ppid ...": field 3 is the state; starttime is field 22. */
  int field = 2;
  for (p++; *p != '\0' && field < 22; p++)
    if (*p == ' ') field++;
  return field == 22 ? strtoll(p, NULL, 10) : 0;
}

void store__sq_lease_init(store__sq_lease *l) {
  memset(l, 0, sizeof *l);
  char name[256] = "", boot[64] = "";
  if (gethostname(name, sizeof name) != 0) name[0] = '\0';
  name[sizeof name - 1] = '\0';
  read_line("/proc/sys/kernel/random/boot_id", boot, sizeof boot);
  snprintf(l->host, sizeof l->host, "%s/%s", name, boot);
  l->pid = (int64_t)getpid();
  l->started = process_start(l->pid);
  /* Unique among the stores of all processes: the process, the clock and
   * an address of this process. */
  snprintf(l->token, sizeof l->token, "%llx-%llx-%lx",
           (unsigned long long)l->pid, (unsigned long long)wall_us(),
           (unsigned long)(size_t)l & 0xffffffful);
}

/* Whether the holder a lease row names is alive (see the top). */
static int holder_alive(const store__sq_lease *me, const char *host,
                        int64_t pid, int64_t started, int64_t expires_us) {
  if (strcmp(host, me->host) != 0 || me->host[strlen(me->host) - 1] == '/')
    return wall_us() < expires_us; /* another host, or no boot id */
  if (pid <= 0 || (kill((pid_t)pid, 0) != 0 && errno == ESRCH)) return 0;
  int64_t now_started = process_start(pid);
  return started == 0 || now_started == 0 || now_started == started;
}

static int lease_fail(sqlite3 *db, const char *shown, store_error *err, int rc,
                      const char *what) {
  store_status status =
      (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED ? STORE_EBUSY
      : rc == SQLITE_NOMEM                                       ? STORE_ENOMEM
                                                                 : STORE_EIO;
  return store__fail(err, status, "%s: %s: %s", shown, what,
                     sqlite3_errmsg(db));
}

static int prepare(sqlite3 *db, const char *fmt, const char *schema,
                   sqlite3_stmt **st) {
  char *sql = sqlite3_mprintf(fmt, schema);
  if (sql == NULL) return SQLITE_NOMEM;
  int rc = sqlite3_prepare_v2(db, sql, -1, st, NULL);
  sqlite3_free(sql);
  return rc;
}

/* The row of @p run_id: 1 with its fields, 0 when none, or an SQLite
 * error code (negated). */
typedef struct lease_row {
  char token[40], host[320];
  int64_t pid, started, heartbeat_us, expires_us;
} lease_row;

static int read_row(sqlite3 *db, const char *schema, const char *run_id,
                    lease_row *row) {
  sqlite3_stmt *st = NULL;
  int rc = prepare(db,
                   "SELECT token, host, pid, started, heartbeat_us, expires_us"
                   " FROM \"%w\".rollsafe_leases WHERE run_id = ?1",
                   schema, &st);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(st);
    return -rc;
  }
  sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
  rc = sqlite3_step(st);
  int found = 0;
  if (rc == SQLITE_ROW) {
    const char *token = (const char *)sqlite3_column_text(st, 0);
    const char *host = (const char *)sqlite3_column_text(st, 1);
    snprintf(row->token, sizeof row->token, "%s", token ? token : "");
    snprintf(row->host, sizeof row->host, "%s", host ? host : "");
    row->pid = sqlite3_column_int64(st, 2);
    row->started = sqlite3_column_int64(st, 3);
    row->heartbeat_us = sqlite3_column_int64(st, 4);
    row->expires_us = sqlite3_column_int64(st, 5);
    found = 1;
  } else if (rc != SQLITE_DONE) {
    found = -rc;
  }
  sqlite3_finalize(st);
  return found;
}

int store__sq_lease_take(sqlite3 *db, const char *schema, const char *shown,
                         store__sq_lease *l, const char *run_id,
                         store_error *err) {
  int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
  if (rc != SQLITE_OK)
    return lease_fail(db, shown, err, rc, "cannot take the run's lease");
  lease_row row;
  int found = read_row(db, schema, run_id, &row);
  int status = STORE_OK;
  if (found < 0) {
    status = lease_fail(db, shown, err, -found, "cannot read the leases");
  } else if (found && strcmp(row.token, l->token) != 0 &&
             holder_alive(l, row.host, row.pid, row.started, row.expires_us)) {
    char host[64];
    snprintf(host, sizeof host, "%.*s", (int)strcspn(row.host, "/"), row.host);
    status = store__fail(
        err, STORE_EBUSY,
        "%s: run %.40s is being worked on by another rollsafe process "
        "(process %lld on host %s holds its lease, last seen %.0f s ago); "
        "one process works on a run at a time: wait for it to end, or end "
        "it, then try again",
        shown, run_id, (long long)row.pid, host[0] ? host : "?",
        (double)(wall_us() - row.heartbeat_us) / 1e6);
  } else {
    sqlite3_stmt *st = NULL;
    rc = prepare(db,
                 "INSERT OR REPLACE INTO \"%w\".rollsafe_leases (run_id, "
                 "token, host, pid, started, heartbeat_us, expires_us) "
                 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                 schema, &st);
    if (rc == SQLITE_OK) {
      int64_t now = wall_us();
      sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
      sqlite3_bind_text(st, 2, l->token, -1, SQLITE_STATIC);
      sqlite3_bind_text(st, 3, l->host, -1, SQLITE_STATIC);
      sqlite3_bind_int64(st, 4, l->pid);
      sqlite3_bind_int64(st, 5, l->started);
      sqlite3_bind_int64(st, 6, now);
      sqlite3_bind_int64(st, 7, now + STORE__SQ_LEASE_TTL_US);
      rc = sqlite3_step(st);
      if (rc == SQLITE_DONE) rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_OK) rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
      status = lease_fail(db, shown, err, rc, "cannot take the run's lease");
    else
      l->last_beat = store__now();
  }
  if (!sqlite3_get_autocommit(db))
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
  return status;
}

void store__sq_lease_release(sqlite3 *db, const char *schema,
                             store__sq_lease *l, const char *run_id) {
  if (db == NULL || l->last_beat == 0) return;
  sqlite3_stmt *st = NULL;
  if (prepare(db,
              run_id != NULL ? "DELETE FROM \"%w\".rollsafe_leases WHERE "
                               "token = ?1 AND run_id = ?2"
                             : "DELETE FROM \"%w\".rollsafe_leases WHERE "
                               "token = ?1",
              schema, &st) == SQLITE_OK) {
    sqlite3_bind_text(st, 1, l->token, -1, SQLITE_STATIC);
    if (run_id != NULL) sqlite3_bind_text(st, 2, run_id, -1, SQLITE_STATIC);
    (void)sqlite3_step(st);
  }
  sqlite3_finalize(st);
  if (run_id == NULL) l->last_beat = 0;
}

int store__sq_lease_held(sqlite3 *db, const char *schema, const char *shown,
                         const char *run_id, store_error *err) {
  store__sq_lease me;
  store__sq_lease_init(&me);
  lease_row row;
  int found = read_row(db, schema, run_id, &row);
  if (found < 0)
    return lease_fail(db, shown, err, -found, "cannot read the leases");
  return found &&
         holder_alive(&me, row.host, row.pid, row.started, row.expires_us);
}

int store__sq_lease_beat(sqlite3 *db, const char *schema, store__sq_lease *l,
                         store_error *err) {
  if (l->last_beat == 0) return STORE_OK;
  sqlite3_stmt *st = NULL;
  int rc = prepare(db,
                   "UPDATE \"%w\".rollsafe_leases SET heartbeat_us = ?2, "
                   "expires_us = ?3 WHERE token = ?1",
                   schema, &st);
  if (rc == SQLITE_OK) {
    int64_t now = wall_us();
    sqlite3_bind_text(st, 1, l->token, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now);
    sqlite3_bind_int64(st, 3, now + STORE__SQ_LEASE_TTL_US);
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) rc = SQLITE_OK;
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_OK)
    return lease_fail(db, schema, err, rc, "cannot renew the run's lease");
  l->last_beat = store__now();
  return STORE_OK;
}
