#!/bin/bash
# Crashes and restarts with real QEMU (issue 6): a QEMU SIGKILLed from
# outside is seen at once (measured: the state file's mtime and the daemon's
# timestamped log line against the time of the kill); restart = on-failure
# brings it back with growing delays until the burst limit leaves it failed;
# requested stops and kills never restart; a guest that powers itself off is
# not a failure (on-failure: stays stopped, always: restarts); on_panic
# restart / poweroff / pause with a real guest that panics (pvpanic).
source "$VMS_TOP/tests/lib/tap.sh"
source "$VMS_TOP/tests/lib/guest.sh"
source "$VMS_TOP/tests/daemon/lib.sh"
need_daemon
scratch_daemon

need_guest

# Latency bound from the issue; generous margins everywhere else.
BOUND=0.100

conf_head 5 2
cat >>"$TMP/vms.conf" <<EOF
restart_delay = 1
restart_max_delay = 4
restart_burst = 3
restart_interval = 60
EOF
conf_vm k 'restart = no'
conf_vm r 'restart = on-failure'
conf_vm a 'restart = always' 'autostart = no'
# Guests (TCG): the power button and panics need a real kernel.
guest_vm() {
	local name=$1 flavour=$2; shift 2
	{
		echo "vm $name {"
		echo "	machine = \"pc\""
		echo "	memory = 128M"
		echo "	accel = tcg"
		echo "	kernel = \"$GUEST_KERNEL\""
		echo "	initrd = \"$GUEST_INITRD\""
		echo "	append = \"$(guest_append "$flavour")\""
		echo "	extra_args = \"-no-reboot\""
		local l; for l in "$@"; do echo "	$l"; done
		echo "}"
	} >>"$TMP/vms.conf"
}
guest_vm gof cooperative 'restart = on-failure'
guest_vm gal cooperative 'restart = always'
guest_vm pre panic 'on_panic = restart' 'restart_burst = 1'
guest_vm pof panic 'on_panic = poweroff' 'restart = always'
guest_vm ppa panic 'on_panic = pause'

check "config valid" vmctl check-config
out=$(vmctl show r); check_match "show lists the restart policy" "$out" '^restart: on-failure$'
check_match "show lists on_panic" "$out" '^on_panic: restart$'
check_match "show lists restart_burst (global)" "$out" '^restart_burst: 3$'
out=$(vmctl show gof --argv)
check_match "argv has the pvpanic device" "$out" '^pvpanic,id=pvpanic0$'
check_match "argv lets the daemon decide on panics" "$out" '^panic=pause$'
out=$(vmctl show k --argv)
check "machine none: no pvpanic (no ISA bus)" test -n "$out" -a -z "$(printf '%s\n' "$out" | grep pvpanic)"

T0=$EPOCHREALTIME
# The daemon, its stderr time-stamped line by line as it arrives.
ts() { local l; while IFS= read -r l; do printf '%s %s\n' "$EPOCHREALTIME" "$l"; done; }
"$VMS_BIN/vmserviced" -v -c "$TMP/vms.conf" 2> >(ts >>"$TMP/daemon.log") &
DPID=$!
for ((i = 0; i < 100; i++)); do [ -S "$(SOCK)" ] && break; sleep 0.1; done
check "daemon up" test -S "$(SOCK)"
check "k running" wait_state k running
check "r running" wait_state r running

# state NAME: the state in state_dir/NAME.json (written at each transition).
sstate() { sed -n 's/.*"state": *"\([a-z]*\)".*/\1/p' "$TMP/state/$1.json" 2>/dev/null; }
# wait_file_state NAME STATE: poll the state file every 10 ms (5 s at most).
wait_file_state() {
	local i
	for ((i = 0; i < 500; i++)); do
		[ "$(sstate "$1")" = "$2" ] && return 0
		sleep 0.01
	done
	return 1
}
# logline_ts PATTERN: the arrival time of the last daemon log line matching it.
logline_ts() { grep -E "$1" "$TMP/daemon.log" | tail -n 1 | cut -d' ' -f1; }

# --- detection latency: SIGKILL from outside, restart = no ----------------
lats=() llats=()
for n in 1 2 3; do
	[ "$n" = 1 ] || { vmctl start k >/dev/null; wait_state k running; }
	pid=$(field k pid)
	t0=$EPOCHREALTIME
	kill -KILL "$pid"
	if wait_file_state k stopped; then
		lats+=("$(sub "$(stat -c %.6Y "$TMP/state/k.json")" "$t0")")
		sleep 0.05
		llats+=("$(sub "$(logline_ts 'k: running -> stopped')" "$t0")")
	else
		lats+=(timeout); llats+=(timeout)
	fi
done
diag "kill -> state file written: ${lats[*]} s; kill -> log line read: ${llats[*]} s"
for l in "${lats[@]}"; do
	check "SIGKILL detected and recorded within ${BOUND} s (state file: $l s)" lt "$l" "$BOUND"
done
for l in "${llats[@]}"; do
	check "... and logged within ${BOUND} s ($l s)" lt "$l" "$BOUND"
done
check_eq "restart = no: stays stopped" "$(field k state)" stopped
check_eq "reason crashed" "$(field k stop_reason)" crashed
check_eq "exit recorded" "$(field k last_exit)" "signal 9"
check_match "transition logged with the reason" "$(cat "$TMP/daemon.log")" \
    'k: running -> stopped \(crashed\)'

# --- restart = on-failure: back after growing delays, then failed -------------
delays=()
for n in 1 2 3; do
	pid=$(field r pid)
	nstarts=$(grep -c 'r: waiting -> starting' "$TMP/daemon.log")
	t0=$EPOCHREALTIME
	kill -KILL "$pid"
	wait_file_state r backoff
	tb=$(stat -c %.6Y "$TMP/state/r.json")
	# What status shows during the backoff: checked on the 4 s one (load margin).
	tab=$(vmctl status); st=$(field r state); rin=$(field r restart_in)
	[ "$n" = 1 ] && check "backoff: detected within ${BOUND} s ($(sub "$tb" "$t0") s)" \
	    lt "$(sub "$tb" "$t0")" "$BOUND"
	if [ "$n" = 3 ]; then
		check_eq "status shows backoff" "$st" backoff
		check_match "status shows when it restarts" "$rin" '^[0-9.]+$'
		check_match "status table says when" "$tab" 'r: restart 3 in [0-9.]+ s'
	fi
	wait_file_state r starting || wait_state r running 10
	# The log line is stamped when it reaches us: wait for this restart's.
	for ((i = 0; i < 500; i++)); do
		[ "$(grep -c 'r: waiting -> starting' "$TMP/daemon.log")" -gt "$nstarts" ] && break
		sleep 0.01
	done
	ts_=$(logline_ts 'r: waiting -> starting')
	delays+=("$(sub "$ts_" "$tb")")
	check "r back running after crash $n" wait_state r running 15
	check_eq "restarts = $n" "$(field r restarts)" "$n"
done
diag "backoff delays measured (backoff entered -> QEMU spawned): ${delays[*]} s (planned 1 2 4)"
check "first delay about 1 s" awk -v d="${delays[0]}" 'BEGIN { exit !(d >= 0.95 && d < 2) }'
check "second delay about 2 s" awk -v d="${delays[1]}" 'BEGIN { exit !(d >= 1.95 && d < 3) }'
check "third delay about 4 s (capped at restart_max_delay)" \
    awk -v d="${delays[2]}" 'BEGIN { exit !(d >= 3.95 && d < 5) }'
check_match "planned delays logged" "$(grep -o 'r: running -> backoff.*' "$TMP/daemon.log" | tr '\n' ' ')" \
    'restart 1 of 3 in 1000 ms.*restart 2 of 3 in 2000 ms.*restart 3 of 3 in 4000 ms'
kill -KILL "$(field r pid)"
check "4th crash within restart_interval: failed" wait_state r failed 5
check_match "stop_detail names the burst limit" "$(field r stop_detail)" \
    'restart limit reached, 3 restarts within 60 s'
check_match "status table shows why it failed" "$(vmctl status)" 'r: crashed .*restart limit reached'
check_match "restarts persisted in the state file" "$(cat "$TMP/state/r.json")" '"restarts": *3'

# A requested start resets the accounting; requested stop/kill never restart.
out=$(vmctl start r); check_match "failed VM starts on request" "$out" '^r: running'
check_eq "restarts reset by the requested start" "$(field r restarts)" 0
vmctl stop r >/dev/null
sleep 1.5
check_eq "on-failure: vmctl stop stays stopped" "$(field r state)" stopped
vmctl start a >/dev/null
vmctl kill a >/dev/null
sleep 1.5
check_eq "always: vmctl kill stays stopped" "$(field a state)" stopped
check_eq "kill reason sigkill" "$(field a stop_reason)" sigkill
vmctl start a >/dev/null
vmctl stop a >/dev/null
sleep 1.5
check_eq "always: vmctl stop stays stopped" "$(field a state)" stopped
# A kill from outside during a stop is part of the stop, not a crash to restart.
vmctl start a >/dev/null
apid=$(field a pid)
vmctl stop a --no-wait >/dev/null
kill -KILL "$apid"
sleep 1.5
check_eq "always: killed from outside while stopping: stays stopped" "$(field a state)" stopped

# --- guests: power off by themselves, panics --------------------------------
diag "guests from $(sub "$EPOCHREALTIME" "$T0") s"
for g in gof gal; do check "$g running" wait_state "$g" running 30; done
# ppa panics right after it booted: by now it may already be paused.
up_or_paused() {
	local i st
	for ((i = 0; i < $2 * 10; i++)); do
		st=$(field "$1" state)
		[ "$st" = running ] || [ "$st" = paused ] && return 0
		sleep 0.1
	done
	return 1
}
check "ppa running (or already paused by its panic)" up_or_paused ppa 30
console() { echo "$TMP/log/$1.console.log"; }
readycount() { grep -ac '^vmservice-guest: ready ' "$(console "$1")" 2>/dev/null || echo 0; }
wait_ready_n() {	# NAME N SECS
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		[ "$(readycount "$1")" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}
check "gof booted" wait_ready_n gof 1 90
check "gal booted" wait_ready_n gal 1 90
check_match "the guest found the pvpanic device" "$(grep -a 'ready' "$(console gof)")" 'pvpanic=yes'
vmctl monitor gof system_powerdown >/dev/null
vmctl monitor gal system_powerdown >/dev/null
check "on-failure: guest poweroff -> stopped" wait_state gof stopped 20
check_eq "reason guest-poweroff" "$(field gof stop_reason)" guest-poweroff
sleep 1.5
check_eq "on-failure: still stopped after restart_delay" "$(field gof state)" stopped
check_match "always: guest poweroff -> backoff" "$(grep -a 'gal: .* -> backoff' "$TMP/daemon.log")" \
    'gal: halting -> backoff \(guest-poweroff'
check "always: running again" wait_state gal running 20
check "always: the guest booted a second time" wait_ready_n gal 2 90
check_eq "always: restarts = 1" "$(field gal restarts)" 1

diag "guest poweroff checks done at $(sub "$EPOCHREALTIME" "$T0") s"
# on_panic = restart (burst 1): panic -> restart -> panic -> failed.
check "pre panicked (console)" guest_wait_line "$(console pre)" 'vmservice-guest: panicking' 90
check_match "GUEST_PANICKED seen and on_panic applied" "$(cat "$TMP/daemon.log")" \
    'pre: running -> halting \(guest panicked: stopping QEMU to restart it'
check "on_panic restart: booted again" wait_ready_n pre 2 90
check "on_panic restart: second panic within the interval -> failed" wait_state pre failed 60
check_eq "reason guest-panicked" "$(field pre stop_reason)" guest-panicked
check_match "burst limit named" "$(field pre stop_detail)" 'restart limit reached, 1 restarts'

# on_panic = poweroff (even with restart = always): stays stopped.
check "on_panic poweroff: stopped" wait_state pof stopped 90
check_eq "on_panic poweroff: reason guest-panicked" "$(field pof stop_reason)" guest-panicked
sleep 1.5
check_eq "on_panic poweroff: not restarted" "$(field pof state)" stopped

# on_panic = pause: left frozen; status says so; stop quits it at once.
check "on_panic pause: panicked" guest_wait_line "$(console ppa)" 'vmservice-guest: panicking' 90
for ((i = 0; i < 100; i++)); do [ "$(field ppa panicked)" = true ] && break; sleep 0.1; done
check_eq "on_panic pause: status panicked" "$(field ppa panicked)" true
check_eq "on_panic pause: state paused, not running" "$(field ppa state)" paused
check_eq "on_panic pause: run_state from QEMU" "$(field ppa run_state)" guest-panicked
check_match "on_panic pause: QEMU says guest-panicked" "$(vmctl monitor ppa 'info status')" \
    'guest-panicked'
check_match "status table shows paused (panicked)" "$(vmctl status)" '^ppa +paused \(panicked\) '
t0=$EPOCHREALTIME
out=$(vmctl stop ppa)
check_match "stopping a panicked guest" "$out" '^ppa: stopped \(host-powerdown\)'
check "... takes no halt_timeout (quit, not ACPI)" lt "$(sub "$EPOCHREALTIME" "$t0")" 4

diag "on_panic checks done at $(sub "$EPOCHREALTIME" "$T0") s"
stop_daemon
check_eq "daemon exits 0" "$DRC" 0
done_testing
