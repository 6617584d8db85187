/* SPDX-License-Identifier: GPL-2.0 */
/* Human-readable sizes, rates and durations (binary units, as parse_size). */
#ifndef PCMIGD_UNITS_H
#define PCMIGD_UNITS_H

#include <stddef.h>
#include <stdint.h>

#define UNITS_LEN 32

/* "0 B", "512 B", "12.3 MiB", "1.0 GiB" */
const char *fmt_bytes(uint64_t v, char buf[UNITS_LEN]);
/* "85.2 MiB/s"; "unlimited" for 0 when zero_unlimited */
const char *fmt_rate(uint64_t v, int zero_unlimited, char buf[UNITS_LEN]);
/* "120 ms", "12.3 s", "5m 03s", "2h 01m" */
const char *fmt_ms(uint64_t ms, char buf[UNITS_LEN]);
/* ms as decimal seconds without a unit: "5", "2.5", "0.125" */
const char *fmt_secs(uint64_t ms, char buf[UNITS_LEN]);
/* "850 us", "2.1 ms", then as fmt_ms from 1 s on */
const char *fmt_us(uint64_t us, char buf[UNITS_LEN]);

#endif
