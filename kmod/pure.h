/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Environment for the pure parts of pcmig (stream codec, phase rules):
 * files that include only this header compile both inside the kernel and
 * into the host unit-test and fuzz binaries, so their bugs show up in
 * seconds without booting a VM.
 */
#ifndef _PCMIG_PURE_H
#define _PCMIG_PURE_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/kernel.h>
#include <linux/string.h>
#include <linux/errno.h>
#include <uapi/linux/pcmig.h>
#include "compat.h"
#else
/* Host unit tests and fuzzers: selftests/pcmig/unit/host_shim.h */
#include "host_shim.h"
#endif

#endif /* _PCMIG_PURE_H */
