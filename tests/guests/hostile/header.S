/* bzImage wrapper (Linux/x86 boot protocol 2.12+) around payload.bin: a setup header that
 * asks to be loaded, not relocated, at 1 MiB, with a 64-bit entry. PAYLOAD_BIN and INIT_SIZE
 * come from build.sh. */
#define SETUP_SECTS 1
#define PAYLOAD_OFF ((SETUP_SECTS + 1) * 512)
#define LOAD_ADDR   0x100000

	.text
	.code16
_start:
	cli
1:	hlt
	jmp	1b

	.org	0x1f1
	.byte	SETUP_SECTS			/* setup_sects */
	.word	0				/* root_flags */
	.long	(payload_end - payload) / 16	/* syssize */
	.word	0				/* ram_size */
	.word	0xffff				/* vid_mode */
	.word	0				/* root_dev */
	.word	0xaa55				/* boot_flag */
	.byte	0xeb, setup_code - header	/* jump */
header:	.ascii	"HdrS"
	.word	0x020f				/* version */
	.long	0				/* realmode_swtch */
	.word	0x1000				/* start_sys_seg */
	.word	0				/* kernel_version */
	.byte	0				/* type_of_loader */
	.byte	1				/* loadflags: LOADED_HIGH */
	.word	0x8000				/* setup_move_size */
	.long	LOAD_ADDR			/* code32_start */
	.long	0, 0, 0				/* ramdisk_image, ramdisk_size, bootsect_kludge */
	.word	0				/* heap_end_ptr */
	.byte	0, 0				/* ext_loader_ver, ext_loader_type */
	.long	0				/* cmd_line_ptr */
	.long	0x7fffffff			/* initrd_addr_max */
	.long	LOAD_ADDR			/* kernel_alignment */
	.byte	0				/* relocatable_kernel: no, absolute addresses */
	.byte	20				/* min_alignment */
	.word	1				/* xloadflags: XLF_KERNEL_64 */
	.long	2047				/* cmdline_size */
	.long	0				/* hardware_subarch */
	.quad	0				/* hardware_subarch_data */
	.long	0, 0				/* payload_offset, payload_length */
	.quad	0				/* setup_data */
	.quad	LOAD_ADDR			/* pref_address */
	.long	INIT_SIZE			/* init_size: payload and its bss */
	.long	0				/* handover_offset */
	.long	0				/* kernel_info_offset */
setup_code:
	cli
2:	hlt
	jmp	2b

	.org	PAYLOAD_OFF
payload:
	.incbin	PAYLOAD_BIN
	.balign	16
payload_end:
