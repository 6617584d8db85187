// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bitmap.h"
#include "follow.h"
#include "json.h"
#include "mig.h"
#include "names.h"
#include "negotiate.h"
#include "net.h"
#include "output.h"
#include "pcmigd.h"
#include "units.h"

int mig_open(struct mig *m, const struct session_params *p,
	     const char *vmm_path)
{
	uint32_t unsupported;
	char caps[128];
	int ret;

	ret = pcnl_open(&m->req, false);
	if (ret)
		return ret;
	ret = op_get_info(&m->req, &m->info);
	if (ret)
		return pcnl_fail(&m->req, "GET_INFO", ret);
	/* Refuse here, before a peer is involved, what the module lacks. */
	unsupported = p->caps & ~m->info.caps_supported;
	if (unsupported) {
		caps_format(unsupported, caps, sizeof(caps));
		error("capability %s not supported by the loaded pcmig module",
		      caps);
		return EXIT_ENV;
	}
	m->local = (struct hello){
		.version = HELLO_VERSION,
		.stream_version = m->info.stream_version,
		.role = p->role,
		.caps = p->caps,
		.max_bandwidth = p->max_bandwidth,
		.downtime_limit = p->has_downtime_limit ? p->downtime_limit : 0,
		.max_postcopy_bandwidth = p->max_postcopy_bandwidth,
	};
	progress_init(&m->progress, stdout, isatty(STDOUT_FILENO), m->json);
	if (!vmm_path)
		return EXIT_OK;
	/* Set before opening: mig_close() closes what a failure left open. */
	m->vmm = &m->bridge;
	return bridge_open(m->vmm, vmm_path, p->role);
}

void mig_close(struct mig *m)
{
	if (m->vmm)
		bridge_close(m->vmm);
	if (m->ev_open)
		pcnl_close(&m->ev);
	pcnl_close(&m->req);
}

static void print_params(const char *who, const struct hello *h)
{
	char caps[128], b1[UNITS_LEN], b2[UNITS_LEN];

	caps_format(h->caps, caps, sizeof(caps));
	info("%s: %s, stream version %u, caps=%s, max-bandwidth %s, "
	     "downtime-limit %u ms%s, max-postcopy-bandwidth %s",
	     who, role_name(h->role) ? role_name(h->role) : "?",
	     h->stream_version, caps, fmt_rate(h->max_bandwidth, 1, b1),
	     h->downtime_limit, h->downtime_limit ? "" : " (module default)",
	     fmt_rate(h->max_postcopy_bandwidth, 1, b2));
}

/* Runs the negotiation on fd and prints its outcome.  Exit code. */
static int mig_negotiate(struct mig *m, int fd)
{
	char caps[128];
	struct nego n;
	int ret;

	ret = negotiate(fd, &m->local, m->timeout_ms, &n);
	for (int i = 0; i < n.nmsg; i++)
		error("%s", n.msg[i]);
	if (ret)
		return ret;
	m->peer = n.peer;
	caps_format(m->local.caps, caps, sizeof(caps));
	info("negotiated: caps=%s", caps);
	if (m->verbose) {
		print_params("local", &m->local);
		print_params("peer", &m->peer);
	}
	return EXIT_OK;
}

/* follow_hooks.watch: the bridge's record of caps, the postcopy policy. */
static void watch(void *arg, struct pcnl *req, const struct pcmig_session *s,
		  struct follow_news *news)
{
	struct mig *m = arg;

	if (m->vmm)
		bridge_watch(m->vmm, s, news);
	pc_switch_watch(&m->pcs, &m->progress, req, s, news);
}

int mig_run(struct mig *m, const struct session_params *p, int fd,
	    const void *devstate, size_t devstate_len,
	    struct pcmig_session *s)
{
	struct follow_hooks hooks = { .watch = watch, .watch_arg = m };
	uint32_t id;
	int ret;

	ret = mig_negotiate(m, fd);
	if (ret)
		goto out_close;
	/* Subscribe before the session exists so no event is missed. */
	ret = pcnl_open(&m->ev, true);
	if (ret)
		goto out_close;
	m->ev_open = true;

	ret = op_session_new(&m->req, p, s);
	if (ret) {
		ret = pcnl_fail(&m->req, "SESSION_NEW", ret);
		goto out_close;
	}
	id = s->id;
	info("session %u created (%s)", id, role_name(p->role));

	if (m->vmm) {
		ret = bridge_attach(m->vmm, &m->req, id);
		if (ret)
			goto out_close;
	}

	if (devstate_len) {
		ret = op_devstate_put(&m->req, id, devstate, devstate_len);
		if (ret) {
			ret = pcnl_fail(&m->req, "DEVSTATE_PUT", ret);
			goto out_close;
		}
	}
	ret = op_sock_attach(&m->req, id, fd);
	/* Attached or not, our copy of the socket has no further use. */
	close(fd);
	fd = -1;
	if (ret)
		return pcnl_fail(&m->req, "SOCK_ATTACH", ret);
	/*
	 * A policy due at once (passes:0, seconds:0) asks before the start,
	 * so the very first decision (rule S2) already sees the request.
	 */
	{
		struct follow_news news = {
			.now_ms = now_ms(),
			.wake_ms = INT64_MAX,
		};

		m->pcs.start_ms = news.now_ms;
		s->phase = PCMIG_PHASE_SETUP;
		pc_switch_watch(&m->pcs, &m->progress, &m->req, s, &news);
	}
	ret = op_session_cmd(&m->req, PCMIG_CMD_START, id);
	if (ret)
		return pcnl_fail(&m->req, "START", ret);
	if (m->vmm) {
		hooks.stop_request = bridge_stop_request;
		hooks.resume_request = bridge_resume_request;
		hooks.arg = m->vmm;
	}
	ret = follow_session(&m->req, &m->ev, id, &m->progress, s, &hooks);
	if (m->vmm) {
		bridge_end(m->vmm, &m->req, ret ? NULL : s);
		/* Not followed to the end: a VMM failure still says more. */
		if (ret && m->vmm->exit_code)
			ret = m->vmm->exit_code;
	}
	return ret;

out_close:
	close(fd);
	return ret;
}

static void peer_json(struct json *j, const struct hello *h)
{
	json_obj_begin(j, "peer");
	json_str(j, "role", role_name(h->role) ? role_name(h->role) : "?");
	json_u64(j, "stream_version", h->stream_version);
	json_caps(j, "caps", h->caps);
	json_u64(j, "max_bandwidth", h->max_bandwidth);
	json_u64(j, "downtime_limit", h->downtime_limit);
	json_u64(j, "max_postcopy_bandwidth", h->max_postcopy_bandwidth);
	json_obj_end(j);
}

/*
 * What became of each dirty bitmap (SESSION_BITMAPS).  The session still
 * exists: it lives as long as m->req.  false when the report could not be
 * read (said on stderr, except for a module without the request, which
 * has no bitmaps to report); the outcome of the migration stands.
 */
static bool get_bitmaps(struct mig *m, uint32_t id,
			struct pcmig_session_bitmap **v, size_t *n)
{
	int ret = op_session_bitmaps(&m->req, id, v, n);

	if (!ret)
		return true;
	*v = NULL;
	*n = 0;
	if (ret != -EOPNOTSUPP)
		pcnl_fail(&m->req, "SESSION_BITMAPS (bitmap report)", ret);
	return false;
}

/* With postcopy-ram: "postcopy: ..." and a line per thread that waited. */
static void postcopy_lines(const struct pcmig_session *s)
{
	char line[PROGRESS_LINE_MAX];

	progress_postcopy(s, line, sizeof(line));
	info("%s", line);
	for (uint32_t i = 0; i < s->pc_threads; i++) {
		progress_pc_thread(&s->pc_thread[i], line, sizeof(line));
		info("%s", line);
	}
	if (s->pc_threads_total > s->pc_threads)
		info("postcopy threads: %u more, not shown",
		     (unsigned int)(s->pc_threads_total - s->pc_threads));
}

int mig_report(struct mig *m, const struct pcmig_session *s)
{
	int ret = s->phase == PCMIG_PHASE_COMPLETED ? EXIT_OK : EXIT_MIGRATION;
	bool source = m->local.role == PCMIG_ROLE_SOURCE;
	char line[SESSION_BITMAP_LINE_MAX];
	struct pcmig_session_bitmap *bm;
	size_t nbm;
	bool have_bm;

	/* A failed bitmap is reported, not an exit status: see pcmigd.rst. */
	have_bm = get_bitmaps(m, s->id, &bm, &nbm);
	if (m->json) {
		struct json j;

		/* The session object as status prints it, plus the peer. */
		json_init(&j, stdout);
		json_obj_begin(&j, NULL);
		session_json_members(&j, s);
		if (have_bm)
			session_bitmaps_json(&j, "bitmaps", bm, nbm);
		peer_json(&j, &m->peer);
		if (source)
			pc_switch_json(&m->pcs, &j);
		if (m->vmm)
			bridge_json(m->vmm, &j);
		json_obj_end(&j);
		json_done(&j);
	} else {
		for (size_t i = 0; i < nbm; i++) {
			session_bitmap_line(&bm[i], line, sizeof(line));
			info("%s", line);
		}
		if (m->local.caps & (1U << PCMIG_CAP_POSTCOPY_RAM))
			postcopy_lines(s);
	}
	free(bm);
	progress_summary(s, line, sizeof(line));
	if (ret)
		error("%s", line);
	else
		info("%s", line);
	if (m->vmm && m->vmm->exit_code)
		ret = m->vmm->exit_code;
	return ret;
}
