/*
 * src/report/key_render.h: how reports show a row's key (store.h says
 * what its text holds): a key of one column as its text, a key of several
 * as a JSON array in JSON reports and as "(acme, 42)" in text ones, a
 * position ("rowid 17") as it reads, marked as a position.
 */
#ifndef RS_REPORT_KEY_RENDER_H
#define RS_REPORT_KEY_RENDER_H

#include <jansson.h>

/**
 * The key as a JSON value: a string, or for @p parts >= 2 the array its
 * text holds (a string still when the text is not an array). New
 * reference; NULL when out of memory.
 */
json_t *rs__json_key(const char *key, unsigned parts);

/**
 * The key as a text report shows it: "(acme, 42)" for @p parts >= 2, the
 * text itself otherwise. Malloc'd (free()); NULL when out of memory.
 */
char *rs__key_text(const char *key, unsigned parts);

/** The note reports give a target whose rows are named by position. */
#define RS_POSITION_NOTE                                              \
  "the table has no key: rows are named by their position (rowid or " \
  "ctid), which a change to the table may move; positions are not "   \
  "identities, and a fix needs a key"

#endif
