/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A real TCP connection over loopback, for tests that hand one end to a
 * session and play its peer by hand on the other.  Shared by
 * stream_test.c and return_path_test.c.
 */
#ifndef _PCMIG_SELFTEST_TCP_PAIR_H
#define _PCMIG_SELFTEST_TCP_PAIR_H

/* sp[0] the connecting end, sp[1] the accepted one; 0 or -1. */
int tcp_pair(int sp[2]);

#endif /* _PCMIG_SELFTEST_TCP_PAIR_H */
