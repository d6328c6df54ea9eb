#!/bin/bash
# Any host (issue 11): no KVM, a KVM that works, a KVM that cannot run
# guests, and a status that never lies.
#  - QEMU's run state is tracked from QMP (STOP, RESUME, query-status):
#    a VM paused with `vmctl qmp NAME stop` shows paused, and `vmctl stop`
#    resumes it for the power button: a clean guest shutdown in seconds,
#    not after halt_timeout.
#  - accel = auto on whatever this host has: the guest always boots, and
#    status says what it runs with and why (asserted per kind of host).
#  - accel = kvm is strict.
#  - In a mount namespace: /dev/kvm masked (none), and present but closed
#    to the QEMU user (chmod 0600): auto says why and uses TCG, kvm fails.
source "$VMS_TOP/tests/lib/tap.sh"
source "$VMS_TOP/tests/lib/guest.sh"
source "$VMS_TOP/tests/daemon/lib.sh"
need_daemon
scratch_daemon
need_guest

console() { echo "$TMP/log/$1.console.log"; }
guest_vm() {	# NAME FLAVOUR [LINES...]: a real guest with a fresh disk
	local name=$1 flavour=$2 l; shift 2
	guest_disk_new "$TMP/$name.img" 1M
	{
		echo "vm $name {"
		echo "	machine = \"pc\""
		echo "	memory = 128"
		echo "	kernel = \"$GUEST_KERNEL\""
		echo "	initrd = \"$GUEST_INITRD\""
		echo "	append = \"$(guest_append "$flavour")\""
		echo "	extra_args = \"-no-reboot\""
		echo "	disk { file = \"$TMP/$name.img\" format = raw }"
		for l in "$@"; do echo "	$l"; done
		echo "}"
	} >>"$TMP/vms.conf"
}

# What this host has, decided without the daemon: none, or a node that
# opens (working or broken: only a guest tells them apart).
if [ ! -e /dev/kvm ]; then HOSTKVM=none; else HOSTKVM=present; fi
diag "host: /dev/kvm $HOSTKVM"

conf_head 30 5
conf_vm m
guest_vm g cooperative 'halt = acpi' 'accel = tcg'
guest_vm h cooperative 'halt = acpi' 'accel = auto'
guest_vm h2 cooperative 'halt = acpi' 'accel = auto' 'autostart = no'
guest_vm k cooperative 'halt = acpi' 'accel = kvm' 'autostart = no'
check "config valid" vmctl check-config

check "daemon starts" start_daemon
# k (accel = kvm) starts now: a KVM that opens but cannot run guests takes
# about a minute to fail a guest, h's (auto) minute runs beside it.
vmctl start k --no-wait >/dev/null 2>&1
check "m running" wait_state m running
check "g running" wait_state g running 30

# --- run state from QMP (machine none: no guest needed) ---------------------
check_eq "m: run_state running" "$(field m run_state)" running
vmctl qmp m '{"execute":"stop"}' >/dev/null
check "m: paused after QMP stop" wait_state m paused 5
check_eq "m: run_state paused" "$(field m run_state)" paused
check_match "status table says paused" "$(vmctl status)" '^m +paused '
vmctl status m >/dev/null; rc=$?
check_eq "status of a paused VM: not running (3)" "$rc" 3
vmctl qmp m '{"execute":"cont"}' >/dev/null
check "m: running again after cont" wait_state m running 5
check_eq "m: run_state running again" "$(field m run_state)" running

# --- a paused guest is stopped cleanly, well under halt_timeout (30 s) ------
check "g booted" guest_wait_line "$(console g)" 'vmservice-guest: ready' 90
vmctl qmp g '{"execute":"stop"}' >/dev/null
check "g: paused" wait_state g paused 5
t0=$EPOCHREALTIME
out=$(vmctl stop g)
dt=$(sub "$EPOCHREALTIME" "$t0")
diag "paused guest stopped in $dt s (halt_timeout 30)"
check_match "g: stopped by the power button" "$out" '^g: stopped \(host-powerdown\)'
check "g: in well under halt_timeout (< 10 s)" lt "$dt" 10
check_eq "g: the guest shut down cleanly (disk record)" "$(guest_disk_clean "$TMP/g.img")" 1
check_match "log: resumed for the halt" "$(cat "$TMP/daemon.log")" 'g: guest is paused: cont before the halt'

# --- accel = auto on this host -----------------------------------------------
check "h booted (whatever this host's KVM does)" \
    guest_wait_line "$(console h)" 'vmservice-guest: ready' 400
acc=$(field h accel); note=$(field h accel_note)
diag "h: accel $acc, note: $note"
case "$HOSTKVM:$acc" in
none:tcg)
	ok "no /dev/kvm: auto runs h under TCG"
	check_eq "the note says why" "$note" "no /dev/kvm on this host"
	check_match "status shows tcg (no kvm)" "$(vmctl status)" '^h +running +[0-9]+ +[^ ]+ +tcg \(no kvm\)'
	check_match "and explains it" "$(vmctl status)" '^h: tcg: no /dev/kvm on this host$'
	check_match "check-config says it too" "$(vmctl check-config)" \
	    'note: vm h: accel = auto: no /dev/kvm on this host: it runs under TCG'
	;;
present:kvm)
	ok "working KVM: auto runs h under KVM"
	check_eq "no note" "$note" null
	;;
present:tcg)
	# Broken KVM (it opened, the guest could not run) or closed to the user.
	if [[ $note == "kvm failed"* ]] || grep -q 'h: KVM failed' "$TMP/daemon.log"; then
		ok "broken KVM: h fell back to TCG"
		check_match "the daemon logged QEMU's own words" "$(cat "$TMP/daemon.log")" \
		    'h: KVM failed'
		check_match "and remembers KVM is broken here" "$(cat "$TMP/daemon.log")" \
		    'KVM cannot run guests on this host'
		check_match "status shows tcg (kvm failed)" "$(vmctl status)" 'tcg \(kvm failed\)'
		vmctl start h2 >/dev/null
		check "h2 (auto, started later) boots" \
		    guest_wait_line "$(console h2)" 'vmservice-guest: ready' 120
		check_match "h2 went straight to TCG" "$(field h2 accel_note)" '^kvm failed on this host'
		check "h2 never tried KVM" test "$(grep -c 'h2: KVM failed' "$TMP/daemon.log")" = 0
		vmctl stop h2 >/dev/null
	else
		ok "KVM present but not usable by the QEMU user: TCG"
		check_match "the note says why" "$note" '/dev/kvm'
	fi
	;;
*)
	notok "h: unexpected accel '$acc' with /dev/kvm $HOSTKVM";;
esac
out=$(vmctl stop h)
check_match "h stops through ACPI" "$out" '^h: stopped \(host-powerdown\)'

# --- accel = kvm is strict (started with the daemon) --------------------------
case $HOSTKVM in
none)
	check "k (accel = kvm, no KVM): failed" wait_state k failed 10
	check_eq "reason start-failed" "$(field k stop_reason)" start-failed
	check_eq "detail says why" "$(field k stop_detail)" "accel = kvm: no /dev/kvm on this host"
	;;
present)
	for ((i = 0; i < 900; i++)); do
		s=$(field k state)
		[ "$s" = failed ] && break
		[ "$s" = running ] && [ "$(field k accel)" = kvm ] &&
		    grep -aq 'vmservice-guest: ready' "$(console k)" 2>/dev/null && break
		sleep 0.1
	done
	if [ "$s" = failed ]; then
		check_match "k failed with a KVM reason" "$(field k stop_reason)" '^(kvm-error|start-failed)$'
		check_match "detail names KVM" "$(field k stop_detail)" '[Kk][Vv][Mm]'
	else
		check_eq "k runs under KVM (working KVM)" "$(field k accel)" kvm
		vmctl stop k >/dev/null
	fi
	;;
esac
stop_daemon
check_eq "daemon exits 0" "$DRC" 0

# --- /dev/kvm masked, and closed to the QEMU user (mount namespaces) ---------
if ! command -v unshare >/dev/null; then
	skip "namespaced /dev" "no unshare"
	done_testing; exit
fi
# A private /dev holding what QEMU and the daemon open, and a kvm node
# (c 10 232) with mode $1, or none when $1 is empty.
ns_dev() {
	local mode=$1
	DAEMON_PREFIX=(unshare -m --propagation private sh -c '
		set -e
		mount -t tmpfs -o mode=0755 vmsdev /dev
		for n in null:1:3 zero:1:5 full:1:7 random:1:8 urandom:1:9 tty:5:0; do
			IFS=: read name ma mi <<-E
			$n
			E
			mknod -m 0666 /dev/$name c $ma $mi
		done
		[ -z "'"$mode"'" ] || mknod -m "'"$mode"'" /dev/kvm c 10 232
		exec "$0" "$@"')
}
# A QEMU user other than root, to close /dev/kvm to.
NOB=nobody
rm -rf "$TMP/run" "$TMP/state" "$TMP/log"
CONF_ACCEL= conf_head 2 2
conf_vm auto_root 'accel = auto'
conf_vm auto_user 'accel = auto' "runas = \"$NOB\""
conf_vm kvm_user 'accel = kvm' "runas = \"$NOB\"" 'autostart = no'
mkdir -p "$TMP/run" "$TMP/state" "$TMP/log"
chmod 0755 "$TMP"

ns_dev ""
: >"$TMP/daemon.log"
check "masked: daemon starts in a namespace without /dev/kvm" start_daemon
check "masked: auto VM runs" wait_state auto_root running 10
check_eq "masked: under TCG" "$(field auto_root accel)" tcg
check_eq "masked: the note says there is no /dev/kvm" "$(field auto_root accel_note)" \
    "no /dev/kvm on this host"
check_match "masked: the daemon's start line says so" "$(cat "$TMP/daemon.log")" \
    'kvm: no /dev/kvm on this host \(accel = auto runs VMs under TCG\)'
vmctl start kvm_user >/dev/null 2>&1
check "masked: accel = kvm fails" wait_state kvm_user failed 10
check_eq "masked: ... start-failed" "$(field kvm_user stop_reason)" start-failed
stop_daemon
check_eq "masked: daemon exits 0" "$DRC" 0

ns_dev 0600
: >"$TMP/daemon.log"
check "closed: daemon starts in a namespace with /dev/kvm 0600 root" start_daemon
check "closed: auto VM of $NOB runs" wait_state auto_user running 10
check_eq "closed: under TCG" "$(field auto_user accel)" tcg
check_eq "closed: the note names the user" "$(field auto_user accel_note)" \
    "/dev/kvm not accessible to $NOB"
check_match "closed: the log says why" "$(cat "$TMP/daemon.log")" \
    "auto_user: accel = auto: /dev/kvm not accessible to $NOB; using TCG"
check_match "closed: status explains it" "$(vmctl status)" \
    "^auto_user: tcg: /dev/kvm not accessible to $NOB\$"
vmctl start kvm_user >/dev/null 2>&1
check "closed: accel = kvm fails" wait_state kvm_user failed 10
check_eq "closed: ... with the reason" "$(field kvm_user stop_detail)" \
    "accel = kvm: /dev/kvm not accessible to $NOB"
stop_daemon
check_eq "closed: daemon exits 0" "$DRC" 0
DAEMON_PREFIX=()
done_testing
