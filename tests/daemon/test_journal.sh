#!/bin/bash
# Journal fields (issue 17): under systemd (JOURNAL_STREAM names the
# daemon's stderr) every line about a VM carries VMSERVICE_VM=NAME, a state
# change MESSAGE_ID=3dd339f7..., each event notify_command hears of its own
# MESSAGE_ID (crashed: 3865a2f3...). Read from the real sd_journal_send()
# datagrams: on a host without journald the test binds its socket itself
# (/run/systemd/journal/socket) and reads them with socat; with a journald
# there it skips (its entries would need journalctl and its permissions).
source "$VMS_TOP/tests/lib/tap.sh"
source "$VMS_TOP/tests/daemon/lib.sh"
need_daemon
JSOCK=/run/systemd/journal/socket
if [ -e "$JSOCK" ] || [ "$(id -u)" != 0 ]; then
	skip "journal fields" "a journald runs here (or not root): the test needs its socket free"
	exit 0
fi
scratch_daemon
made=
[ -d /run/systemd/journal ] || { mkdir -p /run/systemd/journal && made=1; }
socat -u UNIX-RECV:"$JSOCK" - >"$TMP/journal" 2>"$TMP/socat.err" & SP=$!
cleanup_journal() {
	kill "$SP" 2>/dev/null; rm -f "$JSOCK"
	[ -z "$made" ] || rmdir /run/systemd/journal /run/systemd 2>/dev/null
	cleanup_daemon
}
trap cleanup_journal EXIT
for ((i = 0; i < 50; i++)); do [ -S "$JSOCK" ] && break; sleep 0.1; done

conf_head 1 1
conf_vm web
touch "$TMP/daemon.log"
export JOURNAL_STREAM=$(stat -c '%d:%i' "$TMP/daemon.log")
check "daemon starts" start_daemon
unset JOURNAL_STREAM
check "web running" wait_state web running
kill -KILL "$(field web pid)"
check "web down" wait_state web stopped
stop_daemon
sleep 0.2
# One line per entry (sd_journal_send puts CODE_FILE first), fields joined by |.
j=$(awk '/^CODE_FILE=/ && NR > 1 { print line; line = "" } { line = line "|" $0 } END { print line }' "$TMP/journal")
check_match "a state change: its MESSAGE, VMSERVICE_VM and MESSAGE_ID" "$j" \
    '\|MESSAGE=web: starting -> running \(QMP ready\)\|PRIORITY=6\|VMSERVICE_VM=web\|MESSAGE_ID=3dd339f766f046ceb12dceb5c89a99fd\|'
check_match "the crash: its own MESSAGE_ID" "$j" \
    '\|MESSAGE=web: event crashed\|PRIORITY=5\|VMSERVICE_VM=web\|MESSAGE_ID=3865a2f352d04e02971e5d114aa49c51\|'
check_match "a line about no VM: no VMSERVICE_VM" "$j" \
    '\|MESSAGE=all VMs are stopped\|PRIORITY=6\|SYSLOG_IDENTIFIER=vmserviced$'
check "nothing on stderr but what is not logging" test -z "$(grep -- '-> running' "$TMP/daemon.log")"
done_testing
