#!/bin/bash
# Low-severity findings of issue 12, each driven for real: a daemon whose
# stderr is a pipe whose reader went away keeps running (SIGPIPE), and a
# `stop` timeout so large that seconds * 1000 would wrap is refused by the
# daemon and by vmctl instead of becoming a sub-second timeout.
source "$VMS_TOP/tests/lib/tap.sh"
source "$VMS_TOP/tests/daemon/lib.sh"
need_daemon
scratch_daemon

# halt = acpi on machine none: nothing answers the power button, so the VM
# stops only when the timeout sends SIGTERM.
conf_head 30 2
conf_vm a 'halt = acpi'

# --- stderr is a pipe whose reader exits -------------------------------------
mkfifo "$TMP/err.fifo"
head -c 1 <"$TMP/err.fifo" >/dev/null &
reader=$!
"$VMS_BIN/vmserviced" -v -c "$TMP/vms.conf" >"$TMP/err.fifo" 2>&1 &
DPID=$!
wait $reader	# the reader is gone after its first byte
for ((i = 0; i < 100; i++)); do [ -S "$(SOCK)" ] && break; sleep 0.1; done
check "a running" wait_state a running
# Every request is logged at debug level: a write to the dead pipe each.
for i in 1 2 3; do vmctl status a >/dev/null 2>&1; done
vmctl status a >/dev/null 2>&1
sleep 0.3
if kill -0 "$DPID" 2>/dev/null; then
	ok "the daemon survives writing to a pipe nobody reads (SIGPIPE)"
else
	wait "$DPID"; rc=$?
	notok "the daemon survives writing to a pipe nobody reads (SIGPIPE)"
	diag "exit status $rc ($(kill -l $((rc - 128)) 2>/dev/null))"
fi
check_eq "and still answers" "$(field a state)" running
# QEMU must not inherit the blocked SIGPIPE (children restore the mask).
APID=$(field a pid)
blk=$(sed -n 's/^SigBlk:[[:space:]]*//p' "/proc/$APID/status" 2>/dev/null)
check "QEMU's SIGPIPE is not blocked (SigBlk $blk)" \
    test -n "$blk" -a $(( 0x$blk & (1 << 12) )) -eq 0
# (a ignores the power button: killed first, not after halt_timeout's 30 s)
vmctl kill a >/dev/null 2>&1
kill -TERM "$DPID" 2>/dev/null; wait "$DPID" 2>/dev/null
rm -f "$(SOCK)"

# --- stop with an overflowing timeout ---------------------------------------
check "daemon starts" start_daemon
check "a running" wait_state a running
ask() { printf '%s\n' "$1" | timeout 5 socat -t 3 - "UNIX-CONNECT:$(SOCK)"; }
# 4294968 s * 1000 wraps a 32-bit unsigned to 704 ms.
out=$(ask '{"cmd":"stop","vm":"a","timeout":4294968}')
check_match "the daemon refuses a timeout of 4294968 s" "$out" \
    '"ok":false.*seconds from 0 to 86400'
out=$(ask '{"cmd":"stop","vm":"a","timeout":9223372036854775807}')
check_match "and one of 2^63-1 s" "$out" '"ok":false.*seconds from 0 to 86400'
sleep 1.5
check_eq "a is still running (no sub-second SIGTERM)" "$(field a state)" running
out=$(vmctl stop a --timeout 4294968 2>&1); rc=$?
check_eq "vmctl refuses --timeout 4294968: exit 2" "$rc" 2
check_match "with a clear message" "$out" "bad --timeout '4294968': a number of seconds from 0 to 86400"
out=$(vmctl stop a --timeout '' 2>&1); rc=$?
check_eq "vmctl refuses an empty --timeout (not 0)" "$rc" 2
check_eq "a is still running" "$(field a state)" running
out=$(vmctl stop a --timeout 1 2>&1); rc=$?
check_eq "a valid --timeout still works" "$rc:$(field a state)" "0:stopped"
check_match "the timeout was used" "$(cat "$TMP/daemon.log")" 'halting -> terminating \(halt_timeout expired\)'
stop_daemon
check_eq "daemon exits 0" "$DRC" 0
done_testing
