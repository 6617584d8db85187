#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The device-mapper target "pcmig" (kmod/dm_target.c), inside the test VM:
# bad table lines are refused with a reason in the kernel log, data goes
# through to the backing device at the table's offset (writes, reads,
# flushes, discards, write-zeroes), the table and status lines read back,
# and node names are unique among live targets.
#
# The dirty bitmaps themselves are driven over netlink; their checks come
# with that interface.

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib/tap.sh
. "$HERE/lib/tap.sh"

WORK=$(mktemp -d)
BACKING=$WORK/backing
BACKING_MB=64
OFFSET=2048			# sectors: the mapping starts 1 MiB in
SECTORS=8192			# 4 MiB mapped
DEV=pcmigt0
LOOP=

# dmsetup without udev (there is none in the VM).
dms() { DM_DISABLE_UDEV=1 dmsetup "$@"; }
dm_create() { dms create --noudevsync "$1" --table "$2"; }
dm_remove() { dms remove --noudevsync "$1"; }

cleanup() {
	local d
	for d in $(dms ls --target pcmig 2>/dev/null | awk '{print $1}'); do
		dm_remove "$d" 2>/dev/null
	done
	[ -n "$LOOP" ] && losetup -d "$LOOP" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT

# Bytes [off, off+len) of a file or device, to stdout.
bytes_at() { dd if="$1" bs=512 skip=$(($2 / 512)) count=$(($3 / 512)) status=none "${@:4}"; }

# same FILE OFF LEN EXPECTED [dd flags]: bytes [OFF, OFF+LEN) of FILE are
# the file EXPECTED, or zeroes if EXPECTED is "zero".  (The VM has no
# /dev/fd, so no process substitution.)
same() {
	local file=$1 off=$2 len=$3 want=$4
	bytes_at "$file" "$off" "$len" "${@:5}" >"$WORK/got" || return 1
	if [ "$want" = zero ]; then
		head -c "$len" /dev/zero >"$WORK/want"
		want=$WORK/want
	fi
	cmp -s "$WORK/got" "$want"
}

setup() {
	modprobe loop || return 1
	truncate -s ${BACKING_MB}M "$BACKING" || return 1
	LOOP=$(losetup -f --show "$BACKING") || return 1
	dms targets | grep -q '^pcmig ' || { echo "target pcmig not registered"; return 1; }
}

# expect_reject TABLE MESSAGE: creating a device with TABLE fails, and the
# kernel log says "pcmig: MESSAGE" (dm prints the target's ti->error).
expect_reject() {
	local table=$1 msg=$2 marker="pcmig-dm-test-$$-$RANDOM"

	echo "$marker" >/dev/kmsg
	if dm_create pcmigbad "$table" 2>"$WORK/err"; then
		echo "accepted: $table"
		dm_remove pcmigbad
		return 1
	fi
	dm_remove pcmigbad 2>/dev/null
	if ! dmesg | sed -n "/$marker/,\$p" | grep -qF "pcmig: $msg"; then
		echo "no 'pcmig: $msg' in the kernel log for: $table"
		dmesg | sed -n "/$marker/,\$p"
		return 1
	fi
}

t_bad_tables() {
	local long256 long255 rc=0
	long255=$(printf 'n%.0s' $(seq 255))
	long256=${long255}x

	expect_reject "0 $SECTORS pcmig $LOOP $OFFSET" \
		"Invalid argument count" || rc=1
	expect_reject "0 $SECTORS pcmig $LOOP $OFFSET disk0 extra" \
		"Invalid argument count" || rc=1
	expect_reject "0 $SECTORS pcmig /dev/nonexistent $OFFSET disk0" \
		"Backing device lookup failed" || rc=1
	expect_reject "0 $SECTORS pcmig $LOOP 12x disk0" \
		"Invalid offset: not a sector number" || rc=1
	expect_reject "0 $SECTORS pcmig $LOOP -1 disk0" \
		"Invalid offset: not a sector number" || rc=1
	expect_reject "0 $SECTORS pcmig $LOOP 18446744073709551615 disk0" \
		"Invalid offset: offset + length overflow" || rc=1
	# The mapping would end one sector past the backing device.
	expect_reject "0 $SECTORS pcmig $LOOP $((BACKING_MB * 2048 - SECTORS + 1)) disk0" \
		"Invalid offset: offset + length beyond the backing device" || rc=1
	expect_reject "0 $SECTORS pcmig $LOOP $OFFSET $long256" \
		"Invalid node name: longer than 255 bytes" || rc=1
	# dm unescapes '\\' to one backslash, which the status line could not
	# give back.
	expect_reject "0 $SECTORS pcmig $LOOP $OFFSET a\\\\b" \
		"Invalid node name: white space, control character or backslash" || rc=1

	# The longest name is fine, and the last sector of the device too.
	dm_create pcmiglong "0 $SECTORS pcmig $LOOP $((BACKING_MB * 2048 - SECTORS)) $long255" ||
		{ echo "255-byte node name at the device's end refused"; rc=1; }
	dm_remove pcmiglong 2>/dev/null
	return $rc
}

t_duplicate_node_name() {
	local rc=0
	dm_create pcmigdup1 "0 1024 pcmig $LOOP 0 twin" || return 1
	expect_reject "0 1024 pcmig $LOOP 1024 twin" \
		"Duplicate node name: a live pcmig target has it" || rc=1
	# Another name on the same backing device is fine.
	dm_create pcmigdup2 "0 1024 pcmig $LOOP 1024 twin2" || rc=1
	dm_remove pcmigdup2
	# Once the target is gone, its name is free again.
	dm_remove pcmigdup1 || rc=1
	dm_create pcmigdup1 "0 1024 pcmig $LOOP 0 twin" || rc=1
	dm_remove pcmigdup1 || rc=1
	return $rc
}

t_create() {
	dm_create $DEV "0 $SECTORS pcmig $LOOP $OFFSET disk0" || return 1
	[ -b /dev/mapper/$DEV ] || { echo "/dev/mapper/$DEV missing"; return 1; }
	[ "$(blockdev --getsz /dev/mapper/$DEV)" = $SECTORS ] ||
		{ echo "size $(blockdev --getsz /dev/mapper/$DEV), want $SECTORS"; return 1; }
}

t_table_and_status() {
	local table status majmin
	majmin=$(lsblk -dno MAJ:MIN "$LOOP" | tr -d ' ')
	table=$(dms table $DEV)
	status=$(dms status $DEV)
	echo "table:  $table"
	echo "status: $status"
	[ "$table" = "0 $SECTORS pcmig $majmin $OFFSET disk0" ] &&
		# No bitmaps yet: the info field is the bitmap count.
		[ "$status" = "0 $SECTORS pcmig 0" ]
}

t_write_passes_through() {
	local off=$((123 * 4096))
	head -c $((64 * 1024)) /dev/urandom >"$WORK/data"
	dd if="$WORK/data" of=/dev/mapper/$DEV bs=4096 seek=123 oflag=direct \
		status=none || return 1
	# On the backing device, OFFSET sectors further.
	same "$BACKING" $((OFFSET * 512 + off)) 65536 "$WORK/data" ||
		{ echo "backing file differs at the mapped offset"; return 1; }
	# Nothing before the mapping's start was touched.
	same "$BACKING" 0 $((OFFSET * 512)) zero ||
		{ echo "bytes before the mapping changed"; return 1; }
	# And it reads back through the mapping.
	same /dev/mapper/$DEV $off 65536 "$WORK/data" iflag=direct
}

t_read_passes_through() {
	local off=$((3 * 1024 * 1024))
	head -c 8192 /dev/urandom >"$WORK/data2"
	# Write on the backing device at the mapped place, read via dm.
	dd if="$WORK/data2" of="$LOOP" bs=512 seek=$((OFFSET + off / 512)) \
		oflag=direct status=none || return 1
	same /dev/mapper/$DEV $off 8192 "$WORK/data2" iflag=direct
}

t_unaligned_and_last_sector() {
	local last=$(((SECTORS - 1) * 512))
	head -c 512 /dev/urandom >"$WORK/s"
	# One 512-byte sector at the very end of the mapping.
	dd if="$WORK/s" of=/dev/mapper/$DEV bs=512 seek=$((SECTORS - 1)) \
		oflag=direct status=none || return 1
	same "$BACKING" $((OFFSET * 512 + last)) 512 "$WORK/s" ||
		return 1
	# Past the end: refused by the block layer, nothing written.
	if dd if="$WORK/s" of=/dev/mapper/$DEV bs=512 seek=$SECTORS \
		oflag=direct status=none 2>/dev/null; then
		same "$BACKING" $(((OFFSET + SECTORS) * 512)) 512 zero || return 1
	fi
}

t_flush() {
	# fsync on the block device sends an empty flush (REQ_PREFLUSH, no
	# data); oflag=sync adds FUA-or-flush to each data write.
	dd if=/dev/urandom of=/dev/mapper/$DEV bs=4096 count=4 seek=10 \
		oflag=direct,sync conv=fsync status=none || return 1
	sync || return 1
	blockdev --flushbufs /dev/mapper/$DEV
}

t_discard() {
	local mb=$((1024 * 1024))
	dd if=/dev/urandom of=/dev/mapper/$DEV bs=1M count=4 oflag=direct \
		status=none || return 1
	bytes_at "$BACKING" $((OFFSET * 512)) $((4 * mb)) >"$WORK/before" || return 1
	head -c $mb "$WORK/before" >"$WORK/before.head"
	tail -c $((2 * mb)) "$WORK/before" >"$WORK/before.tail"
	blkdiscard -o $mb -l $mb /dev/mapper/$DEV ||
		{ echo "blkdiscard failed"; return 1; }
	# Loop punches a hole in the backing file: the MiB reads as zeroes,
	# the rest is unchanged.
	same "$BACKING" $((OFFSET * 512 + mb)) $mb zero ||
		{ echo "discarded range not zero"; return 1; }
	same "$BACKING" $((OFFSET * 512)) $mb "$WORK/before.head" ||
		{ echo "data before the discard changed"; return 1; }
	same "$BACKING" $((OFFSET * 512 + 2 * mb)) $((2 * mb)) "$WORK/before.tail" ||
		{ echo "data after the discard changed"; return 1; }
}

t_write_zeroes() {
	local mb=$((1024 * 1024))
	dd if=/dev/urandom of=/dev/mapper/$DEV bs=1M count=1 seek=2 oflag=direct \
		status=none || return 1
	# BLKZEROOUT: write-zeroes if the stack offers it, else zero writes.
	blkdiscard -z -o $((2 * mb)) -l $((512 * 1024)) /dev/mapper/$DEV ||
		{ echo "blkdiscard -z failed"; return 1; }
	same "$BACKING" $((OFFSET * 512 + 2 * mb)) $((512 * 1024)) zero
}

t_parallel_writers() {
	local i pids=() rc=0
	# Eight writers on disjoint 256 KiB stripes, then check every stripe.
	for i in $(seq 0 7); do
		head -c $((256 * 1024)) /dev/urandom >"$WORK/p$i"
		dd if="$WORK/p$i" of=/dev/mapper/$DEV bs=4096 seek=$((i * 64)) \
			oflag=direct status=none &
		pids+=($!)
	done
	for i in "${pids[@]}"; do wait "$i" || rc=1; done
	for i in $(seq 0 7); do
		same "$BACKING" $((OFFSET * 512 + i * 256 * 1024)) $((256 * 1024)) \
			"$WORK/p$i" || { echo "stripe $i differs"; rc=1; }
	done
	return $rc
}

t_remove() {
	dm_remove $DEV || return 1
	! dms ls --target pcmig | grep -q "^$DEV"
}

setup || { echo "Bail out! cannot set up the loop device"; exit 1; }
tap_plan 12
tap_run bad_tables t_bad_tables
tap_run duplicate_node_name t_duplicate_node_name
tap_run create t_create
tap_run table_and_status t_table_and_status
tap_run write_passes_through t_write_passes_through
tap_run read_passes_through t_read_passes_through
tap_run unaligned_and_last_sector t_unaligned_and_last_sector
tap_run flush t_flush
tap_run discard t_discard
tap_run write_zeroes t_write_zeroes
tap_run parallel_writers t_parallel_writers
tap_run remove t_remove
tap_exit
