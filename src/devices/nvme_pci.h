/* The NVMe controller (nvme.h) on the board: one PCI function per --disk ...,bus=nvme, its
 * disk opened on the block backend, MSI-X through msix.c (one vector per queue pair, INTx as a
 * fallback), and one I/O thread under the device seccomp filter that takes commands when a
 * doorbell rings and finishes the backend's completions. */
#pragma once
#include "devices/device.h"

extern const struct device_model nvme_device;
