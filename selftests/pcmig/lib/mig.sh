# SPDX-License-Identifier: GPL-2.0
# Running pcmigd on both test hosts of lib/netns.sh.  The caller sets PORT
# and WORK (a scratch directory); outputs land in $WORK/NAME.dst|src.

kill_all() {
	pkill -9 -x pcmigd 2>/dev/null
	wait 2>/dev/null
	return 0
}

blob() { head -c "$2" /dev/urandom >"$WORK/$1"; }

# No session may be left in either namespace once the pcmigd are gone.
no_sessions() {
	local n
	for ns in $NS_SRC $NS_DST; do
		n=$(ip netns exec "$ns" pcmigd status --json | grep -c '"id"')
		[ "$n" -eq 0 ] || { echo "$n sessions left in $ns"; return 1; }
	done
}

# start_incoming NAME [ARGS]: destination pcmigd in the background.
start_incoming() {
	local name=$1
	shift
	# ip netns exec directly, not in_dst: $! must be pcmigd itself.
	ip netns exec $NS_DST pcmigd incoming --listen "$ADDR_DST:$PORT" "$@" \
		>"$WORK/$name.dst" 2>&1 &
	DST_PID=$!
	wait_listen "$PORT" || { cat "$WORK/$name.dst"; return 1; }
}

# wait_listen [PORT]: wait for the destination's listening socket on PORT
# ($PORT by default) rather than sleeping blindly.
wait_listen() {
	local listen_port=${1:-$PORT}
	for _ in $(seq 100); do
		in_dst ss -ltn | grep -q ":$listen_port " && return 0
		sleep 0.1
	done
	echo "nothing listens on $ADDR_DST:$listen_port"
	return 1
}

wait_dst() { wait "$DST_PID"; DST_RC=$?; }

show() { echo "--- $1"; cat "$WORK/$1"; }

