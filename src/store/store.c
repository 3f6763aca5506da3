/*
 * src/store/store.c: target kinds and the dispatch to each adapter.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "store_impl.h"

static const struct {
  store_kind kind;
  const char *name;
} kinds[] = {
    {STORE_SQLITE_TABLE, "sqlite-table"},
    {STORE_POSTGRES_TABLE, "postgres-table"},
};

const char *store_kind_name(store_kind kind) {
  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
    if (kinds[i].kind == kind) return kinds[i].name;
  return NULL;
}

store_kind store_kind_from_name(const char *name) {
  for (size_t i = 0; name != NULL && i < sizeof kinds / sizeof kinds[0]; i++)
    if (strcmp(kinds[i].name, name) == 0) return kinds[i].kind;
  return (store_kind)0;
}

int store__fail(store_error *err, store_status status, const char *fmt, ...) {
  if (err != NULL) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    err->status = status;
  }
  return status;
}

int store__split_table(const char *table, char schema[64], char name[64],
                       store_error *err) {
  schema[0] = name[0] = '\0';
  if (table == NULL || table[0] == '\0')
    return store__fail(err, STORE_EUSAGE, "no table given");
  const char *dot = strchr(table, '.');
  const char *n = table;
  if (dot != NULL) {
    size_t slen = (size_t)(dot - table);
    if (slen == 0 || slen > 63 || strchr(dot + 1, '.') != NULL)
      return store__fail(err, STORE_EUSAGE,
                         "table '%s': expected 'table' or 'schema.table'",
                         table);
    memcpy(schema, table, slen);
    schema[slen] = '\0';
    n = dot + 1;
  }
  size_t nlen = strlen(n);
  if (nlen == 0 || nlen > 63)
    return store__fail(err, STORE_EUSAGE,
                       "table '%s': a name is 1 to 63 bytes long", table);
  memcpy(name, n, nlen + 1);
  return STORE_OK;
}

/* Opens @p target read-only (@p write NULL) or for writing. */
static int open_target(store **out, const store_target *target,
                       const store_open_options *options,
                       const store_write_options *write, store_error *err) {
  static const store_open_options no_options = {0};
  *out = NULL;
  if (err != NULL) {
    err->status = STORE_OK;
    err->message[0] = '\0';
  }
  if (options == NULL) options = &no_options;
  if (target == NULL || target->connection == NULL || target->table == NULL ||
      target->key == NULL || target->column == NULL)
    return store__fail(err, STORE_EUSAGE,
                       "a target needs a connection, a table, a key and a "
                       "column");
  switch (target->kind) {
    case STORE_SQLITE_TABLE:
      return write != NULL
                 ? store__sqlite_open_writer(out, target, options, write, err)
                 : store__sqlite_open(out, target, options, err);
    case STORE_POSTGRES_TABLE:
      return write != NULL
                 ? store__postgres_open_writer(out, target, options, write, err)
                 : store__postgres_open(out, target, options, err);
  }
  return store__fail(err, STORE_EUSAGE, "target '%s': unknown kind",
                     target->name ? target->name : "?");
}

int store_open(store **out, const store_target *target,
               const store_open_options *options, store_error *err) {
  return open_target(out, target, options, NULL, err);
}

int64_t store_estimate_rows(store *s) {
  return s->ops->estimate_rows(s);
}

int store_scan(store *s, store_error *err) {
  return s->ops->scan(s, err);
}

int store_next(store *s, store_row *row, store_error *err) {
  return s->ops->next(s, row, err);
}

void store_cancel(store *s) {
  s->ops->cancel(s);
}

void store_interrupt(store *s) {
  if (s != NULL) s->ops->interrupt(s);
}

const char *store_describe(const store *s) {
  return s->description;
}

void store_close(store *s) {
  if (s != NULL) s->ops->close(s);
}

/* ---- writing ---------------------------------------------------------- */

int store_open_writer(store **out, const store_target *target,
                      const store_open_options *options,
                      const store_write_options *write, store_error *err) {
  static const store_write_options defaults = STORE_WRITE_OPTIONS_INIT;
  return open_target(out, target, options, write != NULL ? write : &defaults,
                     err);
}

/* A read-only store has no writing operations. */
#define WRITER_OP(s, op, err)                                         \
  do {                                                                \
    if ((s)->ops->op == NULL)                                         \
      return store__fail((err), STORE_EUSAGE, "%s: opened read-only", \
                         (s)->description);                           \
  } while (0)

int store_run_create(store *s, const store_run *run, store_error *err) {
  WRITER_OP(s, run_create, err);
  return s->ops->run_create(s, run, err);
}

int store_run_load(store *s, const char *run_id, store_run *out,
                   store_error *err) {
  WRITER_OP(s, run_load, err);
  return s->ops->run_load(s, run_id, out, err);
}

int store_run_update(store *s, const store_run *run, store_error *err) {
  WRITER_OP(s, run_update, err);
  return s->ops->run_update(s, run, err);
}

int store_run_list(store *s, store_run **out, size_t *n, store_error *err) {
  *out = NULL;
  *n = 0;
  WRITER_OP(s, run_list, err);
  return s->ops->run_list(s, out, n, err);
}

int store_page(store *s, const char *after, size_t limit,
               const store_page_row **rows, store_error *err) {
  *rows = NULL;
  WRITER_OP(s, page, err);
  return s->ops->page(s, after, limit, rows, err);
}

int store_fix_batch(store *s, const store_run *run, store_swap *swaps, size_t n,
                    store_error *err) {
  WRITER_OP(s, fix_batch, err);
  return s->ops->fix_batch(s, run, swaps, n, err);
}

int store_backup_page(store *s, const char *run_id, const char *after,
                      size_t limit, store_swap **rows, store_error *err) {
  *rows = NULL;
  WRITER_OP(s, backup_page, err);
  return s->ops->backup_page(s, run_id, after, limit, rows, err);
}

int store_restore_batch(store *s, const store_run *run, store_swap *swaps,
                        size_t n, store_error *err) {
  WRITER_OP(s, restore_batch, err);
  return s->ops->restore_batch(s, run, swaps, n, err);
}

int store_purge_run(store *s, const char *run_id, int64_t *deleted,
                    store_error *err) {
  if (deleted != NULL) *deleted = 0;
  WRITER_OP(s, purge_run, err);
  return s->ops->purge_run(s, run_id, deleted, err);
}
