// SPDX-License-Identifier: GPL-2.0
/* pcmigd monitor: the "events" multicast group, one line per event. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "follow.h"
#include "json.h"
#include "names.h"
#include "nl.h"
#include "output.h"
#include "pcmigd.h"
#include "progress.h"

static const char help[] =
	"Usage: pcmigd monitor [--json]\n"
	"\n"
	"Print every pcmig event of this network namespace as it comes, one\n"
	"line each, until SIGINT or SIGTERM: phase changes, progress (a few\n"
	"times per second while data moves), stop requests (the source asks\n"
	"the VMM to stop its VM) and destroyed sessions.  Events of\n"
	"all sessions are shown; each line starts with the session id.  If the\n"
	"kernel drops events because pcmigd reads too slowly, a line says so.\n"
	"Needs no privilege.\n"
	"\n"
	"Text lines look like:\n"
	"  session 3 source phase precopy\n"
	"  session 3 source progress precopy  12.3 MiB sent  85.2 MiB/s ...\n"
	"  session 3 source stop-request precopy\n"
	"  session 3 source phase failed: <reason>\n"
	"  session 3 destroyed\n"
	"\n"
	"Options:\n"
	"  --json       one JSON object per line:\n"
	"               {\"event\": \"phase\"|\"progress\"|\"stop-request\"|\"destroyed\",\n"
	"                \"session\": {...same keys as status --json...}}\n"
	"               and {\"event\": \"lost\"} when events were dropped\n"
	"  -h, --help   show this help\n"
	"\n"
	EXIT_STATUS_HELP
	"\n"
	"Example:\n"
	"  pcmigd monitor --json | jq -c 'select(.event == \"phase\")'\n";

static int on_event(struct nl_msg *msg, void *arg)
{
	bool json = *(bool *)arg;
	const char *ev_name;
	struct pcmig_session s;
	char ev_buf[16], line[PROGRESS_LINE_MAX];

	if (session_from_msg(msg, &s))
		return 0;	/* not ours to judge: skip what we cannot read */
	ev_name = event_name(s.event);
	if (!ev_name) {
		snprintf(ev_buf, sizeof(ev_buf), "%u", s.event);
		ev_name = ev_buf;
	}
	if (json) {
		struct json j;

		json_init(&j, stdout);
		json_obj_begin(&j, NULL);
		json_str(&j, "event", ev_name);
		session_json(&j, "session", &s);
		json_obj_end(&j);
		json_done(&j);
		return 0;
	}
	if (s.event == PCMIG_EVENT_DESTROYED) {
		printf("session %u destroyed\n", s.id);
	} else if (s.event == PCMIG_EVENT_PROGRESS) {
		const char *role = role_name(s.role);

		progress_line(&s, line, sizeof(line));
		printf("session %u %s progress %s\n", s.id, role ? role : "?",
		       line);
	} else {
		const char *role = role_name(s.role);
		const char *phase = phase_name(s.phase);

		printf("session %u %s %s %s%s%s\n", s.id, role ? role : "?",
		       ev_name, phase ? phase : "?", s.reason[0] ? ": " : "",
		       s.reason);
	}
	fflush(stdout);
	return 0;
}

int cmd_monitor(int argc, char **argv)
{
	bool json = false;
	struct pcnl ev;
	sigset_t old;
	int ret, sfd;

	ret = simple_options("monitor", help, argc, argv, &json);
	if (ret >= 0)
		return ret;
	if (optind < argc)
		return usage_error("monitor", "unexpected argument '%s'",
				   argv[optind]);

	ret = pcnl_open(&ev, true);
	if (ret)
		return ret;
	sfd = signals_catch(&old);
	if (sfd < 0) {
		error("signalfd: %s", strerror(errno));
		pcnl_close(&ev);
		return EXIT_ENV;
	}
	while (!ret) {
		struct pollfd pfd[2] = {
			{ .fd = pcnl_fd(&ev), .events = POLLIN },
			{ .fd = sfd, .events = POLLIN },
		};

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			error("poll: %s", strerror(errno));
			ret = EXIT_ENV;
			break;
		}
		/* SIGINT/SIGTERM is the normal way to stop monitoring. */
		if (pfd[1].revents & POLLIN)
			break;
		if (pfd[0].revents & POLLIN) {
			int r = pcnl_recv_events(&ev, on_event, &json);

			if (r == -ENOBUFS) {
				if (json)
					printf("{\"event\":\"lost\"}\n");
				else
					printf("events lost (receive buffer overrun)\n");
			} else if (r < 0) {
				ret = pcnl_fail(&ev, "receiving events", r);
			}
		}
	}
	signals_restore(sfd, &old);
	pcnl_close(&ev);
	return ret;
}
