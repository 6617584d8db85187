// SPDX-License-Identifier: GPL-2.0
/*
 * The VMM control client and the bridge of --vmm, against a fake VMM (a
 * child process serving a script of replies on a unix socket), and the
 * rendering of RAM statistics.  No KVM and no module needed.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bridge.h"
#include "pcmigd.h"
#include "progress.h"
#include "tap.h"
#include "vmmctl.h"

/*
 * The fake VMM answers each command line with the next reply of its
 * script and logs the lines it got.  Special replies: "@close" closes the
 * connection without a reply, "@silent" never answers, "@vmfd" answers
 * "ok pid PID fd FD" with its own pid and an fd of /dev/null.
 */
struct fake {
	pid_t pid;
	char dir[64];
	char sock[96];
	char log[96];
};

static void fake_serve(int lfd, const char *logpath,
		       const char *const *replies)
{
	FILE *log = fopen(logpath, "w");
	int nullfd = open("/dev/null", O_RDONLY);
	size_t i = 0;

	while (replies[i]) {
		int cfd = accept(lfd, NULL, NULL);
		char line[512];
		size_t len = 0;

		if (cfd < 0)
			_exit(1);
		while (replies[i]) {
			char c, out[600];
			ssize_t n = read(cfd, &c, 1);
			const char *r;

			if (n <= 0)
				break;
			if (c != '\n') {
				if (len < sizeof(line) - 1)
					line[len++] = c;
				continue;
			}
			line[len] = '\0';
			len = 0;
			fprintf(log, "%s\n", line);
			fflush(log);
			r = replies[i++];
			if (!strcmp(r, "@close"))
				break;
			if (!strcmp(r, "@silent")) {
				pause();
				break;
			}
			if (!strcmp(r, "@vmfd"))
				snprintf(out, sizeof(out), "ok pid %d fd %d\n",
					 (int)getpid(), nullfd);
			else
				snprintf(out, sizeof(out), "%s\n", r);
			if (write(cfd, out, strlen(out)) < 0)
				break;
		}
		close(cfd);
	}
	/* Stay until killed: pcmigd may still look at the socket's peer. */
	pause();
	_exit(0);
}

static void fake_start(struct fake *f, const char *const *replies)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int ready[2];
	char c;

	snprintf(f->dir, sizeof(f->dir), "/tmp/pcmigd-vmmtest-XXXXXX");
	if (!mkdtemp(f->dir) || pipe(ready))
		abort();
	snprintf(f->sock, sizeof(f->sock), "%s/ctl", f->dir);
	snprintf(f->log, sizeof(f->log), "%s/log", f->dir);
	f->pid = fork();
	if (!f->pid) {
		/* The child listens itself: SO_PEERCRED names it. */
		int lfd = socket(AF_UNIX, SOCK_STREAM, 0);

		strcpy(a.sun_path, f->sock);
		if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) ||
		    listen(lfd, 4))
			_exit(1);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		fake_serve(lfd, f->log, replies);
	}
	close(ready[1]);
	if (read(ready[0], &c, 1) != 1)
		abort();
	close(ready[0]);
}

/* Ends the fake VMM; log gets the command lines it received. */
static void fake_stop(struct fake *f, char *log, size_t len)
{
	size_t used = 0;
	int fd;

	kill(f->pid, SIGKILL);
	waitpid(f->pid, NULL, 0);
	log[0] = '\0';
	fd = open(f->log, O_RDONLY);
	if (fd >= 0) {
		ssize_t n;

		while (used + 1 < len &&
		       (n = read(fd, log + used, len - used - 1)) > 0)
			used += (size_t)n;
		log[used] = '\0';
		close(fd);
	}
	unlink(f->log);
	unlink(f->sock);
	rmdir(f->dir);
}

/* pcmigd's messages would mix with TAP: silence stdout and stderr. */
static int saved_out = -1, saved_err = -1;

static void quiet(bool on)
{
	fflush(stdout);
	fflush(stderr);
	if (on) {
		int null = open("/dev/null", O_WRONLY);

		saved_out = dup(1);
		saved_err = dup(2);
		dup2(null, 1);
		dup2(null, 2);
		close(null);
	} else {
		dup2(saved_out, 1);
		dup2(saved_err, 2);
		close(saved_out);
		close(saved_err);
	}
}

#define SCRIPT(...) ((const char *const[]){ __VA_ARGS__, NULL })

static void test_parse(void)
{
	char err[256], longp[200];
	pid_t pid = 0;
	int fd = -1;

	tap_ok(vmm_reply_kind("ok") == VMM_REPLY_OK &&
	       vmm_reply_kind("ok stopped") == VMM_REPLY_OK &&
	       vmm_reply_kind("error") == VMM_REPLY_ERROR &&
	       vmm_reply_kind("error save: the VM is running") ==
		       VMM_REPLY_ERROR &&
	       vmm_reply_kind("okay") == VMM_REPLY_BAD &&
	       vmm_reply_kind("errors") == VMM_REPLY_BAD &&
	       vmm_reply_kind("{\"ok\":true}") == VMM_REPLY_BAD &&
	       vmm_reply_kind("") == VMM_REPLY_BAD,
	       "reply kinds: ok, error, anything else");

	tap_ok(!vmm_parse_vmfd("ok pid 1234 fd 7", &pid, &fd, err,
			       sizeof(err)) && pid == 1234 && fd == 7,
	       "vmfd reply parsed");
	tap_ok(!vmm_parse_vmfd("ok  pid\t99 fd 0 slots 3", &pid, &fd, err,
			       sizeof(err)) && pid == 99 && fd == 0,
	       "vmfd reply: blanks and later words tolerated");
	tap_ok(vmm_parse_vmfd("ok pid 12 fd", &pid, &fd, err, sizeof(err)) ==
		       -EINVAL && strstr(err, "expected 'ok pid PID fd FD'"),
	       "vmfd reply without the fd refused");
	tap_ok(vmm_parse_vmfd("ok fd 3 pid 12", &pid, &fd, err, sizeof(err)) ==
		       -EINVAL,
	       "vmfd reply with words swapped refused");
	tap_ok(vmm_parse_vmfd("ok pid 0 fd 3", &pid, &fd, err, sizeof(err)) ==
		       -EINVAL && strstr(err, "bad pid '0'"),
	       "vmfd reply with pid 0 refused");
	tap_ok(vmm_parse_vmfd("ok pid -5 fd 3", &pid, &fd, err, sizeof(err)) ==
		       -EINVAL && strstr(err, "bad pid"),
	       "vmfd reply with a negative pid refused");
	tap_ok(vmm_parse_vmfd("ok pid 12 fd 9999999999999", &pid, &fd, err,
			      sizeof(err)) == -EINVAL &&
	       strstr(err, "bad fd"),
	       "vmfd reply with a huge fd refused");
	tap_ok(vmm_parse_vmfd("ok pid 12x fd 3", &pid, &fd, err,
			      sizeof(err)) == -EINVAL,
	       "vmfd reply with a non-number refused");
	tap_ok(vmm_parse_vmfd("error unknown command", &pid, &fd, err,
			      sizeof(err)) == -EINVAL,
	       "vmfd: an error reply is not a vmfd reply");

	tap_ok(vmm_path_ok("/tmp/pcmigd-vmm-abc/devstate") &&
	       !vmm_path_ok("/tmp/a b") && !vmm_path_ok("/tmp/a\tb") &&
	       !vmm_path_ok("/tmp/a\nb") && !vmm_path_ok(""),
	       "paths with blanks cannot go to the VMM");
	memset(longp, 'x', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	tap_ok(!vmm_check_socket("/run/vm.sock", err, sizeof(err)) &&
	       vmm_check_socket("", err, sizeof(err)) == -EINVAL &&
	       vmm_check_socket(longp, err, sizeof(err)) == -EINVAL &&
	       strstr(err, "longer than 107"),
	       "--vmm SOCKET: empty and too long refused");
}

static void test_commands(void)
{
	struct vmm v = { .fd = -1 };
	char err[512], log[1024];
	struct fake f;
	int ret;

	fake_start(&f, SCRIPT("ok stopped",
			      "error save: the VM is running (stop it first)",
			      "hello", "ok \033[31mred"));
	ret = vmm_connect(&v, f.sock, err, sizeof(err));
	tap_ok(!ret && v.have_peer && v.peer_pid == f.pid,
	       "connect: SO_PEERCRED names the VMM");
	ret = vmm_command(&v, "stop", 2000, err, sizeof(err));
	tap_ok(ret == VMM_REPLY_OK && !strcmp(v.reply, "ok stopped"),
	       "command answered ok");
	ret = vmm_command(&v, "save /x", 2000, err, sizeof(err));
	tap_ok(ret == VMM_REPLY_ERROR &&
	       !strcmp(v.reply, "error save: the VM is running (stop it first)"),
	       "command refused: the reply says why");
	ret = vmm_command(&v, "status", 2000, err, sizeof(err));
	if (!tap_ok(ret == -EPROTO &&
		    strstr(err, "not a VMM control reply: 'hello'"),
		    "a reply outside the protocol is an error"))
		tap_diag("ret %d err %s", ret, err);
	vmm_close(&v);
	ret = vmm_command(&v, "peek 0", 2000, err, sizeof(err));
	tap_ok(ret == VMM_REPLY_OK && !strcmp(v.reply, "ok ?[31mred"),
	       "reconnects after close; control characters shown as '?'");
	vmm_close(&v);
	fake_stop(&f, log, sizeof(log));
	tap_ok(!strcmp(log, "stop\nsave /x\nstatus\npeek 0\n"),
	       "the VMM got one line per command");

	fake_start(&f, SCRIPT("@close", "ok running"));
	ret = vmm_connect(&v, f.sock, err, sizeof(err));
	ret = ret ? ret : vmm_command(&v, "resume", 2000, err, sizeof(err));
	tap_ok(ret == VMM_REPLY_OK && !strcmp(v.reply, "ok running"),
	       "closed without a reply: sent again once on a new connection");
	vmm_close(&v);
	fake_stop(&f, log, sizeof(log));
	tap_ok(!strcmp(log, "resume\nresume\n"), "... and only once more");

	fake_start(&f, SCRIPT("@close", "@close"));
	ret = vmm_connect(&v, f.sock, err, sizeof(err));
	ret = ret ? ret : vmm_command(&v, "stop", 2000, err, sizeof(err));
	tap_ok(ret == -ECONNRESET &&
	       strstr(err, "closed the connection without a reply"),
	       "closed twice: error");
	vmm_close(&v);
	fake_stop(&f, log, sizeof(log));

	fake_start(&f, SCRIPT("@silent"));
	ret = vmm_connect(&v, f.sock, err, sizeof(err));
	ret = ret ? ret : vmm_command(&v, "stop", 300, err, sizeof(err));
	tap_ok(ret == -ETIMEDOUT &&
	       strstr(err, "no reply from the VMM within 300 ms") &&
	       v.fd < 0,
	       "no reply within the time: error, connection dropped");
	fake_stop(&f, log, sizeof(log));

	ret = vmm_connect(&v, "/nonexistent/vm.sock", err, sizeof(err));
	tap_ok(ret == -ENOENT &&
	       strstr(err, "is the VMM running with --control on it?"),
	       "no such socket: says what to check");
}

static void test_take_fd(void)
{
	struct vmm v = { .fd = -1 };
	char err[512], log[256];
	struct bridge b;
	struct fake f;
	pid_t pid;
	int fd;

	fake_start(&f, SCRIPT("@vmfd"));
	vmm_connect(&v, f.sock, err, sizeof(err));
	fd = vmm_take_vm_fd(&v, &pid, err, sizeof(err));
	/* pidfd_getfd needs ptrace access: a parent has it, mostly. */
	if (!tap_ok(fd < 0 && (strstr(err, "is /dev/null, not a KVM VM") ||
			       strstr(err, "pidfd_getfd")),
		    "vmfd + pidfd_getfd: a non-VM fd is refused, named"))
		tap_diag("fd %d err %s", fd, err);
	vmm_close(&v);
	fake_stop(&f, log, sizeof(log));
	tap_ok(!strcmp(log, "vmfd\n"), "vmfd sent");

	/* No pid is ever PID_MAX_LIMIT (4194304): not the socket's peer. */
	fake_start(&f, SCRIPT("ok pid 4194304 fd 3"));
	vmm_connect(&v, f.sock, err, sizeof(err));
	fd = vmm_take_vm_fd(&v, &pid, err, sizeof(err));
	if (!tap_ok(fd < 0 && strstr(err, "the VMM says it is pid 4194304, but pid"),
		    "vmfd: a pid that is not the socket's peer is refused"))
		tap_diag("fd %d err %s", fd, err);
	vmm_close(&v);
	fake_stop(&f, log, sizeof(log));

	fake_start(&f, SCRIPT("ok pid 12"));
	vmm_connect(&v, f.sock, err, sizeof(err));
	fd = vmm_take_vm_fd(&v, &pid, err, sizeof(err));
	tap_ok(fd < 0 && strstr(err, "'vmfd': expected 'ok pid PID fd FD', got 'ok pid 12'"),
	       "vmfd: a malformed reply is shown");
	vmm_close(&v);
	fake_stop(&f, log, sizeof(log));

	fake_start(&f, SCRIPT("error unknown command or wrong arguments: vmfd (try help)"));
	quiet(true);
	fd = bridge_open(&b, f.sock, PCMIG_ROLE_SOURCE);
	quiet(false);
	if (!tap_ok(fd == EXIT_VMM && strstr(b.error, "'vmfd' refused by the VMM: error unknown command") &&
		    b.vm_fd < 0,
		    "bridge_open: a VMM without vmfd is exit 6, its reply shown"))
		tap_diag("ret %d error %s", fd, b.error);
	bridge_close(&b);
	fake_stop(&f, log, sizeof(log));

	quiet(true);
	fd = bridge_open(&b, "/nonexistent/vm.sock", PCMIG_ROLE_DESTINATION);
	quiet(false);
	tap_ok(fd == EXIT_VMM && strstr(b.error, "--vmm /nonexistent/vm.sock: No such file"),
	       "bridge_open: no socket is exit 6");
	bridge_close(&b);
}

/* A bridge connected to a fake VMM, as after bridge_open. */
static void bridge_on(struct bridge *b, struct fake *f, uint32_t role,
		      const char *const *replies)
{
	char err[256];

	memset(b, 0, sizeof(*b));
	b->role = role;
	b->vm_fd = -1;
	b->vmm.fd = -1;
	fake_start(f, replies);
	vmm_connect(&b->vmm, f->sock, err, sizeof(err));
	b->pid = f->pid;
}

/* A destination whose VM was resumed ends as s says; the VMM's log. */
static void resumed_dest_end(struct bridge *b, const struct pcmig_session *s,
			     const char *const *replies, char *log, size_t len)
{
	struct fake f;

	bridge_on(b, &f, PCMIG_ROLE_DESTINATION, replies);
	b->outcome = "resumed";
	quiet(true);
	bridge_end(b, NULL, s);
	quiet(false);
	bridge_close(b);
	fake_stop(&f, log, len);
}

static void test_bridge_end(void)
{
	struct pcmig_session s = { .id = 3, .role = PCMIG_ROLE_SOURCE };
	char log[256], *out;
	struct bridge b;
	struct fake f;
	struct json j;
	size_t len;
	FILE *mf;

	s.phase = PCMIG_PHASE_COMPLETED;
	bridge_on(&b, &f, PCMIG_ROLE_SOURCE, SCRIPT("ok quitting"));
	b.stop_seen = b.stop_sent = b.stopped = true;
	quiet(true);
	bridge_end(&b, NULL, &s);
	quiet(false);
	bridge_close(&b);
	fake_stop(&f, log, sizeof(log));
	tap_ok(!strcmp(log, "quit\n") && !strcmp(b.outcome, "quit") &&
	       !b.exit_code, "source completed: quit");

	s.phase = PCMIG_PHASE_COMPLETED;
	bridge_on(&b, &f, PCMIG_ROLE_SOURCE, SCRIPT("error busy"));
	quiet(true);
	bridge_end(&b, NULL, &s);
	quiet(false);
	bridge_close(&b);
	fake_stop(&f, log, sizeof(log));
	tap_ok(!strcmp(b.outcome, "quit-failed") && !b.exit_code &&
	       strstr(b.error, "VMM 'quit': error busy"),
	       "source completed, quit refused: a warning, exit status stays 0");

	s.phase = PCMIG_PHASE_FAILED;
	bridge_on(&b, &f, PCMIG_ROLE_SOURCE, SCRIPT("ok running"));
	b.stop_seen = b.stop_sent = b.stopped = true;
	b.devstate_bytes = 4096;
	quiet(true);
	bridge_end(&b, NULL, &s);
	quiet(false);
	bridge_close(&b);
	fake_stop(&f, log, sizeof(log));
	tap_ok(!strcmp(log, "resume\n") && !strcmp(b.outcome, "resumed") &&
	       !b.exit_code, "source failed after the stop: resume");
	mf = open_memstream(&out, &len);
	json_init(&j, mf);
	json_obj_begin(&j, NULL);
	bridge_json(&b, &j);
	json_obj_end(&j);
	json_done(&j);
	fclose(mf);
	b.vmm.path = NULL;
	if (!tap_ok(strstr(out, ",\"stop_requested\":true,\"stopped\":true,"
			   "\"devstate_bytes\":4096,\"outcome\":\"resumed\"}}") &&
		    !strncmp(out, "{\"vmm\":{\"socket\":\"/tmp/pcmigd-vmmtest-", 38),
		    "bridge JSON"))
		tap_diag("got %s", out);
	free(out);

	s.phase = PCMIG_PHASE_CANCELLED;
	bridge_on(&b, &f, PCMIG_ROLE_SOURCE, SCRIPT("error resume: no VM"));
	b.stop_seen = b.stop_sent = true;
	quiet(true);
	bridge_end(&b, NULL, &s);
	quiet(false);
	bridge_close(&b);
	fake_stop(&f, log, sizeof(log));
	tap_ok(!strcmp(b.outcome, "stopped") && b.exit_code == EXIT_VMM &&
	       strstr(b.error, "VMM 'resume': error resume: no VM: the guest is stopped on this host"),
	       "source cancelled, resume refused: exit 6, the guest is stopped here");

	s.phase = PCMIG_PHASE_CANCELLED;
	bridge_on(&b, &f, PCMIG_ROLE_SOURCE, SCRIPT("ok running"));
	quiet(true);
	bridge_end(&b, NULL, &s);
	quiet(false);
	bridge_close(&b);
	fake_stop(&f, log, sizeof(log));
	tap_ok(!log[0] && !strcmp(b.outcome, "running") && !b.exit_code,
	       "source cancelled before the stop: the VMM is left alone");

	s.role = PCMIG_ROLE_DESTINATION;
	s.phase = PCMIG_PHASE_FAILED;
	bridge_on(&b, &f, PCMIG_ROLE_DESTINATION, SCRIPT("ok quitting"));
	quiet(true);
	bridge_end(&b, NULL, &s);
	quiet(false);
	bridge_close(&b);
	fake_stop(&f, log, sizeof(log));
	tap_ok(!strcmp(log, "quit\n") && !strcmp(b.outcome, "quit") &&
	       !b.exit_code, "destination failed: quit");

	s.phase = PCMIG_PHASE_COMPLETED;
	resumed_dest_end(&b, &s, SCRIPT("ok state running vcpus 1"), log,
			 sizeof(log));
	tap_ok(!strcmp(log, "status\n") && !strcmp(b.outcome, "resumed"),
	       "destination completed, guest running: left alone");

	resumed_dest_end(&b, &s,
			 SCRIPT("ok state finished vcpus 1", "ok quitting"),
			 log, sizeof(log));
	tap_ok(!strcmp(log, "status\nquit\n") && !strcmp(b.outcome, "quit") &&
	       !b.exit_code,
	       "destination completed, guest finished meanwhile: quit");

	bridge_on(&b, &f, PCMIG_ROLE_DESTINATION, SCRIPT("@close", "@close"));
	quiet(true);
	bridge_end(&b, NULL, NULL);
	quiet(false);
	bridge_close(&b);
	fake_stop(&f, log, sizeof(log));
	tap_ok(!strcmp(b.outcome, "quit"),
	       "destination not followed to the end: quit (closed = gone)");
}

/*
 * Source stopped by pcmigd, failed with caps and where the guest runs
 * (at, 0: the attribute absent; final: the end was followed, else not);
 * the commands the VMM got in log.
 */
static void source_failed_end(struct bridge *b, uint32_t caps, uint32_t at,
			      bool final, const char *reply, char *log,
			      size_t len)
{
	struct pcmig_session s = {
		.id = 3, .role = PCMIG_ROLE_SOURCE, .caps = caps,
		.phase = PCMIG_PHASE_FAILED, .guest_at = at,
		.has = 1ULL << PCMIG_A_CAPS | 1ULL << PCMIG_A_PHASE |
		       (at ? 1ULL << PCMIG_A_GUEST_AT : 0),
	};
	struct follow_news news = { .how = FOLLOW_EVENT, .wake_ms = INT64_MAX };
	struct fake f;

	bridge_on(b, &f, PCMIG_ROLE_SOURCE, SCRIPT(reply));
	b->stop_seen = b->stop_sent = b->stopped = true;
	bridge_watch(b, &s, &news);
	quiet(true);
	bridge_end(b, NULL, final ? &s : NULL);
	quiet(false);
	bridge_close(b);
	fake_stop(&f, log, len);
}

/* Destination resumed at the switch to postcopy, then failed. */
static void dest_failed_in_postcopy(struct bridge *b, uint32_t caps,
				    char *log, size_t len)
{
	struct pcmig_session s = {
		.id = 3, .role = PCMIG_ROLE_DESTINATION, .caps = caps,
		.phase = PCMIG_PHASE_FAILED, .guest_at = PCMIG_GUEST_THERE,
		.has = 1ULL << PCMIG_A_CAPS | 1ULL << PCMIG_A_PHASE |
		       1ULL << PCMIG_A_GUEST_AT,
	};

	resumed_dest_end(b, &s, SCRIPT("ok quitting"), log, len);
}

static void test_bridge_postcopy(void)
{
	const uint32_t ram = 1U << PCMIG_CAP_POSTCOPY_RAM;
	const uint32_t bitmaps = 1U << PCMIG_CAP_POSTCOPY_BITMAPS;
	char log[256], *out;
	struct bridge b;
	struct json j;
	size_t len;
	FILE *mf;

	source_failed_end(&b, ram, PCMIG_GUEST_THERE, true, "ok running",
			  log, sizeof(log));
	if (!tap_ok(!log[0] && !strcmp(b.outcome, "kept-stopped") &&
		    !b.exit_code,
		    "source failed in RAM postcopy: neither resume nor quit"))
		tap_diag("log '%s' outcome %s", log, b.outcome);
	mf = open_memstream(&out, &len);
	json_init(&j, mf);
	bridge_json(&b, &j);
	json_done(&j);
	fclose(mf);
	tap_ok(strstr(out, "\"outcome\":\"kept-stopped\"") != NULL,
	       "bridge JSON: outcome kept-stopped");
	free(out);

	source_failed_end(&b, ram, PCMIG_GUEST_HERE, true, "ok running", log,
			  sizeof(log));
	tap_ok(!strcmp(log, "resume\n") && !strcmp(b.outcome, "resumed"),
	       "source with postcopy-ram, destination never resumed: resume");

	source_failed_end(&b, ram | bitmaps, PCMIG_GUEST_MAYBE_THERE, true,
			  "ok running", log, sizeof(log));
	tap_ok(!log[0] && !strcmp(b.outcome, "kept-stopped"),
	       "source: the switch to postcopy unanswered: kept stopped");

	source_failed_end(&b, bitmaps, PCMIG_GUEST_MAYBE_THERE, true,
			  "ok running", log, sizeof(log));
	tap_ok(!log[0] && !strcmp(b.outcome, "kept-stopped"),
	       "source without postcopy-ram, switch unanswered: kept stopped");

	source_failed_end(&b, bitmaps, PCMIG_GUEST_THERE, true,
			  "ok quitting", log, sizeof(log));
	tap_ok(!strcmp(log, "quit\n") && !strcmp(b.outcome, "quit"),
	       "source without postcopy-ram failed in postcopy: quit, the destination has the guest");

	source_failed_end(&b, ram, 0, false, "ok running", log, sizeof(log));
	tap_ok(!log[0] && !strcmp(b.outcome, "kept-stopped"),
	       "source with postcopy not followed to the end after the stop: kept stopped");

	source_failed_end(&b, 0, 0, false, "ok running", log, sizeof(log));
	tap_ok(!strcmp(log, "resume\n") && !strcmp(b.outcome, "resumed"),
	       "source without postcopy not followed to the end: resume");

	dest_failed_in_postcopy(&b, ram, log, sizeof(log));
	tap_ok(!strcmp(log, "quit\n") && !strcmp(b.outcome, "quit"),
	       "destination resumed in RAM postcopy, then failed: quit");

	dest_failed_in_postcopy(&b, bitmaps, log, sizeof(log));
	tap_ok(!log[0] && !strcmp(b.outcome, "resumed"),
	       "destination resumed in bitmap postcopy, then failed: runs on");
}

static void test_files(void)
{
	struct vmm v = { .fd = -1 };
	struct vmm_tmp t = { 0 };
	char err[256], path[400];
	const char *old = getenv("TMPDIR");
	char *saved = old ? strdup(old) : NULL;
	void *data = NULL;
	size_t len = 1;
	struct stat st;
	int fd;

	tap_ok(!vmm_tmp_create(&t, &v, err, sizeof(err)) &&
	       !stat(t.dir, &st) && S_ISDIR(st.st_mode) &&
	       (st.st_mode & 0777) == 0700 && vmm_path_ok(t.file) &&
	       !strncmp(t.file, t.dir, strlen(t.dir)) &&
	       !strcmp(t.file + strlen(t.dir), "/devstate"),
	       "temporary directory: private, file inside");
	fd = open(t.file, O_CREAT | O_WRONLY, 0600);
	if (fd >= 0)
		close(fd);
	tap_ok(!read_devstate_file(t.file, &data, &len, err, sizeof(err)) &&
	       len == 0 && data, "empty device-state file read");
	free(data);
	snprintf(path, sizeof(path), "%s.tmp", t.file);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	if (fd >= 0) {
		tap_ok(!ftruncate(fd, (off_t)PCMIG_DEVSTATE_MAX + 1),
		       "sparse 16 MiB + 1 file");
		close(fd);
	}
	tap_ok(read_devstate_file(path, &data, &len, err, sizeof(err)) ==
		       -EFBIG && strstr(err, "larger than the 16 MiB"),
	       "device state over 16 MiB refused");
	tap_ok(read_devstate_file(t.dir, &data, &len, err, sizeof(err)) ==
		       -EINVAL && strstr(err, "not a regular file"),
	       "a directory is not a device state");
	vmm_tmp_remove(&t);
	tap_ok(stat(path, &st) && errno == ENOENT && !t.dir[0],
	       "temporary directory removed with what is in it");

	setenv("TMPDIR", "/tmp/with blank", 1);
	tap_ok(!vmm_tmp_create(&t, &v, err, sizeof(err)) &&
	       !strncmp(t.dir, "/tmp/pcmigd-vmm-", 16),
	       "TMPDIR with a blank: /tmp instead (paths are one word)");
	vmm_tmp_remove(&t);
	if (saved)
		setenv("TMPDIR", saved, 1);
	else
		unsetenv("TMPDIR");
	free(saved);
}

/* A source with a VM attached, in precopy. */
static struct pcmig_session ram_source(void)
{
	struct pcmig_session s = {
		.id = 5, .role = PCMIG_ROLE_SOURCE,
		.phase = PCMIG_PHASE_PRECOPY, .ram_size = 64ULL << 20,
		.has = 1U << PCMIG_A_SESSION_ID | 1U << PCMIG_A_ROLE |
		       1U << PCMIG_A_PHASE | 1U << PCMIG_A_STATS |
		       1ULL << PCMIG_A_RAM_SIZE,
		.stats_has = 1U << PCMIG_STAT_BYTES_SENT |
			     1U << PCMIG_STAT_BANDWIDTH |
			     1U << PCMIG_STAT_BYTES_REMAINING |
			     1U << PCMIG_STAT_PASSES |
			     1U << PCMIG_STAT_ELAPSED_MS |
			     1U << PCMIG_STAT_DOWNTIME_MS |
			     1U << PCMIG_STAT_EXPECTED_DOWNTIME_MS |
			     1U << PCMIG_STAT_PAGES_SENT |
			     1U << PCMIG_STAT_ZERO_PAGES |
			     1U << PCMIG_STAT_DIRTY_PAGES |
			     1U << PCMIG_STAT_DIRTY_RATE |
			     1U << PCMIG_STAT_NOT_CONVERGING,
	};

	s.stats[PCMIG_STAT_BYTES_SENT] = 41943040;	/* 40.0 MiB */
	s.stats[PCMIG_STAT_BANDWIDTH] = 89338675;	/* 85.2 MiB/s */
	s.stats[PCMIG_STAT_BYTES_REMAINING] = 1258291;	/* 1.2 MiB */
	s.stats[PCMIG_STAT_PASSES] = 3;
	s.stats[PCMIG_STAT_ELAPSED_MS] = 2500;
	s.stats[PCMIG_STAT_EXPECTED_DOWNTIME_MS] = 120;
	s.stats[PCMIG_STAT_PAGES_SENT] = 10240;
	s.stats[PCMIG_STAT_ZERO_PAGES] = 1200;
	s.stats[PCMIG_STAT_DIRTY_PAGES] = 312;
	s.stats[PCMIG_STAT_DIRTY_RATE] = 1500;
	return s;
}

static void str_eq(const char *got, const char *want, const char *what)
{
	if (!tap_ok(!strcmp(got, want), "%s", what))
		tap_diag("got  \"%s\"\n# want \"%s\"", got, want);
}

static void test_render(void)
{
	struct pcmig_session s = ram_source();
	char line[PROGRESS_LINE_MAX], *out;
	struct json j;
	size_t len;
	FILE *f;

	progress_line(&s, line, sizeof(line));
	str_eq(line, "precopy  40.0 MiB sent  85.2 MiB/s  1.2 MiB remaining  pass 3  ram 64.0 MiB  pages 10240 sent, 1200 zero, 312 dirty  dirty rate 1500 pages/s  expected downtime 120 ms",
	       "RAM progress line (source, precopy)");
	s.stats[PCMIG_STAT_NOT_CONVERGING] = 1;
	s.stop_requested = true;
	progress_line(&s, line, sizeof(line));
	tap_ok(!strncmp(line, "precopy, not converging, stop requested  40.0 MiB sent", 54),
	       "not converging and stop requested come first");
	s.stats[PCMIG_STAT_NOT_CONVERGING] = 0;
	s.stop_requested = false;
	s.phase = PCMIG_PHASE_STOPPED;
	s.stats[PCMIG_STAT_DOWNTIME_MS] = 80;
	progress_line(&s, line, sizeof(line));
	tap_ok(strstr(line, "  downtime 80 ms") && !strstr(line, "expected"),
	       "stopped: the downtime, not the estimate");

	s = ram_source();
	s.role = PCMIG_ROLE_DESTINATION;
	s.stats_has = 1U << PCMIG_STAT_BYTES_RECEIVED |
		      1U << PCMIG_STAT_PAGES_SENT | 1U << PCMIG_STAT_ZERO_PAGES |
		      1U << PCMIG_STAT_DIRTY_PAGES | 1U << PCMIG_STAT_DIRTY_RATE;
	s.stats[PCMIG_STAT_BYTES_RECEIVED] = 41943040;
	progress_line(&s, line, sizeof(line));
	str_eq(line, "precopy  40.0 MiB received  ram 64.0 MiB  pages 10240 received, 1200 zero",
	       "RAM progress line (destination)");

	s = ram_source();
	s.phase = PCMIG_PHASE_COMPLETED;
	s.stats[PCMIG_STAT_DOWNTIME_MS] = 95;
	progress_summary(&s, line, sizeof(line));
	str_eq(line, "migration completed: 40.0 MiB sent in 2.5 s, downtime 95 ms (ram 64.0 MiB: 10240 pages sent, 1200 zero, 3 passes)",
	       "RAM summary");
	s.phase = PCMIG_PHASE_CANCELLED;
	s.stats[PCMIG_STAT_NOT_CONVERGING] = 1;
	strcpy(s.reason, "cancelled by the user");
	progress_summary(&s, line, sizeof(line));
	str_eq(line, "migration cancelled: 40.0 MiB sent in 2.5 s (ram 64.0 MiB: 10240 pages sent, 1200 zero, 3 passes, not converging) (reason: cancelled by the user)",
	       "RAM summary, not converging");
	s.stats[PCMIG_STAT_PASSES] = 1;
	s.stats[PCMIG_STAT_NOT_CONVERGING] = 0;
	s.reason[0] = '\0';
	progress_summary(&s, line, sizeof(line));
	tap_ok(strstr(line, "1200 zero, 1 pass)") != NULL,
	       "RAM summary: 1 pass");

	s = ram_source();
	s.stats[PCMIG_STAT_NOT_CONVERGING] = 1;
	f = open_memstream(&out, &len);
	session_print(f, &s);
	fclose(f);
	if (!tap_ok(strstr(out, "session 5 source precopy (not converging)\n") &&
		    strstr(out, "  ram-size:               64.0 MiB (67108864)\n") &&
		    strstr(out, "  stop-requested:         no\n") &&
		    strstr(out, "  pages-sent:             10240\n") &&
		    strstr(out, "  zero-pages:             1200\n") &&
		    strstr(out, "  dirty-pages:            312\n") &&
		    strstr(out, "  dirty-rate:             1500 pages/s\n") &&
		    strstr(out, "  not-converging:         yes (the guest dirties memory faster than a pass sends it)\n"),
		    "status text: RAM lines, not converging in the first line"))
		tap_diag("got %s", out);
	free(out);

	f = open_memstream(&out, &len);
	json_init(&j, f);
	session_json(&j, NULL, &s);
	json_done(&j);
	fclose(f);
	if (!tap_ok(strstr(out, "\"ram_size\":67108864,\"postcopy_requested\":false,\"stop_requested\":false,") &&
		    strstr(out, "\"pages_sent\":10240,\"zero_pages\":1200,\"dirty_pages\":312,\"dirty_rate\":1500,\"not_converging\":1}"),
		    "status JSON: ram_size, stop_requested, RAM stats"))
		tap_diag("got %s", out);
	free(out);
}

void test_vmm(void)
{
	test_parse();
	test_commands();
	test_take_fd();
	test_bridge_end();
	test_bridge_postcopy();
	test_files();
	test_render();
}
