#define _POSIX_C_SOURCE 200809L
/*
 * src/cli/interrupt.c: the SIGINT/SIGTERM handler of scan, fix and restore.
 */
#include <errno.h>
#include <string.h>

#include "interrupt.h"

volatile sig_atomic_t cli_interrupted;

/* Set and cleared with the signals blocked, so that the handler never sees
 * a store that is being closed. */
static store *volatile current_store;

static void on_signal(int sig) {
  (void)sig;
  int saved = errno; /* the interrupted code may be about to read it */
  cli_interrupted = 1;
  store_interrupt(current_store); /* async-signal-safe; NULL-safe */
  errno = saved;
}

void cli_interrupt_install(cli_interrupt_saved *saved) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESETHAND;
  sigaction(SIGINT, &sa, &saved->old_int);
  sigaction(SIGTERM, &sa, &saved->old_term);
}

void cli_interrupt_restore(const cli_interrupt_saved *saved) {
  sigaction(SIGINT, &saved->old_int, NULL);
  sigaction(SIGTERM, &saved->old_term, NULL);
}

void cli_interrupt_set_store(store *s) {
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGTERM);
  sigprocmask(SIG_BLOCK, &block, &old);
  current_store = s;
  sigprocmask(SIG_SETMASK, &old, NULL);
}
