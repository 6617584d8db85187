#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# pcmig-vmm, the reference VMM, and its guest program (user/vmm): the
# digest is a pure function of the guest's parameters (same twice,
# different seed differs, memslot layout and dirty-logging mode do not
# matter), several vCPUs and slots, stop/resume and save + restore in a
# new process mid-run end with the unmigrated digest, a restore with
# another layout is refused showing both, peek, the infinite mode with
# "finish", a plain Multiboot kernel's command line and memory map, the
# dirty-log exactness test (bitmap and ring), and command-line errors.
# The commands pcmig uses: "vmfd" (pid and VM fd, refused while the VMM
# harvests its own dirty log), "devstate"/"load-devstate" and an
# --incoming VMM: a migration through the control socket (device state
# through a file, RAM with load-ram) ends with the unmigrated digest.
#
# Needs /dev/kvm (the test VM loads kvm-amd); without it every case is
# skipped.  Guest RAM stays small: KVM runs nested under TCG here.

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=${PCMIG_ROOT:-$(cd "$HERE/../.." && pwd)}
# shellcheck source=lib/tap.sh
. "$HERE/lib/tap.sh"
# The VMM helpers (vmm_bg, ctl, wait_iters, wait_exit...), reap, run_case
# and ref_digest.
# shellcheck source=lib/vmm_mig.sh
. "$HERE/lib/vmm_mig.sh"

NTESTS=22
# pcmig-vmm runs with --timeout 120: wait_exit waits beyond that.
VMM_EXIT_S=150

# No namespaces and no pcmigd here: a case (run_case NAME FUNC) and the
# suite end with the VMMs reaped only, in place of lib/vmm_mig.sh's timed
# and cleanup, which also look for pcmigd and its sessions.
timed() {
	local t0=$SECONDS rc
	"$@"
	rc=$?
	reap
	echo "took $((SECONDS - t0)) s"
	return "$rc"
}

cleanup() {
	reap >/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT

# The workload every migration case compares against.
WL="seed=7 pages=1024 write_pct=60 iters=20000 burst=100"
# ... paced so that it runs a few seconds and can be stopped mid-run.
PACED="$WL pace=15000"

# vmm ARGS...: run to completion, output in $WORK/out, status in RC.
vmm() {
	"$VMM" --timeout 120 "$@" >"$WORK/out" 2>"$WORK/err" &
	wait_exit $!
}

# expect_rc WANT: complain with the output when RC differs.
expect_rc() {
	[ "$RC" -eq "$1" ] && return 0
	echo "exit status $RC, want $1"
	tail -n 5 "$WORK/out" "$WORK/err"
	return 1
}

# wl_digest N: the unmigrated digest of WL with N vCPUs (ref_digest caches
# it in a file: every case runs in a subshell).
wl_digest() { ref_digest "--vcpus $1 --mem 16" "$WL"; }


# ---- cases -------------------------------------------------------------

t_usage() {
	local bad=0 args msg
	while IFS='|' read -r args msg; do
		# shellcheck disable=SC2086
		"$VMM" $args >"$WORK/out" 2>"$WORK/err"
		RC=$?
		if [ "$RC" -ne 2 ] || ! grep -q -- "$msg" "$WORK/err"; then
			echo "pcmig-vmm $args: exit $RC, stderr:"; cat "$WORK/err"
			bad=1
		fi
	done <<EOF
--vcpus 0 --kernel $GUEST|--vcpus: '0' is not a number in 1..16
--vcpus x --kernel $GUEST|--vcpus: 'x' is not a number
--mem 1 --kernel $GUEST|--mem: '1' is not a number in 2..3072
--mem 8 --slots 8 --kernel $GUEST|every slot needs at least 2 MiB
--dirty-ring 300 --kernel $GUEST|not a power of two
--bogus|unrecognized option
--vcpus 2|give exactly one of --kernel IMAGE and --restore FILE
--kernel $GUEST --restore $WORK/x|give exactly one of
--kernel $GUEST extra|unexpected argument 'extra'
--linger --kernel $GUEST|--linger needs --control
--incoming --kernel $GUEST --control $WORK/x|--incoming takes its state from a migration, not from --kernel
--incoming --vcpus 2|--incoming needs --control
--incoming --control $WORK/x --dirty-log|a migrated VM's dirty log is pcmig's
--incoming --control $WORK/x --append seed=1|--append goes with --kernel, not --incoming
EOF
	"$VMM" --help >"$WORK/out" || { echo "--help failed"; bad=1; }
	grep -q "^Exit status:" "$WORK/out" || { echo "--help lacks the exit status"; bad=1; }
	return "$bad"
}

t_bad_inputs() {
	vmm --kernel /nonexistent
	expect_rc 4 || return 1
	grep -q "/nonexistent: No such file" "$WORK/err" || { cat "$WORK/err"; return 1; }
	head -c 20000 /dev/zero >"$WORK/zero.img"
	vmm --kernel "$WORK/zero.img"
	expect_rc 4 || return 1
	grep -q "no Multiboot v1 header" "$WORK/err" || { cat "$WORK/err"; return 1; }
	echo garbage >"$WORK/garbage.state"
	vmm --restore "$WORK/garbage.state"
	expect_rc 4 || return 1
	grep -q "not a pcmig-vmm save file" "$WORK/err" || { cat "$WORK/err"; return 1; }
	# a guest-side error: unknown parameter -> guest status 2 -> exit 1
	vmm --kernel "$GUEST" --mem 8 --append "pages=10 colour=blue"
	expect_rc 1 || return 1
	grep -q "guest: bad parameter: colour=blue" "$WORK/out" || { cat "$WORK/out"; return 1; }
}

t_multiboot_echo() {
	vmm --kernel "$GUEST" --mem 12 --slots 3 --append "mode=echo console=com1 hello world"
	expect_rc 0 || return 1
	local want
	# the image's name comes first, as with QEMU and GRUB
	want=$(cat <<EOF
cmdline: $GUEST mode=echo console=com1 hello world
mem_lower 639 KiB, mem_upper 3072 KiB
mmap 0x0000000000000000 0x000000000009fc00 type 1
mmap 0x000000000009fc00 0x0000000000000400 type 2
mmap 0x00000000000f0000 0x0000000000010000 type 2
mmap 0x0000000000100000 0x0000000000300000 type 1
mmap 0x0000000000500000 0x0000000000400000 type 1
mmap 0x0000000000900000 0x0000000000400000 type 1
vcpus 1
EOF
)
	if [ "$(grep -v '^result\|^cpu' "$WORK/out")" != "$want" ]; then
		echo "guest saw:"; cat "$WORK/out"; echo "want:"; echo "$want"
		return 1
	fi
}

t_deterministic() {
	local a b c
	a=$(wl_digest 1) || return 1
	vmm --kernel "$GUEST" --mem 16 --append "$WL"
	expect_rc 0 || return 1
	b=$(digest_of "$WORK/out")
	vmm --kernel "$GUEST" --mem 16 --append "${WL/seed=7/seed=8}"
	expect_rc 0 || return 1
	c=$(digest_of "$WORK/out")
	echo "seed 7: $a, again: $b, seed 8: $c"
	[ -n "$a" ] && [ "$a" = "$b" ] && [ -n "$c" ] && [ "$a" != "$c" ]
}

t_vcpus() {
	local one three again
	one=$(wl_digest 1) || return 1
	vmm --kernel "$GUEST" --vcpus 3 --mem 16 --append "$WL"
	expect_rc 0 || return 1
	three=$(digest_of "$WORK/out")
	grep -c "^cpu [0-2] iters 20000 " "$WORK/out" | grep -qx 3 ||
		{ echo "not every vCPU did 20000 operations:"; cat "$WORK/out"; return 1; }
	grep -q "vcpus 3 " "$WORK/out" || { cat "$WORK/out"; return 1; }
	vmm --kernel "$GUEST" --vcpus 3 --mem 16 --append "$WL"
	again=$(digest_of "$WORK/out")
	echo "1 vCPU: $one, 3 vCPUs: $three, again: $again"
	[ -n "$three" ] && [ "$three" = "$again" ] && [ "$three" != "$one" ]
}

# The working set is addressed by page number, so the memslot layout
# does not change the digest.
t_slots() {
	local ref d
	ref=$(wl_digest 2) || return 1
	vmm --kernel "$GUEST" --vcpus 2 --mem 16 --slots 5 --json --append "$WL"
	expect_rc 0 || return 1
	d=$(sed -n 's/.*"digest":"\(0x[0-9a-f]*\)".*/\1/p' "$WORK/out")
	grep -q '"slots":5' "$WORK/out" || { echo "JSON: $(cat "$WORK/out")"; return 1; }
	echo "1 slot: $ref, 5 slots: $d"
	[ "$d" = "$ref" ]
}

t_dirty_modes() {
	local ref b r rf
	ref=$(wl_digest 2) || return 1
	vmm --kernel "$GUEST" --vcpus 2 --mem 16 --slots 3 --dirty-log --append "$WL"
	expect_rc 0 || return 1
	b=$(digest_of "$WORK/out")
	grep "^dirty" "$WORK/out"
	vmm --kernel "$GUEST" --vcpus 2 --mem 16 --slots 3 --dirty-log --dirty-ring 256 --append "$WL"
	expect_rc 0 || return 1
	r=$(digest_of "$WORK/out")
	grep "^dirty" "$WORK/out"
	rf=$(sed -n 's/^dirty .* ring_full \([0-9]*\)$/\1/p' "$WORK/out")
	echo "none: $ref, bitmap: $b, ring: $r (ring full $rf times)"
	[ "$b" = "$ref" ] && [ "$r" = "$ref" ] && [ "${rf:-0}" -gt 0 ]
}

t_stop_resume() {
	local ref n1 n2 d
	ref=$(wl_digest 2) || return 1
	vmm_bg host sr --kernel "$GUEST" --vcpus 2 --mem 16 --slots 2 --append "$PACED" || return 1
	wait_iters sr 500 || return 1
	ctl sr stop | grep -qx "ok stopped" || return 1
	ctl sr status | grep -q "^ok state stopped" || { ctl sr status; return 1; }
	n1=$(iters0 sr)
	sleep 1
	n2=$(iters0 sr)
	[ "$n1" = "$n2" ] || { echo "cpu 0 ran while stopped: $n1 -> $n2"; return 1; }
	ctl sr --json status | grep -q '^{"ok":true,"state":"stopped"' || return 1
	ctl sr resume | grep -qx "ok running" || return 1
	wait_exit "$BG"
	expect_rc 0 || { cat "$WORK/sr.out"; return 1; }
	d=$(digest_of "$WORK/sr.out")
	echo "stopped at $n1 operations; digest $d, unmigrated $ref"
	[ "$d" = "$ref" ]
}

# save_restore NAME VCPUS SLOTS RING: stop mid-run, save, quit; a new
# process restores the file and finishes with the unmigrated digest.
save_restore() {
	local name=$1 n=$2 slots=$3 ring=$4 ref d src
	ref=$(wl_digest "$n") || return 1
	# shellcheck disable=SC2086 # RING is a list of options
	vmm_bg host "$name" --kernel "$GUEST" --vcpus "$n" --mem 16 --slots "$slots" \
		$ring --append "$PACED" || return 1
	src=$BG
	wait_iters "$name" 500 || return 1
	ctl "$name" save "$WORK/$name.state" | grep -q "^error save: the VM is running" ||
		{ echo "save while running was not refused"; return 1; }
	ctl "$name" stop >/dev/null || return 1
	ctl "$name" save "$WORK/$name.state" || return 1
	ctl "$name" quit >/dev/null
	wait_exit "$src"
	expect_rc 5 || return 1
	grep -q "^result stopped" "$WORK/$name.out" || { cat "$WORK/$name.out"; return 1; }
	# shellcheck disable=SC2086
	vmm_bg host "$name-dst" --restore "$WORK/$name.state" --paused --vcpus "$n" --mem 16 \
		--slots "$slots" $ring || return 1
	ctl "$name-dst" status | grep -q "^ok state stopped" || return 1
	[ "$(iters0 "$name-dst")" -ge 500 ] || { echo "restored VM lost its progress"; return 1; }
	ctl "$name-dst" resume >/dev/null || return 1
	wait_exit "$BG"
	expect_rc 0 || { cat "$WORK/$name-dst.out" "$WORK/$name-dst.err"; return 1; }
	d=$(digest_of "$WORK/$name-dst.out")
	echo "restored digest $d, unmigrated $ref"
	grep -c "^cpu [0-9]* iters 20000 " "$WORK/$name-dst.out" | grep -qx "$n" ||
		{ cat "$WORK/$name-dst.out"; return 1; }
	[ "$d" = "$ref" ]
}

t_save_restore_1() { save_restore sr1 1 1 ""; }
t_save_restore_3() { save_restore sr3 3 3 ""; }
t_save_restore_ring() { save_restore srr 2 2 "--dirty-log --dirty-ring 256"; }

# --save-on-stop, through SIGTERM this time.
t_save_on_stop() {
	local ref d
	ref=$(wl_digest 2) || return 1
	vmm_bg host sos --kernel "$GUEST" --vcpus 2 --mem 16 --save-on-stop "$WORK/sos.state" \
		--append "$PACED" || return 1
	wait_iters sos 1000 || return 1
	kill -TERM "$BG"
	wait_exit "$BG"
	expect_rc 5 || return 1
	[ -s "$WORK/sos.state" ] || { echo "no save file"; cat "$WORK/sos.err"; return 1; }
	vmm --restore "$WORK/sos.state" --vcpus 2 --mem 16
	expect_rc 0 || return 1
	d=$(digest_of "$WORK/out")
	echo "restored digest $d, unmigrated $ref"
	[ "$d" = "$ref" ]
}

t_restore_mismatch() {
	[ -s "$WORK/sr3.state" ] || { echo "no save file from the save/restore case"; return 1; }
	vmm --restore "$WORK/sr3.state" --vcpus 3 --mem 32 --slots 3
	expect_rc 4 || return 1
	cat "$WORK/err"
	grep -q "memory layout mismatch" "$WORK/err" &&
	grep -q "saved: 3 vCPUs, 16 MiB in 3 slots: slot 0 0x0+5MiB, slot 1 0x600000+5MiB, slot 2 0xb00000+6MiB" "$WORK/err" &&
	grep -q "this VM: 3 vCPUs, 32 MiB in 3 slots: slot 0 0x0+10MiB, slot 1 0xb00000+10MiB, slot 2 0x1500000+12MiB" "$WORK/err" || return 1
	vmm --restore "$WORK/sr3.state" --vcpus 2 --mem 16 --slots 3
	expect_rc 4 || return 1
	grep -q "this VM: 2 vCPUs" "$WORK/err" || { cat "$WORK/err"; return 1; }
}

t_peek_finish() {
	local v d
	vmm_bg host pk --kernel "$GUEST" --vcpus 2 --mem 16 --slots 2 \
		--append "seed=3 pages=512 iters=0 burst=100 pace=5000" || return 1
	wait_iters pk 500 || return 1
	v=$(ctl pk peek 0x7000) || return 1
	[ "$v" = "ok 0x47494d43504d4750" ] || { echo "peek 0x7000: $v"; return 1; }
	ctl pk --json peek 0x7000 | grep -q '"value":"0x47494d43504d4750"' || return 1
	# the hole before slot 1 and beyond the end are not RAM
	ctl pk peek 0x800000 | grep -q "^error peek" || return 1
	ctl pk peek 0x10000000 | grep -q "^error peek" || return 1
	ctl pk frobnicate | grep -q "^error unknown command" || return 1
	ctl pk finish | grep -q "^ok" || return 1
	wait_exit "$BG"
	expect_rc 0 || { cat "$WORK/pk.out"; return 1; }
	d=$(digest_of "$WORK/pk.out")
	echo "infinite mode finished on request, digest $d"
	[ -n "$d" ]
}

t_linger() {
	vmm_bg host lg --kernel "$GUEST" --mem 8 --linger --append "pages=64 iters=1000" || return 1
	local i
	for i in $(seq 100); do
		ctl lg status | grep -q "^ok state finished" && break
		sleep 0.1
	done
	ctl lg --json status | grep -q '"state":"finished"' || { ctl lg status; return 1; }
	ctl lg peek 0x7000 | grep -qx "ok 0x47494d43504d4750" || return 1
	ctl lg quit >/dev/null
	wait_exit "$BG"
	expect_rc 0 || return 1
}

dirtytest() {
	vmm --kernel "$GUEST" --mem 16 --slots 3 --dirty-test-rounds 24 --append mode=dirtytest "$@"
	grep "^dirtytest" "$WORK/out"
	expect_rc 0 || return 1
	grep -q "^dirtytest rounds 24 .* missed 0 spurious 0 badval 0 " "$WORK/out"
}

t_dirtytest_bitmap() { dirtytest; }
t_dirtytest_ring() { dirtytest --dirty-ring 4096; }

t_json_result() {
	vmm --kernel "$GUEST" --vcpus 2 --mem 8 --json --append "pages=64 iters=1000"
	expect_rc 0 || return 1
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["result"]=="finished" and d["exit_code"]==0 and len(d["progress"])==2 and d["digest"].startswith("0x"), d' "$WORK/out"
}

# "vmfd": "ok pid PID fd FD" names the VMM and its KVM VM fd (what pcmigd
# takes with pidfd_getfd); refused while the VMM harvests its own log.
t_vmfd() {
	local r pid fd
	vmm_bg host vf --kernel "$GUEST" --mem 8 --append "pages=64 iters=0 pace=5000" || return 1
	r=$(ctl vf vmfd) || { echo "vmfd: $r"; return 1; }
	echo "vmfd: $r"
	read -r pid fd <<<"$(sed -n 's/^ok pid \([0-9]*\) fd \([0-9]*\)$/\1 \2/p' <<<"$r")"
	[ "$pid" = "$BG" ] || { echo "pid $pid, the VMM is $BG"; return 1; }
	[ "$(readlink "/proc/$pid/fd/$fd")" = "anon_inode:kvm-vm" ] ||
		{ echo "fd $fd is $(readlink "/proc/$pid/fd/$fd")"; return 1; }
	ctl vf --json vmfd | grep -qx "{\"ok\":true,\"pid\":$pid,\"fd\":$fd}" ||
		{ ctl vf --json vmfd; return 1; }
	ctl vf finish >/dev/null
	wait_exit "$BG"
	expect_rc 0 || return 1
	# a VMM that harvests the dirty log itself cannot hand it to pcmig
	vmm_bg host vfl --kernel "$GUEST" --mem 8 --dirty-log --append "pages=64 iters=0 pace=5000" ||
		return 1
	r=$(ctl vfl vmfd)
	echo "with --dirty-log: $r"
	grep -q "^error vmfd: this VMM harvests the VM's dirty log itself" <<<"$r" || return 1
	ctl vfl finish >/dev/null
	wait_exit "$BG"
	expect_rc 0
}

# A migration through the control socket, as pcmigd drives it with the
# module moving the RAM: stop, devstate FILE on the source (save FILE
# stands in for the module's RAM stream); an --incoming VMM of the same
# shape gets the RAM (load-ram), load-devstate FILE, resume, and ends with
# the unmigrated digest.
t_ctl_migration() {
	local ref d src
	ref=$(wl_digest 2) || return 1
	vmm_bg host cm --kernel "$GUEST" --vcpus 2 --mem 16 --slots 3 --append "$PACED" || return 1
	src=$BG
	wait_iters cm 500 || return 1
	ctl cm devstate "$WORK/cm.ds" | grep -q "^error devstate: the VM is running" ||
		{ echo "devstate while running was not refused"; return 1; }
	ctl cm stop | grep -qx "ok stopped" || return 1
	ctl cm devstate "$WORK/cm.ds" | grep -q "^ok devstate [0-9]* bytes to $WORK/cm.ds" || return 1
	[ -s "$WORK/cm.ds" ] && [ ! -e "$WORK/cm.ds.tmp" ] || { ls -l "$WORK"; return 1; }
	ctl cm save "$WORK/cm.state" >/dev/null || return 1
	ctl cm quit >/dev/null
	wait_exit "$src"
	expect_rc 5 || return 1
	vmm_bg host cm-dst --incoming --vcpus 2 --mem 16 --slots 3 || return 1
	ctl cm-dst status | grep -q "^ok state incoming vcpus 2 " || { ctl cm-dst status; return 1; }
	ctl cm-dst --json status | grep -q '"state":"incoming"' || return 1
	ctl cm-dst resume | grep -q "^error resume: the VM has no state: load-devstate FILE first" ||
		{ echo "resume before load-devstate was not refused"; return 1; }
	ctl cm-dst devstate "$WORK/x.ds" | grep -q "^error devstate: the VM has no state" || return 1
	ctl cm-dst save "$WORK/x.state" | grep -q "^error save: the VM has no state" || return 1
	ctl cm-dst load-devstate /nonexistent | grep -q "^error load-devstate: /nonexistent: No such file" ||
		return 1
	head -c 5000 /dev/urandom >"$WORK/junk.ds"
	ctl cm-dst load-devstate "$WORK/junk.ds" | grep -q "^error load-devstate: .*bad magic" || return 1
	ctl cm-dst load-ram "$WORK/cm.state" | grep -q "^ok" || return 1
	ctl cm-dst load-devstate "$WORK/cm.ds" | grep -q "^ok loaded [0-9]* bytes of device state" ||
		return 1
	ctl cm-dst status | grep -q "^ok state stopped" || { ctl cm-dst status; return 1; }
	[ "$(iters0 cm-dst)" -ge 500 ] || { echo "the loaded state lost its progress"; return 1; }
	ctl cm-dst resume | grep -qx "ok running" || return 1
	wait_exit "$BG"
	expect_rc 0 || { cat "$WORK/cm-dst.out" "$WORK/cm-dst.err"; return 1; }
	d=$(digest_of "$WORK/cm-dst.out")
	echo "migrated through the control socket: digest $d, unmigrated $ref"
	[ "$d" = "$ref" ]
}

# An --incoming VMM refuses another VM's shape and quits without a guest.
t_incoming_refusals() {
	[ -s "$WORK/cm.ds" ] && [ -s "$WORK/cm.state" ] ||
		{ echo "no files from the control-socket migration case"; return 1; }
	vmm_bg host in3 --incoming --vcpus 3 --mem 16 --slots 3 || return 1
	ctl in3 load-devstate "$WORK/cm.ds" | grep -q "device state has 2 vCPUs, this VM 3" || return 1
	ctl in3 load-ram "$WORK/cm.state" | tee "$WORK/in3.r" |
		grep -q "^error load-ram: .*memory layout mismatch.*saved: 2 vCPUs" ||
		{ cat "$WORK/in3.r"; return 1; }
	ctl in3 status | grep -q "^ok state incoming" || return 1
	ctl in3 quit >/dev/null
	wait_exit "$BG"
	expect_rc 5 || return 1
	grep -q "^result stopped" "$WORK/in3.out" || { cat "$WORK/in3.out"; return 1; }
	# load-ram is for an incoming VM only
	vmm_bg host lr --kernel "$GUEST" --mem 16 --slots 3 --vcpus 2 --append "$PACED" || return 1
	ctl lr stop >/dev/null
	ctl lr load-ram "$WORK/cm.state" | grep -q "^error load-ram: only into an incoming VM" ||
		return 1
	ctl lr quit >/dev/null
	wait_exit "$BG"
	expect_rc 5
}

# ---- main ----------------------------------------------------------------

tap_plan $NTESTS
if [ ! -c /dev/kvm ] || [ ! -x "$VMM" ] || [ ! -f "$GUEST" ]; then
	why="no /dev/kvm"
	[ -x "$VMM" ] || why="$VMM not built (make -C user)"
	for i in $(seq $NTESTS); do tap_skip "vmm case $i" "$why"; done
	tap_exit
fi

run_case "usage errors exit 2 with a message" t_usage
run_case "bad kernel, bad save file, bad guest parameter" t_bad_inputs
run_case "plain multiboot kernel: cmdline, mem_lower/upper, memory map (COM1)" t_multiboot_echo
run_case "digest: same parameters same digest, other seed other digest" t_deterministic
run_case "3 vCPUs: all report, digest deterministic" t_vcpus
run_case "5 memslots give the 1-slot digest (JSON result)" t_slots
run_case "dirty bitmap and dirty ring (ring full handled) keep the digest" t_dirty_modes
run_case "stop/resume mid-run keeps the digest" t_stop_resume
run_case "save + restore in a new process: 1 vCPU, 1 slot" t_save_restore_1
run_case "save + restore in a new process: 3 vCPUs, 3 slots" t_save_restore_3
run_case "save + restore with the dirty ring" t_save_restore_ring
run_case "--save-on-stop on SIGTERM, restore finishes" t_save_on_stop
run_case "restore with another layout refused, both layouts shown" t_restore_mismatch
run_case "peek, errors, infinite mode ends on finish" t_peek_finish
run_case "--linger: status finished, peek after the end" t_linger
run_case "dirty-log exactness, bitmap" t_dirtytest_bitmap
run_case "dirty-log exactness, dirty ring" t_dirtytest_ring
run_case "--json result" t_json_result
run_case "vmfd: pid and KVM VM fd; refused with --dirty-log" t_vmfd
run_case "migration through the control socket: devstate, --incoming, load-devstate" t_ctl_migration
run_case "--incoming: other shape refused, quit without a guest" t_incoming_refusals
tap_run "no pcmig-vmm left running" bash -c "! pgrep -x pcmig-vmm"
tap_exit
