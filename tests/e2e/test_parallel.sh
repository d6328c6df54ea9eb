#!/bin/bash
# Four VMs (two cooperative, two stubborn with halt_timeout 4) stopped with
# one `vmctl stop all`: they stop in parallel, so the whole stop takes about
# as long as the slowest VM, not the sum of all four.
source "${VMS_TOP:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
e2e_init

e2e_conf "halt_timeout = 15" "term_timeout = 10"
e2e_vm c1 cooperative
e2e_vm c2 cooperative
e2e_vm s1 stubborn "halt_timeout = 4"
e2e_vm s2 stubborn "halt_timeout = 4"
vms="c1 c2 s1 s2"

e2e_daemon || { notok "vmserviced starts"; exit 1; }
ok "vmserviced starts"
for v in $vms; do
	e2e_wait_state $v running 30 && e2e_wait_ready $v 120
	check "$v: running, guest ready" test $? -eq 0
	eval "pid_$v=\$(e2e_qemu_pid $v)"
done

t0=$(now)
e2e_vmctl stop all >"$E2E/stop.out" 2>&1
rc=$?
total=$(elapsed "$t0")
check_eq "vmctl stop all exits 0" "$rc" 0

# Each VM's own stop time, from the daemon's timestamped transitions:
# leaving `running` to reaching `stopped`.
sum=0 slowest=0
for v in $vms; do
	check "$v: QEMU exited" e2e_wait_gone "$(eval echo "\$pid_$v")" 2
	check_eq "$v: state stopped" "$(e2e_state $v)" stopped
	t_halt=$(e2e_transitions | awk -v v=$v '$2 == v && $3 == "running" { t = $1 } END { print t }')
	t_down=$(e2e_transitions | awk -v v=$v '$2 == v && $4 == "stopped" { t = $1 } END { print t }')
	if [ -n "$t_halt" ] && [ -n "$t_down" ]; then
		d=$(elapsed "$t_halt" "$t_down")
		ok "$v: stop time from the daemon log: ${d}s"
	else
		notok "$v: stop time from the daemon log (transitions not found)"
		d=0
	fi
	sum=$(awk -v a="$sum" -v b="$d" 'BEGIN { print a + b }')
	slowest=$(awk -v a="$slowest" -v b="$d" 'BEGIN { print (b > a) ? b : a }')
done
check_eq "c1: stop_reason host-powerdown" "$(e2e_field c1 stop_reason)" host-powerdown
check_eq "c2: stop_reason host-powerdown" "$(e2e_field c2 stop_reason)" host-powerdown
check_eq "s1: stop_reason sigterm" "$(e2e_field s1 stop_reason)" sigterm
check_eq "s2: stop_reason sigterm" "$(e2e_field s2 stop_reason)" sigterm
for v in c1 c2; do
	check_eq "$v: disk clean" "$(guest_disk_clean "$E2E/$v.img")" 1
done

diag "stop all: ${total}s in total; per-VM times sum to ${sum}s; slowest ${slowest}s"
echo "# RESULT parallel-stop total=${total}s sum=${sum}s slowest=${slowest}s"
check "parallel: total ${total}s < sum ${sum}s - 3s" lt "$total" "$(awk -v s="$sum" 'BEGIN { print s - 3 }')"
check "parallel: total ${total}s < slowest ${slowest}s + 2s" lt "$total" "$(awk -v s="$slowest" 'BEGIN { print s + 2 }')"
check "the stubborn ones waited their halt_timeout (slowest ${slowest}s >= 4)" lt 3.9 "$slowest"

e2e_daemon_stop 10
check_eq "daemon exits 0 on SIGTERM" "$E2E_DAEMON_RC" 0
[ "$TAP_FAILED" -eq 0 ] || e2e_dump
done_testing
