#!/bin/bash
# The control socket: garbage, over-long requests and unprivileged peers are
# refused without affecting other clients; a hung QEMU (SIGSTOPped, so its
# QMP never answers) cannot block status or kill, and its stop escalates.
source "$VMS_TOP/tests/lib/tap.sh"
source "$VMS_TOP/tests/daemon/lib.sh"
need_daemon
scratch_daemon
chmod 0755 "$TMP"	# the unprivileged peer below must reach run_dir

conf_head 1 1
conf_vm a
conf_vm b
check "daemon starts" start_daemon
check "a running" wait_state a running
check "b running" wait_state b running

ask() { printf '%s\n' "$1" | timeout 5 socat -t 3 - "UNIX-CONNECT:$(SOCK)"; }
check_match "garbage gets an error" "$(ask 'hello there')" '^\{"ok":false,"error":"malformed request'
check_match "non-object refused" "$(ask '[1,2]')" '"ok":false'
check_match "no cmd refused" "$(ask '{"vm":"a"}')" '"error":"malformed request: no \\"cmd\\""'
check_match "unknown command" "$(ask '{"cmd":"dance"}')" "unknown command 'dance'"
check_match "unknown vm named" "$(ask '{"cmd":"status","vm":"zz"}')" "unknown vm 'zz'"
check_match "bad timeout type" "$(ask '{"cmd":"stop","vm":"a","timeout":"x"}')" '"timeout\\" must be'
big=$(head -c 70000 /dev/zero | tr '\0' x)
check_match "over-long request refused" "$(ask "$big")" 'request longer than 65536 bytes'
check_match "still serving others" "$(ask '{"cmd":"status"}')" '^\{"ok":true,"vms":\[\{"name":"a"'
# "compact" leaves out null and false members; without it every member is there.
full=$(ask '{"cmd":"status","vm":"a"}')
small=$(ask '{"cmd":"status","vm":"a","compact":true}')
check_match "full status has null members" "$full" '"stop_detail":null'
check_match "full status has false members" "$full" '"removed":false'
check_eq "compact status: no null, no false" "$(echo "$small" | grep -c ':null\|:false')" 0
check_eq "compact status: the same non-empty members" \
    "$(echo "$small" | jq -S '.vms[0] | del(.uptime)')" \
    "$(echo "$full" | jq -S '.vms[0] | with_entries(select(.value != null and .value != false)) | del(.uptime)')"
# Two requests on one connection, answered in order.
two=$(printf '{"cmd":"status","vm":"a"}\n{"cmd":"status","vm":"b"}\n' |
    timeout 5 socat -t 3 - "UNIX-CONNECT:$(SOCK)")
check_match "pipelined requests answered in order" "$(echo "$two" | sed -n 2p)" '"name":"b"'

# A half-closed client (socat after its input) still gets a deferred answer.
out=$(printf '{"cmd":"restart","vm":"b","wait":true}\n{"cmd":"status","vm":"b"}\n' |
    timeout 10 socat -t 8 - "UNIX-CONNECT:$(SOCK)")
check_match "deferred answer after half-close" "$(echo "$out" | sed -n 1p)" '^\{"ok":true,"vms":\[\{"name":"b","state":"running"'
check_match "then the queued request" "$(echo "$out" | sed -n 2p)" '"name":"b","state":"running"'

# A peer that is neither root nor in group vmservice-status.
nob=(setpriv --reuid=65534 --regid=65534 --clear-groups)
chmod 0777 "$(SOCK)"	# let the socket permission through so the daemon decides
out=$(printf '{"cmd":"stop","vm":"a"}\n' | "${nob[@]}" socat -t 3 - "UNIX-CONNECT:$(SOCK)")
check_match "nobody may not stop" "$out" '"ok":false,"error":"permission denied"'
out=$(printf '{"cmd":"status"}\n' | "${nob[@]}" socat -t 3 - "UNIX-CONNECT:$(SOCK)")
check_match "nobody may not read status" "$out" 'permission denied'
out=$("${nob[@]}" "$VMS_BIN/vmctl" -c "$TMP/vms.conf" stop a 2>&1); rc=$?
check_eq "vmctl as nobody exits 1" "$rc" 1
check_match "vmctl as nobody says permission denied" "$out" 'permission denied'
check_eq "a still running" "$(field a state)" running
chmod 0660 "$(SOCK)"
out=$("${nob[@]}" "$VMS_BIN/vmctl" -c "$TMP/vms.conf" status 2>&1); rc=$?
check_eq "socket mode keeps nobody out: exit 4" "$rc" 4

# Hung QEMU: SIGSTOP it; stop a must escalate quit -> SIGTERM -> SIGKILL
# while status and b's stop keep answering.
apid=$(field a pid)
kill -STOP "$apid"
vmctl stop a >"$TMP/stop-a.out" 2>&1 &
spid=$!
sleep 0.3
t0=$(date +%s%N)
st=$(vmctl status a --json); rc=$?
t1=$(date +%s%N)
check_eq "status answers while a's QMP hangs (3: not running)" "$rc" 3
check "status answered in under 1 s" test $(( (t1 - t0) / 1000000 )) -lt 1000
check_match "a is halting" "$st" '"state":"halting"'
out=$(vmctl stop b); rc=$?
check_eq "b stops meanwhile" "$rc" 0
wait "$spid"; rc=$?
check_eq "stop a returns 0 once killed" "$rc" 0
check_eq "a escalated to SIGKILL" "$(field a stop_reason)" sigkill
check_match "escalation path logged" "$(grep -E '^vmserviced: info: a: ' "$TMP/daemon.log" | tr '\n' ' ')" \
    'running -> halting.*halting -> terminating \(halt_timeout expired\).*terminating -> killing \(term_timeout expired\).*killing -> stopped \(signal 9\)'

# kill must work on a hung QEMU at once.
vmctl start a >/dev/null
kill -STOP "$(field a pid)"
t0=$(date +%s%N)
vmctl kill a >/dev/null; rc=$?
t1=$(date +%s%N)
check_eq "kill of a hung QEMU exits 0" "$rc" 0
check "kill of a hung QEMU is immediate (< 1 s)" test $(( (t1 - t0) / 1000000 )) -lt 1000

# stop --timeout overrides halt_timeout.
vmctl start b >/dev/null
kill -STOP "$(field b pid)"
t0=$(date +%s%N)
vmctl stop b --timeout 0 >/dev/null
t1=$(date +%s%N)
check "stop --timeout 0 escalates at once (< 1.8 s)" test $(( (t1 - t0) / 1000000 )) -lt 1800

stop_daemon
check_eq "daemon exits 0" "$DRC" 0
done_testing
