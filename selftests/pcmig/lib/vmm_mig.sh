# SPDX-License-Identifier: GPL-2.0
#
# Guest RAM migrations between the test hosts of netns.sh with pcmig-vmm
# on both sides and pcmigd --vmm (ram_migrate_test.sh, postcopy_ram_test.sh):
# the VMMs, the unmigrated digest oracle, pcmigd's status, and
# migrate_ok, a migration that must complete with the right digest.
# The suite sets PORT and sources tap.sh, netns.sh and mig.sh first, and
# calls "trap cleanup EXIT".
#
# vmm_test.sh, which has neither namespaces nor pcmigd, sources only
# tap.sh and this file, for the VMM helpers, reap, run_case and
# ref_digest; it brings its own timed and cleanup.

VMM=${PCMIG_VMM:-$ROOT/build/user/vmm/pcmig-vmm}
GUEST=${PCMIG_GUEST:-$ROOT/build/user/vmm/pcmig-guest.elf}
WORK=$(mktemp -d)
# How long wait_exit gives a VMM to end before it shows its stacks and
# kills it.
VMM_EXIT_S=60

# The VMMs a case started (every case runs in a subshell: pids in a file).
reap() {
	local p
	[ -f "$WORK/pids" ] || return 0
	while read -r p; do
		kill -9 "$p" 2>/dev/null && echo "killed a leftover pcmig-vmm ($p)"
	done <"$WORK/pids"
	rm -f "$WORK/pids"
}

stop_keeper() {
	[ -n "$KEEPER" ] || return 0
	"$VMM" --ctl "$WORK/keeper.sock" finish >/dev/null 2>&1 || kill "$KEEPER"
	wait "$KEEPER" 2>/dev/null
	KEEPER=
}

cleanup() {
	stop_keeper
	kill_all
	reap >/dev/null
	netns_down
	rm -rf "$WORK"
}

# run_case NAME FUNC: tap_run with the time it took; pcmigd and VMMs left
# by a failed case are killed, and no session may remain.
timed() {
	local t0=$SECONDS rc
	"$@"
	rc=$?
	reap
	kill_all
	sessions_gone || rc=1
	echo "took $((SECONDS - t0)) s"
	return "$rc"
}
# PCMIG_CASES=REGEX runs only the cases whose function matches (the
# others are skipped), to iterate on one case.
run_case() {
	if [ -n "$PCMIG_CASES" ] && ! [[ $2 =~ $PCMIG_CASES ]]; then
		tap_skip "$1" "not in PCMIG_CASES"
		return
	fi
	tap_run "$1" timed "$2"
}

# A killed pcmigd's session ends shortly after: give it 5 s.
sessions_gone() {
	local i
	for i in $(seq 50); do
		no_sessions >/dev/null && return 0
		sleep 0.1
	done
	no_sessions
}

# ---- VMMs --------------------------------------------------------------

# Where each thread of a pcmig-vmm that does not end is stuck.
dump_stacks() {
	local t
	echo "pcmig-vmm $1 did not end; its threads:"
	for t in /proc/"$1"/task/*; do
		echo "$t $(cut -d' ' -f3 "$t/stat") $(cat "$t/wchan" 2>/dev/null)"
		cat "$t/stack" 2>/dev/null
	done
	tail -n 5 "$WORK"/*.out "$WORK/out" 2>/dev/null
}

# wait_exit PID: its exit status in RC (killed after VMM_EXIT_S seconds,
# stacks shown).
wait_exit() {
	local i
	for i in $(seq $((VMM_EXIT_S * 10))); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$1" 2>/dev/null; then
		dump_stacks "$1"
		kill -9 "$1"
	fi
	wait "$1"
	RC=$?
}

# vmm_bg NS NAME ARGS...: pcmig-vmm in namespace NS (src or dst; host:
# outside them) with the control socket $WORK/NAME.sock, output in
# $WORK/NAME.out|err, pid in BG.  Waits for the socket.
vmm_bg() {
	local ns=$1 name=$2 i
	local -a in_ns=()
	shift 2
	case $ns in
	src) in_ns=(ip netns exec "$NS_SRC") ;;
	dst) in_ns=(ip netns exec "$NS_DST") ;;
	esac
	rm -f "$WORK/$name.sock"
	# ip netns exec execs the VMM: $! is the VMM itself
	"${in_ns[@]}" "$VMM" --timeout 120 --control "$WORK/$name.sock" "$@" \
		>"$WORK/$name.out" 2>"$WORK/$name.err" &
	BG=$!
	echo "$BG" >>"$WORK/pids"
	for i in $(seq 100); do
		[ -S "$WORK/$name.sock" ] && return 0
		kill -0 "$BG" 2>/dev/null || break
		sleep 0.1
	done
	echo "pcmig-vmm $name did not come up"
	cat "$WORK/$name.err"
	return 1
}

ctl() { local name=$1; shift; "$VMM" --ctl "$WORK/$name.sock" "$@"; }
vmm_state() { ctl "$1" status | sed -n 's/^ok state \([a-z]*\) .*/\1/p'; }
# iters0 NAME: the operations cpu 0 of the VMM did.
iters0() { ctl "$1" status | sed -n 's/.*| cpu 0 [a-z]* iters \([0-9]*\) .*/\1/p'; }

# wait_iters NAME MIN: until cpu 0 of the VMM did MIN operations.
wait_iters() {
	local i n
	for i in $(seq 300); do
		n=$(iters0 "$1")
		[ -n "$n" ] && [ "$n" -ge "$2" ] && return 0
		sleep 0.1
	done
	echo "cpu 0 of $1 never reached $2 operations (last: ${n:-none})"
	return 1
}

digest_of() { sed -n 's/^digest \(0x[0-9a-f]*\) .*/\1/p' "$1"; }

# ref_digest SHAPE WL: the digest of an unmigrated run, pacing left out
# (it does not change the digest), cached by parameters.
ref_digest() {
	local shape=$1 wl key f
	wl=$(sed 's/ *pace=[0-9]*//' <<<"$2")
	key=$(echo "$shape $wl" | md5sum | cut -c1-12)
	f=$WORK/ref.$key
	if [ ! -s "$f" ]; then
		# shellcheck disable=SC2086 # SHAPE is a list of options
		"$VMM" --timeout 120 $shape --kernel "$GUEST" --append "$wl" >"$f.out" 2>&1 ||
			{ echo "unmigrated run failed:" >&2; cat "$f.out" >&2; return 1; }
		digest_of "$f.out" >"$f"
	fi
	[ -s "$f" ] && cat "$f"
}

# ---- pcmigd ------------------------------------------------------------

# session_json NS: "pcmigd status --json" of that namespace (src or dst).
session_json() {
	if [ "$1" = src ]; then in_src pcmigd status --json; else in_dst pcmigd status --json; fi
}

# json_get NS KEY: KEY of the first session, or of its stats.
json_get() {
	session_json "$1" | python3 -c '
import json, sys
s = json.load(sys.stdin)["sessions"]
if s:
    v = s[0].get(sys.argv[1], s[0].get("stats", {}).get(sys.argv[1]))
    print("" if v is None else v)' "$2"
}

# wait_for NS KEY VALUE [SECONDS]: until the session's KEY is VALUE
# (20 s by default).
wait_for() {
	local end=$((SECONDS + ${4:-20})) v
	while [ $SECONDS -lt $end ]; do
		v=$(json_get "$1" "$2")
		[ "$v" = "$3" ] && return 0
		[ -z "$v" ] && [ "$2" != phase ] && [ -z "$(json_get "$1" id)" ] && break
		sleep 0.05
	done
	echo "$1: $2 never became $3 (last: ${v:-no session})"
	session_json "$1"
	return 1
}

# wait_min NS KEY MIN [SECONDS]: until the session's KEY is at least MIN.
wait_min() {
	local end=$((SECONDS + ${4:-20})) n
	while [ $SECONDS -lt $end ]; do
		n=$(json_get "$1" "$2")
		[ -n "$n" ] && [ "$n" -ge "$3" ] && return 0
		sleep 0.05
	done
	echo "$1: $2 never reached $3 (last: ${n:-no session})"
	return 1
}
wait_pages() { wait_min "$1" pages_sent "$2"; }

# start_migration NAME SHAPE WL [MIGRATE ARGS]: source VMM NAME-s running
# the guest, destination VMM NAME-d --incoming, both pcmigd; the source
# pcmigd in the background (SRC_PID), outputs $WORK/NAME.src|dst.  The
# source guest starts (paused until then) right before the migration, so
# all of its run time is there to migrate it.  DST_VMM_ARGS: more options
# of the destination VMM.
start_migration() {
	local name=$1 shape=$2 wl=$3
	shift 3
	# shellcheck disable=SC2086
	vmm_bg src "$name-s" $shape --paused --kernel "$GUEST" --append "$wl" || return 1
	SVMM=$BG
	# shellcheck disable=SC2086
	vmm_bg dst "$name-d" $shape --incoming $DST_VMM_ARGS || return 1
	DVMM=$BG
	# shellcheck disable=SC2086 # DST_ARGS: options of pcmigd incoming
	start_incoming "$name" --vmm "$WORK/$name-d.sock" $DST_ARGS || return 1
	ctl "$name-s" resume >/dev/null || return 1
	wait_iters "$name-s" 100 || return 1
	ip netns exec $NS_SRC pcmigd migrate --to "$ADDR_DST:$PORT" \
		--vmm "$WORK/$name-s.sock" "$@" >"$WORK/$name.src" 2>&1 &
	SRC_PID=$!
}

wait_src() { wait "$SRC_PID"; SRC_RC=$?; }

# reason FILE: the reason pcmigd printed for a failure.
reason() { sed -n 's/.*(reason: \(.*\))$/\1/p' "$1" | tail -n 1; }

# expect_fail NAME SIDE(src|dst) RC PATTERN: pcmigd on that side exited
# with a status matching RC (e.g. 1 or "1|6") and printed a failure whose
# text matches PATTERN.
expect_fail() {
	local f=$WORK/$1.$2 rc=$3 got
	[ "$2" = src ] && got=$SRC_RC || got=$DST_RC
	if ! [[ $got =~ ^($rc)$ ]] || ! grep -qE "$4" "$f"; then
		echo "$2 pcmigd: exit $got (want $rc), want /$4/ in:"
		cat "$f"
		return 1
	fi
	echo "$2 pcmigd (exit $got): $(grep -E "^pcmigd: |$4" "$f" | head -n 3 | tr '\n' '|')"
}

# ---- completed migrations ----------------------------------------------

# migrate_ok NAME SHAPE WL [MIGRATE ARGS]: a migration that completes; the
# guest ends on the destination with the unmigrated digest.
migrate_ok() {
	local name=$1 shape=$2 wl=$3 ref d t0
	shift 3
	ref=$(ref_digest "$shape" "$wl") || return 1
	start_migration "$name" "$shape" "$wl" "$@" || return 1
	t0=$SECONDS
	wait_src
	wait_dst
	if [ "$SRC_RC" -ne 0 ] || [ "$DST_RC" -ne 0 ]; then
		show "$name.src"
		show "$name.dst"
		echo "exit source $SRC_RC, destination $DST_RC"
		wait_exit "$SVMM"
		echo "source VMM: exit $RC"
		tail -n 8 "$WORK/$name-s.out" "$WORK/$name-s.err"
		return 1
	fi
	grep -h "migration completed" "$WORK/$name.src" "$WORK/$name.dst"
	echo "migration took $((SECONDS - t0)) s or less"
	grep -q "^source VMM told to quit" "$WORK/$name.src" &&
		grep -q "^VM resumed on this host" "$WORK/$name.dst" ||
		{ show "$name.src"; show "$name.dst"; return 1; }
	wait_exit "$DVMM"
	[ "$RC" -eq 0 ] || { echo "destination VMM: exit $RC"; cat "$WORK/$name-d.out" "$WORK/$name-d.err"; return 1; }
	wait_exit "$SVMM"
	[ "$RC" -eq 5 ] && grep -q "^result stopped" "$WORK/$name-s.out" ||
		{ echo "source VMM: exit $RC"; cat "$WORK/$name-s.out"; return 1; }
	d=$(digest_of "$WORK/$name-d.out")
	grep "^cpu" "$WORK/$name-d.out"
	echo "migrated digest $d, unmigrated $ref"
	[ -n "$d" ] && [ "$d" = "$ref" ] && return 0
	show "$name.src"
	show "$name.dst"
	return 1
}

# vmm_suite_setup LABEL: the plan of NTESTS cases (skipped as "LABEL N"
# when KVM, the VMM or the module is missing), the namespaces, and the VM
# that lives through the whole suite.
vmm_suite_setup() {
	tap_plan $NTESTS
	if [ ! -c /dev/kvm ] || [ ! -x "$VMM" ] || [ ! -f "$GUEST" ] ||
	   ! grep -q '^pcmig ' /proc/modules; then
		why="no /dev/kvm"
		[ -x "$VMM" ] || why="$VMM not built (make user)"
		grep -q '^pcmig ' /proc/modules || why="pcmig.ko not loaded"
		for i in $(seq $NTESTS); do tap_skip "$1 $i" "$why"; done
		tap_exit
	fi
	if ! netns_up; then
		for i in $(seq $NTESTS); do tap_skip "$1 $i" "network namespaces"; done
		tap_exit
	fi

	# One VM lives through the whole suite.  Creating the first VM and vCPU
	# and destroying the last one flips static keys (KVM's preempt notifiers,
	# kvm_has_noapic_vcpu), i.e. patches kernel text; under TCG that patching
	# once ended in "Oops: int3" in __schedule.  With a VM always there the
	# keys stay on.
	"$VMM" --kernel "$GUEST" --mem 2 --control "$WORK/keeper.sock" \
		--append "pages=16 iters=0 burst=10 pace=500000" >/dev/null 2>&1 &
	KEEPER=$!
}

# vmm_suite_end: the suite-wide checks, then the TAP exit.
vmm_suite_end() {
	stop_keeper
	tap_run "no session left in either namespace" no_sessions
	tap_run "no pcmig-vmm left running" bash -c "! pgrep -x pcmig-vmm"
	tap_run "no pcmigd left running" bash -c "! pgrep -x pcmigd"
	tap_exit
}
