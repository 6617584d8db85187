#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Benchmark, inside the test VM: RAM postcopy of pcmig-vmm guests between
# the two namespaces of lib/netns.sh (issue 5, "Benchmark").  One
# migration at a time, each VMM gone before the next starts.
#
#  1. A guest that does not converge in precopy (1 vCPU rewriting a 4 MiB
#     working set of its 8 MiB many times a second, --max-bandwidth 1M on
#     every run): total time and downtime of postcopy (--postcopy-after
#     auto, and passes:1) against the best precopy can do, in the same
#     run with the same guest: precopy with the default downtime limit,
#     which never ends and is cancelled after BENCH_PC_CANCEL s, and
#     precopy with a downtime limit raised to twice the working set's
#     time at max-bandwidth (large enough for S2 to stop it), whose
#     downtime is the price.
#  2. Fault latency against the round-trip time set by tc netem on the
#     veth pair (RTT 0, 1 and 5 ms: netem delay RTT/2 on the egress of
#     both veth-src and veth-dst, so each direction gets half; a TCP
#     ping-pong between the namespaces measures the RTT actually seen).
#     A busy guest (1 vCPU, 8 MiB working set of 16 MiB, reads and
#     writes), postcopy at once (passes:0), the background stream held
#     at --max-postcopy-bandwidth 2M so that the guest faults for
#     seconds rather than racing the background.  From the destination's
#     final JSON: faults, p50/p99/max latency (request to page present);
#     goal = 1.5 x RTT + one 4 KiB page at the source's measured
#     bandwidth, and p99/goal.
#  3. Background stream throughput during postcopy against raw TCP
#     (tcp_blast, before and after) between the same namespaces: a
#     64 MiB guest fills its RAM, then sleeps; postcopy at once, no
#     bandwidth limit.  "pcmigd monitor --json" in the source's namespace
#     records the source's phase events with the kernel's elapsed_ms:
#     the postcopy phase lasts from its "postcopy" event to the final
#     elapsed_ms.  Throughput = pages_background x 4 KiB over that
#     duration; also the wire bytes (bytes_sent) over the same span.
#
# Nothing here asserts a speed: a migration that did not complete prints
# a "warning:" line and the bench goes on.
#
# Environment: BENCH_PC_PARTS (default "1 2 3"), BENCH_PC_CANCEL (s,
# default 30), BENCH_PC_RTTS (ms, default "0 1 5"), BENCH_MIG_TIMEOUT
# (s, default 120: any other migration not done by then is cancelled).

set -uo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../lib/netns.sh
. "$HERE/lib/netns.sh"
# shellcheck source=../lib/mig.sh
. "$HERE/lib/mig.sh"
# shellcheck source=lib.bash
. "$HERE/bench/lib.bash"
trap 'netem_off; cleanup' EXIT

PARTS=${BENCH_PC_PARTS:-1 2 3}
CANCEL_S=${BENCH_PC_CANCEL:-30}
RTTS=${BENCH_PC_RTTS:-0 1 5}
MIG_TIMEOUT=${BENCH_MIG_TIMEOUT:-120}
PORT=4450
TPORT=4451
EPORT=4452
BLAST_BYTES=$((128 << 20))

# ---- one migration --------------------------------------------------------

# The source's events (pcmigd monitor --json in its namespace), written
# to $WORK/NAME.mon while NAME migrates: every phase change and a few
# progress events a second, each with the session's statistics as the
# kernel had them (elapsed_ms included), so the phase changes are timed
# exactly, without polling.
# migrate NAME SHAPE WL READY CAPS CANCEL_S [MIGRATE ARGS]: source VMM
# running guest WL (READY NAME-s waits until it is worth migrating),
# destination VMM, pcmigd incoming with --caps CAPS ("" for none) and
# pcmigd migrate with the same caps and MIGRATE ARGS; cancelled after
# CANCEL_S s, with the source's events in NAME.mon.  Then the guest is
# told to finish (END_CMD=quit: the VMM to quit) wherever it runs and
# both VMMs end.  Leaves $WORK/NAME.json
# (source), NAME.djson (destination), NAME.mon, and M_CANCELLED.
migrate() {
	local name=$1 shape=$2 wl=$3 ready=$4 caps=$5 limit=$6 mon
	local -a capv=()
	shift 6
	[ -n "$caps" ] && capv=(--caps "$caps")
	M_CANCELLED=0
	# The monitor first: it takes a while to subscribe.
	ip netns exec "$NS_SRC" pcmigd monitor --json >"$WORK/$name.mon" 2>&1 &
	mon=$!
	PIDS+=("$mon")
	guests_up "$name" "$shape" "$wl" "$ready" || { kill -9 "$mon" 2>/dev/null; return 1; }
	pcmigd_incoming "$name" "${capv[@]}"
	pcmigd_migrate "$name" "$limit" "${capv[@]}" "$@"
	nap 0.2		# the last events
	kill "$mon" 2>/dev/null
	wait "$mon" 2>/dev/null
	pcmigd_done "$name"
	# The guest ends where it runs now; the other VMM ends by itself
	# (told to quit, or incoming failed).
	if [ "$SRC_RC" -eq 0 ]; then
		ctl "$name-d" "${END_CMD:-finish}" >/dev/null 2>&1
		wait_exit "$DVMM" 60
		[ "$RC" -eq 0 ] || [ "${END_CMD:-finish}" = quit ] || warn "$name: destination VMM exit $RC: $(grep '^result' "$WORK/$name-d.out")"
		wait_exit "$SVMM" 30
	else
		ctl "$name-s" finish >/dev/null 2>&1 || ctl "$name-s" quit >/dev/null 2>&1
		wait_exit "$SVMM" 60
		wait_exit "$DVMM" 30
	fi
	return 0
}

# ---- RTT between the namespaces ----------------------------------------------

# rtt_ms: "MIN/MEDIAN" of 50 one-byte TCP round trips (TCP_NODELAY), ms.
rtt_ms() {
	local r
	ip netns exec "$NS_DST" python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(1)
c, _ = s.accept(); c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
while True:
    b = c.recv(1)
    if not b:
        break
    c.sendall(b)' "$ADDR_DST" "$EPORT" &
	r=$!
	PIDS+=("$r")
	wait_port $EPORT || return
	in_src python3 -c '
import socket, sys, time
c = socket.create_connection((sys.argv[1], int(sys.argv[2])))
c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
t = []
for i in range(51):
    t0 = time.monotonic(); c.sendall(b"x"); c.recv(1)
    if i:
        t.append(time.monotonic() - t0)
t.sort()
print("%.2f/%.2f" % (t[0] * 1000, t[len(t) // 2] * 1000))' "$ADDR_DST" "$EPORT"
	wait_exit "$r" 10
}

# netem RTT_MS: delay RTT/2 on the egress of each end of the veth pair.
netem() {
	local half
	netem_off
	[ "$1" = 0 ] && return 0
	half=$(awk -v r="$1" 'BEGIN { printf "%dus", r * 500 }')
	tc -n "$NS_SRC" qdisc add dev veth-src root netem delay "$half" limit 100000 &&
	tc -n "$NS_DST" qdisc add dev veth-dst root netem delay "$half" limit 100000
}
netem_off() {
	tc -n "$NS_SRC" qdisc del dev veth-src root 2>/dev/null
	tc -n "$NS_DST" qdisc del dev veth-dst root 2>/dev/null
	return 0
}

# ---- the analysis (one python for every table) ---------------------------------

# report PART ARGS...: prints the table of that part from $WORK.
report() {
	python3 - "$WORK" "$@" <<'EOF'
import json, os, sys

work, part, args = sys.argv[1], sys.argv[2], sys.argv[3:]

def load(path):
    try:
        txt = open(path).read()
    except OSError:
        return {}
    try:
        return json.loads(txt)
    except ValueError:
        for line in txt.splitlines():
            if line.startswith("{"):
                try:
                    return json.loads(line)
                except ValueError:
                    pass
    return {}

def res(name):
    s, d = load("%s/%s.json" % (work, name)), load("%s/%s.djson" % (work, name))
    r = {"s": s, "d": d, "st": s.get("stats", {}), "dst": d.get("stats", {})}
    r["spc"] = s.get("postcopy") or r["st"].get("postcopy") or {}
    r["dpc"] = d.get("postcopy") or r["dst"].get("postcopy") or {}
    r["phase"] = s.get("phase", "none")
    return r

def events(name):
    """The source's events: (elapsed_ms, event, phase, stats, postcopy)."""
    out = []
    try:
        f = open("%s/%s.mon" % (work, name))
    except OSError:
        return out
    for line in f:
        try:
            e = json.loads(line)
        except ValueError:
            continue
        ss = e.get("session") or {}
        if ss.get("role") != "source":
            continue
        st = ss.get("stats", {})
        out.append((st.get("elapsed_ms", 0), e.get("event"), ss.get("phase"), st,
                    ss.get("postcopy") or st.get("postcopy") or {}))
    return out

def phase_ev(name, phase):
    for x in events(name):
        if x[1] == "phase" and x[2] == phase:
            return x
    return None

MiB = 1048576.0

if part == "1":
    cancel_s, limit_ms = args[0], args[1]
    rows = [("nc-pre", "precopy, default downtime limit"),
            ("nc-prelim", "precopy, downtime limit %s ms" % limit_ms),
            ("nc-auto", "postcopy-after auto"),
            ("nc-p1", "postcopy-after passes:1")]
    print("%-34s %-10s %7s %6s %8s %8s %7s %6s %6s %7s %7s" % ("migration", "phase",
          "total s", "passes", "MiB sent", "down ms", "asked s", "stop s", "pc s",
          "pg req", "pg bg"))
    tot = {}
    for n, label in rows:
        r = res(n)
        st, pc = r["st"], r["spc"]
        if not r["s"]:
            print("%-34s (no result)" % label)
            continue
        if r["phase"] == "cancelled" and os.path.exists("%s/%s.cancelled" % (work, n)):
            print("%-34s %-10s did not finish in %s s (%d passes, %.1f MiB sent%s)" % (
                  label, "cancelled", cancel_s, st.get("passes", 0),
                  st.get("bytes_sent", 0) / MiB,
                  ", not converging" if st.get("not_converging") else ""))
            continue
        pa = r["s"].get("postcopy_after", {})
        asked = "%.1f" % (pa["elapsed_ms"] / 1000.0) if pa.get("fired") else "-"
        stop, pcs = phase_ev(n, "stopped"), phase_ev(n, "postcopy")
        end = st.get("elapsed_ms", 0)
        print("%-34s %-10s %7.1f %6d %8.1f %8d %7s %6s %6s %7s %7s" % (label, r["phase"],
              end / 1000.0, st.get("passes", 0), st.get("bytes_sent", 0) / MiB,
              st.get("downtime_ms", 0), asked,
              "%.1f" % (stop[0] / 1000.0) if stop else "-",
              "%.1f" % ((end - pcs[0]) / 1000.0) if pcs else "-",
              pc.get("pages_requested", "-"), pc.get("pages_background", "-")))
        if r["phase"] == "completed":
            tot[n] = (end, st.get("downtime_ms", 0))
    for pcn in ("nc-auto", "nc-p1"):
        if pcn in tot and "nc-prelim" in tot:
            a, b = tot[pcn], tot["nc-prelim"]
            print("ratio %s / precopy with the raised limit: total time %.2f, downtime %s" % (
                  pcn[3:] if pcn == "nc-auto" else "passes:1",
                  a[0] / b[0] if b[0] else 0,
                  "%.3f" % (a[1] / b[1]) if b[1] else "-"))
    if "nc-auto" in tot and "nc-pre" not in tot:
        print("(precopy with the default limit: no total time to compare, it never ended)")

elif part == "2":
    tcp = float(args.pop(0))
    print("%-7s %11s %7s %8s %8s %8s %8s %10s %9s %8s %8s %8s %10s" % ("RTT ms", "seen ms",
          "faults", "requests", "p50 us", "p99 us", "max us", "src bw", "page us",
          "goal us", "p50/goal", "p99/goal", "blocked ms"))
    for a in args:
        rtt, seen = a.split(":")
        n = "lat%s" % rtt
        r = res(n)
        dpc, st = r["dpc"], r["st"]
        lat = dpc.get("latency_us", {})
        if r["phase"] != "completed" or not lat:
            print("%-7s %11s (migration %s)" % (rtt, seen, r["phase"]))
            continue
        bw = st.get("bandwidth", 0)
        page_us = 4096e6 / tcp if tcp > 0 else 0
        goal = 1.5 * float(rtt) * 1000 + page_us
        blocked = sum(t.get("blocked_us", 0) for t in dpc.get("threads", [])) / 1000.0
        p50, p99 = lat.get("p50", 0), lat.get("p99", 0)
        print("%-7s %11s %7d %8d %8d %8d %8d %10.1f %9.1f %8.0f %8.2f %8.2f %10.1f" % (
              rtt, seen, dpc.get("faults", 0), dpc.get("requests", 0), p50, p99,
              lat.get("max", 0), bw / MiB, page_us, goal, p50 / goal if goal else 0,
              p99 / goal if goal else 0, blocked))

elif part == "3":
    b1, s1, b2, s2 = (float(x) for x in args[:4])
    tcp = [b / s for b, s in ((b1, s1), (b2, s2)) if b > 0 and s > 0]
    r = res("bg")
    st, pc = r["st"], r["spc"]
    print("%-30s %10s %8s %10s" % ("sender", "MiB", "s", "MiB/s"))
    for lab, b, s in (("tcp_blast (before)", b1, s1), ("tcp_blast (after)", b2, s2)):
        print("%-30s %10.1f %8.3f %10.1f" % (lab, b / MiB, s, b / MiB / s if s else 0))
    if r["phase"] != "completed":
        print("pcmig postcopy background: migration %s" % r["phase"])
        sys.exit(0)
    end = st.get("elapsed_ms", 0)
    ev = events("bg")
    sw = phase_ev("bg", "postcopy")
    stop = phase_ev("bg", "stopped")
    pb = pc.get("pages_background", 0)
    if not sw:
        print("pcmig postcopy background: no postcopy phase event (%d events)" % len(ev))
        sys.exit(0)
    dur = (end - sw[0]) / 1000.0
    pb0 = sw[4].get("pages_background", 0)
    wire = (st.get("bytes_sent", 0) - sw[3].get("bytes_sent", 0)) / MiB
    rate = (pb - pb0) * 4096 / MiB / dur if dur > 0 else 0
    print("%-30s %10.1f %8.3f %10.1f" % ("pcmig postcopy background", (pb - pb0) * 4096 / MiB,
          dur, rate))
    print("%-30s %10.1f %8.3f %10.1f" % ("  (wire bytes, same span)", wire, dur,
          wire / dur if dur > 0 else 0))
    print("(postcopy phase from elapsed %d ms to %d ms; stopped at %s ms, downtime %d ms;"
          " %d pages background, %d on request, %d zero pages in all; %d progress events"
          " in postcopy)" % (sw[0], end, stop[0] if stop else "-", st.get("downtime_ms", 0),
          pb, pc.get("pages_requested", 0), st.get("zero_pages", 0),
          len([x for x in ev if x[1] == "progress" and x[2] == "postcopy"])))
    if tcp:
        t = sum(tcp) / len(tcp)
        print("ratio postcopy background / tcp_blast: %.3f (wire bytes: %.3f)" % (
              rate / (t / MiB), (wire / dur if dur > 0 else 0) / (t / MiB)))
EOF
}

# ---- part 1: not converging ----------------------------------------------------

# 8 MiB, 1 vCPU rewriting a 4 MiB working set (as postcopy_ram_test.sh's
# "nc" case, but until told to finish); every run at 1 MiB/s.
NC_SHAPE="--mem 8"
NC_WS_MIB=4
NC_BW_MIB=1
NC_WL="seed=33 pages=$((NC_WS_MIB * 256)) write_pct=90 iters=0 burst=200 pace=20000"
busy_ready() { wait_iters "$1" 1000 60; }

part1() {
	local t0=$SECONDS lim=$((2 * NC_WS_MIB * 1000 / NC_BW_MIB))
	local bw="--max-bandwidth ${NC_BW_MIB}M"
	# shellcheck disable=SC2086
	migrate nc-pre "$NC_SHAPE" "$NC_WL" busy_ready "" "$CANCEL_S" $bw
	[ $M_CANCELLED = 1 ] && touch "$WORK/nc-pre.cancelled"
	# shellcheck disable=SC2086
	migrate nc-prelim "$NC_SHAPE" "$NC_WL" busy_ready "" "$MIG_TIMEOUT" $bw --downtime-limit $lim
	[ $M_CANCELLED = 1 ] && touch "$WORK/nc-prelim.cancelled"
	# shellcheck disable=SC2086
	migrate nc-auto "$NC_SHAPE" "$NC_WL" busy_ready postcopy-ram "$MIG_TIMEOUT" $bw \
		--postcopy-after auto
	# shellcheck disable=SC2086
	migrate nc-p1 "$NC_SHAPE" "$NC_WL" busy_ready postcopy-ram "$MIG_TIMEOUT" $bw \
		--postcopy-after passes:1
	echo "(part 1: $((SECONDS - t0)) s)"
	echo
	echo "== 1. not converging in precopy: 8 MiB guest rewriting 4 MiB, --max-bandwidth ${NC_BW_MIB}M on every run"
	report 1 "$CANCEL_S" "$lim"
}

# ---- part 2: fault latency against RTT --------------------------------------------

LAT_SHAPE="--mem 16"
LAT_WL="seed=31 pages=2048 write_pct=50 iters=0 burst=100 pace=20000"

part2() {
	local t0=$SECONDS rtt seen list=()
	tcp_blast
	for rtt in $RTTS; do
		netem "$rtt" || { warn "tc netem failed: RTT $rtt ms not measured"; continue; }
		seen=$(rtt_ms)
		migrate "lat$rtt" "$LAT_SHAPE" "$LAT_WL" busy_ready postcopy-ram "$MIG_TIMEOUT" \
			--postcopy-after passes:0 --max-postcopy-bandwidth 2M
		netem_off
		list+=("$rtt:${seen:--}")
	done
	echo "(part 2: $((SECONDS - t0)) s)"
	echo
	echo "== 2. fault latency against RTT (netem RTT/2 each way; postcopy at once; busy 16 MiB guest; background 2 MiB/s)"
	echo "(goal = 1.5 x RTT + 4 KiB at raw TCP's $(awk -v b="$TB" -v s="$TS" 'BEGIN { printf "%.1f", b / 1048576 / s }') MiB/s; seen: TCP ping-pong RTT, min/median of 50)"
	report 2 "$(awk -v b="$TB" -v s="$TS" 'BEGIN { print b / s }')" "${list[@]}"
}

# ---- part 3: background throughput -------------------------------------------------

# 64 MiB, 1 vCPU writing 6 random words per page of all its RAM (few zero
# pages left), then asleep for 120 s, in which it migrates.  The stop
# cuts the sleep short, so on the destination the vCPU starts its next
# burst at once: its faults are bounded by their latency (a few hundred
# pages on request, against ~16000 in the background; the table says how
# many).  A guest that ended instead (iters=N) would read all of its RAM
# for its digest and exit during postcopy, and the migration fails when
# the destination VMM exits before it completes.  The VMM is told to
# quit after.
BG_MIB=64
BG_PAGES=$(((BG_MIB - 2) * 256))
BG_WL="seed=41 pages=$BG_PAGES write_pct=100 iters=0 burst=$((BG_PAGES * 6)) pace=120000000"
bg_ready() { wait_iters "$1" $((BG_PAGES * 6)) 300; }

part3() {
	local t0=$SECONDS
	tcp_blast
	local b1=$TB s1=$TS
	END_CMD=quit migrate bg "--mem $BG_MIB" "$BG_WL" bg_ready postcopy-ram "$MIG_TIMEOUT" \
		--postcopy-after passes:0
	tcp_blast
	echo "(part 3: $((SECONDS - t0)) s)"
	echo
	echo "== 3. postcopy background stream against raw TCP ($BG_MIB MiB guest filled, postcopy at once)"
	report 3 "$b1" "$s1" "$TB" "$TS"
}

# ---- main ---------------------------------------------------------------------------

bench_start postcopy
T0=$SECONDS
echo "kernel $(uname -r); guests of 1 vCPU"
part 1 && part1
part 2 && part2
part 3 && part3
echo
echo "(whole bench: $((SECONDS - T0)) s)"
