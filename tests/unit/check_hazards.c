/*
 * One test per hazard of the example domain (schema/README.md): the verdict
 * and reason for a version-1 reader, and what down-conversion does.
 */
#include <string.h>

#include "testutil.h"

typedef struct outcome {
  rs_verdict plain;    /* verdict for the plain protobuf-c v1 reader */
  rs_verdict rollsafe; /* verdict for an envelope-aware v1 reader */
  int convert_rc;
  rs_conversion_result result;
} outcome;

/* Encodes o, classifies for both v1 readers and transcodes to v1. */
static void run(const Shop__V2__Order *o, rs_classification **plain,
                rs_classification **aware, rs_conversion **conv, rs_buf *v1,
                int *rc, rs_buf *v2) {
  rs_test_encode_v2(v2, o);
  *plain = rs_test_classify(v2, RS_READER_FRAMING_RAW);
  *aware = rs_test_classify(v2, RS_READER_FRAMING_ENVELOPE);
  rs_error err = RS_ERROR_INIT;
  *rc = rs_transcode(v1, conv, rs_test_registry(), RS_SHOP_ORDER, 1, v2->data,
                     v2->len, NULL, NULL, &err);
}

static void done(rs_classification *a, rs_classification *b, rs_conversion *c,
                 rs_buf *x, rs_buf *y) {
  rs_classification_free(a);
  rs_classification_free(b);
  rs_conversion_free(c);
  rs_buf_dispose(x, NULL);
  rs_buf_dispose(y, NULL);
}

/* A v1 reader of the converted bytes: plain protobuf-c, v1 generated code. */
static Shop__V1__Order *old_reader(const rs_buf *b) {
  Shop__V1__Order *o = shop__v1__order__unpack(NULL, b->len, b->data);
  ck_assert_msg(o != NULL, "the v1 generated code cannot read the result");
  return o;
}

/* Byte offset of the first field `number` at the top level of a payload. */
static size_t field_offset(const rs_buf *b, uint32_t number) {
  size_t i = 2;
  uint64_t hlen = 0;
  for (int s = 0; b->data[i] & 0x80 || s == 0; s += 7) {
    hlen |= (uint64_t)(b->data[i] & 0x7f) << s;
    if (!(b->data[i++] & 0x80)) break;
  }
  size_t p = i + hlen;
  while (p < b->len) {
    uint8_t tag = b->data[p];
    if ((uint32_t)(tag >> 3) == number) return p;
    unsigned wt = tag & 7;
    p++;
    if (wt == 0) {
      while (b->data[p++] & 0x80) continue;
    } else if (wt == 2) {
      size_t n = b->data[p++];
      p += n;
    } else {
      ck_abort_msg("unexpected wire type %u in test record", wt);
    }
  }
  ck_abort_msg("field %u not found", number);
  return 0;
}

START_TEST(clean_v2_is_only_the_envelope_for_the_plain_reader) {
  Shop__V2__Order *o = rs_test_v2_clean();
  rs_classification *p, *a;
  rs_conversion *c = NULL;
  rs_buf v1 = RS_BUF_INIT, v2 = RS_BUF_INIT;
  int rc;
  run(o, &p, &a, &c, &v1, &rc, &v2);
  ck_assert_int_eq(rs_classification_verdict(a), RS_VERDICT_OK);
  ck_assert_uint_eq(rs_classification_reason_count(a), 0);
  ck_assert_int_eq(rs_classification_verdict(p), RS_VERDICT_UNREADABLE);
  ck_assert_uint_eq(rs_classification_reason_count(p), 1);
  const rs_reason *r = rs_classification_reason(p, 0);
  ck_assert_str_eq(rs_reason_path(r), "");
  ck_assert_uint_eq(rs_reason_offset(r), 0);
  ck_assert_ptr_nonnull(strstr(rs_reason_text(r), "envelope"));
  ck_assert_int_eq(rc, 0);
  ck_assert_int_eq(rs_conversion_result_of(c), RS_CONVERSION_LOSSLESS);
  ck_assert_uint_eq(rs_conversion_loss_count(c), 0);
  ck_assert_int_eq(rs_envelope_detect(v1.data, v1.len), 0);
  Shop__V1__Order *old = old_reader(&v1);
  ck_assert_str_eq(old->order_id, "A-1001");
  ck_assert_str_eq(old->customer_id, "C-42");
  ck_assert_int_eq(old->total_cents, 2500);
  ck_assert_int_eq(old->status, SHOP__V1__ORDER__STATUS__PAID);
  ck_assert_str_eq(old->ship_to->city, "Springfield");
  ck_assert_uint_eq(old->n_items, 1);
  ck_assert_str_eq(old->items[0]->sku, "SKU-1");
  shop__v1__order__free_unpacked(old, NULL);
  done(p, a, c, &v1, &v2);
}
END_TEST

START_TEST(moved_money_is_misread_and_converts_losslessly) {
  Shop__V2__Order *o = rs_test_v2_clean();
  o->discount = rs_test_money(12, 340000000, "USD"); /* $12.34 */
  rs_classification *p, *a;
  rs_conversion *c = NULL;
  rs_buf v1 = RS_BUF_INIT, v2 = RS_BUF_INIT;
  int rc;
  run(o, &p, &a, &c, &v1, &rc, &v2);
  ck_assert_int_eq(rs_classification_verdict(a), RS_VERDICT_MISREAD);
  const rs_reason *r = rs_test_reason(a, "discount(10)");
  ck_assert_ptr_nonnull(r);
  ck_assert_int_eq(rs_reason_verdict(r), RS_VERDICT_MISREAD);
  ck_assert_uint_eq(rs_reason_field(r), 10);
  ck_assert_uint_eq(rs_reason_offset(r), field_offset(&v2, 10));
  ck_assert_ptr_nonnull(strstr(rs_reason_text(r), "discount_cents(8)"));
  ck_assert_int_eq(rc, 0);
  ck_assert_int_eq(rs_conversion_result_of(c), RS_CONVERSION_LOSSLESS);
  Shop__V1__Order *old = old_reader(&v1);
  ck_assert(old->has_discount_cents);
  ck_assert_int_eq(old->discount_cents, 1234);
  /* The Money message is not carried along: the value lives in field 8 now. */
  ck_assert_uint_eq(old->base.n_unknown_fields, 0);
  shop__v1__order__free_unpacked(old, NULL);
  done(p, a, c, &v1, &v2);
}
END_TEST

START_TEST(moved_money_sub_cent_is_lossy_and_foreign_currency_impossible) {
  Shop__V2__Order *o = rs_test_v2_clean();
  o->discount = rs_test_money(0, 125000000, "USD"); /* 12.5 cents */
  rs_classification *p, *a;
  rs_conversion *c = NULL;
  rs_buf v1 = RS_BUF_INIT, v2 = RS_BUF_INIT;
  int rc;
  run(o, &p, &a, &c, &v1, &rc, &v2);
  ck_assert_int_eq(rc, 0);
  ck_assert_int_eq(rs_conversion_result_of(c), RS_CONVERSION_LOSSY);
  const rs_loss *l = rs_test_loss(c, "discount(10).nanos(2)");
  ck_assert_ptr_nonnull(l);
  ck_assert_int_eq(rs_loss_kind_of(l), RS_LOSS_ALTERED);
  ck_assert_ptr_nonnull(strstr(rs_loss_text(l), "5000000"));
  Shop__V1__Order *old = old_reader(&v1);
  ck_assert_int_eq(old->discount_cents, 13); /* 12.5 rounds up */
  shop__v1__order__free_unpacked(old, NULL);
  done(p, a, c, &v1, &v2);

  o = rs_test_v2_clean();
  o->discount = rs_test_money(5, 0, "EUR");
  c = NULL;
  run(o, &p, &a, &c, &v1, &rc, &v2);
  ck_assert_int_eq(rc, RS_ECONVERT);
  ck_assert_ptr_nonnull(c);
  ck_assert_int_eq(rs_conversion_result_of(c), RS_CONVERSION_IMPOSSIBLE);
  l = rs_test_loss(c, "discount(10).currency_code(3)");
  ck_assert_ptr_nonnull(l);
  ck_assert_int_eq(rs_loss_kind_of(l), RS_LOSS_IMPOSSIBLE);
  ck_assert_uint_eq(v1.len, 0); /* nothing written */
  done(p, a, c, &v1, &v2);
}
END_TEST

START_TEST(required_field_unset_is_unreadable_and_impossible) {
  Shop__V2__Order *o = rs_test_v2_clean();
  o->customer_id = NULL; /* guest checkout */
  rs_classification *p, *a;
  rs_conversion *c = NULL;
  rs_buf v1 = RS_BUF_INIT, v2 = RS_BUF_INIT;
  int rc;
  run(o, &p, &a, &c, &v1, &rc, &v2);
  ck_assert_int_eq(rs_classification_verdict(a), RS_VERDICT_UNREADABLE);
  const rs_reason *r = rs_test_reason(a, "customer_id(2)");
  ck_assert_ptr_nonnull(r);
  ck_assert_int_eq(rs_reason_verdict(r), RS_VERDICT_UNREADABLE);
  ck_assert_uint_eq(rs_reason_field(r), 2);
  ck_assert_ptr_nonnull(strstr(rs_reason_text(r), "required"));
  /* The offset is the start of the message that lacks it: the payload. */
  ck_assert_uint_eq(rs_reason_offset(r), field_offset(&v2, 1));
  ck_assert_int_eq(rc, RS_ECONVERT);
  const rs_loss *l = rs_test_loss(c, "customer_id(2)");
  ck_assert_ptr_nonnull(l);
  ck_assert_int_eq(rs_loss_kind_of(l), RS_LOSS_IMPOSSIBLE);
  done(p, a, c, &v1, &v2);
}
END_TEST

START_TEST(new_enum_value_is_misread_and_maps_lossily) {
  Shop__V2__Order *o = rs_test_v2_clean();
  o->status = SHOP__V2__ORDER__STATUS__AWAITING_AUTH;
  rs_classification *p, *a;
  rs_conversion *c = NULL;
  rs_buf v1 = RS_BUF_INIT, v2 = RS_BUF_INIT;
  int rc;
  run(o, &p, &a, &c, &v1, &rc, &v2);
  ck_assert_int_eq(rs_classification_verdict(a), RS_VERDICT_MISREAD);
  const rs_reason *r = rs_test_reason(a, "status(4)");
  ck_assert_ptr_nonnull(r);
  ck_assert_uint_eq(rs_reason_offset(r), field_offset(&v2, 4));
  ck_assert_ptr_nonnull(strstr(rs_reason_text(r), "value 6"));
  ck_assert_int_eq(rc, 0);
  ck_assert_int_eq(rs_conversion_result_of(c), RS_CONVERSION_LOSSY);
  const rs_loss *l = rs_test_loss(c, "status(4)");
  ck_assert_ptr_nonnull(l);
  ck_assert_int_eq(rs_loss_kind_of(l), RS_LOSS_ALTERED);
  Shop__V1__Order *old = old_reader(&v1);
  ck_assert_int_eq(old->status, SHOP__V1__ORDER__STATUS__PENDING);
  shop__v1__order__free_unpacked(old, NULL);
  done(p, a, c, &v1, &v2);
}
END_TEST

START_TEST(unknown_enum_really_is_kept_as_int_by_protobuf_c) {
  /* Grounds the misread verdict: the old generated code accepts value 6. */
  Shop__V2__Order *o = rs_test_v2_clean();
  o->status = SHOP__V2__ORDER__STATUS__AWAITING_AUTH;
  uint8_t buf[256];
  size_t n = shop__v2__order__pack(o, buf);
  Shop__V1__Order *old = shop__v1__order__unpack(NULL, n, buf);
  ck_assert_ptr_nonnull(old);
  ck_assert_int_eq((int)old->status, 6);
  shop__v1__order__free_unpacked(old, NULL);
}
END_TEST

START_TEST(type_changed_in_place_is_unreadable) {
  Shop__V2__Order *o = rs_test_v2_clean();
  o->deliver_by = rs_test_ts(1764500000, 0);
  rs_classification *p, *a;
  rs_conversion *c = NULL;
  rs_buf v1 = RS_BUF_INIT, v2 = RS_BUF_INIT;
  int rc;
  run(o, &p, &a, &c, &v1, &rc, &v2);
  ck_assert_int_eq(rs_classification_verdict(a), RS_VERDICT_UNREADABLE);
  const rs_reason *r = rs_test_reason(a, "deliver_by(9)");
  ck_assert_ptr_nonnull(r);
  ck_assert_uint_eq(rs_reason_field(r), 9);
  ck_assert_uint_eq(rs_reason_offset(r), field_offset(&v2, 9));
  ck_assert_ptr_nonnull(strstr(rs_reason_text(r), "wire type 2"));
  ck_assert_int_eq(rc, 0);
  ck_assert_int_eq(rs_conversion_result_of(c), RS_CONVERSION_LOSSLESS);
  Shop__V1__Order *old = old_reader(&v1);
  ck_assert_int_eq(old->deliver_by, 1764500000);
  shop__v1__order__free_unpacked(old, NULL);
  done(p, a, c, &v1, &v2);

  /* Sub-second precision is lost. */
  o = rs_test_v2_clean();
  o->deliver_by = rs_test_ts(1764500000, 250000000);
  c = NULL;
  run(o, &p, &a, &c, &v1, &rc, &v2);
  ck_assert_int_eq(rc, 0);
  ck_assert_int_eq(rs_conversion_result_of(c), RS_CONVERSION_LOSSY);
  ck_assert_ptr_nonnull(rs_test_loss(c, "deliver_by(9).nanos(2)"));
  done(p, a, c, &v1, &v2);
}
END_TEST

static void check_ignored(Shop__V2__Order *o, const char *path,
                          uint32_t number) {
  rs_classification *p, *a;
  rs_conversion *c = NULL;
  rs_buf v1 = RS_BUF_INIT, v2 = RS_BUF_INIT;
  int rc;
  run(o, &p, &a, &c, &v1, &rc, &v2);
  ck_assert_int_eq(rs_classification_verdict(a), RS_VERDICT_IGNORED_FIELDS);
  const rs_reason *r = rs_test_reason(a, path);
  ck_assert_msg(r != NULL, "no reason with path %s", path);
  ck_assert_uint_eq(rs_reason_field(r), number);
  ck_assert_uint_eq(rs_reason_offset(r), field_offset(&v2, number));
  /* Down-conversion keeps it as an unknown field: lossless. */
  ck_assert_int_eq(rc, 0);
  ck_assert_int_eq(rs_conversion_result_of(c), RS_CONVERSION_LOSSLESS);
  ck_assert_uint_eq(rs_conversion_kept_unknown(c), 1);
  Shop__V1__Order *old = old_reader(&v1);
  ck_assert_uint_ge(old->base.n_unknown_fields, 1);
  ck_assert_uint_eq(old->base.unknown_fields[0].tag, number);
  shop__v1__order__free_unpacked(old, NULL);
  /* The converted record is read by the old reader: only ignored fields. */
  rs_classification *after = rs_test_classify(&v1, RS_READER_FRAMING_RAW);
  ck_assert_int_eq(rs_classification_verdict(after), RS_VERDICT_IGNORED_FIELDS);
  rs_classification_free(after);
  /* And up again: the value comes back. */
  rs_record *rec = NULL;
  rs_error err = RS_ERROR_INIT;
  ck_assert_int_eq(rs_read_as(&rec, rs_test_registry(), RS_SHOP_ORDER, 2,
                              v1.data, v1.len, NULL, &err),
                   0);
  const Shop__V2__Order *back = (const Shop__V2__Order *)rs_record_message(rec);
  if (number == 12) ck_assert_str_eq(back->gift_message, o->gift_message);
  if (number == 11) ck_assert_uint_eq(back->n_promo_codes, o->n_promo_codes);
  if (number == 13) {
    ck_assert_int_eq(back->fulfilment_case,
                     SHOP__V2__ORDER__FULFILMENT_PICKUP_STORE_ID);
    ck_assert_str_eq(back->pickup_store_id, o->pickup_store_id);
  }
  rs_record_free(rec);
  done(p, a, c, &v1, &v2);
}

START_TEST(new_optional_field_is_safely_ignored) {
  Shop__V2__Order *o = rs_test_v2_clean();
  o->gift_message = "happy birthday";
  check_ignored(o, "gift_message(12)", 12);
}
END_TEST

START_TEST(new_repeated_field_is_ignored) {
  static char *codes[] = {"SPRING", "VIP"};
  Shop__V2__Order *o = rs_test_v2_clean();
  o->n_promo_codes = 2;
  o->promo_codes = codes;
  check_ignored(o, "promo_codes(11)", 11);
}
END_TEST

START_TEST(new_oneof_member_is_ignored) {
  Shop__V2__Order *o = rs_test_v2_clean();
  o->fulfilment_case = SHOP__V2__ORDER__FULFILMENT_PICKUP_STORE_ID;
  o->pickup_store_id = "STORE-7";
  check_ignored(o, "pickup_store_id(13)", 13);
}
END_TEST

START_TEST(every_hazard_at_once_lists_each_reason_worst_first) {
  static char *codes[] = {"SPRING"};
  Shop__V2__Order *o = rs_test_v2_clean();
  o->customer_id = NULL;
  o->status = SHOP__V2__ORDER__STATUS__AWAITING_AUTH;
  o->discount = rs_test_money(1, 0, "USD");
  o->deliver_by = rs_test_ts(1, 0);
  o->n_promo_codes = 1;
  o->promo_codes = codes;
  o->gift_message = "hi";
  rs_buf v2 = RS_BUF_INIT;
  rs_test_encode_v2(&v2, o);
  rs_classification *a = rs_test_classify(&v2, RS_READER_FRAMING_ENVELOPE);
  ck_assert_int_eq(rs_classification_verdict(a), RS_VERDICT_UNREADABLE);
  const char *paths[] = {"customer_id(2)",  "deliver_by(9)",
                         "status(4)",       "discount(10)",
                         "promo_codes(11)", "gift_message(12)"};
  for (size_t i = 0; i < sizeof paths / sizeof *paths; i++)
    ck_assert_msg(rs_test_reason(a, paths[i]) != NULL, "missing %s", paths[i]);
  for (size_t i = 1; i < rs_classification_reason_count(a); i++)
    ck_assert_int_ge(rs_reason_verdict(rs_classification_reason(a, i - 1)),
                     rs_reason_verdict(rs_classification_reason(a, i)));
  ck_assert_uint_eq(rs_classification_written_version(a), 2);
  ck_assert_int_eq(rs_classification_encoding(a), RS_ENCODING_ENVELOPE);
  const rs_provenance *prov = rs_classification_provenance(a);
  ck_assert_ptr_nonnull(prov);
  ck_assert_str_eq(prov->flag_key, RS_SHOP_FLAG);
  rs_classification_free(a);
  rs_buf_dispose(&v2, NULL);
}
END_TEST

START_TEST(v1_record_is_ok_for_both_readers) {
  rs_buf b = RS_BUF_INIT;
  rs_test_encode_v1(&b, rs_test_v1_full());
  rs_classification *p = rs_test_classify(&b, RS_READER_FRAMING_RAW);
  rs_classification *a = rs_test_classify(&b, RS_READER_FRAMING_ENVELOPE);
  ck_assert_int_eq(rs_classification_verdict(p), RS_VERDICT_OK);
  ck_assert_int_eq(rs_classification_verdict(a), RS_VERDICT_OK);
  ck_assert_int_eq(rs_classification_reader_framing(p), RS_READER_FRAMING_RAW);
  ck_assert_int_eq(rs_classification_reader_framing(a),
                   RS_READER_FRAMING_ENVELOPE);
  ck_assert_int_eq(rs_classification_encoding(p), RS_ENCODING_RAW);
  ck_assert_uint_eq(rs_classification_written_version(p), 1);
  ck_assert_ptr_null(rs_classification_provenance(p));
  rs_classification_free(p);
  rs_classification_free(a);
  rs_buf_dispose(&b, NULL);
}
END_TEST

Suite *hazards_suite(void);
/*
 * A record read by its own version takes a shortcut (no walk of its bytes)
 * when its decoded message is clean; anything the walk would report must
 * still be found: unknown fields at the top and inside a repeated message,
 * an enum value the version lacks. Classified through an arena, as a scan
 * does.
 */
START_TEST(same_version_reader_still_sees_unknown_fields_and_enums) {
  Shop__V1__Order *o = rs_test_v1_full();
  rs_buf clean = RS_BUF_INIT;
  rs_test_encode_v1(&clean, o);
  rs_arena *arena = NULL;
  ck_assert_int_eq(rs_arena_new(&arena, 0, NULL, NULL), 0);
  rs_options opts = RS_OPTIONS_INIT;
  opts.allocator = rs_arena_allocator(arena);
  rs_reader reader = RS_READER_INIT;
  static const struct {
    const char *what;
    uint8_t extra[8];
    size_t n;
    rs_verdict verdict;
    const char *path;
  } cases[] = {
      {"clean", {0}, 0, RS_VERDICT_OK, NULL},
      /* field 99, varint 1 */
      {"unknown top-level field",
       {0x98, 0x06, 0x01},
       3,
       RS_VERDICT_IGNORED_FIELDS,
       "(99)"},
      /* status(4) = 6: AWAITING_AUTH, which version 1 lacks */
      {"unknown enum value", {0x20, 0x06}, 2, RS_VERDICT_MISREAD, "status(4)"},
      /* one more items(5) entry: sku "x" and field 9 = 1 */
      {"unknown field in a repeated message",
       {0x2a, 0x05, 0x0a, 0x01, 'x', 0x48, 0x01},
       7,
       RS_VERDICT_IGNORED_FIELDS,
       "items[1].(9)"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    uint8_t buf[1024];
    ck_assert_uint_lt(clean.len + cases[i].n, sizeof buf);
    memcpy(buf, clean.data, clean.len);
    memcpy(buf + clean.len, cases[i].extra, cases[i].n);
    rs_classification *c = NULL;
    ck_assert_int_eq(rs_classify(&c, rs_test_registry(), RS_SHOP_ORDER, &reader,
                                 buf, clean.len + cases[i].n, &opts, NULL),
                     0);
    ck_assert_msg(rs_classification_verdict(c) == cases[i].verdict,
                  "%s: verdict %s", cases[i].what,
                  rs_verdict_name(rs_classification_verdict(c)));
    if (cases[i].path == NULL) {
      ck_assert_uint_eq(rs_classification_reason_count(c), 0);
    } else {
      const rs_reason *r = rs_test_reason(c, cases[i].path);
      ck_assert_msg(r != NULL, "%s: no reason at %s (first: %s)", cases[i].what,
                    cases[i].path,
                    rs_classification_reason_count(c)
                        ? rs_reason_path(rs_classification_reason(c, 0))
                        : "none");
    }
    rs_classification_free(c);
    rs_arena_reset(arena);
  }
  rs_arena_free(arena);
  rs_buf_dispose(&clean, NULL);
}
END_TEST

Suite *hazards_suite(void) {
  Suite *s = suite_create("hazards");
  TCase *tc = tcase_create("example domain");
  tcase_add_test(tc, clean_v2_is_only_the_envelope_for_the_plain_reader);
  tcase_add_test(tc, moved_money_is_misread_and_converts_losslessly);
  tcase_add_test(tc,
                 moved_money_sub_cent_is_lossy_and_foreign_currency_impossible);
  tcase_add_test(tc, required_field_unset_is_unreadable_and_impossible);
  tcase_add_test(tc, new_enum_value_is_misread_and_maps_lossily);
  tcase_add_test(tc, unknown_enum_really_is_kept_as_int_by_protobuf_c);
  tcase_add_test(tc, type_changed_in_place_is_unreadable);
  tcase_add_test(tc, new_optional_field_is_safely_ignored);
  tcase_add_test(tc, new_repeated_field_is_ignored);
  tcase_add_test(tc, new_oneof_member_is_ignored);
  tcase_add_test(tc, every_hazard_at_once_lists_each_reason_worst_first);
  tcase_add_test(tc, v1_record_is_ok_for_both_readers);
  tcase_add_test(tc, same_version_reader_still_sees_unknown_fields_and_enums);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return rs_test_run(hazards_suite());
}
