// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <string.h>

#include "names.h"
#include "progress.h"
#include "units.h"

void progress_init(struct progress *p, FILE *f, bool tty, bool quiet)
{
	memset(p, 0, sizeof(*p));
	p->f = f;
	p->tty = tty;
	p->quiet = quiet;
	p->last_ms = INT64_MIN / 2;
}

/* snprintf that appends at *used and never runs past len. */
static void add(char *buf, size_t len, size_t *used, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void add(char *buf, size_t len, size_t *used, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*used >= len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *used, len - *used, fmt, ap);
	va_end(ap);
	if (n > 0)
		*used = *used + (size_t)n < len ? *used + (size_t)n : len - 1;
}

static bool is_destination(const struct pcmig_session *s)
{
	return s->role == PCMIG_ROLE_DESTINATION;
}

void progress_line(const struct pcmig_session *s, char *buf, size_t len)
{
	const char *phase = phase_name(s->phase);
	int moved = is_destination(s) ? PCMIG_STAT_BYTES_RECEIVED :
					 PCMIG_STAT_BYTES_SENT;
	char b[UNITS_LEN];
	size_t used = 0;

	buf[0] = '\0';
	add(buf, len, &used, "%s", phase ? phase : "?");
	if (SESSION_HAS_STAT(s, moved))
		add(buf, len, &used, "  %s %s", fmt_bytes(s->stats[moved], b),
		    is_destination(s) ? "received" : "sent");
	if (SESSION_HAS_STAT(s, PCMIG_STAT_BANDWIDTH))
		add(buf, len, &used, "  %s",
		    fmt_rate(s->stats[PCMIG_STAT_BANDWIDTH], 0, b));
	if (SESSION_HAS_STAT(s, PCMIG_STAT_BYTES_REMAINING))
		add(buf, len, &used, "  %s remaining",
		    fmt_bytes(s->stats[PCMIG_STAT_BYTES_REMAINING], b));
	if (SESSION_HAS_STAT(s, PCMIG_STAT_PASSES) && !is_destination(s))
		add(buf, len, &used, "  pass %llu",
		    (unsigned long long)s->stats[PCMIG_STAT_PASSES]);
}

void progress_update(struct progress *p, const struct pcmig_session *s,
		     int64_t now_ms)
{
	bool phase_changed = s->phase != p->phase;
	char line[160];

	if (p->quiet)
		return;
	progress_line(s, line, sizeof(line));
	if (p->tty) {
		/* \033[K clears what a longer previous line left behind. */
		fprintf(p->f, "\r%s\033[K", line);
		p->line_open = true;
	} else if (phase_changed) {
		const char *name = phase_name(s->phase);

		fprintf(p->f, "phase %s\n", name ? name : "?");
	} else if (now_ms - p->last_ms >= PROGRESS_INTERVAL_MS) {
		fprintf(p->f, "%s\n", line);
		p->last_ms = now_ms;
	}
	p->phase = s->phase;
	fflush(p->f);
}

void progress_end(struct progress *p)
{
	if (p->line_open) {
		fputc('\n', p->f);
		fflush(p->f);
		p->line_open = false;
	}
}

void progress_summary(const struct pcmig_session *s, char *buf, size_t len)
{
	const char *phase = phase_name(s->phase);
	int moved = is_destination(s) ? PCMIG_STAT_BYTES_RECEIVED :
					 PCMIG_STAT_BYTES_SENT;
	char b[UNITS_LEN];
	size_t used = 0;

	buf[0] = '\0';
	add(buf, len, &used, "migration %s", phase ? phase : "ended");
	if (SESSION_HAS_STAT(s, moved))
		add(buf, len, &used, ": %s %s", fmt_bytes(s->stats[moved], b),
		    is_destination(s) ? "received" : "sent");
	if (SESSION_HAS_STAT(s, PCMIG_STAT_ELAPSED_MS))
		add(buf, len, &used, " in %s",
		    fmt_ms(s->stats[PCMIG_STAT_ELAPSED_MS], b));
	if (SESSION_HAS_STAT(s, PCMIG_STAT_DOWNTIME_MS) &&
	    s->phase == PCMIG_PHASE_COMPLETED)
		add(buf, len, &used, ", downtime %s",
		    fmt_ms(s->stats[PCMIG_STAT_DOWNTIME_MS], b));
	if (s->reason[0])
		add(buf, len, &used, " (reason: %s)", s->reason);
}
