/*
 * src/cli/interrupt.h: SIGINT and SIGTERM for the commands that read or
 * write tables. The first signal sets cli_interrupted, which the engines
 * look at between rows and batches, and interrupts the store a command has
 * named (a scan waiting on a lock); SA_RESETHAND makes the second one end
 * the process the default way.
 */
#ifndef RS_CLI_INTERRUPT_H
#define RS_CLI_INTERRUPT_H

#include <signal.h>

#include "store/store.h"

/** Set by the first SIGINT or SIGTERM after cli_interrupt_install(). */
extern volatile sig_atomic_t cli_interrupted;

/** The handlers a command replaced, for cli_interrupt_restore(). */
typedef struct cli_interrupt_saved {
  struct sigaction old_int, old_term;
} cli_interrupt_saved;

void cli_interrupt_install(cli_interrupt_saved *saved);
void cli_interrupt_restore(const cli_interrupt_saved *saved);

/**
 * The store a signal also interrupts (store_interrupt), or NULL for none.
 * A fix names none: its batch finishes and commits whole.
 */
void cli_interrupt_set_store(store *s);

#endif
