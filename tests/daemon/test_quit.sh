#!/bin/bash
# SIGQUIT restarts the daemon, not the VMs (what a package upgrade uses:
# debian/vmservice.postinst, the init script's restart-daemon): the daemon
# exits 0 at once and leaves every QEMU, lock and intent file as it is; the
# next daemon adopts the QEMUs and keeps what was asked (a VM stopped by
# hand stays down). During a stop-all (SIGTERM) SIGQUIT is ignored: the
# stop goes on.
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
vmctl stop b >/dev/null 2>&1
check "b stopped by hand" wait_state b stopped
apid=$(field a pid)
t0=$(date +%s.%N)
kill -QUIT "$DPID"
wait "$DPID"; rc=$?
t1=$(date +%s.%N)
check_eq "SIGQUIT: the daemon exits 0" "$rc" 0
check "... at once (under 2 s)" lt "$(sub "$t1" "$t0")" 2
check "a's QEMU still runs" kill -0 "$apid"
check "a's QEMU still holds a.lock" sh -c "! flock -n '$TMP/run/a.lock' true"
check "a's intent file kept" test -e "$TMP/run/a.intent"
check "the control socket is gone" test ! -e "$(SOCK)"
check_match "logged" "$(cat "$TMP/daemon.log")" \
    'SIGQUIT: exiting and leaving every VM running'

check "the next daemon starts" start_daemon
check "a running" wait_state a running
check_eq "a adopted: same QEMU" "$(field a pid)" "$apid"
sleep 0.5
check_eq "b, stopped by hand before, stays down" "$(field b state)" stopped

# SIGQUIT during a stop-all: ignored, the stop goes on to the end.
conf_head 2 2
conf_vm c 'halt = { acpi }' 'halt_timeout = 3'
: >"$TMP/daemon.log"
vmctl reload >/dev/null 2>&1
check "c running" wait_state c running
cpid=$(field c pid)
kill -TERM "$DPID"
sleep 0.3
kill -QUIT "$DPID"
wait "$DPID"; rc=$?
check_eq "SIGTERM then SIGQUIT: the daemon exits 0" "$rc" 0
check "c's QEMU was stopped all the same" gone_within "$cpid"
check_match "SIGQUIT ignored while stopping" "$(cat "$TMP/daemon.log")" \
    'SIGQUIT: ignored, already stopping every VM'
check "no intent file left (a clean stop)" test ! -e "$TMP/run/c.intent"
done_testing
