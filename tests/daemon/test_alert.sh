#!/bin/bash
# notify_command (issue 17): events that need a human run the admin's
# program, never waited for, with the event in argv and the environment:
# - check-config refuses a program another user could change (group- or
#   world-writable, or in such a directory) and a missing one, at its line;
# - start-failed, crashed, killed (a stop that needed SIGKILL: QEMU frozen
#   with SIGSTOP ignores quit and SIGTERM) and restart-exhausted (restart =
#   always, restart_burst = 1, two crashes) each run it once, in order;
# - a program that hangs is killed after notify_timeout while the daemon
#   answers; one swapped for a group-writable file is not run, and logged.
source "$VMS_TOP/tests/lib/tap.sh"
source "$VMS_TOP/tests/daemon/lib.sh"
need_daemon
scratch_daemon

mkdir -p "$TMP/bin"
cat >"$TMP/bin/notify" <<EOS
#!/bin/sh
echo "\$1 \$2 reason=\$VMSERVICE_REASON state=\$VMSERVICE_STATE env=\$VMSERVICE_EVENT/\$VMSERVICE_VM" >>"$TMP/alerts"
[ "\$2" = hang ] && exec sleep 100
exit 0
EOS
chmod 0755 "$TMP/bin/notify"

conf_head 1 1
cat >>"$TMP/vms.conf" <<EOF
notify_command = "$TMP/bin/notify"
notify_timeout = 1
notify_command = "$TMP/bin/notify"
notify_timeout = 1
EOF
conf_vm a
conf_vm bad 'extra_args = "-no-such-option"' 'autostart = no'
conf_vm st
conf_vm r 'restart = always' 'restart_burst = 1' 'restart_delay = 0'
conf_vm hang 'autostart = no'

# --- check-config ------------------------------------------------------------
check "config with a root-owned 0755 program: valid" vmctl check-config
chmod 0775 "$TMP/bin/notify"
out=$(vmctl check-config 2>&1); rc=$?
check_eq "a group-writable program: refused (1)" "$rc" 1
check_match "... at its line, saying why" "$out" "vms.conf:[0-9]+: .*notify_command: .*notify is writable by its group"
chmod 0755 "$TMP/bin/notify"; chmod 0777 "$TMP/bin"
out=$(vmctl check-config 2>&1)
check_match "a world-writable directory above it: refused" "$out" "notify_command: $TMP/bin is writable by everyone"
chmod 0755 "$TMP/bin"
sed "s|$TMP/bin/notify|$TMP/bin/nosuch|" "$TMP/vms.conf" >"$TMP/missing.conf"
out=$("$VMS_BIN/vmctl" check-config -c "$TMP/missing.conf" 2>&1)
check_match "a missing program: refused" "$out" "notify_command: .*nosuch: No such file or directory"

# --- events ------------------------------------------------------------------
check "daemon starts" start_daemon
check "a running" wait_state a running
check "st running" wait_state st running
check "r running" wait_state r running
wait_alert() {	# PATTERN: until a line of $TMP/alerts matches (5 s)
	for ((i = 0; i < 50; i++)); do grep -qE "$1" "$TMP/alerts" 2>/dev/null && return 0; sleep 0.1; done
	return 1
}
vmctl start bad >/dev/null 2>&1
check "start-failed" wait_alert '^start-failed bad reason=start-failed state=failed env=start-failed/bad$'
kill -KILL "$(field a pid)"
check "crashed" wait_alert '^crashed a reason=crashed state=stopped env=crashed/a$'
kill -STOP "$(field st pid)"
vmctl stop st >/dev/null 2>&1
check "killed (SIGKILL after quit and SIGTERM)" wait_alert '^killed st reason= state=killing'
rpid=$(field r pid)
kill -KILL "$rpid"
check "r restarted after its first crash" wait_rerun r "$rpid" 10
kill -KILL "$(field r pid)"
check "r failed: its burst used up" wait_state r failed 10
if wait_alert '^restart-exhausted r '; then ok "restart-exhausted"; else
	notok "restart-exhausted"
	diag "alerts: $(cat "$TMP/alerts")"
	diag "r in the log: $(grep -E '\br\b' "$TMP/daemon.log" | tail -20)"
fi
check_eq "r's first crash was told too" "$(grep -c '^crashed r ' "$TMP/alerts")" 1
check_eq "one line per event" "$(wc -l <"$TMP/alerts")" 5

# --- a program that hangs; one swapped for an untrusted file ------------------
vmctl start hang >/dev/null
kill -KILL "$(field hang pid)"
check "hang's crash told" wait_alert '^crashed hang '
t0=$(date +%s%N); vmctl status >/dev/null; t1=$(date +%s%N)
check "the daemon answers while the program runs ($(( (t1 - t0) / 1000000 )) ms)" \
    test $(( (t1 - t0) / 1000000 )) -lt 1000
for ((i = 0; i < 50; i++)); do grep -q 'notify_command crashed hang: still running after 1 s, killed' "$TMP/daemon.log" && break; sleep 0.1; done
check_match "killed after notify_timeout, logged" "$(cat "$TMP/daemon.log")" 'notify_command crashed hang: still running after 1 s, killed'
chmod 0775 "$TMP/bin/notify"
vmctl start a >/dev/null
kill -KILL "$(field a pid)"
for ((i = 0; i < 50; i++)); do grep -q 'notify_command not run for crashed of a' "$TMP/daemon.log" && break; sleep 0.1; done
check_match "a program made group-writable is not run, logged" "$(cat "$TMP/daemon.log")" \
    'notify_command not run for crashed of a: .*writable by its group'
check_eq "... and did not write" "$(grep -c '^crashed a ' "$TMP/alerts")" 1
chmod 0755 "$TMP/bin/notify"
stop_daemon
check_eq "daemon exits 0" "$DRC" 0
done_testing
