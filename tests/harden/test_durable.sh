#!/bin/bash
# State and intent files survive a crash of the host (issue 12): each is
# written to a temporary that is fsynced before it is renamed over the
# file, and the directory is fsynced after the rename. Watched with strace
# on the real daemon (-y names each fd's file).
source "$VMS_TOP/tests/lib/tap.sh"
source "$VMS_TOP/tests/daemon/lib.sh"
need_daemon
if ! command -v strace >/dev/null || ! strace -o /dev/null true 2>/dev/null; then
	skip "durable state files" "strace cannot trace here"
	exit 0
fi
scratch_daemon
conf_head 2 2
conf_vm d 'autostart = false'
DAEMON_PREFIX=(strace -qq -y -o "$TMP/trace" -e trace=fsync,rename)
check "daemon starts under strace" start_daemon
vmctl start d >/dev/null 2>&1
check "d runs" wait_state d running 20
vmctl stop d >/dev/null 2>&1
check "d stopped" wait_state d stopped 20
# SIGTERM to the daemon, not to strace (which would keep waiting for it).
kill -TERM "$(pgrep -P "$DPID" -x vmserviced)"
wait "$DPID"
# The calls of one file: fsync(tmp), rename(tmp, file), fsync(dir).
calls() {
	grep -E "(fsync|rename)\\(" "$TMP/trace" | grep -F -e "$1" -e "$2>)" |
	    sed -E 's/(d\.json|d\.intent)\.[A-Za-z0-9]{6}/\1.TMP/g; s/\([0-9]+</(</; s/ *= 0$//'
}
st=$(calls "$TMP/state/d.json" "$TMP/state")
check_match "state file: fsync of the temporary" "$st" "^fsync\\(<$TMP/state/d.json.TMP>\\)"
check_match "state file: then rename" "$(grep -A1 "^fsync(<$TMP/state/d.json.TMP>)" <<<"$st")" \
    "^rename\\(\"$TMP/state/d.json.TMP\", \"$TMP/state/d.json\"\\)"
check_match "state file: then fsync of state_dir" "$(grep -A1 '^rename' <<<"$st" | tail -1)" \
    "^fsync\\(<$TMP/state>\\)"
it=$(calls "$TMP/run/d.intent" "$TMP/run")
check_match "intent file: fsync of the temporary" "$it" "^fsync\\(<$TMP/run/d.intent.TMP>\\)"
check_match "intent file: then rename, then fsync of run_dir" \
    "$(grep -A2 "^fsync(<$TMP/run/d.intent.TMP>)" <<<"$it" | tr '\n' ' ')" \
    "^fsync\\(<$TMP/run/d.intent.TMP>\\) rename\\(\"$TMP/run/d.intent.TMP\", \"$TMP/run/d.intent\"\\) fsync\\(<$TMP/run>\\)"
done_testing
