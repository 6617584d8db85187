// SPDX-License-Identifier: GPL-2.0
/* pcmigd incoming: the destination side of a migration. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mig.h"
#include "mig_cmdline.h"
#include "net.h"
#include "output.h"
#include "pcmigd.h"

static const char help[] =
	"Usage: pcmigd incoming --listen ADDR:PORT [--caps LIST]\n"
	"                       [--device-state-out FILE] [--vmm SOCKET]\n"
	"                       [--bitmap-map SRC:DST]... [--timeout SEC] [--json] [-v]\n"
	"\n"
	"Receive a migration sent by 'pcmigd migrate'.  pcmigd listens on\n"
	"ADDR:PORT, accepts one connection and negotiates with the peer: both\n"
	"sides must speak the same stream version, have opposite roles and\n"
	"enable the same capabilities, or the connection is closed before the\n"
	"kernel sees it.  Then it creates a destination session, hands the\n"
	"connection to the pcmig module, starts it and follows it until it\n"
	"completes, fails or is cancelled.  The source's parameters (bandwidth,\n"
	"downtime limit) rule the migration; -v shows them.\n"
	"\n"
	"The session belongs to this pcmigd: if it exits or is killed, the\n"
	"migration is cancelled.  The first SIGINT or SIGTERM cancels the\n"
	"session and waits for it to end; a second one exits at once.\n"
	"Needs CAP_NET_ADMIN.\n"
	"\n"
	"Messages: \"listening on ADDR:PORT\" (with the port actually bound, so\n"
	"PORT may be 0), \"connection from ADDR:PORT\", \"negotiated: caps=...\",\n"
	"\"session N created\", progress, one line per dirty bitmap migrated\n"
	"(\"bitmap NODE/NAME: STATE\", then \" (why)\" or \": why\", e.g. \"bitmap\n"
	"vda/inc1: done (created)\", \"bitmap vda/b: error: granularity\n"
	"differs: ...\"), and the result.  A bitmap that failed does not change\n"
	"the exit status.  With postcopy-ram, before the result, \"postcopy: 120\n"
	"requests, 12 faults, latency p50 850 us, p99 2.1 ms, max 3.0 ms\" and\n"
	"one line per VMM thread that waited for pages, \"postcopy thread TID:\n"
	"12 faults, blocked 10.2 ms\".\n"
	"\n"
	"Options:\n"
	"  --listen ADDR:PORT  where to listen; ':PORT' listens on every local\n"
	"                      address (IPv6 and IPv4); an IPv6 address goes in\n"
	"                      brackets, [ADDR]:PORT\n"
	"  --caps LIST         capabilities to enable, comma-separated:\n"
	"                      postcopy-ram, postcopy-bitmaps (default: none);\n"
	"                      the source must enable the same ones\n"
	"  --device-state-out FILE\n"
	"                      when the migration completed, write the device\n"
	"                      state received to FILE (replaced atomically; not\n"
	"                      touched if the migration fails)\n"
	"  --vmm SOCKET        receive the guest into the VM of the VMM whose\n"
	"                      control socket is SOCKET, started paused with the\n"
	"                      source's layout (pcmig-vmm --incoming --vcpus N\n"
	"                      --mem M --slots K --control SOCKET): pcmigd takes\n"
	"                      its VM fd ('vmfd', then pidfd_getfd: needs ptrace\n"
	"                      access to the VMM, e.g. root) and attaches it to\n"
	"                      the session; the module writes the pages into it.\n"
	"                      Once completed, pcmigd reads the device state\n"
	"                      (DEVSTATE_GET) into a temporary file, sends\n"
	"                      'load-devstate FILE' and 'resume' and says \"VM\n"
	"                      resumed on this host\".  If the migration fails,\n"
	"                      or a step does (exit 6, the error names it with\n"
	"                      the VMM's reply), pcmigd sends 'quit': the VM has\n"
	"                      no complete state.  With RAM postcopy the resume\n"
	"                      comes at the switch to postcopy, before the rest\n"
	"                      of RAM; a failure after it still sends 'quit'\n"
	"                      (the source keeps the stopped guest)\n"
	"  --bitmap-map SRC:DST\n"
	"                      the dirty bitmaps the stream names node SRC go to\n"
	"                      local node DST, like QEMU's block-bitmap-mapping;\n"
	"                      repeat it for each node (at most 64, one to one).\n"
	"                      With a mapping, bitmaps of a node it does not name\n"
	"                      are refused (each reported as an error); without\n"
	"                      one, each goes to the node of the same name.  SRC\n"
	"                      is the name in the stream: the source's node name,\n"
	"                      or what the source's own --bitmap-map made of\n"
	"                      it.  Needs --caps postcopy-bitmaps\n"
	"  --timeout SEC       bound on waiting for the connection and on the\n"
	"                      negotiation (default: wait for a connection\n"
	"                      forever, negotiate for 10 s)\n"
	"  --json              print the final session as one JSON object (keys\n"
	"                      as 'status --json', plus \"bitmaps\": what became\n"
	"                      of each bitmap, \"peer\": the source's hello, and\n"
	"                      with --vmm \"vmm\": what pcmigd did with the VMM);\n"
	"                      with postcopy-ram the session object has\n"
	"                      \"postcopy\", its postcopy statistics (see\n"
	"                      'status --help'); other messages go to stderr\n"
	"  -v, --verbose       show both sides' negotiated parameters\n"
	"  -h, --help          show this help\n"
	"\n"
	EXIT_STATUS_HELP
	"\n"
	"Examples:\n"
	"  pcmigd incoming --listen :4444\n"
	"  pcmigd incoming --listen 127.0.1.2:4444 --caps postcopy-ram \\\n"
	"                  --device-state-out vm.devstate --timeout 60\n"
	"  pcmigd incoming --listen :4444 --vmm /run/vm1.sock\n"
	"  pcmigd incoming --listen :4444 --caps postcopy-bitmaps \\\n"
	"                  --bitmap-map vm0-vda:vm1-vda\n";

enum { OPT_LISTEN = MIG_OPT_OWN, OPT_DEVSTATE_OUT };

/*
 * The device state goes to a temporary file next to FILE, renamed over it
 * only when complete: a VMM never reads a half-written state.  Creating it
 * first also finds an unwritable FILE before any migration runs.
 */
struct out_file {
	const char *path;
	char *tmp;
	int fd;
};

static int out_open(struct out_file *o, const char *path)
{
	o->path = path;
	o->fd = -1;
	if (asprintf(&o->tmp, "%s.pcmigd-XXXXXX", path) < 0) {
		o->tmp = NULL;
		error("out of memory");
		return EXIT_ENV;
	}
	o->fd = mkostemp(o->tmp, O_CLOEXEC);
	if (o->fd < 0) {
		error("--device-state-out %s: %s", path, strerror(errno));
		free(o->tmp);
		o->tmp = NULL;
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

/* Removes the temporary file unless out_commit() renamed it. */
static void out_discard(struct out_file *o)
{
	if (o->fd >= 0)
		close(o->fd);
	if (o->tmp) {
		unlink(o->tmp);
		free(o->tmp);
	}
	o->fd = -1;
	o->tmp = NULL;
}

static int out_commit(struct mig *m, struct out_file *o,
		      const struct pcmig_session *s)
{
	struct devstate_writer w = { .fd = o->fd };
	uint64_t written = 0;
	int ret;

	ret = op_devstate_get(&m->req, s->id, devstate_write_piece, &w,
			      &written);
	if (w.err) {
		error("--device-state-out %s: %s", o->path, strerror(w.err));
		return EXIT_ENV;
	}
	if (ret)
		return pcnl_fail(&m->req, "DEVSTATE_GET", ret);
	/* The dump must hold what the session said it holds. */
	if (SESSION_HAS(s, PCMIG_A_DEVSTATE_SIZE) && written != s->devstate_size) {
		error("DEVSTATE_GET: got %llu bytes of device state, the session holds %llu",
		      (unsigned long long)written,
		      (unsigned long long)s->devstate_size);
		return EXIT_ENV;
	}
	ret = fsync(o->fd) < 0 ? errno : 0;
	if (close(o->fd) < 0 && !ret)
		ret = errno;
	o->fd = -1;
	if (!ret && rename(o->tmp, o->path) < 0)
		ret = errno;
	if (ret) {
		error("--device-state-out %s: %s", o->path, strerror(ret));
		return EXIT_ENV;
	}
	free(o->tmp);
	o->tmp = NULL;
	info("device state: %llu bytes written to %s",
	     (unsigned long long)written, o->path);
	return EXIT_OK;
}

int cmd_incoming(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, OPT_LISTEN },
		{ "device-state-out", required_argument, NULL,
		  OPT_DEVSTATE_OUT },
		MIG_CMDLINE_OPTIONS,
		{ 0 }
	};
	struct session_params p = { .role = PCMIG_ROLE_DESTINATION };
	struct mig m = { 0 };
	struct mig_cmdline cl = {
		.cmd = "incoming", .help = help, .m = &m, .p = &p,
	};
	struct out_file out = { .fd = -1 };
	const char *listen_addr = NULL, *out_path = NULL;
	char err[256], host[256], port[8];
	char bound[NET_ADDRSTRLEN], peer[NET_ADDRSTRLEN];
	int accept_timeout_ms = -1, c, ret, lfd, fd;
	struct pcmig_session s;

	while ((c = mig_getopt(&cl, argc, argv, opts)) != -1) {
		if (c == OPT_LISTEN)
			listen_addr = optarg;
		else	/* OPT_DEVSTATE_OUT */
			out_path = optarg;
	}
	if (cl.status >= 0)
		return cl.status;
	if (!listen_addr)
		return usage_error("incoming",
				   "--listen ADDR:PORT is required");
	if (net_split(listen_addr, host, sizeof(host), port, sizeof(port), err,
		      sizeof(err)))
		return usage_error("incoming", "--listen: %s", err);
	m.timeout_ms = (int)(cl.timeout_s ? cl.timeout_s : MIG_DEFAULT_TIMEOUT_S) *
		       1000;
	if (cl.timeout_s)
		accept_timeout_ms = (int)cl.timeout_s * 1000;
	mig_cmdline_done(&cl);

	if (out_path) {
		ret = out_open(&out, out_path);
		if (ret)
			return ret;
	}
	ret = mig_open(&m, &p, cl.vmm_path);
	if (ret)
		goto out;

	lfd = net_listen(listen_addr, bound, sizeof(bound), err, sizeof(err));
	if (lfd < 0) {
		error("%s", err);
		ret = EXIT_NET;
		goto out;
	}
	info("listening on %s", bound);
	fd = net_accept(lfd, accept_timeout_ms, peer, sizeof(peer), err,
			sizeof(err));
	/* One migration per pcmigd: nobody else may connect meanwhile. */
	close(lfd);
	if (fd < 0) {
		error("%s", err);
		ret = EXIT_NET;
		goto out;
	}
	info("connection from %s", peer);
	ret = mig_run(&m, &p, fd, NULL, 0, &s);
	if (ret)
		goto out;
	if (out_path && s.phase == PCMIG_PHASE_COMPLETED) {
		ret = out_commit(&m, &out, &s);
		if (ret)
			goto out;
	}
	ret = mig_report(&m, &s);
out:
	out_discard(&out);
	mig_close(&m);
	return ret;
}
