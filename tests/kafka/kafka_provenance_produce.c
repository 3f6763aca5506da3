/*
 * tests/kafka/kafka_provenance_produce.c: a producer as a service would
 * write one, setting its messages' provenance headers with the library's
 * rs_provenance_headers() (rollsafe/headers.h), so that the tests check
 * that `rollsafe scan --kafka` reads back what the helper writes.
 *
 *   kafka_provenance_produce BOOTSTRAP TOPIC PARTITION FLAG VARIANT WRITER
 *                            WRITE_TIME_US < VALUE
 *
 * An empty FLAG, VARIANT or WRITER, or a WRITE_TIME_US of 0, is not
 * recorded. The value is standard input's bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>
#include <rollsafe/rollsafe.h>

int main(int argc, char **argv) {
  if (argc != 8) {
    fprintf(stderr,
            "usage: kafka_provenance_produce BOOTSTRAP TOPIC PARTITION FLAG "
            "VARIANT WRITER WRITE_TIME_US < VALUE\n");
    return 2;
  }
  static unsigned char value[1 << 16];
  size_t len = fread(value, 1, sizeof value, stdin);
  rs_provenance p = RS_PROVENANCE_INIT;
  p.flag_key = argv[4];
  p.variant = argv[5];
  p.writer_id = argv[6];
  p.write_time_us = strtoll(argv[7], NULL, 10);
  rs_header_set hs;
  rs_error err = RS_ERROR_INIT;
  if (rs_provenance_headers(&hs, &p, &err) != 0) {
    fprintf(stderr, "rs_provenance_headers: %s\n", err.message);
    return 1;
  }
  rd_kafka_headers_t *h = rd_kafka_headers_new(hs.count);
  for (size_t i = 0; i < hs.count; i++)
    rd_kafka_header_add(h, hs.headers[i].name, -1, hs.headers[i].value,
                        (ssize_t)hs.headers[i].value_len);
  char why[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  if (rd_kafka_conf_set(conf, "bootstrap.servers", argv[1], why, sizeof why) !=
      RD_KAFKA_CONF_OK) {
    fprintf(stderr, "%s\n", why);
    return 1;
  }
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof why);
  if (rk == NULL) {
    fprintf(stderr, "%s\n", why);
    return 1;
  }
  rd_kafka_resp_err_t e = rd_kafka_producev(
      rk, RD_KAFKA_V_TOPIC(argv[2]),
      RD_KAFKA_V_PARTITION((int32_t)atoi(argv[3])),
      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_VALUE(value, len),
      RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    fprintf(stderr, "produce: %s\n", rd_kafka_err2str(e));
    rd_kafka_headers_destroy(h);
    rd_kafka_destroy(rk);
    return 1;
  }
  int left = rd_kafka_flush(rk, 30000) != RD_KAFKA_RESP_ERR_NO_ERROR;
  rd_kafka_destroy(rk);
  if (left) fprintf(stderr, "the message was not delivered\n");
  return left;
}
