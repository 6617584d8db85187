# SPDX-License-Identifier: GPL-2.0
# Writing known extents through a block device and computing the dirty
# extents a bitmap must report for them.

# write_dev DEV OFFSET LENGTH: direct I/O, so exactly these sectors reach
# the device (a block device is written in whole sectors; the tests use
# offsets that are sector-aligned but not granule-aligned).
write_dev() {
	dd if=/dev/urandom of="$1" bs=512 seek=$(($2 / 512)) \
		count=$(($3 / 512)) oflag=direct status=none
}

# expected GRANULARITY SIZE OFFSET:LENGTH...: the extents ("offset length"
# lines, as "pcmigd bitmap dump" prints them) of a bitmap of a SIZE-byte
# device after writes at these byte ranges.
expected() {
	python3 - "$@" <<'EOF'
import sys
g = int(sys.argv[1]); size = int(sys.argv[2]); runs = []
for w in sys.argv[3:]:
    off, ln = map(int, w.split(":"))
    a = off // g * g
    b = min(-(-(off + ln) // g) * g, size)
    runs.append((a, b))
runs.sort()
out = []
for a, b in runs:
    if out and a <= out[-1][1]:
        out[-1][1] = max(out[-1][1], b)
    else:
        out.append([a, b])
for a, b in out:
    print(a, b - a)
EOF
}

# merge_extents FILE...: the union of extent lists, as maximal runs.
merge_extents() {
	# shellcheck disable=SC2046
	expected 1 $((1 << 62)) $(cat "$@" | awk '{ print $1 ":" $2 }')
}
