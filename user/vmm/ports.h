/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The I/O-port interface between pcmig-vmm and its guests.  Shared by the
 * VMM (user/vmm/ sources) and the guest program (user/vmm/guest/), so it must
 * stay free of host or guest library headers.  Documentation/pcmig/vmm.rst
 * describes each port.
 */
#ifndef PCMIG_VMM_PORTS_H
#define PCMIG_VMM_PORTS_H

/* Multiboot v1. */
#define MB_HEADER_MAGIC		0x1BADB002u
#define MB_BOOT_MAGIC		0x2BADB002u
/* EAX of every vCPU but vCPU 0 (project convention, "PCMG"). */
#define PCMIG_SECONDARY_MAGIC	0x50434D47u

/* Ports of the project's guest interface (all 32-bit unless said). */
#define PORT_CONSOLE	0x0500	/* out8: one character of console output */
#define PORT_SLEEP	0x0504	/* out32: sleep N microseconds (VMM nanosleep) */
#define PORT_REPORT	0x0508	/* out32: gpa of a struct pcmig_report */
#define PORT_EXIT	0x050c	/* out32: this vCPU is done, with status N */
#define PORT_FINISH	0x0510	/* in32: 1 once the VMM asks the guest to finish */
#define PORT_DT_NEXT	0x0514	/* in32: dirty-log test, next round's page count */

/* Also understood, for guests written elsewhere. */
#define PORT_COM1	0x03f8	/* 8250 UART data/LSR (base..base+7) */
#define PORT_DEBUG_EXIT	0x00f4	/* QEMU isa-debug-exit: out N -> exit (N<<1)|1 */

#define PCMIG_REPORT_MAGIC	0x5045524fu	/* "OREP" */

enum pcmig_report_type {
	REPORT_LIVE = 1,	/* v[0] = gpa of struct pcmig_live for this cpu */
	REPORT_PROGRESS = 2,	/* v[0] iters, v[1] writes, v[2] reads,
				 * v[3] read checksum, v[4] sleeps */
	REPORT_DIGEST = 3,	/* v[0] digest, v[1] pages, v[2] vcpus,
				 * v[3] seed, v[4] iters per vcpu,
				 * v[5] write_pct */
	REPORT_DT_AREA = 4,	/* v[0] list gpa, v[1] list capacity (entries),
				 * v[2] first gpa the guest never touches */
};

struct pcmig_report {
	unsigned int magic;
	unsigned int type;
	unsigned int cpu;
	unsigned int pad;
	unsigned long long v[6];
};

/* Live per-vCPU counters the guest keeps up to date in its memory. */
struct pcmig_live {
	unsigned long long iters;
	unsigned long long writes;
	unsigned long long reads;
};

/* The guest writes this word at PCMIG_MAGIC_GPA as soon as it starts. */
#define PCMIG_MAGIC_GPA		0x7000u
#define PCMIG_MAGIC_VALUE	0x47494d43504d4750ull	/* "PGMPCMIG" */

/* Multiboot info layout chosen by the VMM (low memory, below 640 KiB). */
#define MBI_GPA			0x8000u
#define MBI_MMAP_GPA		0x8100u
#define MBI_LOADER_GPA		0x8f00u
#define MBI_CMDLINE_GPA		0x9000u
#define MBI_CMDLINE_MAX		4096u

#endif
