/* libFuzzer: the ACPI builder over any VM shape a user can ask for (CPU count, PCI windows,
 * IRQs, buffer size and placement). acpi_build must refuse bad layouts, never write past the
 * buffer, and every table it produces must checksum to zero. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/acpi.h"
#include "common/bytes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BUF 0x10000

static void check(int ok)
{
	if (!ok)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[BUF + 64];
	struct acpi_vm vm;
	uint8_t in[48] = {0};
	size_t len;
	uint64_t base;
	long n;

	memcpy(in, data, size < sizeof(in) ? size : sizeof(in));
	memset(&vm, 0, sizeof(vm));
	vm.ncpus = in[0];
	vm.ecam_base = (in[1] & 1) ? get_le64(in + 2) : 0;
	vm.pci_bus_end = in[10];
	vm.mmio32_base = get_le32(in + 11);
	vm.mmio32_size = get_le32(in + 15);
	vm.mmio64_base = get_le64(in + 19);
	vm.mmio64_size = get_le64(in + 27) & 0xFFFFFFFFFFull;
	vm.pio_base = get_le16(in + 35);
	vm.pio_size = get_le16(in + 37);
	memcpy(vm.pci_irqs, in + 39, 4);
	len = get_le16(in + 43) % (BUF + 1);
	base = 0xE0000 + ((uint64_t)(in[45] & 0xF) << 4);
	memset(buf, 0xEE, sizeof(buf));
	n = acpi_build(&vm, buf, len, base);
	for (size_t i = len; i < sizeof(buf); i++)
		check(buf[i] == 0xEE); /* nothing written past the buffer */
	if (n < 0)
		return 0;
	check((size_t)n <= len);
	/* The RSDP's two checksums. */
	check(acpi_checksum(buf, 20) == 0);
	check(acpi_checksum(buf, get_le32(buf + 20)) == 0);
	return 0;
}
