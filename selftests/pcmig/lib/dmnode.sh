# SPDX-License-Identifier: GPL-2.0
#
# Block nodes of the pcmig device-mapper target for migration tests, all
# over one sparse loop device, and comparing two nodes' bitmaps as
# extents.  The suite sets WORK and BACKING_SIZE, sources extents.sh, and
# removes the nodes and LOOP when it ends (remove_nodes, losetup -d).

export DM_DISABLE_UDEV=1
LOOP=

# Tests run in subshells (tap_run): find their nodes by target type.
remove_nodes() {
	local n
	for n in $(dmsetup ls --target pcmig 2>/dev/null | awk '$1 != "No" { print $1 }'); do
		dmsetup remove --noudevsync "$n"
	done
}

# dm_setup: the loop device every node sits on.
dm_setup() {
	modprobe loop || return 1
	truncate -s $BACKING_SIZE "$WORK/backing"
	LOOP=$(losetup -f --show "$WORK/backing")
}

# mknode NAME SECTORS: a pcmig node of that name over the shared backing.
mknode() {
	dmsetup create --noudevsync "$1" --table "0 $2 pcmig $LOOP 0 $1"
}

add() { pcmigd bitmap add "$@" >/dev/null; }

# same SRCNODE DSTNODE BITMAP [EXTRA-EXTENTS-FILE]: the destination's
# extents equal the source's (with the extra extents merged in).
same() {
	pcmigd bitmap dump "$1" "$3" >"$WORK/src.ext" || return 1
	pcmigd bitmap dump "$2" "$3" >"$WORK/dst.ext" || return 1
	if [ -n "$4" ]; then
		merge_extents "$WORK/src.ext" "$4" >"$WORK/want.ext"
	else
		cp "$WORK/src.ext" "$WORK/want.ext"
	fi
	cmp -s "$WORK/want.ext" "$WORK/dst.ext" && return 0
	echo "bitmap $3: $2 differs from $1"
	diff "$WORK/want.ext" "$WORK/dst.ext" | head -20
	return 1
}

