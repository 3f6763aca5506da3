/* src/cli/config.c: the YAML configuration file (being written). */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "config.h"

int cli_config_load(cli_config **out, const char *path, char *errbuf,
                    size_t errlen) {
  *out = NULL;
  snprintf(errbuf, errlen, "%s: configuration files are not available yet",
           path);
  return CLI_EXIT_USAGE;
}

void cli_config_free(cli_config *config) { free(config); }
