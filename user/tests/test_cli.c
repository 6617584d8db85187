// SPDX-License-Identifier: GPL-2.0
/*
 * The pcmigd binary itself: help texts, usage errors and the exit codes
 * that do not need the module (or that report its absence).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pcmigd.h"
#include "tap.h"

struct result {
	int status;
	char out[16384];
	char err[4096];
};

static void slurp(int fd, char *buf, size_t len)
{
	size_t used = 0;
	ssize_t n;

	while (used + 1 < len && (n = read(fd, buf + used, len - used - 1)) > 0)
		used += (size_t)n;
	buf[used] = '\0';
}

/* Runs pcmigd with args (NULL-terminated), stdin from /dev/null. */
static void run(struct result *r, const char *const *args)
{
	char errpath[] = "/tmp/pcmigd-test-XXXXXX";
	int out[2], errfd = mkstemp(errpath), status;
	const char *argv[16] = { tap_pcmigd };
	pid_t pid;

	for (int i = 0; args[i] && i < 14; i++)
		argv[i + 1] = args[i];
	if (pipe(out) || errfd < 0)
		abort();
	unlink(errpath);
	pid = fork();
	if (!pid) {
		int null = open("/dev/null", O_RDONLY);

		dup2(null, 0);
		dup2(out[1], 1);
		dup2(errfd, 2);
		execv(tap_pcmigd, (char *const *)argv);
		_exit(127);
	}
	close(out[1]);
	slurp(out[0], r->out, sizeof(r->out));
	close(out[0]);
	waitpid(pid, &status, 0);
	lseek(errfd, 0, SEEK_SET);
	slurp(errfd, r->err, sizeof(r->err));
	close(errfd);
	r->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

#define RUN(r, ...) run(r, (const char *const[]){ __VA_ARGS__, NULL })

static void usage(const char *what, const char *const *args, const char *msg)
{
	struct result r;

	run(&r, args);
	if (!tap_ok(r.status == EXIT_USAGE && strstr(r.err, msg),
		    "usage error: %s", what))
		tap_diag("status %d, stderr: %s", r.status, r.err);
}

#define USAGE(what, msg, ...) \
	usage(what, (const char *const[]){ __VA_ARGS__, NULL }, msg)

void test_cli(void)
{
	static const char *const cmds[] = {
		"caps", "incoming", "migrate", "start-postcopy", "cancel",
		"status", "monitor",
	};
	struct result r;
	char want[64];

	RUN(&r, "--help");
	bool all = r.status == 0 && strstr(r.out, "Exit status:");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		all = all && strstr(r.out, cmds[i]);
	tap_ok(all, "pcmigd --help lists every command and the exit codes");

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		RUN(&r, cmds[i], "--help");
		snprintf(want, sizeof(want), "Usage: pcmigd %s", cmds[i]);
		tap_ok(r.status == 0 && strstr(r.out, want) &&
		       strstr(r.out, "Exit status:") &&
		       strstr(r.out, "Example") && !r.err[0],
		       "pcmigd %s --help", cmds[i]);
	}
	RUN(&r, "--version");
	tap_ok(r.status == 0 && !strncmp(r.out, "pcmigd ", 7),
	       "pcmigd --version");

	USAGE("no command", "missing command", NULL);
	USAGE("unknown command", "unknown command 'frob'", "frob");
	USAGE("unknown global option", "unknown option '--frob'", "--frob");
	USAGE("unknown option", "'--frob'", "status", "--frob");
	USAGE("migrate without --to", "--to ADDR:PORT is required", "migrate");
	USAGE("migrate --to without port", "expected ADDR:PORT", "migrate",
	      "--to", "127.0.0.1");
	USAGE("migrate --caps unknown", "unknown capability 'turbo'",
	      "migrate", "--to", "127.0.0.1:1", "--caps", "turbo");
	USAGE("migrate --max-bandwidth 1X", "not a size", "migrate", "--to",
	      "127.0.0.1:1", "--max-bandwidth", "1X");
	USAGE("migrate --timeout 0", "out of range", "migrate", "--to",
	      "127.0.0.1:1", "--timeout", "0");
	USAGE("migrate --device-state missing", "--device-state /nonexistent",
	      "migrate", "--to", "127.0.0.1:1", "--device-state",
	      "/nonexistent/file");
	USAGE("incoming without --listen", "--listen ADDR:PORT is required",
	      "incoming");
	USAGE("incoming --device-state-out unwritable",
	      "--device-state-out /nonexistent/dir/x", "incoming", "--listen",
	      ":0", "--device-state-out", "/nonexistent/dir/x");
	USAGE("status with a bad SESSION", "SESSION: 'x' is not a number",
	      "status", "x");
	USAGE("cancel with two SESSIONs", "unexpected argument '2'", "cancel",
	      "1", "2");

	/* Without the module every command fails the same way (exit 3). */
	RUN(&r, "caps");
	if (r.status == EXIT_ENV)
		tap_ok(strstr(r.err, "pcmig module not loaded (family \"pcmig\" not registered)") != NULL,
		       "caps without the module: exit 3 and says so");
	else
		tap_ok(r.status == 0 && strstr(r.out, "stream version:"),
		       "caps with the module loaded");
	RUN(&r, "migrate", "--to", "127.0.0.1:9");
	tap_ok(r.status == EXIT_ENV || r.status == EXIT_NET,
	       "migrate checks the module before the network (exit %d)",
	       r.status);
}
