/* The API's response bodies: the VMM thread's typed answers written as JSON (Cloud Hypervisor's
 * shapes, docs/api.md). Each returns a malloc'd NUL-terminated string, or NULL if out of memory. */
#pragma once
#include "kvm/control.h"

char *api_json_error(const char *msg);
char *api_json_ping(const struct ctl_answer *a);
char *api_json_info(const struct ctl_answer *a);
char *api_json_counters(const struct ctl_answer *a);
/* The state as vm.info names it: "Running", "Paused", "Shutdown". */
const char *api_state_name(enum ctl_vm_state s);
