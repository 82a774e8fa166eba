/* phyllome-vmm's command line -> struct vm_config (common/vm_config.h), and --help. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/vm_config.h"

enum { CONFIG_RUN, CONFIG_HELP, CONFIG_VERSION };

/* Fills cfg from argv. Returns 0, or a negative errno with a one-line message in err.
 * Files are not opened here (the loader reports missing files). */
int config_parse(struct vm_config *cfg, int argc, char *const argv[], char *err, size_t errlen);
/* "01234567-89ab-cdef-0123-456789abcdef" (hex digits of either case) -> 16 bytes in that order.
 * Returns 0 or -EINVAL. */
int config_parse_uuid(const char *s, uint8_t out[16]);
void config_usage(FILE *f);
