#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Migration of block dirty bitmaps (capability postcopy-bitmaps, rules
# S8-S11) between the two test hosts of lib/netns.sh, with pcmigd on both
# sides.  Source and destination nodes are dm "pcmig" targets on the same
# backing device (shared storage).  Node names are global in one kernel,
# so the destination's nodes have names of their own and every migration
# maps them (--bitmap-map, on one side: a mapping renames nodes in the
# stream), the way QEMU's block-bitmap-mapping does.  A source mapping also
# keeps the other tests' nodes out of the migration.
#
# Checked: the destination's bitmaps equal the source's, plus the writes
# the destination makes after it starts; the stopped phase and postcopy;
# the rules for existing, differently grained and missing bitmaps; node
# mappings on either side; a connection cut mid-bitmap (incomplete
# bitmaps dropped and reported, completed ones kept); bitmaps held while
# they migrate.

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib/tap.sh
. "$HERE/lib/tap.sh"
# shellcheck source=lib/netns.sh
. "$HERE/lib/netns.sh"
# shellcheck source=lib/mig.sh
. "$HERE/lib/mig.sh"
# shellcheck source=lib/extents.sh
. "$HERE/lib/extents.sh"
# shellcheck source=lib/dmnode.sh
. "$HERE/lib/dmnode.sh"

PORT=4446
WORK=$(mktemp -d)
BACKING_SIZE=$(( (4 << 30) + (1 << 20) ))	# sparse
SMALL=$(( (64 << 20) / 512 - 5 ))	# sectors: no multiple of a granule
BIG=$(( (4 << 30) / 512 ))
CAPS=(--caps postcopy-bitmaps)

cleanup() {
	kill_all
	remove_nodes
	[ -n "$LOOP" ] && losetup -d "$LOOP"
	netns_down
	rm -rf "$WORK"
}
trap cleanup EXIT

# Each test starts with no pcmigd and no node left by the one before.
run() {
	tap_run "$@"
	kill_all
	remove_nodes
}

# field NODE BITMAP KEY: one field of "bitmap list --json".
field() {
	pcmigd bitmap list "$1" --json | python3 -c '
import json, sys
for b in json.load(sys.stdin)["bitmaps"]:
    if b["bitmap"] == sys.argv[1]:
        print(str(b[sys.argv[2]]).lower())' "$2" "$3"
}

has_bitmap() { [ -n "$(field "$1" "$2" granularity)" ]; }

# migrate NAME "DEST ARGS" "SOURCE ARGS": both pcmigd, source in front.
migrate() {
	local name=$1
	# shellcheck disable=SC2086
	start_incoming "$name" "${CAPS[@]}" $2 || return 1
	# shellcheck disable=SC2086
	in_src pcmigd migrate --to "$ADDR_DST:$PORT" "${CAPS[@]}" $3 \
		>"$WORK/$name.src" 2>&1
	SRC_RC=$?
	wait_dst
}

both_ok() {
	[ "$SRC_RC" -eq 0 ] && [ "$DST_RC" -eq 0 ] && return 0
	show "$1.src"
	show "$1.dst"
	echo "exit source $SRC_RC, destination $DST_RC"
	return 1
}

wait_phase() {
	for _ in $(seq 600); do
		in_dst pcmigd status --json | grep -q "\"phase\": *\"$1\"" &&
			return 0
		sleep 0.05
	done
	echo "destination never reached phase $1"
	in_dst pcmigd status
	return 1
}

# Everything fits the downtime limit: bitmaps go in the stopped phase,
# beside an intact device state; disabled bitmaps stay disabled.
t_stopped_phase() {
	mknode s1 $SMALL && mknode d1 $SMALL || return 1
	add s1 b64k && add s1 b4k --granularity 4K && add s1 off || return 1
	write_dev /dev/mapper/s1 0 512
	write_dev /dev/mapper/s1 $((65536 - 512)) 1024
	write_dev /dev/mapper/s1 $((10 << 20)) $((3 << 20))
	write_dev /dev/mapper/s1 $(( (SMALL - 1) * 512 )) 512
	pcmigd bitmap disable s1 off || return 1
	write_dev /dev/mapper/s1 $((20 << 20)) 4096	# not in "off"
	blob state $((1 << 20))
	migrate stop "--device-state-out $WORK/got" \
		"--bitmap-map s1:d1 --downtime-limit 2000000 \
		 --device-state $WORK/state" && both_ok stop || return 1
	cmp -s "$WORK/state" "$WORK/got" || { echo "device state differs"; return 1; }
	if grep -q "phase postcopy" "$WORK/stop.src"; then
		echo "went to postcopy although everything fit"
		show stop.src
		return 1
	fi
	same s1 d1 b64k && same s1 d1 b4k && same s1 d1 off || return 1
	[ "$(field d1 b4k granularity)" = 4096 ] &&
		[ "$(field d1 off enabled)" = false ] &&
		[ "$(field d1 b64k enabled)" = true ] || {
		pcmigd bitmap list d1; return 1; }
	grep -q "bitmap d1/b64k: done" "$WORK/stop.dst" || { show stop.dst; return 1; }
}

# start_big NAME "DEST ARGS" "SOURCE ARGS": a migration whose bitmap
# "big" (512 B granules over 4 GiB, 1 MiB of bits, mostly dirty) goes in
# postcopy at max-postcopy-bandwidth, so there is time to act meanwhile.
start_big() {
	local name=$1
	mknode s2 $BIG && mknode d2 $BIG || return 1
	add s2 small && add s2 big --granularity 512 || return 1
	write_dev /dev/mapper/s2 $((1 << 20)) 4096
	blkdiscard -o 0 -l $((3 << 30)) /dev/mapper/s2 || return 1
	write_dev /dev/mapper/s2 $(( (3 << 30) + (5 << 20) )) 8192
	blob state $((2 << 20))
	# shellcheck disable=SC2086
	start_incoming "$name" "${CAPS[@]}" $2 || return 1
	# shellcheck disable=SC2086
	ip netns exec $NS_SRC pcmigd migrate --to "$ADDR_DST:$PORT" "${CAPS[@]}" \
		--bitmap-map s2:d2 --max-bandwidth 2M \
		--max-postcopy-bandwidth 128K --device-state "$WORK/state" $3 \
		>"$WORK/$name.src" 2>&1 &
	SRC_PID=$!
}

# Postcopy on request (S3, S2): start-postcopy while stopped; the
# destination's own writes after it started stay in its bitmap.
t_postcopy() {
	start_big pc || return 1
	# S3: any time after the start; the stopped phase may be short.
	for _ in $(seq 600); do
		in_src pcmigd status --json | grep -q '"id"' && break
		sleep 0.05
	done
	in_src pcmigd start-postcopy || return 1
	wait_phase postcopy || return 1
	# The destination runs: its writes, before the bits there arrive.
	write_dev /dev/mapper/d2 $(( (3 << 30) + (9 << 20) )) 512
	write_dev /dev/mapper/d2 $(( (4 << 30) - 4096 )) 4096
	# What they mark, at each bitmap's granularity.
	for g in 512 65536; do
		expected $g $((BIG * 512)) "$(( (3 << 30) + (9 << 20) )):512" \
			"$(( (4 << 30) - 4096 )):4096" >"$WORK/dstw.$g"
	done
	wait $SRC_PID
	SRC_RC=$?
	wait_dst
	both_ok pc || return 1
	grep -q "phase postcopy" "$WORK/pc.src" || { show pc.src; return 1; }
	same s2 d2 small "$WORK/dstw.65536" &&
		same s2 d2 big "$WORK/dstw.512"
}

# The connection is cut mid-bitmap (the source's pcmigd is killed):
# the destination drops what did not complete, keeps the rest, says so,
# and runs on.  Meanwhile the source's bitmaps are held.
t_cut_mid_bitmap() {
	start_big cut || return 1
	wait_phase postcopy || return 1
	sleep 1
	if pcmigd bitmap remove s2 big >"$WORK/busy" 2>&1; then
		echo "removed a bitmap that is being migrated"
		return 1
	fi
	grep -q "in use by a migration" "$WORK/busy" || { show busy; return 1; }
	kill -9 $SRC_PID
	wait $SRC_PID 2>/dev/null
	wait_dst
	show cut.dst
	[ "$DST_RC" -eq 1 ] || { echo "destination exit $DST_RC, want 1"; return 1; }
	grep -q "runs on" "$WORK/cut.dst" &&
		grep -q "bitmap d2/big: dropped" "$WORK/cut.dst" &&
		grep -q "bitmap d2/small: done" "$WORK/cut.dst" || return 1
	has_bitmap d2 big && { echo "incomplete bitmap kept"; return 1; }
	same s2 d2 small || return 1
	# The source lets go: its bitmaps are the user's again.
	pcmigd bitmap remove s2 big
}

# Rule S11: same name and granularity updated (its old bits replaced), a
# different granularity refused for that bitmap only, a missing one
# created; the migration itself succeeds.
t_destination_rules() {
	mknode s3 $SMALL && mknode d3 $SMALL || return 1
	add s3 same && add s3 gdiff && add s3 missing --granularity 4K || return 1
	add d3 same && add d3 gdiff --granularity 4K || return 1
	write_dev /dev/mapper/d3 $((30 << 20)) 4096	# old bits of d3's own
	pcmigd bitmap disable d3 same || return 1
	pcmigd bitmap disable d3 gdiff || return 1
	write_dev /dev/mapper/s3 $((2 << 20)) 70000
	pcmigd bitmap dump d3 gdiff >"$WORK/gdiff.before" || return 1
	migrate rules "" "--bitmap-map s3:d3" &&
		both_ok rules || return 1
	same s3 d3 same && same s3 d3 missing || return 1
	[ "$(field d3 same enabled)" = true ] || { echo "same: not enabled like the source's"; return 1; }
	[ "$(field d3 missing granularity)" = 4096 ] || return 1
	pcmigd bitmap dump d3 gdiff >"$WORK/gdiff.after" || return 1
	cmp -s "$WORK/gdiff.before" "$WORK/gdiff.after" || { echo "refused bitmap changed"; return 1; }
	grep -q "bitmap d3/gdiff: error: granularity differs: 4096 bytes here, 65536 in the stream" \
		"$WORK/rules.dst" && grep -q "bitmap d3/same: done (updated)" "$WORK/rules.dst" &&
		grep -q "bitmap d3/missing: done (created)" "$WORK/rules.dst" || {
		show rules.dst; return 1; }
}

# Mappings: on the destination (names in the stream mapped to local
# nodes; names it does not map refused), on the source (unmapped nodes
# skipped), and a mapped node the destination does not have.
t_mappings() {
	mknode s4a $SMALL && mknode s4b $SMALL && mknode s4c $SMALL &&
		mknode d4a $SMALL || return 1
	add s4a x && add s4b y && add s4c z || return 1
	write_dev /dev/mapper/s4a $((5 << 20)) 4096
	# Destination maps s4a only; the source sends s4a and s4b.
	migrate dmap "--bitmap-map s4a:d4a" \
		"--bitmap-map s4a:s4a --bitmap-map s4b:s4b" && both_ok dmap || return 1
	same s4a d4a x || return 1
	grep -q "bitmap s4b/y: error: node is not in the bitmap mapping" \
		"$WORK/dmap.dst" || { show dmap.dst; return 1; }
	# Source maps s4a to d4a and s4c to a node nobody has; s4b unmapped.
	write_dev /dev/mapper/s4a $((7 << 20)) 4096
	migrate smap "" "--bitmap-map s4a:d4a --bitmap-map s4c:nosuch" &&
		both_ok smap || return 1
	same s4a d4a x || return 1
	grep -q "bitmap s4b/y: skipped" "$WORK/smap.src" &&
		grep -q "bitmap nosuch/z: error: no pcmig node" "$WORK/smap.dst" || {
		show smap.src; show smap.dst; return 1; }
}

t_bad_mapping_refused() {
	pcmigd migrate --to "$ADDR_DST:$PORT" --bitmap-map nocolon >/dev/null 2>&1
	[ $? -eq 2 ] || { echo "--bitmap-map nocolon: want exit 2"; return 1; }
	pcmigd incoming --listen "$ADDR_DST:$PORT" --bitmap-map a:b \
		--bitmap-map a:c >/dev/null 2>&1
	[ $? -eq 2 ] || { echo "a node mapped twice: want exit 2"; return 1; }
}

netns_up || { echo "Bail out! cannot set up the namespaces"; exit 1; }
dm_setup || { echo "Bail out! cannot set up the backing device"; exit 1; }
tap_plan 6
run bitmaps_in_stopped_phase t_stopped_phase
run bitmaps_in_postcopy_with_destination_writes t_postcopy
run connection_cut_mid_bitmap t_cut_mid_bitmap
run destination_rules_s11 t_destination_rules
run node_mappings t_mappings
run bad_mappings_refused t_bad_mapping_refused
tap_exit
