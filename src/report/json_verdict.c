/* src/report/json_verdict.c: see json_verdict.h. */
#include "json_verdict.h"

#include "json_record.h"

json_t *rs__json_provenance(const rs_provenance *p) {
  json_t *o = json_object();
  if (o == NULL) return NULL;
  char when[40];
  json_t *write_time =
      p->write_time_us != 0 &&
              rs__rfc3339_us(when, sizeof when, p->write_time_us) == 0
          ? json_string(when)
          : json_null();
  if (json_object_set_new(o, "flag_key", rs__json_cstring(p->flag_key)) ||
      json_object_set_new(o, "variant", rs__json_cstring(p->variant)) ||
      json_object_set_new(o, "writer_id", rs__json_cstring(p->writer_id)) ||
      json_object_set_new(o, "write_time", write_time) ||
      json_object_set_new(o, "write_time_us",
                          json_integer((json_int_t)p->write_time_us))) {
    json_decref(o);
    return NULL;
  }
  return o;
}

json_t *rs__json_error(const rs_error *err) {
  json_t *o = json_object();
  if (o == NULL) return NULL;
  if (json_object_set_new(o, "code", json_string(rs_error_name(err->code))) ||
      json_object_set_new(o, "message", rs__json_cstring(err->message)) ||
      (err->offset != RS_OFFSET_NONE &&
       json_object_set_new(o, "offset",
                           json_integer((json_int_t)err->offset)))) {
    json_decref(o);
    return NULL;
  }
  return o;
}

static json_t *reason_json(const rs_reason *r) {
  json_t *o = json_object();
  if (o == NULL) return NULL;
  size_t offset = rs_reason_offset(r);
  if (json_object_set_new(o, "verdict",
                          json_string(rs_verdict_name(rs_reason_verdict(r)))) ||
      json_object_set_new(o, "code", json_string(rs_reason_code(r))) ||
      json_object_set_new(o, "path", rs__json_cstring(rs_reason_path(r))) ||
      json_object_set_new(o, "field", json_integer(rs_reason_field(r))) ||
      (offset != RS_OFFSET_NONE &&
       json_object_set_new(o, "offset", json_integer((json_int_t)offset))) ||
      json_object_set_new(o, "text", rs__json_cstring(rs_reason_text(r)))) {
    json_decref(o);
    return NULL;
  }
  return o;
}

json_t *rs__json_verdict(const rs_classification *c,
                         const char *reader_framing) {
  json_t *o = json_object();
  json_t *reasons = json_array();
  if (o == NULL || reasons == NULL) goto fail;
  size_t n = rs_classification_reason_count(c);
  for (size_t i = 0; i < n; i++) {
    const rs_reason *r = rs_classification_reason(c, i);
    if (r != NULL && json_array_append_new(reasons, reason_json(r))) goto fail;
  }
  if (json_object_set_new(o, "reader_version",
                          json_integer(rs_classification_reader_version(c))) ||
      (reader_framing != NULL &&
       json_object_set_new(o, "reader_framing", json_string(reader_framing))) ||
      json_object_set_new(
          o, "reader_runtime",
          json_string(rs_runtime_name(rs_classification_reader_runtime(c)))) ||
      json_object_set_new(
          o, "verdict",
          json_string(rs_verdict_name(rs_classification_verdict(c))))) {
    goto fail;
  }
  /* set_new takes the reference even when it fails. */
  json_t *r = reasons;
  reasons = NULL;
  if (json_object_set_new(o, "reasons", r) ||
      json_object_set_new(
          o, "reasons_omitted",
          json_integer((json_int_t)rs_classification_reasons_omitted(c))))
    goto fail;
  return o;

fail:
  json_decref(reasons);
  json_decref(o);
  return NULL;
}

json_t *rs__json_losses(const rs_conversion *conversion) {
  json_t *arr = json_array();
  if (arr == NULL || conversion == NULL) return arr;
  size_t n = rs_conversion_loss_count(conversion);
  for (size_t i = 0; i < n; i++) {
    const rs_loss *l = rs_conversion_loss(conversion, i);
    if (l == NULL) continue;
    json_t *o = json_object();
    if (json_array_append_new(arr, o) ||
        json_object_set_new(
            o, "kind", json_string(rs_loss_kind_name(rs_loss_kind_of(l)))) ||
        json_object_set_new(o, "path", rs__json_cstring(rs_loss_path(l))) ||
        json_object_set_new(o, "field", json_integer(rs_loss_field(l))) ||
        json_object_set_new(o, "text", rs__json_cstring(rs_loss_text(l)))) {
      json_decref(arr);
      return NULL;
    }
  }
  return arr;
}
