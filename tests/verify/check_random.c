#define _POSIX_C_SOURCE 200809L
/*
 * tests/verify/check_random.c: the fixer's random source (backoff jitter).
 * Fixers started together once drew one sequence from an unseeded rand()
 * and retried in lockstep.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "verify/util.h"

#define DRAWS 4

/* The first draws of a new process, as a freshly started fixer makes. */
static void draws_of_child(uint64_t out[DRAWS]) {
  int fd[2];
  ck_assert_int_eq(pipe(fd), 0);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    close(fd[0]);
    uint64_t v[DRAWS];
    for (int i = 0; i < DRAWS; i++) v[i] = verify__random();
    _exit(write(fd[1], v, sizeof v) == (ssize_t)sizeof v ? 0 : 1);
  }
  close(fd[1]);
  ck_assert_int_eq(read(fd[0], out, sizeof(uint64_t) * DRAWS),
                   (ssize_t)(sizeof(uint64_t) * DRAWS));
  close(fd[0]);
  int status;
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

START_TEST(parallel_fixers_do_not_jitter_in_lockstep) {
  /* The parent draws first: a forked child must not continue its
   * sequence either. */
  uint64_t parent = verify__random();
  uint64_t a[DRAWS], b[DRAWS];
  draws_of_child(a);
  draws_of_child(b);
  int same = 0;
  for (int i = 0; i < DRAWS; i++) same += a[i] == b[i];
  ck_assert_int_eq(same, 0);
  ck_assert(a[0] != parent && b[0] != parent);
}
END_TEST

START_TEST(unit_draws_are_in_range_and_vary) {
  double lo = 1, hi = 0;
  for (int i = 0; i < 1000; i++) {
    double u = verify__random_unit();
    ck_assert(u >= 0.0 && u < 1.0);
    if (u < lo) lo = u;
    if (u > hi) hi = u;
  }
  /* 1000 uniform draws all within a tenth: odds below 1e-900. */
  ck_assert(hi - lo > 0.5);
}
END_TEST

int main(void) {
  Suite *s = suite_create("random");
  TCase *tc = tcase_create("random");
  tcase_add_test(tc, parallel_fixers_do_not_jitter_in_lockstep);
  tcase_add_test(tc, unit_draws_are_in_range_and_vary);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
