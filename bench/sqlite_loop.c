#define _POSIX_C_SOURCE 200809L
/*
 * bench/sqlite_loop.c: the SQLite baseline of the benchmark.
 *
 *   sqlite_loop [--touch] DB TABLE
 *
 * The least a verifier has to do: one prepared statement over the table,
 * every blob unpacked with protobuf-c as a shop.v1.Order (the generated
 * descriptor, as a plain old reader does) and freed. An envelope record
 * fails to unpack at byte 0 (wire type 7): counted, the loop still did the
 * work. Prints the counts on stdout.
 *
 * With --touch, the least any reader of the rows does: every blob read
 * and every one of its bytes added to a checksum, nothing unpacked (the
 * floor under a scan that has to look at every byte).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include <rollsafe/shop/v1/order.pb-c.h>

int main(int argc, char **argv) {
  int touch = argc == 4 && strcmp(argv[1], "--touch") == 0;
  if (argc != 3 && !touch) {
    fprintf(stderr, "usage: sqlite_loop [--touch] DB TABLE\n");
    return 2;
  }
  argv += touch;
  sqlite3 *db = NULL;
  if (sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
    fprintf(stderr, "sqlite_loop: %s: %s\n", argv[1], sqlite3_errmsg(db));
    return 1;
  }
  char *sql = sqlite3_mprintf("SELECT \"key\", payload FROM \"%w\"", argv[2]);
  sqlite3_stmt *st = NULL;
  if (sql == NULL || sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
    fprintf(stderr, "sqlite_loop: prepare: %s\n", sqlite3_errmsg(db));
    return 1;
  }
  sqlite3_free(sql);

  uint64_t rows = 0, ok = 0, failed = 0, bytes = 0, sum = 0;
  int64_t key_sum = 0;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    key_sum += sqlite3_column_int64(st, 0);
    const uint8_t *p = sqlite3_column_blob(st, 1);
    size_t len = (size_t)sqlite3_column_bytes(st, 1);
    rows++;
    bytes += len;
    if (touch) {
      for (size_t i = 0; i < len; i++) sum += p[i];
      continue;
    }
    ProtobufCMessage *m =
        protobuf_c_message_unpack(&shop__v1__order__descriptor, NULL, len, p);
    if (m) {
      ok++;
      protobuf_c_message_free_unpacked(m, NULL);
    } else {
      failed++;
    }
  }
  if (rc != SQLITE_DONE) {
    fprintf(stderr, "sqlite_loop: step: %s\n", sqlite3_errmsg(db));
    return 1;
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  if (touch)
    printf("rows=%" PRIu64 " bytes=%" PRIu64 " byte_sum=%" PRIu64
           " key_sum=%" PRId64 "\n",
           rows, bytes, sum, key_sum);
  else
    printf("rows=%" PRIu64 " unpacked=%" PRIu64 " failed=%" PRIu64
           " bytes=%" PRIu64 " key_sum=%" PRId64 "\n",
           rows, ok, failed, bytes, key_sum);
  return 0;
}
