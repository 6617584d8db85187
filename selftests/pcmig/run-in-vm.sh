#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs pcmig selftest suites inside the test VM (started by scripts/vm-run),
# one after the other, with the kernel checks every suite must pass:
# before each suite pcmig.ko is (re)loaded and a marker is written to the
# kernel log; after it, no pcmig worker may be left, `rmmod pcmig` must
# succeed, and the log since the marker must be free of WARN/BUG/oops/
# lockup/refcount/slab reports (lib/kcheck.sh).  Each check is reported as
# a TAP result of its own, "kernel_clean", under the suite's name.
#
# Usage: run-in-vm.sh SUITE...   (paths relative to the project root)
# Output: for each suite a line "# suite: NAME" followed by TAP.

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=${PCMIG_ROOT:-$(cd "$HERE/../.." && pwd)}
KO=$ROOT/build/$PCMIG_KVER/pcmig.ko
SUITE_TIMEOUT=${PCMIG_SUITE_TIMEOUT:-900}
export PATH=$ROOT/build/user:$PATH

rc=0
for suite in "$@"; do
	echo "# suite: $suite"
	if ! grep -q '^pcmig ' /proc/modules && ! insmod "$KO"; then
		echo "not ok 1 load_module"
		rc=1
		continue
	fi
	marker="pcmig-suite-$(basename "$suite")-$$-$RANDOM"
	echo "$marker" > /dev/kmsg

	timeout -k 10 "$SUITE_TIMEOUT" "$ROOT/$suite"
	src=$?
	[ $src -eq 124 ] && echo "not ok 999 $(basename "$suite") timed out after ${SUITE_TIMEOUT}s"
	[ $src -ne 0 ] && rc=1

	# The suite's own processes are gone; so must be the module's.
	problems=""
	# Workers are named pcmig-src/N, pcmig-dst/N, pcmig-flt/N (postcopy faults)
	# and pcmig-rp/N (postcopy return path): kthreads.
	workers=$(grep -lE '^pcmig-(src|dst|flt|rp)/' /proc/[0-9]*/comm 2>/dev/null | wc -l)
	[ "$workers" -eq 0 ] || problems="$problems $workers pcmig workers left;"
	vmms=$(grep -lx 'pcmig-vmm' /proc/[0-9]*/comm 2>/dev/null | wc -l)
	[ "$vmms" -eq 0 ] || problems="$problems $vmms pcmig-vmm left;"
	if grep -q '^pcmig ' /proc/modules && ! rmmod pcmig; then
		problems="$problems rmmod pcmig failed;"
	fi
	if ! "$HERE/lib/kcheck.sh" "$marker"; then
		problems="$problems kernel log or taint dirty;"
	fi
	if [ -z "$problems" ]; then
		echo "ok 1000 kernel_clean"
	else
		echo "# $problems"
		echo "not ok 1000 kernel_clean"
		rc=1
	fi
done
exit $rc
