#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Benchmark, inside the test VM: the cost of dirty tracking.  The same
# backing device (a loop device on tmpfs, so the target's own cost is not
# hidden behind a slow disk) is mapped twice, by dm-linear and by pcmig
# with two enabled bitmaps (4 KiB and 64 KiB granularity), and the same
# fio job runs on both, alternating, several rounds.  Prints a table and
# the ratios pcmig / dm-linear.  Goal (issue 3): overhead <= 5 %.
#
# Environment: BENCH_SECONDS per run (default 8), BENCH_ROUNDS (default 3).

set -euo pipefail
export DM_DISABLE_UDEV=1
SECS=${BENCH_SECONDS:-8}
ROUNDS=${BENCH_ROUNDS:-3}
WORK=$(mktemp -d)
SIZE=$((256 << 20))
LOOP=

cleanup() {
	dmsetup remove --noudevsync bench-pcmig 2>/dev/null || true
	dmsetup remove --noudevsync bench-linear 2>/dev/null || true
	[ -n "$LOOP" ] && losetup -d "$LOOP"
	rm -rf "$WORK"
}
trap cleanup EXIT

modprobe loop
# Allocated up front: a sparse file would bill page allocation to
# whichever target writes a range first.
fallocate -l $SIZE "$WORK/backing"
LOOP=$(losetup -f --show --direct-io=on "$WORK/backing" 2>/dev/null ||
       losetup -f --show "$WORK/backing")
sectors=$((SIZE >> 9))
dmsetup create --noudevsync bench-linear --table "0 $sectors linear $LOOP 0"
dmsetup create --noudevsync bench-pcmig --table "0 $sectors pcmig $LOOP 0 bench"
pcmigd bitmap add bench fine --granularity 4K >/dev/null
pcmigd bitmap add bench coarse --granularity 64K >/dev/null

# run DEV RW BS: one fio run; prints "iops bw_kib p50_us p99_us".
run() {
	fio --name=b --filename="$1" --rw="$2" --bs="$3" --direct=1 \
		--ioengine=libaio --iodepth=16 --numjobs=1 --time_based \
		--runtime="${SECS}" --size=$SIZE --randrepeat=0 \
		--output-format=json 2>/dev/null |
	python3 -c '
import json, sys
j = json.load(sys.stdin)["jobs"][0]["write"]
p = j["clat_ns"]["percentile"]
print(j["iops"], j["bw"], p["50.000000"] / 1000, p["99.000000"] / 1000)'
}

# Warm both paths once, unmeasured.
SECS=2 run /dev/mapper/bench-linear randwrite 4k >/dev/null
SECS=2 run /dev/mapper/bench-pcmig randwrite 4k >/dev/null

printf "%-22s %-7s %10s %10s %9s %9s\n" workload target IOPS "KiB/s" "p50 us" "p99 us"
for job in "randwrite 4k" "write 1M"; do
	set -- $job
	declare -A sum=()
	for r in $(seq "$ROUNDS"); do
		# Alternate which goes first, so drift hits both alike.
		order="linear pcmig"
		[ $((r % 2)) -eq 0 ] && order="pcmig linear"
		for t in $order; do
			# No /dev/fd in the VM: no process substitution.
			out=$(run /dev/mapper/bench-$t "$1" "$2")
			read -r iops bw p50 p99 <<<"$out"
			sum[$t.iops]=$(python3 -c "print(${sum[$t.iops]:-0} + $iops)")
			sum[$t.p50]=$(python3 -c "print(${sum[$t.p50]:-0} + $p50)")
			sum[$t.p99]=$(python3 -c "print(${sum[$t.p99]:-0} + $p99)")
			sum[$t.bw]=$(python3 -c "print(${sum[$t.bw]:-0} + $bw)")
		done
	done
	for t in linear pcmig; do
		python3 -c "
r = $ROUNDS
print('%-22s %-7s %10.0f %10.0f %9.1f %9.1f' % ('$1 $2', '$t',
      ${sum[$t.iops]} / r, ${sum[$t.bw]} / r, ${sum[$t.p50]} / r,
      ${sum[$t.p99]} / r))"
	done
	python3 -c "
print('%-22s ratio pcmig/linear: throughput %.3f, p50 latency %.3f, p99 latency %.3f' % (
      '$1 $2', ${sum[pcmig.iops]} / ${sum[linear.iops]},
      ${sum[pcmig.p50]} / ${sum[linear.p50]}, ${sum[pcmig.p99]} / ${sum[linear.p99]}))"
	unset sum
done
echo "bitmaps after the runs:"
pcmigd bitmap list bench
