#!/bin/bash
# The file descriptor limit (issue 20, the cliff at 1,024): started with a
# soft limit below its hard one (as systemd and most shells start a
# service), the daemon raises the soft limit to the hard one and says so;
# the unit asks for a large limit as well.
source "$VMS_TOP/tests/lib/tap.sh"
source "$VMS_TOP/tests/daemon/lib.sh"
need_daemon
if ! command -v prlimit >/dev/null; then
	skip "descriptor limit" "no prlimit (util-linux)"
	exit 0
fi
scratch_daemon
conf_head 2 2
conf_vm a

nofile() { awk '/^Max open files/ { print $4, $5 }' "/proc/$1/limits"; }
DAEMON_PREFIX=(prlimit --nofile=1024:8192 --)
check "daemon starts with a 1024 soft limit" start_daemon
check_eq "its soft limit is raised to the hard one" "$(nofile "$DPID")" "8192 8192"
check_match "and it says so" "$(cat "$TMP/daemon.log")" 'file descriptor limit raised from 1024 to 8192'
check "a running" wait_state a running
check "vmctl status answers" vmctl status a
stop_daemon
check_eq "daemon exits 0" "$DRC" 0

: >"$TMP/daemon.log"
DAEMON_PREFIX=(prlimit --nofile=8192:8192 --)
check "daemon starts with soft = hard" start_daemon
check_eq "the limit is left as it is" "$(nofile "$DPID")" "8192 8192"
check "and nothing is said" bash -c "! grep -q 'limit raised' '$TMP/daemon.log'"
stop_daemon
DAEMON_PREFIX=()

check_match "the systemd unit sets LimitNOFILE" "$(cat "$VMS_TOP/rc/vmservice.service")" \
    '^LimitNOFILE=[0-9]+$'
done_testing
