#define _GNU_SOURCE
/*
 * bench/measure.c: runs a command and says how long it took and how much
 * memory it used.
 *
 *   measure RESULT_FILE COMMAND [ARG...]
 *
 * Appends one line to RESULT_FILE: wall seconds (monotonic clock), user
 * and system CPU seconds, maximum resident set size in KiB (wait4's
 * rusage: the command and the children it waited for), and the exit
 * status (128 + signal when killed). The command's stdin, stdout and
 * stderr are ours. Exits 0 when it could run the command and record the
 * result, whatever the command's own status; 1 otherwise.
 */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double tv(struct timeval t) {
  return (double)t.tv_sec + t.tv_usec / 1e6;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: measure RESULT_FILE COMMAND [ARG...]\n");
    return 1;
  }
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  pid_t pid = fork();
  if (pid < 0) {
    perror("measure: fork");
    return 1;
  }
  if (pid == 0) {
    execvp(argv[2], argv + 2);
    perror(argv[2]);
    _exit(127);
  }
  int status;
  struct rusage ru;
  if (wait4(pid, &status, 0, &ru) < 0) {
    perror("measure: wait4");
    return 1;
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double wall =
      (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  FILE *f = fopen(argv[1], "a");
  if (f == NULL) {
    perror(argv[1]);
    return 1;
  }
  fprintf(f, "%.6f %.3f %.3f %ld %d\n", wall, tv(ru.ru_utime), tv(ru.ru_stime),
          ru.ru_maxrss, code);
  return fclose(f) == 0 ? 0 : 1;
}
