#!/bin/bash
# kcheck.sh [MARKER] - is the kernel still clean?
#
# Used by scripts/vm-init after every VM command and by test suites inside
# the VM between tests. Debian's kernels have no KASAN/lockdep/kmemleak, so
# the kernel log (plus slub_debug and, on 6.12, KFENCE) and the taint mask
# are what we have.
#
# With MARKER, only log lines after the last line containing MARKER are
# scanned; a suite writes it first with:  echo "MARKER" > /dev/kmsg
# Without MARKER (or if the marker has been rotated out of the log buffer)
# the whole log is scanned.
#
# Prints the offending lines and exits 1 when dirty, 0 when clean.
set -euo pipefail

marker=${1:-}

# Patterns that only appear in kernel bug reports. Matched
# case-sensitive on purpose: boot prints harmless "kfence: initialized" and
# "SLUB: HWalign=..." lines, reports use "BUG: KFENCE:" and "BUG kmalloc-64".
patterns=(
	'WARNING:'                  # WARN_ON & co.
	'BUG:'                      # BUG(), NULL deref, sleeping in atomic, KFENCE
	'Oops'
	'general protection'
	'Kernel panic'
	'soft lockup'
	'hard LOCKUP'
	'hung_task'
	'blocked for more than'     # hung task report
	'detected stall'            # RCU stall ("rcu: INFO: rcu_sched detected stalls")
	'self-detected stall'
	'refcount_t'                # refcount_t: underflow / saturated
	'Redzone'                   # slub_debug=Z
	'Poison overwritten'        # slub_debug=P
	'Object already free'       # slub_debug=F (double free)
	'Freepointer corrupt'
	'Objects remaining'         # kmem_cache_destroy with live objects (leak)
	'still has objects'         # same, newer wording
	'kmemleak'
	'KFENCE'
	'UBSAN'
	'list_add corruption'
	'list_del corruption'
	'Call Trace'
)

log=$(dmesg 2>&1) || { echo "kcheck: cannot read dmesg: $log"; exit 1; }

if [ -n "$marker" ]; then
	# keep only what follows the last marker line
	last=$(printf '%s\n' "$log" | grep -nF -- "$marker" | tail -n1 | cut -d: -f1 || true)
	if [ -n "$last" ]; then
		log=$(printf '%s\n' "$log" | tail -n +"$((last + 1))")
	else
		echo "kcheck: marker '$marker' not in dmesg, scanning the whole log"
	fi
fi

dirty=0

# The patterns above contain no regex metacharacters, so they work as -E
# patterns too. The SLUB debug report header "BUG kmalloc-64 (Tainted: ...):"
# needs a real regex: a plain "BUG " would also hit "DEBUG " in harmless lines.
grep_args=(-e '(^|[] ])BUG [^ ]+ \(')
for p in "${patterns[@]}"; do grep_args+=(-e "$p"); done
# Known harmless lines that happen to match (CPU vulnerability notes at
# boot, seen with -cpu max under TCG and on real AMD hosts).
ignore_re='Speculative Return Stack Overflow: WARNING|Spectre V2 : WARNING'
if bad=$(printf '%s\n' "$log" | grep -E "${grep_args[@]}" | grep -Ev -e "$ignore_re"); then
	echo "kcheck: suspicious kernel log lines:"
	# print a bounded amount; the full log is in dmesg
	printf '%s\n' "$bad" | head -n 60 | sed 's/^/kcheck:   /'
	n=$(printf '%s\n' "$bad" | wc -l)
	[ "$n" -le 60 ] || echo "kcheck:   ... ($n lines in total)"
	dirty=1
fi

# Taint: O (4096, out-of-tree module) and E (8192, unsigned module) are
# expected from loading pcmig.ko; anything else (W warning, D died, B bad
# page, L soft lockup, ...) means trouble.
taint=$(cat /proc/sys/kernel/tainted)
other=$((taint & ~(4096 | 8192)))
if [ "$other" -ne 0 ]; then
	# letters as in kernel/panic.c taint_flags[], bit 0 first
	letters=PFSRMBUDAWCIOELKXTN
	names=""
	for ((i = 0; i < ${#letters}; i++)); do
		if (( other & (1 << i) )); then names+=${letters:i:1}; fi
	done
	echo "kcheck: kernel tainted: $taint (unexpected flags: $names, mask $other)"
	dirty=1
fi

if [ $dirty -eq 0 ]; then
	echo "kcheck: clean (tainted=$taint)"
fi
exit $dirty
