// SPDX-License-Identifier: GPL-2.0
#include <getopt.h>
#include <stdarg.h>

#include "output.h"
#include "pcmigd.h"

static bool json_mode;

void out_set_json(bool json)
{
	json_mode = json;
}

static FILE *info_stream(void)
{
	return json_mode ? stderr : stdout;
}

void info(const char *fmt, ...)
{
	FILE *f = info_stream();
	va_list ap;

	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	/* Scripts wait for lines like "listening on": never sit in a buffer. */
	fflush(f);
}

void error(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("pcmigd: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("pcmigd: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'pcmigd%s%s --help' for more information.\n",
		cmd ? " " : "", cmd ? cmd : "");
	return EXIT_USAGE;
}

int bad_option(const char *cmd, char **argv)
{
	return usage_error(cmd, "unknown option or missing argument: '%s'",
			   argv[optind - 1]);
}

int simple_options(const char *cmd, const char *help, int argc, char **argv,
		   bool *json)
{
	static const struct option with_json[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", json ? with_json :
					with_json + 1, NULL)) != -1) {
		if (c == 'j' && json) {
			*json = true;
		} else if (c == 'h') {
			fputs(help, stdout);
			return EXIT_OK;
		} else {
			return bad_option(cmd, argv);
		}
	}
	return -1;
}
