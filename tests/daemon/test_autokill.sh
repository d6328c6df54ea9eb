#!/bin/bash
# vmctl start NAME --autokill (issue 16): the VM lives as long as the
# control connection that started it.
# - SIGKILL of that vmctl: the daemon sees the connection close and kills
#   the VM (QMP quit, SIGKILL after 50 ms); its QEMU (the real test guest
#   under TCG, running) is gone within 100 ms (measured and printed);
#   stop reason autokill; the run_dir record is gone;
# - a normal `vmctl stop` of an autokill VM is the usual ACPI stop
#   (host-powerdown), and the autokill vmctl prints it and exits 0;
# - the connection closing while the VM is still booting (ready = serial,
#   the start not answered yet) kills it too;
# - a daemon SIGKILLed while an autokill VM runs: the next daemon adopts
#   its QEMU and kills it (reason autokill), it is not resumed;
# - refused: all, a VM that is not down; an autokill connection takes no
#   further requests.
source "$VMS_TOP/tests/lib/tap.sh"
source "$VMS_TOP/tests/lib/guest.sh"
source "$VMS_TOP/tests/daemon/lib.sh"
need_daemon
scratch_daemon
need_guest

conf_head 10 2
cat >>"$TMP/vms.conf" <<EOF
vm ak {
	machine = "pc"
	memory = 128M
	kernel = "$GUEST_KERNEL"
	initrd = "$GUEST_INITRD"
	append = "$(guest_append cooperative)"
	extra_args = "-no-reboot"
	ready = "serial:vmservice-guest: ready"
	ready_timeout = 120
	autostart = no
}
EOF
conf_vm small 'autostart = no'
check "config valid" vmctl check-config
start_daemon

# qgone PID: gone or a zombie, without forking (the loop below times it).
qgone() {
	local s
	read -r s 2>/dev/null <"/proc/$1/stat" || return 0
	s=${s##*) }
	[ "${s%% *}" = Z ]
}
qruns() { [ -n "$1" ] && ! qgone "$1"; }
# killed_in PID VMCTL_PID: SIGKILL the vmctl, print ms until PID is gone (or "timeout").
killed_in() {
	local t0 t1 i
	t0=$EPOCHREALTIME
	kill -KILL "$2"
	for ((i = 0; i < 2000000; i++)); do
		qgone "$1" && break
		[ $((i % 1000)) = 999 ] && lt 5 "$(sub "$EPOCHREALTIME" "$t0")" && { echo timeout; return; }
	done
	t1=$EPOCHREALTIME
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) * 1000 }'
}

# --- SIGKILL of the vmctl that started it --------------------------------
"$VMS_BIN/vmctl" -s "$(SOCK)" start ak --autokill >"$TMP/ak1.out" 2>&1 &
V=$!
check "ak running (guest ready)" wait_state ak running 60
for ((i = 0; i < 50; i++)); do grep -q '^ak: running$' "$TMP/ak1.out" && break; sleep 0.1; done
check_match "vmctl prints the state" "$(cat "$TMP/ak1.out")" '^ak: running$'
check "vmctl stays" kill -0 "$V"
check "the autokill record is in run_dir" test -f "$TMP/run/ak.autokill"
Q=$(field ak pid)
check "its QEMU runs (qgone sees it)" qruns "$Q"
ms=$(killed_in "$Q" "$V")
wait "$V" 2>/dev/null
diag "QEMU of ak gone ${ms} ms after SIGKILL of vmctl"
check "QEMU gone within 100 ms of vmctl's SIGKILL (${ms} ms)" lt "$ms" 100
check "ak stopped" wait_state ak stopped 5
check_eq "stop reason autokill" "$(field ak stop_reason)" autokill
check_match "stop detail says why" "$(field ak stop_detail)" 'connection that started it closed'
check "the record is gone" test ! -e "$TMP/run/ak.autokill"

# --- a normal stop ---------------------------------------------------------
"$VMS_BIN/vmctl" -s "$(SOCK)" start ak --autokill >"$TMP/ak2.out" 2>&1 &
V=$!
check "ak running again" wait_state ak running 60
out=$(vmctl start ak --autokill 2>&1); rc=$?
check_eq "a second autokill start of a running VM: refused (1)" "$rc" 1
check_match "... naming it" "$out" 'vm ak is running: autokill binds only a VM it starts'
out=$(vmctl stop ak 2>&1); rc=$?
check_eq "vmctl stop of an autokill VM: exit 0" "$rc" 0
check_eq "stop reason host-powerdown (ACPI, as any stop)" "$(field ak stop_reason)" host-powerdown
for ((i = 0; i < 50; i++)); do kill -0 "$V" 2>/dev/null || break; sleep 0.1; done
wait "$V"; rc=$?
check_eq "the autokill vmctl exits 0 once the VM is down" "$rc" 0
check_match "... having printed the states" "$(tr '\n' ' ' <"$TMP/ak2.out")" \
    '^ak: running ak: halting ak: stopped \(host-powerdown\) $'

# --- closed before the VM got up -------------------------------------------
"$VMS_BIN/vmctl" -s "$(SOCK)" start ak --autokill >"$TMP/ak3.out" 2>&1 &
V=$!
check "ak booting (start not answered yet)" wait_state ak booting 20
Q=$(field ak pid)
check "its QEMU runs (qgone sees it)" qruns "$Q"
ms=$(killed_in "$Q" "$V")
wait "$V" 2>/dev/null
diag "QEMU of a booting ak gone ${ms} ms after SIGKILL of vmctl"
check "booting: QEMU gone within 100 ms (${ms} ms)" lt "$ms" 100
check "ak stopped" wait_state ak stopped 5
check_eq "stop reason autokill" "$(field ak stop_reason)" autokill
check_eq "nothing printed before it ran" "$(cat "$TMP/ak3.out")" ""

# --- refusals ----------------------------------------------------------------
out=$(vmctl start all --autokill 2>&1); rc=$?
check_eq "--autokill all: refused (1)" "$rc" 1
check_match "... one VM" "$out" 'starts one VM, not all'
req=$({ echo '{"cmd":"start","vm":"small","autokill":true,"wait":true}'; sleep 1
	echo '{"cmd":"status","vm":"small"}'; sleep 1; } |
    timeout 10 socat -t 1 - "UNIX-CONNECT:$(SOCK)" 2>&1)
check_match "an autokill connection takes no more requests" "$req" \
    'keeps vm small alive \(autokill\): it takes no more requests'
check "... and its end (socat's) killed small" wait_state small stopped 5
check_eq "small: reason autokill" "$(field small stop_reason)" autokill

# --- the daemon dies while an autokill VM runs -------------------------------
"$VMS_BIN/vmctl" -s "$(SOCK)" start small --autokill >"$TMP/small.out" 2>&1 &
V=$!
check "small running" wait_state small running 10
Q=$(field small pid)
kill -KILL "$DPID"; wait "$DPID" 2>/dev/null
wait "$V"; rc=$?
check_eq "the autokill vmctl exits 4 when the daemon goes" "$rc" 4
check "QEMU survives the daemon" kill -0 "$Q"
check "second daemon starts" start_daemon
for ((i = 0; i < 50; i++)); do qgone "$Q" && break; sleep 0.1; done
check "the new daemon killed the orphaned autokill VM" qgone "$Q"
check "small stopped" wait_state small stopped 5
check_eq "reason autokill" "$(field small stop_reason)" autokill
check_match "logged why" "$(cat "$TMP/daemon.log")" \
    'small: was started with --autokill and its connection died with the previous vmserviced'
check "the record is gone" test ! -e "$TMP/run/small.autokill"
check_eq "not resumed: wanted down" "$(cat "$TMP/run/small.intent" 2>/dev/null)" down

stop_daemon
done_testing
