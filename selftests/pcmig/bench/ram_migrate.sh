#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Benchmark, inside the test VM: migrating the guest RAM of pcmig-vmm
# guests between the two namespaces of lib/netns.sh (issue 4, "Benchmark").
# One migration at a time (source and destination VMM both hold the
# guest's RAM), each VMM gone before the next starts.
#
#  1. Precopy throughput of pcmig against raw TCP (tcp_blast, 256 MiB,
#     before and after the migrations) between the same namespaces, and
#     the CPU time of the source's worker kthread (pcmig-src/N, utime +
#     stime sampled from /proc every 0.2 s) per GiB sent.  The guests fill
#     their working set (all of RAM) with data in one burst, then sleep:
#     idle while they migrate, and few zero pages.  Throughput is taken
#     over the first pass (sampled bytes_sent), and over the whole run.
#  2. Total time and downtime against guest RAM size (64, 256, 512 MiB,
#     full and idle: the same runs as part 1) and against the dirty rate
#     (256 MiB with a 64 MiB working set: idle, 200 and 1000 random
#     writes/s).  Beside the downtime: what S2 expected, the limit, and
#     whether the limit held whenever the source stopped on its own (rule
#     S2); "re-sent" is the pages sent beyond one copy of RAM, what the
#     guest dirtied meanwhile.  A migration not done after
#     BENCH_MIG_TIMEOUT s is cancelled and shown as such.
#  3. Guest slowdown while tracking is on: the workload's operations per
#     second (from the VMM's status counters over BENCH_WINDOW s) before,
#     during (a migration kept iterating in precopy by --max-bandwidth,
#     then cancelled) and after, as a ratio.
#
# Nothing here asserts a speed: a migration that did not complete, or a
# wrong digest, prints a "warning:" line and the bench goes on.
#
# Environment: BENCH_PARTS (default "1 2 3"; part 1 runs the size rows of
# part 2), BENCH_WINDOW (s, default 5), BENCH_MIG_TIMEOUT (s, default 90),
# BENCH_SIZES (MiB, default "64 256 512"), BENCH_PACES (µs between bursts
# of 100 writes per vCPU for the dirty-rate rows, or "idle"; default
# "idle 1000000 200000").

set -uo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../lib/netns.sh
. "$HERE/lib/netns.sh"
# shellcheck source=../lib/mig.sh
. "$HERE/lib/mig.sh"
# shellcheck source=lib.bash
. "$HERE/bench/lib.bash"
trap cleanup EXIT

PARTS=${BENCH_PARTS:-1 2 3}
WINDOW=${BENCH_WINDOW:-5}
MIG_TIMEOUT=${BENCH_MIG_TIMEOUT:-90}
SIZES=${BENCH_SIZES:-64 256 512}
PACES=${BENCH_PACES:-idle 1000000 200000}
PORT=4448
TPORT=4449
VCPUS=2
BLAST_BYTES=$((256 << 20))
HZ=$(getconf CLK_TCK)

# digest_of FILE: the digest the guest printed in a VMM's output.
digest_of() { sed -n 's/^digest \(0x[0-9a-f]*\) .*/\1/p' "$1"; }

# ---- one migration --------------------------------------------------------

# sampler FILE: every 0.2 s "ms ticks bytes_sent passes phase": the CPU
# ticks of the source worker kthread, the source session's statistics
# every other time (those need a pcmigd; "-" when not read).
sampler() {
	local out=$1 pid='' line ticks js b p ph i=0
	local -a f
	while :; do
		if [ -z "$pid" ] || [ ! -e "/proc/$pid/stat" ]; then
			pid=$(grep -lx 'pcmig-src/[0-9]*' /proc/[0-9]*/comm 2>/dev/null |
			      head -n 1 | cut -d/ -f3)
		fi
		ticks=-
		if [ -n "$pid" ] && read -r line 2>/dev/null <"/proc/$pid/stat"; then
			# after "(comm) ": state is field 0, utime 11, stime 12
			read -ra f <<<"${line##*) }"
			ticks=$((f[11] + f[12]))
		fi
		b=- p=- ph=-
		if [ $((i++ % 2)) -eq 0 ]; then
			js=$(in_src pcmigd status --json 2>/dev/null)
			[[ $js =~ \"bytes_sent\":\ *([0-9]+) ]] && b=${BASH_REMATCH[1]}
			[[ $js =~ \"passes\":\ *([0-9]+) ]] && p=${BASH_REMATCH[1]}
			[[ $js =~ \"phase\":\ *\"([a-z]+)\" ]] && ph=${BASH_REMATCH[1]}
		fi
		echo "$(now_ms) $ticks $b $p $ph" >>"$out"
		nap 0.2
	done
}

# migrate NAME SHAPE WL READY [MIGRATE ARGS]: source VMM running the guest
# (READY NAME-s waits until it is worth migrating), destination VMM, both
# pcmigd, the sampler; cancelled after MIG_TIMEOUT s.  Leaves the source
# JSON in $WORK/NAME.json, the samples in $WORK/NAME.samples, and
# M_CANCELLED (1 if we cancelled it), SRC_RC, SVMM, DVMM, READY_S (s
# until the guest was ready), MIG_S (s the source pcmigd ran).
migrate() {
	local name=$1 shape=$2 wl=$3 ready=$4 spl
	shift 4
	M_CANCELLED=0 SRC_RC=-
	guests_up "$name" "$shape" "$wl" "$ready" || return 1
	pcmigd_incoming "$name"
	sampler "$WORK/$name.samples" &
	spl=$!
	PIDS+=("$spl")
	pcmigd_migrate "$name" "$MIG_TIMEOUT" "$@"
	nap 0.3		# a last sample of the kthread, if it is still there
	kill "$spl" 2>/dev/null
	wait "$spl" 2>/dev/null
	pcmigd_done "$name"
	return 0
}

# result NAME: one line of the source's statistics and the samples:
# "phase bytes elapsed_ms downtime_ms limit passes pages zero dirty_rate
#  not_converging stopped first_pass_Bps cpu_ticks expected_downtime_ms
#  ram_pages".
result() {
	python3 - "$WORK/$1.json" "$WORK/$1.samples" <<'EOF'
import json, os, sys
try:
    d = json.load(open(sys.argv[1]))
except Exception:
    d = {}
st = d.get("stats", {})
g = lambda k: st.get(k, 0)
ticks, pass0 = "-", []
for line in open(sys.argv[2]) if os.path.exists(sys.argv[2]) else []:
    f = line.split()
    if len(f) < 5:
        continue
    if f[1] != "-":
        ticks = f[1]
    if f[2] != "-" and f[3] == "0" and f[4] == "precopy" and int(f[2]) > 0:
        pass0.append((int(f[0]), int(f[2])))
rate = "-"
if len(pass0) >= 2 and pass0[-1][0] - pass0[0][0] >= 1000:
    rate = "%.0f" % ((pass0[-1][1] - pass0[0][1]) * 1000 / (pass0[-1][0] - pass0[0][0]))
print(d.get("phase", "none"), g("bytes_sent"), g("elapsed_ms"), g("downtime_ms"),
      d.get("downtime_limit", 0), g("passes"), g("pages_sent"), g("zero_pages"),
      g("dirty_rate"), g("not_converging"),
      1 if d.get("vmm", {}).get("stop_requested") else 0, rate, ticks,
      g("expected_downtime_ms"), d.get("ram_size", 0) // 4096)
EOF
}

# ---- part 1 and the size rows of part 2 -------------------------------------

# The full guest: every vCPU writes FILL random words of its part of the
# working set (all of RAM), then sleeps 120 s (cut short when the VM
# stops); on the destination it then reports its digest and ends.
full_pages() { echo $((($1 - 2) * 256)); }
full_fill() { echo $(($(full_pages "$1") * 2 / VCPUS)); }
full_wl() {
	local f
	f=$(full_fill "$1")
	echo "seed=41 pages=$(full_pages "$1") write_pct=100 iters=$f burst=$f pace=${2:-120000000}"
}
full_ready() { wait_iters "$1" "$FILL" 300; }

# finish_dst NAME FINISH REF: the guest ends on the destination (told to
# with FINISH=1), with the digest REF if given; the source VMM quits.
finish_dst() {
	local d
	[ "$2" = 1 ] && ctl "$1-d" finish >/dev/null 2>&1
	wait_exit "$DVMM" 120
	if [ "$RC" -ne 0 ] || ! grep -q '^result finished status 0' "$WORK/$1-d.out"; then
		[ "$SRC_RC" = 0 ] && warn "$1: destination VMM exit $RC: $(grep '^result' "$WORK/$1-d.out")"
	elif [ -n "${3:-}" ]; then
		d=$(digest_of "$WORK/$1-d.out")
		if [ "$d" = "$3" ]; then
			echo "$1: digest $d equals the unmigrated run's"
		else
			warn "$1: digest $d, unmigrated $3"
		fi
	fi
	ctl "$1-s" quit >/dev/null 2>&1
	wait_exit "$SVMM" 30
}

declare -A ROW		# NAME -> result line
declare -A LABEL	# NAME -> the guest, in words

size_rows() {
	local mib ref
	for mib in $SIZES; do
		FILL=$(full_fill "$mib")
		ref=
		if [ "$mib" -eq 64 ]; then
			# The unmigrated digest (pacing does not change it).
			"$VMM" --vcpus $VCPUS --mem "$mib" --slots 2 --kernel "$GUEST" \
				--append "$(full_wl "$mib" 0)" >"$WORK/ref.out" 2>&1 ||
				warn "unmigrated run: $(tail -n 2 "$WORK/ref.out")"
			ref=$(digest_of "$WORK/ref.out")
		fi
		t0=$SECONDS
		migrate "full$mib" "--vcpus $VCPUS --mem $mib --slots 2" "$(full_wl "$mib")" full_ready &&
			finish_dst "full$mib" 0 "$ref"
		ROW[full$mib]=$(result "full$mib")
		LABEL[full$mib]="$mib MiB full, idle"
		echo "($mib MiB: guest ready in $READY_S s, migrated in $MIG_S s, $((SECONDS - t0)) s in all)"
	done
}

print_part1() {
	local n
	echo
	echo "== 1. precopy throughput: pcmig against raw TCP between the namespaces"
	printf "%-22s %10s %11s %11s %9s %11s\n" sender "MiB sent" "1st pass" overall "CPU s" "CPU s/GiB"
	printf "%-22s %10s %11s %11s %9s %11s\n" "" "" "MiB/s" "MiB/s" "" ""
	awk -v b="$T1B" -v s="$T1S" 'BEGIN { printf "%-22s %10.1f %11s %11.1f %9s %11s\n", "tcp_blast (before)", b / 1048576, "-", b / 1048576 / s, "-", "-" }'
	awk -v b="$T2B" -v s="$T2S" 'BEGIN { printf "%-22s %10.1f %11s %11.1f %9s %11s\n", "tcp_blast (after)", b / 1048576, "-", b / 1048576 / s, "-", "-" }'
	for n in $(for m in $SIZES; do echo "full$m"; done); do
		[ -n "${ROW[$n]:-}" ] || continue
		# shellcheck disable=SC2086
		set -- ${ROW[$n]}
		awk -v l="pcmig ${LABEL[$n]%%,*}" -v b="$2" -v e="$3" -v r="${12}" -v t="${13}" -v hz="$HZ" 'BEGIN {
			cpu = t == "-" ? "-" : sprintf("%.2f", t / hz)
			per = t == "-" || b == 0 ? "-" : sprintf("%.2f", t / hz / (b / 1073741824))
			printf "%-22s %10.1f %11s %11.1f %9s %11s\n", l, b / 1048576,
			       r == "-" ? "-" : sprintf("%.1f", r / 1048576),
			       e ? b / 1048576 / (e / 1000) : 0, cpu, per }'
	done
	# shellcheck disable=SC2086
	[ -n "${ROW[full256]:-}" ] && set -- ${ROW[full256]} &&
	awk -v b="$2" -v e="$3" -v r="${12}" -v b1="$T1B" -v s1="$T1S" -v b2="$T2B" -v s2="$T2S" 'BEGIN {
		tcp = (b1 / s1 + b2 / s2) / 2
		printf "ratio pcmig/tcp (256 MiB guest): first pass %s, overall %.3f\n",
		       r == "-" ? "-" : sprintf("%.3f", r / tcp), e ? b / (e / 1000) / tcp : 0 }'
}

# ---- dirty-rate rows of part 2 -----------------------------------------------

# 256 MiB; the vCPUs write 64 MiB of it, 100 words per pacing point.
DIRTY_PAGES=16384
dirty_wl() {
	# idle: one burst, then asleep until the VM stops; it ends after that
	[ "$1" = idle ] && echo "seed=42 pages=$DIRTY_PAGES write_pct=100 iters=100 burst=100 pace=120000000" ||
		echo "seed=42 pages=$DIRTY_PAGES write_pct=100 iters=0 burst=100 pace=$1"
}
dirty_ready() { wait_iters "$1" 100 120; }

dirty_rows() {
	local pace n
	for pace in $PACES; do
		n=paced$pace
		t0=$SECONDS
		migrate "$n" "--vcpus $VCPUS --mem 256 --slots 2" "$(dirty_wl "$pace")" dirty_ready &&
			finish_dst "$n" "$([ "$pace" = idle ] && echo 0 || echo 1)" ""
		ROW[$n]=$(result "$n")
		if [ "$pace" = idle ]; then
			LABEL[$n]="256 MiB, 64 MiB working set, idle"
		else
			LABEL[$n]="256 MiB, 64 MiB w. set, $((VCPUS * 100 * 1000000 / pace)) writes/s"
		fi
		[ $M_CANCELLED = 1 ] && LABEL[$n]+=" (cancelled after $MIG_TIMEOUT s)"
		echo "($n: guest ready in $READY_S s, migrated in $MIG_S s, $((SECONDS - t0)) s in all)"
	done
}

print_part2() {
	local n
	echo
	echo "== 2. total time and downtime against RAM size and dirty rate (downtime limit: pcmigd's default)"
	printf "%-44s %9s %6s %8s %7s %7s %7s %7s %6s %7s %5s %s\n" guest phase passes "MiB sent" \
		"data pg" "zero pg" re-sent "total s" "exp ms" "down ms" limit "within limit"
	for n in $(for m in $SIZES; do echo "full$m"; done) \
		 $(for p in $PACES; do echo "paced$p"; done); do
		[ -n "${ROW[$n]:-}" ] || continue
		# shellcheck disable=SC2086
		set -- ${ROW[$n]}
		awk -v l="${LABEL[$n]}" -v ph="$1" -v b="$2" -v e="$3" -v dt="$4" -v lim="$5" \
		    -v pa="$6" -v pg="$7" -v z="$8" -v nc="${10}" -v st="${11}" -v ex="${14}" \
		    -v rp="${15}" 'BEGIN {
			if (!st)
				w = nc ? "- (not converging, never stopped)" : "- (never stopped)"
			else if (ph != "completed")
				w = "- (stopped, " ph ")"
			else if (dt <= lim)
				w = "yes"
			else
				w = sprintf("NO: over by %d ms", dt - lim)
			printf "%-44s %9s %6d %8.1f %7d %7d %7d %7.1f %6d %7d %5d %s\n", l, ph, pa,
			       b / 1048576, pg, z, pg + z - rp, e / 1000, ex, dt, lim, w }'
	done
}

# ---- part 3 --------------------------------------------------------------------

# kticks: utime + stime of the pcmig worker kthreads (both sides).
kticks() {
	local c t=0 line
	local -a f
	for c in $(grep -lEx 'pcmig-(src|dst)/[0-9]+' /proc/[0-9]*/comm 2>/dev/null); do
		read -r line 2>/dev/null <"${c%comm}stat" || continue
		read -ra f <<<"${line##*) }"
		t=$((t + f[11] + f[12]))
	done
	echo $t
}

# ops_rate NAME SEC: operations per second of all vCPUs over SEC seconds.
ops_rate() {
	local a0=0 a1=0 n t0 t1
	t0=$(now_ms)
	for n in $(iters "$1"); do a0=$((a0 + n)); done
	nap "$2"
	t1=$(now_ms)
	for n in $(iters "$1"); do a1=$((a1 + n)); done
	echo $(((a1 - a0) * 1000 / (t1 - t0)))
}

slow_ready() { wait_iters "$1" 20000 60; }

# A guest flat out on 1 vCPU (the machine has 2 CPUs: the other is left
# to the migration), 8 MiB working set, half writes.  4 MiB/s keeps the
# migration iterating: each pass has 8 MiB to send.
part3() {
	local shape="--vcpus 1 --mem 32 --slots 2" src_pid end
	local wl="seed=43 pages=2048 write_pct=50 iters=0 burst=4096 pace=0"
	local before during after k0 k1 t1 t2 kcpu
	t0=$SECONDS
	# shellcheck disable=SC2086 # SHAPE is a list of options
	vmm_bg src slow-s $shape --kernel "$GUEST" --append "$wl" || return
	SVMM=$BG
	# shellcheck disable=SC2086
	vmm_bg dst slow-d $shape --incoming || return
	DVMM=$BG
	slow_ready slow-s || return
	before=$(ops_rate slow-s "$WINDOW")
	ip netns exec "$NS_DST" pcmigd incoming --listen "$ADDR_DST:$PORT" \
		--vmm "$WORK/slow-d.sock" >"$WORK/slow.dlog" 2>&1 &
	dst=$!
	PIDS+=("$dst")
	wait_port "$PORT"
	ip netns exec "$NS_SRC" pcmigd migrate --to "$ADDR_DST:$PORT" \
		--vmm "$WORK/slow-s.sock" --max-bandwidth 4M >"$WORK/slow.log" 2>&1 &
	src_pid=$!
	PIDS+=("$src_pid")
	# Measure from the second pass on: tracking on, harvests each pass.
	end=$((SECONDS + 60))
	until [[ $(in_src pcmigd status --json 2>/dev/null) =~ \"passes\":\ *([1-9][0-9]*) ]]; do
		[ $SECONDS -lt $end ] && kill -0 "$src_pid" 2>/dev/null || break
		nap 0.2
	done
	k0=$(kticks) t1=$(now_ms)
	during=$(ops_rate slow-s "$WINDOW")
	k1=$(kticks) t2=$(now_ms)
	kcpu=$(((k1 - k0) * 100000 / HZ / (t2 - t1)))
	in_src pcmigd status --json >"$WORK/slow.status" 2>&1
	kill -0 "$src_pid" 2>/dev/null ||
		warn "the migration was not running any more at the end of the window"
	in_src pcmigd cancel >/dev/null 2>&1 || warn "pcmigd cancel failed"
	wait_exit "$src_pid" 30
	grep -q '^VM left running on this host' "$WORK/slow.log" ||
		warn "slow: source pcmigd exit $RC: $(grep -E '^pcmigd:|^VM ' "$WORK/slow.log")"
	wait_exit "$dst" 30
	wait_exit "$DVMM" 30
	after=$(ops_rate slow-s "$WINDOW")
	ctl slow-s finish >/dev/null 2>&1
	wait_exit "$SVMM" 60
	[ "$RC" -eq 0 ] || warn "slow: source VMM exit $RC after the cancel"
	echo "(part 3: $((SECONDS - t0)) s)"
	echo
	echo "== 3. guest slowdown while tracking is on (1 vCPU flat out, 8 MiB written, ${WINDOW} s windows)"
	python3 - "$before" "$during" "$after" "$WORK/slow.status" "$kcpu" <<'EOF'
import json, sys
b, d, a = (int(x) for x in sys.argv[1:4])
kcpu = int(sys.argv[5])
try:
    s = json.load(open(sys.argv[4]))["sessions"][0]
    st = s["stats"]
    info = "(then: phase %s, pass %d, %s)" % (
        s["phase"], st.get("passes", 0),
        "not converging" if st.get("not_converging") else "converging")
except Exception:
    info = "(no session status)"
print("%-34s %12s" % ("window", "ops/s"))
print("%-34s %12d" % ("before the migration", b))
print("%-34s %12d  %s" % ("migration in precopy, 4 MiB/s", d, info))
print("%-34s %12d" % ("after the cancel", a))
base = (b + a) / 2
print("ratio with tracking / without: %.3f" % (d / base if base else 0))
print("(pcmig kthreads, both sides, used %d%% of a CPU during that window)" % kcpu)
EOF
}

# ---- main --------------------------------------------------------------------

bench_start ram_migrate
T0=$SECONDS
echo "guest: $VCPUS vCPUs, 2 memslots; CPU ticks: $HZ/s; kernel $(uname -r)"
if part 1 || part 2; then
	tcp_blast
	T1B=$TB T1S=$TS
	size_rows
	tcp_blast
	T2B=$TB T2S=$TS
	print_part1
fi
if part 2; then
	dirty_rows
	print_part2
fi
part 3 && part3
echo
echo "(whole bench: $((SECONDS - T0)) s)"
