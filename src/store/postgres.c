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
 * Passwords: a connection string that carries one is refused; libpq takes
 * it from ~/.pgpass, PGPASSFILE or PGPASSWORD, or we prompt on the terminal
 * when allowed. The connection string itself never goes into a message
 * (it may hold a secret under another name); messages name host, port and
 * database as libpq resolved them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "store_impl.h"

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
  PG_COPY,   /* a scan is streaming */
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
  char relid[16];  /* the table's oid, as text for bound parameters */
  int is_matview;  /* a unique index on a matview allows NULL keys */
  char *copy_sql;  /* built once at open */
  char label[256]; /* "target 'x': table s.t", printable, starts messages */
  pg_state state;
  int copy_active; /* the server may still be sending COPY data */
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
} pg_store;

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

/* The server's error for @p res, classed: SQLSTATE class 42 (syntax error,
 * undefined column or table, permission) is the operator's SQL or
 * configuration, anything else an I/O or server problem. */
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
  store_status status = (state != NULL && strncmp(state, "42", 2) == 0)
                            ? STORE_EUSAGE
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

static int pg_connect(pg_store *s, const store_target *target,
                      const store_open_options *options, store_error *err) {
  char *parse_error = NULL;
  PQconninfoOption *parsed = PQconninfoParse(target->connection, &parse_error);
  if (parsed == NULL) {
    /* libpq's parse message quotes pieces of the string: not repeated. */
    int nomem = parse_error == NULL;
    PQfreemem(parse_error);
    if (nomem) return pg_fail(s, err, STORE_ENOMEM, "out of memory");
    return pg_fail(s, err, STORE_EUSAGE,
                   "the connection string is neither a libpq conninfo "
                   "(key=value ...) nor a postgresql:// URI");
  }
  int has_password = 0;
  for (const PQconninfoOption *o = parsed; o->keyword != NULL; o++)
    if (strcmp(o->keyword, "password") == 0 && o->val != NULL &&
        o->val[0] != '\0')
      has_password = 1;
  PQconninfoFree(parsed);
  if (has_password)
    return pg_fail(s, err, STORE_EUSAGE,
                   "the connection string contains a password; give it "
                   "through ~/.pgpass, PGPASSFILE or PGPASSWORD instead");

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

/* A column of the table: its number, NOT NULL, and whether it is bytea. */
typedef struct pg_column {
  char attnum[8];
  int not_null;
  int is_bytea;
  char type[64];
} pg_column;

/* 1 with @p out filled, 0 when the table has no such column, or < 0. */
static int pg_find_column(pg_store *s, pg_column *out, const char *name,
                          store_error *err) {
  static const char sql[] =
      "SELECT a.attnum, a.attnotnull,"
      " a.atttypid = 'pg_catalog.bytea'::pg_catalog.regtype::pg_catalog.oid,"
      " pg_catalog.format_type(a.atttypid, a.atttypmod)"
      " FROM pg_catalog.pg_attribute a"
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
  }
  PQclear(res);
  return found;
}

/*
 * Resolves schema.table to one relation and checks key and column. Every
 * value is a bound parameter; names are matched as stored in the catalog
 * (no case folding, no quote removal).
 */
static int pg_check_target(pg_store *s, const char *schema, const char *table,
                           const store_target *target, store_error *err) {
  static const char rel_sql[] =
      "SELECT c.oid, c.relkind FROM pg_catalog.pg_class c"
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
  PQclear(res);
  if (kind != 'r' && kind != 'p' && kind != 'm')
    return pg_fail(s, err, STORE_EUSAGE,
                   "is %s; rollsafe scans tables and materialized views",
                   relkind_name(kind));
  s->is_matview = kind == 'm';

  char key_name[64], column_name[64];
  printable(key_name, sizeof key_name, target->key);
  printable(column_name, sizeof column_name, target->column);
  pg_column key, column;
  rc = pg_find_column(s, &key, target->key, err);
  if (rc < 0) return rc;
  if (rc == 0)
    return pg_fail(s, err, STORE_EUSAGE, "no key column '%s'", key_name);
  rc = pg_find_column(s, &column, target->column, err);
  if (rc < 0) return rc;
  if (rc == 0)
    return pg_fail(s, err, STORE_EUSAGE, "no column '%s'", column_name);
  if (!column.is_bytea)
    return pg_fail(s, err, STORE_EUSAGE,
                   "column '%s' is %s, not bytea; rollsafe reads records "
                   "from bytea columns",
                   column_name, column.type);

  /*
   * A key names rows only when it is unique on its own and never NULL: a
   * valid single-column index (INCLUDE columns aside) that is the primary
   * key, or unique over all rows (no predicate) on a NOT NULL column.
   * Materialized views have no NOT NULL columns: their unique index is
   * taken, and a NULL key found by the scan is an error then.
   */
  static const char key_sql[] =
      "SELECT"
      " pg_catalog.bool_or(a.attnum = $2::pg_catalog.int2),"
      " pg_catalog.count(*) > 0"
      " FROM pg_catalog.pg_index i"
      " JOIN pg_catalog.pg_attribute a"
      "  ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]"
      " WHERE i.indrelid = $1::pg_catalog.oid AND i.indisvalid"
      " AND i.indnkeyatts = 1 AND a.attnum > 0"
      " AND (i.indisprimary OR (i.indisunique AND i.indpred IS NULL"
      "  AND (a.attnotnull OR $3::pg_catalog.bool)))";
  const char *key_params[] = {s->relid, key.attnum,
                              s->is_matview ? "true" : "false"};
  rc = pg_query(s, &res, key_sql, 3, key_params, err);
  if (rc != STORE_OK) return rc;
  int key_ok = PQgetvalue(res, 0, 0)[0] == 't';
  int any_key = PQgetvalue(res, 0, 1)[0] == 't';
  PQclear(res);
  if (!any_key)
    return pg_fail(s, err, STORE_EUSAGE,
                   "refusing a table without a primary key or unique "
                   "not-null column (of a single column); rollsafe needs "
                   "one to name rows");
  if (!key_ok)
    return pg_fail(s, err, STORE_EUSAGE,
                   "'%s' is neither the primary key nor a unique not-null "
                   "column; rollsafe needs one to name rows",
                   key_name);
  return STORE_OK;
}

/* COPY (SELECT key::text, column FROM schema.table WHERE (...)) with every
 * identifier quoted by libpq. */
static int pg_build_sql(pg_store *s, const char *schema, const char *table,
                        const store_target *target, store_error *err) {
  const char *names[4] = {schema, table, target->key, target->column};
  char *quoted[4] = {NULL, NULL, NULL, NULL};
  int rc = STORE_OK;
  for (int i = 0; i < 4 && rc == STORE_OK; i++) {
    quoted[i] = PQescapeIdentifier(s->conn, names[i], strlen(names[i]));
    if (quoted[i] == NULL) {
      char why[160];
      first_line(why, sizeof why, PQerrorMessage(s->conn));
      rc = pg_fail(s, err, STORE_EUSAGE, "cannot quote a name: %s", why);
    }
  }
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
    const char *open_where = has_where ? " WHERE (\n" : "";
    const char *close_where = has_where ? "\n)" : "";
    if (!has_where) where = "";
#define COPY_SQL                                                              \
  "COPY (SELECT %s::pg_catalog.text, %s FROM %s.%s%s%s%s) TO STDOUT (FORMAT " \
  "binary)"
    int len = snprintf(NULL, 0, COPY_SQL, quoted[2], quoted[3], quoted[0],
                       quoted[1], open_where, where, close_where);
    s->copy_sql = len < 0 ? NULL : malloc((size_t)len + 1);
    if (s->copy_sql == NULL)
      rc = pg_fail(s, err, STORE_ENOMEM, "out of memory");
    else
      snprintf(s->copy_sql, (size_t)len + 1, COPY_SQL, quoted[2], quoted[3],
               quoted[0], quoted[1], open_where, where, close_where);
#undef COPY_SQL
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

int store__pg_copy_tuple(const uint8_t *buf, size_t len, size_t *pos,
                         const uint8_t *field[2], int32_t field_len[2],
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
  if (count != 2) {
    *why = "tuple does not have the 2 fields the query selects";
    return -1;
  }
  for (int i = 0; i < 2; i++) {
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

/* Asks the server to stop a running COPY, then drops the connection:
 * nothing left in flight is read. */
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
  PQfinish(s->conn);
  s->conn = NULL;
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
  /* PQexecParams, not PQexec: the extended protocol runs one statement,
   * whatever --where holds. */
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
    const uint8_t *field[2];
    int32_t field_len[2];
    int r =
        store__pg_copy_tuple(b, s->buf_len, &s->pos, field, field_len, &why);
    if (r < 0) return pg_malformed(s, err, why);
    if (r == 0) {
      s->trailer_seen = 1;
      continue;
    }
    if (field_len[0] < 0) {
      s->state = PG_FAILED;
      return pg_fail(s, err, s->is_matview ? STORE_EUSAGE : STORE_EIO,
                     "a row has a NULL key; rollsafe cannot name it");
    }
    size_t klen = (size_t)field_len[0];
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
    row->value_is_null = field_len[1] < 0;
    row->value = row->value_is_null ? NULL : field[1];
    row->value_len = row->value_is_null ? 0 : (size_t)field_len[1];
    return 1;
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
}

static void pg_close(store *base) {
  pg_store *s = (pg_store *)base;
  PQfreeCancel(s->interrupt);
  s->interrupt = NULL;
  pg_release(s);
  free(s->copy_sql);
  free(s->key);
  free(s);
}

static const store_ops pg_ops = {
    .estimate_rows = pg_estimate_rows,
    .scan = pg_scan,
    .next = pg_next,
    .cancel = pg_cancel,
    .interrupt = pg_interrupt,
    .close = pg_close,
};

/* ---- opening ------------------------------------------------------------- */

int store__postgres_open(store **out, const store_target *target,
                         const store_open_options *options, store_error *err) {
  *out = NULL;
  char schema[64], table[64];
  int rc = store__split_table(target->table, schema, table, err);
  if (rc != STORE_OK) return rc;
  if (schema[0] == '\0') strcpy(schema, "public");

  pg_store *s = calloc(1, sizeof *s);
  if (s == NULL) return store__fail(err, STORE_ENOMEM, "out of memory");
  s->base.ops = &pg_ops;
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

  size_t klen = strlen(target->key), clen = strlen(target->column);
  if (klen == 0 || klen > 63 || clen == 0 || clen > 63)
    rc = pg_fail(s, err, STORE_EUSAGE,
                 "key and column names are 1 to 63 bytes long");
  if (rc == STORE_OK) rc = pg_connect(s, target, options, err);
  if (rc == STORE_OK && (s->interrupt = PQgetCancel(s->conn)) == NULL)
    rc = pg_fail(s, err, STORE_ENOMEM, "cannot prepare cancelling");
  /* Pin the search path before anything else runs, then take the one
   * snapshot everything reads (it starts at the first query after BEGIN,
   * the catalog check below). statement_timeout and lock_timeout stay as
   * the role and the server set them: a limit the operator chose applies
   * to the scan too. */
  if (rc == STORE_OK)
    rc = pg_command(s, "SET search_path = pg_catalog, pg_temp", err);
  if (rc == STORE_OK)
    rc = pg_command(s, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", err);
  if (rc == STORE_OK) rc = pg_check_target(s, schema, table, target, err);
  if (rc == STORE_OK) rc = pg_build_sql(s, schema, table, target, err);
  if (rc != STORE_OK) {
    pg_close(&s->base);
    return rc;
  }
  char place[200], shown[128];
  where_connected(place, sizeof place, s->conn);
  printable(shown, sizeof shown, target->table);
  /* A socket path long enough to cut the description short only shortens
   * what is shown. */
  if (snprintf(s->base.description, sizeof s->base.description,
               "postgres-table %s on %s", shown, place) < 0)
    s->base.description[0] = '\0';
  *out = &s->base;
  return STORE_OK;
}

int store__postgres_open_writer(store **out, const store_target *target,
                                const store_open_options *options,
                                const store_write_options *write,
                                store_error *err) {
  (void)target;
  (void)options;
  (void)write;
  *out = NULL;
  return store__fail(err, STORE_EUSAGE,
                     "postgres-table: writing is not available yet");
}
