#!/bin/bash
# sd_notify: the daemon run as systemd would (NOTIFY_SOCKET set) tells a
# datagram socket we listen on READY=1, STATUS=..., and on SIGTERM
# STOPPING=1 plus EXTEND_TIMEOUT_USEC while a stubborn VM takes its
# halt_timeout to go down.
source "${VMS_TOP:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
e2e_init

sock=$E2E/notify.sock
out=$E2E/notify.out
: >"$out"
# -u: one direction; each datagram's payload is appended as it comes.
socat -u "UNIX-RECV:$sock" "OPEN:$out,append" 2>"$E2E/socat.err" &
E2E_PIDS+=($!)
for i in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
check "notify socket listening" test -S "$sock"

e2e_conf "halt_timeout = 6" "term_timeout = 5"
e2e_vm stub stubborn

NOTIFY_SOCKET=$sock e2e_daemon || { notok "vmserviced starts"; exit 1; }
ok "vmserviced starts"
check "stub: running" e2e_wait_state stub running 30
for i in $(seq 50); do grep -q 'READY=1' "$out" && break; sleep 0.1; done
check "READY=1 sent" grep -q 'READY=1' "$out"
check "STATUS= sent" grep -q 'STATUS=.' "$out"
diag "first STATUS: $(grep -ao 'STATUS=[^[:cntrl:]]*' "$out" | head -n 1)"
check "no STOPPING=1 before the stop" test "$(grep -c 'STOPPING=1' "$out")" -eq 0

# The daemon is not MAINPID of a real unit: libsystemd sends MAINPID only
# when asked. What matters is that the messages come from it.
n_before=$(wc -c <"$out")
e2e_daemon_stop 30
check "daemon exits after the stubborn VM is down (${E2E_STOP_SECS}s)" test -z "$DAEMON_PID"
check "...which took at least halt_timeout 6 s" lt 5.9 "$E2E_STOP_SECS"
check_eq "daemon exit status 0" "$E2E_DAEMON_RC" 0
sleep 0.3
tail -c +"$((n_before + 1))" "$out" >"$E2E/notify.stop"
check "STOPPING=1 sent on SIGTERM" grep -q 'STOPPING=1' "$E2E/notify.stop"
check "EXTEND_TIMEOUT_USEC sent during the long stop" \
    grep -qE 'EXTEND_TIMEOUT_USEC=[1-9][0-9]*' "$E2E/notify.stop"
diag "during stop: $(tr '\n\0' '  ' <"$E2E/notify.stop" | cut -c1-300)"
check_eq "stub: stop_reason sigterm" "$(e2e_saved stub stop_reason)" sigterm
[ "$TAP_FAILED" -eq 0 ] || e2e_dump
done_testing
