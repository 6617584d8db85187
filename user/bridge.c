// SPDX-License-Identifier: GPL-2.0
/* The VMM bridge of migrate/incoming --vmm (see bridge.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bridge.h"
#include "names.h"
#include "ops.h"
#include "output.h"
#include "pcmigd.h"
#include "units.h"

/* Prints a failure, keeps the first one and its exit code. */
static int fail(struct bridge *b, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct bridge *b, int code, const char *fmt, ...)
{
	char msg[sizeof(b->error)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	error("%s", msg);
	if (!b->error[0])
		snprintf(b->error, sizeof(b->error), "%s", msg);
	if (!b->exit_code)
		b->exit_code = code;
	return code;
}

int bridge_open(struct bridge *b, const char *path, uint32_t role)
{
	char err[1024];

	memset(b, 0, sizeof(*b));
	b->role = role;
	b->vm_fd = -1;
	b->vmm.fd = -1;
	if (vmm_connect(&b->vmm, path, err, sizeof(err)))
		return fail(b, EXIT_VMM, "--vmm %s", err);
	b->vm_fd = vmm_take_vm_fd(&b->vmm, &b->pid, err, sizeof(err));
	if (b->vm_fd < 0)
		return fail(b, EXIT_VMM, "--vmm %s: %s", path, err);
	info("vmm %s: pid %d, VM fd taken", path, (int)b->pid);
	return EXIT_OK;
}

void bridge_close(struct bridge *b)
{
	if (b->vm_fd >= 0)
		close(b->vm_fd);
	b->vm_fd = -1;
	vmm_close(&b->vmm);
}

int bridge_attach(struct bridge *b, struct pcnl *req, uint32_t id)
{
	struct pcmig_session s;
	char sz[UNITS_LEN];
	int ret;

	ret = op_vm_attach(req, id, b->vm_fd);
	/* The module holds the VM file now (or refused it): ours may go. */
	close(b->vm_fd);
	b->vm_fd = -1;
	if (ret)
		return pcnl_fail(req, "VM_ATTACH", ret);
	b->session_id = id;
	if (op_session_get(req, id, &s))
		s.has = 0;
	if (SESSION_HAS(&s, PCMIG_A_CAPS))
		b->caps = s.caps;
	if (SESSION_HAS(&s, PCMIG_A_RAM_SIZE))
		info("VM attached to session %u: %s of guest RAM", id,
		     fmt_bytes(s.ram_size, sz));
	else
		info("VM attached to session %u", id);
	return EXIT_OK;
}

/*
 * One command; EXIT_OK, or the failure recorded as "WHEN: VMM 'CMD':
 * REPLY-OR-REASON".
 */
static int command(struct bridge *b, const char *when, const char *cmd,
		   int timeout_ms)
{
	char err[512];
	int ret = vmm_command(&b->vmm, cmd, timeout_ms, err, sizeof(err));

	if (ret == VMM_REPLY_OK)
		return EXIT_OK;
	return fail(b, EXIT_VMM, "%s: VMM '%s': %s", when, cmd,
		    ret == VMM_REPLY_ERROR ? b->vmm.reply : err);
}

/*
 * A netlink step of the stop failed.  If the session ended meanwhile (the
 * module gave up: connection lost, 30 s passed), its own reason says why
 * and the step's error is only a consequence: not a failure of its own.
 */
static int stop_nl_fail(struct bridge *b, struct pcnl *req, uint32_t id,
			const char *what, int err)
{
	struct pcmig_session s;
	char msg[PCNL_EXTACK_LEN + 64];

	pcnl_describe(req, err, msg, sizeof(msg));
	if (op_session_get(req, id, &s) == -ENOENT ||
	    (SESSION_HAS(&s, PCMIG_A_PHASE) && phase_is_end(s.phase))) {
		info("stop request: %s: %s (the session had ended)", what, msg);
		return EXIT_OK;
	}
	return fail(b, EXIT_ENV, "stop request: %s: %s", what, msg);
}

int bridge_stop_request(void *arg, struct pcnl *req, uint32_t id)
{
	static const char when[] = "stop request";
	struct bridge *b = arg;
	struct vmm_tmp tmp = { 0 };
	char cmd[sizeof(tmp.file) + 16], err[512];
	void *data = NULL;
	size_t len = 0;
	int ret;

	b->stop_seen = true;
	info("stop requested: stopping the VM");
	b->stop_sent = true;
	ret = command(b, when, "stop", VMM_TIMEOUT_MS);
	if (ret)
		return ret;
	b->stopped = true;

	if (vmm_tmp_create(&tmp, &b->vmm, err, sizeof(err)))
		return fail(b, EXIT_VMM, "%s: device state: %s", when, err);
	snprintf(cmd, sizeof(cmd), "devstate %s", tmp.file);
	ret = command(b, when, cmd, VMM_TIMEOUT_MS);
	if (!ret && read_devstate_file(tmp.file, &data, &len, err,
				       sizeof(err)))
		ret = fail(b, EXIT_VMM, "%s: device state written by the VMM to %s: %s",
			   when, tmp.file, err);
	vmm_tmp_remove(&tmp);
	if (ret)
		return ret;
	if (!len) {
		free(data);
		return fail(b, EXIT_VMM, "%s: the VMM wrote an empty device state",
			    when);
	}

	ret = op_devstate_put(req, id, data, len);
	free(data);
	if (ret)
		return stop_nl_fail(b, req, id, "DEVSTATE_PUT", ret);
	b->devstate_bytes = len;
	ret = op_session_cmd(req, PCMIG_CMD_VM_STOPPED, id);
	if (ret)
		return stop_nl_fail(b, req, id, "VM_STOPPED", ret);
	info("VM stopped: %zu bytes of device state put, stop acknowledged",
	     len);
	return EXIT_OK;
}

/*
 * "quit": true when the VMM is gone (it replied, closed the connection or
 * no longer listens), else false with a warning naming what remains.
 */
static bool quit(struct bridge *b, const char *what_remains)
{
	char err[512];
	int ret = vmm_command(&b->vmm, "quit", VMM_SHORT_TIMEOUT_MS, err,
			      sizeof(err));

	if (ret == VMM_REPLY_OK || ret == -ECONNRESET || ret == -ENOENT ||
	    ret == -ECONNREFUSED) {
		b->outcome = "quit";
		return true;
	}
	b->outcome = "quit-failed";
	/* A warning: the exit status says what became of the migration. */
	error("warning: VMM 'quit': %s: %s",
	      ret == VMM_REPLY_ERROR ? b->vmm.reply : err, what_remains);
	if (!b->error[0])
		snprintf(b->error, sizeof(b->error), "VMM 'quit': %.700s",
			 ret == VMM_REPLY_ERROR ? b->vmm.reply : err);
	return false;
}

void bridge_watch(struct bridge *b, const struct pcmig_session *s,
		  const struct follow_news *news)
{
	if (news->how != FOLLOW_TIMER && SESSION_HAS(s, PCMIG_A_CAPS))
		b->caps = s->caps;
}

/*
 * Where the guest runs as the module last said (enum pcmig_guest_at):
 * from the session's end, else asked now; 0 if pcmigd cannot tell.
 */
static uint32_t guest_at(struct bridge *b, struct pcnl *req,
			 const struct pcmig_session *s)
{
	struct pcmig_session now;

	if (s && SESSION_HAS(s, PCMIG_A_GUEST_AT))
		return s->guest_at;
	if (req && !op_session_get(req, b->session_id, &now) &&
	    SESSION_HAS(&now, PCMIG_A_GUEST_AT))
		return now.guest_at;
	return 0;
}

static void source_end(struct bridge *b, struct pcnl *req,
		       const struct pcmig_session *s)
{
	const char *why;
	char err[512];
	int ret;

	if (s && s->phase == PCMIG_PHASE_COMPLETED) {
		/* The guest runs on the destination: this copy must not. */
		if (quit(b, "the guest runs on the destination, do not resume the stopped VM here"))
			info("source VMM told to quit: the guest runs on the destination");
		return;
	}
	if (!b->stop_sent) {
		b->outcome = "running";
		info("VM left running on this host");
		return;
	}
	switch (guest_at(b, req, s)) {
	case PCMIG_GUEST_HERE:
		why = NULL;
		break;
	case PCMIG_GUEST_THERE:
		if (!(b->caps & (1U << PCMIG_CAP_POSTCOPY_RAM))) {
			/* It had all RAM and device state: it has the guest. */
			if (quit(b, "the guest runs on the destination, do not resume the stopped VM here"))
				info("source VMM told to quit: the guest runs on the destination, which had all its state when it resumed");
			return;
		}
		why = "the guest ran on the destination";
		break;
	case PCMIG_GUEST_MAYBE_THERE:
		why = "the switch to postcopy went out unanswered: the guest may have run on the destination";
		break;
	default:
		/* Without postcopy, no destination runs before "complete". */
		why = b->caps & PCMIG_CAPS_POSTCOPY ?
		      "pcmigd cannot tell whether the guest ran on the destination" :
		      NULL;
	}
	if (why) {
		/* Neither resume (two guests) nor quit (its last state). */
		b->outcome = "kept-stopped";
		error("VM left stopped on this host: %s: its stopped state is kept on this host for recovery; do not resume it here",
		      why);
		return;
	}
	ret = vmm_command(&b->vmm, "resume", VMM_SHORT_TIMEOUT_MS, err,
			  sizeof(err));
	if (ret == VMM_REPLY_OK) {
		b->outcome = "resumed";
		info("VM resumed on this host (the migration did not complete)");
		return;
	}
	b->outcome = "stopped";
	/* A stopped guest here outweighs the migration's failure. */
	b->exit_code = EXIT_VMM;
	fail(b, EXIT_VMM, "VMM 'resume': %s: the guest is stopped on this host",
	     ret == VMM_REPLY_ERROR ? b->vmm.reply : err);
}

/*
 * Destination, completed: a guest that ended during postcopy left its
 * VMM lingering (it must keep its memory until the migration completes,
 * pcmig-vmm --linger): now it may go, with the guest's result.
 */
static void dest_completed(struct bridge *b)
{
	static const char finished[] = "ok state finished ";
	char err[512];

	if (vmm_command(&b->vmm, "status", VMM_SHORT_TIMEOUT_MS, err,
			sizeof(err)) != VMM_REPLY_OK ||
	    strncmp(b->vmm.reply, finished, sizeof(finished) - 1))
		return;
	if (quit(b, "the guest has finished"))
		info("destination VMM told to quit: the guest finished during the migration");
}

/* Destination: its VM has no complete state, the VMM goes. */
static void dest_quit(struct bridge *b)
{
	if (quit(b, "its VM has no complete state, do not resume it"))
		info("destination VMM told to quit: its VM has no complete state");
}

/* DEVSTATE_GET into the VMM's file, load-devstate, resume.  Exit code. */
static int dest_resume(struct bridge *b, struct pcnl *req, uint32_t id)
{
	static const char when[] = "resuming the VM";
	struct vmm_tmp tmp = { 0 };
	struct devstate_writer w = { .fd = -1 };
	char cmd[sizeof(tmp.file) + 32], err[512], msg[PCNL_EXTACK_LEN + 64];
	uint64_t got = 0;
	int ret;

	if (vmm_tmp_create(&tmp, &b->vmm, err, sizeof(err)))
		return fail(b, EXIT_VMM, "%s: device state: %s", when, err);
	w.fd = open(tmp.file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (w.fd < 0) {
		ret = fail(b, EXIT_VMM, "%s: %s: %s", when, tmp.file,
			   strerror(errno));
		goto out;
	}
	if (b->vmm.have_peer && b->vmm.peer_uid != geteuid() &&
	    fchown(w.fd, b->vmm.peer_uid, b->vmm.peer_gid) < 0) {
		ret = fail(b, EXIT_VMM, "%s: %s: giving it to the VMM's user: %s",
			   when, tmp.file, strerror(errno));
		goto out;
	}
	ret = op_devstate_get(req, id, devstate_write_piece, &w, &got);
	if (w.err) {
		ret = fail(b, EXIT_VMM, "%s: %s: %s", when, tmp.file,
			   strerror(w.err));
		goto out;
	}
	if (ret) {
		pcnl_describe(req, ret, msg, sizeof(msg));
		ret = fail(b, EXIT_ENV, "%s: DEVSTATE_GET: %s", when, msg);
		goto out;
	}
	if (close(w.fd) < 0) {
		w.fd = -1;
		ret = fail(b, EXIT_VMM, "%s: %s: %s", when, tmp.file,
			   strerror(errno));
		goto out;
	}
	w.fd = -1;
	if (!got) {
		ret = fail(b, EXIT_VMM, "%s: the source sent no device state",
			   when);
		goto out;
	}
	snprintf(cmd, sizeof(cmd), "load-devstate %s", tmp.file);
	ret = command(b, when, cmd, VMM_TIMEOUT_MS);
	if (ret)
		goto out;
	b->devstate_bytes = got;
	ret = command(b, when, "resume", VMM_TIMEOUT_MS);
	if (ret)
		goto out;
	b->outcome = "resumed";
	info("VM resumed on this host");
	/* Only now does the source hear "complete" (and its VMM quit). */
	ret = op_session_cmd(req, PCMIG_CMD_VM_RESUMED, id);
	if (ret) {
		pcnl_describe(req, ret, msg, sizeof(msg));
		ret = fail(b, EXIT_ENV, "%s: VM_RESUMED: %s", when, msg);
	}
out:
	if (w.fd >= 0)
		close(w.fd);
	vmm_tmp_remove(&tmp);
	return ret;
}

int bridge_resume_request(void *arg, struct pcnl *req, uint32_t id)
{
	struct bridge *b = arg;

	b->resume_seen = true;
	return dest_resume(b, req, id);
}

void bridge_end(struct bridge *b, struct pcnl *req,
		const struct pcmig_session *s)
{
	if (b->role == PCMIG_ROLE_SOURCE) {
		source_end(b, req, s);
		return;
	}
	/* Resumed at the module's request, and the session completed. */
	if (s && s->phase == PCMIG_PHASE_COMPLETED && b->outcome &&
	    !strcmp(b->outcome, "resumed")) {
		dest_completed(b);
		return;
	}
	if (b->outcome && !strcmp(b->outcome, "resumed")) {
		/*
		 * Resumed at the switch to postcopy without postcopy-ram:
		 * all RAM and device state were here, only bitmaps were
		 * still coming (rule S8); the source quits its copy.
		 */
		if (s && s->guest_at == PCMIG_GUEST_THERE &&
		    !(s->caps & (1U << PCMIG_CAP_POSTCOPY_RAM))) {
			info("VM runs on on this host: it had all its state when it resumed (the source's copy quits)");
			return;
		}
		/* Resumed, then the session failed: the VM may not run. */
		b->outcome = NULL;
	}
	dest_quit(b);
}

void bridge_json(const struct bridge *b, struct json *j)
{
	json_obj_begin(j, "vmm");
	json_str(j, "socket", b->vmm.path ? b->vmm.path : "");
	if (b->pid)
		json_u64(j, "pid", (uint64_t)b->pid);
	if (b->role == PCMIG_ROLE_SOURCE) {
		json_bool(j, "stop_requested", b->stop_seen);
		json_bool(j, "stopped", b->stopped);
	}
	json_u64(j, "devstate_bytes", b->devstate_bytes);
	if (b->outcome)
		json_str(j, "outcome", b->outcome);
	if (b->error[0])
		json_str(j, "error", b->error);
	json_obj_end(j);
}
