/* SPDX-License-Identifier: GPL-2.0 */
/* Messages to the user: errors on stderr, information on stdout. */
#ifndef PCMIGD_OUTPUT_H
#define PCMIGD_OUTPUT_H

#include <stdbool.h>
#include <stdio.h>

/*
 * With --json, stdout carries only the JSON document, so informational
 * lines ("listening on ...") move to stderr.
 */
void out_set_json(bool json);

void info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Usage error: message plus a pointer to --help; returns EXIT_USAGE. */
int usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * For getopt_long()'s '?' (opterr is off so the message names pcmigd and
 * the subcommand): reports argv[optind - 1], returns EXIT_USAGE.
 */
int bad_option(const char *cmd, char **argv);

/*
 * Options of a command that takes only --help and, when @json is not
 * NULL, --json.  Returns -1 to go on (optind at the first positional
 * argument), else the exit status to return (help printed, or usage
 * error).
 */
int simple_options(const char *cmd, const char *help, int argc, char **argv,
		   bool *json);

#endif
