// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "progress.h"
#include "tap.h"
#include "units.h"

static void str_eq(const char *got, const char *want, const char *what)
{
	if (!tap_ok(!strcmp(got, want), "%s = \"%s\"", what, want))
		tap_diag("got \"%s\"", got);
}

static struct pcmig_session source(uint32_t phase)
{
	struct pcmig_session s = {
		.id = 3, .role = PCMIG_ROLE_SOURCE, .phase = phase,
		.has = 1U << PCMIG_A_SESSION_ID | 1U << PCMIG_A_ROLE |
		       1U << PCMIG_A_PHASE | 1U << PCMIG_A_STATS,
		.stats_has = 1U << PCMIG_STAT_BYTES_SENT |
			     1U << PCMIG_STAT_BANDWIDTH |
			     1U << PCMIG_STAT_BYTES_REMAINING |
			     1U << PCMIG_STAT_PASSES |
			     1U << PCMIG_STAT_ELAPSED_MS |
			     1U << PCMIG_STAT_DOWNTIME_MS,
	};

	s.stats[PCMIG_STAT_BYTES_SENT] = 12897485;	/* 12.3 MiB */
	s.stats[PCMIG_STAT_BANDWIDTH] = 89338675;	/* 85.2 MiB/s */
	s.stats[PCMIG_STAT_PASSES] = 1;
	s.stats[PCMIG_STAT_ELAPSED_MS] = 12345;
	s.stats[PCMIG_STAT_DOWNTIME_MS] = 120;
	return s;
}

static int count(const char *s, const char *what)
{
	int n = 0;

	for (s = strstr(s, what); s; s = strstr(s + 1, what))
		n++;
	return n;
}

void test_progress(void)
{
	struct pcmig_session s = source(PCMIG_PHASE_PRECOPY);
	struct progress p;
	char b[UNITS_LEN], line[200], *out;
	size_t len;
	FILE *f;

	str_eq(fmt_bytes(0, b), "0 B", "fmt_bytes(0)");
	str_eq(fmt_bytes(1023, b), "1023 B", "fmt_bytes(1023)");
	str_eq(fmt_bytes(1024, b), "1.0 KiB", "fmt_bytes(1024)");
	str_eq(fmt_bytes(12897485, b), "12.3 MiB", "fmt_bytes(12.3 MiB)");
	str_eq(fmt_bytes(UINT64_MAX, b), "16.0 EiB", "fmt_bytes(max)");
	str_eq(fmt_rate(0, 1, b), "unlimited", "fmt_rate(0, unlimited)");
	str_eq(fmt_rate(0, 0, b), "0 B/s", "fmt_rate(0)");
	str_eq(fmt_ms(120, b), "120 ms", "fmt_ms(120)");
	str_eq(fmt_ms(12345, b), "12.3 s", "fmt_ms(12345)");
	str_eq(fmt_ms(303000, b), "5m 03s", "fmt_ms(5 min)");
	str_eq(fmt_ms(7260000, b), "2h 01m", "fmt_ms(2 h)");

	progress_line(&s, line, sizeof(line));
	str_eq(line, "precopy  12.3 MiB sent  85.2 MiB/s  0 B remaining  pass 1",
	       "progress line");
	s.role = PCMIG_ROLE_DESTINATION;
	s.stats_has = 1U << PCMIG_STAT_BYTES_RECEIVED;
	s.stats[PCMIG_STAT_BYTES_RECEIVED] = 2048;
	progress_line(&s, line, sizeof(line));
	str_eq(line, "precopy  2.0 KiB received", "destination progress line");
	progress_line(&s, line, 5);
	tap_ok(strlen(line) == 4, "progress line truncates safely");

	/* Not a terminal: phase lines, at most one progress line a second. */
	f = open_memstream(&out, &len);
	progress_init(&p, f, false, false);
	s = source(PCMIG_PHASE_PRECOPY);
	progress_update(&p, &s, 1000);		/* phase line */
	progress_update(&p, &s, 1100);		/* first progress line */
	progress_update(&p, &s, 1500);		/* too soon */
	progress_update(&p, &s, 2099);		/* too soon */
	progress_update(&p, &s, 2100);		/* a second later */
	s.phase = PCMIG_PHASE_STOPPED;
	progress_update(&p, &s, 2200);		/* phase line */
	progress_end(&p);
	fclose(f);
	tap_ok(count(out, "phase precopy\n") == 1 &&
	       count(out, "phase stopped\n") == 1 &&
	       count(out, "MiB sent") == 2 && !strchr(out, '\r'),
	       "non-terminal progress is rate-limited");
	free(out);

	f = open_memstream(&out, &len);
	progress_init(&p, f, true, false);
	progress_update(&p, &s, 0);
	progress_update(&p, &s, 1);
	progress_end(&p);
	fclose(f);
	tap_ok(count(out, "\r") == 2 && count(out, "\033[K") == 2 &&
	       out[len - 1] == '\n', "terminal progress rewrites one line");
	free(out);

	f = open_memstream(&out, &len);
	progress_init(&p, f, true, true);
	progress_update(&p, &s, 0);
	progress_end(&p);
	fclose(f);
	tap_ok(len == 0, "quiet progress (--json) prints nothing");
	free(out);

	s = source(PCMIG_PHASE_COMPLETED);
	progress_summary(&s, line, sizeof(line));
	str_eq(line, "migration completed: 12.3 MiB sent in 12.3 s, downtime 120 ms",
	       "completed summary");
	s.phase = PCMIG_PHASE_FAILED;
	strcpy(s.reason, "peer closed the connection");
	progress_summary(&s, line, sizeof(line));
	str_eq(line, "migration failed: 12.3 MiB sent in 12.3 s (reason: peer closed the connection)",
	       "failed summary");
}
