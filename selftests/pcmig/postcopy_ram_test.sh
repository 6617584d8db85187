#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# RAM postcopy end to end (issue 5): pcmig-vmm on both test hosts, pcmigd
# --vmm with postcopy-ram, the unmigrated digest as oracle (lib/vmm_mig.sh).
# After the switch the destination guest runs before its RAM has arrived:
# every page it touches first is requested over the return path, the rest
# comes in the background, and the guest still ends with the digest of an
# unmigrated run.
#
# Checked: postcopy at once (nearly all RAM by request and background),
# after precopy passes, a guest that dirties faster than --max-bandwidth
# (precopy alone never ends), 3 vCPUs faulting at once, netem delay
# between the hosts (requests really used: counted, every requested page
# arrives); failures in postcopy: connection cut, either pcmigd or the
# destination VMM killed: both sides report it, the source VMM keeps the
# stopped guest, nothing is left.  With postcopy-bitmaps alone, a cut in
# postcopy leaves the guest running on the destination (it had all RAM).  run-in-vm.sh checks the kernel log.

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=${PCMIG_ROOT:-$(cd "$HERE/../.." && pwd)}
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

PORT=4448
BACKING_SIZE=$(( (4 << 30) + (1 << 20) ))	# sparse
NTESTS=18
# shellcheck source=lib/vmm_mig.sh
. "$HERE/lib/vmm_mig.sh"
# Every destination takes postcopy-ram as the source does.
DST_ARGS="--caps postcopy-ram --json"
trap cleanup EXIT

# A guest busy over 8 MiB of its 16.
BUSY="seed=31 pages=2048 write_pct=50 iters=30000 burst=100 pace=20000"

# pc_stats NAME SIDE KEYS...: KEYS of the final JSON's postcopy object (or stats).
pc_stats() {
	python3 - "$WORK/$1.$2" "${@:3}" <<'PYEOF'
import json, sys
for line in open(sys.argv[1]):
    if line.startswith("{"):
        d = json.loads(line)
        st = d["stats"]
        pc = st.get("postcopy") or d.get("postcopy") or {}
        print(" ".join("%s=%s" % (k, pc.get(k, st.get(k))) for k in sys.argv[2:]))
        break
else:
    sys.exit("no JSON result in " + sys.argv[1])
PYEOF
}

# Postcopy issued as soon as the migration started: nearly every page
# moves after the destination runs.
t_at_once() {
	migrate_ok now "--mem 16" "$BUSY" --caps postcopy-ram \
		--postcopy-after passes:0 --json || return 1
	grep -h "switching to postcopy" "$WORK/now.src" || return 1
	pc_stats now dst requests pages_requested pages_background faults
	pc_stats now src requests pages_requested pages_background dup_requests passes downtime_ms
}

# At 2 MiB/s the busy guest (10 MiB/s of writes) never converges; it runs
# for 30 s, so that it is still running after two passes.
t_after_passes() {
	migrate_ok passes "--mem 16" "${BUSY/iters=30000/iters=150000}" --caps postcopy-ram \
		--max-bandwidth 2M --postcopy-after passes:2 --json || return 1
	grep -h "switching to postcopy" "$WORK/passes.src" || return 1
	pc_stats passes src passes requests pages_requested pages_background
}

# Dirtying outruns --max-bandwidth: precopy never converges; auto switches.
t_nonconverging() {
	migrate_ok nc "--mem 8" "seed=33 pages=1024 write_pct=90 iters=300000 burst=200 pace=20000" \
		--max-bandwidth 1M --caps postcopy-ram --postcopy-after auto --json || return 1
	grep -h "switching to postcopy" "$WORK/nc.src" || return 1
	pc_stats nc src passes requests pages_requested pages_background
}

t_vcpus() {
	migrate_ok vcpus "--vcpus 3 --mem 24 --slots 3" \
		"seed=34 pages=1536 write_pct=30 iters=20000 burst=100 pace=30000" \
		--caps postcopy-ram --postcopy-after passes:0 --json || return 1
	pc_stats vcpus dst requests faults threads
}

# start-postcopy from another shell (rule S3), no policy: precopy keeps
# iterating at 1 MiB/s until the request, then the switch comes.
t_manual() {
	local ref d
	NC_LONG="seed=36 pages=1024 write_pct=90 iters=300000 burst=200 pace=20000"
	ref=$(ref_digest "--mem 8" "$NC_LONG") || return 1
	start_migration man "--mem 8" "$NC_LONG" --max-bandwidth 1M \
		--caps postcopy-ram --json || return 1
	wait_min src passes 1 30 || { show man.src; return 1; }
	in_src pcmigd start-postcopy || return 1
	wait_src
	wait_dst
	[ "$SRC_RC" = 0 ] && [ "$DST_RC" = 0 ] || { show man.src; show man.dst; return 1; }
	wait_exit "$DVMM"
	# RAM went after the switch: the background carried pages.
	pc_stats man src pages_background pages_requested passes
	[ "$(pc_stats man src pages_background)" != "pages_background=0" ] || return 1
	d=$(digest_of "$WORK/man-d.out")
	echo "migrated digest $d, unmigrated $ref"
	[ "$d" = "$ref" ]
}

# Rule S4 in postcopy: --max-bandwidth (256K, which paces the 1 MiB
# bandwidth probe before the switch) no longer applies; the background
# keeps to --max-postcopy-bandwidth (1M).
t_pc_bandwidth() {
	migrate_ok pbw "--mem 16" "$LONG" --caps postcopy-ram \
		--postcopy-after passes:0 --max-bandwidth 256K \
		--max-postcopy-bandwidth 1M --json || return 1
	python3 - "$WORK/pbw.src" <<'PYEOF'
import json, sys
for line in open(sys.argv[1]):
    if line.startswith("{"):
        d = json.loads(line)
        st, pc = d["stats"], d["postcopy"]
        ms = st["elapsed_ms"] - st["downtime_ms"]
        bg = pc["pages_background"]
        print(f"{st['bytes_sent']} bytes in {st['elapsed_ms']} ms, {bg} background pages, "
              f"{pc['pages_requested']} requested, limits 256K / 1M")
        # Beyond what 256 KiB/s would carry: max-bandwidth was ignored.
        assert st["bytes_sent"] / (st["elapsed_ms"] / 1000) > 2 * 262144, st
        # Within the postcopy limit (requested pages are not limited).
        assert st["bytes_sent"] / (st["elapsed_ms"] / 1000) <= 1.2 * (1 << 20) + \
            pc["pages_requested"] * 4096 / (st["elapsed_ms"] / 1000), st
        break
else:
    sys.exit("no JSON result")
PYEOF
}

# 5 ms each way (RTT 10 ms): the guest waits on its faults, and every
# page it asks for arrives.
t_netem() {
	in_src tc qdisc add dev veth-src root netem delay 5ms || return 1
	in_dst tc qdisc add dev veth-dst root netem delay 5ms || return 1
	migrate_ok netem "--vcpus 2 --mem 16" "$BUSY" --caps postcopy-ram \
		--postcopy-after passes:0 --json
	local rc=$?
	in_src tc qdisc del dev veth-src root
	in_dst tc qdisc del dev veth-dst root
	[ $rc = 0 ] || return 1
	pc_stats netem dst requests pages_requested faults latency_us
	python3 - "$WORK/netem.dst" <<'PYEOF'
import json, sys
for line in open(sys.argv[1]):
    if line.startswith("{"):
        pc = json.loads(line)["postcopy"]
        assert pc["requests"] > 0, pc
        assert pc["pages_requested"] >= pc["requests"], pc
        # No page can come back faster than the round trip.
        assert pc["latency_us"]["p50"] >= 10000, pc
        break
PYEOF
}

# The source VMM killed in postcopy: the module holds its memory (the mm)
# until the end, so the migration completes and the guest lives on.
t_kill_src_vmm() {
	local ref d
	ref=$(ref_digest "--mem 16" "$LONG") || return 1
	start_pc ksv || return 1
	kill -9 "$SVMM"
	# The rest at full speed: a guest that ends (and its VMM exits)
	# before all of its RAM arrived would fail the migration.
	in_src pcmigd set --max-postcopy-bandwidth 0 >/dev/null
	wait_src
	wait_dst
	wait_exit "$SVMM"
	echo "source pcmigd: exit $SRC_RC: $(tail -n 1 "$WORK/ksv.src")"
	[ "$DST_RC" = 0 ] || { show ksv.dst; return 1; }
	wait_exit "$DVMM"
	d=$(digest_of "$WORK/ksv-d.out")
	echo "migrated digest $d, unmigrated $ref"
	[ "$d" = "$ref" ] || { show ksv.src; show ksv.dst; return 1; }
}

# The guest ends in postcopy, before all of its RAM arrived (2 MiB of
# ballast it never reads comes at 64 KiB/s): its VMM (--linger) keeps its
# memory until the migration completes, then pcmigd tells it to quit, and
# it exits with the guest's result and digest.
GE_WL="$BUSY ballast=512"
t_guest_ends() {
	local ref d i
	ref=$(ref_digest "--mem 16" "$GE_WL") || return 1
	DST_VMM_ARGS=--linger start_migration ge "--mem 16" "$GE_WL" --caps postcopy-ram \
		--postcopy-after passes:0 --max-postcopy-bandwidth 64K --json || return 1
	for i in $(seq 600); do
		[ "$(vmm_state ge-d)" = finished ] && break
		sleep 0.1
	done
	[ "$(vmm_state ge-d)" = finished ] ||
		{ echo "destination guest: $(ctl ge-d status | head -n 1)"; return 1; }
	# Still in postcopy: RAM comes at 64 KiB/s.  The rest at full speed.
	[ "$(json_get dst phase)" = postcopy ] || { session_json dst; return 1; }
	in_src pcmigd set --max-postcopy-bandwidth 0 >/dev/null
	wait_src
	wait_dst
	[ "$SRC_RC" = 0 ] && [ "$DST_RC" = 0 ] || { show ge.src; show ge.dst; return 1; }
	grep -h "VMM told to quit" "$WORK/ge.src" "$WORK/ge.dst"
	grep -q "^destination VMM told to quit: the guest finished" "$WORK/ge.dst" ||
		{ show ge.dst; return 1; }
	wait_exit "$DVMM"
	d=$(digest_of "$WORK/ge-d.out")
	echo "destination VMM: exit $RC, digest $d, unmigrated $ref"
	[ "$RC" = 0 ] && [ "$d" = "$ref" ]
}

# postcopy-ram and postcopy-bitmaps together: the guest and a block
# node's dirty bitmap both arrive (the bitmap after RAM, in postcopy).
t_bitmaps() {
	local rc=0 sectors=$(((128 << 20) / 512))
	dm_setup || return 1
	mknode pcs1 $sectors && mknode pcd1 $sectors || rc=1
	[ $rc = 0 ] && add pcs1 b1 --granularity 4096 || rc=1
	write_dev /dev/mapper/pcs1 $((1 << 20)) 8192
	write_dev /dev/mapper/pcs1 $((100 << 20)) 4096
	if [ $rc = 0 ]; then
		DST_ARGS="--caps postcopy-ram,postcopy-bitmaps --json" \
			migrate_ok bm "--mem 16" "$BUSY" --caps postcopy-ram,postcopy-bitmaps \
			--bitmap-map pcs1:pcd1 --postcopy-after passes:0 --json || rc=1
	fi
	if [ $rc = 0 ]; then
		grep -h "bitmap pcs1/b1\|bitmap pcd1/b1" "$WORK/bm.src" "$WORK/bm.dst"
		same pcs1 pcd1 b1 || rc=1
		pc_stats bm dst requests pages_requested faults
	fi
	remove_nodes
	losetup -d "$LOOP"
	return $rc
}

# postcopy-bitmaps without postcopy-ram, the connection cut while the
# bitmap is still coming: all RAM and device state had arrived, so the
# guest runs on on the destination (rule S8: only the bitmap is dropped)
# and ends with the unmigrated digest; the source's copy is told to quit,
# not resumed (two guests).
BMCUT_WL="seed=36 pages=1024 write_pct=1 iters=75000 burst=100 pace=20000"
BMCUT_NODE=$(( (4 << 30) / 512 ))
t_bitmaps_cut() {
	local rc=0 d ref
	ref=$(ref_digest "--mem 16" "$BMCUT_WL") || return 1
	dm_setup || return 1
	mknode pcs2 $BMCUT_NODE && mknode pcd2 $BMCUT_NODE || rc=1
	# 512 B granules over 4 GiB, all dirty: 1 MiB of bits, too much for
	# the stopped phase at 2 MiB/s (S2), 16 s of postcopy at 64 KiB/s.
	[ $rc = 0 ] && add pcs2 big --granularity 512 || rc=1
	[ $rc = 0 ] && blkdiscard /dev/mapper/pcs2 || rc=1
	if [ $rc = 0 ]; then
		DST_ARGS="--caps postcopy-bitmaps --json" \
			start_migration bmc "--mem 16" "$BMCUT_WL" --caps postcopy-bitmaps \
			--bitmap-map pcs2:pcd2 --max-bandwidth 2M \
			--max-postcopy-bandwidth 64K --json || rc=1
	fi
	if [ $rc = 0 ]; then
		wait_for dst phase postcopy 60 && wait_for src phase postcopy 10 ||
			{ show bmc.src; show bmc.dst; rc=1; }
	fi
	if [ $rc = 0 ]; then
		sleep 1
		in_src ss -K dst "$ADDR_DST" >/dev/null
		wait_src
		wait_dst
		expect_fail bmc src 1 "reason: .*runs on: do not resume" &&
			expect_fail bmc dst 1 "reason: .*runs on" || rc=1
	fi
	if [ $rc = 0 ]; then
		grep -h "VMM told to quit\|VM runs on" "$WORK/bmc.src" "$WORK/bmc.dst"
		grep -q "^source VMM told to quit: the guest runs on the destination" "$WORK/bmc.src" &&
			grep -q "^VM runs on on this host" "$WORK/bmc.dst" ||
			{ show bmc.src; show bmc.dst; rc=1; }
	fi
	if [ $rc = 0 ]; then
		wait_exit "$SVMM"
		[ "$RC" -eq 5 ] || { echo "source VMM: exit $RC"; rc=1; }
		wait_exit "$DVMM"
		d=$(digest_of "$WORK/bmc-d.out")
		echo "destination VMM: exit $RC, digest $d, unmigrated $ref"
		[ "$RC" -eq 0 ] && [ -n "$d" ] && [ "$d" = "$ref" ] || rc=1
	fi
	remove_nodes
	losetup -d "$LOOP"
	return $rc
}

# ---- failures in postcopy ----------------------------------------------

# A guest that runs ~30 s; postcopy at once with the background held to
# 128 KiB/s, so postcopy lasts long enough to break it.
LONG="seed=35 pages=2048 write_pct=50 iters=150000 burst=100 pace=20000"

# start_pc NAME: a migration that is in postcopy on both sides.
start_pc() {
	start_migration "$1" "--mem 16" "$LONG" --caps postcopy-ram \
		--postcopy-after passes:0 --max-postcopy-bandwidth 128K || return 1
	wait_for dst phase postcopy 30 || { show "$1.src"; show "$1.dst"; return 1; }
	wait_for src phase postcopy 10 || return 1
	sleep 1
}

# The source keeps the stopped guest for a later recovery (rule S7): its
# pcmigd said so, the VMM is alive and stopped, no session is left.
source_kept() {
	grep -q "kept here for recovery\|kept on this host for recovery" "$WORK/$1.src" ||
		{ show "$1.src"; return 1; }
	[ "$(vmm_state "$1-s")" = stopped ] ||
		{ echo "source VMM: $(ctl "$1-s" status | head -n 1)"; return 1; }
	echo "source VMM: $(ctl "$1-s" status | head -n 1)"
	ctl "$1-s" quit >/dev/null 2>&1
	wait_exit "$SVMM"
}

# The destination VMM does not hang on pages that will not come: its
# vCPUs get an error (KVM_RUN: Bad address) or pcmigd told it to quit.
dest_vmm_ends() {
	wait_exit "$DVMM"
	echo "destination VMM: exit $RC: $(tail -n 2 "$WORK/$1-d.err" | tr '\n' '|')"
	[ "$RC" -lt 128 ] || { echo "the destination VMM was killed by a signal"; return 1; }
}

t_cut() {
	start_pc cut || return 1
	in_src ss -K dst "$ADDR_DST" >/dev/null
	wait_src
	wait_dst
	expect_fail cut src 1 "reason: .*(connection|return path)" || return 1
	expect_fail cut dst 1 "reason: .+" || return 1
	dest_vmm_ends cut || return 1
	source_kept cut
}

t_kill_dst_pcmigd() {
	start_pc kdp || return 1
	kill -9 "$DST_PID"
	wait_src
	wait "$DST_PID" 2>/dev/null
	expect_fail kdp src 1 "reason: .+" || return 1
	dest_vmm_ends kdp || return 1
	source_kept kdp
}

t_kill_src_pcmigd() {
	start_pc ksp || return 1
	kill -9 "$SRC_PID"
	wait "$SRC_PID" 2>/dev/null
	wait_dst
	expect_fail ksp dst 1 "reason: .+" || return 1
	dest_vmm_ends ksp || return 1
	# Nobody is left to resume the source guest: it stays stopped.
	[ "$(vmm_state ksp-s)" = stopped ] || { ctl ksp-s status; return 1; }
	ctl ksp-s quit >/dev/null 2>&1
	wait_exit "$SVMM"
}

t_kill_dst_vmm() {
	start_pc kdv || return 1
	kill -9 "$DVMM"
	wait_src
	wait_dst
	expect_fail kdv dst "1|6" "reason: .*VMM" || return 1
	expect_fail kdv src 1 "reason: .+" || return 1
	source_kept kdv
}

vmm_suite_setup "postcopy ram case"
run_case "postcopy at once: unmigrated digest" t_at_once
run_case "postcopy after 2 passes: unmigrated digest" t_after_passes
run_case "not converging in precopy, auto postcopy: unmigrated digest" t_nonconverging
run_case "3 vCPUs faulting at once: unmigrated digest" t_vcpus
run_case "start-postcopy from another shell: switches, digest" t_manual
run_case "postcopy ignores max-bandwidth, keeps max-postcopy-bandwidth" t_pc_bandwidth
run_case "guest ends in postcopy: migration completes, VMM quits with the digest" t_guest_ends
run_case "postcopy-ram with postcopy-bitmaps: digest, bitmap arrives" t_bitmaps
run_case "postcopy-bitmaps only, cut in postcopy: destination runs on, source quits" t_bitmaps_cut
run_case "netem RTT 10 ms: requests used, every page arrives, digest" t_netem
run_case "source VMM killed in postcopy: migration completes, digest" t_kill_src_vmm
run_case "connection cut in postcopy: both fail, source keeps the guest" t_cut
run_case "destination pcmigd killed in postcopy: source keeps the guest" t_kill_dst_pcmigd
run_case "source pcmigd killed in postcopy: destination fails, source stays stopped" t_kill_src_pcmigd
run_case "destination VMM killed in postcopy: both fail, source keeps the guest" t_kill_dst_vmm
vmm_suite_end
