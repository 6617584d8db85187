/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Progress of a running migration: on a terminal one line rewritten in
 * place; otherwise (logs, CI) a line per phase change and at most one
 * progress line per second, so the output stays readable and small.
 */
#ifndef PCMIGD_PROGRESS_H
#define PCMIGD_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "session.h"

#define PROGRESS_INTERVAL_MS 1000
/* Longest progress line (progress_line() cuts what does not fit). */
#define PROGRESS_LINE_MAX 320

struct progress {
	FILE *f;
	bool tty;
	bool quiet;		/* --json: nothing but the final document */
	bool line_open;		/* tty: a line without '\n' is on screen */
	uint32_t phase;		/* last phase printed */
	int64_t last_ms;	/* when the last progress line was printed */
};

void progress_init(struct progress *p, FILE *f, bool tty, bool quiet);

/*
 * "precopy  12.3 MiB sent  85.2 MiB/s  0 B remaining  pass 1", with a VM
 * attached followed by "  ram 64.0 MiB  pages 10240 sent, 1200 zero, 312
 * dirty  dirty rate 1500 pages/s  expected downtime 120 ms" (destination:
 * "pages N received, N zero" and the downtime); ", not converging" and
 * ", stop requested" right after the phase name when they apply.
 */
void progress_line(const struct pcmig_session *s, char *buf, size_t len);

/* Shows s as of now_ms (monotonic) if the rules above allow it. */
void progress_update(struct progress *p, const struct pcmig_session *s,
		     int64_t now_ms);

/* Ends an in-place line so the next output starts on its own line. */
void progress_end(struct progress *p);

/*
 * "migration completed: 1.2 GiB sent in 12.3 s, downtime 120 ms", with a
 * VM attached followed by " (ram 64.0 MiB: 10240 pages sent, 1200 zero,
 * 3 passes[, not converging])", then " (reason: ...)" if there is one.
 */
void progress_summary(const struct pcmig_session *s, char *buf, size_t len);

/*
 * RAM postcopy, for a line after the summary: "postcopy: 120 requests (3
 * duplicate), 340 pages on request, 16000 in the background" (source),
 * "postcopy: 120 requests, 12 faults, latency p50 850 us, p99 2.1 ms, max
 * 3.0 ms" (destination), of the statistics the module sent.
 */
void progress_postcopy(const struct pcmig_session *s, char *buf, size_t len);

/* "postcopy thread 4242: 12 faults, blocked 10.2 ms" */
void progress_pc_thread(const struct session_pc_thread *t, char *buf,
			size_t len);

#endif
