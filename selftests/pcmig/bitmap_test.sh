#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Dirty bitmaps of the dm target "pcmig", driven through pcmigd: tracking
# is exact (writes, discards and write-zeroes at known offsets and sizes,
# unaligned and across granules, give exactly the expected bits at several
# granularities; reads give none), the dumped extents equal what was
# written, and every bitmap operation and its errors.

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib/tap.sh
. "$HERE/lib/tap.sh"
# shellcheck source=lib/extents.sh
. "$HERE/lib/extents.sh"

export DM_DISABLE_UDEV=1
WORK=$(mktemp -d)
SIZE=$((64 << 20))		# backing file, bytes
OFF_SECT=2048			# the target maps the backing file from 1 MiB
DEV_SECT=$(( (SIZE >> 9) - OFF_SECT - 7 ))	# not a multiple of any granule
DEV=/dev/mapper/pcmig-bm
LOOP=

cleanup() {
	dmsetup remove --noudevsync pcmig-bm 2>/dev/null
	[ -n "$LOOP" ] && losetup -d "$LOOP"
	rm -rf "$WORK"
}
trap cleanup EXIT

setup() {
	modprobe loop || return 1
	truncate -s $SIZE "$WORK/backing"
	LOOP=$(losetup -f --show "$WORK/backing") || return 1
	dmsetup create --noudevsync pcmig-bm \
		--table "0 $DEV_SECT pcmig $LOOP $OFF_SECT disk0"
}

write_at() { write_dev $DEV "$@"; }

dump() { pcmigd bitmap dump disk0 "$1"; }

check_extents() {
	local name=$1 gran=$2
	shift 2
	expected "$gran" $((DEV_SECT * 512)) "$@" >"$WORK/want"
	dump "$name" >"$WORK/got" || return 1
	if ! cmp -s "$WORK/want" "$WORK/got"; then
		echo "bitmap $name (granularity $gran): extents differ"
		diff "$WORK/want" "$WORK/got" | head -20
		return 1
	fi
}

t_exact_tracking() {
	local g writes=() rc=0
	for g in 512 4096 65536 1048576; do
		pcmigd bitmap add disk0 "g$g" --granularity $g || return 1
	done
	# Writes not aligned to granules, one crossing a 4 KiB boundary, the
	# first and last sector of the device (whose size is no multiple of
	# any granule), and writes spanning several 64 KiB granules.
	writes=(0:512 3584:1024 69632:512 131072:65536 200192:300032
		$((DEV_SECT * 512 - 512)):512 $((5 << 20)):512)
	local w
	for w in "${writes[@]}"; do
		write_at "${w%%:*}" "${w##*:}" || return 1
	done
	for g in 512 4096 65536 1048576; do
		check_extents "g$g" $g "${writes[@]}" || rc=1
	done
	return $rc
}

t_reads_never_mark() {
	pcmigd bitmap add disk0 reads || return 1
	dd if=$DEV of=/dev/null bs=1M count=16 iflag=direct status=none
	dd if=$DEV of=/dev/null bs=64k count=16 status=none
	[ -z "$(dump reads)" ] || { echo "reads marked:"; dump reads; return 1; }
}

t_discard_and_zeroes() {
	pcmigd bitmap add disk0 trim --granularity 4096 || return 1
	blkdiscard --offset $((8 << 20)) --length $((1 << 20)) $DEV || return 1
	blkdiscard --zeroout --offset $((12 << 20)) --length 8192 $DEV || return 1
	check_extents trim 4096 $((8 << 20)):$((1 << 20)) $((12 << 20)):8192
}

t_flush_marks_nothing() {
	pcmigd bitmap add disk0 flush || return 1
	sync
	blockdev --flushbufs $DEV
	[ -z "$(dump flush)" ]
}

t_disabled_does_not_mark() {
	pcmigd bitmap add disk0 off --disabled || return 1
	write_at $((20 << 20)) 4096
	[ -z "$(dump off)" ] || return 1
	pcmigd bitmap enable disk0 off || return 1
	write_at $((21 << 20)) 4096
	check_extents off 65536 $((21 << 20)):4096 || return 1
	pcmigd bitmap disable disk0 off || return 1
	write_at $((22 << 20)) 4096
	check_extents off 65536 $((21 << 20)):4096
}

t_clear_and_merge() {
	pcmigd bitmap add disk0 a || return 1
	pcmigd bitmap add disk0 b || return 1
	write_at $((30 << 20)) 4096
	pcmigd bitmap clear disk0 b || return 1
	write_at $((31 << 20)) 4096
	check_extents b 65536 $((31 << 20)):4096 || return 1
	pcmigd bitmap clear disk0 a || return 1
	write_at $((32 << 20)) 4096
	pcmigd bitmap merge disk0 b a || return 1
	check_extents a 65536 $((31 << 20)):4096 $((32 << 20)):4096 || return 1
	# Granularities must match.
	pcmigd bitmap merge disk0 g512 a >"$WORK/err" 2>&1
	[ $? -eq 3 ] && grep -qi granularity "$WORK/err"
}

t_list_json() {
	pcmigd bitmap list disk0 --json >"$WORK/list" || return 1
	grep -q '"bitmap": *"g4096"' "$WORK/list" &&
		grep -q '"granularity": *4096' "$WORK/list" &&
		grep -q '"enabled": *false' "$WORK/list"
}

t_errors_named() {
	local out rc=0
	out=$(pcmigd bitmap add disk0 a 2>&1) && rc=1
	echo "duplicate: $out"
	echo "$out" | grep -qi exist || rc=1
	out=$(pcmigd bitmap add nosuchnode x 2>&1) && rc=1
	echo "no node: $out"
	echo "$out" | grep -qi node || rc=1
	out=$(pcmigd bitmap remove disk0 nosuch 2>&1) && rc=1
	echo "no bitmap: $out"
	out=$(pcmigd bitmap add disk0 odd --granularity 3000 2>&1)
	[ $? -eq 2 ] || rc=1
	echo "bad granularity: $out"
	out=$(pcmigd bitmap add disk0 "$(printf 'n%.0s' $(seq 300))" 2>&1) && rc=1
	echo "long name: $out"
	return $rc
}

t_remove() {
	pcmigd bitmap remove disk0 reads || return 1
	! pcmigd bitmap list disk0 | grep -qw reads
}

t_bad_tables() {
	local t rc=0
	for t in "pcmig $LOOP 0" "pcmig /dev/nonexistent 0 x" "pcmig $LOOP zero x" \
		 "pcmig $LOOP 0 disk0" "pcmig $LOOP 0 $(printf 'n%.0s' $(seq 300))"; do
		if dmsetup create --noudevsync pcmig-bad --table "0 8 $t" 2>/dev/null; then
			echo "accepted: $t"
			dmsetup remove --noudevsync pcmig-bad
			rc=1
		fi
	done
	dmesg | grep -i "pcmig" | tail -5
	return $rc
}

setup || { echo "Bail out! cannot create the pcmig target"; exit 1; }
tap_plan 11
tap_run exact_tracking_four_granularities t_exact_tracking
tap_run reads_never_mark t_reads_never_mark
tap_run discard_and_write_zeroes_mark t_discard_and_zeroes
tap_run flush_marks_nothing t_flush_marks_nothing
tap_run disabled_bitmap_does_not_mark t_disabled_does_not_mark
tap_run clear_and_merge t_clear_and_merge
tap_run list_json t_list_json
tap_run errors_are_named t_errors_named
tap_run remove t_remove
tap_run bad_table_lines_rejected t_bad_tables
tap_run target_removal_frees_bitmaps dmsetup remove --noudevsync pcmig-bm
tap_exit
