#!/bin/bash
# Control socket clients that never read their answers (issue 12): 136
# connections from 8 non-root uids (every QEMU may connect), each sending
# 2000 requests and never reading, used to fill the 128 slots with clients
# that were never "silent", so root was refused. Now root has its own pool
# and is answered (how fast: bench/latency), a uid holds at most 16 slots, and a client that
# does not drain its answers within 10 s is dropped (progress deadline).
source "$VMS_TOP/tests/lib/tap.sh"
source "$VMS_TOP/tests/daemon/lib.sh"
need_daemon
if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null; then
	skip "control client limits" "needs root and setpriv to connect as other uids"
	exit 0
fi
scratch_daemon
chmod 0711 "$TMP"

conf_head 1 1
conf_vm a
check "daemon starts" start_daemon
check "a running" wait_state a running
chmod 0777 "$(SOCK)"	# the daemon decides, as for a QEMU user in group vmservice
nfd() { ls "/proc/$DPID/fd" | wc -l; }
FD0=$(nfd)

# status_ms: milliseconds root's `vmctl status` takes (best of 3), or
# "refused" with vmctl's message.
status_ms() {
	local t0 t1 best= out i ms
	for i in 1 2 3; do
		t0=$(date +%s%N)
		out=$(timeout 5 "$VMS_BIN/vmctl" -c "$TMP/vms.conf" status a 2>&1) ||
		    { echo "refused: $out"; return; }
		t1=$(date +%s%N)
		ms=$(( (t1 - t0) / 1000000 ))
		[ -z "$best" ] || [ "$ms" -lt "$best" ] && best=$ms
	done
	echo "$best"
}
base_ms=$(status_ms)
diag "vmctl status at rest: $base_ms ms"

# Answers the kernel cannot hold (~300 KB): the daemon must queue them.
# "unknown command" echoes the command, 1000 bytes, to anyone; "status" is
# refused to these uids (not in group vmservice): logged once per client.
long=$(head -c 1000 /dev/zero | tr '\0' x)
{ yes '{"cmd":"status"}' | head -n 50; yes "{\"cmd\":\"$long\"}" | head -n 400; } >"$TMP/reqs"
yes '{"cmd":"status"}' | head -n 2000 >"$TMP/status-reqs"

# --- 136 non-root clients that never read ------------------------------------
# socat -u sends the requests and keeps the socket open (ignoreeof: it waits
# for the file to grow) without ever reading; killing socat ends it. Meanwhile a prober times root's `vmctl status` every 0.2 s.
probe() {
	while [ ! -e "$TMP/probe.stop" ]; do
		t0=$(date +%s%N)
		if err=$(timeout 5 "$VMS_BIN/vmctl" -c "$TMP/vms.conf" status a 2>&1 >/dev/null); then
			t1=$(date +%s%N)
			echo "$(( (t1 - t0) / 1000000 )) $(nfd)"
		else
			echo "refused $(nfd) ${err:-no answer within 5 s}"
		fi
		sleep 0.2
	done >"$TMP/probe.out"
}
probe &
prober=$!
pids=()
for u in $(seq 60001 60008); do
	for i in $(seq 1 17); do
		setpriv --reuid="$u" --regid="$u" --clear-groups \
		    socat -u "OPEN:$TMP/reqs,ignoreeof" "UNIX-CONNECT:$(SOCK)" 2>/dev/null &
		pids+=($!)
	done
done
# Until the flood has passed its peak: the daemon's fd count back near
# rest, or 25 s.
peak=0
for ((i = 0; i < 250; i++)); do
	n=$(nfd); [ "$n" -gt "$peak" ] && peak=$n
	[ "$peak" -gt $((FD0 + 32)) ] && [ "$n" -le $((FD0 + 2)) ] && break
	sleep 0.1
done
touch "$TMP/probe.stop"; wait $prober
# The probes taken while the daemon held more than 32 of these clients.
during=$(awk -v f=$((FD0 + 32)) '$2 > f' "$TMP/probe.out")
n_probes=$(printf '%s\n' "$during" | grep -c . || true)
n_refused=$(printf '%s\n' "$during" | grep -c refused || true)
med=$(printf '%s\n' "$during" | awk '$1 ~ /^[0-9]+$/ {print $1}' | sort -n |
    awk '{a[NR] = $1} END {print NR ? a[int((NR + 1) / 2)] : "none"}')
max=$(printf '%s\n' "$during" | awk '$1 ~ /^[0-9]+$/ {print $1}' | sort -n | tail -n 1)
diag "daemon fds: $FD0 at rest, peak $peak; $n_probes probes during the flood:" \
    "$n_refused refused, median ${med} ms, max ${max:-none} ms"
check "the flood filled the daemon (peak fds $peak)" test "$peak" -gt $((FD0 + 32)) -a "$n_probes" -ge 3
if [ "$n_refused" -eq 0 ]; then
	ok "root is never refused during the flood"
else
	notok "root is never refused during the flood"
	printf '%s\n' "$during" | grep refused | sed 's/^/#   /'
fi
# How fast root is answered during the flood (issue 12: under 50 ms) is a
# speed target: bench/latency reads it from this line. Here: never refused
# (above; each probe waits 5 s), and answered.
diag "bench: control-flood status_ms rest=$base_ms flood=$med max=${max:-none}"
check "root's vmctl status is answered during the flood (median $med ms)" \
    test "$med" != none
check "at most 128 non-admin clients held (peak fds $peak, $FD0 at rest)" \
    test "$peak" -le $((FD0 + 128 + 2))
check_match "a uid beyond its 16 slots is refused or pays with its own" \
    "$(cat "$TMP/daemon.log")" 'uid 600[0-9][0-9] (has 16 clients: dropping its|all busy: refusing)'
check "one 'permission denied' line per client, not per request" \
    test "$(grep -c "refused 'status'" "$TMP/daemon.log")" -le 200
# The progress deadline: none of them drains its answers, all went (they
# would hold their sockets open for ever).
check "non-reading clients are dropped within the deadline (fds $(nfd), $FD0 at rest)" \
    test "$(nfd)" -le $((FD0 + 2))
check_match "the daemon says why" "$(cat "$TMP/daemon.log")" \
    'uid 600[0-9][0-9] \(pid [0-9]+\): [0-9]+ bytes of answers not read for 10 s, closing'
kill_tree "${pids[@]}"
wait "${pids[@]}" 2>/dev/null

# --- one root client that never reads: dropped after 10 s, not kept --------
socat -u "OPEN:$TMP/status-reqs,ignoreeof" "UNIX-CONNECT:$(SOCK)" 2>/dev/null &
p=$!
for ((i = 0; i < 30; i++)); do [ "$(nfd)" -gt "$FD0" ] && break; sleep 0.1; done
t0=$(date +%s%N)
for ((i = 0; i < 250; i++)); do [ "$(nfd)" -le "$FD0" ] && break; sleep 0.1; done
t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
check "a root client that never reads is dropped after ~10 s ($ms ms)" \
    test "$(nfd)" -le "$FD0" -a "$ms" -lt 14000
kill_tree $p; wait $p 2>/dev/null

# --- a client that reads slowly but steadily is not dropped -----------------
# 2000 answers (~600 KB), read 16 KB every 50 ms after a 2 s pause.
slow_read() {
	sleep 2
	for ((i = 0; i < 100; i++)); do
		dd bs=16k count=1 status=none 2>/dev/null; sleep 0.05
	done
	cat
}
out=$( { cat "$TMP/status-reqs"; sleep 10; } | timeout 30 socat -t 2 - "UNIX-CONNECT:$(SOCK)" |
    slow_read | wc -l)
check_eq "a slow but steady reader gets all 2000 answers" "$out" 2000

ms=$(status_ms)
diag "bench: control-flood-after status_ms after=$ms"
check "status still answers afterwards ($ms ms)" test "${ms%% *}" != refused:
check_eq "a is still the same running QEMU" "$(field a state)" running
stop_daemon
check_eq "daemon exits 0" "$DRC" 0
done_testing
