#define _POSIX_C_SOURCE 200809L
/*
 * src/report/key_render.c: a row's key in reports (key_render.h).
 */
#include <stdlib.h>
#include <string.h>

#include "report/scan_report.h"
#include "report/key_render.h"

/* The key's text as an array of its parts, or NULL. */
static json_t *parts_of(const char *key, unsigned parts) {
  if (parts < 2 || key == NULL) return NULL;
  json_t *a = json_loads(key, JSON_DECODE_ANY, NULL);
  if (a != NULL && json_is_array(a) && json_array_size(a) == parts) return a;
  json_decref(a);
  return NULL;
}

json_t *rs__json_key(const char *key, unsigned parts) {
  json_t *a = parts_of(key, parts);
  if (a != NULL) return a;
  return key != NULL ? rs__json_text(key) : json_null();
}

char *rs__key_text(const char *key, unsigned parts) {
  json_t *a = parts_of(key, parts);
  if (a == NULL) return strdup(key != NULL ? key : "");
  size_t cap = strlen(key) + 3, len = 0;
  char *out = malloc(cap);
  for (size_t i = 0; out != NULL && i < json_array_size(a); i++) {
    json_t *v = json_array_get(a, i);
    char *num = json_is_string(v) ? NULL : json_dumps(v, JSON_ENCODE_ANY);
    const char *text = json_is_string(v) ? json_string_value(v) : num;
    size_t n = text != NULL ? strlen(text) : 0;
    char *grown = realloc(out, cap += n + 4);
    if (grown == NULL) {
      free(out);
      out = NULL;
    } else {
      out = grown;
      len += (size_t)sprintf(out + len, "%s%s", i == 0 ? "(" : ", ",
                             text != NULL ? text : "");
    }
    free(num);
  }
  if (out != NULL) strcpy(out + len, ")");
  json_decref(a);
  return out;
}
