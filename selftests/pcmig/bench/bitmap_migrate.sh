#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Benchmark, inside the test VM: migrating the dirty bitmap of a 1 TiB
# node (sparse backing) at 64 KiB granularity (16 Mi bits, 2 MiB raw),
# 1 % and 50 % dirty, between the two namespaces of lib/netns.sh.  Prints
# the stream bytes the bitmap took (the migration's bytes minus those of
# the same migration without bitmaps) and the time, against the raw
# bitmap size.
#
# The wire cost depends on where the dirty granules are, not on how many:
# a chunk of 262144 bits (16 GiB of disk here) with no dirty granule is a
# 20-byte ZEROES frame, any other is sent whole (32 KiB).  So each dirty
# fraction is measured twice: "clustered" (one run at the start of the
# node) and "scattered" (the same fraction in every chunk: the worst
# case, as with random writes).  Discards mark the granules, so even 50 %
# of 1 TiB costs a few requests.

set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../lib/netns.sh
. "$HERE/lib/netns.sh"
# shellcheck source=../lib/mig.sh
. "$HERE/lib/mig.sh"

export DM_DISABLE_UDEV=1
PORT=4447
WORK=$(mktemp -d)
NODE_BYTES=$((1 << 40))
GRAN=$((64 << 10))
CHUNK_BYTES=$((262144 * GRAN))		# disk covered by one stream chunk
RAW=$((NODE_BYTES / GRAN / 8))
LOOP=

cleanup() {
	kill_all
	dmsetup remove --noudevsync bench-src 2>/dev/null || true
	dmsetup remove --noudevsync bench-dst 2>/dev/null || true
	[ -n "$LOOP" ] && losetup -d "$LOOP"
	netns_down
	rm -rf "$WORK"
}
trap cleanup EXIT

modprobe loop
truncate -s $NODE_BYTES "$WORK/backing"
LOOP=$(losetup -f --show "$WORK/backing")
for n in bench-src bench-dst; do
	dmsetup create --noudevsync $n \
		--table "0 $((NODE_BYTES >> 9)) pcmig $LOOP 0 $n"
done
netns_up

# One migration; prints "bytes_sent elapsed_ms" of the source.
migrate_once() {
	start_incoming bench --caps postcopy-bitmaps --bitmap-map bench-src:bench-dst || return 1
	in_src pcmigd migrate --to "$ADDR_DST:$PORT" --caps postcopy-bitmaps \
		--bitmap-map bench-src:bench-dst --downtime-limit 2000000 --json \
		>"$WORK/src.json" 2>"$WORK/src.err" || { cat "$WORK/src.err"; return 1; }
	wait_dst || true
	python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))["stats"]
print(s["bytes_sent"], s["elapsed_ms"])' "$WORK/src.json"
}

# pattern OFFSET:LENGTH...: a fresh bitmap on the source with these
# ranges dirty; none on the destination (it is created there).
pattern() {
	pcmigd bitmap remove bench-src inc >/dev/null 2>&1 || true
	pcmigd bitmap remove bench-dst inc >/dev/null 2>&1 || true
	pcmigd bitmap add bench-src inc --granularity $GRAN >/dev/null
	for r in "$@"; do
		blkdiscard -o "${r%:*}" -l "${r#*:}" /dev/mapper/bench-src
	done
}

# scattered PERCENT: that share of every chunk's disk, at its start.
scattered() {
	local len=$((CHUNK_BYTES * $1 / 100 / GRAN * GRAN)) off
	for ((off = 0; off < NODE_BYTES; off += CHUNK_BYTES)); do
		echo "$off:$len"
	done
}

# No process substitution: the test VM has no /dev/fd.
migrate_once >"$WORK/base"
read -r base_bytes base_ms <"$WORK/base"
printf "%-20s %7s %10s %10s %9s %9s\n" pattern dirty "raw KiB" "wire KiB" wire/raw "time ms"
printf "%-20s %7s %10s %10s %9s %9s\n" "no bitmap" - - 0 - "$base_ms"
for row in "clustered 1" "scattered 1" "clustered 50" "scattered 50"; do
	read -r shape pct <<<"$row"
	if [ "$shape" = clustered ]; then
		# shellcheck disable=SC2046
		pattern "0:$((NODE_BYTES * pct / 100 / GRAN * GRAN))"
	else
		# shellcheck disable=SC2046
		pattern $(scattered "$pct")
	fi
	migrate_once >"$WORK/run"
	read -r bytes ms <"$WORK/run"
	pcmigd bitmap dump bench-src inc >"$WORK/src.ext"
	pcmigd bitmap dump bench-dst inc >"$WORK/dst.ext"
	cmp -s "$WORK/src.ext" "$WORK/dst.ext" ||
		echo "warning: the destination's bitmap differs from the source's"
	wire=$((bytes - base_bytes))
	printf "%-20s %6s%% %10d %10d %9s %9s\n" "$shape" "$pct" $((RAW >> 10)) \
		$((wire >> 10)) "$(python3 -c "print('%.3f' % ($wire / $RAW))")" "$ms"
done
