#!/bin/bash
# Readiness that gates `after` (issue 14), with the real guest under TCG:
# - A has ready = "serial:..." matching the guest's ready line; B is after A:
#   A is booting until the line, B's QEMU is spawned after A's line was
#   seen and within 100 ms of it (the daemon's log lines, time-stamped as
#   they arrive);
# - `vmctl wait`: 0 once running, 124 on --timeout, 1 for a stopped VM;
# - ready = "tcp:127.0.0.1:PORT": booting until a listener appears on the
#   host port (a real socat), then running;
# - a ready_timeout that expires: proceed makes it running anyway, hold
#   makes it not-ready, `vmctl wait` on it fails and its dependent keeps
#   waiting.
source "$VMS_TOP/tests/lib/tap.sh"
source "$VMS_TOP/tests/lib/guest.sh"
source "$VMS_TOP/tests/daemon/lib.sh"
need_daemon
scratch_daemon
need_guest

PORT=$((20000 + RANDOM % 20000))

conf_head 10 2
guest_vm() {
	local name=$1; shift
	{
		echo "vm $name {"
		echo "	machine = \"pc\""
		echo "	memory = 128M"
		echo "	kernel = \"$GUEST_KERNEL\""
		echo "	initrd = \"$GUEST_INITRD\""
		echo "	append = \"$(guest_append cooperative)\""
		echo "	extra_args = \"-no-reboot\""
		local l; for l in "$@"; do echo "	$l"; done
		echo "}"
	} >>"$TMP/vms.conf"
}
guest_vm a 'ready = "serial:vmservice-guest: ready"' 'ready_timeout = 120' 'autostart = no'
conf_vm b 'after = a' 'autostart = no'
conf_vm t "ready = \"tcp:127.0.0.1:$PORT\"" 'ready_timeout = 60' 'autostart = no'
conf_vm p 'ready = "serial:never printed"' 'ready_timeout = 2' 'autostart = no'
conf_vm h 'ready = "serial:never printed"' 'ready_timeout = 2' 'on_ready_timeout = hold' \
    'autostart = no'
conf_vm hd 'after = h' 'autostart = no'

check "config valid" vmctl check-config
out=$(vmctl show a)
check_match "show: ready" "$out" '^ready: serial:vmservice-guest: ready$'
check_match "show: ready_timeout" "$out" '^ready_timeout: 120$'

ts() { local l; while IFS= read -r l; do printf '%s %s\n' "$EPOCHREALTIME" "$l"; done; }
"$VMS_BIN/vmserviced" -v -c "$TMP/vms.conf" 2> >(ts >>"$TMP/daemon.log") &
DPID=$!
for ((i = 0; i < 100; i++)); do [ -S "$(SOCK)" ] && break; sleep 0.1; done
check "daemon up" test -S "$(SOCK)"
logline_ts() { grep -E "$1" "$TMP/daemon.log" | head -n 1 | cut -d' ' -f1; }

# --- serial readiness gates `after` -----------------------------------
vmctl start b --no-wait >/dev/null
check "a booting while its guest boots" wait_state a booting
check_eq "b waits for a" "$(field b state)" waiting
out=$("$VMS_BIN/vmctl" -s "$(SOCK)" wait b --timeout 1 2>&1); rc=$?
check_eq "vmctl wait --timeout 1 while a boots: exit 124" "$rc" 124
check_match "... and says so" "$out" 'timed out'
"$VMS_BIN/vmctl" -s "$(SOCK)" wait b --timeout 120; rc=$?
check_eq "vmctl wait b: exit 0 once b runs" "$rc" 0
check_eq "a running" "$(field a state)" running
check_eq "b running" "$(field b state)" running
t_ready=$(logline_ts 'a: ready: a serial console line matched')
t_b=$(logline_ts 'b: waiting -> starting')
t_boot=$(logline_ts 'a: starting -> booting')
diag "a booting at $t_boot, ready at $t_ready, b spawned at $t_b"
check "a was booting before its line" test -n "$t_boot" -a -n "$t_ready"
check "b's QEMU started after a's ready line" lt "$t_ready" "$t_b"
check "... within 100 ms of it ($(sub "$t_b" "$t_ready") s)" lt "$(sub "$t_b" "$t_ready")" 0.100
check_match "the console log has the line" "$(cat "$TMP/log/a.console.log")" 'vmservice-guest: ready'
"$VMS_BIN/vmctl" -s "$(SOCK)" wait a; rc=$?
check_eq "vmctl wait on a running VM: 0 at once" "$rc" 0
vmctl stop b >/dev/null
"$VMS_BIN/vmctl" -s "$(SOCK)" wait b >/dev/null 2>&1; rc=$?
check_eq "vmctl wait on a stopped VM: 1" "$rc" 1
out=$("$VMS_BIN/vmctl" -s "$(SOCK)" wait nosuch 2>&1); rc=$?
check_eq "vmctl wait on an unknown VM: 1" "$rc" 1
check_match "... naming it" "$out" "unknown vm 'nosuch'"

# --- tcp readiness ----------------------------------------------------
vmctl start t --no-wait >/dev/null
check "t booting: nothing listens on $PORT" wait_state t booting
sleep 1.2
check_eq "still booting after two tries" "$(field t state)" booting
socat TCP-LISTEN:$PORT,bind=127.0.0.1,reuseaddr,fork /dev/null &
SOCAT=$!
"$VMS_BIN/vmctl" -s "$(SOCK)" wait t --timeout 10; rc=$?
check_eq "a listener appears: t running (wait exit 0)" "$rc" 0
kill $SOCAT 2>/dev/null; wait $SOCAT 2>/dev/null

# --- ready_timeout ----------------------------------------------------
vmctl start p --no-wait >/dev/null
check "p booting" wait_state p booting
check "p running after ready_timeout (proceed)" wait_state p running
check_match "logged" "$(cat "$TMP/daemon.log")" 'p: not ready after ready_timeout 2 s: running anyway'
vmctl start hd --no-wait >/dev/null
check "h not-ready after ready_timeout (hold)" wait_state h not-ready
check_match "logged" "$(cat "$TMP/daemon.log")" 'h: not ready after ready_timeout 2 s: the VMs after it wait'
sleep 0.5
check_eq "hd still waits for h" "$(field hd state)" waiting
"$VMS_BIN/vmctl" -s "$(SOCK)" wait hd --timeout 1 >/dev/null 2>&1; rc=$?
check_eq "vmctl wait hd: 124, held" "$rc" 124
out=$("$VMS_BIN/vmctl" -s "$(SOCK)" wait h 2>&1); rc=$?
check_eq "vmctl wait on a not-ready VM: 1" "$rc" 1
check_match "... saying not-ready" "$out" 'is not-ready'
out=$(vmctl status)
check_match "status shows not-ready" "$out" '^h +not-ready'
vmctl stop hd >/dev/null; vmctl stop h >/dev/null
check_eq "a not-ready VM stops" "$(field h state)" stopped

vmctl stop all >/dev/null
stop_daemon
done_testing
