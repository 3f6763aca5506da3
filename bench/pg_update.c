#define _POSIX_C_SOURCE 200809L
/*
 * bench/pg_update.c: the PostgreSQL write baseline of the benchmark.
 *
 *   pg_update CONNINFO TABLE COPY_FILE [BATCH]
 *
 * The least a rewrite of stored records has to do: COPY_FILE holds
 * (key bigint, payload bytea) rows in PostgreSQL's binary COPY format (as
 * `\copy ... to FILE with (format binary)` writes them); they are written
 * into TABLE by
 *
 *   UPDATE TABLE SET payload = u.p FROM unnest($1::int8[], $2::bytea[])
 *     AS u(k, p) WHERE TABLE.key = u.k
 *
 * one statement and one transaction per BATCH rows (default 10,000), the
 * arrays sent as binary parameters. No backup, no compare-and-swap, no
 * checkpoint, no check of the bytes. Prints the counts on stdout.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

typedef struct buf {
  unsigned char *data;
  size_t len, cap;
} buf;

static int put(buf *b, const void *p, size_t n) {
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 1 << 16;
    while (cap < b->len + n) cap *= 2;
    unsigned char *d = realloc(b->data, cap);
    if (d == NULL) return -1;
    b->data = d;
    b->cap = cap;
  }
  memcpy(b->data + b->len, p, n);
  b->len += n;
  return 0;
}

static int put32(buf *b, uint32_t v) {
  v = htonl(v);
  return put(b, &v, 4);
}

/* A one-dimensional array of n elements of type oid, in binary form; the
 * elements follow, each as put_elem appends it. */
static int array_header(buf *b, uint32_t oid, uint32_t n) {
  b->len = 0;
  return put32(b, 1) | put32(b, 0) | put32(b, oid) | put32(b, n) | put32(b, 1);
}

static uint32_t get32(const unsigned char *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return ntohl(v);
}

static int flush(PGconn *c, const char *sql, buf *keys, buf *vals, uint32_t n,
                 uint64_t *updated) {
  /* The element count sits at byte 12 of each array. */
  uint32_t be = htonl(n);
  memcpy(keys->data + 12, &be, 4);
  memcpy(vals->data + 12, &be, 4);
  const char *params[2] = {(const char *)keys->data, (const char *)vals->data};
  int lens[2] = {(int)keys->len, (int)vals->len};
  int formats[2] = {1, 1};
  PGresult *r = PQexecParams(c, sql, 2, NULL, params, lens, formats, 0);
  if (PQresultStatus(r) != PGRES_COMMAND_OK) {
    fprintf(stderr, "pg_update: %s", PQerrorMessage(c));
    PQclear(r);
    return -1;
  }
  *updated += strtoull(PQcmdTuples(r), NULL, 10);
  PQclear(r);
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 4 && argc != 5) {
    fprintf(stderr, "usage: pg_update CONNINFO TABLE COPY_FILE [BATCH]\n");
    return 2;
  }
  uint32_t batch = argc == 5 ? (uint32_t)strtoul(argv[4], NULL, 10) : 10000;
  if (batch == 0) batch = 10000;
  FILE *f = fopen(argv[3], "rb");
  if (f == NULL) {
    perror(argv[3]);
    return 1;
  }
  /* The whole file first: the timed work is the writing. */
  buf in = {0};
  unsigned char chunk[1 << 16];
  size_t got;
  while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
    if (put(&in, chunk, got) != 0) {
      fprintf(stderr, "pg_update: out of memory\n");
      return 1;
    }
  fclose(f);
  /* Signature (11 bytes), flags (4), header extension length (4). */
  if (in.len < 19 || memcmp(in.data, "PGCOPY\n\377\r\n", 11) != 0) {
    fprintf(stderr, "pg_update: %s: not a binary COPY file\n", argv[3]);
    return 1;
  }
  size_t pos = 19 + get32(in.data + 15);

  PGconn *c = PQconnectdb(argv[1]);
  if (PQstatus(c) != CONNECTION_OK) {
    fprintf(stderr, "pg_update: %s", PQerrorMessage(c));
    return 1;
  }
  char *table = PQescapeIdentifier(c, argv[2], strlen(argv[2]));
  char sql[512];
  snprintf(sql, sizeof sql,
           "UPDATE %s SET payload = u.p FROM unnest($1::int8[], "
           "$2::bytea[]) AS u(k, p) WHERE %s.key = u.k",
           table, table);
  PQfreemem(table);

  buf keys = {0}, vals = {0};
  uint64_t rows = 0, updated = 0, bytes = 0;
  uint32_t n = 0;
  int bad = array_header(&keys, 20, 0) | array_header(&vals, 17, 0);
  for (;;) {
    if (pos + 2 > in.len) break;
    uint16_t fields = (uint16_t)((in.data[pos] << 8) | in.data[pos + 1]);
    pos += 2;
    if (fields == 0xFFFF) break; /* the trailer */
    if (fields != 2 || pos + 4 > in.len || get32(in.data + pos) != 8) {
      fprintf(stderr, "pg_update: %s: expected (bigint, bytea) rows\n",
              argv[3]);
      return 1;
    }
    bad |= put(&keys, in.data + pos, 12); /* length 8 and the key */
    pos += 12;
    uint32_t len = get32(in.data + pos);
    if (len == 0xFFFFFFFF || pos + 4 + len > in.len) {
      fprintf(stderr, "pg_update: %s: a NULL or cut payload\n", argv[3]);
      return 1;
    }
    bad |= put(&vals, in.data + pos, 4 + (size_t)len);
    pos += 4 + (size_t)len;
    bytes += len;
    rows++;
    if (++n == batch) {
      if (bad || flush(c, sql, &keys, &vals, n, &updated) != 0) return 1;
      n = 0;
      bad = array_header(&keys, 20, 0) | array_header(&vals, 17, 0);
    }
  }
  if (bad) {
    fprintf(stderr, "pg_update: out of memory\n");
    return 1;
  }
  if (n > 0 && flush(c, sql, &keys, &vals, n, &updated) != 0) return 1;
  PQfinish(c);
  free(in.data);
  free(keys.data);
  free(vals.data);
  printf("rows=%" PRIu64 " updated=%" PRIu64 " bytes=%" PRIu64 "\n", rows,
         updated, bytes);
  return 0;
}
