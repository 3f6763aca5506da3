#define _POSIX_C_SOURCE 200809L
/*
 * src/store/postgres.c: the PostgreSQL adapter.
 *
 * One connection per store and one transaction per connection, opened at
 * once as REPEATABLE READ, READ ONLY: the catalog checks, the row estimate
 * and the scan all see one snapshot, and nothing the scan runs can write.
 * search_path is pinned to pg_catalog, pg_temp first, so that no function
 * or operator of a user schema shadows the ones our SQL (and --where)
 * names.
 *
 * A scan is COPY (SELECT key::text, column ...) TO STDOUT (FORMAT binary),
 * read with PQgetCopyData: one row in memory at a time, the record bytes
 * as the server stores them (no hex or escape decoding), and the binary
 * COPY format parsed here with every length checked against its message.
 *
 * A writer (store_open_writer) is the same connection without the long
 * transaction: see "writing" below.
 *
 * Passwords: a connection string from the command line or a config file
 * that carries one is refused; libpq takes it from ~/.pgpass, PGPASSFILE or
 * PGPASSWORD, or we prompt on the terminal when allowed. A connection
 * string from the environment (store_target.password_allowed) may carry
 * one. A password hidden inside a value (dbname='x password=y') is always
 * refused: libpq never reads it, and the server would log it. The
 * connection string itself never goes into a message (it may hold a
 * secret under another name); messages name host, port and database as
 * libpq resolved them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <termios.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "pg_internal.h"

/*
 * The binary COPY parser. Not static so that the malformed-input tests can
 * call it without a server (tests/store/check_store_postgres.c declares the
 * same prototypes); not part of the store interface.
 *
 * store__pg_copy_header() reads the file header at buf[*pos]: 0, or -1
 * with *why. store__pg_copy_tuple() reads one tuple of exactly two fields:
 * 1 with the fields (length -1 for NULL, pointers into buf), 0 for the
 * trailer, -1 with *why when the bytes are malformed. Both advance *pos
 * only on success and never read past buf + len.
 */
int store__pg_copy_header(const uint8_t *buf, size_t len, size_t *pos,
                          const char **why);
int store__pg_copy_tuple(const uint8_t *buf, size_t len, size_t *pos,
                         const uint8_t *field[2], int32_t field_len[2],
                         const char **why);

/* Room for the password typed at the prompt, terminating NUL included. */
#define PG_PASSWORD_MAX 1024

typedef enum pg_state {
  PG_IDLE,   /* open, no scan running */
  PG_COPY,   /* a scan is streaming (COPY, or rows in single-row mode) */
  PG_DONE,   /* the last scan read its trailer and ended cleanly */
  PG_FAILED, /* an error ended the transaction: only close remains */
  PG_CLOSED  /* cancelled: the connection is gone */
} pg_state;

typedef struct pg_store {
  struct store base; /* first: store.c sees a store * */
  PGconn *conn;
  /* Made once the connection is up, so that a signal handler can cancel a
   * running statement with PQcancel (async-signal-safe; PQgetCancel is
   * not). */
  PGcancel *interrupt;
  char relid[16]; /* the table's oid, as text for bound parameters */
  int is_matview; /* a unique index on a matview allows NULL keys */
  /* A sampled scan (store_open_sampled): each row has a third field, its
   * cluster (the partition's oid and the block number), as int8. */
  int sampled;
  char *copy_sql; /* built once at open */
  /* A plain heap table read without a condition: "SELECT key, column
   * FROM table", which a range (store_set_range) bounds by ctid; NULL when
   * the table cannot be read by ranges. */
  char *range_select;
  char label[256]; /* "target 'x': table s.t", printable, starts messages */
  pg_state state;
  int copy_active; /* the server may still be sending COPY data or rows */
  /* A queue with a state column is scanned by a SELECT in single-row mode
   * (COPY takes no parameters, and its states are bound): copy_sql is that
   * SELECT, each row a result of its own, row_res the current one (the
   * row's values point into it), and row_unread when store_scan fetched
   * it already. */
  int scan_select;
  PGresult *row_res;
  int row_unread;
  /* The current CopyData message; row values point into it, so it is
   * freed only when the next store_next() call has consumed it. */
  char *buf;
  size_t buf_len;
  size_t pos;
  int header_done;
  int trailer_seen;
  /* The row's key, NUL-terminated; grown, never shrunk, reused per row. */
  char *key;
  size_t key_cap;
  /* 2, 4 or 8 when the key is a smallint, integer or bigint, which the scan
   * reads in binary and spells here; 0: the server sends key::text. */
  int key_int_width;

  /* Writing sessions only (store_open_writer). */
  int writer;
  /* Their session's lock_timeout and statement_timeout, in milliseconds,
   * set again when the connection is made again (pg_reconnect). */
  int session_lock_ms, session_statement_ms;
  /* The key column's type as format_type(atttypid, -1) spells it (quoted
   * and schema-qualified by the server where needed), for casting key
   * texts back to it. */
  char key_type[320];
  /* The key's columns (none: rows are named by ctid, and only read), each
   * with its type as key_type spells the first one's. */
  size_t nk;
  char key_cols[STORE_KEY_COLUMNS_MAX][64];
  char key_types[STORE_KEY_COLUMNS_MAX][320];
  /* A table with partitions or inheritance children: a ctid alone does
   * not name a row, the partition's name goes with it. */
  int has_children;
  char *page_first_sql, *page_next_sql, *fix_sql, *restore_sql;
  /* A table's fix with the backup rows' ON CONFLICT (pg_swap_finish). */
  char *fix_upsert_sql;
  /* The run row's UPDATE (pg_update_run_row), made once. */
  char *run_update_sql;
  /* Which statements (1 << PG_PREP_*) the writer's session and the side
   * connection's have prepared: none again when a session is made again. */
  unsigned prepared, side_prepared;
  /* How the statements turn a bound value (bytea: the bytes read) into the
   * record column's type: nothing for bytea, convert_from for a text or
   * varchar column (the scan read its text in the client encoding, UTF8).
   * Written around the value as value_pre, value, value_post. */
  const char *value_pre, *value_post;
  /* Queue kinds: the batches lock with SKIP LOCKED and say per swap what
   * became of it (see pg_build_queue_sql). */
  int queue;
  char *queue_fix_sql, *queue_restore_sql;
  /* A restore's dry run: each row's bytes and state (pg_restore_check). */
  char *check_sql;
  /* A queue's states (store__states), bound as binary arrays: [PG_PENDING]
   * and [PG_IN_FLIGHT] text[] for the batches and the dry run, [PG_READ]
   * what the scan and the pages keep, pending and in flight: text[], or for
   * an enum state column an array of the enum (read_type) holding those of
   * the states that are labels of it, so that an index on the column
   * serves the reads (see pg_read_condition). */
  store__states states;
  char *state_array[3];
  size_t state_len[3];
  Oid read_type;
  /* The last page and backup page: rows point into their results, which
   * are kept until the next call of the same operation; a page's, until
   * the second next (the page before the last: page_prev_*), so that a
   * batch started on one page may wait while the next is read. */
  PGresult *page_res, *page_prev_res;
  store_page_row *page_rows, *page_prev_rows;
  size_t page_cap, page_prev_cap;
  /* Pages read ahead (store_read_ahead): the next page's SELECT sent, in
   * its READ ONLY transaction, for the key after_ahead and limit
   * limit_ahead; on this connection (read_ahead 1), or beside a fix's
   * batches on a second one of the same parameters (read_ahead 2, side,
   * side_cancel), which only ever reads pages, and whose failures only
   * end the reading ahead. */
  int read_ahead;
  int ahead_sent;
  PGconn *side;
  PGcancel *side_cancel;
  char after_ahead[STORE_CHECKPOINT_MAX];
  size_t limit_ahead;
  /* A batch started and not yet finished (pg_fix_batch_start): its run
   * row and swaps (the caller's), and whether its statement was sent. */
  int pending;
  int pending_sent;
  int pending_restore;
  int pending_upsert; /* a table's fix sent as fix_upsert_sql */
  store_run pending_run;
  store_swap *pending_swaps;
  size_t pending_n;
  PGresult *backup_res;
  store_swap *backup_rows;
  size_t backup_cap;
  /* Which of store__run_columns rollsafe.runs has (a writer adds them
   * all; a runs store reads NULL for the missing ones), and whether the
   * rollsafe tables are there at all (a runs store: none, no runs). */
  unsigned char run_col[32];
  int has_runs;
} pg_store;

static void pg_close_side(pg_store *s);

/* ---- messages ----------------------------------------------------------- */

/*
 * Copies @p src into @p dst, at most @p cap - 1 bytes, control bytes
 * replaced by '?' (names go into one-line messages); with @p first_line,
 * only up to the first line end (libpq's and the server's messages add
 * detail lines and a final newline).
 */
static void copy_text(char *dst, size_t cap, const char *src, int first_line) {
  size_t n = 0;
  for (; src != NULL && src[n] != '\0' && n + 1 < cap; n++) {
    unsigned char c = (unsigned char)src[n];
    if (first_line && c == '\n') break;
    dst[n] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
  }
  dst[n] = '\0';
}

static void printable(char *dst, size_t cap, const char *src) {
  copy_text(dst, cap, src, 0);
}

static void first_line(char *dst, size_t cap, const char *src) {
  copy_text(dst, cap, src, 1);
}

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static int
pg_fail(const pg_store *s, store_error *err, store_status status,
        const char *fmt, ...) {
  char what[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  return store__fail(err, status, "%s: %s", s->label, what);
}

/* What stopped a writer's step from outside the run (store_fault): the
 * disk full (53100 disk_full), or the connection lost: SQLSTATE class 08,
 * 57P01 admin_shutdown (a fast or smart shutdown, a restart), 57P02
 * crash_shutdown, 57P03 cannot_connect_now, or a connection libpq now
 * reports bad (the server closed it, the network). */
static store_fault pg_fault_of(const pg_store *s, const char *state) {
  if (state != NULL && strcmp(state, "53100") == 0)
    return STORE_FAULT_DISK_FULL;
  if ((state != NULL &&
       (strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0 ||
        strcmp(state, "57P02") == 0 || strcmp(state, "57P03") == 0)) ||
      s->conn == NULL || PQstatus(s->conn) == CONNECTION_BAD)
    return STORE_FAULT_CONNECTION_LOST;
  return STORE_FAULT_NONE;
}

/* A writer's step that @p fault stopped: STORE_EBUSY (exit 4; the run is
 * resumable), never retried, and the message says so. */
static int pg_fail_fault(const pg_store *s, store_error *err, store_fault fault,
                         const char *doing, const char *text,
                         const char *state) {
  pg_store *w = (pg_store *)s;
  w->base.fault = (int)fault;
  w->base.busy_final = 1;
  char code[24] = "";
  if (state != NULL) snprintf(code, sizeof code, " (SQLSTATE %.5s)", state);
  if (fault == STORE_FAULT_DISK_FULL)
    return pg_fail(s, err, STORE_EBUSY,
                   "%s: the database server's disk is full: %s%s; nothing of "
                   "this step was written; free space on it, then resume the "
                   "run",
                   doing, text, code);
  return pg_fail(s, err, STORE_EBUSY,
                 "%s: the connection to the server was lost: %s%s; what "
                 "committed before stands (a run goes on from its last "
                 "committed batch): run it again once the server is back",
                 doing, text, code);
}

/* The server's error for @p res, classed: SQLSTATE class 42 (syntax error,
 * undefined column or table, permission) is the operator's SQL or
 * configuration, anything else an I/O or server problem; for a writer, a
 * lost connection or a full disk is a fault (pg_fault_of). */
static int pg_fail_result(const pg_store *s, const PGresult *res,
                          store_error *err, const char *doing) {
  const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
  const char *primary =
      res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
  char text[256];
  first_line(text, sizeof text,
             primary != NULL ? primary
             : res != NULL   ? PQresultErrorMessage(res)
                             : PQerrorMessage(s->conn));
  if (text[0] == '\0') first_line(text, sizeof text, PQerrorMessage(s->conn));
  if (s->writer) {
    store_fault fault = pg_fault_of(s, state);
    if (fault != STORE_FAULT_NONE)
      return pg_fail_fault(s, err, fault, doing, text, state);
  }
  /* A time limit (statement_timeout, lock_timeout) leaves the work
   * incomplete rather than failed: exit 4, not 3. */
  store_status status =
      (state != NULL && strncmp(state, "42", 2) == 0) ? STORE_EUSAGE
      : (state != NULL &&
         (strcmp(state, "57014") == 0 || strcmp(state, "55P03") == 0))
          ? STORE_EBUSY
          : STORE_EIO;
  if (state != NULL)
    return pg_fail(s, err, status, "%s: %s (SQLSTATE %.5s)", doing, text,
                   state);
  return pg_fail(s, err, status, "%s: %s", doing, text);
}

/* ---- connecting ---------------------------------------------------------- */

/* A memset the compiler may not drop although the buffer dies next. */
static void wipe(void *p, size_t n) {
  volatile unsigned char *v = p;
  while (n-- > 0) *v++ = 0;
}

static void write_all(int fd, const char *text) {
  size_t len = strlen(text);
  while (len > 0) {
    ssize_t w = write(fd, text, len);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    text += w;
    len -= (size_t)w;
  }
}

/*
 * Asks for a password on the controlling terminal, echo off, one byte at a
 * time so that no stdio buffer keeps a copy. 0 with @p pw filled; -1 when
 * there is no terminal or nothing was typed; -2 when the line is too long.
 */
static int prompt_password(char pw[PG_PASSWORD_MAX], const char *prompt) {
  int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return -1;
  struct termios saved, quiet;
  if (tcgetattr(fd, &saved) != 0) {
    close(fd);
    return -1;
  }
  quiet = saved;
  quiet.c_lflag &= ~(tcflag_t)ECHO;
  /* Echo off before the prompt shows: whatever is typed once it shows is
   * never echoed, and the flush drops only what was typed before. */
  if (tcsetattr(fd, TCSAFLUSH, &quiet) != 0) {
    close(fd);
    return -1;
  }
  write_all(fd, prompt);
  size_t n = 0;
  int too_long = 0, got_line = 0;
  for (;;) {
    char c;
    ssize_t r = read(fd, &c, 1);
    /* Ctrl-C at the prompt: give up (the terminal is restored below) rather
     * than swallow it and leave the user typing blind. */
    if (r <= 0) break;
    if (c == '\n' || c == '\r') {
      got_line = 1;
      break;
    }
    if (n + 1 < PG_PASSWORD_MAX)
      pw[n++] = c;
    else
      too_long = 1;
    c = 0;
  }
  pw[n] = '\0';
  tcsetattr(fd, TCSAFLUSH, &saved);
  write_all(fd, "\n"); /* the Enter that was not echoed */
  close(fd);
  if (too_long) return -2;
  return (got_line || n > 0) ? 0 : -1;
}

static const char *or_unknown(const char *s) {
  return (s != NULL && s[0] != '\0') ? s : "?";
}

/* "host=... port=... dbname=..." as libpq resolved them, printable. */
static void where_connected(char *out, size_t cap, const PGconn *conn) {
  char host[96], port[16], db[72];
  printable(host, sizeof host, or_unknown(PQhost(conn)));
  printable(port, sizeof port, or_unknown(PQport(conn)));
  printable(db, sizeof db, or_unknown(PQdb(conn)));
  snprintf(out, cap, "host=%s port=%s dbname=%s", host, port, db);
}

static int pg_fail_connect(const pg_store *s, store_error *err,
                           const char *hint) {
  char place[200], why[200];
  where_connected(place, sizeof place, s->conn);
  first_line(why, sizeof why, PQerrorMessage(s->conn));
  return pg_fail(s, err, STORE_EIO, "cannot connect to %s: %s%s", place, why,
                 hint);
}

/* ---- passwords in a connection string ----------------------------------- */

/* How deep values that are connection strings of their own are followed. */
#define PG_NESTING_MAX 4

/*
 * 1 when @p text names a password the way a conninfo or a URI query does:
 * the word "password" in any case, at the start or after a space, quote,
 * '?' or '&', then '=' (spaces allowed before it). This finds it in values
 * libpq does not parse on their own, such as dbname='x password=y'.
 */
static int names_password(const char *text) {
  static const char word[] = "password";
  const size_t wlen = sizeof word - 1;
  for (const char *p = text; *p != '\0'; p++) {
    if (strncasecmp(p, word, wlen) != 0) continue;
    if (p != text && strchr(" \t\n\r'\"?&", p[-1]) == NULL) continue;
    const char *q = p + wlen;
    while (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r') q++;
    if (*q == '=') return 1;
  }
  return 0;
}

static int looks_like_uri(const char *text) {
  return strncmp(text, "postgresql://", 13) == 0 ||
         strncmp(text, "postgres://", 11) == 0;
}

/* 1 when the value @p value hides a password: named in it, or in it as a
 * connection string of its own (keyword or URI user:password@), at any
 * depth; 0 when not; STORE_ENOMEM. */
static int value_hides_password(const char *value, unsigned depth) {
  if (names_password(value)) return 1;
  if (depth >= PG_NESTING_MAX ||
      (strchr(value, '=') == NULL && !looks_like_uri(value)))
    return 0;
  char *why = NULL;
  PQconninfoOption *opts = PQconninfoParse(value, &why);
  if (opts == NULL) {
    int nomem = why == NULL;
    PQfreemem(why);
    return nomem ? STORE_ENOMEM : 0; /* not a connection string: text */
  }
  int found = 0;
  for (const PQconninfoOption *o = opts; o->keyword != NULL && found == 0;
       o++) {
    if (o->val == NULL || o->val[0] == '\0') continue;
    found = strcmp(o->keyword, "password") == 0
                ? 1
                : value_hides_password(o->val, depth + 1);
  }
  PQconninfoFree(opts);
  return found;
}

/*
 * Parses the connection string as libpq will (keyword/value with quoting,
 * or a URI) and finds its passwords: *top for its own password (keyword,
 * URI user:password@ or ?password=, or the SSL key's sslpassword), *nested for
 * one inside a value. libpq reads no password from inside a value: there it
 * only travels to the server as a name or an option, into its log and into our
 * messages.
 */
static int pg_find_passwords(const pg_store *s, const char *conninfo, int *top,
                             int *nested, store_error *err) {
  *top = *nested = 0;
  char *parse_error = NULL;
  PQconninfoOption *parsed = PQconninfoParse(conninfo, &parse_error);
  if (parsed == NULL) {
    /* libpq's parse message quotes pieces of the string: not repeated. */
    int nomem = parse_error == NULL;
    PQfreemem(parse_error);
    if (nomem) return pg_fail(s, err, STORE_ENOMEM, "out of memory");
    return pg_fail(s, err, STORE_EUSAGE,
                   "the connection string is neither a libpq conninfo "
                   "(key=value ...) nor a postgresql:// URI");
  }
  int rc = STORE_OK;
  for (const PQconninfoOption *o = parsed; o->keyword != NULL; o++) {
    if (o->val == NULL || o->val[0] == '\0') continue;
    if (strcmp(o->keyword, "password") == 0 ||
        strcmp(o->keyword, "sslpassword") == 0) {
      *top = 1;
      continue;
    }
    int found = value_hides_password(o->val, 1);
    if (found < 0) rc = found;
    if (found > 0) *nested = 1;
  }
  PQconninfoFree(parsed);
  if (rc != STORE_OK) return pg_fail(s, err, STORE_ENOMEM, "out of memory");
  return STORE_OK;
}

/* Refuses a password where it must not be: inside a value always, in the
 * string itself unless the string came from the environment. */
static int pg_check_passwords(const pg_store *s, const store_target *target,
                              store_error *err) {
  int top, nested;
  int rc = pg_find_passwords(s, target->connection, &top, &nested, err);
  if (rc != STORE_OK) return rc;
  if (nested)
    return pg_fail(s, err, STORE_EUSAGE,
                   "a value inside the connection string holds a password, "
                   "which libpq never reads from there; remove it");
  if (top && !target->password_allowed)
    return pg_fail(s, err, STORE_EUSAGE,
                   "the connection string contains a password; give it "
                   "through ~/.pgpass, PGPASSFILE or PGPASSWORD instead, or "
                   "pass the whole connection string in an environment "
                   "variable (connection_env, --postgres-env)");
  return STORE_OK;
}

static int pg_connect(pg_store *s, const store_target *target,
                      const store_open_options *options, store_error *err) {
  int rc = pg_check_passwords(s, target, err);
  if (rc != STORE_OK) return rc;

  /*
   * Our defaults come before the operator's string, which libpq expands
   * from the first dbname (expand_dbname = 1): later keywords win, so the
   * string overrides them. The environment's own settings win as well.
   */
  const char *keys[8], *values[8];
  size_t n = 0;
  keys[n] = "fallback_application_name";
  values[n++] = "rollsafe";
  const char *env = getenv("PGCONNECT_TIMEOUT");
  if (env == NULL || env[0] == '\0') {
    keys[n] = "connect_timeout";
    values[n++] = "10";
  }
  /* Keys go into reports as text: UTF-8 whatever the server's encoding.
   * The record bytes are bytea, which no encoding touches. */
  env = getenv("PGCLIENTENCODING");
  if (env == NULL || env[0] == '\0') {
    keys[n] = "client_encoding";
    values[n++] = "UTF8";
  }
  keys[n] = "dbname";
  values[n++] = target->connection;
  keys[n] = values[n] = NULL;

  s->conn = PQconnectdbParams(keys, values, 1);
  if (s->conn == NULL) return pg_fail(s, err, STORE_ENOMEM, "out of memory");
  if (PQstatus(s->conn) == CONNECTION_OK) return STORE_OK;
  if (!PQconnectionNeedsPassword(s->conn)) return pg_fail_connect(s, err, "");
  if (!options->allow_password_prompt)
    return pg_fail_connect(s, err,
                           " (the server asks for a password: give it "
                           "through ~/.pgpass, PGPASSFILE or PGPASSWORD)");

  char prompt[400], user[64];
  printable(user, sizeof user, or_unknown(PQuser(s->conn)));
  snprintf(prompt, sizeof prompt, "Password for user %s (%s): ", user,
           s->label);
  char pw[PG_PASSWORD_MAX];
  int prc = prompt_password(pw, prompt);
  if (prc != 0) {
    wipe(pw, sizeof pw);
    return pg_fail_connect(
        s, err,
        prc == -2 ? " (the password typed is too long)"
                  : " (the server asks for a password and none was typed "
                    "on a terminal)");
  }
  PQfinish(s->conn);
  keys[n] = "password";
  values[n] = pw;
  keys[n + 1] = values[n + 1] = NULL;
  s->conn = PQconnectdbParams(keys, values, 1);
  wipe(pw, sizeof pw);
  if (s->conn == NULL) return pg_fail(s, err, STORE_ENOMEM, "out of memory");
  if (PQstatus(s->conn) != CONNECTION_OK) return pg_fail_connect(s, err, "");
  return STORE_OK;
}

/* Runs one fixed command of the session setup. */
static int pg_command(pg_store *s, const char *sql, store_error *err) {
  PGresult *res = PQexec(s->conn, sql);
  int rc = STORE_OK;
  if (PQresultStatus(res) != PGRES_COMMAND_OK) {
    rc = pg_fail_result(s, res, err, "setting up the session");
    if (rc == STORE_EUSAGE) rc = STORE_EIO; /* our SQL, not the operator's */
  }
  PQclear(res);
  return rc;
}

/* ---- binary array parameters ------------------------------------------- */

/* Built-in type OIDs (pg_type.dat); they never change. */
#define PG_BYTEA_OID 17u
#define PG_TEXT_OID 25u
#define PG_BYTEA_ARRAY_OID 1001u
#define PG_TEXT_ARRAY_OID 1009u
/* The server allocates an array in one piece of at most 1 GB - 1. */
#define PG_ARRAY_MAX ((size_t)0x3fffffff - 64)

static void put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

/* Element @p i of an array parameter: its bytes and *len. */
typedef const void *(*pg_elem_fn)(const void *ctx, size_t i, size_t *len);

/*
 * @p n elements as a one-dimensional array in the binary format array_recv
 * reads: ndim 1, flags 0 (no NULLs), the element type's OID, the dimension
 * (n elements, lower bound 1), then each element as its 4-byte length and
 * its bytes (textsend, byteasend and enum_send: the bytes themselves). So
 * no element is ever quoted or escaped into an array literal.
 * @return the malloc'd array with *len, or NULL when too large (*len 0)
 * or out of memory (*len 1).
 */
static char *pg_array(const void *ctx, size_t n, pg_elem_fn elem,
                      uint32_t elem_oid, size_t *len) {
  size_t total = 20;
  for (size_t i = 0; i < n; i++) {
    size_t elen;
    (void)elem(ctx, i, &elen);
    if (elen > PG_ARRAY_MAX || total + 4 + elen > PG_ARRAY_MAX) {
      *len = 0;
      return NULL;
    }
    total += 4 + elen;
  }
  uint8_t *buf = malloc(total);
  if (buf == NULL) {
    *len = 1;
    return NULL;
  }
  put32(buf, 1);
  put32(buf + 4, 0);
  put32(buf + 8, elem_oid);
  put32(buf + 12, (uint32_t)n);
  put32(buf + 16, 1);
  size_t at = 20;
  for (size_t i = 0; i < n; i++) {
    size_t elen;
    const void *bytes = elem(ctx, i, &elen);
    put32(buf + at, (uint32_t)elen);
    at += 4;
    if (elen > 0) memcpy(buf + at, bytes, elen);
    at += elen;
  }
  *len = total;
  return (char *)buf;
}

static const void *text_elem(const void *ctx, size_t i, size_t *len) {
  const char *const *texts = ctx;
  *len = strlen(texts[i]);
  return texts[i];
}

/* ---- checking the target ------------------------------------------------- */

/* A catalog query with text parameters; *out is NULL unless it succeeded
 * (a failure of ours, or of the connection: never the operator's). */
static int pg_query(pg_store *s, PGresult **out, const char *sql, int n,
                    const char *const *params, store_error *err) {
  *out = PQexecParams(s->conn, sql, n, NULL, params, NULL, NULL, 0);
  if (PQresultStatus(*out) == PGRES_TUPLES_OK) return STORE_OK;
  int rc = pg_fail_result(s, *out, err, "reading the catalog");
  if (rc == STORE_EUSAGE) rc = STORE_EIO;
  PQclear(*out);
  *out = NULL;
  return rc;
}

static const char *relkind_name(char kind) {
  switch (kind) {
    case 'v':
      return "a view";
    case 'f':
      return "a foreign table";
    case 'S':
      return "a sequence";
    case 'i':
    case 'I':
      return "an index";
    case 'c':
      return "a composite type";
    case 't':
      return "a TOAST table";
  }
  return "not a table";
}

/* A column of the table: its number, NOT NULL, and whether it is bytea;
 * its type for messages (printable) and for casts (as the server quoted
 * it; empty when longer than the buffer). */
typedef struct pg_column {
  char attnum[8];
  int not_null;
  int is_bytea;
  char type[64];
  char cast_type[320];
  /* An enum type: its oid and its array type's oid (0 otherwise). */
  Oid enum_oid;
  Oid enum_array_oid;
  int is_text; /* text or varchar */
} pg_column;

/* 1 with @p out filled, 0 when the table has no such column, or < 0. */
static int pg_find_column(pg_store *s, pg_column *out, const char *name,
                          store_error *err) {
  static const char sql[] =
      "SELECT a.attnum, a.attnotnull,"
      " a.atttypid = 'pg_catalog.bytea'::pg_catalog.regtype::pg_catalog.oid,"
      " pg_catalog.format_type(a.atttypid, a.atttypmod),"
      /* -1, not NULL: a typmod "given" as -1 names bpchar as bpchar, where
       * NULL would say "character", which is character(1). Without the
       * typmod a cast never truncates. */
      " pg_catalog.format_type(a.atttypid, -1),"
      " CASE WHEN t.typtype = 'e' THEN t.oid ELSE 0 END,"
      " CASE WHEN t.typtype = 'e' THEN t.typarray ELSE 0 END,"
      " a.atttypid IN ('pg_catalog.text'::pg_catalog.regtype,"
      " 'pg_catalog.varchar'::pg_catalog.regtype)"
      " FROM pg_catalog.pg_attribute a"
      " JOIN pg_catalog.pg_type t ON t.oid = a.atttypid"
      " WHERE a.attrelid = $1::pg_catalog.oid"
      " AND a.attname = $2::pg_catalog.name"
      " AND a.attnum > 0 AND NOT a.attisdropped";
  const char *params[] = {s->relid, name};
  PGresult *res;
  int rc = pg_query(s, &res, sql, 2, params, err);
  if (rc != STORE_OK) return rc;
  int found = PQntuples(res) == 1;
  if (found) {
    printable(out->attnum, sizeof out->attnum, PQgetvalue(res, 0, 0));
    out->not_null = PQgetvalue(res, 0, 1)[0] == 't';
    out->is_bytea = PQgetvalue(res, 0, 2)[0] == 't';
    printable(out->type, sizeof out->type, PQgetvalue(res, 0, 3));
    const char *cast = PQgetvalue(res, 0, 4);
    size_t len = strlen(cast);
    if (len < sizeof out->cast_type)
      memcpy(out->cast_type, cast, len + 1);
    else
      out->cast_type[0] = '\0';
    out->enum_oid = (Oid)strtoul(PQgetvalue(res, 0, 5), NULL, 10);
    out->enum_array_oid = (Oid)strtoul(PQgetvalue(res, 0, 6), NULL, 10);
    out->is_text = PQgetvalue(res, 0, 7)[0] == 't';
  }
  PQclear(res);
  return found;
}

enum { PG_PENDING, PG_IN_FLIGHT, PG_READ };

/* One of the state arrays of @p s, into s->state_array[@p which]. */
static int pg_state_array(pg_store *s, int which, char *const *states, size_t n,
                          Oid elem_oid, store_error *err) {
  s->state_array[which] =
      pg_array(states, n, text_elem, elem_oid, &s->state_len[which]);
  if (s->state_array[which] == NULL)
    return pg_fail(s, err, STORE_ENOMEM, "out of memory");
  return STORE_OK;
}

/*
 * A queue's state column, when it names one, is a column of the table
 * (after pg_check_target, which found the table), and its states become
 * the array parameters the statements bind (s->state_array). For an enum
 * column the reads' array holds the states that are labels of the enum:
 * any other state no row can hold, and array_recv would refuse it.
 */
static int pg_check_state_column(pg_store *s, const store_target *target,
                                 store_error *err) {
  if (!store_kind_is_queue(target->kind) || target->state_column == NULL)
    return STORE_OK;
  pg_column col;
  int found = pg_find_column(s, &col, target->state_column, err);
  if (found < 0) return found;
  if (found == 0) {
    char name[72];
    printable(name, sizeof name, target->state_column);
    return pg_fail(s, err, STORE_EUSAGE, "no column '%s' (the state column)",
                   name);
  }
  int rc = store__states_of(&s->states, target, err);
  if (rc != STORE_OK) return rc;
  char **items = s->states.items;
  size_t np = s->states.n_pending, nf = s->states.n_in_flight;
  rc = pg_state_array(s, PG_PENDING, items, np, PG_TEXT_OID, err);
  if (rc == STORE_OK)
    rc = pg_state_array(s, PG_IN_FLIGHT, items + np, nf, PG_TEXT_OID, err);
  if (rc != STORE_OK) return rc;
  s->read_type = PG_TEXT_ARRAY_OID;
  if (col.enum_oid == 0 || col.enum_array_oid == 0)
    return pg_state_array(s, PG_READ, items, np + nf, PG_TEXT_OID, err);

  char oid[16];
  snprintf(oid, sizeof oid, "%u", (unsigned)col.enum_oid);
  const char *params[1] = {oid};
  PGresult *res;
  rc = pg_query(s, &res,
                "SELECT e.enumlabel FROM pg_catalog.pg_enum e"
                " WHERE e.enumtypid = $1::pg_catalog.oid",
                1, params, err);
  if (rc != STORE_OK) return rc;
  char **labels = malloc((np + nf) * sizeof *labels);
  size_t n = 0;
  for (size_t i = 0; labels != NULL && i < np + nf; i++)
    for (int r = 0; r < PQntuples(res); r++)
      if (strcmp(PQgetvalue(res, r, 0), items[i]) == 0) {
        labels[n++] = items[i];
        break;
      }
  PQclear(res);
  if (labels == NULL) return pg_fail(s, err, STORE_ENOMEM, "out of memory");
  rc = pg_state_array(s, PG_READ, labels, n, (uint32_t)col.enum_oid, err);
  free(labels);
  s->read_type = col.enum_array_oid;
  return rc;
}

/* The columns of the table's primary key, in its order, into s->key_cols
 * (none: s->nk = 0). */
static int pg_primary_key(pg_store *s, store_error *err) {
  static const char sql[] =
      "SELECT a.attname FROM pg_catalog.pg_index i"
      " CROSS JOIN LATERAL pg_catalog.generate_series(0, i.indnkeyatts - 1)"
      "  AS k(n)"
      " JOIN pg_catalog.pg_attribute a"
      "  ON a.attrelid = i.indrelid AND a.attnum = i.indkey[k.n]"
      " WHERE i.indrelid = $1::pg_catalog.oid AND i.indisprimary"
      " ORDER BY k.n";
  const char *params[] = {s->relid};
  PGresult *res;
  int rc = pg_query(s, &res, sql, 1, params, err);
  if (rc != STORE_OK) return rc;
  int n = PQntuples(res);
  if (n > STORE_KEY_COLUMNS_MAX) {
    PQclear(res);
    return pg_fail(s, err, STORE_EUSAGE,
                   "the primary key has more than %d columns",
                   STORE_KEY_COLUMNS_MAX);
  }
  for (int i = 0; i < n; i++)
    snprintf(s->key_cols[i], sizeof s->key_cols[i], "%s",
             PQgetvalue(res, i, 0));
  s->nk = (size_t)n;
  PQclear(res);
  return STORE_OK;
}

/*
 * Whether the key's columns (their numbers, sorted, as an int2[] literal
 * @p attnums) are those of an index that names rows: valid, with exactly
 * these key columns (INCLUDE columns aside), the primary key or unique over
 * all rows (no predicate) on NOT NULL columns. Materialized views have no
 * NOT NULL columns: their unique index is taken, and a NULL key found by
 * the scan is an error then. Also says whether the table has any key.
 */
static int pg_is_key(pg_store *s, const char *attnums, int *key_ok,
                     int *any_key, store_error *err) {
  static const char sql[] =
      "SELECT"
      " COALESCE(pg_catalog.bool_or(k.cols OPERATOR(pg_catalog.=)"
      "  $2::pg_catalog.int2[]), false),"
      " pg_catalog.count(*) > 0"
      " FROM pg_catalog.pg_index i"
      " CROSS JOIN LATERAL (SELECT pg_catalog.array_agg(u.a ORDER BY u.a)"
      "  AS cols, pg_catalog.bool_and(c.attnotnull) AS notnull"
      "  FROM pg_catalog.unnest(i.indkey::pg_catalog.int2[])"
      "   WITH ORDINALITY AS u(a, o)"
      "  JOIN pg_catalog.pg_attribute c"
      "   ON c.attrelid = i.indrelid AND c.attnum = u.a"
      "  WHERE u.o <= i.indnkeyatts) k"
      " WHERE i.indrelid = $1::pg_catalog.oid AND i.indisvalid"
      " AND NOT (0 = ANY (i.indkey::pg_catalog.int2[]))"
      " AND (i.indisprimary OR (i.indisunique AND i.indpred IS NULL"
      "  AND (k.notnull OR $3::pg_catalog.bool)))";
  const char *params[] = {s->relid, attnums, s->is_matview ? "true" : "false"};
  PGresult *res;
  int rc = pg_query(s, &res, sql, 3, params, err);
  if (rc != STORE_OK) return rc;
  *key_ok = PQgetvalue(res, 0, 0)[0] == 't';
  *any_key = PQgetvalue(res, 0, 1)[0] == 't';
  PQclear(res);
  return STORE_OK;
}

static int cmp_attnum(const void *a, const void *b) {
  long x = *(const long *)a, y = *(const long *)b;
  return (x > y) - (x < y);
}

/*
 * Resolves the key: the columns the target names, or else the primary key,
 * whatever its columns; a table with neither is read with rows named by
 * ctid (and cannot be written: see store__postgres_open_writer). Each key
 * column's type is kept for casting key texts back to it.
 */
static int pg_check_key(pg_store *s, const store_target *target,
                        store_error *err) {
  int rc = store__key_columns(target->key, s->key_cols, &s->nk, err);
  if (rc != STORE_OK) return rc;
  int given = s->nk > 0;
  if (!given && (rc = pg_primary_key(s, err)) != STORE_OK) return rc;
  long attnums[STORE_KEY_COLUMNS_MAX];
  for (size_t i = 0; i < s->nk; i++) {
    char key_name[72];
    printable(key_name, sizeof key_name, s->key_cols[i]);
    pg_column key;
    rc = pg_find_column(s, &key, s->key_cols[i], err);
    if (rc < 0) return rc;
    if (rc == 0)
      return pg_fail(s, err, STORE_EUSAGE, "no key column '%s'", key_name);
    if (key.cast_type[0] == '\0')
      return pg_fail(s, err, STORE_EUSAGE,
                     "the type name of key column '%s' is too long", key_name);
    memcpy(s->key_types[i], key.cast_type, sizeof s->key_types[i]);
    attnums[i] = strtol(key.attnum, NULL, 10);
  }
  if (s->nk > 0) memcpy(s->key_type, s->key_types[0], sizeof s->key_type);
  store__key_set(&s->base, s->key_cols, s->nk);
  if (!given) return STORE_OK;
  qsort(attnums, s->nk, sizeof attnums[0], cmp_attnum);
  char list[STORE_KEY_COLUMNS_MAX * 8 + 4] = "{";
  for (size_t i = 0; i < s->nk; i++)
    snprintf(list + strlen(list), sizeof list - strlen(list), "%s%ld",
             i > 0 ? "," : "", attnums[i]);
  strcat(list, "}");
  int key_ok = 0, any_key = 0;
  rc = pg_is_key(s, list, &key_ok, &any_key, err);
  if (rc != STORE_OK) return rc;
  char shown[200];
  printable(shown, sizeof shown, target->key);
  if (!key_ok && !any_key)
    return pg_fail(s, err, STORE_EUSAGE,
                   "refusing a table without a primary key or unique "
                   "not-null column as keyed by '%s'; without --key, scan "
                   "names its rows by ctid (positions), and fix needs a key",
                   shown);
  if (!key_ok)
    return pg_fail(s, err, STORE_EUSAGE,
                   "'%s' is neither the primary key nor a unique not-null "
                   "column (nor the columns of a unique index on not-null "
                   "columns); rollsafe needs one to name rows",
                   shown);
  return STORE_OK;
}

/*
 * The record column's type, before any row is judged: bytea holds record
 * bytes, text and varchar hold records encoded as text (and bytea may hold
 * the bytes of such text too); nothing else holds records.
 */
static int pg_check_value_column(pg_store *s, const pg_column *column,
                                 const char *name, store_values values,
                                 store_error *err) {
  if (!column->is_bytea && !column->is_text)
    return pg_fail(s, err, STORE_EUSAGE,
                   "column '%s' is %s, which cannot hold records whatever "
                   "the column encoding; rollsafe reads them from bytea "
                   "columns, or from text or varchar columns with "
                   "--column-encoding base64 or hex",
                   name, column->type);
  if (column->is_text && values == STORE_VALUES_BINARY)
    return pg_fail(s, err, STORE_EUSAGE,
                   "column '%s' is %s; records stored as text need "
                   "--column-encoding base64 or hex",
                   name, column->type);
  s->value_pre = column->is_text ? "pg_catalog.convert_from(" : "";
  s->value_post = column->is_text ? ", 'UTF8')" : "";
  return STORE_OK;
}

/*
 * Resolves schema.table to one relation and checks key and column. Every
 * value is a bound parameter; names are matched as stored in the catalog
 * (no case folding, no quote removal).
 */
static int pg_check_target(pg_store *s, const char *schema, const char *table,
                           const store_target *target, store_error *err) {
  static const char rel_sql[] =
      "SELECT c.oid, c.relkind, c.relhassubclass FROM pg_catalog.pg_class c"
      " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
      " WHERE n.nspname = $1::pg_catalog.name"
      " AND c.relname = $2::pg_catalog.name";
  const char *rel_params[] = {schema, table};
  PGresult *res;
  int rc = pg_query(s, &res, rel_sql, 2, rel_params, err);
  if (rc != STORE_OK) return rc;
  if (PQntuples(res) != 1) {
    PQclear(res);
    return pg_fail(s, err, STORE_EUSAGE,
                   "no such table (names are matched exactly: no case "
                   "folding, no quotes)");
  }
  printable(s->relid, sizeof s->relid, PQgetvalue(res, 0, 0));
  char kind = PQgetvalue(res, 0, 1)[0];
  s->has_children = kind == 'p' || PQgetvalue(res, 0, 2)[0] == 't';
  PQclear(res);
  if (kind != 'r' && kind != 'p' && kind != 'm')
    return pg_fail(s, err, STORE_EUSAGE,
                   "is %s; rollsafe scans tables and materialized views",
                   relkind_name(kind));
  if (s->writer && kind == 'm')
    return pg_fail(s, err, STORE_EUSAGE,
                   "is a materialized view; rollsafe rewrites records in "
                   "tables only");
  s->is_matview = kind == 'm';

  char column_name[64];
  printable(column_name, sizeof column_name, target->column);
  pg_column column;
  rc = pg_find_column(s, &column, target->column, err);
  if (rc < 0) return rc;
  if (rc == 0)
    return pg_fail(s, err, STORE_EUSAGE, "no column '%s'", column_name);
  rc = pg_check_value_column(s, &column, column_name, target->values, err);
  if (rc != STORE_OK) return rc;
  return pg_check_key(s, target, err);
}

/* A malloc'd printf; NULL when out of memory. */
#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
static char *
pg_sprintf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int len = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (len < 0) return NULL;
  char *out = malloc((size_t)len + 1);
  if (out == NULL) return NULL;
  va_start(ap, fmt);
  vsnprintf(out, (size_t)len + 1, fmt, ap);
  va_end(ap);
  return out;
}

/*
 * The reads' condition on the state column @p qualified (quoted, named as
 * the statement names its table) with the read states as parameter
 * $@p param. Compared as text (`"state"::text`), a text or varchar column
 * keeps its index (the cast is a relabeling the planner sees through); an
 * enum column is compared in its own type, against the array of its labels,
 * so that its index serves too. A column of another type (char(n), a
 * domain) is compared by its text, without its index. Malloc'd; NULL when
 * out of memory.
 */
static char *pg_read_condition(const pg_store *s, const char *qualified,
                               int param) {
  if (s->read_type != PG_TEXT_ARRAY_OID)
    return pg_sprintf("%s = ANY ($%d)", qualified, param);
  return pg_sprintf("%s::pg_catalog.text = ANY ($%d::pg_catalog.text[])",
                    qualified, param);
}

/* @p name quoted by libpq (free with PQfreemem); NULL with @p err filled. */
static char *pg_quote(pg_store *s, const char *name, store_error *err) {
  char *q = PQescapeIdentifier(s->conn, name, strlen(name));
  if (q == NULL) {
    char why[160];
    first_line(why, sizeof why, PQerrorMessage(s->conn));
    pg_fail(s, err, STORE_EUSAGE, "cannot quote a name: %s", why);
  }
  return q;
}

/* The state column qualified by the quoted schema and table @p q[0..1], as
 * statements that name the table unaliased (for --where) name it; its
 * reads' condition with the read states as $@p param into *out. */
static int pg_read_condition_of(pg_store *s, char *const q[2],
                                const char *state_column, int param, char **out,
                                store_error *err) {
  *out = NULL;
  char *state = pg_quote(s, state_column, err);
  if (state == NULL) return err != NULL ? err->status : STORE_EUSAGE;
  char *qualified = pg_sprintf("%s.%s.%s", q[0], q[1], state);
  PQfreemem(state);
  if (qualified != NULL) *out = pg_read_condition(s, qualified, param);
  free(qualified);
  return *out != NULL ? STORE_OK
                      : pg_fail(s, err, STORE_ENOMEM, "out of memory");
}

/* Schema, table, key and column of the target, each quoted by libpq into
 * q[0..3] (free with PQfreemem, also on failure). */
static int pg_quote_names(pg_store *s, const char *schema, const char *table,
                          const store_target *target, char *q[4],
                          store_error *err) {
  const char *names[4] = {schema, table,
                          s->nk > 0 ? s->key_cols[0] : target->column,
                          target->column};
  for (int i = 0; i < 4; i++) q[i] = NULL;
  for (int i = 0; i < 4; i++)
    if ((q[i] = pg_quote(s, names[i], err)) == NULL) return STORE_EUSAGE;
  return STORE_OK;
}

/* What pg_key_sql builds. */
typedef enum pg_key_form {
  PG_KEY_TEXT,  /* the key's text form (store.h) of the row @p prefix */
  PG_KEY_LIST,  /* its columns, for ORDER BY */
  PG_KEY_MATCH, /* the row whose key's text form is @p src */
  PG_KEY_AFTER  /* the rows after the key whose text form is @p src */
} pg_key_form;

/*
 * SQL on the key's columns, each quoted by libpq and qualified by
 * @p prefix ("rs_t", or a quoted schema.table). A key of one column is
 * compared in its own type (src::type; after: untyped, the server infers
 * the column's type); a key of several has the JSON array form, which the
 * server takes apart (jsonb_extract_path_text) and casts part by part, so
 * that the comparison is on the columns themselves and the key's index
 * serves it. Without a key the text form is the row's position. Malloc'd;
 * NULL when out of memory or a name cannot be quoted.
 */
static char *pg_key_sql(pg_store *s, pg_key_form form, const char *prefix,
                        const char *src) {
  if (s->nk == 0)
    return form != PG_KEY_TEXT ? NULL
           : s->has_children
               ? pg_sprintf(
                     "pg_catalog.concat(%s.tableoid::pg_catalog."
                     "regclass, ' ctid ', %s.ctid)",
                     prefix, prefix)
               : pg_sprintf("pg_catalog.concat('ctid ', %s.ctid)", prefix);
  if (s->nk == 1 && form != PG_KEY_LIST) {
    char *q =
        PQescapeIdentifier(s->conn, s->key_cols[0], strlen(s->key_cols[0]));
    char *out = q == NULL ? NULL
                : form == PG_KEY_TEXT
                    ? pg_sprintf("%s.%s::pg_catalog.text", prefix, q)
                : form == PG_KEY_MATCH
                    ? pg_sprintf("%s.%s = %s::%s", prefix, q, src, s->key_type)
                    : pg_sprintf("%s.%s > %s", prefix, q, src);
    PQfreemem(q);
    return out;
  }
  size_t cap =
      64 + s->nk * (strlen(prefix) + 512 + 2 * (src != NULL ? strlen(src) : 0));
  char *cols = malloc(cap), *vals = malloc(cap);
  int ok = cols != NULL && vals != NULL;
  size_t nc = 0, nv = 0;
  for (size_t i = 0; ok && i < s->nk; i++) {
    char *q =
        PQescapeIdentifier(s->conn, s->key_cols[i], strlen(s->key_cols[i]));
    ok = q != NULL;
    if (ok)
      nc += (size_t)snprintf(cols + nc, cap - nc, "%s%s.%s", i ? ", " : "",
                             prefix, q);
    if (ok && src != NULL)
      nv += (size_t)snprintf(
          vals + nv, cap - nv,
          "%s(pg_catalog.jsonb_extract_path_text(%s::pg_catalog.jsonb,"
          " '%zu'))::%s",
          i ? ", " : "", src, i, s->key_types[i]);
    PQfreemem(q);
    ok = ok && nc < cap && nv < cap;
  }
  char *out = !ok                   ? NULL
              : form == PG_KEY_LIST ? pg_sprintf("%s", cols)
              : form == PG_KEY_TEXT
                  ? pg_sprintf(
                        "pg_catalog.json_build_array(%s)::pg_catalog."
                        "text",
                        cols)
                  : pg_sprintf("(%s) %s (%s)", cols,
                               form == PG_KEY_MATCH ? "=" : ">", vals);
  free(cols);
  free(vals);
  return out;
}

/* The width of an integer key column's binary form; 0 for other types. The
 * names are format_type's for int2, int4 and int8 (a domain over one of
 * them has its own name, and goes as text). */
static int pg_key_int_width(const char *type) {
  if (strcmp(type, "bigint") == 0) return 8;
  if (strcmp(type, "integer") == 0) return 4;
  if (strcmp(type, "smallint") == 0) return 2;
  return 0;
}

/* Whether the table is an ordinary heap table without children: 1, 0, or
 * < 0 on a failed query. */
static int pg_plain_heap(pg_store *s, store_error *err) {
  static const char sql[] =
      "SELECT c.relkind OPERATOR(pg_catalog.=) 'r' AND NOT c.relhassubclass"
      " FROM pg_catalog.pg_class c WHERE c.oid = $1::pg_catalog.oid";
  const char *params[] = {s->relid};
  PGresult *res;
  int rc = pg_query(s, &res, sql, 1, params, err);
  if (rc != STORE_OK) return rc;
  int plain = PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't';
  PQclear(res);
  return plain;
}

/*
 * Whether the scan may read the table itself, COPY table (key, column),
 * rather than a query: the server then skips the executor and spends less
 * per row. Only for an ordinary table without inheritance children (COPY
 * table TO reads no child's rows, which a SELECT would), with no --where,
 * and a key whose binary form is what the scan wants: an integer, or text
 * and varchar, whose binary form is their text (not character(n), whose
 * ::text drops the padding). 1, 0, or < 0 on a failed query.
 */
static int pg_copy_table_itself(pg_store *s, int has_where, store_error *err) {
  if (has_where || s->nk != 1) return 0;
  if (s->key_int_width == 0 && strcmp(s->key_type, "text") != 0 &&
      strcmp(s->key_type, "character varying") != 0)
    return 0;
  return pg_plain_heap(s, err);
}

/*
 * What a sample reads and from how many rows: SYSTEM reads each block
 * with probability percent / 100, so each row too. REPEATABLE draws the
 * same block numbers in every heap of the scan (each partition, each
 * inheritance child, the parent itself), so the heaps' blocks of one
 * number are read together: `groups`. The population is the sum of the
 * heaps' reltuples (as of their last VACUUM or ANALYZE) when every heap
 * has one and the scan reads them whole; with a condition (--where, a
 * queue's states) or a heap never analysed, it is unknown here.
 */
static int pg_sample_info(pg_store *s, const store_sample *sample,
                          int has_condition, store_error *err) {
  store_sample_info *info = &s->base.sample;
  info->fraction = sample->percent / 100.0;
  info->population = -1;
  info->groups = 1;
  snprintf(info->method, sizeof info->method,
           "TABLESAMPLE SYSTEM (%.9g) REPEATABLE (%lu): each block with "
           "probability %.9g%%",
           sample->percent, (unsigned long)sample->seed, sample->percent);
  static const char sql[] =
      "WITH RECURSIVE tree(oid) AS (SELECT $1::pg_catalog.oid UNION ALL"
      " SELECT i.inhrelid FROM pg_catalog.pg_inherits i JOIN tree t"
      " ON i.inhparent OPERATOR(pg_catalog.=) t.oid)"
      " SELECT pg_catalog.count(*), pg_catalog.bool_and(c.reltuples"
      " OPERATOR(pg_catalog.>=) 0), "
      "pg_catalog.sum(c.reltuples)::pg_catalog.int8"
      " FROM tree t JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=)"
      " t.oid WHERE c.relkind OPERATOR(pg_catalog.=) ANY"
      " ('{r,m}'::pg_catalog.\"char\"[])";
  const char *params[] = {s->relid};
  PGresult *res;
  int rc = pg_query(s, &res, sql, 1, params, err);
  if (rc != STORE_OK) return rc;
  if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0)) {
    long long heaps = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    if (heaps > 1) info->groups = (unsigned)(heaps > 65535 ? 65535 : heaps);
    long long n =
        PQgetisnull(res, 0, 2) ? -1 : strtoll(PQgetvalue(res, 0, 2), NULL, 10);
    if (!has_condition && !PQgetisnull(res, 0, 1) &&
        PQgetvalue(res, 0, 1)[0] == 't' && n > 0)
      info->population = n;
  }
  PQclear(res);
  return STORE_OK;
}

/* COPY (SELECT key::text, column FROM schema.table WHERE (...)) with every
 * identifier quoted by libpq; an integer key without the cast (converting
 * it costs the server more than it costs the scan to spell it); or, when
 * pg_copy_table_itself says so, COPY schema.table (key, column). */
static int pg_build_sql(pg_store *s, const char *schema, const char *table,
                        const store_target *target, const store_sample *sample,
                        store_error *err) {
  char *quoted[4];
  int rc = pg_quote_names(s, schema, table, target, quoted, err);
  if (rc == STORE_OK) {
    /*
     * --where is the operator's own SQL and goes in as they wrote it, in
     * parentheses, on lines of its own so that a trailing "--" comment
     * cannot swallow the closing parenthesis. It can still read whatever
     * their role may read, but it runs as one statement (PQexecParams
     * takes no second one) in the READ ONLY transaction.
     */
    const char *where = target->where;
    int has_where = where != NULL && where[0] != '\0';
    s->key_int_width = s->nk == 1 ? pg_key_int_width(s->key_type) : 0;
    /* The key as the scan reads it: one column by itself (an integer in
     * binary, anything else as text), several as their JSON array, none
     * as the row's position. */
    char *table_ref = pg_sprintf("%s.%s", quoted[0], quoted[1]);
    char *key = NULL;
    if (table_ref != NULL && s->nk == 1)
      key = pg_sprintf("%s.%s%s", table_ref, quoted[2],
                       s->key_int_width != 0 ? "" : "::pg_catalog.text");
    else if (table_ref != NULL)
      key = pg_key_sql(s, PG_KEY_TEXT, table_ref, NULL);
    free(table_ref);
    if (key == NULL) rc = pg_fail(s, err, STORE_ENOMEM, "out of memory");
    /* A sample: TABLESAMPLE SYSTEM after the table, which every form of
     * the statement below names once. The percent and seed are numbers of
     * ours, written into the statement. */
    char tablesample[96] = "";
    if (sample != NULL)
      snprintf(tablesample, sizeof tablesample,
               " TABLESAMPLE SYSTEM (%.9g) REPEATABLE (%lu)", sample->percent,
               (unsigned long)sample->seed);
    /* Each sampled row's cluster, the block it was drawn with: the
     * partition's (or child's) oid in the high 32 bits, the block number
     * in the low ones, an int8 in binary (the estimates' variance, see
     * store_row.cluster). */
    const char *cluster =
        sample == NULL
            ? ""
            : ", (tableoid::pg_catalog.int8 OPERATOR(pg_catalog.<<) 32) "
              "OPERATOR(pg_catalog.|) "
              "((ctid::pg_catalog.text)::pg_catalog.point)[0]::pg_catalog.int8";
    s->sampled = sample != NULL;
    /* A queue's states are bound, and COPY takes no parameters: a SELECT
     * read in single-row mode, the states $1, the row's fields in binary
     * as COPY sends them. */
    s->scan_select = s->state_array[PG_READ] != NULL;
    int itself = s->scan_select || rc != STORE_OK || sample != NULL
                     ? 0
                     : pg_copy_table_itself(s, has_where, err);
    char *cond = NULL;
    if (s->scan_select && rc == STORE_OK)
      rc = pg_read_condition_of(s, quoted, target->state_column, 1, &cond, err);
    if (rc != STORE_OK) {
      /* the message is in err */
    } else if (itself < 0) {
      rc = itself;
    } else if (s->scan_select) {
      s->copy_sql = pg_sprintf("SELECT %s, %s%s FROM %s.%s%s WHERE %s%s%s%s",
                               key, quoted[3], cluster, quoted[0], quoted[1],
                               tablesample, cond, has_where ? " AND (\n" : "",
                               has_where ? where : "", has_where ? "\n)" : "");
    } else if (itself) {
      s->copy_sql = pg_sprintf("COPY %s.%s (%s, %s) TO STDOUT (FORMAT binary)",
                               quoted[0], quoted[1], quoted[2], quoted[3]);
    } else {
      s->copy_sql = pg_sprintf(
          "COPY (SELECT %s, %s%s FROM %s.%s%s%s%s%s) TO STDOUT "
          "(FORMAT binary)",
          key, quoted[3], cluster, quoted[0], quoted[1], tablesample,
          has_where ? " WHERE (\n" : "", has_where ? where : "",
          has_where ? "\n)" : "");
    }
    if (rc == STORE_OK && s->copy_sql == NULL)
      rc = pg_fail(s, err, STORE_ENOMEM, "out of memory");
    /* Block ranges read rows in the order a whole scan does only on one
     * heap: not on a partitioned table, nor one with children, nor with a
     * condition that an index may serve. A sample is read whole: its
     * blocks are chosen over the whole table. */
    int plain =
        rc == STORE_OK && !s->scan_select && !has_where && sample == NULL
            ? pg_plain_heap(s, err)
            : 0;
    if (plain < 0) {
      rc = plain;
    } else if (plain) {
      s->range_select = pg_sprintf("SELECT %s, %s FROM %s.%s", key, quoted[3],
                                   quoted[0], quoted[1]);
      if (s->range_select == NULL)
        rc = pg_fail(s, err, STORE_ENOMEM, "out of memory");
    }
    if (rc == STORE_OK && sample != NULL)
      rc = pg_sample_info(s, sample, has_where || s->scan_select, err);
    free(cond);
    free(key);
  }
  for (int i = 0; i < 4; i++) PQfreemem(quoted[i]);
  return rc;
}

/* ---- the binary COPY format --------------------------------------------- */

static const uint8_t copy_signature[11] = {'P',  'G',  'C',  'O',  'P', 'Y',
                                           '\n', 0xff, '\r', '\n', 0};

static uint32_t get32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         (uint32_t)p[3];
}

int store__pg_copy_header(const uint8_t *buf, size_t len, size_t *pos,
                          const char **why) {
  size_t at = *pos;
  if (len - at < sizeof copy_signature + 8) {
    *why = "header shorter than its 19 bytes";
    return -1;
  }
  if (memcmp(buf + at, copy_signature, sizeof copy_signature) != 0) {
    *why = "no PGCOPY signature";
    return -1;
  }
  at += sizeof copy_signature;
  /* Bits 16-31 of the flags are critical (16: OIDs follow, which our
   * query never asks for); bits 0-15 may be ignored. */
  if ((get32(buf + at) & 0xffff0000u) != 0) {
    *why = "header flags this reader does not know";
    return -1;
  }
  at += 4;
  uint32_t ext = get32(buf + at);
  at += 4;
  if (ext > len - at) {
    *why = "header extension runs past the end of its message";
    return -1;
  }
  *pos = at + ext;
  return 0;
}

/* A tuple of @p n fields (see store__pg_copy_tuple). */
static int pg_copy_tuple_n(const uint8_t *buf, size_t len, size_t *pos, int n,
                           const uint8_t **field, int32_t *field_len,
                           const char **why);

int store__pg_copy_tuple(const uint8_t *buf, size_t len, size_t *pos,
                         const uint8_t *field[2], int32_t field_len[2],
                         const char **why) {
  return pg_copy_tuple_n(buf, len, pos, 2, field, field_len, why);
}

static int pg_copy_tuple_n(const uint8_t *buf, size_t len, size_t *pos, int n,
                           const uint8_t **field, int32_t *field_len,
                           const char **why) {
  /*
   * The server sends one tuple per CopyData message and libpq hands out
   * whole messages, so a tuple that runs past its message is malformed,
   * never continued in the next one.
   */
  size_t at = *pos;
  if (len - at < 2) {
    *why = "tuple header runs past the end of its message";
    return -1;
  }
  uint16_t count = (uint16_t)(buf[at] << 8 | buf[at + 1]);
  at += 2;
  if (count == 0xffff) { /* -1: the trailer */
    *pos = at;
    return 0;
  }
  if (count != n) {
    *why = n == 2 ? "tuple does not have the 2 fields the query selects"
                  : "tuple does not have the 3 fields the query selects";
    return -1;
  }
  for (int i = 0; i < n; i++) {
    if (len - at < 4) {
      *why = "field length runs past the end of its message";
      return -1;
    }
    uint32_t flen = get32(buf + at);
    at += 4;
    if (flen == 0xffffffffu) { /* -1: NULL, no bytes follow */
      field[i] = NULL;
      field_len[i] = -1;
      continue;
    }
    if (flen > INT32_MAX) {
      *why = "negative field length";
      return -1;
    }
    if (flen > len - at) {
      *why = "field runs past the end of its message";
      return -1;
    }
    field[i] = buf + at;
    field_len[i] = (int32_t)flen;
    at += flen;
  }
  *pos = at;
  return 1;
}

/* ---- the store operations ------------------------------------------------ */

/* Asks the server to stop a running COPY (or SELECT), then drops the
 * connection: nothing left in flight is read. */
static void pg_release(pg_store *s) {
  if (s->conn != NULL && s->copy_active) {
    PGcancel *cancel = PQgetCancel(s->conn);
    if (cancel != NULL) {
      char ignored[256];
      (void)PQcancel(cancel, ignored, sizeof ignored);
      PQfreeCancel(cancel);
    }
  }
  s->copy_active = 0;
  PQfreemem(s->buf);
  s->buf = NULL;
  s->buf_len = s->pos = 0;
  PQclear(s->row_res);
  s->row_res = NULL;
  s->row_unread = 0;
  PQfinish(s->conn);
  s->conn = NULL;
}

/* Block ranges of the heap, from its size: TID range scans (PostgreSQL
 * 14 and later) read each range's blocks in the order a sequential scan
 * does. The last range is open, so that it reads whatever blocks the
 * size did not count. */
static int pg_split(store *base, unsigned n, store_range *out, size_t *n_out,
                    store_error *err) {
  pg_store *s = (pg_store *)base;
  memset(&out[0], 0, sizeof out[0]);
  *n_out = 1;
  if (s->range_select == NULL || s->state != PG_IDLE) return STORE_OK;
  static const char sql[] =
      "SELECT pg_catalog.pg_relation_size($1::pg_catalog.oid) OPERATOR("
      "pg_catalog./) pg_catalog.current_setting('block_size')::pg_catalog.int8";
  const char *params[] = {s->relid};
  PGresult *res;
  int rc = pg_query(s, &res, sql, 1, params, err);
  if (rc != STORE_OK) return rc;
  int64_t blocks = PQntuples(res) == 1 && !PQgetisnull(res, 0, 0)
                       ? strtoll(PQgetvalue(res, 0, 0), NULL, 10)
                       : 0;
  PQclear(res);
  if (blocks > 1) store__split_span(0, blocks - 1, n, out, n_out);
  return STORE_OK;
}

static int pg_export_snapshot(store *base, char *out, size_t cap,
                              store_error *err) {
  pg_store *s = (pg_store *)base;
  if (s->state != PG_IDLE)
    return pg_fail(s, err, STORE_EUSAGE, "cannot export a snapshot now");
  PGresult *res;
  int rc =
      pg_query(s, &res, "SELECT pg_catalog.pg_export_snapshot()", 0, NULL, err);
  if (rc != STORE_OK) {
    s->state = PG_FAILED; /* the transaction is aborted now */
    return rc;
  }
  const char *name = PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "";
  if (strlen(name) + 1 > cap || name[0] == '\0')
    rc = pg_fail(s, err, STORE_EIO, "unexpected snapshot name '%.60s'", name);
  else
    memcpy(out, name, strlen(name) + 1);
  PQclear(res);
  return rc;
}

static int pg_set_range(store *base, const store_range *r, store_error *err) {
  pg_store *s = (pg_store *)base;
  if (s->range_select == NULL || s->state != PG_IDLE)
    return pg_fail(s, err, STORE_EUSAGE, "cannot be read by block ranges");
  /* The bounds are integers of ours, written into the statement. */
  char lo[64] = "", hi[64] = "";
  if (r->has_lo)
    snprintf(lo, sizeof lo, "ctid OPERATOR(pg_catalog.>=) '(%lld,0)'",
             (long long)r->lo);
  if (r->has_hi)
    snprintf(hi, sizeof hi, "ctid OPERATOR(pg_catalog.<) '(%lld,0)'",
             (long long)r->hi);
  char *sql = pg_sprintf("COPY (%s WHERE %s%s%s) TO STDOUT (FORMAT binary)",
                         s->range_select, lo,
                         r->has_lo && r->has_hi ? " AND " : "", hi);
  if (sql == NULL) return pg_fail(s, err, STORE_ENOMEM, "out of memory");
  free(s->copy_sql);
  s->copy_sql = sql;
  return STORE_OK;
}

static int64_t pg_estimate_rows(store *base) {
  pg_store *s = (pg_store *)base;
  /* No query can run beside a COPY, nor after an error ended the
   * transaction. */
  if (s->conn == NULL || s->state == PG_COPY || s->state == PG_FAILED)
    return -1;
  const char *params[] = {s->relid};
  PGresult *res = PQexecParams(
      s->conn,
      "SELECT c.reltuples::pg_catalog.int8 FROM pg_catalog.pg_class c"
      " WHERE c.oid = $1::pg_catalog.oid",
      1, NULL, params, NULL, NULL, 0);
  int64_t rows = -1;
  if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
      !PQgetisnull(res, 0, 0))
    rows = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
  else if (PQresultStatus(res) != PGRES_TUPLES_OK)
    s->state = PG_FAILED; /* the transaction is aborted now */
  PQclear(res);
  /* reltuples is -1 for a table never vacuumed or analysed. */
  return rows < 0 ? -1 : rows;
}

/* A scan by SELECT has failed on s->row_res (NULL: the connection): what
 * follows of its results is dropped. */
static int pg_select_failed(pg_store *s, store_error *err, const char *doing) {
  int rc = pg_fail_result(s, s->row_res, err, doing);
  PQclear(s->row_res);
  s->row_res = NULL;
  s->row_unread = 0;
  PGresult *res;
  while (s->conn != NULL && (res = PQgetResult(s->conn)) != NULL) PQclear(res);
  s->copy_active = 0;
  s->state = PG_FAILED;
  return rc;
}

/* A queue's scan: its SELECT in single-row mode with the read states bound
 * in binary ($1), and the first result fetched at once, so that a failing
 * --where is reported here as it is for a COPY. */
static int pg_scan_select(pg_store *s, store_error *err) {
  const Oid types[1] = {s->read_type};
  const char *values[1] = {s->state_array[PG_READ]};
  const int lengths[1] = {(int)s->state_len[PG_READ]};
  const int formats[1] = {1};
  s->row_unread = 0;
  if (!PQsendQueryParams(s->conn, s->copy_sql, 1, types, values, lengths,
                         formats, 1))
    return pg_select_failed(s, err, "the scan query failed");
  s->state = PG_COPY;
  s->copy_active = 1;
  if (!PQsetSingleRowMode(s->conn))
    return pg_select_failed(s, err, "the scan query failed");
  s->row_res = PQgetResult(s->conn);
  ExecStatusType st = PQresultStatus(s->row_res);
  if (st != PGRES_SINGLE_TUPLE && st != PGRES_TUPLES_OK)
    return pg_select_failed(s, err, "the scan query failed");
  s->row_unread = 1;
  return STORE_OK;
}

static int pg_scan(store *base, store_error *err) {
  pg_store *s = (pg_store *)base;
  switch (s->state) {
    case PG_COPY:
      return pg_fail(s, err, STORE_EUSAGE, "a scan is already running");
    case PG_FAILED:
      return pg_fail(s, err, STORE_EIO,
                     "an earlier error ended this connection's transaction");
    case PG_CLOSED:
      return pg_fail(s, err, STORE_EUSAGE, "the scan was cancelled");
    case PG_IDLE:
    case PG_DONE:
      break;
  }
  /* PQexecParams (PQsendQueryParams), not PQexec: the extended protocol
   * runs one statement, whatever --where holds. */
  if (s->scan_select) return pg_scan_select(s, err);
  PGresult *res =
      PQexecParams(s->conn, s->copy_sql, 0, NULL, NULL, NULL, NULL, 0);
  if (PQresultStatus(res) != PGRES_COPY_OUT) {
    int rc = pg_fail_result(s, res, err, "the scan query failed");
    PQclear(res);
    s->state = PG_FAILED;
    return rc;
  }
  PQclear(res);
  s->state = PG_COPY;
  s->copy_active = 1;
  s->header_done = s->trailer_seen = 0;
  return STORE_OK;
}

/* The COPY has ended: its outcome is in the results that follow. */
static int pg_finish_copy(pg_store *s, store_error *err) {
  s->copy_active = 0;
  int rc = STORE_OK;
  PGresult *res;
  while ((res = PQgetResult(s->conn)) != NULL) {
    if (rc == STORE_OK && PQresultStatus(res) != PGRES_COMMAND_OK)
      rc = pg_fail_result(s, res, err, "the scan stopped");
    PQclear(res);
  }
  if (rc == STORE_OK && !s->trailer_seen)
    rc = pg_fail(s, err, STORE_EIO, "the COPY data ended without its trailer");
  s->state = rc == STORE_OK ? PG_DONE : PG_FAILED;
  return rc;
}

static int pg_malformed(pg_store *s, store_error *err, const char *why) {
  s->state = PG_FAILED;
  return pg_fail(s, err, STORE_EIO,
                 "malformed COPY data at byte %zu of a %zu-byte message: %s",
                 s->pos, s->buf_len, why);
}

/* A binary integer key: big-endian, two's complement, key_int_width
 * bytes. */
static int64_t pg_int_key(const pg_store *s, const uint8_t *p) {
  if (s->key_int_width == 2) return (int16_t)(uint16_t)(p[0] << 8 | p[1]);
  if (s->key_int_width == 4)
    return (int32_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
                     (uint32_t)p[2] << 8 | p[3]);
  uint64_t u = 0;
  for (int i = 0; i < 8; i++) u = u << 8 | p[i];
  return (int64_t)u;
}

/* A binary integer key in decimal, as int2out/int4out/int8out write it;
 * its length, 0 when out of memory. */
static size_t pg_spell_int_key(pg_store *s, const uint8_t *p) {
  if (s->key_cap < 24) {
    char *grown = realloc(s->key, 24);
    if (grown == NULL) return 0;
    s->key = grown;
    s->key_cap = 24;
  }
  return store__int64_text(s->key, pg_int_key(s, p));
}

/* A sampled row's cluster, the third field: an int8 in binary (network
 * order). 0, or -1 when it is not. */
static int pg_put_cluster(store_row *row, const uint8_t *f, int32_t len) {
  if (f == NULL || len != 8) return -1;
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = v << 8 | f[i];
  row->has_cluster = 1;
  row->cluster = (int64_t)v;
  return 0;
}

/* One row's two fields, as COPY or a binary SELECT result gives them (the
 * key as text, or an integer key in binary; the record's bytes; length -1
 * for NULL), into @p row: 1, or an error. */
static int pg_put_row(pg_store *s, store_row *row, const uint8_t *field[2],
                      const int32_t field_len[2], store_error *err) {
  if (field_len[0] < 0) {
    s->state = PG_FAILED;
    return pg_fail(s, err, s->is_matview ? STORE_EUSAGE : STORE_EIO,
                   "a row has a NULL key; rollsafe cannot name it");
  }
  size_t klen = (size_t)field_len[0];
  row->value_is_null = field_len[1] < 0;
  row->value = row->value_is_null ? NULL : field[1];
  row->value_len = row->value_is_null ? 0 : (size_t)field_len[1];
  row->key_parts = (unsigned)s->nk;
  if (s->key_int_width != 0) {
    if (klen != (size_t)s->key_int_width) {
      if (!s->scan_select)
        return pg_malformed(s, err, "an integer key of unexpected width");
      s->state = PG_FAILED;
      return pg_fail(s, err, STORE_EIO, "an integer key of unexpected width");
    }
    if (s->base.defer_int_keys) {
      /* Spelled only for the rows whose key the caller keeps. */
      row->key_deferred = 1;
      row->key_int = pg_int_key(s, field[0]);
      return 1;
    }
    row->key_len = pg_spell_int_key(s, field[0]);
    if (row->key_len == 0) {
      s->state = PG_FAILED;
      return pg_fail(s, err, STORE_ENOMEM, "out of memory");
    }
    row->key = s->key;
    return 1;
  }
  if (klen + 1 > s->key_cap) {
    size_t cap = s->key_cap < 64 ? 64 : s->key_cap;
    while (cap < klen + 1) cap *= 2;
    char *grown = realloc(s->key, cap);
    if (grown == NULL) {
      s->state = PG_FAILED;
      return pg_fail(s, err, STORE_ENOMEM, "out of memory");
    }
    s->key = grown;
    s->key_cap = cap;
  }
  memcpy(s->key, field[0], klen);
  s->key[klen] = '\0';
  row->key = s->key;
  row->key_len = klen;
  return 1;
}

/* The next row of a scan by SELECT: one result per row (single-row mode),
 * kept until the next call, then a last result without rows. */
static int pg_next_select(pg_store *s, store_row *row, store_error *err) {
  if (!s->row_unread) {
    PQclear(s->row_res); /* the previous row's values lived here */
    s->row_res = PQgetResult(s->conn);
  }
  s->row_unread = 0;
  PGresult *res = s->row_res;
  ExecStatusType st = PQresultStatus(res);
  if (st == PGRES_TUPLES_OK) {
    PQclear(res);
    s->row_res = NULL;
    while ((res = PQgetResult(s->conn)) != NULL) PQclear(res);
    s->copy_active = 0;
    s->state = PG_DONE;
    return 0;
  }
  if (st != PGRES_SINGLE_TUPLE)
    return pg_select_failed(s, err, "the scan stopped");
  int want = s->sampled ? 3 : 2;
  if (PQntuples(res) != 1 || PQnfields(res) != want) {
    s->state = PG_FAILED;
    return pg_fail(s, err, STORE_EIO, "the scan stopped: a row of %d fields",
                   PQnfields(res));
  }
  const uint8_t *field[3];
  int32_t field_len[3];
  for (int i = 0; i < want; i++) {
    int null = PQgetisnull(res, 0, i);
    field[i] = null ? NULL : (const uint8_t *)PQgetvalue(res, 0, i);
    field_len[i] = null ? -1 : (int32_t)PQgetlength(res, 0, i);
  }
  if (s->sampled && pg_put_cluster(row, field[2], field_len[2]) != 0) {
    s->state = PG_FAILED;
    return pg_fail(s, err, STORE_EIO,
                   "the scan stopped: a cluster that is not an int8");
  }
  return pg_put_row(s, row, field, field_len, err);
}

static int pg_next(store *base, store_row *row, store_error *err) {
  pg_store *s = (pg_store *)base;
  switch (s->state) {
    case PG_COPY:
      break;
    case PG_DONE:
      return 0;
    case PG_IDLE:
      return pg_fail(s, err, STORE_EUSAGE, "no scan is running");
    case PG_FAILED:
      return pg_fail(s, err, STORE_EIO, "the scan stopped on an earlier error");
    case PG_CLOSED:
      return pg_fail(s, err, STORE_EUSAGE, "the scan was cancelled");
  }
  if (s->scan_select) return pg_next_select(s, row, err);
  for (;;) {
    if (s->buf != NULL && s->pos == s->buf_len) {
      PQfreemem(s->buf); /* the previous row's value lived here */
      s->buf = NULL;
    }
    if (s->buf == NULL) {
      int n = PQgetCopyData(s->conn, &s->buf, 0);
      if (n == -1) return pg_finish_copy(s, err);
      if (n < 0) { /* -2: the connection failed */
        char why[200];
        first_line(why, sizeof why, PQerrorMessage(s->conn));
        s->buf = NULL;
        s->copy_active = 0;
        s->state = PG_FAILED;
        return pg_fail(s, err, STORE_EIO, "the scan stopped: %s", why);
      }
      s->buf_len = (size_t)n;
      s->pos = 0;
    }
    const uint8_t *b = (const uint8_t *)s->buf;
    const char *why = NULL;
    if (!s->header_done) {
      if (store__pg_copy_header(b, s->buf_len, &s->pos, &why) != 0)
        return pg_malformed(s, err, why);
      s->header_done = 1;
      continue;
    }
    if (s->trailer_seen) return pg_malformed(s, err, "data after the trailer");
    const uint8_t *field[3];
    int32_t field_len[3];
    int r = pg_copy_tuple_n(b, s->buf_len, &s->pos, s->sampled ? 3 : 2, field,
                            field_len, &why);
    if (r < 0) return pg_malformed(s, err, why);
    if (r == 0) {
      s->trailer_seen = 1;
      continue;
    }
    if (s->sampled && pg_put_cluster(row, field[2], field_len[2]) != 0)
      return pg_malformed(s, err, "a cluster that is not an int8");
    return pg_put_row(s, row, field, field_len, err);
  }
}

static void pg_cancel(store *base) {
  pg_store *s = (pg_store *)base;
  pg_release(s);
  s->state = PG_CLOSED;
}

static void pg_interrupt(store *base) {
  pg_store *s = (pg_store *)base;
  char ignored[256];
  if (s->interrupt != NULL)
    (void)PQcancel(s->interrupt, ignored, sizeof ignored);
  if (s->side_cancel != NULL)
    (void)PQcancel(s->side_cancel, ignored, sizeof ignored);
}

static void pg_close(store *base) {
  pg_store *s = (pg_store *)base;
  pg_close_side(s);
  PQfreeCancel(s->interrupt);
  s->interrupt = NULL;
  pg_release(s);
  PQclear(s->page_res);
  PQclear(s->page_prev_res);
  PQclear(s->backup_res);
  free(s->copy_sql);
  free(s->range_select);
  free(s->key);
  free(s->page_first_sql);
  free(s->page_next_sql);
  free(s->fix_sql);
  free(s->fix_upsert_sql);
  free(s->run_update_sql);
  free(s->restore_sql);
  free(s->queue_fix_sql);
  free(s->queue_restore_sql);
  free(s->check_sql);
  for (int i = 0; i < 3; i++) free(s->state_array[i]);
  store__states_free(&s->states);
  free(s->page_rows);
  free(s->page_prev_rows);
  free(s->backup_rows);
  free(s);
}

static int pg_write_hooks(store *base, store_hook **out, size_t *n,
                          store_error *err);

static const store_ops pg_ops = {
    .estimate_rows = pg_estimate_rows,
    .scan = pg_scan,
    .next = pg_next,
    .cancel = pg_cancel,
    .interrupt = pg_interrupt,
    .close = pg_close,
    .write_hooks = pg_write_hooks,
    .split = pg_split,
    .set_range = pg_set_range,
    .export_snapshot = pg_export_snapshot,
};

/* ---- writing ------------------------------------------------------------- */

/*
 * A writer is one connection in autocommit with search_path pinned and
 * lock_timeout, statement_timeout and idle_in_transaction_session_timeout
 * set, so that production never waits on it long and a stuck fixer never
 * holds locks. Every operation is one short transaction of its own; none
 * is left open between calls.
 *
 * The run and backup tables, created on first use (each statement on its
 * own, IF NOT EXISTS, and tried a second time when a concurrent fixer won
 * the race to the catalog: unique_violation 23505, duplicate_schema 42P06,
 * duplicate_table 42P07, or duplicate_object 42710 for the table's row
 * type when the other creator commits between our check and our insert):
 *
 *   CREATE SCHEMA IF NOT EXISTS rollsafe;
 *   CREATE TABLE IF NOT EXISTS rollsafe.runs (
 *     run_id text PRIMARY KEY, command text, target text, table_name text,
 *     key_column text, column_name text, to_version int, status text,
 *     checkpoint text, started_at timestamptz, updated_at timestamptz,
 *     converted bigint, conflicts bigint, lossy bigint, impossible bigint,
 *     corrupt bigint, restored bigint);
 *   CREATE TABLE IF NOT EXISTS rollsafe.backup (
 *     run_id text, target text, key text COLLATE "C",
 *     old_value bytea NOT NULL, new_value bytea NOT NULL,
 *     written_at timestamptz, restored boolean DEFAULT false,
 *     PRIMARY KEY (run_id, key));
 *
 * backup.key is COLLATE "C" so that backup pages (key > after ORDER BY
 * key) follow byte order whatever the database's collation, on the
 * primary key's index.
 *
 * A batch (fix or restore) is BEGIN, one statement, the run's row, COMMIT.
 * The one statement takes the whole batch as three binary arrays
 * (text[] keys, bytea[] expected bytes, bytea[] new bytes) and does the
 * compare-and-swaps and, in the same statement, the backup rows of the
 * swaps that happened (a data-modifying WITH):
 *
 *   WITH rs_u AS (SELECT * FROM ROWS FROM (unnest($1::text[]),
 *                   unnest($2::bytea[]), unnest($3::bytea[]))
 *                 WITH ORDINALITY AS rs_u(k, expect, value, i)),
 *   rs_sw AS (UPDATE s.t AS rs_t SET col = rs_u.value FROM rs_u
 *             WHERE rs_t.key = rs_u.k::<key type> AND rs_t.col = rs_u.expect
 *             RETURNING rs_u.i, ...),
 *   rs_b AS (INSERT INTO rollsafe.backup ... SELECT ... FROM rs_sw)
 *   SELECT i FROM rs_sw     -- a restore: every i, s or c, HOLDS_VALUE
 *
 * A table's fix inserts its backup rows plainly: a run swaps a key again
 * only when a writer put unreadable bytes back into a row the run had
 * already fixed, so the primary key of rollsafe.backup almost never has
 * the row already, and ON CONFLICT's check of the index before each insert
 * (and its confirmation afterwards) costs about an eighth of the
 * statement. When the run has the row (unique_violation on
 * rollsafe.backup), the batch is rolled back and sent again at once with
 * `ON CONFLICT (run_id, key) DO UPDATE SET old_value = ...`, which keeps
 * the bytes the latest swap replaced. A queue's fix always upserts.
 *
 * Why this shape: one round trip per batch, not one per row (a prepared
 * single-row UPDATE would need a round trip each, or pipeline mode with
 * its aborted-pipeline bookkeeping); the arrays are binary (array_send's
 * format, built here), so no key or byte string is ever quoted or escaped
 * into an array literal; and each key text is cast back to the key
 * column's own type (format_type(atttypid, -1), quoted by the server), so
 * that `rs_t.key = ...` is an equality on the column itself and the
 * primary key's index finds each row (comparing key::text would scan the
 * table). RETURNING names the swaps that happened by their position; the
 * others are conflicts: the row changed since it was read, or is gone.
 * Under READ COMMITTED a row updated concurrently is re-checked against
 * `col = expect` on its newest version, so a lost race is a conflict,
 * never an overwrite; under a stricter isolation it is a serialization
 * failure, which is STORE_EBUSY.
 *
 * Counts: the run row takes @p run's counts as given, except that the
 * batch's own outcome is added, since only the adapter knows it before
 * commit (store__batch_counts: a fix's swaps to `converted` and `lossy`,
 * its misses to `conflicts`, `in_flight` or `gone`; a restore's to
 * `restored` and its own restore_ counts). So @p run carries the totals
 * before the batch, and the caller adds the same numbers (from each
 * swap's `swapped` and `outcome`) once the call returns STORE_OK.
 *
 * A write that gives way to production fails with STORE_EBUSY after a
 * rollback: lock_not_available 55P03 (lock_timeout), query_canceled 57014
 * (statement_timeout, or store_interrupt), serialization_failure 40001,
 * deadlock_detected 40P01.
 */

static int pg_is_busy(const char *state) {
  static const char *const busy[] = {"55P03", "57014", "40001", "40P01"};
  for (size_t i = 0; i < sizeof busy / sizeof busy[0]; i++)
    if (state != NULL && strcmp(state, busy[i]) == 0) return 1;
  return 0;
}

/* A writing statement failed: as pg_fail_result, except that giving way
 * to production (see above) is STORE_EBUSY. */
static int pg_fail_write(const pg_store *s, const PGresult *res,
                         store_error *err, const char *doing) {
  const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
  int rc = pg_fail_result(s, res, err, doing);
  if (pg_is_busy(state)) {
    rc = STORE_EBUSY;
    if (err != NULL) err->status = STORE_EBUSY;
    /* A statement that ran out of time (57014) was slow, not kept from a
     * lock (55P03 comes first: lock_timeout is the shorter): trying it
     * again would be as slow, so it is not retried (store.c). */
    ((pg_store *)s)->base.busy_final =
        state != NULL && strcmp(state, "57014") == 0;
  }
  return rc;
}

/* Ends whatever transaction an error left open; nothing of it stays. */
static void pg_rollback(pg_store *s) {
  PGTransactionStatusType ts = PQtransactionStatus(s->conn);
  if (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR) {
    PGresult *res = PQexec(s->conn, "ROLLBACK");
    PQclear(res);
  }
}

/* BEGIN, COMMIT and the like. A COMMIT the server answers with ROLLBACK
 * (the transaction had failed) is an error too. */
static int pg_tx_command(pg_store *s, const char *sql, const char *doing,
                         store_error *err) {
  PGresult *res = PQexec(s->conn, sql);
  int rc = STORE_OK;
  if (PQresultStatus(res) != PGRES_COMMAND_OK)
    rc = pg_fail_write(s, res, err, doing);
  else if (strcmp(sql, "COMMIT") == 0 &&
           strcmp(PQcmdStatus(res), "COMMIT") != 0)
    rc = pg_fail(s, err, STORE_EIO, "%s: the transaction was rolled back",
                 doing);
  PQclear(res);
  return rc;
}

/* Every writing operation starts here: a live connection, outside any
 * transaction. */
static int pg_writer_ready(pg_store *s, store_error *err) {
  if (s->ahead_sent && s->read_ahead != 2) {
    /* A page read ahead on this connection and not asked for: dropped,
     * its transaction rolled back below. (One read on the side connection
     * waits there.) */
    s->ahead_sent = 0;
    PGresult *res;
    while (s->conn != NULL && (res = PQgetResult(s->conn)) != NULL)
      PQclear(res);
  }
  if (s->pending) {
    /* A batch started and never finished (store.h forbids it): its
     * answer is dropped and its transaction rolled back below. */
    s->pending = 0;
    PGresult *res;
    while (s->conn != NULL && (res = PQgetResult(s->conn)) != NULL)
      PQclear(res);
  }
  if (s->conn == NULL || PQstatus(s->conn) != CONNECTION_OK)
    return pg_fail_fault(s, err, STORE_FAULT_CONNECTION_LOST, "writing",
                         "the connection is closed", NULL);
  pg_rollback(s);
  return STORE_OK;
}

/* The strings of @p run end inside their fields, and it has an id. */
static int pg_check_run(const pg_store *s, const store_run *run,
                        store_error *err) {
#define RS_ENDS(f) (memchr(run->f, '\0', sizeof run->f) != NULL)
  int ok = RS_ENDS(run_id) && RS_ENDS(command) && RS_ENDS(target) &&
           RS_ENDS(table) && RS_ENDS(key) && RS_ENDS(column) &&
           RS_ENDS(status) && RS_ENDS(checkpoint) && RS_ENDS(run) &&
           RS_ENDS(settings) && RS_ENDS(restore_status) &&
           RS_ENDS(restore_checkpoint);
#undef RS_ENDS
  if (!ok)
    return pg_fail(s, err, STORE_EUSAGE,
                   "a text field of the run is not NUL-terminated");
  if (run->run_id[0] == '\0')
    return pg_fail(s, err, STORE_EUSAGE, "a run needs an id");
  return STORE_OK;
}

static int pg_no_run(const pg_store *s, store_error *err, const char *run_id) {
  char id[64];
  printable(id, sizeof id, run_id);
  return pg_fail(s, err, STORE_EUSAGE, "no run '%s'", id);
}

/*
 * Statements sent again and again, prepared once per session: a table
 * fix's batch statement and the run row's UPDATE on the writer's session,
 * a page's SELECT on the side connection (pg_open_side). The server then
 * parses each once, and plans the batch statement once (its generic plan:
 * each key looked up on the key's index), which with small batches was a
 * fifth of its work. The writer prepares outside any transaction, and a
 * PREPARE the server refuses fails the step as the statement itself would
 * have (the same parse, the same locks): no second wait for a lock.
 */
enum { PG_PREP_FIX, PG_PREP_FIX_UPSERT, PG_PREP_RUN, PG_PREP_PAGE };
static const char *const pg_prep_names[] = {"rs_fix", "rs_fix_upsert", "rs_run",
                                            "rs_page"};

/* Prepares @p sql as statement @p which on @p c unless *prepared says it
 * is; 1 when it is prepared, 0 with *res the server's refusal (or NULL). */
static int pg_prepare(PGconn *c, unsigned *prepared, int which, const char *sql,
                      int n, const Oid *types, PGresult **res) {
  *res = NULL;
  if (*prepared & 1u << which) return 1;
  if (c == NULL || sql == NULL) return 0;
  *res = PQprepare(c, pg_prep_names[which], sql, n, types);
  if (PQresultStatus(*res) != PGRES_COMMAND_OK) return 0;
  PQclear(*res);
  *res = NULL;
  *prepared |= 1u << which;
  return 1;
}

/* pg_prepare on the writer's session, outside a transaction: STORE_OK or
 * the error of the refusal (pg_fail_write). */
static int pg_prepare_writer(pg_store *s, int which, const char *sql, int n,
                             const Oid *types, store_error *err,
                             const char *doing) {
  if (sql == NULL) return pg_fail(s, err, STORE_ENOMEM, "out of memory");
  PGresult *res;
  if (pg_prepare(s->conn, &s->prepared, which, sql, n, types, &res))
    return STORE_OK;
  int rc = pg_fail_write(s, res, err, doing);
  PQclear(res);
  return rc;
}

/* ---- runs ---- */

#define RUN_COLUMNS                                               \
  "run_id, command, target, table_name, key_column, column_name," \
  " to_version, status, checkpoint,"                              \
  " (EXTRACT(EPOCH FROM started_at) * 1000000)::pg_catalog.int8," \
  " (EXTRACT(EPOCH FROM updated_at) * 1000000)::pg_catalog.int8," \
  " converted, conflicts, lossy, impossible, corrupt, restored"

/* Copies column @p col of a text-format row into a fixed field; a value
 * that does not fit is an error, never cut short (a checkpoint cut short
 * would resume at the wrong key). NULL is the empty string. */
static int pg_field(const pg_store *s, char *dst, size_t cap,
                    const PGresult *res, int row, int col, store_error *err) {
  const char *v = PQgetisnull(res, row, col) ? "" : PQgetvalue(res, row, col);
  size_t len = strlen(v);
  if (len >= cap)
    return pg_fail(s, err, STORE_EIO,
                   "rollsafe.runs.%s holds %zu bytes, more than the %zu "
                   "rollsafe keeps",
                   PQfname(res, col), len, cap - 1);
  memcpy(dst, v, len + 1);
  return STORE_OK;
}

static int64_t pg_int(const PGresult *res, int row, int col) {
  if (PQgetisnull(res, row, col)) return 0;
  return (int64_t)strtoll(PQgetvalue(res, row, col), NULL, 10);
}

/* One row of SELECT RUN_COLUMNS into @p out. */
static int pg_run_of_row(const pg_store *s, const PGresult *res, int row,
                         store_run *out, store_error *err) {
  memset(out, 0, sizeof *out);
  int rc = pg_field(s, out->run_id, sizeof out->run_id, res, row, 0, err);
  if (rc == STORE_OK)
    rc = pg_field(s, out->command, sizeof out->command, res, row, 1, err);
  if (rc == STORE_OK)
    rc = pg_field(s, out->target, sizeof out->target, res, row, 2, err);
  if (rc == STORE_OK)
    rc = pg_field(s, out->table, sizeof out->table, res, row, 3, err);
  if (rc == STORE_OK)
    rc = pg_field(s, out->key, sizeof out->key, res, row, 4, err);
  if (rc == STORE_OK)
    rc = pg_field(s, out->column, sizeof out->column, res, row, 5, err);
  if (rc == STORE_OK)
    rc = pg_field(s, out->status, sizeof out->status, res, row, 7, err);
  if (rc == STORE_OK)
    rc = pg_field(s, out->checkpoint, sizeof out->checkpoint, res, row, 8, err);
  if (rc != STORE_OK) return rc;
  out->to_version = (unsigned)pg_int(res, row, 6);
  out->has_checkpoint = !PQgetisnull(res, row, 8);
  out->started_us = pg_int(res, row, 9);
  out->updated_us = pg_int(res, row, 10);
  out->converted = pg_int(res, row, 11);
  out->conflicts = pg_int(res, row, 12);
  out->lossy = pg_int(res, row, 13);
  out->impossible = pg_int(res, row, 14);
  out->corrupt = pg_int(res, row, 15);
  out->restored = pg_int(res, row, 16);
  store__run_defaults(out);
  for (size_t i = 0; i < store__n_run_columns && rc == STORE_OK; i++) {
    const store__run_column *c = &store__run_columns[i];
    int col = 17 + (int)i;
    if (PQgetisnull(res, row, col)) continue;
    char *f = (char *)out + c->offset;
    int64_t v = pg_int(res, row, col);
    switch (c->kind) {
      case STORE__COL_KEY:
        *(int *)(void *)((char *)out + c->flag) = 1;
        /* fall through */
      case STORE__COL_TEXT:
        rc = pg_field(s, f, c->size, res, row, col, err);
        break;
      case STORE__COL_INT:
      case STORE__COL_OPT:
        memcpy(f, &v, sizeof v);
        break;
    }
  }
  store__run_read_done(out);
  return rc;
}

/* RUN_COLUMNS and the later columns as a SELECT list, NULL for those the
 * table lacks; malloc'd, NULL when out of memory. */
static char *pg_run_select(const pg_store *s) {
  size_t cap = sizeof RUN_COLUMNS + 32 * store__n_run_columns;
  char *list = malloc(cap);
  if (list == NULL) return NULL;
  size_t used = (size_t)snprintf(list, cap, "%s", RUN_COLUMNS);
  for (size_t i = 0; i < store__n_run_columns; i++)
    used +=
        (size_t)snprintf(list + used, cap - used, ", %s",
                         s->run_col[i] ? store__run_columns[i].name : "NULL");
  return list;
}

/* The later columns of @p run as text parameters: NULL for an empty text,
 * a missing key, or an optional count of -1. */
typedef struct pg_run_extras {
  char ints[32][24];
  const char *v[32];
} pg_run_extras;

static void pg_run_extras_of(pg_run_extras *x, const store_run *run) {
  for (size_t i = 0; i < store__n_run_columns; i++) {
    const store__run_column *c = &store__run_columns[i];
    const char *f = (const char *)run + c->offset;
    int64_t v = 0;
    x->v[i] = NULL;
    switch (c->kind) {
      case STORE__COL_TEXT:
        if (f[0] != '\0') x->v[i] = f;
        break;
      case STORE__COL_KEY:
        if (*(const int *)(const void *)((const char *)run + c->flag))
          x->v[i] = f;
        break;
      case STORE__COL_INT:
      case STORE__COL_OPT:
        memcpy(&v, f, sizeof v);
        if (c->kind == STORE__COL_OPT && v < 0) break;
        snprintf(x->ints[i], sizeof x->ints[i], "%lld", (long long)v);
        x->v[i] = x->ints[i];
        break;
    }
  }
}

/* The first layout's counts of @p run as text parameters, in the order
 * converted, conflicts, lossy, impossible, corrupt, restored. */
static void pg_counts_text(char out[6][24], const store_run *run) {
  const int64_t values[6] = {run->converted,  run->conflicts, run->lossy,
                             run->impossible, run->corrupt,   run->restored};
  for (int i = 0; i < 6; i++)
    snprintf(out[i], 24, "%lld", (long long)values[i]);
}

static int pg_run_create(store *base, const store_run *run, store_error *err) {
  pg_store *s = (pg_store *)base;
  int rc = pg_check_run(s, run, err);
  if (rc == STORE_OK) rc = pg_writer_ready(s, err);
  if (rc != STORE_OK) return rc;
  char version[16], started[24], counts[6][24];
  snprintf(version, sizeof version, "%u", run->to_version);
  snprintf(started, sizeof started, "%lld", (long long)run->started_us);
  pg_counts_text(counts, run);
  pg_run_extras x;
  pg_run_extras_of(&x, run);
  const char *params[15 + 32] = {run->run_id,
                                 run->command,
                                 run->target,
                                 run->table,
                                 run->key,
                                 run->column,
                                 version,
                                 run->has_checkpoint ? run->checkpoint : NULL,
                                 run->started_us > 0 ? started : NULL,
                                 counts[0],
                                 counts[1],
                                 counts[2],
                                 counts[3],
                                 counts[4],
                                 counts[5]};
  size_t cap = 1024 + 48 * store__n_run_columns;
  char *sql = malloc(cap);
  if (sql == NULL) return pg_fail(s, err, STORE_ENOMEM, "out of memory");
  /* started_us * 1 microsecond: an exact product (float8 holds every
   * integer below 2^53, some 285 years of microseconds). */
  size_t used = (size_t)snprintf(
      sql, cap,
      "INSERT INTO rollsafe.runs (run_id, command, target, table_name,"
      " key_column, column_name, to_version, status, checkpoint,"
      " started_at, updated_at, converted, conflicts, lossy, impossible,"
      " corrupt, restored");
  for (size_t i = 0; i < store__n_run_columns; i++)
    used += (size_t)snprintf(sql + used, cap - used, ", %s",
                             store__run_columns[i].name);
  used += (size_t)snprintf(
      sql + used, cap - used,
      ") VALUES ($1, $2, $3, $4, $5, $6, $7, 'running',"
      " $8, COALESCE(pg_catalog.to_timestamp(0) + $9::pg_catalog.int8"
      " * INTERVAL '1 microsecond', pg_catalog.now()), pg_catalog.now(),"
      " $10, $11, $12, $13, $14, $15");
  for (size_t i = 0; i < store__n_run_columns; i++) {
    params[15 + i] = x.v[i];
    used += (size_t)snprintf(sql + used, cap - used, ", $%zu", 16 + i);
  }
  snprintf(sql + used, cap - used, ")");
  PGresult *res = PQexecParams(s->conn, sql, (int)(15 + store__n_run_columns),
                               NULL, params, NULL, NULL, 0);
  free(sql);
  if (PQresultStatus(res) != PGRES_COMMAND_OK) {
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    char id[64];
    printable(id, sizeof id, run->run_id);
    if (state != NULL && strcmp(state, "23505") == 0)
      rc = pg_fail(s, err, STORE_EUSAGE, "run '%s' exists already", id);
    else
      rc = pg_fail_write(s, res, err, "recording a new run");
  }
  PQclear(res);
  return rc;
}

/* The rows a SELECT of the runs table gives (@p where: its condition and
 * order, with $1 bound to @p param when not NULL). */
static int pg_read_runs(pg_store *s, const char *where, const char *param,
                        store_run **out, size_t *n, const char *doing,
                        store_error *err) {
  *out = NULL;
  *n = 0;
  char *list = pg_run_select(s);
  char *sql = list != NULL
                  ? pg_sprintf("SELECT %s FROM rollsafe.runs %s", list, where)
                  : NULL;
  free(list);
  if (sql == NULL) return pg_fail(s, err, STORE_ENOMEM, "out of memory");
  const char *params[1] = {param};
  PGresult *res = PQexecParams(s->conn, sql, param != NULL ? 1 : 0, NULL,
                               params, NULL, NULL, 0);
  free(sql);
  int rc = STORE_OK;
  if (PQresultStatus(res) != PGRES_TUPLES_OK) {
    rc = pg_fail_write(s, res, err, doing);
    PQclear(res);
    return rc;
  }
  size_t count = (size_t)PQntuples(res);
  store_run *runs = count ? calloc(count, sizeof *runs) : NULL;
  if (count > 0 && runs == NULL)
    rc = pg_fail(s, err, STORE_ENOMEM, "out of memory");
  for (size_t i = 0; i < count && rc == STORE_OK; i++)
    rc = pg_run_of_row(s, res, (int)i, &runs[i], err);
  PQclear(res);
  if (rc != STORE_OK) {
    free(runs);
    return rc;
  }
  *out = runs;
  *n = count;
  return STORE_OK;
}

static int pg_run_load(store *base, const char *run_id, store_run *out,
                       store_error *err) {
  pg_store *s = (pg_store *)base;
  memset(out, 0, sizeof *out);
  if (run_id == NULL || run_id[0] == '\0')
    return pg_fail(s, err, STORE_EUSAGE, "a run needs an id");
  int rc = pg_writer_ready(s, err);
  if (rc != STORE_OK) return rc;
  if (!s->has_runs) return pg_no_run(s, err, run_id);
  store_run *runs = NULL;
  size_t n = 0;
  rc = pg_read_runs(s, "WHERE run_id = $1", run_id, &runs, &n, "reading a run",
                    err);
  if (rc == STORE_OK && n != 1)
    rc = pg_no_run(s, err, run_id);
  else if (rc == STORE_OK)
    *out = runs[0];
  free(runs);
  return rc;
}

/*
 * UPDATE of a run's row as @p run says (status kept when empty), with the
 * batch's outcome already added to its counts: every count, the
 * checkpoints, and the later columns but `run`.
 */
/* The run row's UPDATE: $1 the run, $2 its status, $3 to $8 the counts
 * (pg_counts_text), $9 the checkpoint, then the later run columns but the
 * first (pg_run_extras). Made once; NULL when out of memory. */
static const char *pg_run_update_sql(pg_store *s) {
  if (s->run_update_sql != NULL) return s->run_update_sql;
  size_t cap = 1024 + 48 * store__n_run_columns;
  char *sql = malloc(cap);
  if (sql == NULL) return NULL;
  size_t used = (size_t)snprintf(
      sql, cap,
      "UPDATE rollsafe.runs SET"
      " status = COALESCE(NULLIF($2::pg_catalog.text, ''), status),"
      " converted = $3, conflicts = $4, lossy = $5, impossible = $6,"
      " corrupt = $7, restored = $8, checkpoint = $9,"
      " updated_at = pg_catalog.now()");
  /* A row's run never changes. */
  for (size_t i = 1; i < store__n_run_columns; i++)
    used += (size_t)snprintf(sql + used, cap - used, ", %s = $%zu",
                             store__run_columns[i].name, i + 9);
  snprintf(sql + used, cap - used, " WHERE run_id = $1");
  s->run_update_sql = sql;
  return sql;
}

static int pg_update_run_row(pg_store *s, const store_run *run,
                             store_error *err) {
  char counts[6][24];
  pg_counts_text(counts, run);
  pg_run_extras x;
  pg_run_extras_of(&x, run);
  const char *params[9 + 32] = {
      run->run_id, run->status, counts[0],
      counts[1],   counts[2],   counts[3],
      counts[4],   counts[5],   run->has_checkpoint ? run->checkpoint : NULL};
  int nparams = 9;
  for (size_t i = 1; i < store__n_run_columns; i++) params[nparams++] = x.v[i];
  const char *sql = pg_run_update_sql(s);
  if (sql == NULL) return pg_fail(s, err, STORE_ENOMEM, "out of memory");
  /* Prepared by a batch before its transaction, or here outside one. */
  int rc = STORE_OK;
  if (PQtransactionStatus(s->conn) == PQTRANS_IDLE)
    rc = pg_prepare_writer(s, PG_PREP_RUN, sql, 0, NULL, err,
                           "updating the run");
  if (rc != STORE_OK) return rc;
  PGresult *res =
      s->prepared & 1u << PG_PREP_RUN
          ? PQexecPrepared(s->conn, pg_prep_names[PG_PREP_RUN], nparams, params,
                           NULL, NULL, 0)
          : PQexecParams(s->conn, sql, nparams, NULL, params, NULL, NULL, 0);
  if (PQresultStatus(res) != PGRES_COMMAND_OK)
    rc = pg_fail_write(s, res, err, "updating the run");
  else if (strcmp(PQcmdTuples(res), "1") != 0)
    rc = pg_no_run(s, err, run->run_id);
  PQclear(res);
  return rc;
}

static int pg_run_update(store *base, const store_run *run, store_error *err) {
  pg_store *s = (pg_store *)base;
  int rc = pg_check_run(s, run, err);
  if (rc == STORE_OK) rc = pg_writer_ready(s, err);
  if (rc != STORE_OK) return rc;
  return pg_update_run_row(s, run, err);
}

static int pg_run_list(store *base, store_run **out, size_t *n,
                       store_error *err) {
  pg_store *s = (pg_store *)base;
  *out = NULL;
  *n = 0;
  int rc = pg_writer_ready(s, err);
  if (rc != STORE_OK || !s->has_runs) return rc;
  return pg_read_runs(s, "ORDER BY started_at, run_id", NULL, out, n,
                      "listing runs", err);
}

static int pg_run_parts(store *base, const char *run, store_run **out,
                        size_t *n, store_error *err) {
  pg_store *s = (pg_store *)base;
  *out = NULL;
  *n = 0;
  if (run == NULL || run[0] == '\0')
    return pg_fail(s, err, STORE_EUSAGE, "a run needs an id");
  int rc = pg_writer_ready(s, err);
  if (rc != STORE_OK || !s->has_runs) return rc;
  return pg_read_runs(s,
                      s->run_col[0] ? "WHERE COALESCE(run, run_id) = $1"
                                      " ORDER BY started_at, run_id"
                                    : "WHERE run_id = $1"
                                      " ORDER BY started_at, run_id",
                      run, out, n, "reading a run", err);
}

/* ---- pages ---- */

static int pg_page_rows(pg_store *s, PGresult *res, size_t limit,
                        const store_page_row **rows, store_error *err);

/* The connection pages are read ahead on. */
static PGconn *pg_ahead_conn(const pg_store *s) {
  return s->read_ahead == 2 ? s->side : s->conn;
}

/* Closes the side connection (read_ahead 2): reading ahead ends there. */
static void pg_close_side(pg_store *s) {
  if (s->side_cancel != NULL) {
    PGcancel *c = s->side_cancel;
    s->side_cancel = NULL; /* pg_interrupt may run meanwhile */
    PQfreeCancel(c);
  }
  PQfinish(s->side);
  s->side = NULL;
  s->side_prepared = 0;
  if (s->read_ahead == 2) s->read_ahead = 0;
  s->ahead_sent = 0;
}

/* Drops a page read ahead and not asked for, and its transaction. */
static void pg_drop_ahead(pg_store *s) {
  if (!s->ahead_sent) return;
  s->ahead_sent = 0;
  PGconn *c = pg_ahead_conn(s);
  PGresult *res;
  while (c != NULL && (res = PQgetResult(c)) != NULL) PQclear(res);
  if (c == s->side && c != NULL) {
    res = PQexec(c, "ROLLBACK");
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    if (!ok) pg_close_side(s);
  }
}

/*
 * The parameters of a page's SELECT (page_next_sql; page_first_sql takes
 * them from the second on). $1 (after) goes as text with no type: the
 * server infers the key column's own type from `key > $1`, so pages follow
 * the key's order (9 < 10 < 100 for a bigint). $2 is the limit; a queue's
 * states follow, a binary array (pg_check_state_column).
 */
typedef struct pg_page_args {
  char lim[24];
  const char *params[3];
  Oid types[3];
  int lengths[3];
  int formats[3];
  int n; /* with $1 */
} pg_page_args;

static void pg_page_args_of(pg_page_args *a, const pg_store *s,
                            const char *after, size_t limit) {
  int states = s->state_array[PG_READ] != NULL;
  *a = (pg_page_args){.params = {after, a->lim, s->state_array[PG_READ]},
                      .types = {0, 0, s->read_type},
                      .lengths = {0, 0, (int)s->state_len[PG_READ]},
                      .formats = {0, 0, 1},
                      .n = 2 + states};
  /* After the assignment, which zeroes lim; params[1] points at it. */
  snprintf(a->lim, sizeof a->lim, "%zu", limit);
}

/*
 * Opens the side connection: the parameters of this one (PQconninfo: the
 * password too, when one was typed), and the settings of a writer's
 * session that bear on reading. 0, or -1 with no side connection.
 */
static int pg_open_side(pg_store *s) {
  if (s->side != NULL) return 0;
  if (s->conn == NULL || PQstatus(s->conn) != CONNECTION_OK) return -1;
  PQconninfoOption *opts = PQconninfo(s->conn);
  if (opts == NULL) return -1;
  size_t n = 0;
  for (PQconninfoOption *o = opts; o->keyword != NULL; o++) n++;
  const char **keys = calloc(n + 2, sizeof *keys);
  const char **values = calloc(n + 2, sizeof *values);
  if (keys != NULL && values != NULL) {
    size_t k = 0;
    for (PQconninfoOption *o = opts; o->keyword != NULL; o++)
      if (o->val != NULL && o->val[0] != '\0' &&
          strcmp(o->keyword, "application_name") != 0 &&
          strcmp(o->keyword, "fallback_application_name") != 0) {
        keys[k] = o->keyword;
        values[k++] = o->val;
      }
    /* Told apart from the session that writes (pg_stat_activity). */
    keys[k] = "application_name";
    values[k] = "rollsafe-read-ahead";
    s->side = PQconnectdbParams(keys, values, 0);
  }
  free(keys);
  free(values);
  /* The password, if any, is in opts: wiped before it is freed. */
  for (PQconninfoOption *o = opts; o->keyword != NULL; o++)
    if (o->val != NULL && strcmp(o->keyword, "password") == 0)
      wipe(o->val, strlen(o->val));
  PQconninfoFree(opts);
  if (s->side == NULL || PQstatus(s->side) != CONNECTION_OK) {
    pg_close_side(s);
    return -1;
  }
  char set[96];
  /* Its one statement, a page's SELECT, is prepared (pg_prepare) and
   * planned for each page's own key and limit, as an unnamed one is. */
  const char *sets[6] = {"SET search_path = pg_catalog, pg_temp",
                         set,
                         NULL,
                         "SET idle_in_transaction_session_timeout = '60s'",
                         "SET client_min_messages = warning",
                         "SET plan_cache_mode = force_custom_plan"};
  char stmt_set[96];
  snprintf(set, sizeof set, "SET lock_timeout = '%dms'",
           s->session_lock_ms < 1000 ? s->session_lock_ms : 1000);
  snprintf(stmt_set, sizeof stmt_set, "SET statement_timeout = '%dms'",
           s->session_statement_ms);
  sets[2] = stmt_set;
  for (int i = 0; i < 6; i++) {
    PGresult *res = PQexec(s->side, sets[i]);
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    if (!ok) {
      pg_close_side(s);
      return -1;
    }
  }
  s->side_cancel = PQgetCancel(s->side);
  if (s->side_cancel == NULL) {
    pg_close_side(s);
    return -1;
  }
  pg_page_args a;
  pg_page_args_of(&a, s, "", 1);
  PGresult *refused;
  if (!pg_prepare(s->side, &s->side_prepared, PG_PREP_PAGE, s->page_next_sql,
                  a.n, a.types, &refused))
    PQclear(refused); /* pages go unnamed */
  return 0;
}

/* Sends the SELECT of the page after @p after (see pg_page_rows). */
static void pg_send_ahead(pg_store *s, const char *after, size_t limit) {
  PGconn *c = pg_ahead_conn(s);
  if (c == NULL) return;
  PGresult *res = PQexec(c, "BEGIN READ ONLY");
  int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
  PQclear(res);
  pg_page_args a;
  pg_page_args_of(&a, s, after, limit);
  if (ok && c == s->side && s->side_prepared & 1u << PG_PREP_PAGE)
    ok = PQsendQueryPrepared(c, pg_prep_names[PG_PREP_PAGE], a.n, a.params,
                             a.lengths, a.formats, 1);
  else if (ok)
    ok = PQsendQueryParams(c, s->page_next_sql, a.n, a.types, a.params,
                           a.lengths, a.formats, 1);
  if (!ok) {
    if (c == s->side) {
      pg_close_side(s);
    } else {
      pg_rollback(s);
    }
    return;
  }
  snprintf(s->after_ahead, sizeof s->after_ahead, "%s", after);
  s->limit_ahead = limit;
  s->ahead_sent = 1;
}

/* A page's SELECT result @p res (taken over), in its READ ONLY
 * transaction: committed, and its rows (pg_page_rows); a failure rolls the
 * transaction back. */
static int pg_page_done(pg_store *s, PGresult *res, size_t limit,
                        const store_page_row **rows, store_error *err) {
  int rc;
  if (PQresultStatus(res) != PGRES_TUPLES_OK) {
    rc = pg_fail_write(s, res, err, "reading a page");
    PQclear(res);
    pg_rollback(s);
    return rc;
  }
  rc = pg_tx_command(s, "COMMIT", "reading a page", err);
  if (rc != STORE_OK) {
    PQclear(res);
    pg_rollback(s);
    return rc;
  }
  return pg_page_rows(s, res, limit, rows, err);
}

/*
 * The page read ahead on the side connection: 1 with *out, 0 when it
 * failed (the side connection is closed, and the page is read as ever).
 */
static int pg_take_side(pg_store *s, PGresult **out) {
  s->ahead_sent = 0;
  PGresult *res = PQgetResult(s->side), *more;
  while ((more = PQgetResult(s->side)) != NULL) PQclear(more);
  int ok = PQresultStatus(res) == PGRES_TUPLES_OK;
  PGresult *commit = PQexec(s->side, ok ? "COMMIT" : "ROLLBACK");
  ok = ok && PQresultStatus(commit) == PGRES_COMMAND_OK &&
       strcmp(PQcmdStatus(commit), "COMMIT") == 0;
  PQclear(commit);
  if (!ok) {
    PQclear(res);
    pg_close_side(s);
    return 0;
  }
  *out = res;
  return 1;
}

static int pg_page(store *base, const char *after, size_t limit,
                   const store_page_row **rows, store_error *err) {
  pg_store *s = (pg_store *)base;
  *rows = NULL;
  /* The page before the previous one dies here; the previous one lives
   * until the next call (store_starts_batches). */
  PQclear(s->page_prev_res);
  s->page_prev_res = s->page_res;
  s->page_res = NULL;
  store_page_row *spare_rows = s->page_prev_rows;
  size_t spare_cap = s->page_prev_cap;
  s->page_prev_rows = s->page_rows;
  s->page_prev_cap = s->page_cap;
  s->page_rows = spare_rows;
  s->page_cap = spare_cap;
  if (limit == 0 || limit > 1000000)
    return pg_fail(s, err, STORE_EUSAGE,
                   "a page holds 1 to 1000000 rows, not %zu", limit);
  /* The page read ahead, when it is the one asked for. */
  PGresult *res = NULL;
  int rc;
  int wanted = s->ahead_sent && after != NULL && limit == s->limit_ahead &&
               strcmp(after, s->after_ahead) == 0;
  if (wanted && s->read_ahead == 2) {
    if (pg_take_side(s, &res)) return pg_page_rows(s, res, limit, rows, err);
    wanted = 0;
  }
  if (s->ahead_sent && !wanted) pg_drop_ahead(s);
  if (wanted) {
    s->ahead_sent = 0;
    res = PQgetResult(s->conn);
    PGresult *more;
    while ((more = PQgetResult(s->conn)) != NULL) PQclear(more);
    return pg_page_done(s, res, limit, rows, err);
  }
  rc = pg_writer_ready(s, err);
  if (rc != STORE_OK) return rc;
  /* The one SELECT runs in a READ ONLY transaction of its own, like a
   * scan, so that --where cannot write; nothing longer is ever held open. */
  pg_page_args a;
  pg_page_args_of(&a, s, after, limit);
  rc = pg_tx_command(s, "BEGIN READ ONLY", "reading a page", err);
  if (rc != STORE_OK) return rc;
  res = after != NULL
            ? PQexecParams(s->conn, s->page_next_sql, a.n, a.types, a.params,
                           a.lengths, a.formats, 1)
            : PQexecParams(s->conn, s->page_first_sql, a.n - 1, a.types + 1,
                           a.params + 1, a.lengths + 1, a.formats + 1, 1);
  return pg_page_done(s, res, limit, rows, err);
}

/*
 * The rows of page result @p res (taken over), and with read-ahead on
 * (store_read_ahead), the next page's SELECT sent in a READ ONLY
 * transaction of its own, for the server to work on while the caller
 * works on this page. A failure to send it is no error: the next call
 * reads as ever.
 */
static int pg_page_rows(pg_store *s, PGresult *res, size_t limit,
                        const store_page_row **rows, store_error *err) {
  size_t count = (size_t)PQntuples(res);
  if (count > s->page_cap) {
    store_page_row *grown = realloc(s->page_rows, count * sizeof *grown);
    if (grown == NULL) {
      PQclear(res);
      return pg_fail(s, err, STORE_ENOMEM, "out of memory");
    }
    s->page_rows = grown;
    s->page_cap = count;
  }
  /* Binary results: the key's text bytes and the record's bytes as the
   * server stores them; libpq ends every value with a NUL, binary ones
   * included, and a text value holds no NUL of its own. */
  for (size_t i = 0; i < count; i++) {
    int r = (int)i;
    store_page_row *row = &s->page_rows[i];
    if (PQgetisnull(res, r, 0)) {
      PQclear(res);
      return pg_fail(s, err, STORE_EIO,
                     "a row has a NULL key; rollsafe cannot name it");
    }
    row->key = PQgetvalue(res, r, 0);
    row->key_parts = (unsigned)s->nk;
    row->value_is_null = PQgetisnull(res, r, 1);
    row->value =
        row->value_is_null ? NULL : (const uint8_t *)PQgetvalue(res, r, 1);
    row->value_len = row->value_is_null ? 0 : (size_t)PQgetlength(res, r, 1);
  }
  s->page_res = res;
  *rows = s->page_rows;
  if (s->read_ahead && count == limit && count > 0 &&
      strlen(s->page_rows[count - 1].key) < sizeof s->after_ahead)
    pg_send_ahead(s, s->page_rows[count - 1].key, limit);
  return (int)count;
}

/* ---- batches ---- */

typedef enum pg_swap_field { SWAP_KEY, SWAP_EXPECT, SWAP_VALUE } pg_swap_field;

static const void *swap_bytes(const store_swap *w, pg_swap_field f,
                              size_t *len) {
  switch (f) {
    case SWAP_KEY:
      *len = strlen(w->key);
      return w->key;
    case SWAP_EXPECT:
      *len = w->expect_len;
      return w->expect;
    case SWAP_VALUE:
      break;
  }
  *len = w->value_len;
  return w->value;
}

/* One field of every swap as a binary array (see pg_array); NULL when too
 * large (*len 0) or out of memory (*len 1). */
typedef struct pg_swap_elems {
  const store_swap *swaps;
  pg_swap_field field;
} pg_swap_elems;

static const void *swap_elem(const void *ctx, size_t i, size_t *len) {
  const pg_swap_elems *e = ctx;
  return swap_bytes(&e->swaps[i], e->field, len);
}

static char *pg_swap_array(const store_swap *swaps, size_t n, pg_swap_field f,
                           uint32_t elem_oid, size_t *len) {
  const pg_swap_elems e = {swaps, f};
  return pg_array(&e, n, swap_elem, elem_oid, len);
}

/* The swaps of a batch are well-formed: a key each, bytes where a length
 * says so, and no more than one array can hold. */
static int pg_check_swaps(const pg_store *s, const store_swap *swaps, size_t n,
                          store_error *err) {
  if (n > 0 && swaps == NULL)
    return pg_fail(s, err, STORE_EUSAGE, "a batch of %zu swaps without swaps",
                   n);
  if (n > 10000000)
    return pg_fail(s, err, STORE_EUSAGE, "a batch of %zu swaps is too large",
                   n);
  for (size_t i = 0; i < n; i++) {
    const store_swap *w = &swaps[i];
    if (w->key == NULL || (w->expect == NULL && w->expect_len > 0) ||
        (w->value == NULL && w->value_len > 0))
      return pg_fail(s, err, STORE_EUSAGE,
                     "swap %zu of the batch lacks its key or bytes", i);
  }
  return STORE_OK;
}

/*
 * Reads a queue batch's (or a table restore's) answer: one row per swap,
 * its position, a letter (s swapped, c conflict, f in flight, g gone) and
 * whether the row held the swap's new bytes already (HOLDS_VALUE; a fix
 * answers false): sets each swap's `swapped`, `outcome` and `holds_value`.
 */
static void pg_queue_outcomes(const PGresult *res, store_swap *swaps,
                              size_t n) {
  for (size_t i = 0; i < n; i++) swaps[i].outcome = STORE_SWAP_CONFLICT;
  for (int r = 0; r < PQntuples(res); r++) {
    long long i = strtoll(PQgetvalue(res, r, 0), NULL, 10);
    if (i < 1 || (size_t)i > n) continue;
    store_swap *w = &swaps[i - 1];
    switch (PQgetvalue(res, r, 1)[0]) {
      case 's':
        w->swapped = 1;
        w->outcome = STORE_SWAP_DONE;
        break;
      case 'f':
        w->outcome = STORE_SWAP_IN_FLIGHT;
        break;
      case 'g':
        w->outcome = STORE_SWAP_GONE;
        break;
      default:
        break;
    }
    if (!w->swapped && PQnfields(res) > 2)
      w->holds_value = PQgetvalue(res, r, 2)[0] == 't';
  }
}

/*
 * The first half of pg_swap_batch: the checks, the arrays, BEGIN, and the
 * statement sent without waiting for its answer (s->pending). On an error
 * nothing is pending and no transaction is left open.
 */
static int pg_swap_start(pg_store *s, const store_run *run, store_swap *swaps,
                         size_t n, int restore, int upsert, store_error *err) {
  const char *doing = restore ? "restoring a batch" : "swapping a batch";
  s->pending = 0;
  for (size_t i = 0; swaps != NULL && i < n; i++)
    swaps[i].swapped = swaps[i].holds_value = 0;
  int rc = pg_check_run(s, run, err);
  if (rc == STORE_OK) rc = pg_check_swaps(s, swaps, n, err);
  if (rc != STORE_OK) return rc;
  rc = pg_writer_ready(s, err);
  if (rc != STORE_OK) return rc;

  /* The arrays are built before BEGIN: no transaction waits on malloc. */
  char *arrays[3] = {NULL, NULL, NULL};
  size_t lens[3] = {0, 0, 0};
  static const pg_swap_field fields[3] = {SWAP_KEY, SWAP_EXPECT, SWAP_VALUE};
  static const uint32_t elems[3] = {PG_TEXT_OID, PG_BYTEA_OID, PG_BYTEA_OID};
  for (int a = 0; a < 3 && n > 0 && rc == STORE_OK; a++) {
    arrays[a] = pg_swap_array(swaps, n, fields[a], elems[a], &lens[a]);
    if (arrays[a] == NULL)
      rc = lens[a] == 1 ? pg_fail(s, err, STORE_ENOMEM, "out of memory")
                        : pg_fail(s, err, STORE_EUSAGE,
                                  "a batch of %zu swaps is too large for one "
                                  "statement (1 GB per array)",
                                  n);
  }

  /* A table fix's statement and the run row's UPDATE, prepared once. */
  const Oid types[7] = {
      PG_TEXT_ARRAY_OID, PG_BYTEA_ARRAY_OID, PG_BYTEA_ARRAY_OID, PG_TEXT_OID,
      PG_TEXT_OID,       PG_TEXT_ARRAY_OID,  PG_TEXT_ARRAY_OID};
  const char *sql = s->queue
                        ? (restore ? s->queue_restore_sql : s->queue_fix_sql)
                    : restore ? s->restore_sql
                    : upsert  ? s->fix_upsert_sql
                              : s->fix_sql;
  const int prep = upsert ? PG_PREP_FIX_UPSERT : PG_PREP_FIX;
  const int named = !s->queue && !restore && n > 0;
  if (rc == STORE_OK && named)
    rc = pg_prepare_writer(s, prep, sql, 5, types, err, doing);
  if (rc == STORE_OK)
    rc = pg_prepare_writer(s, PG_PREP_RUN, pg_run_update_sql(s), 0, NULL, err,
                           doing);

  if (rc == STORE_OK) rc = pg_tx_command(s, "BEGIN", doing, err);
  int sent = 0;
  if (rc == STORE_OK && n > 0) {
    /* A queue with a state column binds its pending ($6) and in-flight
     * ($7) states as well (pg_build_queue_sql). */
    const char *values[7] = {arrays[0],
                             arrays[1],
                             arrays[2],
                             run->run_id,
                             run->target,
                             s->state_array[PG_PENDING],
                             s->state_array[PG_IN_FLIGHT]};
    const int lengths[7] = {(int)lens[0],
                            (int)lens[1],
                            (int)lens[2],
                            0,
                            0,
                            (int)s->state_len[PG_PENDING],
                            (int)s->state_len[PG_IN_FLIGHT]};
    const int formats[7] = {1, 1, 1, 0, 0, 1, 1};
    int nparams = s->queue && s->state_array[PG_PENDING] != NULL ? 7 : 5;
    /* libpq copies the parameters into its output buffer: the arrays may
     * go as soon as the statement is sent. */
    if (named ? PQsendQueryPrepared(s->conn, pg_prep_names[prep], nparams,
                                    values, lengths, formats, 0)
              : PQsendQueryParams(s->conn, sql, nparams, types, values, lengths,
                                  formats, 0))
      sent = 1;
    else
      rc = pg_fail_write(s, NULL, err, doing);
  }
  for (int a = 0; a < 3; a++) free(arrays[a]);
  if (rc != STORE_OK) {
    pg_rollback(s);
    return rc;
  }
  s->pending = 1;
  s->pending_sent = sent;
  s->pending_run = *run;
  s->pending_swaps = swaps;
  s->pending_n = n;
  s->pending_restore = restore;
  s->pending_upsert = upsert;
  return STORE_OK;
}

/*
 * Whether a table fix's batch statement @p res failed only because its
 * plain INSERT of the backup rows met a backup row of the same run and key
 * (unique_violation 23505 on rollsafe.backup's primary key), which the
 * upsert (fix_upsert_sql) replaces as a swap again must (BACKUP_UPSERT).
 */
static int pg_swapped_again(const pg_store *s, const PGresult *res) {
  if (s->queue || s->pending_restore || s->pending_upsert || res == NULL)
    return 0;
  const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
  const char *schema = PQresultErrorField(res, PG_DIAG_SCHEMA_NAME);
  const char *table = PQresultErrorField(res, PG_DIAG_TABLE_NAME);
  return state != NULL && strcmp(state, "23505") == 0 && schema != NULL &&
         strcmp(schema, "rollsafe") == 0 && table != NULL &&
         strcmp(table, "backup") == 0;
}

/*
 * The second half: the statement's answer, the run's row and COMMIT. On
 * any error nothing of the batch is visible and every swap says 0; the one
 * exception is a connection lost while COMMIT was on its way (STORE_EIO),
 * when the server may have committed: the run's row then says which, and
 * running the batch again is safe, every swap being a compare-and-swap.
 */
static int pg_swap_finish(pg_store *s, store_error *err) {
  if (!s->pending) return pg_fail(s, err, STORE_EUSAGE, "no batch was started");
  s->pending = 0;
  int restore = s->pending_restore;
  store_swap *swaps = s->pending_swaps;
  size_t n = s->pending_n;
  const char *doing = restore ? "restoring a batch" : "swapping a batch";
  int rc = STORE_OK;
  if (s->pending_sent) {
    PGresult *res = PQgetResult(s->conn);
    if (PQresultStatus(res) != PGRES_TUPLES_OK && pg_swapped_again(s, res)) {
      /* A key this run swapped before, in an earlier pass (a writer put
       * unreadable bytes back into the row): nothing of the batch stands;
       * it goes again with the backup rows' ON CONFLICT. */
      PQclear(res);
      while ((res = PQgetResult(s->conn)) != NULL) PQclear(res);
      pg_rollback(s);
      store_run run = s->pending_run;
      rc = pg_swap_start(s, &run, swaps, n, 0, 1, err);
      return rc == STORE_OK ? pg_swap_finish(s, err) : rc;
    }
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
      rc = pg_fail_write(s, res, err, doing);
    } else if (s->queue || restore) {
      /* Queues, and a table's restore, answer for every swap. */
      pg_queue_outcomes(res, swaps, n);
    } else {
      for (int r = 0; r < PQntuples(res); r++) {
        long long i = strtoll(PQgetvalue(res, r, 0), NULL, 10);
        if (i >= 1 && (size_t)i <= n) swaps[i - 1].swapped = 1;
      }
    }
    PQclear(res);
    /* The end of the statement's results (NULL), or whatever a lost
     * connection left. */
    while ((res = PQgetResult(s->conn)) != NULL) {
      if (rc == STORE_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
        rc = pg_fail_write(s, res, err, doing);
      PQclear(res);
    }
  }

  if (rc == STORE_OK) {
    /* A table's fix answers only for the swaps that happened: the others
     * are conflicts. */
    if (!s->queue && !restore)
      for (size_t i = 0; i < n; i++)
        swaps[i].outcome =
            swaps[i].swapped ? STORE_SWAP_DONE : STORE_SWAP_CONFLICT;
    store_run after = s->pending_run;
    store__batch_counts(&after, swaps, n, restore);
    rc = pg_update_run_row(s, &after, err);
  }
  if (rc == STORE_OK) rc = pg_tx_command(s, "COMMIT", doing, err);
  if (rc != STORE_OK) {
    pg_rollback(s);
    for (size_t i = 0; i < n; i++) swaps[i].swapped = 0;
  }
  return rc;
}

/*
 * A batch of compare-and-swaps, fix (@p restore 0) or restore, in one
 * transaction with the run's row: pg_swap_start and pg_swap_finish
 * together (see there).
 */
static int pg_swap_batch(pg_store *s, const store_run *run, store_swap *swaps,
                         size_t n, int restore, store_error *err) {
  int rc = pg_swap_start(s, run, swaps, n, restore, 0, err);
  if (rc != STORE_OK) return rc;
  return pg_swap_finish(s, err);
}

static int pg_fix_batch(store *base, const store_run *run, store_swap *swaps,
                        size_t n, store_error *err) {
  return pg_swap_batch((pg_store *)base, run, swaps, n, 0, err);
}

static void pg_read_ahead(store *base, int on) {
  pg_store *s = (pg_store *)base;
  pg_drop_ahead(s);
  s->read_ahead = 0;
  /* Beside batches only on a side connection: on this one, a batch would
   * have to wait for the page. */
  if (on == 2 && pg_open_side(s) != 0) on = 0;
  s->read_ahead = on == 1 || on == 2 ? on : 0;
}

static int pg_fix_batch_start(store *base, const store_run *run,
                              store_swap *swaps, size_t n, store_error *err) {
  return pg_swap_start((pg_store *)base, run, swaps, n, 0, 0, err);
}

static int pg_fix_batch_finish(store *base, store_error *err) {
  return pg_swap_finish((pg_store *)base, err);
}

static int pg_restore_batch(store *base, const store_run *run,
                            store_swap *swaps, size_t n, store_error *err) {
  return pg_swap_batch((pg_store *)base, run, swaps, n, 1, err);
}

/* A big-endian integer of a binary result field of @p len bytes. */
static int64_t pg_binary_int(const char *p, int len) {
  uint64_t v = 0;
  for (int i = 0; i < len; i++) v = (v << 8) | (uint8_t)p[i];
  return len == 4 ? (int64_t)(int32_t)(uint32_t)v : (int64_t)v;
}

/*
 * A restore's dry run: one SELECT (check_sql) in a READ ONLY transaction of
 * its own, the keys as one binary text[] array cast to the key's type as in
 * the batches, answering per row found its position, its bytes and whether
 * it is pending and in flight (the same expressions as the queue batches).
 * A plain SELECT takes no row lock: a consumer is never kept waiting, and a
 * message it holds by its row lock alone is judged by its state.
 */
static int pg_restore_check(store *base, store_swap *swaps, size_t n,
                            store_error *err) {
  pg_store *s = (pg_store *)base;
  int rc = pg_check_swaps(s, swaps, n, err);
  if (rc == STORE_OK) rc = pg_writer_ready(s, err);
  if (rc != STORE_OK || n == 0) return rc;
  size_t len = 0;
  char *keys = pg_swap_array(swaps, n, SWAP_KEY, PG_TEXT_OID, &len);
  if (keys == NULL)
    return len == 1 ? pg_fail(s, err, STORE_ENOMEM, "out of memory")
                    : pg_fail(s, err, STORE_EUSAGE,
                              "a batch of %zu keys is too large for one "
                              "statement (1 GB per array)",
                              n);
  const char *doing = "reading the rows of a restore";
  rc = pg_tx_command(s, "BEGIN READ ONLY", doing, err);
  PGresult *res = NULL;
  if (rc == STORE_OK) {
    /* A queue with a state column: its pending ($2) and in-flight ($3)
     * states too (pg_build_queue_sql). */
    const Oid types[3] = {PG_TEXT_ARRAY_OID, PG_TEXT_ARRAY_OID,
                          PG_TEXT_ARRAY_OID};
    const char *values[3] = {keys, s->state_array[PG_PENDING],
                             s->state_array[PG_IN_FLIGHT]};
    const int lengths[3] = {(int)len, (int)s->state_len[PG_PENDING],
                            (int)s->state_len[PG_IN_FLIGHT]};
    const int formats[3] = {1, 1, 1};
    int nparams = s->queue && s->state_array[PG_PENDING] != NULL ? 3 : 1;
    res = PQexecParams(s->conn, s->check_sql, nparams, types, values, lengths,
                       formats, 1);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
      rc = pg_fail_write(s, res, err, doing);
  }
  free(keys);
  if (rc == STORE_OK) rc = pg_tx_command(s, "COMMIT", doing, err);
  if (rc != STORE_OK) {
    PQclear(res);
    pg_rollback(s);
    return rc;
  }
  /* Rows not found are gone: classified first as such, then each row
   * found by its position (the key is unique: at most one each). */
  static const store__row_now gone = {0, 0, 0, NULL, 0, 1};
  for (size_t i = 0; i < n; i++) {
    swaps[i].swapped = 0;
    store__swap_classify(&swaps[i], &gone, s->queue);
  }
  for (int r = 0; r < PQntuples(res); r++) {
    if (PQgetisnull(res, r, 0) || PQgetlength(res, r, 0) != 4 ||
        PQgetisnull(res, r, 2) || PQgetlength(res, r, 2) != 1 ||
        PQgetisnull(res, r, 3) || PQgetlength(res, r, 3) != 1) {
      rc = pg_fail(s, err, STORE_EIO, "%s: an unexpected answer", doing);
      break;
    }
    int64_t i = pg_binary_int(PQgetvalue(res, r, 0), 4);
    if (i < 1 || (uint64_t)i > n) continue;
    store__row_now now = {
        1, PQgetvalue(res, r, 2)[0] != 0, PQgetvalue(res, r, 3)[0] != 0, NULL,
        0, PQgetisnull(res, r, 1)};
    if (!now.value_is_null) {
      now.value = (const uint8_t *)PQgetvalue(res, r, 1);
      now.value_len = (size_t)PQgetlength(res, r, 1);
    }
    store__swap_classify(&swaps[i - 1], &now, s->queue);
  }
  PQclear(res);
  return rc;
}

static int pg_backup_page(store *base, const char *run_id, const char *after,
                          size_t limit, store_swap **rows, store_error *err) {
  pg_store *s = (pg_store *)base;
  *rows = NULL;
  PQclear(s->backup_res);
  s->backup_res = NULL;
  if (run_id == NULL || run_id[0] == '\0')
    return pg_fail(s, err, STORE_EUSAGE, "a run needs an id");
  if (limit == 0 || limit > 1000000)
    return pg_fail(s, err, STORE_EUSAGE,
                   "a page holds 1 to 1000000 rows, not %zu", limit);
  int rc = pg_writer_ready(s, err);
  if (rc != STORE_OK) return rc;
  char lim[24];
  snprintf(lim, sizeof lim, "%zu", limit);
  const char *params[3] = {run_id, lim, after};
  PGresult *res = PQexecParams(
      s->conn,
      after != NULL ? "SELECT key, new_value, old_value FROM rollsafe.backup"
                      " WHERE run_id = $1 AND key > $3 ORDER BY key LIMIT $2"
                    : "SELECT key, new_value, old_value FROM rollsafe.backup"
                      " WHERE run_id = $1 ORDER BY key LIMIT $2",
      after != NULL ? 3 : 2, NULL, params, NULL, NULL, 1);
  if (PQresultStatus(res) != PGRES_TUPLES_OK) {
    rc = pg_fail_write(s, res, err, "reading backups");
    PQclear(res);
    return rc;
  }
  size_t count = (size_t)PQntuples(res);
  if (count > s->backup_cap) {
    store_swap *grown = realloc(s->backup_rows, count * sizeof *grown);
    if (grown == NULL) {
      PQclear(res);
      return pg_fail(s, err, STORE_ENOMEM, "out of memory");
    }
    s->backup_rows = grown;
    s->backup_cap = count;
  }
  for (size_t i = 0; i < count; i++) {
    int r = (int)i;
    store_swap *w = &s->backup_rows[i];
    w->key = PQgetvalue(res, r, 0);
    w->expect = (const uint8_t *)PQgetvalue(res, r, 1);
    w->expect_len = (size_t)PQgetlength(res, r, 1);
    w->value = (const uint8_t *)PQgetvalue(res, r, 2);
    w->value_len = (size_t)PQgetlength(res, r, 2);
    w->swapped = 0;
  }
  s->backup_res = res;
  *rows = s->backup_rows;
  return (int)count;
}

/* *deleted: the backup rows deleted. A run with neither backup rows nor a
 * run row is STORE_EUSAGE. */
static int pg_purge_run(store *base, const char *run_id, int64_t *deleted,
                        store_error *err) {
  pg_store *s = (pg_store *)base;
  if (deleted != NULL) *deleted = 0;
  if (run_id == NULL || run_id[0] == '\0')
    return pg_fail(s, err, STORE_EUSAGE, "a run needs an id");
  int rc = pg_writer_ready(s, err);
  if (rc == STORE_OK && !s->has_runs) return pg_no_run(s, err, run_id);
  if (rc == STORE_OK) rc = pg_tx_command(s, "BEGIN", "purging a run", err);
  if (rc != STORE_OK) return rc;
  const char *params[1] = {run_id};
  static const char *const sql[2] = {
      "DELETE FROM rollsafe.backup WHERE run_id = $1",
      "DELETE FROM rollsafe.runs WHERE run_id = $1"};
  int64_t counts[2] = {0, 0};
  for (int i = 0; i < 2 && rc == STORE_OK; i++) {
    PGresult *res =
        PQexecParams(s->conn, sql[i], 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
      rc = pg_fail_write(s, res, err, "purging a run");
    else
      counts[i] = (int64_t)strtoll(PQcmdTuples(res), NULL, 10);
    PQclear(res);
  }
  if (rc == STORE_OK && counts[0] == 0 && counts[1] == 0)
    rc = pg_no_run(s, err, run_id);
  if (rc == STORE_OK) rc = pg_tx_command(s, "COMMIT", "purging a run", err);
  if (rc != STORE_OK) {
    pg_rollback(s);
    return rc;
  }
  if (deleted != NULL) *deleted = counts[0];
  return STORE_OK;
}

/* A writer reads by pages: the COPY scan belongs to a read-only store. */
static int pg_writer_scan(store *base, store_error *err) {
  return pg_fail((pg_store *)base, err, STORE_EUSAGE,
                 "a store opened for writing reads by pages, not by scan");
}

static int pg_writer_next(store *base, store_row *row, store_error *err) {
  (void)row;
  return pg_writer_scan(base, err);
}

/* ---- leases and hooks (pg_trust.c) ---- */

static int pg_lease_take(store *base, const char *run_id, store_error *err) {
  pg_store *s = (pg_store *)base;
  int rc = pg_writer_ready(s, err);
  if (rc != STORE_OK) return rc;
  return store__pg_lease_take(s->conn, s->label, run_id, err);
}

static void pg_lease_release(store *base, const char *run_id) {
  pg_store *s = (pg_store *)base;
  if (s->conn != NULL) pg_rollback(s);
  store__pg_lease_release(s->conn, run_id);
}

static int pg_lease_held(store *base, const char *run_id, store_error *err) {
  pg_store *s = (pg_store *)base;
  int rc = pg_writer_ready(s, err);
  if (rc != STORE_OK) return rc;
  return store__pg_lease_held(s->conn, s->label, run_id, err);
}

/* A reader asks in its snapshot's transaction, before its scan starts; a
 * writer outside any. */
static int pg_write_hooks(store *base, store_hook **out, size_t *n,
                          store_error *err) {
  pg_store *s = (pg_store *)base;
  *out = NULL;
  *n = 0;
  if (s->conn == NULL || s->state != PG_IDLE)
    return pg_fail(s, err, STORE_EUSAGE,
                   "triggers are listed before the scan starts");
  if (s->writer) {
    int rc = pg_writer_ready(s, err);
    if (rc != STORE_OK) return rc;
  }
  int rc = store__pg_write_hooks(s->conn, s->label, s->relid, out, n, err);
  if (rc != STORE_OK && !s->writer) s->state = PG_FAILED;
  return rc;
}

static int pg_reconnect(store *base, const char *run_id, store_error *err);

static const store_ops pg_writer_ops = {
    .estimate_rows = pg_estimate_rows,
    .scan = pg_writer_scan,
    .next = pg_writer_next,
    .cancel = pg_cancel,
    .interrupt = pg_interrupt,
    .close = pg_close,
    .run_create = pg_run_create,
    .run_load = pg_run_load,
    .run_update = pg_run_update,
    .run_list = pg_run_list,
    .run_parts = pg_run_parts,
    .page = pg_page,
    .fix_batch = pg_fix_batch,
    .fix_batch_start = pg_fix_batch_start,
    .fix_batch_finish = pg_fix_batch_finish,
    .read_ahead = pg_read_ahead,
    .backup_page = pg_backup_page,
    .restore_batch = pg_restore_batch,
    .restore_check = pg_restore_check,
    .purge_run = pg_purge_run,
    .lease_take = pg_lease_take,
    .lease_release = pg_lease_release,
    .lease_held = pg_lease_held,
    .write_hooks = pg_write_hooks,
    .reconnect = pg_reconnect,
};

/* Creates what is missing of the rollsafe schema (see "writing" above). */
static int pg_ensure_tables(pg_store *s, store_error *err) {
  static const char *const ddl[] = {
      "CREATE SCHEMA IF NOT EXISTS rollsafe",
      "CREATE TABLE IF NOT EXISTS rollsafe.runs ("
      " run_id text PRIMARY KEY, command text, target text, table_name text,"
      " key_column text, column_name text, to_version int, status text,"
      " checkpoint text, started_at timestamptz, updated_at timestamptz,"
      " converted bigint, conflicts bigint, lossy bigint, impossible bigint,"
      " corrupt bigint, restored bigint)",
      "CREATE TABLE IF NOT EXISTS rollsafe.backup ("
      " run_id text, target text, key text COLLATE \"C\","
      " old_value bytea NOT NULL, new_value bytea NOT NULL,"
      " written_at timestamptz, restored boolean DEFAULT false,"
      " PRIMARY KEY (run_id, key))",
  };
  /* Tables that exist need no DDL, nor the right to run it; a schema that
   * exists (made for the fix role: docs/privileges.md) is not created
   * again, which would need CREATE on the database. */
  PGresult *res = PQexec(s->conn,
                         "SELECT pg_catalog.to_regclass('rollsafe.runs') IS "
                         "NOT NULL AND pg_catalog.to_regclass("
                         "'rollsafe.backup') IS NOT NULL,"
                         " pg_catalog.to_regnamespace('rollsafe') IS NOT "
                         "NULL");
  int rc = STORE_OK;
  if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
    rc = pg_fail_write(s, res, err, "looking for the rollsafe schema");
  int exists = rc == STORE_OK && PQgetvalue(res, 0, 0)[0] == 't';
  int schema = rc == STORE_OK && PQgetvalue(res, 0, 1)[0] == 't';
  PQclear(res);
  if (rc != STORE_OK || exists) return rc;
  for (size_t i = schema ? 1 : 0;
       i < sizeof ddl / sizeof ddl[0] && rc == STORE_OK; i++) {
    for (int attempt = 0;; attempt++) {
      res = PQexec(s->conn, ddl[i]);
      if (PQresultStatus(res) == PGRES_COMMAND_OK) {
        PQclear(res);
        break;
      }
      const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
      int raced = state != NULL &&
                  (strcmp(state, "23505") == 0 || strcmp(state, "42P06") == 0 ||
                   strcmp(state, "42P07") == 0 || strcmp(state, "42710") == 0);
      if (raced && attempt == 0) {
        PQclear(res);
        continue;
      }
      rc = pg_fail_write(s, res, err, "creating the rollsafe schema");
      PQclear(res);
      break;
    }
  }
  return rc;
}

/*
 * Which of the later run columns (store__run_columns) rollsafe.runs has,
 * into s->run_col; *exists: whether rollsafe.runs and rollsafe.backup are
 * both there.
 */
static int pg_read_run_columns(pg_store *s, int *exists, store_error *err) {
  memset(s->run_col, 0, sizeof s->run_col);
  *exists = 0;
  PGresult *res =
      PQexec(s->conn,
             "SELECT a.attname::pg_catalog.text FROM pg_catalog.pg_attribute a"
             " WHERE a.attrelid = pg_catalog.to_regclass('rollsafe.runs')"
             " AND a.attnum > 0 AND NOT a.attisdropped"
             " AND pg_catalog.to_regclass('rollsafe.backup') IS NOT NULL");
  if (PQresultStatus(res) != PGRES_TUPLES_OK) {
    int rc = pg_fail_write(s, res, err, "reading the runs table's columns");
    PQclear(res);
    return rc;
  }
  for (int r = 0; r < PQntuples(res); r++) {
    const char *name = PQgetvalue(res, r, 0);
    *exists = 1;
    for (size_t i = 0; i < store__n_run_columns; i++)
      if (strcmp(name, store__run_columns[i].name) == 0) s->run_col[i] = 1;
  }
  PQclear(res);
  return STORE_OK;
}

/*
 * Adds the later run columns a rollsafe.runs made by an earlier rollsafe
 * lacks, in one ALTER TABLE (ADD COLUMN IF NOT EXISTS: a concurrent fixer
 * adding them too is no error). Every row is kept, and an earlier rollsafe
 * still reads and writes the table: its statements name their columns.
 */
static int pg_add_run_columns(pg_store *s, store_error *err) {
  int exists = 0, missing = 0;
  int rc = pg_read_run_columns(s, &exists, err);
  for (size_t i = 0; i < store__n_run_columns; i++) missing |= !s->run_col[i];
  if (rc != STORE_OK || !missing) return rc;
  size_t cap = 64 + 80 * store__n_run_columns;
  char *sql = malloc(cap);
  if (sql == NULL) return pg_fail(s, err, STORE_ENOMEM, "out of memory");
  size_t used = (size_t)snprintf(sql, cap, "ALTER TABLE rollsafe.runs");
  for (size_t i = 0, first = 1; i < store__n_run_columns; i++) {
    if (s->run_col[i]) continue;
    const store__run_column *c = &store__run_columns[i];
    const char *type = c->kind == STORE__COL_INT
                           ? "pg_catalog.int8 NOT NULL DEFAULT 0"
                       : c->kind == STORE__COL_OPT ? "pg_catalog.int8"
                                                   : "pg_catalog.text";
    used += (size_t)snprintf(sql + used, cap - used,
                             "%s ADD COLUMN IF NOT EXISTS %s %s",
                             first ? "" : ",", c->name, type);
    first = 0;
  }
  PGresult *res = PQexec(s->conn, sql);
  free(sql);
  if (PQresultStatus(res) != PGRES_COMMAND_OK)
    rc = pg_fail_write(s, res, err, "adding the runs table's new columns");
  PQclear(res);
  if (rc == STORE_OK)
    for (size_t i = 0; i < store__n_run_columns; i++) s->run_col[i] = 1;
  return rc;
}

/*
 * The batches' answer on a swap that did not happen: whether the row, as the
 * statement's snapshot has it, held the swap's new bytes already (a restore:
 * the original bytes are back). Formatted with schema, table, key, the key's
 * type and column.
 */
#define HOLDS_VALUE                                  \
  "EXISTS (SELECT 1 FROM %s.%s AS rs_h WHERE %s AND" \
  " rs_h.%s = %srs_u.value%s)"

/* The key conditions of the writer's statements (pg_key_sql, PG_KEY_MATCH):
 * a row of alias rs_t, rs_h or rs_v named by the batch's key rs_u.k, or
 * rs_t by a locked row's rs_l.k. */
typedef struct pg_matches {
  char *t_u, *t_l, *h_u, *v_u;
} pg_matches;

static void pg_matches_free(pg_matches *m) {
  free(m->t_u);
  free(m->t_l);
  free(m->h_u);
  free(m->v_u);
}

static int pg_matches_make(pg_store *s, pg_matches *m, store_error *err) {
  m->t_u = pg_key_sql(s, PG_KEY_MATCH, "rs_t", "rs_u.k");
  m->t_l = pg_key_sql(s, PG_KEY_MATCH, "rs_t", "rs_l.k");
  m->h_u = pg_key_sql(s, PG_KEY_MATCH, "rs_h", "rs_u.k");
  m->v_u = pg_key_sql(s, PG_KEY_MATCH, "rs_v", "rs_u.k");
  if (m->t_u != NULL && m->t_l != NULL && m->h_u != NULL && m->v_u != NULL)
    return STORE_OK;
  pg_matches_free(m);
  return pg_fail(s, err, STORE_ENOMEM, "out of memory");
}

/*
 * The statement of pg_restore_check: @p pend and @p flight are the queue
 * batches' expressions on rs_t (true and false for a table); q[] the quoted
 * schema, table, key and column. Malloc'd; NULL when out of memory.
 */
static char *pg_check_sql(const pg_matches *m, char *const q[4],
                          const char *pend, const char *flight) {
  return pg_sprintf(
      "SELECT rs_u.i::pg_catalog.int4, rs_t.%s, %s, %s"
      " FROM pg_catalog.unnest($1::pg_catalog.text[]) WITH ORDINALITY"
      " AS rs_u(k, i) JOIN %s.%s AS rs_t ON %s",
      q[3], pend, flight, q[0], q[1], m->t_u);
}

/*
 * A queue's batches. A consumer holds a message by its row lock (`FOR
 * UPDATE SKIP LOCKED`, then a delete or a state change); the fixer must
 * never wait on one. So the batch first locks what it can of its rows
 * with SKIP LOCKED (rs_l), swaps by compare-and-swap only among those
 * (and only messages still pending), and then tells each swap apart:
 *
 *   s  swapped;
 *   c  locked and pending, but its bytes changed: a conflict;
 *   f  in flight: a row it could not lock (a consumer holds it) that the
 *      statement's snapshot still sees, or one in an in-flight state;
 *   g  gone: deleted before the statement, or no longer pending.
 *
 * The backup rows (fix) or the restored marks (restore) come in the same
 * statement, as for tables, and the run's row in the same transaction.
 * The statement never waits on a row lock; lock_timeout still bounds what
 * it may wait on otherwise (the backup table, a concurrent DDL).
 */
static int pg_build_queue_sql(pg_store *s, char *const q[4],
                              const pg_matches *m, const store_target *target,
                              store_error *err) {
  char *state = NULL;
  char *pend_expr = NULL, *flight_expr = NULL, *check_expr = NULL;
  char *check_pend = NULL, *check_flight = NULL;
  /* Only a restore asks whether a row it missed holds its new bytes. */
  char *holds = pg_sprintf(HOLDS_VALUE, q[0], q[1], m->h_u, q[3], s->value_pre,
                           s->value_post);
  int rc =
      holds != NULL ? STORE_OK : pg_fail(s, err, STORE_ENOMEM, "out of memory");
  if (rc == STORE_OK && target->state_column != NULL) {
    /* The states are bound: pending $6 and in flight $7 in the batches,
     * $2 and $3 in the dry run; each a text[] (see pg_swap_batch and
     * pg_restore_check). Rows are found by their key: no index on the
     * state column is needed here, and the column is compared as text. */
    state = pg_quote(s, target->state_column, err);
    if (state == NULL) {
      free(holds);
      return STORE_EUSAGE;
    }
#define STATE_TEST                                                     \
  "COALESCE(rs_t.%s::pg_catalog.text = ANY ($%d::pg_catalog.text[]), " \
  "false)"
    pend_expr = pg_sprintf(STATE_TEST, state, 6);
    flight_expr = pg_sprintf(STATE_TEST, state, 7);
    check_pend = pg_sprintf(STATE_TEST, state, 2);
    check_flight = pg_sprintf(STATE_TEST, state, 3);
#undef STATE_TEST
    check_expr = pg_sprintf(
        " AND rs_t.%s::pg_catalog.text = ANY ($6::pg_catalog.text[])", state);
  } else if (rc == STORE_OK) {
    pend_expr = pg_sprintf("true");
    flight_expr = pg_sprintf("false");
    check_expr = pg_sprintf("%s", "");
    check_pend = pg_sprintf("true");
    check_flight = pg_sprintf("false");
  }
  if (rc == STORE_OK &&
      (pend_expr == NULL || flight_expr == NULL || check_expr == NULL ||
       check_pend == NULL || check_flight == NULL))
    rc = pg_fail(s, err, STORE_ENOMEM, "out of memory");
  if (rc == STORE_OK) {
#define QUEUE_INPUT                                                   \
  "WITH rs_u AS (SELECT * FROM ROWS FROM ("                           \
  " pg_catalog.unnest($1::pg_catalog.text[]),"                        \
  " pg_catalog.unnest($2::pg_catalog.bytea[]),"                       \
  " pg_catalog.unnest($3::pg_catalog.bytea[])) WITH ORDINALITY"       \
  " AS rs_u(k, expect, value, i)),"                                   \
  " rs_l AS (SELECT rs_u.i, rs_u.k, rs_u.expect, rs_u.value,"         \
  " %s AS pend, %s AS flight FROM %s.%s AS rs_t JOIN rs_u"            \
  " ON %s FOR UPDATE OF rs_t SKIP LOCKED),"                           \
  " rs_sw AS (UPDATE %s.%s AS rs_t SET %s = %srs_l.value%s FROM rs_l" \
  " WHERE %s AND rs_t.%s = %srs_l.expect%s%s"                         \
  " RETURNING rs_l.i, rs_l.k, rs_l.expect, rs_l.value),"
/* The backup rows of a batch's swaps (rs_sw), $4 the run and $5 the
 * target. A key the run swaps again (A -> our B, a writer's C -> our D)
 * keeps the bytes the latest swap replaced (C): a restore undoes the fix's
 * write and must not throw away the writer's C. BACKUP_INSERT is the same
 * for keys the run has not swapped before, without the cost of
 * ON CONFLICT (a table's fix: pg_swap_finish). */
#define BACKUP_ROWS                                                     \
  " rs_b AS (INSERT INTO rollsafe.backup AS rs_b (run_id, target, key," \
  " old_value, new_value, written_at)"                                  \
  " SELECT $4::pg_catalog.text, $5::pg_catalog.text, k, expect, value," \
  " pg_catalog.now() FROM rs_sw"
#define BACKUP_INSERT BACKUP_ROWS ")"
#define BACKUP_UPSERT                                                  \
  BACKUP_ROWS                                                          \
  " ON CONFLICT (run_id, key) DO UPDATE SET"                           \
  " old_value = excluded.old_value,"                                   \
  " new_value = excluded.new_value, written_at = excluded.written_at," \
  " restored = false)"
#define QUEUE_OUTPUT                                                        \
  " SELECT rs_u.i, CASE WHEN rs_sw.i IS NOT NULL THEN 's'"                  \
  " WHEN rs_l.i IS NULL THEN CASE WHEN EXISTS (SELECT 1 FROM %s.%s AS rs_v" \
  " WHERE %s) THEN 'f' ELSE 'g' END"                                        \
  " WHEN rs_l.pend THEN 'c' WHEN rs_l.flight THEN 'f' ELSE 'g' END, %s"     \
  " FROM rs_u LEFT JOIN rs_sw ON rs_sw.i = rs_u.i"                          \
  " LEFT JOIN rs_l ON rs_l.i = rs_u.i"
    s->queue_fix_sql =
        pg_sprintf(QUEUE_INPUT BACKUP_UPSERT QUEUE_OUTPUT, pend_expr,
                   flight_expr, q[0], q[1], m->t_u, q[0], q[1], q[3],
                   s->value_pre, s->value_post, m->t_l, q[3], s->value_pre,
                   s->value_post, check_expr, q[0], q[1], m->v_u, "false");
    s->queue_restore_sql = pg_sprintf(
        QUEUE_INPUT
        " rs_r AS (SELECT run_id FROM rollsafe.runs"
        " WHERE target = $5::pg_catalog.text"
        " UNION SELECT $4::pg_catalog.text),"
        " rs_b AS (UPDATE rollsafe.backup AS rs_b SET restored = true"
        " FROM rs_sw, rs_r WHERE rs_b.run_id = rs_r.run_id"
        " AND rs_b.key = rs_sw.k AND rs_b.new_value = rs_sw.expect"
        " AND rs_b.old_value = rs_sw.value AND NOT rs_b.restored)" QUEUE_OUTPUT,
        pend_expr, flight_expr, q[0], q[1], m->t_u, q[0], q[1], q[3],
        s->value_pre, s->value_post, m->t_l, q[3], s->value_pre, s->value_post,
        check_expr, q[0], q[1], m->v_u, holds);
#undef QUEUE_INPUT
#undef QUEUE_OUTPUT
    free(s->check_sql);
    s->check_sql = pg_check_sql(m, q, check_pend, check_flight);
    if (s->queue_fix_sql == NULL || s->queue_restore_sql == NULL ||
        s->check_sql == NULL)
      rc = pg_fail(s, err, STORE_ENOMEM, "out of memory");
  }
  free(holds);
  PQfreemem(state);
  free(pend_expr);
  free(flight_expr);
  free(check_expr);
  free(check_pend);
  free(check_flight);
  return rc;
}

/* The pages' statements (see pg_build_writer_sql); @p tab is the quoted
 * schema.table, unaliased so that --where may name it as the scan lets it. */
static int pg_build_page_sql(pg_store *s, char *const q[4], const char *tab,
                             const store_target *target, store_error *err) {
  const char *where = target->where;
  int has_where = where != NULL && where[0] != '\0';
  if (!has_where) where = "";
  char *first_cond = NULL, *next_cond = NULL;
  int states = s->state_array[PG_READ] != NULL;
  int rc = STORE_OK;
  if (states)
    rc = pg_read_condition_of(s, q, target->state_column, 2, &first_cond, err);
  if (states && rc == STORE_OK)
    rc = pg_read_condition_of(s, q, target->state_column, 3, &next_cond, err);
  char *text = pg_key_sql(s, PG_KEY_TEXT, tab, NULL);
  char *order = pg_key_sql(s, PG_KEY_LIST, tab, NULL);
  char *after = pg_key_sql(s, PG_KEY_AFTER, tab, "$1");
  if (rc == STORE_OK && text != NULL && order != NULL && after != NULL) {
    s->page_first_sql = pg_sprintf(
        "SELECT %s, %s.%s FROM %s%s%s%s%s%s%s ORDER BY %s LIMIT $1", text, tab,
        q[3], tab, states || has_where ? " WHERE " : "",
        states ? first_cond : "", states && has_where ? " AND " : "",
        has_where ? "(\n" : "", where, has_where ? "\n)" : "", order);
    s->page_next_sql = pg_sprintf(
        "SELECT %s, %s.%s FROM %s WHERE %s%s%s%s%s%s ORDER BY %s LIMIT $2",
        text, tab, q[3], tab, after, states ? " AND " : "",
        states ? next_cond : "", has_where ? " AND (\n" : "", where,
        has_where ? "\n)" : "", order);
  }
  if (rc == STORE_OK && (s->page_first_sql == NULL || s->page_next_sql == NULL))
    rc = pg_fail(s, err, STORE_ENOMEM, "out of memory");
  free(first_cond);
  free(next_cond);
  free(text);
  free(order);
  free(after);
  return rc;
}

/* The writer's statements, every identifier quoted by libpq. */
static int pg_build_writer_sql(pg_store *s, const char *schema,
                               const char *table, const store_target *target,
                               store_error *err) {
  char *q[4];
  pg_matches m = {NULL, NULL, NULL, NULL};
  int rc = pg_quote_names(s, schema, table, target, q, err);
  char *tab = rc == STORE_OK ? pg_sprintf("%s.%s", q[0], q[1]) : NULL;
  if (rc == STORE_OK && tab == NULL)
    rc = pg_fail(s, err, STORE_ENOMEM, "out of memory");
  if (rc == STORE_OK) rc = pg_matches_make(s, &m, err);
  /*
   * Pages name key and column qualified by schema and table: a bare
   * ORDER BY key would sort by the output column key::text of the same
   * name (10 before 9). --where goes in as the scan takes it, in
   * parentheses on lines of its own. A queue's pages keep the messages in
   * a pending or in-flight state, bound as the last parameter ($2, $3).
   */
  if (rc == STORE_OK) rc = pg_build_page_sql(s, q, tab, target, err);
  if (rc == STORE_OK) {
#define SWAP_INPUT                                                    \
  "WITH rs_u AS (SELECT * FROM ROWS FROM ("                           \
  " pg_catalog.unnest($1::pg_catalog.text[]),"                        \
  " pg_catalog.unnest($2::pg_catalog.bytea[]),"                       \
  " pg_catalog.unnest($3::pg_catalog.bytea[])) WITH ORDINALITY"       \
  " AS rs_u(k, expect, value, i)),"                                   \
  " rs_sw AS (UPDATE %s.%s AS rs_t SET %s = %srs_u.value%s FROM rs_u" \
  " WHERE %s AND rs_t.%s = %srs_u.expect%s"                           \
  " RETURNING rs_u.i, rs_u.k, rs_u.expect, rs_u.value),"
    s->fix_sql = pg_sprintf(SWAP_INPUT BACKUP_INSERT " SELECT i FROM rs_sw",
                            q[0], q[1], q[3], s->value_pre, s->value_post,
                            m.t_u, q[3], s->value_pre, s->value_post);
    s->fix_upsert_sql = pg_sprintf(
        SWAP_INPUT BACKUP_UPSERT " SELECT i FROM rs_sw", q[0], q[1], q[3],
        s->value_pre, s->value_post, m.t_u, q[3], s->value_pre, s->value_post);
    s->restore_sql = pg_sprintf(
        SWAP_INPUT
        /* The backup rows put back: those of this run, or, when @p run is
         * a restore run of its own, of the fix runs of the same target;
         * found by their key on the primary key's index, and by the very
         * bytes restored. */
        " rs_r AS (SELECT run_id FROM rollsafe.runs"
        " WHERE target = $5::pg_catalog.text"
        " UNION SELECT $4::pg_catalog.text),"
        " rs_b AS (UPDATE rollsafe.backup AS rs_b SET restored = true"
        " FROM rs_sw, rs_r WHERE rs_b.run_id = rs_r.run_id"
        " AND rs_b.key = rs_sw.k AND rs_b.new_value = rs_sw.expect"
        " AND rs_b.old_value = rs_sw.value AND NOT rs_b.restored)"
        /* Every position, with whether it swapped and whether the row
         * (as the statement found it) held the original bytes already. */
        " SELECT rs_u.i, CASE WHEN rs_sw.i IS NOT NULL THEN 's' ELSE 'c' "
        "END, " HOLDS_VALUE " FROM rs_u LEFT JOIN rs_sw ON rs_sw.i = rs_u.i",
        q[0], q[1], q[3], s->value_pre, s->value_post, m.t_u, q[3],
        s->value_pre, s->value_post, q[0], q[1], m.h_u, q[3], s->value_pre,
        s->value_post);
#undef SWAP_INPUT
    s->check_sql = pg_check_sql(&m, q, "true", "false");
    if (s->fix_sql == NULL || s->fix_upsert_sql == NULL ||
        s->restore_sql == NULL || s->check_sql == NULL)
      rc = pg_fail(s, err, STORE_ENOMEM, "out of memory");
  }
  if (rc == STORE_OK && s->queue)
    rc = pg_build_queue_sql(s, q, &m, target, err);
  pg_matches_free(&m);
  free(tab);
  for (int i = 0; i < 4; i++) PQfreemem(q[i]);
  return rc;
}

/* ---- opening ------------------------------------------------------------- */

/* A new store with its label; NULL when out of memory. */
static pg_store *pg_new(const store_target *target, const char *schema,
                        const char *table) {
  pg_store *s = calloc(1, sizeof *s);
  if (s == NULL) return NULL;
  s->state = PG_IDLE;
  char name[64], pschema[64], ptable[64];
  printable(pschema, sizeof pschema, schema);
  printable(ptable, sizeof ptable, table);
  if (target->name != NULL) {
    printable(name, sizeof name, target->name);
    snprintf(s->label, sizeof s->label, "target '%s': table %s.%s", name,
             pschema, ptable);
  } else {
    snprintf(s->label, sizeof s->label, "table %s.%s", pschema, ptable);
  }
  return s;
}

/* Checks the names' lengths, connects, and makes the cancel object. */
static int pg_open_connection(pg_store *s, const store_target *target,
                              const store_open_options *options,
                              store_error *err) {
  size_t clen = strlen(target->column);
  if (clen == 0 || clen > 63)
    return pg_fail(s, err, STORE_EUSAGE, "column names are 1 to 63 bytes long");
  /* The session's encoding is UTF8: the server refuses other bytes as an
   * encoding error, which is the operator's name, not an I/O failure. */
  if (!store__valid_utf8(target->table) || !store__valid_utf8(target->key) ||
      !store__valid_utf8(target->column) ||
      !store__valid_utf8(target->state_column))
    return pg_fail(s, err, STORE_EUSAGE,
                   "table, key, column and state column names must be "
                   "UTF-8");
  int rc = pg_connect(s, target, options, err);
  if (rc == STORE_OK && (s->interrupt = PQgetCancel(s->conn)) == NULL)
    rc = pg_fail(s, err, STORE_ENOMEM, "cannot prepare cancelling");
  return rc;
}

static void pg_describe(pg_store *s, const store_target *target) {
  char place[200], shown[128];
  where_connected(place, sizeof place, s->conn);
  printable(shown, sizeof shown, target->table);
  /* A socket path long enough to cut the description short only shortens
   * what is shown. */
  if (snprintf(s->base.description, sizeof s->base.description, "%s %s on %s",
               store_kind_is_queue(target->kind) ? "postgres-queue"
                                                 : "postgres-table",
               shown, place) < 0)
    s->base.description[0] = '\0';
}

int store__postgres_open(store **out, const store_target *target,
                         const store_open_options *options,
                         const char *snapshot, const store_sample *sample,
                         store_error *err) {
  *out = NULL;
  char schema[64], table[64];
  int rc = store__split_table(target->table, schema, table, err);
  if (rc != STORE_OK) return rc;
  if (schema[0] == '\0') strcpy(schema, "public");

  pg_store *s = pg_new(target, schema, table);
  if (s == NULL) return store__fail(err, STORE_ENOMEM, "out of memory");
  s->base.ops = &pg_ops;
  rc = pg_open_connection(s, target, options, err);
  /* Pin the search path before anything else runs, then take the one
   * snapshot everything reads (it starts at the first query after BEGIN,
   * the catalog check below). The session sets its own statement_timeout
   * (none unless asked): one a role or database carries was chosen for
   * the applications' short statements, and would cut a scan's one long
   * COPY short. lock_timeout stays as the role set it. */
  if (rc == STORE_OK)
    rc = pg_command(s, "SET search_path = pg_catalog, pg_temp", err);
  if (rc == STORE_OK) {
    char set[64];
    snprintf(
        set, sizeof set, "SET statement_timeout = '%dms'",
        options->statement_timeout_ms > 0 ? options->statement_timeout_ms : 0);
    rc = pg_command(s, set, err);
  }
  if (rc == STORE_OK)
    rc = pg_command(s, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", err);
  /* Another job's snapshot, before the first query takes one of its own
   * (SET TRANSACTION SNAPSHOT takes no parameter: the name, the server's
   * own from pg_export_snapshot, is quoted by libpq). */
  if (rc == STORE_OK && snapshot != NULL) {
    char *lit = PQescapeLiteral(s->conn, snapshot, strlen(snapshot));
    char *sql =
        lit != NULL ? pg_sprintf("SET TRANSACTION SNAPSHOT %s", lit) : NULL;
    PQfreemem(lit);
    rc = sql != NULL ? pg_command(s, sql, err)
                     : pg_fail(s, err, STORE_ENOMEM, "out of memory");
    free(sql);
  }
  if (rc == STORE_OK) rc = pg_check_target(s, schema, table, target, err);
  if (rc == STORE_OK) rc = pg_check_state_column(s, target, err);
  if (rc == STORE_OK) rc = pg_build_sql(s, schema, table, target, sample, err);
  if (rc != STORE_OK) {
    pg_close(&s->base);
    return rc;
  }
  pg_describe(s, target);
  *out = &s->base;
  return STORE_OK;
}

/* Has the server parse and plan the first page's query (unnamed, never
 * run): a --where that is not SQL, or names what the table lacks, fails
 * here as the operator's (SQLSTATE class 42). */
static int pg_check_reads(pg_store *s, store_error *err) {
  PGresult *res = PQprepare(s->conn, "", s->page_first_sql, 0, NULL);
  int rc = STORE_OK;
  if (PQresultStatus(res) != PGRES_COMMAND_OK)
    rc = pg_fail_result(s, res, err, "checking the reads (and --where)");
  PQclear(res);
  return rc;
}

/* A writer's session settings, at open and when the connection is made
 * again. */
static int pg_writer_session(pg_store *s, store_error *err) {
  char set[96];
  int rc = pg_command(s, "SET search_path = pg_catalog, pg_temp", err);
  if (rc == STORE_OK) {
    /* One statement waits at most a second for a lock, whatever the lock
     * timeout: requests for a lock queue behind one that waits for it, so
     * production would wait on the fixer's wait. Steps that give way are
     * tried again until the lock timeout (store.c). */
    snprintf(set, sizeof set, "SET lock_timeout = '%dms'",
             s->session_lock_ms < 1000 ? s->session_lock_ms : 1000);
    rc = pg_command(s, set, err);
  }
  if (rc == STORE_OK) {
    snprintf(set, sizeof set, "SET statement_timeout = '%dms'",
             s->session_statement_ms);
    rc = pg_command(s, set, err);
  }
  /* Our transactions never wait on us between statements; one that does
   * (a hung process) is ended by the server and its locks released. */
  if (rc == STORE_OK)
    rc = pg_command(s, "SET idle_in_transaction_session_timeout = '60s'", err);
  /* "already exists, skipping" from the DDL of a concurrent fixer is no
   * news; warnings still show. */
  if (rc == STORE_OK)
    rc = pg_command(s, "SET client_min_messages = warning", err);
  if (rc == STORE_OK) {
    /* A standby, or default_transaction_read_only: refused now rather
     * than at the first batch. */
    PGresult *res = PQexec(s->conn, "SHOW transaction_read_only");
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
      rc = pg_fail_result(s, res, err, "setting up the session");
    else if (strcmp(PQgetvalue(res, 0, 0), "on") == 0)
      rc = pg_fail(s, err, STORE_EUSAGE,
                   "the session is read-only (a standby, or "
                   "default_transaction_read_only); writing needs a "
                   "read-write primary");
    PQclear(res);
  }
  return rc;
}

/*
 * After a lost connection (STORE_FAULT_CONNECTION_LOST): the same
 * connection parameters again (PQreset), the session's settings, the
 * trust checks of the schema rollsafe (a restarted server may hold what
 * another role did meanwhile), and run @p run_id's lease, which ended with
 * the old session. Not back yet: STORE_EBUSY, tried again until the lock
 * timeout (store.c). The lease taken by another process meanwhile:
 * STORE_EBUSY, not tried again.
 */
static int pg_reconnect(store *base, const char *run_id, store_error *err) {
  pg_store *s = (pg_store *)base;
  if (s->conn == NULL)
    return pg_fail(s, err, STORE_EIO, "reconnecting: no connection");
  s->pending = 0;
  if (s->read_ahead == 2)
    pg_drop_ahead(s);
  else
    s->ahead_sent = 0;
  PQreset(s->conn);
  s->prepared = 0; /* a new session */
  if (PQstatus(s->conn) != CONNECTION_OK) {
    char text[256];
    first_line(text, sizeof text, PQerrorMessage(s->conn));
    /* Unlabelled: it is added to the lost step's message. */
    return store__fail(err, STORE_EBUSY, "connecting again failed: %s", text);
  }
  s->base.fault = STORE_FAULT_NONE;
  s->copy_active = 0;
  /* A signal handler may cancel through s->interrupt at any moment (it
   * runs on this thread): the old one is freed only once the new one is
   * in its place. */
  PGcancel *old = s->interrupt, *fresh = PQgetCancel(s->conn);
  int rc = fresh != NULL
               ? STORE_OK
               : pg_fail(s, err, STORE_ENOMEM, "cannot prepare cancelling");
  if (fresh != NULL) {
    s->interrupt = fresh;
    PQfreeCancel(old);
  }
  if (rc == STORE_OK) rc = pg_writer_session(s, err);
  if (rc == STORE_OK) rc = store__pg_check_trust(s->conn, s->label, err);
  if (rc == STORE_OK && run_id != NULL && run_id[0] != '\0') {
    rc = store__pg_lease_take(s->conn, s->label, run_id, err);
    if (rc == STORE_EBUSY) s->base.busy_final = 1;
  }
  return rc;
}

int store__postgres_open_writer(store **out, const store_target *target,
                                const store_open_options *options,
                                const store_write_options *write,
                                store_error *err) {
  *out = NULL;
  char schema[64], table[64];
  int rc = store__split_table(target->table, schema, table, err);
  if (rc != STORE_OK) return rc;
  if (schema[0] == '\0') strcpy(schema, "public");

  pg_store *s = pg_new(target, schema, table);
  if (s == NULL) return store__fail(err, STORE_ENOMEM, "out of memory");
  s->base.ops = &pg_writer_ops;
  s->writer = 1;
  s->queue = store_kind_is_queue(target->kind);
  /* A timeout of 0 would mean none: production could wait on us for as
   * long as a batch takes. */
  if (write->lock_timeout_ms <= 0 || write->statement_timeout_ms <= 0)
    rc = pg_fail(s, err, STORE_EUSAGE,
                 "lock_timeout and statement_timeout must be positive "
                 "(got %d ms and %d ms)",
                 write->lock_timeout_ms, write->statement_timeout_ms);
  if (rc == STORE_OK) rc = pg_open_connection(s, target, options, err);
  s->session_lock_ms = write->lock_timeout_ms;
  s->session_statement_ms = write->statement_timeout_ms;
  if (rc == STORE_OK) rc = pg_writer_session(s, err);
  /* The catalog checks see one snapshot, in a short transaction of their
   * own. */
  if (rc == STORE_OK)
    rc = pg_command(s, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", err);
  if (rc == STORE_OK) rc = pg_check_target(s, schema, table, target, err);
  if (rc == STORE_OK) rc = pg_check_state_column(s, target, err);
  if (rc == STORE_OK && s->nk == 0)
    rc = pg_fail(s, err, STORE_EUSAGE,
                 "has no primary key or unique not-null column; fix needs "
                 "one to name rows (give --key, or add a key); scan can "
                 "name rows by ctid");
  /* --where is checked, by the server planning the first page, before
   * anything is created. */
  if (rc == STORE_OK) rc = pg_build_writer_sql(s, schema, table, target, err);
  if (rc == STORE_OK) rc = pg_check_reads(s, err);
  if (rc == STORE_OK) rc = pg_command(s, "COMMIT", err);
  /* The schema rollsafe is checked before anything is created in it, and
   * again once its tables are there (pg_trust.c). */
  if (rc == STORE_OK) rc = store__pg_check_trust(s->conn, s->label, err);
  if (rc == STORE_OK) rc = pg_ensure_tables(s, err);
  if (rc == STORE_OK) rc = pg_add_run_columns(s, err);
  if (rc == STORE_OK) rc = store__pg_check_trust(s->conn, s->label, err);
  s->has_runs = 1;
  if (rc != STORE_OK) {
    pg_close(&s->base);
    return rc;
  }
  pg_describe(s, target);
  *out = &s->base;
  return STORE_OK;
}

/* ---- a database's runs only (store_open_runs) ---------------------------- */

static int pg_runs_scan(store *base, store_error *err) {
  return pg_fail((pg_store *)base, err, STORE_EUSAGE,
                 "opened for its runs only");
}

static int pg_runs_next(store *base, store_row *row, store_error *err) {
  (void)row;
  return pg_runs_scan(base, err);
}

static int64_t pg_runs_estimate(store *base) {
  (void)base;
  return -1;
}

static const store_ops pg_runs_ops = {
    .estimate_rows = pg_runs_estimate,
    .scan = pg_runs_scan,
    .next = pg_runs_next,
    .cancel = pg_cancel,
    .interrupt = pg_interrupt,
    .close = pg_close,
    .run_load = pg_run_load,
    .run_list = pg_run_list,
    .run_parts = pg_run_parts,
    .purge_run = pg_purge_run,
    .lease_take = pg_lease_take,
    .lease_release = pg_lease_release,
    .lease_held = pg_lease_held,
};

int store__postgres_open_runs(store **out, const store_target *db,
                              const store_open_options *options,
                              const store_write_options *write,
                              store_error *err) {
  *out = NULL;
  pg_store *s = calloc(1, sizeof *s);
  if (s == NULL) return store__fail(err, STORE_ENOMEM, "out of memory");
  s->state = PG_IDLE;
  s->base.ops = &pg_runs_ops;
  s->writer = 1;
  char name[64];
  printable(name, sizeof name, db->name != NULL ? db->name : "runs");
  snprintf(s->label, sizeof s->label, "target '%s'", name);
  int rc = pg_connect(s, db, options, err);
  if (rc == STORE_OK && (s->interrupt = PQgetCancel(s->conn)) == NULL)
    rc = pg_fail(s, err, STORE_ENOMEM, "cannot prepare cancelling");
  char set[96];
  if (rc == STORE_OK)
    rc = pg_command(s, "SET search_path = pg_catalog, pg_temp", err);
  if (rc == STORE_OK && write->lock_timeout_ms > 0) {
    snprintf(set, sizeof set, "SET lock_timeout = '%dms'",
             write->lock_timeout_ms);
    rc = pg_command(s, set, err);
  }
  if (rc == STORE_OK && write->statement_timeout_ms > 0) {
    snprintf(set, sizeof set, "SET statement_timeout = '%dms'",
             write->statement_timeout_ms);
    rc = pg_command(s, set, err);
  }
  /* The runs are read from, and purged in, the schema rollsafe only when
   * it is trusted, as writers check it (pg_trust.c). */
  if (rc == STORE_OK) rc = store__pg_check_trust(s->conn, s->label, err);
  int exists = 0;
  if (rc == STORE_OK) rc = pg_read_run_columns(s, &exists, err);
  s->has_runs = exists;
  if (rc != STORE_OK) {
    pg_close(&s->base);
    return rc;
  }
  char place[200];
  where_connected(place, sizeof place, s->conn);
  snprintf(s->base.description, sizeof s->base.description,
           "postgres database on %s", place);
  *out = &s->base;
  return STORE_OK;
}
