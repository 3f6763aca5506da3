#include <stdio.h>
#include <string.h>

#include "internal.h"

const char *rs_version(void) {
  return RS_VERSION_STRING;
}

const char *rs_strerror(int code) {
  switch (code) {
    case RS_OK:
      return "success";
#define RS__STRERROR_GEN(name, msg) \
  case RS_##name:                   \
    return msg;
      RS_ERROR_MAP(RS__STRERROR_GEN)
#undef RS__STRERROR_GEN
    default:
      return "unknown error";
  }
}

const char *rs_error_name(int code) {
  switch (code) {
    case RS_OK:
      return "RS_OK";
#define RS__ERRNAME_GEN(name, msg) \
  case RS_##name:                  \
    return "RS_" #name;
      RS_ERROR_MAP(RS__ERRNAME_GEN)
#undef RS__ERRNAME_GEN
    default:
      return "RS_EUNKNOWN";
  }
}

void rs_error_clear(rs_error *err) {
  if (err == NULL) return;
  err->code = RS_OK;
  err->offset = RS_OFFSET_NONE;
  err->message[0] = '\0';
}

int rs__fail(rs_error *err, int code, size_t offset, const char *fmt, ...) {
  if (err != NULL) {
    err->code = code;
    err->offset = offset;
    if (fmt != NULL) {
      va_list ap;
      va_start(ap, fmt);
      vsnprintf(err->message, sizeof err->message, fmt, ap);
      va_end(ap);
    } else {
      snprintf(err->message, sizeof err->message, "%s", rs_strerror(code));
    }
  }
  return code;
}
