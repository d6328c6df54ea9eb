#!/bin/bash
# Telnet console clients (issue 12), driven for real: 16 telnet clients no
# longer take the slots of `vmctl console`; an idle telnet client is dropped
# after console_idle_timeout; a daemon out of file descriptors does not spin
# on accept() (CPU time from /proc/PID/stat) nor flood its log, and serves
# again once descriptors are free.
source "$VMS_TOP/tests/lib/tap.sh"
source "$VMS_TOP/tests/daemon/lib.sh"
need_daemon
command -v prlimit >/dev/null || { skip "console limits" "prlimit not installed"; exit 0; }
scratch_daemon

base=$(( 20000 + ($$ + 7919) % 20000 ))
ser=$base mon=$((base + 1))
conf_head 1 1
echo "console_idle_timeout = 4" >>"$TMP/vms.conf"
conf_vm a "serial = $ser" "monitor = $mon"
check "daemon starts" start_daemon
check "a running" wait_state a running
nfd() { ls "/proc/$DPID/fd" | wc -l; }
# cpu_ticks: the daemon's user + system time, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$DPID/stat"; }
n_conn() { grep -c "serial client .* connected" "$TMP/daemon.log"; }

# --- 16 telnet clients, then vmctl console ------------------------------------
# Each types a key every second, so the idle timeout spares them.
pids=()
for i in $(seq 1 16); do
	{ for ((k = 0; k < 12; k++)); do printf ' '; sleep 1; done; } |
	    timeout 20 socat -t 1 - TCP:127.0.0.1:$ser >/dev/null 2>&1 &
	pids+=($!)
done
for ((i = 0; i < 100; i++)); do [ "$(n_conn)" -ge 16 ] && break; sleep 0.1; done
check_eq "16 telnet clients connected" "$(n_conn)" 16
out=$(timeout 5 socat -t 1 - TCP:127.0.0.1:$ser </dev/null 2>&1 | tr -d '\r')
check_match "a 17th telnet client is refused" "$out" 'too many console clients'
out=$(printf 'x' | timeout 5 "$VMS_BIN/vmctl" -c "$TMP/vms.conf" console a 2>&1 | tr -d '\r')
check_match "vmctl console attaches" "$out" 'Connected to the console of a'
if printf '%s\n' "$out" | grep -q 'too many console clients'; then
	notok "vmctl console is not refused with 16 telnet clients connected"
	printf '%s\n' "$out" | sed 's/^/#   /'
else
	ok "vmctl console is not refused with 16 telnet clients connected"
fi
check_match "the daemon took it as a console client" "$(cat "$TMP/daemon.log")" \
    'serial client local connected \(17 now\)'
kill_tree "${pids[@]}"; wait "${pids[@]}" 2>/dev/null
for ((i = 0; i < 50; i++)); do grep -q '(0 now)\|disconnected' "$TMP/daemon.log" && break; sleep 0.1; done

# --- an idle telnet client -------------------------------------------------------
t0=$(date +%s%N)
out=$(timeout 15 socat -u TCP:127.0.0.1:$mon - 2>&1 | tr -d '\r')
t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
check_match "an idle telnet client is told" "$out" 'idle for 4 s: disconnected'
check "and dropped after ~4 s, not 15 ($ms ms)" test "$ms" -ge 3500 -a "$ms" -lt 9000
check_match "the daemon logs it" "$(cat "$TMP/daemon.log")" 'monitor client .* disconnected \(idle\)'
# A client that types is not idle.
out=$( { for k in 1 2 3 4 5 6; do printf 'info name\r'; sleep 1; done; } |
    timeout 20 socat -t 1 - TCP:127.0.0.1:$mon 2>&1 | tr -d '\r')
if printf '%s\n' "$out" | grep -q 'idle for'; then
	notok "a telnet client that types within the timeout stays"
else
	ok "a telnet client that types within the timeout stays"
fi

# --- out of file descriptors ----------------------------------------------------
FD0=$(nfd)
L0=$(wc -l <"$TMP/daemon.log")
prlimit --pid "$DPID" --nofile=$((FD0 + 2)):$((FD0 + 2))
pids=()
for i in $(seq 1 12); do
	sleep 20 | timeout 25 socat -t 1 - TCP:127.0.0.1:$mon >/dev/null 2>&1 &
	pids+=($!)
	sleep 20 | timeout 25 socat -t 1 - "UNIX-CONNECT:$(SOCK)" >/dev/null 2>&1 &
	pids+=($!)
done
sleep 2
c0=$(cpu_ticks)
sleep 3
c1=$(cpu_ticks)
lines=$(tail -n +"$((L0 + 1))" "$TMP/daemon.log" | grep -c 'accept' || true)
diag "out of fds for 3 s: daemon CPU $((c1 - c0)) ticks ($(getconf CLK_TCK)/s), $lines accept lines logged"
check "the daemon does not spin on accept (CPU $((c1 - c0)) ticks in 3 s)" test $((c1 - c0)) -le 30
tail -n +"$((L0 + 1))" "$TMP/daemon.log" | grep 'accept' | head -n 12 | sed 's/^/#   /'
# At most a start and an end per listener and episode (three listeners).
check "it logs a bounded number of accept lines ($lines)" test "$lines" -ge 1 -a "$lines" -le 12
check_match "it says it pauses" "$(tail -n +"$((L0 + 1))" "$TMP/daemon.log")" \
    'accept: Too many open files: not accepting for 1000 ms'
prlimit --pid "$DPID" --nofile=1024:1024
kill_tree "${pids[@]}"; wait "${pids[@]}" 2>/dev/null
sleep 1.5
check_eq "vmctl status answers once fds are free" "$(field a state)" running
out=$( { sleep 0.3; printf 'info name\r'; sleep 0.5; } |
    timeout 5 socat -t 0.5 - TCP:127.0.0.1:$mon 2>&1 | tr -d '\r')
check_match "the telnet endpoint answers again" "$out" 'info name'
check_match "the end of the episode is logged" "$(tail -n +"$((L0 + 1))" "$TMP/daemon.log")" \
    'accepting again after [0-9]+ ms out of descriptors \([0-9]+ pauses\)'
stop_daemon
check_eq "daemon exits 0" "$DRC" 0
done_testing
