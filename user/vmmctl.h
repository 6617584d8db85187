/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Client of a VMM's control socket (pcmig-vmm --control SOCKET, see
 * Documentation/pcmig/vmm.rst): one command line, one reply line starting
 * with "ok" or "error".  pcmigd uses it to take the VM fd from the VMM
 * (vmfd, then pidfd_getfd) and to stop, resume, save and load the VM
 * around a migration (migrate/incoming --vmm).
 */
#ifndef PCMIGD_VMMCTL_H
#define PCMIGD_VMMCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Longest reply line kept (the VMM's replies are at most 4 KiB). */
#define VMM_REPLY_MAX 4096
/* Bound on one command's reply: stop, devstate, load-devstate. */
#define VMM_TIMEOUT_MS 30000
/* Bound on vmfd, resume and quit. */
#define VMM_SHORT_TIMEOUT_MS 10000

struct vmm {
	const char *path;		/* control socket */
	int fd;				/* connection, -1 when closed */
	pid_t peer_pid;			/* SO_PEERCRED of the socket, 0 unknown */
	uid_t peer_uid;
	gid_t peer_gid;
	bool have_peer;
	/* Last reply, control characters as '?', without the newline. */
	char reply[VMM_REPLY_MAX];
};

/* Kinds of reply line. */
enum vmm_reply {
	VMM_REPLY_OK,		/* "ok" or "ok ..." */
	VMM_REPLY_ERROR,	/* "error" or "error ..." */
	VMM_REPLY_BAD,		/* anything else: not the protocol */
};

/* Pure: classifies a reply line (without its newline). */
enum vmm_reply vmm_reply_kind(const char *line);

/*
 * Pure: parses the reply to "vmfd", "ok pid PID fd FD" (words after FD are
 * ignored).  0, or -EINVAL with the reason in err.
 */
int vmm_parse_vmfd(const char *line, pid_t *pid, int *fd, char *err,
		   size_t errlen);

/*
 * Pure: whether path can go to the VMM as a command argument (the
 * protocol splits words at blanks): non-empty, no blank or control
 * character.
 */
bool vmm_path_ok(const char *path);

/*
 * Pure: a --vmm SOCKET argument: non-empty and short enough for a unix
 * socket address.  0 or -EINVAL with the reason in err.
 */
int vmm_check_socket(const char *path, char *err, size_t errlen);

/* Connects to path (a unix stream socket).  0 or -errno, reason in err. */
int vmm_connect(struct vmm *v, const char *path, char *err, size_t errlen);
void vmm_close(struct vmm *v);

/*
 * Sends cmd (one line, no newline) and reads the reply into v->reply
 * within timeout_ms.  Returns VMM_REPLY_OK, VMM_REPLY_ERROR (the VMM
 * refused: v->reply says why), or -errno when the exchange itself failed
 * (err says why: connection lost, no reply within the time, not the
 * protocol).  A connection found closed before the command went out is
 * opened again once.
 */
int vmm_command(struct vmm *v, const char *cmd, int timeout_ms, char *err,
		size_t errlen);

/*
 * "vmfd", then pidfd_open() + pidfd_getfd() of the VMM's VM fd, checked to
 * be a KVM VM.  Returns the fd (ours, close-on-exec) or -1 with the
 * reason in err; *pid is the VMM's pid (in our pid namespace).
 */
int vmm_take_vm_fd(struct vmm *v, pid_t *pid, char *err, size_t errlen);

/*
 * A private directory for the device-state file exchanged with the VMM,
 * under $TMPDIR (or /tmp), writable by the VMM's user: dir and file
 * (dir + "/devstate").
 */
struct vmm_tmp {
	char dir[256];
	char file[300];
};

/* 0 or -errno, reason in err. */
int vmm_tmp_create(struct vmm_tmp *t, const struct vmm *v, char *err,
		   size_t errlen);
/* Removes the directory and whatever the VMM left in it. */
void vmm_tmp_remove(struct vmm_tmp *t);

/*
 * Reads a whole device-state blob (a regular file of at most
 * PCMIG_DEVSTATE_MAX bytes) into *data (malloc'ed, even when empty).
 * 0 or -errno (-EFBIG: too large, -EINVAL: not a regular file), the
 * reason (without the path) in err.
 */
int read_devstate_file(const char *path, void **data, size_t *len,
		       char *err, size_t errlen);

#endif
