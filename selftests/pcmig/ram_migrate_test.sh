#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Guest RAM migration end to end (issue 4) between the two test hosts of
# lib/netns.sh: the source pcmig-vmm runs the project's guest in the
# source namespace, a pcmig-vmm --incoming of the same shape waits in the
# destination namespace, and pcmigd migrate/incoming --vmm drive them
# through their control sockets.  The oracle: the destination VMM, when
# the guest finishes there, prints exactly the digest of an unmigrated run
# with the same guest parameters (Documentation/pcmig/vmm.rst).
#
# Checked: an idle guest, a busy one that converges, 3 vCPUs, 5 memslots,
# the dirty ring (with ring-full exits the VMM waits out) and the dirty
# bitmap, --max-bandwidth; a guest that dirties faster than the link keeps
# iterating, is reported not converging and is cancelled: the source runs
# on and its digest is still right, the destination VMM is told to quit;
# faults: either pcmigd killed (-9) in precopy and in the stopped phase,
# the destination VMM killed, the source VMM killed: each error reported
# by pcmigd with its cause, the source guest running on (and right)
# wherever that is still possible, no session left.  run-in-vm.sh checks
# the kernel log after the suite.
#
# Needs /dev/kvm (the test VM loads kvm-amd) and pcmig.ko; guest RAM stays
# at 8-32 MiB: KVM runs nested under TCG here.

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=${PCMIG_ROOT:-$(cd "$HERE/../.." && pwd)}
# shellcheck source=lib/tap.sh
. "$HERE/lib/tap.sh"
# shellcheck source=lib/netns.sh
. "$HERE/lib/netns.sh"
# shellcheck source=lib/mig.sh
. "$HERE/lib/mig.sh"

PORT=4447
NTESTS=20
# shellcheck source=lib/vmm_mig.sh
. "$HERE/lib/vmm_mig.sh"
trap cleanup EXIT

# A guest that sleeps most of the time: few pages dirtied.
t_idle() {
	migrate_ok idle "--mem 16" "seed=21 pages=256 write_pct=5 iters=2000 burst=50 pace=200000"
}

# A busy guest (8 MiB working set, 2500 writes/s) converges: pages it
# dirtied went again (more pages sent than the VM has).
t_busy() {
	migrate_ok busy "--mem 16" "seed=22 pages=2048 write_pct=50 iters=40000 burst=100 pace=20000" \
		--json || return 1
	python3 - "$WORK/busy.src" <<'EOF'
import json, sys
for line in open(sys.argv[1]):
    if line.startswith("{"):
        st = json.loads(line)["stats"]
        print("passes %d, pages sent %d + zero %d, of %d" % (st["passes"], st["pages_sent"],
              st["zero_pages"], 16 << 8))
        assert st["pages_sent"] + st["zero_pages"] > 16 << 8, st
        break
else:
    sys.exit("no JSON result")
EOF
}

# The rates below keep what a pass leaves dirty within what 300 ms carry
# at the ~15-20 MiB/s of the emulated link, so that these converge.
t_vcpus() {
	migrate_ok vcpus "--vcpus 3 --mem 24" "seed=23 pages=1536 write_pct=20 iters=20000 burst=100 pace=30000"
}

# The working set spans the 5 slots (3.2 MiB each).
t_slots() {
	migrate_ok slots "--vcpus 2 --mem 16 --slots 5" "seed=24 pages=3328 write_pct=10 iters=20000 burst=100 pace=30000"
}

# The dirty ring (small: the vCPUs hit ring-full, the VMM waits while the
# module harvests) and the dirty bitmap (the other cases).
t_ring() {
	migrate_ok ring "--vcpus 2 --mem 16 --slots 3 --dirty-ring 256" \
		"seed=25 pages=1024 write_pct=60 iters=60000 burst=100 pace=10000" || return 1
	grep "^cpu" "$WORK/ring-s.out"
}

t_bitmap() {
	migrate_ok bitmap "--vcpus 2 --mem 16 --slots 3" \
		"seed=25 pages=1024 write_pct=60 iters=60000 burst=100 pace=10000"
}

# --max-bandwidth 4M: the measured bandwidth stays near it.
t_bandwidth() {
	migrate_ok bw "--mem 16 --slots 2" "seed=26 pages=512 write_pct=5 iters=20000 burst=100 pace=50000" \
		--max-bandwidth 4M --json || return 1
	python3 - "$WORK/bw.src" <<'EOF'
import json, sys
for line in open(sys.argv[1]):
    if line.startswith("{"):
        d = json.loads(line)
        bw, sent, ms = d["stats"]["bandwidth"], d["stats"]["bytes_sent"], d["stats"]["elapsed_ms"]
        print(f"bandwidth {bw} B/s, {sent} bytes in {ms} ms, limit {4 << 20}")
        assert d["max_bandwidth"] == 4 << 20, d
        assert 0 < bw <= 4.4 * (1 << 20), bw
        assert sent / (ms / 1000) <= 4.4 * (1 << 20), (sent, ms)
        assert d["vmm"]["outcome"] == "quit", d["vmm"]
        break
else:
    sys.exit("no JSON result")
EOF
}

# ---- not converging, cancelled -----------------------------------------

# 512 pages rewritten all the time at 1 MiB/s: 2 MiB left after every
# pass, which never fits 300 ms.  iters=0 runs until "finish".
NC_WL="seed=27 pages=512 write_pct=100 iters=0 burst=100 pace=2000"

# start_nc NAME: such a migration, iterating (3 passes done).
start_nc() {
	start_migration "$1" "--mem 8" "$NC_WL" --max-bandwidth 1M || return 1
	wait_min src passes 3 30 || { show "$1.src"; return 1; }
}

# It keeps iterating and says so: "not_converging" in status, "precopy,
# not converging" in the progress and the first line of "status".
t_not_converging() {
	local ok=0 exp t0
	start_nc ncr || return 1
	wait_for src not_converging 1 20 && ok=1
	exp=$(json_get src expected_downtime_ms)
	echo "after $(json_get src passes) passes: phase $(json_get src phase), expected downtime $exp ms (limit 300), not_converging $(json_get src not_converging)"
	[ "$(json_get src phase)" = precopy ] && [ "${exp:-0}" -gt 300 ] ||
		{ show ncr.src; return 1; }
	in_src pcmigd status | head -n 1
	t0=$SECONDS
	in_src pcmigd cancel >/dev/null
	wait_src
	wait_dst
	echo "cancelled in $((SECONDS - t0)) s: $(tail -n 1 "$WORK/ncr.src")"
	ctl ncr-s finish >/dev/null
	wait_exit "$SVMM"
	wait_exit "$DVMM"
	[ $ok = 1 ] || { echo "never reported as not converging"; return 1; }
	grep -q "precopy, not converging" "$WORK/ncr.src" || { show ncr.src; return 1; }
}

# Cancelled, the source VM runs on (never stopped) and the destination
# VMM is told to quit.  The source guest's digest, once it is finished,
# equals that of an unmigrated run with the same number of operations (a
# multiple of burst: it writes the same memory).
t_cancel() {
	local n ref d t0
	start_nc nc || return 1
	t0=$SECONDS
	in_src pcmigd cancel || return 1
	wait_src
	wait_dst
	echo "cancelled in $((SECONDS - t0)) s"
	expect_fail nc src 1 "migration cancelled" || return 1
	expect_fail nc dst 1 "cancelled" || return 1
	grep -q "^VM left running on this host" "$WORK/nc.src" || { show nc.src; return 1; }
	grep -q "^destination VMM told to quit" "$WORK/nc.dst" || { show nc.dst; return 1; }
	dest_vmm_quit nc || return 1
	[ "$(vmm_state nc-s)" = running ] || { ctl nc-s status; return 1; }
	ctl nc-s finish >/dev/null
	wait_exit "$SVMM"
	[ "$RC" -eq 0 ] || { echo "source VMM: exit $RC"; cat "$WORK/nc-s.out"; return 1; }
	n=$(sed -n 's/^cpu 0 iters \([0-9]*\) .*/\1/p' "$WORK/nc-s.out")
	ref=$(ref_digest "--mem 8" "${NC_WL/iters=0/iters=$n}") || return 1
	d=$(digest_of "$WORK/nc-s.out")
	echo "source guest ran on: $n operations, digest $d, unmigrated $ref"
	[ -n "$d" ] && [ "$d" = "$ref" ]
}

# ---- faults ----------------------------------------------------------------

# A long precopy: 1 MiB/s for 16 MiB; the guest runs about 8 s.
SLOW_SHAPE="--mem 16 --slots 2"
SLOW_WL="seed=28 pages=1024 write_pct=60 iters=80000 burst=100 pace=10000"
SLOW_ARGS="--max-bandwidth 1M"

# A long stopped phase: a 20 s downtime limit at 2 MiB/s lets S2 stop
# after the first pass with MiBs dirty, sent while the VM is stopped
# (about 4 s).
STOP_SHAPE="--mem 32"
STOP_WL="seed=29 pages=2048 write_pct=100 iters=200000 burst=100 pace=5000"
STOP_ARGS="--max-bandwidth 2M --downtime-limit 20000"

# source_runs_on NAME SHAPE WL: the source guest runs on (or is resumed
# by the caller) and ends with the unmigrated digest.
source_runs_on() {
	local ref d
	ref=$(ref_digest "$2" "$3") || return 1
	wait_exit "$SVMM"
	[ "$RC" -eq 0 ] || { echo "source VMM: exit $RC"; cat "$WORK/$1-s.out" "$WORK/$1-s.err"; return 1; }
	d=$(digest_of "$WORK/$1-s.out")
	echo "source guest finished: digest $d, unmigrated $ref"
	[ -n "$d" ] && [ "$d" = "$ref" ]
}

# dest_vmm_quit NAME: the destination VMM was told to quit (exit 5).
dest_vmm_quit() {
	wait_exit "$DVMM"
	[ "$RC" -eq 5 ] && grep -q "^result stopped" "$WORK/$1-d.out" ||
		{ echo "destination VMM: exit $RC"; cat "$WORK/$1-d.out"; return 1; }
}

# The source pcmigd killed in precopy: its session goes with it, the VM
# was never stopped and runs on; the destination fails and quits its VMM.
t_kill_src_pcmigd_precopy() {
	# shellcheck disable=SC2086
	start_migration ksp "$SLOW_SHAPE" "$SLOW_WL" $SLOW_ARGS || return 1
	wait_pages src 300 || return 1
	kill -9 "$SRC_PID"
	wait_src
	wait_dst
	expect_fail ksp dst 1 "migration (failed|cancelled).*reason: .+" || return 1
	grep -q "^destination VMM told to quit" "$WORK/ksp.dst" || { show ksp.dst; return 1; }
	dest_vmm_quit ksp || return 1
	[ "$(vmm_state ksp-s)" = running ] || { ctl ksp-s status; return 1; }
	source_runs_on ksp "$SLOW_SHAPE" "$SLOW_WL"
}

# The destination pcmigd killed in precopy: the source reports the lost
# destination and leaves its VM running; the destination VMM never ran.
t_kill_dst_pcmigd_precopy() {
	# shellcheck disable=SC2086
	start_migration kdp "$SLOW_SHAPE" "$SLOW_WL" $SLOW_ARGS || return 1
	wait_pages src 300 || return 1
	kill -9 "$DST_PID"
	wait_src
	wait_dst
	expect_fail kdp src 1 "migration failed.*reason: .+" || return 1
	grep -q "^VM left running on this host" "$WORK/kdp.src" || { show kdp.src; return 1; }
	[ "$(vmm_state kdp-d)" = incoming ] || { ctl kdp-d status; return 1; }
	ctl kdp-d quit >/dev/null
	dest_vmm_quit kdp || return 1
	source_runs_on kdp "$SLOW_SHAPE" "$SLOW_WL"
}

# wait_stopped_phase NAME: the source VMM was stopped for the stopped
# phase (its status is quicker to poll than the session's).
wait_stopped_phase() {
	local end=$((SECONDS + 30)) st
	while [ $SECONDS -lt $end ]; do
		st=$(vmm_state "$1-s" 2>/dev/null)
		[ "$st" = stopped ] && { echo "source VMM stopped"; return 0; }
		[ -z "$st" ] && break
		sleep 0.05
	done
	echo "the source VMM was never seen stopped (last: ${st:-gone})"
	show "$1.src"
	return 1
}

# The destination pcmigd killed in the stopped phase: the source fails
# and resumes its VM, which ends with the right digest.
# The connection cut (ss -K: an RST, as a failing link or firewall gives)
# in precopy and in the stopped phase: both sides fail with the cause,
# the source guest runs on (resumed if it was stopped) with the right
# digest, the destination VMM is told to quit.
cut_case() {
	local name=$1 shape=$2 wl=$3
	in_src ss -K dst "$ADDR_DST" >/dev/null || return 1
	wait_src
	wait_dst
	expect_fail "$name" src 1 "migration failed.*reason: .*connection" || return 1
	expect_fail "$name" dst 1 "migration failed.*reason: .*connection" || return 1
	grep -q "^VM \(left running\|resumed\) on this host" "$WORK/$name.src" ||
		{ show "$name.src"; return 1; }
	dest_vmm_quit "$name" || return 1
	source_runs_on "$name" "$shape" "$wl"
}

t_cut_precopy() {
	# shellcheck disable=SC2086
	start_migration cpr "$SLOW_SHAPE" "$SLOW_WL" $SLOW_ARGS || return 1
	wait_pages src 300 || return 1
	cut_case cpr "$SLOW_SHAPE" "$SLOW_WL"
}

t_cut_stopped() {
	# shellcheck disable=SC2086
	start_migration cst "$STOP_SHAPE" "$STOP_WL" $STOP_ARGS || return 1
	wait_stopped_phase cst || return 1
	cut_case cst "$STOP_SHAPE" "$STOP_WL"
}

t_kill_dst_pcmigd_stopped() {
	# shellcheck disable=SC2086
	start_migration kds "$STOP_SHAPE" "$STOP_WL" $STOP_ARGS || return 1
	wait_stopped_phase kds || return 1
	kill -9 "$DST_PID"
	wait_src
	wait_dst
	expect_fail kds src 1 "migration failed.*reason: .+" || return 1
	grep -q "^VM resumed on this host (the migration did not complete)" "$WORK/kds.src" ||
		{ show kds.src; return 1; }
	ctl kds-d quit >/dev/null
	dest_vmm_quit kds || return 1
	source_runs_on kds "$STOP_SHAPE" "$STOP_WL"
}

# The source pcmigd killed in the stopped phase: nobody is left to resume
# the source VM (the operator does it: "resume"); the destination fails
# and quits its VMM.  The guest, resumed, ends with the right digest.
t_kill_src_pcmigd_stopped() {
	# shellcheck disable=SC2086
	start_migration kss "$STOP_SHAPE" "$STOP_WL" $STOP_ARGS || return 1
	wait_stopped_phase kss || return 1
	kill -9 "$SRC_PID"
	wait_src
	wait_dst
	expect_fail kss dst 1 "migration (failed|cancelled).*reason: .+" || return 1
	grep -q "^destination VMM told to quit" "$WORK/kss.dst" || { show kss.dst; return 1; }
	dest_vmm_quit kss || return 1
	[ "$(vmm_state kss-s)" = stopped ] || { ctl kss-s status; return 1; }
	ctl kss-s resume | grep -qx "ok running" || return 1
	source_runs_on kss "$STOP_SHAPE" "$STOP_WL"
}

# The destination VMM killed in precopy (pages are arriving; a 1 MiB/s
# limit keeps the migration from completing first): the migration must
# not complete; the destination reports the VMM's failure, the source
# fails with the destination's cause and its guest runs on, which ends
# with the right digest.
t_kill_dst_vmm() {
	# shellcheck disable=SC2086
	start_migration kdv "$SLOW_SHAPE" "$SLOW_WL" $SLOW_ARGS || return 1
	wait_pages src 300 || return 1
	kill -9 "$DVMM"
	wait_src
	wait_dst
	expect_fail kdv dst "1|6" "pcmigd: .*(VMM|reason: .+)" || return 1
	expect_fail kdv src 1 "migration failed.*reason: .+" || return 1
	grep -q "^VM \(left running\|resumed\) on this host" "$WORK/kdv.src" || { show kdv.src; return 1; }
	source_runs_on kdv "$SLOW_SHAPE" "$SLOW_WL"
}

# The source VMM killed in precopy: its memory is gone, the source fails
# with that cause, the destination too and quits its VMM.
t_kill_src_vmm() {
	# shellcheck disable=SC2086
	start_migration ksv "$SLOW_SHAPE" "$SLOW_WL" $SLOW_ARGS || return 1
	wait_pages src 300 || return 1
	kill -9 "$SVMM"
	wait_src
	wait_dst
	expect_fail ksv src "1|6" "pcmigd: .*(VMM '[a-z]*': .*(refused|closed|No such)|guest memory unreadable|the source VMM exited)" || return 1
	expect_fail ksv dst 1 "migration (failed|cancelled).*reason: .+" || return 1
	grep -q "^destination VMM told to quit" "$WORK/ksv.dst" || { show ksv.dst; return 1; }
	dest_vmm_quit ksv
}

# ---- main ------------------------------------------------------------------

vmm_suite_setup "ram migrate case"

run_case "idle guest: unmigrated digest" t_idle
run_case "busy guest converges: unmigrated digest" t_busy
run_case "3 vCPUs: unmigrated digest" t_vcpus
run_case "5 memslots: unmigrated digest" t_slots
run_case "dirty ring (ring full waited out): unmigrated digest" t_ring
run_case "dirty bitmap: unmigrated digest" t_bitmap
run_case "--max-bandwidth 4M honoured, unmigrated digest" t_bandwidth
run_case "not converging: keeps iterating, reported" t_not_converging
run_case "cancelled: source runs on with the right digest, destination quits" t_cancel
run_case "source pcmigd killed in precopy: source runs on, destination quits" t_kill_src_pcmigd_precopy
run_case "destination pcmigd killed in precopy: source runs on" t_kill_dst_pcmigd_precopy
run_case "destination pcmigd killed in the stopped phase: source resumes" t_kill_dst_pcmigd_stopped
run_case "source pcmigd killed in the stopped phase: destination quits, source resumable" t_kill_src_pcmigd_stopped
run_case "connection cut in precopy: both report it, source runs on" t_cut_precopy
run_case "connection cut in the stopped phase: source resumes, runs on" t_cut_stopped
run_case "destination VMM killed: both report it, source runs on" t_kill_dst_vmm
run_case "source VMM killed: both report it, destination quits" t_kill_src_vmm
vmm_suite_end
