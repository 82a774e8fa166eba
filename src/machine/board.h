/* The board: the machine's table of devices, the only place that lists them. vm_create walks
 * it forward (each wanted row plugs its devices), vm_destroy backward; the DSDT and the
 * counters are gathered from the rows that have those hooks. */
#pragma once
#include "devices/device.h"

struct vm;

#define BOARD_MAX_ROWS 32

/* Plugs every row the configuration wants, in the table's order (which is also the order of
 * their PCI slots). 0 or -errno with one line in err. */
int board_plug(struct vm *vm, char *err, size_t errlen);
/* Unplugs what was plugged, last first. */
void board_unplug(struct vm *vm);
/* The state of a plugged row (NULL: not plugged), for the few places at the top that talk to
 * one device: the console's input, the power button, the display's sources. */
void *board_state(const struct vm *vm, const struct device_model *m);
/* The plugged rows' DSDT parts (acpi_vm's sb_devices; opaque: the vm). */
void board_dsdt(void *opaque, struct aml *a);
/* The plugged rows' counters. */
void board_counters(const struct vm *vm, struct ctl_counters *k);
