# SPDX-License-Identifier: GPL-2.0
# Two test hosts, source and destination, in network namespaces joined by
# a veth pair.  Addresses come from the loopback range only (127.0.1.0/24,
# see DESIGN.md), so no test traffic can ever leave this machine.  The
# veth link is where tc netem adds delay and loss.

NS_SRC=pcmig-src
NS_DST=pcmig-dst
ADDR_SRC=127.0.1.1
ADDR_DST=127.0.1.2

netns_up() {
	netns_down
	ip netns add $NS_SRC && ip netns add $NS_DST || return 1
	ip link add veth-src netns $NS_SRC type veth peer name veth-dst \
		netns $NS_DST || return 1
	netns_host $NS_SRC veth-src $ADDR_SRC && \
		netns_host $NS_DST veth-dst $ADDR_DST
}

# 127/8 is "martian" on a real link unless route_localnet is on, and lo
# must not claim the whole /8 or the peer's address would stay local.
netns_host() {
	local ns=$1 dev=$2 addr=$3

	ip -n "$ns" link set lo up &&
	ip -n "$ns" addr del 127.0.0.1/8 dev lo &&
	ip -n "$ns" addr add 127.0.0.1/32 dev lo &&
	ip netns exec "$ns" sysctl -qw net.ipv4.conf.all.route_localnet=1 &&
	ip netns exec "$ns" sysctl -qw "net.ipv4.conf.$dev.route_localnet=1" &&
	ip -n "$ns" addr add "$addr/24" dev "$dev" noprefixroute &&
	ip -n "$ns" link set "$dev" up &&
	ip -n "$ns" route add 127.0.1.0/24 dev "$dev" src "$addr"
}

netns_down() {
	ip netns del $NS_SRC 2>/dev/null || true
	ip netns del $NS_DST 2>/dev/null || true
}

in_src() { ip netns exec $NS_SRC "$@"; }
in_dst() { ip netns exec $NS_DST "$@"; }
