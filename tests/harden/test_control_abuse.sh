#!/bin/bash
# Control socket abuse beyond tests/daemon/test_control.sh (issue 6): a
# 10 MB request, binary garbage, clients that stall mid-request (closed after
# 5 s), 140 silent clients (beyond 128 the longest silent one makes room for
# a newcomer), a client that floods requests and never reads, connect-and-drop
# storms. Through all of it `vmctl status` answers at once, the daemon's fds
# and memory stay bounded, and the VM is untouched.
source "$VMS_TOP/tests/lib/tap.sh"
source "$VMS_TOP/tests/daemon/lib.sh"
need_daemon
scratch_daemon

conf_head 1 1
conf_vm a
if ! start_daemon; then
	notok "daemon starts"; sed 's/^/# /' "$TMP/daemon.log"; done_testing; exit
fi
ok "daemon starts"
check "a running" wait_state a running
APID=$(field a pid)
nfd() { ls "/proc/$DPID/fd" | wc -l; }
rss_kb() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$DPID/status"; }
FD0=$(nfd)
RSS0=$(rss_kb)

# quick_status DESC: vmctl status answers within 1 s.
quick_status() {
	local t0 t1 out rc
	t0=$(date +%s%N)
	out=$(timeout 5 "$VMS_BIN/vmctl" -c "$TMP/vms.conf" status a 2>&1); rc=$?
	t1=$(date +%s%N)
	if [ $rc -eq 0 ] && [ $(( (t1 - t0) / 1000000 )) -lt 1000 ]; then
		ok "$1 ($(( (t1 - t0) / 1000000 )) ms)"
	else
		notok "$1"; diag "rc $rc after $(( (t1 - t0) / 1000000 )) ms: $out"
	fi
}

# --- 10 MB in one request line -------------------------------------------
# The daemon answers after 64 KiB and hangs up: the sender sees a broken
# pipe long before its 10 MB are through (the answer itself is lost to a
# client that only writes; test_control.sh reads it for 70 KB).
t0=$(date +%s%N)
head -c 10485760 /dev/zero | tr '\0' x | timeout 10 socat -t 5 - "UNIX-CONNECT:$(SOCK)" \
    >/dev/null 2>"$TMP/big.err"
rc=$?
t1=$(date +%s%N)
check "a 10 MB request is cut off (socat exit $rc, $(( (t1 - t0) / 1000000 )) ms)" \
    test "$rc" -ne 0 -a "$rc" -ne 124
# The same while status is asked mid-transfer.
head -c 10485760 /dev/zero | tr '\0' x | timeout 10 socat -t 5 - "UNIX-CONNECT:$(SOCK)" \
    >/dev/null 2>&1 &
big=$!
quick_status "status answers during a 10 MB request"
wait $big

# --- binary garbage, NULs, a bare CR ---------------------------------------
out=$(head -c 4096 /dev/urandom | { cat; echo; } | timeout 5 socat -t 3 - "UNIX-CONNECT:$(SOCK)" 2>/dev/null)
check_match "binary garbage gets an error, not a crash" "$out" '"ok":false'
out=$(printf '{"cmd":"status"\0}\n' | timeout 5 socat -t 3 - "UNIX-CONNECT:$(SOCK)")
check_match "a NUL inside a request is malformed" "$out" 'malformed request'
out=$(printf '\r\n{"cmd":"status","vm":"a"}\r\n' | timeout 5 socat -t 3 - "UNIX-CONNECT:$(SOCK)")
check_match "CRLF lines and an empty line are fine" "$out" '"name":"a"'
out=$(printf '%s\n' "$(printf '[%.0s' $(seq 1 5000))" | timeout 5 socat -t 3 - "UNIX-CONNECT:$(SOCK)")
check_match "5000 nested arrays: refused, no stack overflow" "$out" 'malformed request'
kill -0 "$DPID" 2>/dev/null
check "daemon alive after garbage" test $? -eq 0

# --- clients that stall mid-request ----------------------------------------
pids=()
for i in $(seq 1 20); do
	{ printf '{"cmd":"sta'; sleep 4; } | timeout 6 socat -t 1 - "UNIX-CONNECT:$(SOCK)" \
	    >/dev/null 2>&1 &
	pids+=($!)
done
for ((i = 0; i < 40; i++)); do [ "$(nfd)" -ge $((FD0 + 20)) ] && break; sleep 0.1; done
quick_status "status answers with 20 clients stalled mid-request"
check "the stalled clients are still connected (not a crash)" test "$(nfd)" -ge $((FD0 + 20))
# One that sends a byte at a time, slowly.
{ for c in '{' '"' 'c' 'm' 'd' '"' ':'; do printf '%s' "$c"; sleep 0.2; done; sleep 2; } |
    timeout 6 socat -t 1 - "UNIX-CONNECT:$(SOCK)" >/dev/null 2>&1 &
pids+=($!)
sleep 0.3
quick_status "status answers while a client dribbles bytes"
wait "${pids[@]}"	# each stalls a few seconds, then half-closes

# stop_senders PID...: end these client pipelines now, their `sleep`s too
# (the sleeps are this shell's own children; waiting for them costs seconds).
stop_senders() {
	local c
	kill_tree "$@"
	for c in $(cat "/proc/$$/task/$$/children" 2>/dev/null); do
		[ "$(cat "/proc/$c/comm" 2>/dev/null)" = sleep ] && kill "$c" 2>/dev/null
	done
	wait "$@" 2>/dev/null
}

# --- more silent clients than the cap (128) -----------------------------------
pids=()
for i in $(seq 1 140); do
	sleep 60 | timeout 70 socat -t 30 - "UNIX-CONNECT:$(SOCK)" >/dev/null 2>&1 &
	pids+=($!)
done
# Until a newcomer has found the cap reached (140 socats take a while to
# start on a loaded machine; at most 40 s): the most fds the daemon held.
peak=0
for ((i = 0; i < 400; i++)); do
	n=$(nfd); [ "$n" -gt "$peak" ] && peak=$n
	grep -q 'clients: dropping the longest silent one' "$TMP/daemon.log" && break
	sleep 0.1
done
quick_status "status answers with 140 silent clients connected"
for ((i = 0; i < 10; i++)); do n=$(nfd); [ "$n" -gt "$peak" ] && peak=$n; sleep 0.1; done
check "the daemon holds at most 128 clients (peak fds $peak, $FD0 at rest)" \
    test "$peak" -le $((FD0 + 128 + 2))
check_match "a newcomer beyond 128 takes the place of the longest silent client" \
    "$(cat "$TMP/daemon.log")" 'clients: dropping the longest silent one'
stop_senders "${pids[@]}"
for ((i = 0; i < 50; i++)); do [ "$(nfd)" -le $((FD0 + 2)) ] && break; sleep 0.1; done

# --- a partial request is closed after 5 s ------------------------------------
pids=()
for i in 1 2 3 4 5; do
	{ printf '{"cmd":"sta'; exec sleep 15; } | timeout 20 socat -t 30 - "UNIX-CONNECT:$(SOCK)" \
	    >"$TMP/stall.$i" 2>&1 &
	pids+=($!)
done
for ((i = 0; i < 40; i++)); do [ "$(nfd)" -ge $((FD0 + 5)) ] && break; sleep 0.1; done
for ((i = 0; i < 100; i++)); do [ "$(nfd)" -le $((FD0 + 2)) ] && break; sleep 0.1; done
check "stalled clients are closed after 5 s (fds $(nfd), $FD0 at rest)" test "$(nfd)" -le $((FD0 + 2))
check_match "a stalled client is told why" "$(cat "$TMP"/stall.* | sort -u)" \
    'request incomplete after 5 s'
check_match "the daemon logs it" "$(cat "$TMP/daemon.log")" 'request incomplete for 5 s, closing'
stop_senders "${pids[@]}"
rm -f "$TMP"/stall.*

# --- a client that floods requests and never reads --------------------------
t0=$(date +%s%N)
yes '{"cmd":"status"}' | head -n 400000 |
    timeout 20 socat -u - "UNIX-CONNECT:$(SOCK)" >/dev/null 2>&1 &
fl=$!
sleep 0.3
quick_status "status answers while another client floods without reading"
wait $fl
rc=$?
t1=$(date +%s%N)
check "the flooding client is cut off (exit $rc after $(( (t1 - t0) / 1000000 )) ms)" \
    test "$rc" -ne 124
sleep 0.5
rss=$(rss_kb)
if grep -q __asan_init "$VMS_BIN/vmserviced"; then
	skip "daemon memory stays bounded after the flood" "ASan build: its quarantine keeps freed memory"
else
	check "daemon memory stays bounded after the flood (RSS ${RSS0} -> ${rss} kB)" \
	    test "$rss" -lt $((RSS0 + 65536))
fi

# --- connect and drop, many times ---------------------------------------
for i in $(seq 1 40); do
	socat -t 0 -u /dev/null "UNIX-CONNECT:$(SOCK)" 2>/dev/null
done
for i in $(seq 1 20); do
	printf '{"cmd":"status","wait":true}\n' | socat -t 0 - "UNIX-CONNECT:$(SOCK)" >/dev/null 2>&1
done
sleep 0.5
quick_status "status answers after 60 connect-and-drop clients"
check_eq "no fd leaked in the daemon" "$(nfd)" "$FD0"
check_eq "a is still the same running QEMU" "$(field a state) $(field a pid)" "running $APID"
grep -E 'error|assert|sanitizer' "$TMP/daemon.log" | head -5 | sed 's/^/# /'
stop_daemon
check_eq "daemon exits 0" "$DRC" 0
done_testing
