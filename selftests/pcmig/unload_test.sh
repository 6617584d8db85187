#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Module unload with live sessions: rmmod pcmig in the middle of a
# migration must succeed, both pcmigd must report the failure, and the
# module must load and work again.  Also: pcmigd's message when the module
# is not loaded.

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=lib/tap.sh
. "$HERE/lib/tap.sh"
# shellcheck source=lib/netns.sh
. "$HERE/lib/netns.sh"

KO=$ROOT/build/$PCMIG_KVER/pcmig.ko
WORK=$(mktemp -d)
trap 'pkill -9 -x pcmigd; netns_down; rm -rf "$WORK"; grep -q "^pcmig " /proc/modules || insmod "$KO"' EXIT

t_rmmod_mid_migration() {
	local src dst rc_src rc_dst
	head -c $((8 << 20)) /dev/urandom >"$WORK/state"
	in_dst pcmigd incoming --listen "$ADDR_DST:4444" >"$WORK/dst" 2>&1 &
	dst=$!
	sleep 0.5
	in_src pcmigd migrate --to "$ADDR_DST:4444" --max-bandwidth 1M \
		--device-state "$WORK/state" >"$WORK/src" 2>&1 &
	src=$!
	for _ in $(seq 100); do
		in_dst pcmigd status | grep -q stopped && break
		sleep 0.1
	done
	rmmod pcmig || { echo "rmmod failed"; return 1; }
	wait $src
	rc_src=$?
	wait $dst
	rc_dst=$?
	echo "--- source"; cat "$WORK/src"
	echo "--- destination"; cat "$WORK/dst"
	[ $rc_src -ne 0 ] && [ $rc_dst -ne 0 ] ||
		{ echo "pcmigd exits src=$rc_src dst=$rc_dst, want failures"; return 1; }
	! grep -q '^pcmig-' /proc/[0-9]*/comm 2>/dev/null
}

t_not_loaded_message() {
	local rc
	pcmigd caps >"$WORK/nl" 2>&1
	rc=$?
	cat "$WORK/nl"
	[ $rc -eq 3 ] && grep -qi "not loaded" "$WORK/nl"
}

t_reload_works() {
	insmod "$KO" && pcmigd caps >/dev/null
}

netns_up || { echo "Bail out! cannot set up the namespaces"; exit 1; }
tap_plan 3
tap_run rmmod_mid_migration t_rmmod_mid_migration
tap_run not_loaded_message t_not_loaded_message
tap_run reload_works t_reload_works
tap_exit
