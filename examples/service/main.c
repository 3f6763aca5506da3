/*
 * A payments service that adopts librollsafe for its own record type,
 * payments.Payment (proto/payments/v1 and v2), behind the flag
 * wallet_payments.
 *
 * rollsafe_add_record_type() (CMakeLists.txt), or rollsafe_codegen.cmake
 * by hand (Makefile), generated payments_payment_rollsafe.h from the two
 * .proto files: payments_payment_register() declares both versions, and
 * payments_payment_v1 / payments_payment_v2 are protoc-c's structs.
 *
 * The service plays both sides of the flag: it writes one payment as the
 * old code does (version 1, raw protobuf) and one as the flagged feature
 * does (version 2, in an envelope naming the flag), then reads each back
 * as version 2 (the new code) and as version 1 (the code that runs again
 * once the flag is killed). A third payment, DISPUTED, has no version-1
 * status: read as version 1 it is mapped to CAPTURED (a lossy reading,
 * reported), and RS_OPT_STRICT refuses that reading. Exits 1 on the first
 * value that does not survive.
 */
#include <stdio.h>
#include <string.h>

#include "payments_payment_rollsafe.h"

#define FLAG "wallet_payments"

static int expect(int ok, const char *what) {
  if (!ok) fprintf(stderr, "example-service: mismatch: %s\n", what);
  return ok;
}

static int same(const char *a, const char *b) {
  return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* The registry: the generated registration, and how version 1 reads a
 * status it lacks. */
static int make_registry(rs_registry **out, rs_error *err) {
  rs_registry_builder *b = NULL;
  int rc = rs_registry_builder_new(&b, NULL, err);
  if (rc == 0) rc = payments_payment_register(b, err);
  if (rc == 0)
    rc = rs_registry_builder_add_enum_map(b, PAYMENTS_PAYMENT_TYPE,
                                          "payments.v2.Payment.Status",
                                          "DISPUTED", "CAPTURED", err);
  if (rc != 0) {
    rs_registry_builder_free(b);
    return rc;
  }
  return rs_registry_build(out, b, err);
}

/* What the old code writes: version 1, raw protobuf, no provenance. */
static int write_v1(rs_buf *out, const rs_registry *reg, rs_error *err) {
  payments_payment_v1 p = PAYMENTS__V1__PAYMENT__INIT;
  p.payment_id = "P-1001";
  p.amount_cents = 4999;
  p.currency = "EUR";
  p.status = PAYMENTS__V1__PAYMENT__STATUS__CAPTURED;
  return rs_encode(out, reg, PAYMENTS_PAYMENT_TYPE, 1, &p.base, NULL, NULL,
                   err);
}

/* What wallet_payments writes: version 2, in an envelope naming the flag. */
static int write_v2(rs_buf *out, const rs_registry *reg,
                    Payments__V2__Payment__Status status, rs_error *err) {
  payments_payment_v2 p = PAYMENTS__V2__PAYMENT__INIT;
  p.payment_id = "P-2002";
  p.amount_cents = 1250;
  p.currency = "EUR";
  p.status = status;
  p.wallet = "applepay";
  rs_provenance prov = RS_PROVENANCE_INIT;
  prov.flag_key = FLAG;
  prov.variant = "on";
  prov.writer_id = "payments-api";
  prov.write_time_us = rs_now_us();
  return rs_encode(out, reg, PAYMENTS_PAYMENT_TYPE, 2, &p.base, &prov, NULL,
                   err);
}

/* The dual-format reader: any version in, the version the code knows. */
static int read_back(const rs_registry *reg, const rs_buf *bytes,
                     unsigned written, unsigned as) {
  rs_error err = RS_ERROR_INIT;
  rs_record *rec = NULL;
  if (rs_read_as(&rec, reg, PAYMENTS_PAYMENT_TYPE, as, bytes->data, bytes->len,
                 NULL, &err) != 0) {
    fprintf(stderr, "example-service: reading v%u as v%u: %s\n", written, as,
            err.message);
    return 0;
  }
  const rs_provenance *prov = rs_record_provenance(rec);
  int ok = expect(rs_record_version(rec) == as, "version read as") &&
           expect(rs_record_written_version(rec) == written, "written") &&
           expect(written == 1 ? prov == NULL
                               : prov != NULL && same(prov->flag_key, FLAG),
                  "provenance");
  if (ok && as == 1) {
    const payments_payment_v1 *p = (const void *)rs_record_message(rec);
    ok = expect(p->base.descriptor == &payments__v1__payment__descriptor,
                "v1 type") &&
         expect(same(p->currency, "EUR"), "currency") &&
         expect(p->amount_cents == (written == 1 ? 4999 : 1250), "amount") &&
         expect(p->status == PAYMENTS__V1__PAYMENT__STATUS__CAPTURED, "status");
  } else if (ok) {
    const payments_payment_v2 *p = (const void *)rs_record_message(rec);
    ok = expect(p->base.descriptor == &payments__v2__payment__descriptor,
                "v2 type") &&
         expect(same(p->currency, "EUR"), "currency") &&
         expect(p->amount_cents == (written == 1 ? 4999 : 1250), "amount") &&
         expect(same(p->wallet, written == 1 ? "" : "applepay"), "wallet");
  }
  const rs_conversion *conv = rs_record_conversion(rec);
  printf("read v%u %s record as v%u: %s (%s)\n", written,
         rs_encoding_name(rs_record_encoding(rec)), as, ok ? "ok" : "MISMATCH",
         conv ? rs_conversion_result_name(rs_conversion_result_of(conv))
              : "no conversion");
  rs_record_free(rec);
  return ok;
}

/* DISPUTED read as version 1: CAPTURED and a reported loss, or, strict, an
 * error. */
static int read_disputed(const rs_registry *reg, const rs_buf *bytes) {
  rs_error err = RS_ERROR_INIT;
  rs_record *rec = NULL;
  int ok = expect(rs_read_as(&rec, reg, PAYMENTS_PAYMENT_TYPE, 1, bytes->data,
                             bytes->len, NULL, &err) == 0,
                  err.message);
  if (ok) {
    const payments_payment_v1 *p = (const void *)rs_record_message(rec);
    const rs_conversion *conv = rs_record_conversion(rec);
    ok = expect(p->status == PAYMENTS__V1__PAYMENT__STATUS__CAPTURED,
                "DISPUTED mapped") &&
         expect(rs_conversion_result_of(conv) == RS_CONVERSION_LOSSY, "lossy");
    if (ok)
      printf("read DISPUTED as v1: CAPTURED, lossy: %s: %s\n",
             rs_loss_path(rs_conversion_loss(conv, 0)),
             rs_loss_text(rs_conversion_loss(conv, 0)));
  }
  rs_record_free(rec);

  rs_options strict = RS_OPTIONS_INIT;
  strict.flags = RS_OPT_STRICT;
  rec = NULL;
  int rc = rs_read_as(&rec, reg, PAYMENTS_PAYMENT_TYPE, 1, bytes->data,
                      bytes->len, &strict, &err);
  ok = ok && expect(rc == RS_ECONVERT && rec == NULL, "strict refusal");
  if (ok) printf("strict read refused: %s\n", err.message);
  rs_record_free(rec);
  return ok;
}

int main(void) {
  rs_error err = RS_ERROR_INIT;
  rs_registry *reg = NULL;
  rs_buf v1 = RS_BUF_INIT, v2 = RS_BUF_INIT, disputed = RS_BUF_INIT;
  int ok = 0;

  if (make_registry(&reg, &err) != 0 || write_v1(&v1, reg, &err) != 0 ||
      write_v2(&v2, reg, PAYMENTS__V2__PAYMENT__STATUS__CAPTURED, &err) != 0 ||
      write_v2(&disputed, reg, PAYMENTS__V2__PAYMENT__STATUS__DISPUTED, &err) !=
          0) {
    fprintf(stderr, "example-service: %s: %s\n", rs_error_name(err.code),
            err.message);
  } else {
    printf("registry: %s, versions 1..%u (librollsafe %s)\n",
           PAYMENTS_PAYMENT_TYPE,
           rs_registry_newest(reg, PAYMENTS_PAYMENT_TYPE), rs_version());
    printf("wrote v1 (raw): %zu bytes\n", v1.len);
    printf("wrote v2 (envelope, flag %s): %zu bytes\n", FLAG, v2.len);
    ok = read_back(reg, &v1, 1, 2) && read_back(reg, &v1, 1, 1) &&
         read_back(reg, &v2, 2, 2) && read_back(reg, &v2, 2, 1) &&
         read_disputed(reg, &disputed);
  }

  rs_buf_dispose(&v1, NULL);
  rs_buf_dispose(&v2, NULL);
  rs_buf_dispose(&disputed, NULL);
  rs_registry_free(reg);
  if (ok) printf("all values survived\n");
  return ok ? 0 : 1;
}
