/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pcmigd: userspace helper of pcmig (live migration of KVM VMs as a kernel
 * service).  Exit codes and the subcommand entry points.
 */
#ifndef PCMIGD_H
#define PCMIGD_H

#define PCMIGD_VERSION "1.0"

/*
 * Exit status, documented in every --help and in pcmigd.rst.  Scripts tell
 * a refused peer from a broken network from a missing module by these.
 */
enum pcmigd_exit {
	EXIT_OK = 0,		/* success / migration completed */
	EXIT_MIGRATION = 1,	/* migration failed or was cancelled */
	EXIT_USAGE = 2,		/* bad command line */
	EXIT_ENV = 3,		/* module missing, no privilege, netlink error */
	EXIT_REFUSED = 4,	/* negotiation refused, or peer is not pcmigd */
	EXIT_NET = 5,		/* connect/listen/accept failed or timed out */
	EXIT_VMM = 6,		/* --vmm: the VMM failed a step (see pcmigd.rst) */
};

/* Text shared by every --help so the exit codes are listed identically. */
#define EXIT_STATUS_HELP \
	"Exit status:\n" \
	"  0  success (for migrate/incoming: the migration completed)\n" \
	"  1  the migration failed or was cancelled\n" \
	"  2  usage error\n" \
	"  3  environment: pcmig module not loaded, permission denied,\n" \
	"     netlink error\n" \
	"  4  negotiation refused (by either side) or peer is not pcmigd\n" \
	"  5  network error: connect, listen, accept or timeout\n" \
	"  6  VMM error (--vmm): its control socket, the VM fd, a command it\n" \
	"     failed or did not answer, or the VM could not be resumed\n"

/*
 * The Options and Exit status sections of a command whose only option is
 * -h, worded and aligned as in the other --help texts.
 */
#define HELP_ONLY_OPTIONS_HELP \
	"Options:\n" \
	"  -h, --help   show this help\n" \
	"\n" \
	EXIT_STATUS_HELP

int cmd_caps(int argc, char **argv);
int cmd_incoming(int argc, char **argv);
int cmd_migrate(int argc, char **argv);
int cmd_start_postcopy(int argc, char **argv);
int cmd_cancel(int argc, char **argv);
int cmd_set(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_monitor(int argc, char **argv);
int cmd_bitmap(int argc, char **argv);

#endif
