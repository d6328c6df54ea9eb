#!/bin/bash
# The LSB init script as `make install` installs it, run for real against
# the real daemon: start, status, reload, restart, restart-daemon, stop, with LSB exit codes,
# and `stop` returning only once every VM is down.
# `service vmservice X` runs /etc/init.d/vmservice X with a cleared
# environment; here the script runs from a staging root and reads its
# settings from VMSERVICE_DEFAULTS instead of /etc/default/vmservice.
source "${VMS_TOP:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
e2e_init

root=$E2E/root
if make -C "$VMS_TOP" --no-print-directory -s install DESTDIR="$root" PREFIX=/usr \
    >"$E2E/install.log" 2>&1; then
	ok "make install DESTDIR=... PREFIX=/usr"
else
	notok "make install DESTDIR=... PREFIX=/usr"
	sed 's/^/#   /' "$E2E/install.log" | tail -n 15
	exit 1
fi
script=$root/etc/init.d/vmservice
check "init script installed" test -x "$script"
check "daemon installed" test -x "$root/usr/sbin/vmserviced"

e2e_conf "halt_timeout = 20" "term_timeout = 5"
e2e_vm coop cooperative
e2e_vm stub stubborn "halt_timeout = 3"
cat >"$E2E/default" <<EOF
VMSERVICE_CONF=$CONF
DAEMON=$root/usr/sbin/vmserviced
EOF
svc() { env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin VMSERVICE_DEFAULTS="${DEFAULTS:-$E2E/default}" \
    "$script" "$@" >"$E2E/svc.out" 2>&1; }
daemon_pid() { tr -dc 0-9 <"$E2E/run/vmserviced.pid" 2>/dev/null; }

svc status; check_eq "status before start: 3 (not running)" $? 3

# Through a pipe, as over ssh without a tty or `service vmservice start |
# tee`: the daemon must not hold the pipe (and so the caller) open.
t0=$(now)
timeout 30 env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin VMSERVICE_DEFAULTS="$E2E/default" \
    "$script" start 2>&1 | cat >"$E2E/svc.out"
rc=${PIPESTATUS[0]}
secs=$(elapsed "$t0")
check_eq "start: 0" $rc 0
[ $rc -eq 0 ] || sed 's/^/#   /' "$E2E/svc.out"
check "start | cat returns at once (${secs}s), the daemon keeps no pipe open" lt "$secs" 10
dpid=$(daemon_pid)
E2E_PIDS+=($dpid)
check "daemon pidfile written" test -n "$dpid"
svc status; check_eq "status while running: 0" $? 0
check_match "status names the pid" "$(tr -d '\0' <"$E2E/svc.out")" "$dpid"
svc start; check_eq "start when already running: 0" $? 0
check_eq "...and no second daemon" "$(daemon_pid)" "$dpid"

for v in coop stub; do
	e2e_wait_state $v running 30 && e2e_wait_ready $v 90
	check "$v: running, guest ready" test $? -eq 0
done

svc reload; check_eq "reload: 0" $? 0
sleep 0.5
check "daemon still running after reload (SIGHUP)" kill -0 "$dpid"

old_coop=$(e2e_qemu_pid coop) old_stub=$(e2e_qemu_pid stub)
t0=$(now)
svc restart; rc=$?
check_eq "restart: 0 (took $(elapsed "$t0")s)" $rc 0
# Exited: a zombie until its parent (here a slow PID 1) reaps it counts.
check "restart: the old daemon is gone" \
    sh -c "[ ! -d /proc/$dpid ] || grep -q '^State:.*Z' /proc/$dpid/status"
check "restart: the old QEMUs are gone" test ! -d "/proc/$old_coop" -a ! -d "/proc/$old_stub"
dpid=$(daemon_pid)
E2E_PIDS+=($dpid)
check "restart: a new daemon runs" kill -0 "$dpid"
check_eq "restart: coop was shut down cleanly" "$(guest_disk_clean "$E2E/coop.img")" 1
for v in coop stub; do
	e2e_wait_state $v running 30 && e2e_wait_ready $v 90 2
	check "$v: running again, guest ready (boot 2)" test $? -eq 0
done
check_eq "coop's disk counts a second boot" "$(guest_disk_boots "$E2E/coop.img")" 2

# restart-daemon (what the package runs on an upgrade): SIGQUIT, a new
# daemon, the same QEMUs adopted, no guest rebooted.
old_coop=$(e2e_qemu_pid coop) old_stub=$(e2e_qemu_pid stub)
t0=$(now)
svc restart-daemon; rc=$?
check_eq "restart-daemon: 0 (took $(elapsed "$t0")s)" $rc 0
check "restart-daemon: the old daemon is gone" \
    sh -c "[ ! -d /proc/$dpid ] || grep -q '^State:.*Z' /proc/$dpid/status"
dpid=$(daemon_pid)
E2E_PIDS+=($dpid)
check "restart-daemon: a new daemon runs" kill -0 "$dpid"
for v in coop stub; do
	check "$v: running, adopted" e2e_wait_state $v running 10
done
check_eq "restart-daemon: coop's QEMU is the same" "$(e2e_qemu_pid coop)" "$old_coop"
check_eq "restart-daemon: stub's QEMU is the same" "$(e2e_qemu_pid stub)" "$old_stub"
check_eq "restart-daemon: coop's guest did not boot again" "$(guest_disk_boots "$E2E/coop.img")" 2

pids="$dpid $(e2e_qemu_pid coop) $(e2e_qemu_pid stub)"
# A bound shorter than the stubborn VM's halt_timeout: stop gives up (1)
# after it, the daemon carries on; a second stop then waits to the end.
cp "$E2E/default" "$E2E/default.short"
echo STOP_TIMEOUT=1 >>"$E2E/default.short"
t0=$(now)
DEFAULTS=$E2E/default.short svc stop; rc=$?
check_eq "stop with STOP_TIMEOUT=1 gives up: 1" $rc 1
check "...after about 1 s ($(elapsed "$t0")s)" lt "$(elapsed "$t0")" 2.5
check_match "...saying so" "$(tr -d '\0' <"$E2E/svc.out")" 'still running after 1s'
check "...and the daemon is still stopping the VMs" kill -0 "$dpid"
svc stop; rc=$?
secs=$(elapsed "$t0")
check_eq "stop: 0" $rc 0
# No waiting here: stop must return only once everything is gone.
alive=
for p in $pids; do [ -d "/proc/$p" ] && ! grep -q '^State:.*Z' "/proc/$p/status" && alive="$alive $p"; done
check_eq "stop returned only after the daemon and every QEMU exited" "$alive" ""
check "stop waited for the stubborn VM's halt_timeout 3 s (${secs}s)" lt 2.9 "$secs"
echo "# RESULT initscript-stop ${secs}s"
check_eq "coop: stopped via ACPI (saved reason)" "$(e2e_saved coop stop_reason)" host-powerdown
check_eq "stub: stopped via SIGTERM (saved reason)" "$(e2e_saved stub stop_reason)" sigterm
check_eq "coop: disk clean after stop" "$(guest_disk_clean "$E2E/coop.img")" 1
svc status; check_eq "status after stop: 3 (not running)" $? 3
svc stop; check_eq "stop when stopped: 0" $? 0
[ "$TAP_FAILED" -eq 0 ] || diag "(the daemon ran with -D: its log went to syslog, not to a file here)"
done_testing
