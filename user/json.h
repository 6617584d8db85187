/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Minimal streaming JSON writer: enough for pcmigd's objects, with correct
 * string escaping (reasons and peer messages are arbitrary bytes).
 */
#ifndef PCMIGD_JSON_H
#define PCMIGD_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 8

struct json {
	FILE *f;
	int depth;
	bool need_comma[JSON_MAX_DEPTH];
};

void json_init(struct json *j, FILE *f);

/* key is the member name inside an object, NULL inside an array/at top. */
void json_obj_begin(struct json *j, const char *key);
void json_obj_end(struct json *j);
void json_arr_begin(struct json *j, const char *key);
void json_arr_end(struct json *j);
void json_str(struct json *j, const char *key, const char *v);
void json_u64(struct json *j, const char *key, uint64_t v);
void json_bool(struct json *j, const char *key, bool v);
/* Capability mask as an array of names. */
void json_caps(struct json *j, const char *key, uint32_t caps);

/* Ends a top-level document with a newline and flushes it. */
void json_done(struct json *j);

#endif
