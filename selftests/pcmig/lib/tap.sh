# SPDX-License-Identifier: GPL-2.0
# TAP output for the shell suites, in the format the kselftest harness
# prints, so scripts/test-all counts both the same way.

TAP_N=0
TAP_FAILED=0

tap_plan() { echo "TAP version 13"; echo "1..$1"; }

tap_ok() {
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N $1"
}

tap_fail() {
	TAP_N=$((TAP_N + 1))
	TAP_FAILED=$((TAP_FAILED + 1))
	echo "not ok $TAP_N $1"
}

tap_skip() {
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N $1 # SKIP $2"
}

# Run one test function; its output is shown as TAP comments.
tap_run() {
	local name=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	[ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/# /'
	if [ $rc -eq 0 ]; then tap_ok "$name"; else tap_fail "$name"; fi
}

tap_exit() { [ "$TAP_FAILED" -eq 0 ]; exit; }
