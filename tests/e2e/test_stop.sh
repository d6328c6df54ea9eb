#!/bin/bash
# The three ways one VM stops, in one daemon run (VMs boot in parallel):
#   coop     cooperative guest: ACPI power button, guest powers off in seconds
#   stubborn ignores the button: SIGTERM after halt_timeout (3 s)
#   frozen   its QEMU is SIGSTOPped: ignores SIGTERM too: SIGKILL after
#            halt_timeout (2) + term_timeout (2)
source "${VMS_TOP:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
e2e_init

e2e_conf "halt_timeout = 20" "term_timeout = 10"
e2e_vm coop cooperative
e2e_vm stubborn stubborn "halt_timeout = 3" "term_timeout = 5"
e2e_vm frozen stubborn "halt_timeout = 2" "term_timeout = 2"

e2e_daemon || { notok "vmserviced starts"; exit 1; }
ok "vmserviced starts"
for v in coop stubborn frozen; do
	e2e_wait_state $v running 30 && e2e_wait_ready $v 90
	check "$v: running, guest ready" test $? -eq 0
done

for v in coop stubborn frozen; do
	eval "pid_$v=\$(e2e_qemu_pid $v)"
done
kill -STOP "$pid_frozen"
check_match "frozen: QEMU is stopped (SIGSTOP)" "$(ps -o stat= -p "$pid_frozen")" '^T'

# Stop all three at once, each with its own vmctl, timing each.
for v in coop stubborn frozen; do
	(
		trap - EXIT	# the cleanup belongs to the test, not this subshell
		t0=$(now)
		e2e_vmctl stop $v >"$E2E/stop-$v.out" 2>&1
		echo "$? $(elapsed "$t0")" >"$E2E/stop-$v.res"
	) &
done
wait_for=$(now)
while [ "$(ls "$E2E"/stop-*.res 2>/dev/null | wc -l)" -lt 3 ]; do
	lt "$(elapsed "$wait_for")" 40 || break
	sleep 0.2
done

for v in coop stubborn frozen; do
	read -r rc secs <"$E2E/stop-$v.res" 2>/dev/null || { rc=none; secs=99; }
	eval "rc_$v=\$rc secs_$v=\$secs"
	diag "$v: vmctl stop exited $rc after ${secs}s"
done

# cooperative
check_eq "coop: vmctl stop exits 0" "$rc_coop" 0
check "coop: stopped through ACPI in under 5 s (took ${secs_coop}s)" lt "$secs_coop" 5
check "coop: QEMU exited" e2e_wait_gone "$pid_coop" 2
check_eq "coop: state stopped" "$(e2e_state coop)" stopped
check_eq "coop: stop_reason host-powerdown" "$(e2e_field coop stop_reason)" host-powerdown
check_eq "coop: stop_reason persisted in state_dir" "$(e2e_saved coop stop_reason)" host-powerdown
check_eq "coop: disk shows one boot and a clean shutdown" "$(guest_disk_record "$E2E/coop.img")" "1 1"

# stubborn: SIGTERM after halt_timeout 3
check_eq "stubborn: vmctl stop exits 0" "$rc_stubborn" 0
check "stubborn: took >= halt_timeout 3 s (${secs_stubborn}s)" lt 2.9 "$secs_stubborn"
check "stubborn: ended by SIGTERM well before term_timeout (${secs_stubborn}s < 3+4)" \
    lt "$secs_stubborn" 7
check "stubborn: QEMU exited" e2e_wait_gone "$pid_stubborn" 2
check_eq "stubborn: state stopped" "$(e2e_state stubborn)" stopped
check_eq "stubborn: stop_reason sigterm" "$(e2e_field stubborn stop_reason)" sigterm
check_eq "stubborn: disk shows one boot, not clean" "$(guest_disk_record "$E2E/stubborn.img")" "1 0"
grep -q "qemu-system-x86_64: terminating on signal 15" "$E2E/log/stubborn.qemu.log" 2>/dev/null
check "stubborn: QEMU's log says it got signal 15" test $? -eq 0

# frozen: SIGKILL after halt_timeout 2 + term_timeout 2
check_eq "frozen: vmctl stop exits 0" "$rc_frozen" 0
check "frozen: took >= halt 2 + term 2 s (${secs_frozen}s)" lt 3.9 "$secs_frozen"
check "frozen: SIGKILLed soon after (${secs_frozen}s < 7)" lt "$secs_frozen" 7
check "frozen: QEMU gone" e2e_wait_gone "$pid_frozen" 2
check_eq "frozen: state stopped" "$(e2e_state frozen)" stopped
check_eq "frozen: stop_reason sigkill" "$(e2e_field frozen stop_reason)" sigkill
check_eq "frozen: last_exit signal 9" "$(e2e_field frozen last_exit)" "signal 9"

for v in coop stubborn frozen; do
	check "$v: pidfile removed" test ! -e "$E2E/run/$v.pid"
done

e2e_daemon_stop 10
check "daemon exits on SIGTERM with nothing running (${E2E_STOP_SECS}s)" test -z "$DAEMON_PID"
check_eq "daemon exit status 0" "$E2E_DAEMON_RC" 0
[ "$TAP_FAILED" -eq 0 ] || e2e_dump
done_testing
