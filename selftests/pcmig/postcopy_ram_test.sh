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
# stopped guest, nothing is left.  run-in-vm.sh checks the kernel log.

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=${PCMIG_ROOT:-$(cd "$HERE/../.." && pwd)}
# shellcheck source=lib/tap.sh
. "$HERE/lib/tap.sh"
# shellcheck source=lib/netns.sh
. "$HERE/lib/netns.sh"
# shellcheck source=lib/mig.sh
. "$HERE/lib/mig.sh"

PORT=4448
NTESTS=7
# shellcheck source=lib/vmm_mig.sh
. "$HERE/lib/vmm_mig.sh"
# Every destination takes postcopy-ram as the source does.
DST_ARGS="--caps postcopy-ram --json"
trap cleanup EXIT

# A guest busy over 8 MiB of its 16.
BUSY="seed=31 pages=2048 write_pct=50 iters=30000 burst=100 pace=20000"

# stats_of NAME SIDE KEYS...: the final JSON's stats and postcopy object.
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

vmm_suite_setup "postcopy ram case"
run_case "postcopy at once: unmigrated digest" t_at_once
run_case "postcopy after 2 passes: unmigrated digest" t_after_passes
run_case "not converging in precopy, auto postcopy: unmigrated digest" t_nonconverging
run_case "3 vCPUs faulting at once: unmigrated digest" t_vcpus
vmm_suite_end
