#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# pcmigd end to end between two network namespaces joined by a veth pair
# (lib/netns.sh): negotiation, a complete migration of the device state
# over real TCP, each way negotiation refuses, and the faults a user
# causes: killing either pcmigd, cancel, start-postcopy, status, monitor.

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib/tap.sh
. "$HERE/lib/tap.sh"
# shellcheck source=lib/netns.sh
. "$HERE/lib/netns.sh"
# shellcheck source=lib/mig.sh
. "$HERE/lib/mig.sh"

PORT=4444
WORK=$(mktemp -d)
trap 'kill_all; netns_down; rm -rf "$WORK"' EXIT

t_caps() {
	pcmigd caps >"$WORK/caps" 2>&1 || { show caps; return 1; }
	grep -q postcopy-ram "$WORK/caps" && grep -q postcopy-bitmaps "$WORK/caps"
}

t_help_and_usage() {
	pcmigd --help | grep -q incoming || return 1
	pcmigd migrate --help | grep -q -- --to || return 1
	pcmigd no-such-command >/dev/null 2>&1
	[ $? -eq 2 ] || { echo "unknown command: want exit 2"; return 1; }
	pcmigd migrate --to nowhere >/dev/null 2>&1
	[ $? -eq 2 ] || { echo "bad address: want exit 2"; return 1; }
	pcmigd migrate --to "$ADDR_DST:$PORT" --caps postcopy-nonsense >/dev/null 2>&1
	[ $? -eq 2 ] || { echo "bad capability: want exit 2"; return 1; }
}

t_migration_completes() {
	local rc
	blob state $((5 << 20))
	start_incoming ok --caps postcopy-bitmaps --device-state-out "$WORK/got" || return 1
	in_src pcmigd migrate --to "$ADDR_DST:$PORT" --caps postcopy-bitmaps \
		--device-state "$WORK/state" >"$WORK/ok.src" 2>&1
	rc=$?
	wait_dst
	show ok.src
	show ok.dst
	[ $rc -eq 0 ] && [ $DST_RC -eq 0 ] || { echo "exit src=$rc dst=$DST_RC"; return 1; }
	cmp "$WORK/state" "$WORK/got" || return 1
	grep -qi completed "$WORK/ok.src" && grep -qi completed "$WORK/ok.dst"
	no_sessions
}

t_json_result() {
	local rc
	blob state 4096
	start_incoming json --json || return 1
	in_src pcmigd migrate --to "$ADDR_DST:$PORT" --json \
		--device-state "$WORK/state" >"$WORK/json.src" 2>&1
	rc=$?
	wait_dst
	show json.src
	[ $rc -eq 0 ] && [ $DST_RC -eq 0 ] || return 1
	grep -q '"phase": *"completed"' "$WORK/json.src" &&
		grep -q '"phase": *"completed"' "$WORK/json.dst"
}

# S6: a capability on one side only stops both, naming it.
t_caps_mismatch() {
	local rc
	start_incoming mism --caps postcopy-ram || return 1
	in_src pcmigd migrate --to "$ADDR_DST:$PORT" >"$WORK/mism.src" 2>&1
	rc=$?
	wait_dst
	show mism.src
	show mism.dst
	[ $rc -eq 4 ] && [ $DST_RC -eq 4 ] || { echo "exit src=$rc dst=$DST_RC, want 4"; return 1; }
	grep -q postcopy-ram "$WORK/mism.src" && grep -q postcopy-ram "$WORK/mism.dst" &&
		no_sessions
}

t_peer_not_pcmigd_incoming() {
	start_incoming notpc || return 1
	# bash's /dev/tcp: a client that speaks HTTP, not pcmigd.
	in_src bash -c "exec 3<>/dev/tcp/$ADDR_DST/$PORT; printf 'GET / HTTP/1.0\r\n\r\n' >&3; sleep 1"
	wait_dst
	show notpc.dst
	[ $DST_RC -eq 4 ] && grep -qi "not pcmigd" "$WORK/notpc.dst" && no_sessions
}

t_peer_not_pcmigd_migrate() {
	local rc
	in_dst bash -c "printf 'SSH-2.0-OpenSSH_9.2\r\n' | timeout 5 busybox nc -l -p $PORT >/dev/null" &
	wait_listen || return 1
	in_src pcmigd migrate --to "$ADDR_DST:$PORT" >"$WORK/notpc.src" 2>&1
	rc=$?
	wait
	show notpc.src
	[ $rc -eq 4 ] && grep -qi "not pcmigd" "$WORK/notpc.src"
}

t_connect_refused() {
	local rc
	in_src pcmigd migrate --to "$ADDR_DST:$PORT" >"$WORK/refused.src" 2>&1
	rc=$?
	show refused.src
	[ $rc -eq 5 ]
}

# A slow migration: 6 MiB at 1 MiB/s leaves time to act on it.
start_slow() {
	local name=$1
	shift
	blob state $((6 << 20))
	start_incoming "$name" "$@" || return 1
	ip netns exec $NS_SRC pcmigd migrate --to "$ADDR_DST:$PORT" \
		--max-bandwidth 1M --device-state "$WORK/state" "$@" \
		>"$WORK/$name.src" 2>&1 &
	SRC_PID=$!
	# Until the destination is in the stopped phase: data is flowing.
	for _ in $(seq 100); do
		in_dst pcmigd status | grep -q stopped && return 0
		sleep 0.1
	done
	echo "migration never reached the stopped phase"
	in_dst pcmigd status
	return 1
}

t_kill_source_pcmigd() {
	start_slow ksrc || return 1
	kill -9 $SRC_PID
	wait $SRC_PID 2>/dev/null
	wait_dst
	show ksrc.dst
	[ $DST_RC -eq 1 ] || { echo "destination exit $DST_RC, want 1"; return 1; }
	grep -qi failed "$WORK/ksrc.dst" && no_sessions
}

t_kill_destination_pcmigd() {
	local rc
	start_slow kdst || return 1
	kill -9 $DST_PID
	wait $DST_PID 2>/dev/null
	wait $SRC_PID
	rc=$?
	show kdst.src
	[ $rc -eq 1 ] || { echo "source exit $rc, want 1"; return 1; }
	grep -qi failed "$WORK/kdst.src" && no_sessions
}

t_cancel() {
	local rc
	start_slow cancel || return 1
	in_src pcmigd cancel || return 1
	wait $SRC_PID
	rc=$?
	wait_dst
	show cancel.src
	show cancel.dst
	[ $rc -eq 1 ] && [ $DST_RC -eq 1 ] || { echo "exit src=$rc dst=$DST_RC, want 1"; return 1; }
	grep -qi cancelled "$WORK/cancel.src" && grep -qi cancelled "$WORK/cancel.dst" &&
		no_sessions
}

# S3 through pcmigd: any time, from another shell, harmless.
t_start_postcopy() {
	local rc
	start_slow spc --caps postcopy-ram || return 1
	in_src pcmigd start-postcopy || { echo "start-postcopy failed"; return 1; }
	in_src pcmigd status --json | grep -q '"postcopy_requested": *true' || {
		in_src pcmigd status --json; return 1; }
	wait $SRC_PID
	rc=$?
	wait_dst
	show spc.src
	[ $rc -eq 0 ] && [ $DST_RC -eq 0 ] || { echo "exit src=$rc dst=$DST_RC"; return 1; }
	# No session is left: start-postcopy names none and fails cleanly.
	in_src pcmigd start-postcopy >/dev/null 2>&1
	[ $? -ne 0 ]
}

t_status_and_monitor() {
	local rc
	in_src pcmigd monitor --json >"$WORK/mon" 2>&1 &
	local mon=$!
	sleep 0.3
	start_slow mon || return 1
	in_src pcmigd status >"$WORK/status" || return 1
	in_src pcmigd status --json >"$WORK/status.json" || return 1
	show status
	grep -q '"role": *"source"' "$WORK/status.json" || return 1
	wait $SRC_PID
	rc=$?
	wait_dst
	kill $mon
	wait $mon 2>/dev/null
	show mon
	[ $rc -eq 0 ] && grep -q '"completed"' "$WORK/mon"
}

# Without CAP_NET_ADMIN the source cannot create its session: it says so,
# and the destination, left with a silent peer, fails cleanly.
t_unprivileged() {
	local rc
	start_incoming unpriv || return 1
	in_src setpriv --reuid=65534 --regid=65534 --clear-groups \
		--inh-caps=-all pcmigd migrate --to "$ADDR_DST:$PORT" \
		>"$WORK/unpriv.src" 2>&1
	rc=$?
	wait_dst
	show unpriv.src
	show unpriv.dst
	# The destination fails (the peer vanished) at whatever step it was.
	[ $rc -eq 3 ] && grep -qi permission "$WORK/unpriv.src" &&
		[ $DST_RC -ne 0 ] && no_sessions
}

netns_up || { echo "Bail out! cannot set up the namespaces"; exit 1; }
tap_plan 14
tap_run caps_lists_capabilities t_caps
tap_run help_and_usage_errors t_help_and_usage
tap_run migration_completes_state_intact t_migration_completes
tap_run json_result t_json_result
tap_run caps_mismatch_refused_both_sides t_caps_mismatch
tap_run peer_not_pcmigd_incoming t_peer_not_pcmigd_incoming
tap_run peer_not_pcmigd_migrate t_peer_not_pcmigd_migrate
tap_run connection_refused t_connect_refused
tap_run kill_source_pcmigd_mid_run t_kill_source_pcmigd
tap_run kill_destination_pcmigd_mid_run t_kill_destination_pcmigd
tap_run cancel_mid_run t_cancel
tap_run start_postcopy_from_another_shell t_start_postcopy
tap_run status_and_monitor t_status_and_monitor
tap_run unprivileged_refused t_unprivileged
tap_exit
