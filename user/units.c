// SPDX-License-Identifier: GPL-2.0
#include <inttypes.h>
#include <stdio.h>

#include "units.h"

const char *fmt_bytes(uint64_t v, char buf[UNITS_LEN])
{
	static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB",
					    "PiB", "EiB" };
	unsigned int i = 0;
	double d;

	if (v < 1024) {
		snprintf(buf, UNITS_LEN, "%" PRIu64 " B", v);
		return buf;
	}
	d = (double)v / 1024;
	while (d >= 1024 && i + 1 < sizeof(unit) / sizeof(unit[0])) {
		d /= 1024;
		i++;
	}
	snprintf(buf, UNITS_LEN, "%.1f %s", d, unit[i]);
	return buf;
}

const char *fmt_rate(uint64_t v, int zero_unlimited, char buf[UNITS_LEN])
{
	char b[UNITS_LEN];

	if (!v && zero_unlimited)
		snprintf(buf, UNITS_LEN, "unlimited");
	else
		snprintf(buf, UNITS_LEN, "%s/s", fmt_bytes(v, b));
	return buf;
}

const char *fmt_ms(uint64_t ms, char buf[UNITS_LEN])
{
	uint64_t s = ms / 1000;

	if (ms < 1000)
		snprintf(buf, UNITS_LEN, "%" PRIu64 " ms", ms);
	else if (s < 60)
		snprintf(buf, UNITS_LEN, "%.1f s", (double)ms / 1000);
	else if (s < 3600)
		snprintf(buf, UNITS_LEN, "%" PRIu64 "m %02" PRIu64 "s", s / 60,
			 s % 60);
	else
		snprintf(buf, UNITS_LEN, "%" PRIu64 "h %02" PRIu64 "m",
			 s / 3600, s / 60 % 60);
	return buf;
}

const char *fmt_us(uint64_t us, char buf[UNITS_LEN])
{
	if (us < 1000)
		snprintf(buf, UNITS_LEN, "%" PRIu64 " us", us);
	else if (us < 1000000)
		snprintf(buf, UNITS_LEN, "%.1f ms", (double)us / 1000);
	else
		fmt_ms(us / 1000, buf);
	return buf;
}

const char *fmt_secs(uint64_t ms, char buf[UNITS_LEN])
{
	int n = snprintf(buf, UNITS_LEN, "%" PRIu64 ".%03u", ms / 1000,
			 (unsigned int)(ms % 1000));

	/* Trailing zeros go, and the point with them. */
	while (n > 0 && buf[n - 1] == '0')
		buf[--n] = '\0';
	if (n > 0 && buf[n - 1] == '.')
		buf[--n] = '\0';
	return buf;
}
