// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/pcmig.h>

#include "json.h"
#include "tap.h"

void test_json(void)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	struct json j;

	json_init(&j, f);
	json_obj_begin(&j, NULL);
	json_str(&j, "s", "q\"b\\n\nt\tc\001\x7f\xc3\xa9");
	json_u64(&j, "n", 18446744073709551615ULL);
	json_bool(&j, "t", true);
	json_caps(&j, "caps", PCMIG_CAPS_ALL | 1U << 7);
	json_arr_begin(&j, "empty");
	json_arr_end(&j);
	json_obj_begin(&j, "o");
	json_u64(&j, "a", 1);
	json_u64(&j, "b", 2);
	json_obj_end(&j);
	json_obj_end(&j);
	json_done(&j);
	fclose(f);

	const char *want =
		"{\"s\":\"q\\\"b\\\\n\\nt\\tc\\u0001\\u007f\xc3\xa9\","
		"\"n\":18446744073709551615,\"t\":true,"
		"\"caps\":[\"postcopy-ram\",\"postcopy-bitmaps\",\"bit7\"],"
		"\"empty\":[],\"o\":{\"a\":1,\"b\":2}}\n";

	if (!tap_ok(!strcmp(out, want), "json writer: escaping, nesting, commas"))
		tap_diag("got %s", out);
	free(out);
}
