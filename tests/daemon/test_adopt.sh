#!/bin/bash
# A daemon restart does not restart the VMs: QEMU runs in its own session,
# survives a SIGKILLed daemon, and the next daemon adopts it by its pidfile
# (simple adoption; issue 6 does the full checks). Stale pidfiles are removed.
source "$VMS_TOP/tests/lib/tap.sh"
source "$VMS_TOP/tests/daemon/lib.sh"
need_daemon
scratch_daemon

conf_head 2 2
conf_vm a
conf_vm b
check "daemon starts" start_daemon
check "a running" wait_state a running
check "b running" wait_state b running
sleep 1	# so a's uptime visibly predates the second daemon
apid=$(field a pid)
bpid=$(field b pid)
kill -KILL "$DPID"; wait "$DPID" 2>/dev/null
check "QEMU survives the daemon" kill -0 "$apid"
kill -KILL "$bpid"
for ((i = 0; i < 50; i++)); do gone "$bpid" && break; sleep 0.1; done
check "b's pidfile left stale" test -e "$TMP/run/b.pid"

check "second daemon starts" start_daemon
check "a running again" wait_state a running
check_eq "a adopted: same QEMU" "$(field a pid)" "$apid"
check_match "adoption logged" "$(cat "$TMP/daemon.log")" "a: found running QEMU pid $apid: adopting it"
check_match "stale pidfile removed" "$(cat "$TMP/daemon.log")" "b: removing stale pidfile"
check "adopted uptime is QEMU's, not the new daemon's" \
    awk -v u="$(field a uptime)" 'BEGIN { exit !(u >= 1.0) }'
check "b started afresh" wait_state b running
check "b has a new pid" test "$(field b pid)" != "$bpid"
out=$(vmctl stop a); rc=$?
check_eq "adopted VM stops through QMP" "$rc" 0
check_eq "adopted VM: host-powerdown" "$(field a stop_reason)" host-powerdown
check "adopted QEMU gone" gone "$apid"
stop_daemon
check_eq "daemon exits 0" "$DRC" 0
done_testing
