/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The control socket: a unix stream socket, one command per line, one
 * reply line per command ("ok ..." / "error ...", or a JSON object when
 * the command is prefixed with "json").  Commands in vmm.rst.
 */
#ifndef PCMIG_VMM_CONTROL_H
#define PCMIG_VMM_CONTROL_H

#include <stdbool.h>
#include <stddef.h>

#define CTL_MAX_CLIENTS	8
#define CTL_LINE_MAX	4096

struct vm;

struct ctl_client {
	int fd;
	size_t len;
	char buf[CTL_LINE_MAX];
};

struct ctl_server {
	int fd;
	const char *path;
	struct ctl_client cl[CTL_MAX_CLIENTS];
};

/* What the main loop must do after a command. */
enum ctl_action {
	CTL_CONTINUE,
	CTL_QUIT,		/* "quit" */
	CTL_EXIT_SAVED,		/* stopped and saved with --save-on-stop */
};

struct ctl_env {
	struct vm *vm;
	const char *save_on_stop;
	bool finished;		/* the guest is done (with --linger) */
};

int ctl_listen(struct ctl_server *s, const char *path, char *err, size_t errlen);
void ctl_close(struct ctl_server *s);
/* Number of pollfds used; fills FDS (listen socket first). */
int ctl_pollfds(struct ctl_server *s, struct pollfd *fds);
/* Handle readiness of the fds filled by ctl_pollfds. */
enum ctl_action ctl_serve(struct ctl_server *s, struct pollfd *fds, int n, struct ctl_env *env);
/* Client mode: send one command, print the reply; exit status. */
int ctl_client(const char *path, const char *cmd);

/* Shared with main.c: the VM's state as text or JSON. */
const char *vm_state_name(struct vm *vm, bool finished);
size_t vm_status(struct vm *vm, bool json, bool finished, char *buf, size_t len);

#endif
