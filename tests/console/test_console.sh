#!/bin/bash
# Consoles end to end: the real daemon, real QEMU, the test guest, the real
# telnet client. Scrollback, typing, two clients, abrupt disconnects, a
# client that never reads, the rotated console log, the HMP monitor
# endpoint, vmctl console/monitor/qmp, system_powerdown over HMP.
source "$VMS_TOP/tests/lib/tap.sh"
source "$VMS_TOP/tests/daemon/lib.sh"
source "$VMS_TOP/tests/lib/guest.sh"
need_daemon
for t in telnet socat; do
	command -v $t >/dev/null || { skip "console tests" "$t not installed"; exit 0; }
done
guest_build >/dev/null 2>&1 || { notok "test guest builds"; exit 1; }
scratch_daemon

base=$(( 20000 + $$ % 20000 ))
ser=$base mon=$((base + 1))
conf_head 10 5
cat >>"$TMP/vms.conf" <<EOC
console_scrollback = 16K
console_log_size = 64K
console_log_keep = 2
vm g {
	memory = 128M
	kernel = "$GUEST_KERNEL"
	initrd = "$GUEST_INITRD"
	append = "$(guest_append cooperative)"
	serial = $ser
	monitor = $mon
	halt = acpi
}
EOC
LOG=$TMP/log/g.console.log

# tel PORT SCRIPT...: the real telnet client, fed by a timed script (a
# subshell of sleeps and printfs); prints what it received, CRs removed.
tel() {
	local port=$1; shift
	{ eval "$*"; } | timeout 30 telnet 127.0.0.1 "$port" 2>/dev/null | tr -d '\r'
}

check "daemon starts" start_daemon
check "guest ready (console log)" guest_wait_ready "$LOG" 60
check_match "monitor endpoint on loopback" "$(cat "$TMP/daemon.log")" \
    "g: monitor on telnet 127.0.0.1 port $mon"
check_match "console log has the boot messages" "$(tr -d '\r' <"$LOG")" 'Linux version'

# A late client: the scrollback first (boot messages, readiness), then a command.
out=$(tel $ser 'sleep 1; printf "echo hello-\$((6*7))\r"; sleep 1.5')
check_match "late client sees the boot messages" "$out" 'ACPI: button: Power Button'
check_match "late client sees the readiness line" "$out" '^vmservice-guest: ready '
check_match "typed command answered" "$out" '^hello-42$'

# Two clients at once: what one types, both see.
tel $ser 'sleep 3' >"$TMP/a.out" &
a=$!
sleep 0.5
out=$(tel $ser 'sleep 0.5; printf "echo two-\$((1+1))\r"; sleep 1.5')
wait $a
check_match "typing client sees the answer" "$out" '^two-2$'
check_match "watching client sees it too" "$(cat "$TMP/a.out")" '^two-2$'

# Abrupt disconnects: a telnet killed mid-session, a client sending broken
# telnet sequences (unterminated SB, stray IACs) then RST. Nothing else notices.
{ sleep 10; } | telnet 127.0.0.1 $ser >/dev/null 2>&1 &
k=$!
sleep 0.5
kill -KILL $k
printf '\377\372\030junk\377\001\377\361\377\375' |
    timeout 5 socat -u - TCP:127.0.0.1:$ser,linger=0 2>/dev/null
out=$(tel $ser 'sleep 0.5; printf "echo alive-\$((2+3))\r"; sleep 1.5')
check_match "after abrupt disconnects the guest still answers" "$out" '^alive-5$'
check "daemon still running" kill -0 "$DPID"

# A client that never reads (stopped, tiny receive window) while the guest
# floods the console: another client still gets everything, the guest
# finishes, the stuck client is told what it skipped once it reads again.
socat -u TCP:127.0.0.1:$ser,rcvbuf=2048 "OPEN:$TMP/stuck.out,creat" 2>/dev/null &
stuck=$!
sleep 0.5
kill -STOP $stuck
t0=$(date +%s)
out=$(tel $ser 'sleep 0.5; printf "yes 0123456789012345678901234567890123456789 | head -c 300000; echo; echo FLOOD-\$((3*3))-DONE\r"
    for i in $(seq 300); do sleep 0.1; grep -q "^FLOOD-9-DONE" "$LOG" 2>/dev/null && break; done; sleep 1')
t1=$(date +%s)
check_match "a reading client gets the whole flood past a stuck client" "$out" '^FLOOD-9-DONE'
check "the guest was not stalled (done in $((t1 - t0)) s)" test $((t1 - t0)) -lt 45
kill -CONT $stuck
for i in $(seq 50); do grep -q 'bytes of output skipped' "$TMP/stuck.out" && break; sleep 0.1; done
check "the stuck client is told how much it skipped" grep -q 'bytes of output skipped' "$TMP/stuck.out"
kill $stuck 2>/dev/null; wait $stuck 2>/dev/null

# The log rotated at 64K, keeping two old files; the flood's end is logged.
check_eq "log.1 is exactly console_log_size" "$(stat -c %s "$LOG.1")" 65536
check "log.2 kept, no log.3" test -f "$LOG.2" -a ! -e "$LOG.3"
check "current log ends with the flood's end" grep -q 'FLOOD-9-DONE' "$LOG"

# vmctl console: piped input, read-only, the Ctrl-] escape.
out=$(printf 'echo via-$((4*5))-vmctl\r' | vmctl console g 2>&1 | tr -d '\r')
check_match "vmctl console: command answered" "$out" '^via-20-vmctl$'
check_match "vmctl console: scrollback first" "$out" 'FLOOD-9-DONE'
out=$(printf 'echo ro-$((2+2))-x\r' | vmctl console -r g 2>&1 | tr -d '\r')
check_match "vmctl console -r says read-only" "$out" 'read-only'
check "vmctl console -r: input not delivered" test -z "$(echo "$out" | grep '^ro-4-x')"
t0=$(date +%s%N)
{ sleep 0.3; printf '\035'; sleep 5; } | vmctl console g >/dev/null 2>&1 &
v=$!
for i in $(seq 40); do gone $v && break; sleep 0.1; done
check "vmctl console leaves on Ctrl-] at once" gone $v
wait $v 2>/dev/null
if command -v script >/dev/null; then
	# On a terminal (script gives it one): raw mode, keys as typed, Ctrl-] leaves.
	{ sleep 1; printf 'echo tty-$((5*5))-mode\r'; sleep 1.5; printf '\035'; sleep 0.5; } |
	    timeout 15 script -qec "$VMS_BIN/vmctl -c $TMP/vms.conf console g" /dev/null \
	    >"$TMP/tty.out" 2>&1
	check_eq "vmctl console on a tty: exit 0 after Ctrl-]" "$?" 0
	check "vmctl console on a tty: command answered" grep -aq '^tty-25-mode' "$TMP/tty.out"
else
	skip "vmctl console on a tty" "script (bsdutils) not installed"
fi

# Output while the daemon is down: QEMU's logfile (the spool) keeps it; the
# next daemon adopts the VM and moves it into the log and the scrollback.
tel $ser 'sleep 0.5; printf "(sleep 2; echo while-\$((6*7))-down) &\r"; sleep 0.5' >/dev/null
kill -KILL "$DPID"; wait "$DPID" 2>/dev/null
sleep 3
check "the guest printed while the daemon was down (spool)" grep -q 'while-42-down' \
    "$TMP/log/g.console.spool"
check "daemon restarts" start_daemon
check "VM adopted, running" wait_state g running
for i in $(seq 50); do grep -q 'while-42-down' "$LOG" && break; sleep 0.1; done
check "output from the daemon's downtime is in the log" grep -q 'while-42-down' "$LOG"
check_eq "and only once" "$(cat "$LOG" "$LOG".[12] | grep -ac 'while-42-down')" 1
check_eq "spool emptied" "$(stat -c %s "$TMP/log/g.console.spool")" 0
check_match "a new client sees it in the scrollback" "$(tel $ser 'sleep 0.5')" 'while-42-down'

# The monitor: HMP over telnet, and through vmctl (QMP human-monitor-command).
out=$(tel $mon 'sleep 0.5; printf "info status\r"; sleep 1')
check_match "HMP info status over the monitor endpoint" "$out" 'VM status: running'
check_match "vmctl monitor" "$(vmctl monitor g 'info status')" '^VM status: running$'
check_match "vmctl qmp" "$(vmctl qmp g '{"execute":"query-status"}')" '"status":"running"'
out=$(vmctl qmp g '{"execute":"no-such-command"}' 2>&1); rc=$?
check_match "vmctl qmp error: exit 1 with QEMU's message" "$rc $out" '^1 .*CommandNotFound'
out=$(vmctl monitor nosuchvm 'info status' 2>&1); rc=$?
check_match "vmctl monitor: unknown VM" "$rc $out" "^1 .*unknown vm 'nosuchvm'"

# system_powerdown over the monitor endpoint: the cooperative guest powers off.
tel $mon 'sleep 0.5; printf "system_powerdown\r"; sleep 0.5' >/dev/null
check "guest powered off" wait_state g stopped 20
check_eq "stop reason" "$(field g stop_reason)" guest-poweroff
check "console log has the power button" grep -q 'powerbutton, clean shutdown' "$LOG"
out=$(tel $ser 'sleep 0.5')
check_match "serial endpoint of a stopped VM says so" "$out" 'vm g is not running'
stop_daemon
check_eq "daemon exits 0" "$DRC" 0

# monitor_listen beyond loopback: the daemon warns loudly.
conf_head 2 2
echo 'monitor_listen = "0.0.0.0"' >>"$TMP/vms.conf"
conf_vm m "monitor = $((base + 2))" 'autostart = no'
: >"$TMP/daemon.log"
check "daemon starts (monitor_listen 0.0.0.0)" start_daemon
sleep 0.3
check_match "loud warning for a non-loopback monitor" "$(cat "$TMP/daemon.log")" \
    'WARNING: the QEMU monitor listens on 0.0.0.0 .*root'
stop_daemon
done_testing
