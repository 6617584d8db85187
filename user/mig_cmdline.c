// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>

#include "mig_cmdline.h"
#include "output.h"
#include "pcmigd.h"
#include "vmmctl.h"

/* A shared option, -v or -h: -1 to go on, else the exit status. */
static int shared_option(struct mig_cmdline *cl, int c, char **argv)
{
	char err[256];

	switch (c) {
	case MIG_OPT_CAPS:
		if (parse_caps(optarg, &cl->p->caps, err, sizeof(err)))
			return usage_error(cl->cmd, "--caps: %s", err);
		break;
	case MIG_OPT_TIMEOUT:
		if (parse_u32(optarg, 1, 86400, &cl->timeout_s, err,
			      sizeof(err)))
			return usage_error(cl->cmd, "--timeout: %s", err);
		break;
	case MIG_OPT_BITMAP_MAP:
		if (parse_bitmap_map(optarg, &cl->map, err, sizeof(err)))
			return usage_error(cl->cmd, "--bitmap-map: %s", err);
		cl->p->bitmap_map = &cl->map;
		break;
	case MIG_OPT_VMM:
		if (vmm_check_socket(optarg, err, sizeof(err)))
			return usage_error(cl->cmd, "--vmm: %s", err);
		cl->vmm_path = optarg;
		break;
	case MIG_OPT_JSON:
		cl->m->json = true;
		break;
	case 'v':
		cl->m->verbose = true;
		break;
	case 'h':
		fputs(cl->help, stdout);
		return EXIT_OK;
	default:
		return bad_option(cl->cmd, argv);
	}
	return -1;
}

int mig_getopt(struct mig_cmdline *cl, int argc, char **argv,
	       const struct option *opts)
{
	int c;

	if (!cl->scanning) {
		/* optind 0: glibc starts a fresh scan, whatever parsed before. */
		optind = 0;
		opterr = 0;
		cl->scanning = true;
	}
	cl->status = -1;
	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		if (c >= MIG_OPT_OWN)
			return c;
		cl->status = shared_option(cl, c, argv);
		if (cl->status >= 0)
			return -1;
	}
	if (optind < argc)
		cl->status = usage_error(cl->cmd, "unexpected argument '%s'",
					 argv[optind]);
	return -1;
}

void mig_cmdline_done(const struct mig_cmdline *cl)
{
	out_set_json(cl->m->json);
	if (cl->map.n && !(cl->p->caps & (1U << PCMIG_CAP_POSTCOPY_BITMAPS)))
		error("warning: --bitmap-map has no effect without "
		      "--caps postcopy-bitmaps");
}
