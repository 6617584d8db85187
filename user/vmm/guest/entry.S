/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Entry of the pcmig guest program.  vCPU 0 arrives as a Multiboot v1
 * kernel (EAX = 0x2BADB002, EBX = multiboot info); every other vCPU of
 * pcmig-vmm arrives at the same entry with EAX = PCMIG_SECONDARY_MAGIC,
 * EBX = multiboot info, ECX = its index, EDX = number of vCPUs.  All in
 * flat 32-bit protected mode, paging and interrupts off.
 */
#define MAX_CPUS	16
#define STACK_SHIFT	14

	.section .multiboot, "a"
	.align 4
	.long 0x1BADB002		/* magic */
	.long 0x00000003		/* flags: page-aligned modules, memory info */
	.long -(0x1BADB002 + 0x00000003)	/* checksum */

	.text
	.globl _start
_start:
	cli
	cld
	cmpl $0x2BADB002, %eax
	je 1f
	cmpl $0x50434D47, %eax
	jne halt
	jmp 2f
1:	xorl %ecx, %ecx			/* the boot vCPU is cpu 0 */
2:	cmpl $MAX_CPUS, %ecx
	jae halt
	movl %ecx, %esi
	shll $STACK_SHIFT, %esi
	movl $stack_top, %esp
	subl %esi, %esp
	xorl %ebp, %ebp
	pushl %edx			/* vcpus (pcmig-vmm), else garbage */
	pushl %ecx			/* cpu index */
	pushl %ebx			/* multiboot info */
	pushl %eax			/* magic */
	call guest_main
halt:
	cli
	hlt
	jmp halt

	.bss
	.align 4096
	.globl stacks
stacks:
	.skip (1 << STACK_SHIFT) * MAX_CPUS
stack_top:

	.section .note.GNU-stack, "", @progbits
