// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of pcmigd: everything that runs without the pcmig module
 * (codecs, parsers, rendering, negotiation over real sockets, the CLI).
 * Usage: pcmigd-tests PATH-TO-PCMIGD
 */
#include <signal.h>
#include <stdio.h>

#include "tap.h"

const char *tap_pcmigd;

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s PATH-TO-PCMIGD\n", argv[0]);
		return 2;
	}
	tap_pcmigd = argv[1];
	signal(SIGPIPE, SIG_IGN);
	test_opts();
	test_hello();
	test_json();
	test_progress();
	test_nl();
	test_net();
	test_negotiate();
	test_bitmap();
	test_vmm();
	test_postcopy();
	test_cli();
	return tap_finish();
}
