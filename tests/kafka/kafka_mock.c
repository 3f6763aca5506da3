/*
 * tests/kafka/kafka_mock.c: a Kafka cluster for the tests, librdkafka's mock
 * cluster (rdkafka_mock.h), which speaks the Kafka protocol on loopback
 * sockets.
 *
 *   kafka_mock [--brokers N] [--topic NAME:PARTITIONS]...
 *
 * Prints the cluster's bootstrap servers on one line, then serves until its
 * standard input closes (or it is killed).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

static void usage(void) {
  fprintf(stderr,
          "usage: kafka_mock [--brokers N] [--topic NAME:PARTITIONS]...\n");
  exit(2);
}

static void quiet(const rd_kafka_t *rk, int level, const char *fac,
                  const char *buf) {
  (void)rk;
  (void)level;
  (void)fac;
  (void)buf;
}

int main(int argc, char **argv) {
  int brokers = 3;
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "--brokers") == 0 && i + 1 < argc)
      brokers = atoi(argv[++i]);
  if (brokers < 1) usage();
  char why[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set_log_cb(conf, quiet);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof why);
  if (rk == NULL) {
    fprintf(stderr, "kafka_mock: %s\n", why);
    return 1;
  }
  rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers);
  if (mc == NULL) {
    fprintf(stderr, "kafka_mock: cannot start the mock cluster\n");
    rd_kafka_destroy(rk);
    return 1;
  }
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--brokers") == 0) {
      i++;
      continue;
    }
    if (strcmp(argv[i], "--topic") != 0 || i + 1 >= argc) usage();
    char *spec = argv[++i], *colon = strrchr(spec, ':');
    if (colon == NULL) usage();
    *colon = '\0';
    int parts = atoi(colon + 1);
    rd_kafka_resp_err_t e =
        rd_kafka_mock_topic_create(mc, spec, parts, brokers < 3 ? brokers : 3);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      fprintf(stderr, "kafka_mock: topic %s: %s\n", spec, rd_kafka_err2str(e));
      rd_kafka_mock_cluster_destroy(mc);
      rd_kafka_destroy(rk);
      return 1;
    }
  }
  printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
  fflush(stdout);
  char buf[256];
  while (fread(buf, 1, sizeof buf, stdin) > 0) {
  }
  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(rk);
  return 0;
}
