#!/bin/bash
# A slow downscript does not block the daemon's loop (issue 13): the real
# daemon, real QEMU and real taps, inside a network namespace this test makes.
# VM slow has a tap whose downscript sleeps 5 s (markers: .started at its
# start, .done at its end); VM quick has no script. While slow's downscript
# sleeps:
#  - quick stops, and its stop is over long before the script is;
#  - `vmctl status` answers each time, well under 50 ms (measured, printed);
#  - `vmctl stop all` takes quick down while slow's script still sleeps.
# A FIFO where a VM's log goes (the daemon opens it in its loop) fails that
# VM's start, or leaves a downscript's output unlogged; it holds nothing.
# Then the daemon's own shutdown (SIGTERM) waits for a running downscript,
# but only up to the script deadline (10 s, vmservice.conf(5)): a script
# that would sleep 60 s is killed with what it started, and the daemon exits.
source "$VMS_TOP/tests/lib/tap.sh"
source "$VMS_TOP/tests/daemon/lib.sh"
need_daemon

if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null; then
	skip "slow downscripts" "needs root and iproute2 (a network namespace with taps)"
	exit 0
fi
NS=vmsslow$$
if ! ip netns add "$NS" 2>/dev/null; then
	skip "slow downscripts" "cannot create a network namespace"
	exit 0
fi
if ! ip netns exec "$NS" ip tuntap add vmsprobe0 mode tap 2>/dev/null; then
	ip netns del "$NS"
	skip "slow downscripts" "this host cannot create tap interfaces (/dev/net/tun)"
	exit 0
fi
ip netns exec "$NS" ip link del vmsprobe0
scratch_daemon
cleanup_slow() {
	cleanup_daemon
	ip netns del "$NS" 2>/dev/null
}
trap cleanup_slow EXIT

# DOWNSCRIPT: ifdown script sleeping $2 s, markers $TMP/$1.started / .done;
# the pid of its sleep in $TMP/$1.sleep (to check the deadline kills it).
mkscript() {
	cat >"$TMP/$1.sh" <<-EOF
	#!/bin/sh
	echo "\$1" >"$TMP/$1.started"
	sleep $2 &
	echo \$! >"$TMP/$1.sleep"
	wait
	echo "\$1" >"$TMP/$1.done"
	EOF
	chmod +x "$TMP/$1.sh"
}
mkscript slow 5
mkscript stuck 60

conf_head 2 2
small_vm() {	# NAME NIC-LINES [LINE]: a pc with a NIC and no guest (QMP ready at once)
	printf 'vm %s {\n\tmachine = "pc"\n\tmemory = 32M\n\thalt = quit\n\tnic { %s }\n\t%s\n}\n' \
	    "$1" "$2" "${3:-}" >>"$TMP/vms.conf"
}
small_vm slow "net = tap  downscript = \"$TMP/slow.sh\""
conf_vm quick
small_vm stuck "net = tap  downscript = \"$TMP/stuck.sh\"" 'autostart = no'
conf_vm fifo 'autostart = no'

S=$(SOCK)
# A daemon whose loop is held must fail this test, not hang it.
vmctl() { timeout 20 "$VMS_BIN/vmctl" -c "$TMP/vms.conf" "$@"; }
# answers_or_end WHAT: the daemon answers a status within 5 s, else the test ends.
answers_or_end() {
	timeout 5 "$VMS_BIN/vmctl" status -s "$S" >/dev/null 2>&1 && return 0
	notok "the daemon answers after $1"
	exit 1
}
stop_daemon() {
	local i
	kill -TERM "$DPID" 2>/dev/null
	for ((i = 0; i < 400; i++)); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$DPID" 2>/dev/null
	wait "$DPID"
	DRC=$?
}
logged() { grep -qE -- "$1" "$TMP/daemon.log" || { diag "not in the daemon's log: /$1/"; false; }; }
ms() { echo $(( $(date +%s%N) / 1000000 )); }
# wait_file PATH [SECONDS]
wait_file() {
	local i
	for ((i = 0; i < ${2:-10} * 20; i++)); do [ -e "$1" ] && return 0; sleep 0.05; done
	return 1
}
# status_latencies N: N x `vmctl status -s SOCK`, each one's ms (one a line,
# sorted) in $TMP/lat; "stopped" is a failed answer.
status_latencies() {
	local i t0 t1
	: >"$TMP/lat.raw"
	for ((i = 0; i < $1; i++)); do
		t0=$(date +%s%N)
		if ! "$VMS_BIN/vmctl" status -s "$S" >/dev/null 2>&1; then
			echo failed >>"$TMP/lat.raw"
			continue
		fi
		t1=$(date +%s%N)
		echo $(( (t1 - t0) / 1000000 )) >>"$TMP/lat.raw"
	done
	sort -n "$TMP/lat.raw" >"$TMP/lat"
}

DAEMON_PREFIX=(ip netns exec "$NS")
if ! start_daemon; then
	notok "daemon starts in the namespace"
	sed 's/^/#   /' "$TMP/daemon.log"
	exit 1
fi
ok "daemon starts in the namespace"
check "slow running" wait_state slow running 20
check "quick running" wait_state quick running 20

# Before: vmctl status on an idle daemon, for comparison.
status_latencies 20
diag "status on an idle daemon, ms (min/median/max): $(sed -n 1p "$TMP/lat")/$(sed -n 10p "$TMP/lat")/$(tail -1 "$TMP/lat")"

# 1. Stop slow without waiting; once its downscript sleeps, time 20 status
# answers, then stop quick.
t_slow=$(ms)
vmctl stop slow --no-wait -s "$S" >/dev/null
check "slow's downscript starts" wait_file "$TMP/slow.started" 10
t_started=$(ms)
# vmctl status during the script: every answer, each timed (a loop held
# by the script would hold the first answer until the script's end).
status_latencies 20
done_then=$([ -e "$TMP/slow.done" ] && echo done || echo sleeping)
check_eq "20 status answers measured while the script sleeps" "$done_then" sleeping
check_eq "  ... every one answered" "$(grep -c failed "$TMP/lat")" 0
lat_min=$(sed -n 1p "$TMP/lat") lat_med=$(sed -n 10p "$TMP/lat") lat_max=$(tail -1 "$TMP/lat")
diag "status during slow's downscript, ms: $(tr '\n' ' ' <"$TMP/lat")"
diag "  min/median/max: $lat_min/$lat_med/$lat_max"
check "  ... median under 50 ms ($lat_med ms)" test "${lat_med:-x}" -lt 50 2>/dev/null
# No answer waits for the script: the slowest is far below its 5 s.
check "  ... none near the script's 5 s (max $lat_max ms)" test "${lat_max:-x}" -lt 1000 2>/dev/null

t0=$(ms)
vmctl stop quick -s "$S" >/dev/null
t1=$(ms)
done_then=$([ -e "$TMP/slow.done" ] && echo done || echo sleeping)
check_eq "quick is stopped" "$(field quick state)" stopped
check_eq "  ... while slow's downscript still sleeps" "$done_then" sleeping
diag "stop quick took $((t1 - t0)) ms (slow's script started $((t_started - t_slow)) ms after its stop)"
check "  ... in well under the script's 5 s ($((t1 - t0)) ms)" test $((t1 - t0)) -lt 2500
check_eq "slow is stopped too (its script runs on)" "$(field slow state)" stopped

check "slow's downscript ends" wait_file "$TMP/slow.done" 10
t_done=$(ms)
diag "slow's downscript ended $((t_done - t_started)) ms after it started;" \
    "quick was stopped $((t_done - t1)) ms before"
check "its end is logged with its time" logged \
    'nic 0: downscript .*slow.sh vms-slow-0: exit 0 after [5-9]\.[0-9] s'
check_eq "the script saw its interface name" "$(cat "$TMP/slow.done")" vms-slow-0

# 2. stop all: quick is down long before slow's script ends.
rm -f "$TMP"/slow.started "$TMP"/slow.done
vmctl start slow -s "$S" >/dev/null
vmctl start quick -s "$S" >/dev/null
check "slow running again" wait_state slow running 20
check "quick running again" wait_state quick running 20
# (slow's log replaced by a FIFO: its downscript's output is not logged,
# and opening the FIFO must not hold the loop either.)
rm "$TMP/log/slow.qemu.log"
mkfifo "$TMP/log/slow.qemu.log"
t0=$(ms)
timeout 20 "$VMS_BIN/vmctl" stop all -s "$S" >/dev/null
t1=$(ms)
answers_or_end "stop all"
done_then=$([ -e "$TMP/slow.done" ] && echo done || echo sleeping)
check_eq "stop all: both stopped" "$(field quick state) $(field slow state)" "stopped stopped"
check_eq "  ... while slow's downscript still sleeps" "$done_then" sleeping
check "  ... the script had started" test -e "$TMP/slow.started"
diag "stop all took $((t1 - t0)) ms"
check "  ... in well under the script's 5 s ($((t1 - t0)) ms)" test $((t1 - t0)) -lt 2500
check "slow's downscript ends afterwards" wait_file "$TMP/slow.done" 10
diag "slow's downscript ended $(( $(ms) - t1 )) ms after stop all returned"
check "  ... its output not logged, as said" logged \
    'downscript .*slow.sh vms-slow-0: output not logged: .*slow.qemu.log: not a regular file'
rm -f "$TMP/log/slow.qemu.log"

# A FIFO where a VM's log goes (put there by hand, say) fails that start:
# opened in the loop, it would wait for a reader forever.
mkfifo "$TMP/log/fifo.qemu.log"
vmctl start fifo --no-wait -s "$S" >/dev/null
t0=$(ms)
timeout 5 "$VMS_BIN/vmctl" status -s "$S" >/dev/null
rc=$? t1=$(ms)
check_eq "a FIFO at fifo.qemu.log: status still answers" "$rc" 0
diag "status after that start: $((t1 - t0)) ms"
answers_or_end "a start with a FIFO as its log"
check "  ... the start failed" wait_state fifo failed 5
check_match "  ... saying why" "$(field fifo stop_detail)" 'fifo.qemu.log: not a regular file'
rm -f "$TMP/log/fifo.qemu.log"

# 3. The daemon's shutdown waits for a running downscript...
rm -f "$TMP"/slow.started "$TMP"/slow.done
vmctl start slow -s "$S" >/dev/null
check "slow running again" wait_state slow running 20
t0=$(ms)
stop_daemon
t1=$(ms)
check_eq "SIGTERM: daemon exits 0" "$DRC" 0
check "  ... only once slow's downscript has ended" test -e "$TMP/slow.done"
diag "daemon exit with a 5 s downscript took $((t1 - t0)) ms"
check "  ... which took its 5 s ($((t1 - t0)) ms)" test $((t1 - t0)) -ge 5000

# ... but only up to the deadline: a 60 s script is killed at 10 s.
: >"$TMP/daemon.log"
check "daemon starts again" start_daemon
vmctl start stuck -s "$S" >/dev/null
check "stuck running" wait_state stuck running 20
t0=$(ms)
stop_daemon
t1=$(ms)
check_eq "SIGTERM with a 60 s downscript: daemon exits 0" "$DRC" 0
check "  ... the script had started" test -e "$TMP/stuck.started"
check "  ... and did not end by itself" test ! -e "$TMP/stuck.done"
diag "daemon exit with a 60 s downscript took $((t1 - t0)) ms"
check "  ... after the 10 s deadline, not 60 s ($((t1 - t0)) ms)" \
    test $((t1 - t0)) -ge 9500 -a $((t1 - t0)) -lt 30000
check "  ... saying it killed the script" logged \
    'nic 0: downscript .*stuck.sh vms-stuck-0: still running after 10 s, killed'
sp=$(cat "$TMP/stuck.sleep" 2>/dev/null)
sleep_gone() { [ -n "$sp" ] && gone "$sp"; }
check "  ... and what it started (its sleep, pid ${sp:-?}) with it" sleep_gone
check_eq "no tap left" "$(ip netns exec "$NS" ip -o link show | grep -c ' vms-')" 0
done_testing
