#!/bin/bash
# Save on service stop, restore at the next start (issue 15), with the real
# guest under TCG:
# - on_host_shutdown = save: stopping the daemon (SIGTERM, as the init
#   script does) pauses s1 and streams its state to state_dir/s1.vmstate;
#   s2 (poweroff) is powered off; the next daemon restores s1: the guest's
#   uptime continues and its disk record shows no new boot; the state file
#   is removed once it runs;
# - vmctl save NAME, status "saved", vmctl start restores;
# - a restore refused: hardware changed, a disk written, a truncated state
#   file: it boots cold, stop reason restore-failed naming the cause, the
#   state file kept aside;
# - a VM with a snapshot = yes disk: check-config warns, and a save powers
#   it off instead (the detail says why).
source "$VMS_TOP/tests/lib/tap.sh"
source "$VMS_TOP/tests/lib/guest.sh"
source "$VMS_TOP/tests/daemon/lib.sh"
need_daemon
scratch_daemon
need_guest

P1=$((24000 + RANDOM % 10000))

conf_head 20 3
guest_vm() {
	local name=$1; shift
	guest_disk_new "$TMP/$name.img"
	{
		echo "vm $name {"
		echo "	machine = \"pc\""
		echo "	memory = ${MEM:-128M}"
		echo "	kernel = \"$GUEST_KERNEL\""
		echo "	initrd = \"$GUEST_INITRD\""
		echo "	append = \"$(guest_append cooperative "" ${AGENT:+agent=on})\""
		echo "	extra_args = \"-no-reboot\""
		echo "	disk { file = \"$TMP/$name.img\"  format = raw }"
		local l; for l in "$@"; do echo "	$l"; done
		echo "}"
	} >>"$TMP/vms.conf"
}
AGENT=1 guest_vm s1 'on_host_shutdown = save' "serial = $P1" 'agent = yes'
guest_vm s2
guest_vm sn 'on_host_shutdown = save' 'autostart = no'
sed -i '/^vm sn {/,/^}/s/format = raw }/format = raw  snapshot = yes }/' "$TMP/vms.conf"
out=$(vmctl check-config 2>&1); rc=$?
check_eq "config valid (warnings only)" "$rc" 0
check_match "check-config warns: a snapshot disk is not saved" "$out" \
    'warning: vm sn: on_host_shutdown = save: disk 0 has snapshot = yes.*\[not-saved\]'
check_match "show: on_host_shutdown" "$(vmctl show s1)" '^on_host_shutdown: save$'

ts() { local l; while IFS= read -r l; do printf '%s %s\n' "$EPOCHREALTIME" "$l"; done; }
daemon() {
	"$VMS_BIN/vmserviced" -v -c "$TMP/vms.conf" 2> >(ts >>"$TMP/daemon.log") &
	DPID=$!
	for ((i = 0; i < 100; i++)); do [ -S "$(SOCK)" ] && break; sleep 0.1; done
}
# uptime NAME: the guest's /proc/uptime, seconds, read over its serial console.
guptime() {
	guest_console "TCP:127.0.0.1:$P1" 'echo up-$(cut -d" " -f1 /proc/uptime)' '^up-[0-9]' 10 |
	    sed -n 's/^up-\([0-9.]*\).*/\1/p' | tail -n 1
}

daemon
check "s1 running" wait_state s1 running 20
check "s2 running" wait_state s2 running 20
guest_wait_ready "$TMP/log/s1.console.log" 60 >/dev/null
guest_wait_ready "$TMP/log/s2.console.log" 60 >/dev/null
sleep 2
u1=$(guptime)
check "the guest's uptime read ($u1 s)" test -n "$u1"

# --- service stop: s1 saved, s2 powered off ---------------------------
t0=$EPOCHREALTIME
kill -TERM "$DPID"
for ((i = 0; i < 600; i++)); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.1; done
t1=$EPOCHREALTIME
check "the daemon exited" gone "$DPID"
diag "service stop with one save and one poweroff: $(sub "$t1" "$t0") s"
check "s1's state file" test -s "$TMP/state/s1.vmstate"
check "... and its binding" test -s "$TMP/state/s1.vmstate.json"
check_match "s1 stopped as saved" "$(cat "$TMP/state/s1.json")" '"stop_reason": *"saved"'
check_match "s2 powered off" "$(cat "$TMP/state/s2.json")" '"stop_reason": *"host-powerdown"'
check_eq "s1's guest did not shut down (disk record not clean)" "$(guest_disk_clean "$TMP/s1.img")" 0
sleep 5		# the "host reboot": the guest's clock stands still
diag "state file: $(stat -c %s "$TMP/state/s1.vmstate") bytes"

# --- the next start restores ------------------------------------------
t0=$EPOCHREALTIME
daemon
check "s1 running again" wait_state s1 running 30
t1=$EPOCHREALTIME
diag "daemon start to s1 restored: $(sub "$t1" "$t0") s"
check_match "restored, not booted" "$(cat "$TMP/daemon.log")" 's1: restoring -> running \(restored from its saved state\)'
u2=$(guptime)
diag "guest uptime before the save $u1 s, after the restore $u2 s"
check "the guest's uptime continues ($u1 -> $u2)" lt "$u1" "$u2"
check "... no reboot: not a fresh boot's few seconds" lt "$(sub "$u2" "$u1")" 30
check_eq "its disk record: still one boot" "$(guest_disk_boots "$TMP/s1.img")" 1
check "the state file is gone once it runs" test ! -e "$TMP/state/s1.vmstate"
# Its agent answers again; the daemon then sets the guest's clock.
for ((i = 0; i < 100; i++)); do
	grep -q 's1: guest agent: guest-set-time after the pause' "$TMP/daemon.log" && break
	sleep 0.1
done
g=$("$VMS_BIN/vmctl" -s "$(SOCK)" agent s1 '{"execute":"guest-get-time"}')
skew=$(awk -v g="$g" -v h="$EPOCHREALTIME" 'BEGIN { d = h - g / 1e9; printf "%.3f", d < 0 ? -d : d }')
diag "guest clock after the restore: $skew s off"
check "the guest's clock is set after the restore ($skew s off, 5 s frozen)" lt "$skew" 1.5

# --- vmctl save / start -------------------------------------------------
vmctl save s2 --no-wait >/dev/null
seen=
for ((i = 0; i < 200; i++)); do
	j=$(vmctl status s2 --json)
	case $j in *'"state":"saving"'*) seen=$j; break ;; esac
	sleep 0.02
done
check_match "while saving, status has its progress" "$seen" '"progress":[0-9]+'
vmctl save s2 >/dev/null; rc=$?
check_eq "vmctl save s2: exit 0" "$rc" 0
check_eq "status: saved" "$(field s2 state)" saved
check_eq "stop reason saved" "$(field s2 stop_reason)" saved
out=$(vmctl snapshot s2 create x 2>&1); rc=$?
check_eq "a disk snapshot of a saved VM: refused (1)" "$rc" 1
check_match "... saying its restore would refuse it" "$out" 'vm s2 has a saved state: changing its disks now would make its restore refuse it'
vmctl start s2 >/dev/null
check_eq "vmctl start s2 restores it" "$(field s2 state)" running
check_match "... from its state" "$(cat "$TMP/daemon.log")" 's2: restoring -> running'

# --- refused restores: cold boot, file kept aside -------------------------
refused() {	# NAME WHAT PATTERN
	vmctl start "$1" >/dev/null
	check_eq "$2: $1 runs" "$(field "$1" state)" running
	check_eq "$2: stop reason restore-failed" "$(field "$1" stop_reason)" restore-failed
	check_match "$2: the detail names the cause" "$(field "$1" stop_detail)" "$3"
	check "$2: the state file kept aside" test -n "$(compgen -G "$TMP/state/$1.vmstate.rejected-*")"
	check "$2: none left to restore" test ! -e "$TMP/state/$1.vmstate"
	check_match "$2: booted cold" "$(grep "$1: " "$TMP/daemon.log" | tail -n 5)" "$1: starting -> running"
	rm -f "$TMP/state/$1".vmstate.rejected-*
}
vmctl save s2 >/dev/null
touch "$TMP/s2.img"
refused s2 "disk written" 'disk .*s2.img was written'
vmctl save s2 >/dev/null
truncate -s 4096 "$TMP/state/s2.vmstate"
refused s2 "truncated state" 'restore-failed: QEMU'
vmctl save s2 >/dev/null
sed -i '/^vm s2 {/,/^}/s/memory = 128M/memory = 160M/' "$TMP/vms.conf"
vmctl reload >/dev/null
refused s2 "hardware changed" 'hardware configuration changed'

# --- a VM that cannot be saved is powered off -----------------------------
vmctl start sn >/dev/null
guest_wait_ready "$TMP/log/sn.console.log" 60 >/dev/null
vmctl save sn >/dev/null
check_eq "sn (snapshot disk) not saved: stopped" "$(field sn state)" stopped
check_eq "... powered off" "$(field sn stop_reason)" host-powerdown
check_match "... the detail says why" "$(field sn stop_detail)" 'save failed: disk 0 has snapshot = yes'
check "no state file for sn" test ! -e "$TMP/state/sn.vmstate"

vmctl stop all >/dev/null
stop_daemon
done_testing
