#!/bin/bash
# sd_notify: READY=1 once the socket listens, STATUS=, STOPPING=1 and
# EXTEND_TIMEOUT_USEC on SIGTERM. The test plays systemd's notify socket.
source "$VMS_TOP/tests/lib/tap.sh"
source "$VMS_TOP/tests/daemon/lib.sh"
need_daemon
scratch_daemon

conf_head 1 1
conf_vm a
socat -u UNIX-RECV:"$TMP/notify.sock" OPEN:"$TMP/notify.log",creat,append &
spid=$!
for ((i = 0; i < 50; i++)); do [ -S "$TMP/notify.sock" ] && break; sleep 0.1; done
NOTIFY_SOCKET="$TMP/notify.sock" start_daemon
check "a running" wait_state a running
sleep 0.3
check_match "READY=1 sent" "$(cat "$TMP/notify.log")" 'READY=1'
check_match "STATUS counts running VMs" "$(cat "$TMP/notify.log")" 'STATUS=1/1 VMs running'
stop_daemon
sleep 0.3
kill "$spid" 2>/dev/null
log=$(cat "$TMP/notify.log")
check_eq "daemon exits 0" "$DRC" 0
check_match "STOPPING=1 sent" "$log" 'STOPPING=1'
check_match "EXTEND_TIMEOUT_USEC while stopping" "$log" 'EXTEND_TIMEOUT_USEC=[0-9]+'
check_match "STATUS while stopping" "$log" 'STATUS=stopping'
done_testing
