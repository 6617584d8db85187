// SPDX-License-Identifier: GPL-2.0
/* pcmigd migrate: the source side of a migration. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mig.h"
#include "mig_cmdline.h"
#include "net.h"
#include "opts.h"
#include "output.h"
#include "pcmigd.h"
#include "vmmctl.h"

static const char help[] =
	"Usage: pcmigd migrate --to ADDR:PORT [--caps LIST] [--max-bandwidth N]\n"
	"                      [--downtime-limit MS] [--max-postcopy-bandwidth N]\n"
	"                      [--postcopy-after POLICY]\n"
	"                      [--device-state FILE | --vmm SOCKET]\n"
	"                      [--bitmap-map SRC:DST]... [--timeout SEC] [--json] [-v]\n"
	"\n"
	"Migrate to a host where 'pcmigd incoming' waits.  pcmigd connects to\n"
	"ADDR:PORT and negotiates with the peer: both sides must speak the same\n"
	"stream version, have opposite roles and enable the same capabilities,\n"
	"or the connection is closed before the kernel sees it.  Then it creates\n"
	"a source session with the parameters below, uploads the device state,\n"
	"hands the connection to the pcmig module, starts the migration and\n"
	"shows its progress until the session completes, fails or is cancelled.\n"
	"\n"
	"The session belongs to this pcmigd: if it exits or is killed, the\n"
	"migration is cancelled.  The first SIGINT or SIGTERM cancels the\n"
	"session and waits for it to end; a second one exits at once.  While it\n"
	"runs, 'pcmigd start-postcopy' switches it to postcopy (if a postcopy\n"
	"capability is enabled; --postcopy-after lets pcmigd do it) and\n"
	"'pcmigd status' shows its statistics.\n"
	"Needs CAP_NET_ADMIN.\n"
	"\n"
	"Options:\n"
	"  --to ADDR:PORT      the destination; an IPv6 address goes in brackets,\n"
	"                      [ADDR]:PORT; a host name is resolved\n"
	"  --caps LIST         capabilities to enable, comma-separated:\n"
	"                      postcopy-ram, postcopy-bitmaps (default: none);\n"
	"                      the destination must enable the same ones\n"
	"  --max-bandwidth N   precopy bandwidth limit in bytes/s; suffixes K, M,\n"
	"                      G, T are powers of 1024; 0 = unlimited (default:\n"
	"                      the module's)\n"
	"  --downtime-limit MS longest pause of the guest in the stopped phase,\n"
	"                      in ms (default: the module's, 300)\n"
	"  --max-postcopy-bandwidth N\n"
	"                      bandwidth limit of postcopy background pages,\n"
	"                      bytes/s as above\n"
	"  --postcopy-after POLICY\n"
	"                      when pcmigd itself issues start-postcopy, once:\n"
	"                      never (default: only 'pcmigd start-postcopy'\n"
	"                      from another shell switches), passes:N (after N\n"
	"                      complete precopy passes; passes:0 at once),\n"
	"                      seconds:T (T seconds after the start; decimals\n"
	"                      allowed, at most 3, e.g. 2.5) or auto (as soon\n"
	"                      as the module reports the guest not converging).\n"
	"                      Only in the setup or precopy phase, and not if\n"
	"                      start-postcopy was issued already; pcmigd says\n"
	"                      why, e.g. \"switching to postcopy: 3 passes\n"
	"                      done\", \"...: not converging\", \"...: 5 s\n"
	"                      elapsed\".  If the module refuses, a warning,\n"
	"                      and the migration goes on.  Needs --caps\n"
	"                      postcopy-ram\n"
	"  --device-state FILE the VMM's device-state blob, sent before the\n"
	"                      destination CPUs start (at most 16 MiB)\n"
	"  --vmm SOCKET        migrate the running VM of the VMM whose control\n"
	"                      socket is SOCKET (pcmig-vmm --control): pcmigd\n"
	"                      takes its VM fd ('vmfd', then pidfd_getfd: needs\n"
	"                      ptrace access to the VMM, e.g. root) and attaches\n"
	"                      it to the session, so the guest's RAM migrates.\n"
	"                      When the module asks for the stop, pcmigd sends\n"
	"                      'stop', gets the device state ('devstate FILE',\n"
	"                      a temporary file), puts it and acknowledges\n"
	"                      (VM_STOPPED).  At the end: completed -> 'quit'\n"
	"                      (the guest runs on the destination); failed or\n"
	"                      cancelled -> 'resume' if pcmigd had stopped the\n"
	"                      VM, except after the session entered RAM\n"
	"                      postcopy: the guest ran on the destination, so\n"
	"                      the VM is left stopped for recovery (neither\n"
	"                      resumed nor told to quit; exit 1).  If a step\n"
	"                      fails, the error names it with the VMM's reply,\n"
	"                      the session is cancelled and the VM resumed\n"
	"                      (exit 6).  Not with --device-state\n"
	"  --bitmap-map SRC:DST\n"
	"                      migrate the dirty bitmaps of block node SRC (a\n"
	"                      pcmig dm target) under the node name DST, like\n"
	"                      QEMU's block-bitmap-mapping; repeat it for each\n"
	"                      node (at most 64, one to one).  With a mapping,\n"
	"                      only mapped nodes' bitmaps are sent, the others\n"
	"                      are skipped; without one, every node's bitmaps go\n"
	"                      under their own names.  Needs --caps\n"
	"                      postcopy-bitmaps\n"
	"  --timeout SEC       bound on connecting and on the negotiation\n"
	"                      (default: 10)\n"
	"  --json              print the final session as one JSON object (keys\n"
	"                      as 'status --json', plus \"bitmaps\": what became\n"
	"                      of each bitmap, \"peer\": the destination's hello,\n"
	"                      \"postcopy_after\": the policy and whether it\n"
	"                      fired, and with --vmm \"vmm\": what pcmigd did with\n"
	"                      the VMM); with postcopy-ram the session object\n"
	"                      has \"postcopy\", its postcopy statistics (see\n"
	"                      'status --help'); other messages go to stderr\n"
	"  -v, --verbose       show both sides' negotiated parameters\n"
	"  -h, --help          show this help\n"
	"\n"
	"On a terminal the progress is one line updated in place; otherwise one\n"
	"line per phase change and at most one progress line per second.  With\n"
	"a VM attached it shows the guest RAM too, e.g. \"precopy  ...  pass 3\n"
	"ram 64.0 MiB  pages 10240 sent, 1200 zero, 312 dirty  dirty rate 1500\n"
	"pages/s  expected downtime 120 ms\"; \"precopy, not converging  ...\"\n"
	"while the guest dirties memory faster than a pass sends it.\n"
	"At the end, before the summary, one line per dirty bitmap of the\n"
	"migration, e.g. \"bitmap vda/inc1: done\" or \"bitmap vdb/b: skipped:\n"
	"node is not in the bitmap mapping\" (states: pending, done, error,\n"
	"dropped, skipped).  A bitmap that failed does not change the exit status.\n"
	"With postcopy-ram, then \"postcopy: 120 requests (3 duplicate), 340\n"
	"pages on request, 16000 in the background\".\n"
	"\n"
	EXIT_STATUS_HELP
	"\n"
	"Examples:\n"
	"  pcmigd migrate --to 127.0.1.2:4444 --max-bandwidth 100M\n"
	"  pcmigd migrate --to 192.0.2.2:4444 --vmm /run/vm0.sock \\\n"
	"                 --downtime-limit 100\n"
	"  pcmigd migrate --to [::1]:4444 --caps postcopy-ram,postcopy-bitmaps \\\n"
	"                 --device-state vm.devstate --downtime-limit 100 --json\n"
	"  pcmigd migrate --to 192.0.2.2:4444 --vmm /run/vm0.sock \\\n"
	"                 --caps postcopy-ram --postcopy-after passes:2\n"
	"  pcmigd migrate --to 192.0.2.2:4444 --caps postcopy-bitmaps \\\n"
	"                 --bitmap-map vm0-vda:vm1-vda --bitmap-map vm0-vdb:vm1-vdb\n";

enum {
	OPT_TO = MIG_OPT_OWN, OPT_MAX_BW, OPT_DOWNTIME, OPT_MAX_PC_BW,
	OPT_DEVSTATE, OPT_PC_AFTER,
};

/* The whole blob in memory: it is at most PCMIG_DEVSTATE_MAX. */
static int read_devstate(const char *path, void **data, size_t *len)
{
	char err[256];
	int ret = read_devstate_file(path, data, len, err, sizeof(err));

	if (ret == -ENOMEM) {
		error("out of memory");
		return EXIT_ENV;
	}
	if (ret) {
		error("--device-state %s: %s", path, err);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

int cmd_migrate(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "to", required_argument, NULL, OPT_TO },
		{ "max-bandwidth", required_argument, NULL, OPT_MAX_BW },
		{ "downtime-limit", required_argument, NULL, OPT_DOWNTIME },
		{ "max-postcopy-bandwidth", required_argument, NULL,
		  OPT_MAX_PC_BW },
		{ "device-state", required_argument, NULL, OPT_DEVSTATE },
		{ "postcopy-after", required_argument, NULL, OPT_PC_AFTER },
		MIG_CMDLINE_OPTIONS,
		{ 0 }
	};
	struct session_params p = { .role = PCMIG_ROLE_SOURCE };
	struct mig m = { 0 };
	struct mig_cmdline cl = {
		.cmd = "migrate", .help = help, .m = &m, .p = &p,
		.timeout_s = MIG_DEFAULT_TIMEOUT_S,
	};
	const char *to = NULL, *devstate_path = NULL;
	struct pcmig_session s;
	void *devstate = NULL;
	size_t devstate_len = 0;
	char err[256], host[256], port[8];
	int c, ret, fd;

	while ((c = mig_getopt(&cl, argc, argv, opts)) != -1) {
		switch (c) {
		case OPT_TO:
			to = optarg;
			break;
		case OPT_MAX_BW:
			if (parse_size(optarg, &p.max_bandwidth, err,
				       sizeof(err)))
				return usage_error("migrate",
						   "--max-bandwidth: %s", err);
			p.has_max_bandwidth = true;
			break;
		case OPT_DOWNTIME:
			if (parse_u32(optarg, 0, UINT32_MAX, &p.downtime_limit,
				      err, sizeof(err)))
				return usage_error("migrate",
						   "--downtime-limit: %s", err);
			p.has_downtime_limit = true;
			break;
		case OPT_MAX_PC_BW:
			if (parse_size(optarg, &p.max_postcopy_bandwidth, err,
				       sizeof(err)))
				return usage_error("migrate",
						   "--max-postcopy-bandwidth: %s",
						   err);
			p.has_max_postcopy_bandwidth = true;
			break;
		case OPT_DEVSTATE:
			devstate_path = optarg;
			break;
		case OPT_PC_AFTER:
			if (parse_postcopy_after(optarg, &m.pcs.policy, err,
						 sizeof(err)))
				return usage_error("migrate",
						   "--postcopy-after: %s", err);
			break;
		}
	}
	if (cl.status >= 0)
		return cl.status;
	if (!to)
		return usage_error("migrate", "--to ADDR:PORT is required");
	if (cl.vmm_path && devstate_path)
		return usage_error("migrate",
				   "--vmm and --device-state are mutually exclusive: with --vmm the device state comes from the VMM when the VM stops");
	if (m.pcs.policy.when != PC_AFTER_NEVER &&
	    !(p.caps & (1U << PCMIG_CAP_POSTCOPY_RAM)))
		return usage_error("migrate",
				   "--postcopy-after %s needs --caps postcopy-ram (the switch moves the rest of the guest's RAM in postcopy)",
				   postcopy_policy_str(&m.pcs.policy, err,
						       sizeof(err)));
	if (net_split(to, host, sizeof(host), port, sizeof(port), err,
		      sizeof(err)))
		return usage_error("migrate", "--to: %s", err);
	if (!host[0] || !strcmp(port, "0"))
		return usage_error("migrate",
				   "--to: need both an address and a port");
	m.timeout_ms = (int)cl.timeout_s * 1000;
	mig_cmdline_done(&cl);

	/* Everything that can fail locally fails before the peer is bothered. */
	if (devstate_path) {
		ret = read_devstate(devstate_path, &devstate, &devstate_len);
		if (ret)
			return ret;
	}
	ret = mig_open(&m, &p, cl.vmm_path);
	if (ret)
		goto out;

	fd = net_connect(to, m.timeout_ms, err, sizeof(err));
	if (fd < 0) {
		error("%s", err);
		ret = fd == -EINVAL ? EXIT_USAGE : EXIT_NET;
		goto out;
	}
	info("connected to %s", to);
	ret = mig_run(&m, &p, fd, devstate, devstate_len, &s);
	if (!ret)
		ret = mig_report(&m, &s);
out:
	mig_close(&m);
	free(devstate);
	return ret;
}
