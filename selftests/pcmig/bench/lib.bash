# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# shellcheck disable=SC2034 # RC, READY_S, MIG_S, TB, TS: the bench reads them
#
# What the RAM benches (ram_migrate.sh, postcopy.sh) share: the pcmig-vmm
# guests on both sides, pcmigd on both sides, raw TCP between the two
# namespaces, the VM that lives through the bench, and the cleanup.
# Unlike the suites' helpers (lib/vmm_mig.sh) nothing here fails a test: a
# step that goes wrong prints a "warning:" line and the bench goes on, and
# the timeouts are a bench's (a VMM may run 600 s).
#
# Not named *.sh: scripts/bench runs every bench/*.sh as a bench.
#
# The bench sets HERE (selftests/pcmig) and sources lib/netns.sh and
# lib/mig.sh first; it sets PARTS, PORT (pcmigd), TPORT and BLAST_BYTES
# (tcp_blast) and calls "trap cleanup EXIT".

ROOT=${PCMIG_ROOT:-$(cd "$HERE/../.." && pwd)}
VMM=${PCMIG_VMM:-$ROOT/build/user/vmm/pcmig-vmm}
GUEST=${PCMIG_GUEST:-$ROOT/build/user/vmm/pcmig-guest.elf}
BLAST=$ROOT/build/selftests/tcp_blast
WORK=$(mktemp -d)
PIDS=()		# every process started in the background, killed at the end
KEEPER=

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	if [ -n "$KEEPER" ]; then
		"$VMM" --ctl "$WORK/keeper.sock" finish >/dev/null 2>&1 || kill "$KEEPER"
		wait "$KEEPER" 2>/dev/null
	fi
	netns_down
	rm -rf "$WORK"
}

warn() { echo "warning: $*"; }
part() { [[ " $PARTS " == *" $1 "* ]]; }
now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }

# A sleep without a fork (the samplers run often, on a busy machine).
mkfifo "$WORK/never"
exec {NEVER}<>"$WORK/never"
nap() { read -rt "$1" -u "$NEVER" _; }

# bench_start NAME: the binaries, /dev/kvm and the namespaces, or the bench
# NAME ends here; then the VM that lives through the whole bench: creating
# the first VM and destroying the last flips static keys (see
# ram_migrate_test.sh).
bench_start() {
	local f
	for f in "$VMM" "$GUEST" "$BLAST"; do
		[ -e "$f" ] || { echo "$1: $f not built (make user selftests)"; exit 1; }
	done
	[ -c /dev/kvm ] || { echo "$1: no /dev/kvm"; exit 1; }
	netns_up || { echo "$1: network namespaces"; exit 1; }
	"$VMM" --kernel "$GUEST" --mem 2 --control "$WORK/keeper.sock" \
		--append "pages=16 iters=0 burst=10 pace=500000" >/dev/null 2>&1 &
	KEEPER=$!
}

# ---- VMMs ---------------------------------------------------------------

# vmm_bg NS NAME ARGS...: pcmig-vmm in namespace NS (src or dst), control
# socket $WORK/NAME.sock, output $WORK/NAME.out|err, pid in BG.
vmm_bg() {
	local ns=$1 name=$2
	shift 2
	[ "$ns" = src ] && ns=$NS_SRC || ns=$NS_DST
	rm -f "$WORK/$name.sock"
	ip netns exec "$ns" "$VMM" --timeout 600 --control "$WORK/$name.sock" "$@" \
		>"$WORK/$name.out" 2>"$WORK/$name.err" &
	BG=$!
	PIDS+=("$BG")
	for _ in $(seq 200); do
		[ -S "$WORK/$name.sock" ] && return 0
		kill -0 "$BG" 2>/dev/null || break
		nap 0.1
	done
	warn "pcmig-vmm $name did not come up: $(cat "$WORK/$name.err")"
	return 1
}

ctl() { local name=$1; shift; "$VMM" --ctl "$WORK/$name.sock" "$@"; }

# iters NAME: the operations of every vCPU, one line each.
iters() { ctl "$1" status 2>/dev/null | grep -o 'iters [0-9]*' | cut -d' ' -f2; }

# wait_iters NAME MIN SEC: until every vCPU did MIN operations.
wait_iters() {
	local end=$((SECONDS + $3)) n low
	while [ $SECONDS -lt $end ]; do
		low=
		for n in $(iters "$1"); do
			[ -z "$low" ] || [ "$n" -lt "$low" ] && low=$n
		done
		[ -n "$low" ] && [ "$low" -ge "$2" ] && return 0
		nap 0.2
	done
	warn "$1: the vCPUs never reached $2 operations (last: ${low:-none})"
	return 1
}

# wait_exit PID SEC: its exit status in RC; killed after SEC seconds.
wait_exit() {
	local end=$((SECONDS + $2))
	while [ $SECONDS -lt $end ] && kill -0 "$1" 2>/dev/null; do nap 0.2; done
	kill -0 "$1" 2>/dev/null && { kill -9 "$1"; warn "pid $1 killed after $2 s"; }
	wait "$1" 2>/dev/null
	RC=$?
}

# guests_up NAME SHAPE WL READY: source VMM NAME-s running guest WL,
# destination VMM NAME-d --incoming of the same SHAPE (pids in SVMM and
# DVMM), and READY NAME-s, which waits until the guest is worth migrating
# (READY_S: the seconds all that took).  If any of it fails: a warning,
# both VMMs killed.
guests_up() {
	local name=$1 shape=$2 wl=$3 ready=$4 t0=$SECONDS
	SVMM='' DVMM=''
	# shellcheck disable=SC2086 # SHAPE is a list of options
	vmm_bg src "$name-s" $shape --kernel "$GUEST" --append "$wl" && SVMM=$BG &&
	vmm_bg dst "$name-d" $shape --incoming && DVMM=$BG &&
	"$ready" "$name-s" && READY_S=$((SECONDS - t0)) && return 0
	warn "$name: not migrated"
	# unquoted: a VMM that did not start has no pid
	kill -9 $SVMM $DVMM 2>/dev/null
	wait $SVMM $DVMM 2>/dev/null
	return 1
}

# ---- pcmigd -------------------------------------------------------------

# wait_port PORT: lib/mig.sh's wait for the destination's listener, its
# complaint a warning.
wait_port() {
	local why
	why=$(wait_listen "$1") || { warn "$why"; return 1; }
}

# pcmigd_incoming NAME [ARGS]: the destination pcmigd for VMM NAME-d in
# the background (pid in DST_PID, as lib/mig.sh's start_incoming), its
# JSON in $WORK/NAME.djson and its messages in NAME.dlog; waits until it
# listens.
pcmigd_incoming() {
	local name=$1
	shift
	ip netns exec "$NS_DST" pcmigd incoming --listen "$ADDR_DST:$PORT" \
		--vmm "$WORK/$name-d.sock" --json "$@" >"$WORK/$name.djson" 2>"$WORK/$name.dlog" &
	DST_PID=$!
	PIDS+=("$DST_PID")
	wait_port "$PORT"
}

# pcmigd_migrate NAME LIMIT [ARGS]: the source pcmigd for VMM NAME-s until
# it ends, its JSON in $WORK/NAME.json and its messages in NAME.log;
# cancelled after LIMIT s.  Leaves SRC_RC (its exit status), M_CANCELLED
# (1 if we cancelled it) and MIG_S (the seconds it ran).
pcmigd_migrate() {
	local name=$1 limit=$2 src end t1=$SECONDS
	shift 2
	M_CANCELLED=0
	ip netns exec "$NS_SRC" pcmigd migrate --to "$ADDR_DST:$PORT" \
		--vmm "$WORK/$name-s.sock" --json "$@" >"$WORK/$name.json" 2>"$WORK/$name.log" &
	src=$!
	PIDS+=("$src")
	end=$((SECONDS + limit))
	while kill -0 "$src" 2>/dev/null; do
		if [ $SECONDS -ge $end ] && [ $M_CANCELLED -eq 0 ]; then
			in_src pcmigd cancel >/dev/null 2>&1
			M_CANCELLED=1
		fi
		nap 0.1
	done
	wait "$src"
	SRC_RC=$?
	MIG_S=$((SECONDS - t1))
}

# pcmigd_done NAME: the destination pcmigd ends too; a migration that
# failed without being cancelled is a warning, with what both pcmigd said.
pcmigd_done() {
	wait_exit "$DST_PID" 30
	if [ "$SRC_RC" -ne 0 ] && [ "$M_CANCELLED" -eq 0 ]; then
		warn "$1: migration did not complete (source pcmigd exit $SRC_RC):"
		grep -h '^pcmigd:' "$WORK/$1.log" "$WORK/$1.dlog" | sed 's/^/    /'
	fi
}

# ---- raw TCP between the namespaces -------------------------------------

# tcp_blast: BLAST_BYTES from the source to the destination on TPORT;
# leaves TB (the bytes received) and TS (the seconds it took).
tcp_blast() {
	local r
	ip netns exec "$NS_DST" "$BLAST" recv "$ADDR_DST" "$TPORT" >"$WORK/blast" 2>&1 &
	r=$!
	PIDS+=("$r")
	wait_port "$TPORT"
	in_src "$BLAST" send "$ADDR_DST" "$TPORT" "$BLAST_BYTES" || warn "tcp_blast send failed"
	wait_exit "$r" 60
	read -r TB TS <"$WORK/blast"
	[ "${TB:-0}" -eq "$BLAST_BYTES" ] 2>/dev/null ||
		{ warn "tcp_blast: $(cat "$WORK/blast")"; TB=0 TS=1; }
}
