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
		"status", "monitor", "bitmap",
	};
	static const char *const bitmap_cmds[] = {
		"add", "remove", "list", "enable", "disable", "clear", "merge",
		"dump",
	};
	char long_name[300];
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
	for (size_t i = 0; i < sizeof(bitmap_cmds) / sizeof(bitmap_cmds[0]);
	     i++) {
		RUN(&r, "bitmap", bitmap_cmds[i], "--help");
		snprintf(want, sizeof(want), "Usage: pcmigd bitmap %s",
			 bitmap_cmds[i]);
		tap_ok(r.status == 0 && strstr(r.out, want) &&
		       strstr(r.out, "Exit status:") &&
		       strstr(r.out, "Example") && !r.err[0],
		       "pcmigd bitmap %s --help", bitmap_cmds[i]);
	}
	RUN(&r, "bitmap", "--help");
	all = r.status == 0;
	for (size_t i = 0; i < sizeof(bitmap_cmds) / sizeof(bitmap_cmds[0]);
	     i++) {
		snprintf(want, sizeof(want), "\n  %s ", bitmap_cmds[i]);
		all = all && strstr(r.out, want);
	}
	tap_ok(all, "pcmigd bitmap --help lists every subcommand");
	RUN(&r, "migrate", "--help");
	tap_ok(strstr(r.out, "--bitmap-map SRC:DST") &&
	       strstr(r.out, "block-bitmap-mapping"),
	       "migrate --help explains --bitmap-map");
	RUN(&r, "incoming", "--help");
	tap_ok(strstr(r.out, "--bitmap-map SRC:DST") &&
	       strstr(r.out, "block-bitmap-mapping"),
	       "incoming --help explains --bitmap-map");
	RUN(&r, "migrate", "--help");
	tap_ok(strstr(r.out, "--vmm SOCKET") && strstr(r.out, "pidfd_getfd") &&
	       strstr(r.out, "6  VMM error"),
	       "migrate --help explains --vmm and exit status 6");
	RUN(&r, "incoming", "--help");
	tap_ok(strstr(r.out, "--vmm SOCKET") &&
	       strstr(r.out, "load-devstate FILE") &&
	       strstr(r.out, "6  VMM error"),
	       "incoming --help explains --vmm and exit status 6");
	RUN(&r, "migrate", "--help");
	tap_ok(strstr(r.out, "--postcopy-after POLICY") &&
	       strstr(r.out, "passes:N") && strstr(r.out, "seconds:T") &&
	       strstr(r.out, "auto (as soon") &&
	       strstr(r.out, "\"postcopy_after\""),
	       "migrate --help explains --postcopy-after");
	RUN(&r, "status", "--help");
	tap_ok(strstr(r.out, "\"postcopy\": {\"requests\"") &&
	       strstr(r.out, "pc-latency"),
	       "status --help explains the postcopy statistics");
	RUN(&r, "status", "--bitmaps", "--help");
	tap_ok(r.status == 0 && strstr(r.out, "--bitmaps"),
	       "status --help explains --bitmaps");
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
	USAGE("migrate --bitmap-map without ':'",
	      "--bitmap-map: 'nocolon' is not SRC:DST", "migrate", "--to",
	      "127.0.0.1:1", "--bitmap-map", "nocolon");
	USAGE("migrate --bitmap-map with an empty side",
	      "--bitmap-map: ':d': empty source node name", "migrate",
	      "--to", "127.0.0.1:1", "--bitmap-map", ":d");
	USAGE("migrate --bitmap-map without value", "'--bitmap-map'",
	      "migrate", "--to", "127.0.0.1:1", "--bitmap-map");
	USAGE("incoming --bitmap-map with a node twice",
	      "node 'a' is already mapped on the source side", "incoming",
	      "--listen", ":0", "--bitmap-map", "a:b", "--bitmap-map", "a:c");
	USAGE("incoming --bitmap-map destination twice",
	      "node 'b' is already mapped on the destination side",
	      "incoming", "--listen", ":0", "--bitmap-map", "a:b",
	      "--bitmap-map", "c:b");
	USAGE("incoming --bitmap-map with an empty destination",
	      "empty destination node name", "incoming", "--listen", ":0",
	      "--bitmap-map", "a:");
	USAGE("status --frob", "'--frob'", "status", "--bitmaps", "--frob");
	USAGE("incoming without --listen", "--listen ADDR:PORT is required",
	      "incoming");
	USAGE("incoming --device-state-out unwritable",
	      "--device-state-out /nonexistent/dir/x", "incoming", "--listen",
	      ":0", "--device-state-out", "/nonexistent/dir/x");
	USAGE("migrate --vmm with --device-state",
	      "--vmm and --device-state are mutually exclusive", "migrate",
	      "--to", "127.0.0.1:1", "--vmm", "/run/vm.sock",
	      "--device-state", "/nonexistent/file");
	USAGE("migrate --device-state with --vmm",
	      "--vmm and --device-state are mutually exclusive", "migrate",
	      "--device-state", "/nonexistent/file", "--to", "127.0.0.1:1",
	      "--vmm", "/run/vm.sock");
	USAGE("migrate --vmm empty", "--vmm: empty socket path", "migrate",
	      "--to", "127.0.0.1:1", "--vmm", "");
	USAGE("migrate --vmm without value", "'--vmm'", "migrate", "--to",
	      "127.0.0.1:1", "--vmm");
	memset(long_name, 'x', 120);
	long_name[0] = '/';
	long_name[120] = '\0';
	USAGE("incoming --vmm too long", "--vmm: socket path of 120 bytes, longer than 107",
	      "incoming", "--listen", ":0", "--vmm", long_name);
	USAGE("migrate --postcopy-after unknown",
	      "--postcopy-after: 'sometimes' is not a policy (never, passes:N, seconds:T or auto)",
	      "migrate", "--to", "127.0.0.1:1", "--caps", "postcopy-ram",
	      "--postcopy-after", "sometimes");
	USAGE("migrate --postcopy-after passes:-1",
	      "--postcopy-after: 'passes:-1': N of passes:N is not a whole number of passes (never, passes:N, seconds:T or auto)",
	      "migrate", "--to", "127.0.0.1:1", "--caps", "postcopy-ram",
	      "--postcopy-after", "passes:-1");
	USAGE("migrate --postcopy-after passes: (empty)",
	      "--postcopy-after: 'passes:': N of passes:N is not a whole number",
	      "migrate", "--to", "127.0.0.1:1", "--caps", "postcopy-ram",
	      "--postcopy-after", "passes:");
	USAGE("migrate --postcopy-after seconds:1.2345",
	      "--postcopy-after: 'seconds:1.2345': T of seconds:T is not a number of seconds (e.g. 30 or 2.5, at most 3 decimals",
	      "migrate", "--to", "127.0.0.1:1", "--caps", "postcopy-ram",
	      "--postcopy-after", "seconds:1.2345");
	USAGE("migrate --postcopy-after seconds:5s", "is not a number of seconds",
	      "migrate", "--to", "127.0.0.1:1", "--caps", "postcopy-ram",
	      "--postcopy-after", "seconds:5s");
	USAGE("migrate --postcopy-after seconds:2000000",
	      "T of seconds:T is out of range (0 to 1000000)", "migrate",
	      "--to", "127.0.0.1:1", "--caps", "postcopy-ram",
	      "--postcopy-after", "seconds:2000000");
	USAGE("migrate --postcopy-after without value", "'--postcopy-after'",
	      "migrate", "--to", "127.0.0.1:1", "--postcopy-after");
	USAGE("migrate --postcopy-after without postcopy-ram",
	      "--postcopy-after passes:3 needs --caps postcopy-ram", "migrate",
	      "--to", "127.0.0.1:1", "--postcopy-after", "passes:3");
	USAGE("migrate --postcopy-after auto with postcopy-bitmaps only",
	      "--postcopy-after auto needs --caps postcopy-ram", "migrate",
	      "--to", "127.0.0.1:1", "--caps", "postcopy-bitmaps",
	      "--postcopy-after", "auto");
	USAGE("migrate --postcopy-after seconds:2.50 without caps",
	      "--postcopy-after seconds:2.5 needs --caps postcopy-ram",
	      "migrate", "--postcopy-after", "seconds:2.50", "--to",
	      "127.0.0.1:1");
	USAGE("incoming has no --postcopy-after", "'--postcopy-after'",
	      "incoming", "--listen", ":0", "--postcopy-after", "auto");
	USAGE("status with a bad SESSION", "SESSION: 'x' is not a number",
	      "status", "x");
	USAGE("cancel with two SESSIONs", "unexpected argument '2'", "cancel",
	      "1", "2");

	memset(long_name, 'x', 258);
	memcpy(long_name, "a:", 2);
	long_name[258] = '\0';
	USAGE("migrate --bitmap-map with a 256-byte DST",
	      "destination node name of 256 bytes, longer than 255 bytes",
	      "migrate", "--to", "127.0.0.1:1", "--bitmap-map", long_name);
	USAGE("bitmap without subcommand", "missing subcommand", "bitmap");
	USAGE("bitmap frob", "unknown subcommand 'frob'", "bitmap", "frob");
	USAGE("bitmap --frob", "unknown option '--frob'", "bitmap", "--frob");
	USAGE("bitmap add without NODE", "missing NODE", "bitmap", "add");
	USAGE("bitmap add without NAME", "missing NAME", "bitmap", "add",
	      "vda");
	USAGE("bitmap add: usage hint names the subcommand",
	      "Try 'pcmigd bitmap add --help'", "bitmap", "add", "vda");
	USAGE("bitmap add --granularity 3K",
	      "--granularity: 3K is not a power of two",
	      "bitmap", "add", "vda", "b", "--granularity", "3K");
	USAGE("bitmap add --granularity 256", "256 is out of range",
	      "bitmap", "add", "vda", "b", "--granularity", "256");
	USAGE("bitmap add --granularity 4G", "4G is out of range",
	      "bitmap", "add", "--granularity", "4G", "vda", "b");
	USAGE("bitmap add --granularity 1X", "not a size", "bitmap", "add",
	      "vda", "b", "--granularity", "1X");
	USAGE("bitmap add --granularity without value", "'--granularity'",
	      "bitmap", "add", "vda", "b", "--granularity");
	USAGE("bitmap add with an empty NODE", "NODE: empty name", "bitmap",
	      "add", "", "b");
	memset(long_name, 'x', 256);
	long_name[256] = '\0';
	USAGE("bitmap add with a 256-byte NAME",
	      "NAME: name longer than 255 bytes", "bitmap", "add", "vda",
	      long_name);
	USAGE("bitmap add --frob", "'--frob'", "bitmap", "add", "vda", "b",
	      "--frob");
	USAGE("bitmap remove with three names", "unexpected argument 'c'",
	      "bitmap", "remove", "vda", "b", "c");
	USAGE("bitmap enable --json", "'--json'", "bitmap", "enable", "--json",
	      "vda", "b");
	USAGE("bitmap disable without NAME", "missing NAME", "bitmap",
	      "disable", "vda");
	USAGE("bitmap clear without NODE", "missing NODE", "bitmap", "clear");
	USAGE("bitmap merge without DST", "missing DST", "bitmap", "merge",
	      "vda", "a");
	USAGE("bitmap list with two NODEs", "unexpected argument 'vdb'",
	      "bitmap", "list", "vda", "vdb");
	USAGE("bitmap dump --from -1", "--from: '-1' is not a size", "bitmap",
	      "dump", "vda", "b", "--from", "-1");
	USAGE("bitmap dump without NAME", "missing NAME", "bitmap", "dump",
	      "vda", "--json");

	/* Without the module every command fails the same way (exit 3). */
	RUN(&r, "caps");
	if (r.status == EXIT_ENV)
		tap_ok(strstr(r.err, "pcmig module not loaded (family \"pcmig\" not registered)") != NULL,
		       "caps without the module: exit 3 and says so");
	else
		tap_ok(r.status == 0 && strstr(r.out, "stream version:"),
		       "caps with the module loaded");
	RUN(&r, "bitmap", "list", "--json");
	if (r.status == EXIT_ENV)
		tap_ok(strstr(r.err, "pcmig module not loaded") ||
		       strstr(r.err, "needs CAP_NET_ADMIN"),
		       "bitmap list: exit 3 and says why");
	else
		tap_ok(r.status == 0 && !strncmp(r.out, "{\"bitmaps\":[", 12),
		       "bitmap list --json with the module loaded");
	RUN(&r, "bitmap", "dump", "vda", "b");
	tap_ok(r.status == EXIT_ENV && !r.out[0],
	       "bitmap dump of a missing node: exit 3, nothing on stdout");
	RUN(&r, "status", "--bitmaps", "--json");
	if (r.status == EXIT_ENV)
		tap_ok(strstr(r.err, "pcmig module not loaded") != NULL,
		       "status --bitmaps without the module: exit 3");
	else
		tap_ok(r.status == 0 && !strncmp(r.out, "{\"sessions\":[", 13),
		       "status --bitmaps --json with the module loaded");
	RUN(&r, "migrate", "--to", "127.0.0.1:9");
	tap_ok(r.status == EXIT_ENV || r.status == EXIT_NET,
	       "migrate checks the module before the network (exit %d)",
	       r.status);
	RUN(&r, "migrate", "--to", "127.0.0.1:9", "--postcopy-after", "never");
	tap_ok(r.status == EXIT_ENV || r.status == EXIT_NET,
	       "migrate --postcopy-after never needs no capability (exit %d)",
	       r.status);
	RUN(&r, "migrate", "--to", "127.0.0.1:9", "--vmm", "/nonexistent/vm.sock");
	tap_ok(r.status == EXIT_ENV ||
	       (r.status == EXIT_VMM &&
		strstr(r.err, "--vmm /nonexistent/vm.sock: No such file")),
	       "migrate checks the VMM before the network (exit %d)",
	       r.status);
}
