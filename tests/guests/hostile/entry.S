/* Entry of the hostile test guest's payload, linked at 1 MiB (see payload.ld). The VMM enters
 * at +0x200 in 64-bit mode with the first 4 GiB identity-mapped; the 32-bit entry at +0 is
 * not supported and halts. */
#define PM1A_CNT   0x604
#define PM1_SLP_S5 ((5 << 10) | (1 << 13))

	.section .entry, "ax"
	.code32
	.globl	entry32
entry32:
	cli
1:	hlt
	jmp	1b

	.org	0x200
	.code64
	.globl	entry64
entry64:
	cli
	lea	stack_top(%rip), %rsp
	call	hostile_main
	movw	$PM1A_CNT, %dx
	movw	$PM1_SLP_S5, %ax
	outw	%ax, %dx
2:	hlt
	jmp	2b

	.section .bss
	.balign	16
	.space	65536
stack_top:
	.section .note.GNU-stack, "", @progbits
