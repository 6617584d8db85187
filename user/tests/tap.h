/* SPDX-License-Identifier: GPL-2.0 */
/* Minimal TAP output for pcmigd's host unit tests. */
#ifndef PCMIGD_TAP_H
#define PCMIGD_TAP_H

#include <stdbool.h>

/* Prints "ok N - name" or "not ok N - name"; returns cond. */
bool tap_ok(bool cond, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Extra detail for the previous failure, as a TAP comment. */
void tap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "# N passed, N failed"; the process exit status. */
int tap_finish(void);

/* Path of the pcmigd binary under test (argv[1] of the runner). */
extern const char *tap_pcmigd;

void test_hello(void);
void test_negotiate(void);
void test_opts(void);
void test_net(void);
void test_json(void);
void test_progress(void);
void test_nl(void);
void test_cli(void);
void test_bitmap(void);
void test_vmm(void);
void test_postcopy(void);

#endif
