/* src/store/sqlite.c: the SQLite adapter (being written). */
#include "store_impl.h"

int store__sqlite_open(store **out, const store_target *target,
                       const store_open_options *options, store_error *err) {
  (void)target;
  (void)options;
  *out = NULL;
  return store__fail(err, STORE_EUSAGE, "sqlite-table: not available yet");
}
