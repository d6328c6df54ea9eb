#!/bin/bash
# vmctl events (issue 17): the table's transitions streamed as they happen,
# with cheap machine = none VMs under the real daemon:
# - a subscriber to every VM sees a's start (stopped -> waiting -> starting
#   -> running) and its stop with the stop reason, in order, as text and
#   as JSON; one subscribed to b sees nothing of a;
# - a QEMU killed by hand shows up with its reason (crashed);
# - an unknown VM is refused; a subscriber that hangs up is dropped (the
#   daemon's descriptors go back), and one killed mid-stream costs nothing.
source "$VMS_TOP/tests/lib/tap.sh"
source "$VMS_TOP/tests/daemon/lib.sh"
need_daemon
scratch_daemon

conf_head 1 1
conf_vm a 'autostart = no'
conf_vm b 'autostart = no'
check "daemon starts" start_daemon
nfd() { ls "/proc/$DPID/fd" | wc -l; }
FD0=$(nfd)
# In the background as itself (not a shell function's subshell): $! is vmctl.
VC=("$VMS_BIN/vmctl" -c "$TMP/vms.conf")

"${VC[@]}" events >"$TMP/all.txt" 2>"$TMP/all.err" & EA=$!
"${VC[@]}" events --json >"$TMP/all.json" 2>&1 & EJ=$!
"${VC[@]}" events b >"$TMP/b.txt" 2>&1 & EB=$!
for ((i = 0; i < 50; i++)); do [ "$(nfd)" -ge $((FD0 + 3)) ] && break; sleep 0.1; done
check "three subscribers connected" test "$(nfd)" -ge $((FD0 + 3))

vmctl start a >/dev/null
vmctl stop a >/dev/null
vmctl start a >/dev/null
kill -KILL "$(field a pid)"
check "a seen down" wait_state a stopped 10
sleep 0.3

txt=$(cat "$TMP/all.txt")
diag "$txt"
check_match "start: stopped -> waiting" "$txt" ' a: stopped -> waiting \(start requested\)'
check_match "... starting -> running" "$txt" ' a: starting -> running '
check_match "stop: halting with its reason when down" "$txt" ' a: halting -> stopped \(.*\) \[host-powerdown\]'
check_match "a killed QEMU: crashed" "$txt" ' a: running -> (stopped|failed|backoff) .*\[crashed\]'
order=$(grep -o 'a: [a-z-]* -> [a-z-]*' "$TMP/all.txt" | head -n 4 | tr '\n' ',')
check_eq "in order" "$order" "a: stopped -> waiting,a: waiting -> starting,a: starting -> running,a: running -> halting,"
check_match "JSON lines" "$(head -n 1 "$TMP/all.json")" '^\{"event":"state","time":[0-9.]+,"vm":"a","from":"stopped","to":"waiting","why":"start requested"\}$'
check_eq "as many JSON lines as text lines" "$(wc -l <"$TMP/all.json")" "$(wc -l <"$TMP/all.txt")"
check_eq "the subscriber of b saw nothing of a" "$(cat "$TMP/b.txt")" ""

out=$(vmctl events nosuch 2>&1); rc=$?
check_eq "an unknown vm: exit 1" "$rc" 1
check_match "... saying so" "$out" "unknown vm 'nosuch'"

kill "$EA" "$EJ"; kill -KILL "$EB"
wait "$EA" "$EJ" "$EB" 2>/dev/null
for ((i = 0; i < 50; i++)); do [ "$(nfd)" -le "$FD0" ] && break; sleep 0.1; done
check "subscribers that went are dropped (fds $(nfd), $FD0 before)" test "$(nfd)" -le "$FD0"
vmctl start b >/dev/null
check_eq "the daemon runs on" "$(field b state)" running

"${VC[@]}" events >"$TMP/late.txt" 2>"$TMP/late.err" & EL=$!
sleep 0.3
stop_daemon
wait "$EL"; rc=$?
check_eq "the daemon exiting ends the stream: exit 1" "$rc" 1
check_match "... saying so" "$(cat "$TMP/late.err")" 'vmserviced closed the stream'
check_match "... after b's stop" "$(cat "$TMP/late.txt")" ' b: halting -> stopped '
done_testing
