#!/bin/bash
# vmctl attach NAME PID: a QEMU started by hand (the real test guest under
# TCG, its QMP on a unix socket) is supervised from then on as a transient
# VM: status shows it attached and running, vmctl stop halts it through
# the ladder (the guest powers off on ACPI), its stop reason is recorded,
# a SIGKILL is noticed at once, and stopping the service stops it. Refused,
# with the pid named: a process that is not QEMU, a QEMU without a QMP
# socket, one already supervised, a name the inventory has, a QMP socket
# that is a symlink, owned by another user, or served by another process.
# A QEMU whose QMP another client holds fails to attach after 10 s and is
# left running; a reload may take a stopped attached VM's name, not a
# running one's; a restarted daemon does not re-attach.
source "$VMS_TOP/tests/lib/tap.sh"
source "$VMS_TOP/tests/daemon/lib.sh"
source "$VMS_TOP/tests/lib/guest.sh"
need_daemon
scratch_daemon
need_guest

# The QEMUs started here are killed at exit whatever happens: by their
# pidfiles ($TMP/NAME.pid; hand() runs in $(...), a subshell, so an array
# it filled would be lost), each only while it is still a QEMU.
cleanup() {
	local f p
	for f in "$TMP"/*.pid; do
		[ -e "$f" ] || continue
		p=$(cat "$f" 2>/dev/null)
		case $(cat "/proc/$p/comm" 2>/dev/null) in qemu*) kill -KILL "$p" 2>/dev/null;; esac
	done
	[ -n "${SPID:-}" ] && kill -KILL "$SPID" 2>/dev/null
	cleanup_daemon
}
trap cleanup EXIT

# hand NAME MACHINE [QEMU ARGS...]: a QEMU started as an admin would, daemonized,
# its serial console in $TMP/NAME.serial; its pid in $TMP/NAME.pid and printed. From a root
# shell it holds every capability, so the daemon (which dropped most) may not read
# its /proc/PID/exe and takes its argv[0]; NOCAPS (setpriv) starts one without.
NOCAPS=(setpriv --bounding-set=-all --inh-caps=-all)
hand() {
	local name=$1 machine=$2 g=() pre=()
	shift 2
	[ "$machine" = pc ] && mapfile -t g < <(guest_qemu_args cooperative)
	[ -n "${HAND_NOCAPS:-}" ] && pre=("${NOCAPS[@]}")
	${pre[@]+"${pre[@]}"} qemu-system-x86_64 -name "$name" -machine "$machine" -accel tcg -m 128 -nodefaults \
	    -no-reboot -display none -serial "file:$TMP/$name.serial" "${g[@]}" "$@" \
	    -daemonize -pidfile "$TMP/$name.pid" || return 1
	cat "$TMP/$name.pid"
}
# guest_ready NAME: its serial console says the guest is up (acpid listens).
guest_ready() {
	local i
	for ((i = 0; i < 300; i++)); do
		grep -q 'vmservice-guest: ready' "$TMP/$1.serial" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
# stopped_within NAME SECONDS: polls status; prints how long it took.
stopped_within() {
	local i t0=$EPOCHREALTIME
	for ((i = 0; i < $2 * 100; i++)); do
		if [ "$(field "$1" state)" = stopped ]; then
			sub "$EPOCHREALTIME" "$t0"
			return 0
		fi
		sleep 0.01
	done
	return 1
}

conf_head 20 2
conf_vm inv1
check "daemon starts" start_daemon
check "inv1 (in the inventory) running" wait_state inv1 running

# Two guests boot in parallel: one for vmctl stop, one for the service stop.
p1=$(hand h1 pc -qmp "unix:$TMP/h1.qmp,server=on,wait=off")
p4=$(hand h4 pc -chardev "socket,id=mon0,path=$TMP/h4.qmp,server=on,wait=off" \
    -mon chardev=mon0,mode=control)
p3=$(HAND_NOCAPS=1 hand h3 none -qmp "unix:$TMP/h3.qmp,server,nowait")
p2=$(hand h2 none)
p5=$(HAND_NOCAPS=1 hand h5 none -qmp "unix:$TMP/h5.qmp,server=on,wait=off")
p6=$(hand h6 none -qmp "unix:$TMP/run/h6.qmp,server=on,wait=off")
check "six QEMUs started by hand" test -n "$p1" -a -n "$p2" -a -n "$p3" -a -n "$p4" -a -n "$p5" \
    -a -n "$p6"

# Refusals, each naming the pid.
"${NOCAPS[@]}" sleep 300 </dev/null >/dev/null 2>&1 &
SPID=$!
sleep 300 </dev/null >/dev/null 2>&1 &
SPID2=$!
# Until setpriv has become sleep (while it execs, its /proc files are in flux).
for ((i = 0; i < 100; i++)); do [ "$(cat /proc/$SPID/comm 2>/dev/null)" = sleep ] && break; sleep 0.02; done
out=$(vmctl attach s1 "$SPID" 2>&1); rc=$?
check_eq "a sleep: refused" "$rc" 1
check_match "a sleep (/proc/PID/exe): not QEMU, pid named" "$out" \
    "pid $SPID runs /.*/sleep, not a QEMU system emulator"
out=$(vmctl attach s1 "$SPID2" 2>&1); rc=$?
check_match "a sleep with root's capabilities (argv[0]): not QEMU" "$out" \
    "pid $SPID2 runs sleep, not a QEMU system emulator"
kill "$SPID2"
out=$(vmctl attach h2 "$p2" 2>&1); rc=$?
check_eq "QEMU without QMP: refused" "$rc" 1
check_match "QEMU without QMP: says so" "$out" "pid $p2: no QMP monitor"
out=$(vmctl attach inv1 "$p3" 2>&1); rc=$?
check_eq "a name in the inventory: refused" "$rc" 1
check_match "a name in the inventory: says so" "$out" "vm inv1 is in the inventory"
out=$(vmctl attach h6 "$p6" 2>&1); rc=$?
check_match "a QMP socket in run_dir (the daemon's own VMs'): refused" "$out" \
    "pid $p6: its QMP socket $TMP/run/h6.qmp is in run_dir"
kill -KILL "$p6"
out=$(vmctl attach k3 999999 2>&1); rc=$?
check_match "no such pid: refused" "$out" "pid 999999: no such process"

# The QMP socket: never through a symlink, only the QEMU's uid's or root's,
# only served by that very process.
mv "$TMP/h3.qmp" "$TMP/h3.real"
ln -s h3.real "$TMP/h3.qmp"
out=$(vmctl attach k3 "$p3" 2>&1); rc=$?
check_eq "QMP socket a symlink: refused" "$rc" 1
check_match "symlink: says so" "$out" "pid $p3: QMP: .*h3.qmp: a symlink"
rm "$TMP/h3.qmp"
mv "$TMP/h3.real" "$TMP/h3.qmp"
chown 65534 "$TMP/h3.qmp"
out=$(vmctl attach k3 "$p3" 2>&1); rc=$?
check_eq "QMP socket of another user: refused" "$rc" 1
check_match "another user: says so" "$out" "pid $p3: QMP: .*owned by uid 65534"
chown 0 "$TMP/h3.qmp"
mv "$TMP/h3.qmp" "$TMP/h3.real"
socat "UNIX-LISTEN:$TMP/h3.qmp" /dev/null </dev/null >/dev/null 2>&1 &
xpid=$!
for ((i = 0; i < 50; i++)); do [ -S "$TMP/h3.qmp" ] && break; sleep 0.1; done
out=$(vmctl attach k3 "$p3" 2>&1); rc=$?
check_eq "QMP socket served by another process: refused" "$rc" 1
check_match "another process: says so" "$out" "pid $p3: QMP: .*served by pid $xpid"
kill "$xpid" 2>/dev/null; wait "$xpid" 2>/dev/null
rm -f "$TMP/h3.qmp"
mv "$TMP/h3.real" "$TMP/h3.qmp"
check "nothing was attached by the refusals" \
    sh -c "! '$VMS_BIN/vmctl' -c '$TMP/vms.conf' status --json | grep -q '\"attached\":true'"

# Its QMP busy with another client: QEMU never greets us; failed, no signal.
# (Meanwhile the guests boot.)
socat -u "UNIX-CONNECT:$TMP/h5.qmp" /dev/null </dev/null >/dev/null 2>&1 &
xpid=$!
sleep 0.3
t0=$EPOCHREALTIME
out=$(vmctl attach k5 "$p5" 2>&1); rc=$?
t=$(sub "$EPOCHREALTIME" "$t0")
check_eq "QMP held by another client: attach fails" "$rc" 1
check_match "... after 10 s, saying so" "$out" "vm k5 is failed.*not attached: its QMP did not answer query-status in time; pid $p5 runs on"
check "... within 9-12 s" lt 9 "$t"
check "... (< 12 s)" lt "$t" 12
check "the QEMU was left running" kill -0 "$p5"
kill "$xpid" 2>/dev/null; wait "$xpid" 2>/dev/null
out=$(vmctl attach k5 "$p5" 2>&1); rc=$?
check_eq "attached once its QMP is free (the failed k5 gives way)" "$rc" 0

# Attach and supervise.
check "h1's guest is up" guest_ready h1
out=$(vmctl attach h1 "$p1" 2>&1); rc=$?
check_eq "attach h1: ok" "$rc" 0
check_match "attach h1: running" "$out" "^h1: running \(attached pid $p1, run state running, accel tcg\)"
check_eq "status: running" "$(field h1 state)" running
check_eq "status: attached" "$(field h1 attached)" true
check_eq "status: its pid" "$(field h1 pid)" "$p1"
check_eq "status: accel from query-kvm" "$(field h1 accel)" tcg
check_eq "status: run state from query-status" "$(field h1 run_state)" running
check_match "status table says attached" "$(vmctl status)" "h1 +running \(attached\) +$p1"
check_match "show --argv: its real command line" "$(vmctl show h1 --argv)" \
    "^unix:$TMP/h1.qmp,server=on,wait=off$"
out=$(vmctl attach h1b "$p1" 2>&1); rc=$?
check_eq "the same pid twice: refused" "$rc" 1
check_match "the same pid twice: says so" "$out" "pid $p1 is already supervised as vm h1"
out=$(vmctl attach h1 "$p3" 2>&1); rc=$?
check_match "an attached name again: refused" "$out" "vm h1 is already supervised \(pid $p1\)"
out=$(vmctl restart h1 2>&1); rc=$?
check_match "restart refused: no command line of ours" "$out" "vm h1 is attached .*cannot restart"
check "not in the inventory: no state file" test ! -e "$TMP/state/h1.json"
check "not in the inventory: no intent file" test ! -e "$TMP/run/h1.intent"

t0=$EPOCHREALTIME
out=$(vmctl stop h1 2>&1); rc=$?
t=$(sub "$EPOCHREALTIME" "$t0")
check_eq "vmctl stop h1: ok" "$rc" 0
check_eq "stopped" "$(field h1 state)" stopped
check_eq "reason host-powerdown (the ACPI step)" "$(field h1 stop_reason)" host-powerdown
check_match "the guest saw the power button" "$(cat "$TMP/h1.serial")" "powerbutton, clean shutdown"
check_match "the ladder is the stop detail" "$(field h1 stop_detail)" "halt: acpi pressed"
check "its QEMU is gone" gone_within "$p1"
check "within halt_timeout" lt "$t" 20
diag "vmctl stop of an attached guest: $t s"
check_match "shown once stopped, as attached" "$(vmctl status)" "h1 +stopped \(attached\)"
out=$(vmctl start h1 2>&1); rc=$?
check_eq "start of a stopped attached VM: refused" "$rc" 1
check_match "start: says why" "$out" "vm h1 is attached .*cannot start"

# A SIGKILL by someone else is seen at once (pidfd), with its reason.
out=$(vmctl attach k3 "$p3" 2>&1); rc=$?
check_eq "attach k3 (-qmp unix:,server,nowait): ok" "$rc" 0
check_match "k3 without capabilities: its exe from /proc" "$(field k3 exe)" "^/.*/qemu-system-x86_64$"
check_eq "h1 with root's capabilities: its argv[0]" "$(field h1 exe)" qemu-system-x86_64
kill -KILL "$p3"
t=$(stopped_within k3 5); rc=$?
check_eq "SIGKILL noticed" "$rc" 0
# (The bound includes this loop's own vmctl runs on a loaded host.)
check "at once (< 2 s)" lt "${t:-9}" 2
diag "SIGKILL of an attached QEMU noticed in $t s"
check_eq "reason crashed" "$(field k3 stop_reason)" crashed
check_eq "not our child: no exit status" "$(field k3 last_exit)" unknown

# A reload naming an attached VM: a stopped one gives way, a running one refuses it.
cp "$TMP/vms.conf" "$TMP/vms.conf.orig"
conf_vm k3 "autostart = no"
out=$(vmctl reload 2>&1); rc=$?
check_eq "reload adding the name of a stopped attached VM: ok" "$rc" 0
check_eq "k3 is the inventory's now" "$(field k3 attached)" false
conf_vm h4 "autostart = no"
out=$(vmctl attach h4 "$p4" 2>&1); rc=$?
check_eq "attach h4 (-chardev socket + -mon mode=control): ok" "$rc" 0
out=$(vmctl reload 2>&1); rc=$?
check_eq "reload adding the name of a running attached VM: refused" "$rc" 1
check_match "reload: says why" "$out" "vm h4 is an attached QEMU .*pid $p4.*stop it before"
cp "$TMP/vms.conf.orig" "$TMP/vms.conf"
out=$(vmctl reload 2>&1); rc=$?
check_eq "reload back: ok" "$rc" 0
check_eq "h4 still attached and running" "$(field h4 attached) $(field h4 state)" "true running"

# A restarted daemon does not re-attach: the QEMU runs on, unsupervised.
kill -KILL "$DPID"; wait "$DPID" 2>/dev/null
rm -f "$(SOCK)"	# (left by the killed daemon: start_daemon waits for the new one)
check "second daemon starts" start_daemon
check "h4 still runs" kill -0 "$p4"
check "k5 still runs" kill -0 "$p5"
out=$(vmctl status k5 2>&1)
check_match "k5 is not re-attached" "$out" "unknown vm 'k5'"
kill -KILL "$p5"

# Stopping the service stops an attached VM through its ladder too.
check "h4's guest is up" guest_ready h4
out=$(vmctl attach h4 "$p4" 2>&1); rc=$?
check_eq "the new daemon attaches h4 again: ok" "$rc" 0
t0=$EPOCHREALTIME
stop_daemon
t=$(sub "$EPOCHREALTIME" "$t0")
check_eq "daemon exits 0 after stopping everything" "$DRC" 0
check "h4's QEMU is gone" gone_within "$p4"
check_match "h4 powered off on ACPI" "$(cat "$TMP/h4.serial")" "powerbutton, clean shutdown"
check_match "h4 halted by the service stop" "$(cat "$TMP/daemon.log")" "h4: running -> halting"
diag "service stop with an attached guest: $t s"
done_testing
