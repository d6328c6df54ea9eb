#!/bin/bash
# The QEMU guest agent and the halt ladder (issue 14), with the real guest
# (TCG) running Debian's qemu-ga (tests/guest: vmsguest.agent=on):
# - ready = agent: `vmctl start` returns once the agent answers (booting
#   until then);
# - halt = { agent, acpi }: the agent answers, status shows its IP and OS,
#   `vmctl agent` passes a command through (fsfreeze status too), the
#   guest's clock is set after a 5 s pause, a stop goes through
#   guest-shutdown: clean disk record, stop detail "halt: agent sent", in
#   seconds;
# - agent = yes but no agent in the guest: the ladder goes to ACPI at once
#   (the daemon's log: within 2 s of the request), the guest stops cleanly;
# - the power button pressed while the guest boots (its acpid starts late,
#   vmsguest.acpid_delay): acpi_repeat presses it again and the guest stops
#   cleanly well before halt_timeout;
# - a guest flooding the agent channel with garbage: status still answers
#   (how fast: bench/latency), the daemon's RSS stays bounded, and the VM still stops.
source "$VMS_TOP/tests/lib/tap.sh"
source "$VMS_TOP/tests/lib/guest.sh"
source "$VMS_TOP/tests/daemon/lib.sh"
need_daemon
scratch_daemon
need_guest


conf_head 60 3
guest_vm() {
	local name=$1 append=$2; shift 2
	guest_disk_new "$TMP/$name.img"
	{
		echo "vm $name {"
		echo "	machine = \"pc\""
		echo "	memory = 128M"
		echo "	kernel = \"$GUEST_KERNEL\""
		echo "	initrd = \"$GUEST_INITRD\""
		echo "	append = \"$append\""
		echo "	extra_args = \"-no-reboot\""
		echo "	autostart = no"
		echo "	disk { file = \"$TMP/$name.img\"  format = raw }"
		local l; for l in "$@"; do echo "	$l"; done
		echo "}"
	} >>"$TMP/vms.conf"
}
guest_vm ag "$(guest_append cooperative 10.0.2.15/24 agent=on)" 'agent = yes' \
    'halt = { agent, acpi }' 'nic { net = user  model = virtio-net-pci }' 'ready = agent'
guest_vm na "$(guest_append cooperative)" 'agent = yes' 'halt = { agent, acpi }'
guest_vm rp "$(guest_append cooperative "" acpid_delay=8)" 'acpi_repeat = 2'
guest_vm fl "$(guest_append cooperative "" agent=flood)" 'agent = yes' \
    'halt = { agent, acpi }'

check "config valid" vmctl check-config
out=$(vmctl show ag --argv)
check_match "argv: the agent's chardev socket" "$out" "^socket,id=qga0,path=$TMP/run/ag.qga,server=on,wait=off\$"
check_match "argv: the virtio-serial port qemu-ga looks for" "$out" \
    'virtserialport,bus=vser0.0,chardev=qga0,name=org.qemu.guest_agent.0'
check_match "show: the ladder" "$(vmctl show ag)" '^halt: agent acpi$'

ts() { local l; while IFS= read -r l; do printf '%s %s\n' "$EPOCHREALTIME" "$l"; done; }
"$VMS_BIN/vmserviced" -v -c "$TMP/vms.conf" 2> >(ts >>"$TMP/daemon.log") &
DPID=$!
for ((i = 0; i < 100; i++)); do [ -S "$(SOCK)" ] && break; sleep 0.1; done
check "daemon up" test -S "$(SOCK)"
logline_ts() { grep -E "$1" "$TMP/daemon.log" | head -n 1 | cut -d' ' -f1; }
# wait_log PATTERN SECONDS: until the daemon logged a line matching it.
wait_log() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		grep -qE "$1" "$TMP/daemon.log" && return 0
		sleep 0.1
	done
	return 1
}
# wait_field NAME FIELD VALUE SECONDS: poll status until NAME's FIELD is VALUE.
wait_field() {
	local i
	for ((i = 0; i < $4 * 10; i++)); do
		[ "$(field "$1" "$2")" = "$3" ] && return 0
		sleep 0.1
	done
	return 1
}

# --- the agent answers -------------------------------------------------
vmctl start ag >/dev/null; rc=$?
check_eq "vmctl start ag (ready = agent) returns 0" "$rc" 0
check_eq "... once the guest's agent answers" "$(field ag agent)" answering
check_eq "ag running" "$(field ag state)" running
check_match "it was booting until then" "$(cat "$TMP/daemon.log")" 'ag: starting -> booting'
check_match "... and ready through the agent" "$(cat "$TMP/daemon.log")" 'ag: ready: the guest agent answered'
check "the agent answers" wait_field ag agent answering 60
# Its addresses are asked right after its first answer.
for ((i = 0; i < 100; i++)); do
	vmctl status ag --json | grep -q '"guest_ips":\[' && break
	sleep 0.1
done
check_match "status --json: the guest's address" "$(vmctl status ag --json)" '"guest_ips":\["10\.0\.2\.15"[],]'
check_match "status --json: the guest's OS" "$(vmctl status ag --json)" '"guest_os":"[^"]+"'
check_match "status table: GUEST-IP column" "$(vmctl status ag)" '^ag .* 10\.0\.2\.15 '
check_eq "the socket is the daemon's (0600)" "$(stat -c %a "$TMP/run/ag.qga")" 600
out=$("$VMS_BIN/vmctl" -s "$(SOCK)" agent ag '{"execute":"guest-ping"}' 2>&1); rc=$?
check_eq "vmctl agent guest-ping: exit 0" "$rc" 0
check_eq "... returns {}" "$out" '{}'
out=$("$VMS_BIN/vmctl" -s "$(SOCK)" agent ag '{"execute":"guest-info"}' 2>&1)
check_match "vmctl agent guest-info: the agent's version" "$out" '"version":"[0-9.]+'
out=$("$VMS_BIN/vmctl" -s "$(SOCK)" agent ag '{"execute":"guest-nosuch"}' 2>&1); rc=$?
check_eq "an unknown agent command: exit 1" "$rc" 1
check_match "... with the agent's error" "$out" 'CommandNotFound'
out=$("$VMS_BIN/vmctl" -s "$(SOCK)" agent ag '{"execute":"guest-fsfreeze-status"}' 2>&1)
check_eq "fsfreeze through the agent (for snapshots): thawed" "$out" '"thawed"'
# Paused 5 s, the guest's clock stood still; after cont the daemon sets it.
gskew() {
	local g
	g=$("$VMS_BIN/vmctl" -s "$(SOCK)" agent ag '{"execute":"guest-get-time"}') || return 1
	awk -v g="$g" -v h="$EPOCHREALTIME" 'BEGIN { d = h - g / 1e9; printf "%.3f", d < 0 ? -d : d }'
}
diag "guest clock vs host before the pause: $(gskew) s"
"$VMS_BIN/vmctl" -s "$(SOCK)" qmp ag '{"execute":"stop"}' >/dev/null
sleep 5
"$VMS_BIN/vmctl" -s "$(SOCK)" qmp ag '{"execute":"cont"}' >/dev/null
check "guest-set-time sent after the pause" wait_log 'ag: guest agent: guest-set-time after the pause' 5
sleep 0.5
skew=$(gskew)
diag "guest clock vs host after the pause: $skew s"
check "the guest's clock is right again ($skew s off)" lt "$skew" 1.5
t0=$EPOCHREALTIME
vmctl stop ag >/dev/null
t1=$EPOCHREALTIME
check_eq "ag stopped" "$(field ag state)" stopped
check_eq "stop reason host-powerdown" "$(field ag stop_reason)" host-powerdown
check_eq "stop detail: through the agent" "$(field ag stop_detail)" "halt: agent sent"
check_eq "the guest shut down cleanly" "$(guest_disk_clean "$TMP/ag.img")" 1
check_match "the guest's shutdown came from the agent" "$(cat "$TMP/log/ag.console.log")" 'shutdown by agent'
diag "stop through the agent: $(sub "$t1" "$t0") s"
check "... in seconds ($(sub "$t1" "$t0") s, halt_timeout 60)" lt "$(sub "$t1" "$t0")" 15

# --- agent configured, none in the guest: ACPI at once ------------------
vmctl start na >/dev/null
check "na running" wait_state na running 20
guest_wait_ready "$TMP/log/na.console.log" 60 >/dev/null
check_eq "no agent answers" "$(field na agent)" silent
out=$("$VMS_BIN/vmctl" -s "$(SOCK)" agent na '{"execute":"guest-ping"}' 2>&1); rc=$?
check_eq "vmctl agent without an agent: exit 1" "$rc" 1
check_match "... saying so" "$out" 'does not answer'
t0=$EPOCHREALTIME
vmctl stop na >/dev/null
t1=$EPOCHREALTIME
t_skip=$(logline_ts 'na: halt step agent skipped')
check "the agent step was skipped" test -n "$t_skip"
check "... within 2 s of the stop ($(sub "$t_skip" "$t0") s)" lt "$(sub "$t_skip" "$t0")" 2
check_eq "na stopped, host-powerdown" "$(field na stop_reason)" host-powerdown
check_match "stop detail names both steps" "$(field na stop_detail)" '^halt: agent skipped .*; acpi pressed'
check_eq "the guest shut down cleanly" "$(guest_disk_clean "$TMP/na.img")" 1
check "the whole stop well under halt_timeout ($(sub "$t1" "$t0") s)" lt "$(sub "$t1" "$t0")" 15

# --- the power button pressed while the guest boots ---------------------
vmctl start rp >/dev/null
check "rp running (QMP ready, guest still booting)" wait_state rp running 20
t0=$EPOCHREALTIME
vmctl stop rp >/dev/null
t1=$EPOCHREALTIME
check_eq "rp stopped, host-powerdown" "$(field rp stop_reason)" host-powerdown
check_match "the guest's acpid came up late" "$(cat "$TMP/log/rp.console.log")" 'acpid up'
detail=$(field rp stop_detail)
n=$(echo "$detail" | sed -n 's/.*acpi pressed \([0-9]*\) times.*/\1/p')
check "pressed more than once ($detail)" test "${n:-0}" -ge 2
check_eq "the guest shut down cleanly" "$(guest_disk_clean "$TMP/rp.img")" 1
diag "boot-time press: stopped after $(sub "$t1" "$t0") s, $n presses"
check "well before halt_timeout 60 ($(sub "$t1" "$t0") s)" lt "$(sub "$t1" "$t0")" 40

# --- a guest flooding the agent channel ---------------------------------
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$DPID/status"; }
# status_median: of 9 `vmctl status` round trips, seconds; "failed" if one
# of them did not answer.
status_median() {
	local lat=() a i
	for i in 1 2 3 4 5 6 7 8 9; do
		a=$EPOCHREALTIME
		timeout 5 "$VMS_BIN/vmctl" -s "$(SOCK)" status >/dev/null || { echo failed; return; }
		lat+=("$(sub "$EPOCHREALTIME" "$a")")
	done
	printf '%s\n' "${lat[@]}" | sort -n | sed -n 5p
}
rss0=$(rss)
base=$(status_median)
vmctl start fl >/dev/null
check "fl running" wait_state fl running 20
guest_wait_line "$TMP/log/fl.console.log" 'agent=flood' 60 >/dev/null
sleep 3
med=$(status_median)
# The flood must not block the loop: every status round trip answers. How
# fast (issue 14: under 50 ms, or 1.5 times the time before the flood) is a
# speed target, measured by bench/latency from this line, not checked here.
diag "bench: agent-flood status_s rest=$base flood=$med"
check "status answers 9 times during the flood (median $med s)" test "$med" != failed
# CPU ticks (utime + stime) of the daemon over 3 s of flood.
ticks() { awk '{ print $14 + $15 }' "/proc/$DPID/stat"; }
c0=$(ticks); sleep 3; c1=$(ticks)
hz=$(getconf CLK_TCK)
diag "daemon CPU during 3 s of flood: $((c1 - c0)) ticks of 1/$hz s"
check "the flood costs the daemon under 2% of a core ($((c1 - c0)) ticks in 3 s)" \
    test $((c1 - c0)) -lt $((hz * 3 / 50))
rss1=$(rss)
diag "daemon RSS: $rss0 kB before, $rss1 kB during the flood"
check "daemon RSS bounded (grew $((rss1 - rss0)) kB)" test $((rss1 - rss0)) -lt 8192
check_eq "the flood is no agent" "$(field fl agent)" silent
vmctl stop fl >/dev/null
check_eq "fl stopped" "$(field fl state)" stopped
check_eq "... by the power button" "$(field fl stop_reason)" host-powerdown

stop_daemon
done_testing
