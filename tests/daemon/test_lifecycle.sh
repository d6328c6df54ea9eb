#!/bin/bash
# The daemon with real QEMU (machine "none": no guest needed): status JSON,
# start/stop/kill/restart through vmctl, runtime files, `after` ordering,
# SIGTERM stopping everything in reverse order, exit codes.
source "$VMS_TOP/tests/lib/tap.sh"
source "$VMS_TOP/tests/daemon/lib.sh"
need_daemon
scratch_daemon

conf_head 2 2
conf_vm a 'serial = 45501' 'vnc = 7'
conf_vm b 'after = { a }'
conf_vm c 'autostart = no'

# No daemon yet: exit 4 and a clear message.
out=$(vmctl status 2>&1); rc=$?
check_eq "status without a daemon exits 4" "$rc" 4
check_match "says the daemon is not running" "$out" "vmserviced is not running \(cannot connect to $TMP/run/vmservice.sock"

check "daemon starts" start_daemon
check "a running" wait_state a running
check "b running" wait_state b running
check_eq "c (autostart = no) stays stopped" "$(field c state)" stopped

json=$(vmctl status a --json)
for k in name state pid uptime accel autostart serial monitor vnc stop_reason last_exit; do
	check_match "status JSON has \"$k\"" "$json" "\"$k\":"
done
check_eq "accel is tcg (pinned by the tests)" "$(field a accel)" tcg
check_eq "serial port shown" "$(field a serial)" 45501
check_eq "vnc shown as address:port" "$(field a vnc)" 127.0.0.1:5907
check_eq "monitor null when unset" "$(field a monitor)" null
apid=$(field a pid)
check "pid is a live QEMU" grep -q qemu "/proc/$apid/cmdline"
check_eq "QEMU wrote run_dir/a.pid" "$(cat "$TMP/run/a.pid" 2>/dev/null)" "$apid"
check "QMP socket in run_dir" test -S "$TMP/run/a.qmp"
check "daemon pidfile" test "$(cat "$TMP/run/vmserviced.pid")" = "$DPID"
check_match "socket is mode 0660" "$(stat -c %a "$(SOCK)")" '^660$'
check_match "state file written" "$(cat "$TMP/state/a.json")" '"state": *"running"'
check_match "b started only after a was running" \
    "$(grep -E 'a: starting -> running|b: waiting -> starting' "$TMP/daemon.log" | head -1)" \
    'a: starting -> running'

out=$(vmctl status); rc=$?
check_eq "status exits 0" "$rc" 0
check_match "table header" "$out" '^NAME +STATE +PID +UPTIME +ACCEL +SERIAL +MONITOR +VNC +LAST-STOP'
check_match "table row" "$out" '^a +running +[0-9]+ '
vmctl status c >/dev/null; check_eq "status of a stopped VM exits 3" "$?" 3
vmctl status nosuch >/dev/null 2>&1; check_eq "status of an unknown VM exits 1" "$?" 1
vmctl frobnicate >/dev/null 2>&1; check_eq "unknown command exits 2" "$?" 2
vmctl stop >/dev/null 2>&1; check_eq "stop without a name exits 2" "$?" 2

# A second daemon on the same run_dir is refused.
out=$("$VMS_BIN/vmserviced" -c "$TMP/vms.conf" 2>&1); rc=$?
check_eq "second daemon exits 1" "$rc" 1
check_match "second daemon names the first" "$out" "another vmserviced \(pid $DPID\) is already running"

# stop waits until stopped; halt = quit is honoured: host-powerdown.
out=$(vmctl stop b); rc=$?
check_eq "stop b exits 0" "$rc" 0
check_match "stop b reports the outcome" "$out" '^b: stopped \(host-powerdown\)'
check_eq "b stop_reason" "$(field b stop_reason)" host-powerdown
check_eq "b last_exit" "$(field b last_exit)" "exit 0"
check "b's pidfile gone" test ! -e "$TMP/run/b.pid"
check_match "state file keeps the reason" "$(cat "$TMP/state/b.json")" '"stop_reason": *"host-powerdown"'

out=$(vmctl start b); rc=$?
check_eq "start b exits 0" "$rc" 0
check_match "start b waits for running" "$out" '^b: running'

# kill: SIGKILL now.
out=$(vmctl kill b); rc=$?
check_eq "kill exits 0" "$rc" 0
check_eq "kill reason sigkill" "$(field b stop_reason)" sigkill
check_eq "kill exit status" "$(field b last_exit)" "signal 9"

# start c pulls nothing; --no-wait answers at once.
out=$(vmctl start c --no-wait); rc=$?
check_eq "start --no-wait exits 0" "$rc" 0
check "c comes up" wait_state c running

# restart: a new pid.
cpid=$(field c pid)
vmctl restart c >/dev/null; rc=$?
check_eq "restart exits 0" "$rc" 0
check "restart gives a new QEMU" test "$(field c pid)" != "$cpid" -a "$(field c state)" = running

# Starting b (after a) while a is stopped starts a first.
vmctl stop a >/dev/null
vmctl start b >/dev/null; rc=$?
check_eq "start b with a stopped exits 0" "$rc" 0
check_eq "a was started for b" "$(field a state)" running

# A crash: QEMU killed behind the daemon's back.
kill -KILL "$(field c pid)"
check "crashed VM noticed" wait_state c stopped
check_eq "reason crashed" "$(field c stop_reason)" crashed
check_eq "crash exit status" "$(field c last_exit)" "signal 9"

# SIGTERM: everything stops (b before a), the daemon exits 0.
t0=$(date +%s%N)
stop_daemon
t1=$(date +%s%N)
check_eq "daemon exits 0 after SIGTERM" "$DRC" 0
check_match "b was stopped before a was asked" \
    "$(grep -E 'a: running -> halting|b: halting -> stopped' "$TMP/daemon.log" | tail -2 | head -1)" \
    'b: halting -> stopped'
check "no QEMU left" test -z "$(pgrep -f "$TMP/run" || true)"
check "control socket removed" test ! -e "$(SOCK)"
check "daemon pidfile removed" test ! -e "$TMP/run/vmserviced.pid"
diag "SIGTERM to exit: $(( (t1 - t0) / 1000000 )) ms"
vmctl status >/dev/null 2>&1; check_eq "exit 4 once the daemon is gone" "$?" 4

# -D: the parent returns once the socket listens; the daemon keeps running.
"$VMS_BIN/vmserviced" -D -c "$TMP/vms.conf" 2>>"$TMP/daemon.log"; rc=$?
check_eq "-D parent exits 0" "$rc" 0
check "-D: socket listens when the parent returns" test -S "$(SOCK)"
DPID=$(cat "$TMP/run/vmserviced.pid")
check "-D: a comes up" wait_state a running
kill -TERM "$DPID"
for ((i = 0; i < 100; i++)); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.1; done
check "-D daemon exits on SIGTERM" test "$i" -lt 100
printf 'bogus {\n' >"$TMP/bad.conf"
out=$("$VMS_BIN/vmserviced" -D -c "$TMP/bad.conf" 2>&1); rc=$?
check_eq "-D with a bad config exits 1" "$rc" 1
done_testing
