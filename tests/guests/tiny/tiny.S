/* Tiny test guest: a valid bzImage (Linux/x86 boot protocol 2.15, see
 * Documentation/arch/x86/boot.rst) whose only job is to print one marker line on COM1 and
 * power off, so that a benchmark can time the VMM's start-up without a kernel's.
 *
 * Every entry a loader may use does the same thing, with no memory access and no stack:
 *   setup + 0x200     16-bit real-mode entry (firmware loaders: QEMU's qboot, SeaBIOS)
 *   payload + 0       32-bit boot protocol entry (code32_start)
 *   payload + 0x200   64-bit boot protocol entry (what Phyllome uses)
 * The code only uses immediates and port I/O, so it runs wherever it is loaded.
 *
 * Assemble with the C preprocessor (gcc -c), link at 0, objcopy -O binary: see build.sh. */

#define SETUP_SECTS	1
#define PAYLOAD_OFF	((SETUP_SECTS + 1) * 512)
#define LOAD_ADDR	0x100000

#define COM1		0x3f8
#define PM1A_CNT	0x604			/* ACPI_PM1A_CNT_PORT in src/arch/x86/acpi.h */
#define PM1_SLP_S5	((5 << 10) | (1 << 13))	/* SLP_TYP = 5 (\_S5), SLP_EN */

#define LOADED_HIGH	(1 << 0)
#define XLF_KERNEL_64	(1 << 0)
#define XLF_CAN_BE_LOADED_ABOVE_4G (1 << 1)

/* Byte-wide `out`s, one per character: the same bytes in 16-, 32- and 64-bit code. */
.macro	putc	c
	movb	$\c, %al
	outb	%al, %dx
.endm

.macro	marker_and_poweroff
	cli
	movw	$COM1, %dx
	.irpc	c, PHYLLOME-TINY-READY
	putc	"'\c"
	.endr
	putc	10
#ifndef TINY_STAY /* the VNC siege test's guest stays up (halted) until it is stopped */
	movw	$PM1A_CNT, %dx
	movw	$PM1_SLP_S5, %ax
	outw	%ax, %dx
#endif
	/* Still running if nothing powers off at that port (e.g. QEMU microvm): stay put. */
99:	hlt
	jmp	99b
.endm

	.text
	.globl	_start
_start:

/* ---- 0x000: boot sector. Not bootable from a disk: halt if a BIOS ever runs it. ---- */
	.code16
	cli
1:	hlt
	jmp	1b

/* ---- 0x1f1: setup header, first part (in the boot sector) ---- */
	.org	0x1f1
setup_sects:		.byte	SETUP_SECTS
root_flags:		.word	0
syssize:		.long	(payload_end - payload) / 16	/* 16-byte units */
ram_size:		.word	0
vid_mode:		.word	0xffff				/* "normal" */
root_dev:		.word	0
boot_flag:		.word	0xaa55

/* ---- 0x200: setup header, second part; the jump is the real-mode entry ---- */
jump:			.byte	0xeb, setup_code - header	/* jmp short; ends the header */
header:			.ascii	"HdrS"
version:		.word	0x020f
realmode_swtch:		.long	0
start_sys_seg:		.word	0x1000
kernel_version:		.word	version_str - _start - 0x200
type_of_loader:		.byte	0
loadflags:		.byte	LOADED_HIGH
setup_move_size:	.word	0x8000
code32_start:		.long	LOAD_ADDR
ramdisk_image:		.long	0
ramdisk_size:		.long	0
bootsect_kludge:	.long	0
heap_end_ptr:		.word	0
ext_loader_ver:		.byte	0
ext_loader_type:	.byte	0
cmd_line_ptr:		.long	0
initrd_addr_max:	.long	0x7fffffff
kernel_alignment:	.long	LOAD_ADDR
relocatable_kernel:	.byte	1		/* position independent: no addresses in the code */
min_alignment:		.byte	12		/* log2: 4 KiB is enough */
xloadflags:		.word	XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G
cmdline_size:		.long	2047
hardware_subarch:	.long	0		/* default x86 PC */
hardware_subarch_data:	.quad	0
payload_offset:		.long	0		/* nothing compressed inside */
payload_length:		.long	0
setup_data:		.quad	0
pref_address:		.quad	LOAD_ADDR
init_size:		.long	(payload_end - payload + 0xfff) & ~0xfff
handover_offset:	.long	0		/* no EFI handover */
kernel_info_offset:	.long	kernel_info - payload

/* ---- after the header: 16-bit real-mode entry, CS:IP = setup segment + 0x20 : 0 ---- */
setup_code:
	marker_and_poweroff

version_str:
	.asciz	"phyllome-tiny (PHYLLOME-TINY-READY marker guest)"

/* ---- protected-mode payload, loaded at code32_start (normally LOAD_ADDR) ---- */
	.org	PAYLOAD_OFF
payload:
	.code32
startup_32:		/* flat 32-bit, paging off, %esi = boot_params */
	marker_and_poweroff

	.org	PAYLOAD_OFF + 0x200
	.code64
startup_64:		/* 64-bit, identity-mapped, %rsi = boot_params */
	marker_and_poweroff

/* Protocol 2.15's kernel_info ("LToP"). setup_type_max 0: the guest reads no setup_data. */
	.balign	4
kernel_info:
	.ascii	"LToP"
	.long	kernel_info_var - kernel_info		/* size */
	.long	kernel_info_end - kernel_info		/* size_total */
	.long	0					/* setup_type_max */
kernel_info_var:
kernel_info_end:

	.balign	16
payload_end:
