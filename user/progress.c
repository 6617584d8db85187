// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

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

/* A VM is attached: the session moves guest RAM. */
static bool has_ram(const struct pcmig_session *s)
{
	return SESSION_HAS(s, PCMIG_A_RAM_SIZE) ||
	       SESSION_HAS_STAT(s, PCMIG_STAT_PAGES_SENT);
}

static unsigned long long stat(const struct pcmig_session *s, int i)
{
	return (unsigned long long)s->stats[i];
}

/*
 * Starts buf afresh with prefix and the name of s's phase (unknown for a
 * phase this pcmigd has no name for); returns the count add() goes on
 * with.
 */
static size_t start_line(char *buf, size_t len, const char *prefix,
			 const struct pcmig_session *s, const char *unknown)
{
	const char *phase = phase_name(s->phase);
	size_t used = 0;

	buf[0] = '\0';
	add(buf, len, &used, "%s%s", prefix, phase ? phase : unknown);
	return used;
}

/* What this side does with bytes and pages. */
static const char *sent_or_received(const struct pcmig_session *s)
{
	return is_destination(s) ? "received" : "sent";
}

/* sep, then "12.3 MiB sent" (or "received"), if the module counts them. */
static void add_bytes_moved(char *buf, size_t len, size_t *used,
			    const char *sep, const struct pcmig_session *s)
{
	int i = is_destination(s) ? PCMIG_STAT_BYTES_RECEIVED :
				    PCMIG_STAT_BYTES_SENT;
	char b[UNITS_LEN];

	if (SESSION_HAS_STAT(s, i))
		add(buf, len, used, "%s%s %s", sep, fmt_bytes(s->stats[i], b),
		    sent_or_received(s));
}

/* "  ram 64.0 MiB  pages 10240 sent, 1200 zero, 312 dirty  dirty rate ..." */
static void add_ram(char *buf, size_t len, size_t *used,
		    const struct pcmig_session *s)
{
	bool dst = is_destination(s);
	char b[UNITS_LEN];

	if (SESSION_HAS(s, PCMIG_A_RAM_SIZE))
		add(buf, len, used, "  ram %s", fmt_bytes(s->ram_size, b));
	if (SESSION_HAS_STAT(s, PCMIG_STAT_PAGES_SENT))
		add(buf, len, used, "  pages %llu %s",
		    stat(s, PCMIG_STAT_PAGES_SENT), sent_or_received(s));
	if (SESSION_HAS_STAT(s, PCMIG_STAT_ZERO_PAGES))
		add(buf, len, used, ", %llu zero",
		    stat(s, PCMIG_STAT_ZERO_PAGES));
	if (!dst && SESSION_HAS_STAT(s, PCMIG_STAT_DIRTY_PAGES))
		add(buf, len, used, ", %llu dirty",
		    stat(s, PCMIG_STAT_DIRTY_PAGES));
	if (!dst && SESSION_HAS_STAT(s, PCMIG_STAT_DIRTY_RATE))
		add(buf, len, used, "  dirty rate %llu pages/s",
		    stat(s, PCMIG_STAT_DIRTY_RATE));
	/* Downtime once the guest stopped, the estimate before. */
	if (s->phase != PCMIG_PHASE_SETUP && s->phase != PCMIG_PHASE_PRECOPY &&
	    SESSION_HAS_STAT(s, PCMIG_STAT_DOWNTIME_MS) &&
	    s->stats[PCMIG_STAT_DOWNTIME_MS])
		add(buf, len, used, "  downtime %s",
		    fmt_ms(s->stats[PCMIG_STAT_DOWNTIME_MS], b));
	else if (!dst && s->phase == PCMIG_PHASE_PRECOPY &&
		 SESSION_HAS_STAT(s, PCMIG_STAT_EXPECTED_DOWNTIME_MS))
		add(buf, len, used, "  expected downtime %s",
		    fmt_ms(s->stats[PCMIG_STAT_EXPECTED_DOWNTIME_MS], b));
}

void progress_line(const struct pcmig_session *s, char *buf, size_t len)
{
	size_t used = start_line(buf, len, "", s, "?");
	char b[UNITS_LEN];

	/* First, so a line cut to the terminal's width still shows them. */
	if (session_not_converging(s))
		add(buf, len, &used, ", not converging");
	if (s->stop_requested)
		add(buf, len, &used, ", stop requested");
	add_bytes_moved(buf, len, &used, "  ", s);
	if (SESSION_HAS_STAT(s, PCMIG_STAT_BANDWIDTH))
		add(buf, len, &used, "  %s",
		    fmt_rate(s->stats[PCMIG_STAT_BANDWIDTH], 0, b));
	if (SESSION_HAS_STAT(s, PCMIG_STAT_BYTES_REMAINING))
		add(buf, len, &used, "  %s remaining",
		    fmt_bytes(s->stats[PCMIG_STAT_BYTES_REMAINING], b));
	if (SESSION_HAS_STAT(s, PCMIG_STAT_PASSES) && !is_destination(s))
		add(buf, len, &used, "  pass %llu",
		    (unsigned long long)s->stats[PCMIG_STAT_PASSES]);
	if (has_ram(s))
		add_ram(buf, len, &used, s);
}

/* Columns of the terminal behind f, 0 if unknown. */
static size_t term_cols(FILE *f)
{
	struct winsize ws;
	int fd = fileno(f);

	if (fd < 0 || ioctl(fd, TIOCGWINSZ, &ws) < 0)
		return 0;
	return ws.ws_col;
}

void progress_update(struct progress *p, const struct pcmig_session *s,
		     int64_t now_ms)
{
	bool phase_changed = s->phase != p->phase;
	char line[PROGRESS_LINE_MAX];

	if (p->quiet)
		return;
	progress_line(s, line, sizeof(line));
	if (p->tty) {
		size_t cols = term_cols(p->f);

		/* A line that wraps could not be rewritten in place. */
		if (cols > 1 && strlen(line) >= cols)
			line[cols - 1] = '\0';
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
	size_t used = start_line(buf, len, "migration ", s, "ended");
	char b[UNITS_LEN];

	add_bytes_moved(buf, len, &used, ": ", s);
	if (SESSION_HAS_STAT(s, PCMIG_STAT_ELAPSED_MS))
		add(buf, len, &used, " in %s",
		    fmt_ms(s->stats[PCMIG_STAT_ELAPSED_MS], b));
	if (SESSION_HAS_STAT(s, PCMIG_STAT_DOWNTIME_MS) &&
	    s->phase == PCMIG_PHASE_COMPLETED)
		add(buf, len, &used, ", downtime %s",
		    fmt_ms(s->stats[PCMIG_STAT_DOWNTIME_MS], b));
	if (has_ram(s)) {
		add(buf, len, &used, " (ram %s",
		    SESSION_HAS(s, PCMIG_A_RAM_SIZE) ?
		    fmt_bytes(s->ram_size, b) : "?");
		if (SESSION_HAS_STAT(s, PCMIG_STAT_PAGES_SENT))
			add(buf, len, &used, ": %llu pages %s, %llu zero",
			    stat(s, PCMIG_STAT_PAGES_SENT), sent_or_received(s),
			    stat(s, PCMIG_STAT_ZERO_PAGES));
		if (!is_destination(s) &&
		    SESSION_HAS_STAT(s, PCMIG_STAT_PASSES))
			add(buf, len, &used, ", %llu pass%s",
			    stat(s, PCMIG_STAT_PASSES),
			    stat(s, PCMIG_STAT_PASSES) == 1 ? "" : "es");
		if (session_not_converging(s))
			add(buf, len, &used, ", not converging");
		add(buf, len, &used, ")");
	}
	if (s->reason[0])
		add(buf, len, &used, " (reason: %s)", s->reason);
}

void progress_postcopy(const struct pcmig_session *s, char *buf, size_t len)
{
	char lat[SESSION_PC_LATENCY_LEN];
	const char *sep = " ";
	size_t used = 0;

	buf[0] = '\0';
	add(buf, len, &used, "postcopy:");
	if (SESSION_HAS_STAT(s, PCMIG_STAT_PC_REQUESTS)) {
		add(buf, len, &used, "%s%llu request%s", sep,
		    stat(s, PCMIG_STAT_PC_REQUESTS),
		    stat(s, PCMIG_STAT_PC_REQUESTS) == 1 ? "" : "s");
		if (SESSION_HAS_STAT(s, PCMIG_STAT_PC_DUP_REQUESTS))
			add(buf, len, &used, " (%llu duplicate)",
			    stat(s, PCMIG_STAT_PC_DUP_REQUESTS));
		sep = ", ";
	}
	if (SESSION_HAS_STAT(s, PCMIG_STAT_PC_PAGES_REQUESTED)) {
		add(buf, len, &used, "%s%llu pages on request", sep,
		    stat(s, PCMIG_STAT_PC_PAGES_REQUESTED));
		sep = ", ";
	}
	if (SESSION_HAS_STAT(s, PCMIG_STAT_PC_PAGES_BACKGROUND)) {
		add(buf, len, &used, "%s%llu in the background", sep,
		    stat(s, PCMIG_STAT_PC_PAGES_BACKGROUND));
		sep = ", ";
	}
	if (SESSION_HAS_STAT(s, PCMIG_STAT_PC_FAULTS)) {
		add(buf, len, &used, "%s%llu fault%s", sep,
		    stat(s, PCMIG_STAT_PC_FAULTS),
		    stat(s, PCMIG_STAT_PC_FAULTS) == 1 ? "" : "s");
		sep = ", ";
	}
	if (session_pc_latency(s, lat, sizeof(lat)))
		add(buf, len, &used, "%slatency %s", sep, lat);
	else if (!strcmp(sep, " "))
		add(buf, len, &used, " no statistics");
}

void progress_pc_thread(const struct session_pc_thread *t, char *buf,
			size_t len)
{
	char b[UNITS_LEN];

	snprintf(buf, len, "postcopy thread %u%s%s%s: %llu fault%s, blocked %s",
		 (unsigned int)t->tid, *t->name ? " (" : "", t->name,
		 *t->name ? ")" : "", (unsigned long long)t->faults,
		 t->faults == 1 ? "" : "s", fmt_us(t->blocked_us, b));
}
