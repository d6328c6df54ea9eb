#!/bin/bash
# End-to-end test of the test guest with real QEMU (TCG): readiness line, console
# shell, ACPI power button handled (cooperative) or ignored (stubborn), boot counter
# and clean-shutdown marker on the raw disk, a disk-less boot; the real qemu-ga on a
# virtio-serial port (sync, ping, osinfo, IP, set-time, guest-shutdown), a guest that
# floods that port, an acpid that starts late. About 45 s.
source "$(dirname "$0")/../lib/tap.sh"
source "$VMS_TOP/tests/lib/guest.sh"
scratch

QEMU_PID=
cleanup() {
	[ -n "$QEMU_PID" ] && kill -9 "$QEMU_PID" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

for tool in qemu-system-x86_64 socat cpio; do
	if ! command -v $tool >/dev/null; then
		skip "test guest" "$tool not installed (make deps)"
		done_testing; exit
	fi
done

t0=$(now)
if ! guest_build >"$TMP/build.log" 2>&1; then
	notok "guest builds"; sed 's/^/# /' "$TMP/build.log"; done_testing; exit
fi
ok "guest builds ($GUEST_KERNEL_PACKAGE, $(basename "$GUEST_KERNEL"))"
t1=$(now)
before=$(stat -c '%n %i %Y' "$GUEST_INITRD" "$GUEST_KERNEL")
again=$(timeout 5 sh "$VMS_TOP/tests/guest/build.sh")
t2=$(now)
check_eq "cached rebuild is a no-op" \
	"$again | $(stat -c '%n %i %Y' "$GUEST_INITRD" "$GUEST_KERNEL")" \
	"$(printf '%s\n' "GUEST_KERNEL=$GUEST_KERNEL" "GUEST_VMLINUZ=$GUEST_VMLINUZ" \
		"GUEST_INITRD=$GUEST_INITRD" "GUEST_KERNEL_PACKAGE=$GUEST_KERNEL_PACKAGE" \
		"GUEST_AGENT_VERSION=$GUEST_AGENT_VERSION") | $before"
diag "build: $(elapsed "$t0" "$t1") s, cached rebuild: $(elapsed "$t1" "$t2") s, initramfs $(stat -c %s "$GUEST_INITRD") bytes (qemu-guest-agent $GUEST_AGENT_VERSION)"
# a forced rebuild takes the path an edit of init takes (repack, republish links)
forced=$(sh "$VMS_TOP/tests/guest/build.sh" --force 2>"$TMP/force.log")
check_eq "forced rebuild succeeds with the same outputs" "$?:$forced" "0:$again"
diag "forced rebuild: $(elapsed "$t2" "$(now)") s"

# guest_start NAME FLAVOUR [DISK [IP [OPTION...]]]: QEMU in the background; sets
# QEMU_PID, LOG (serial log), SER (serial unix socket), QMP (QMP socket), QGA (the
# agent's socket, when AGENT=1: adds its virtio-serial port), T_START. With IP, adds
# NET_ARGS (a virtio-net device).
NET_ARGS=()
AGENT=0
guest_start() {
	local args net=() qga=()
	mapfile -t args < <(guest_qemu_args "$2" "${3:-}" "${4:-}" "${@:5}")
	QGA=$TMP/$1.qga.sock
	[ "$AGENT" = 1 ] && mapfile -t qga < <(guest_agent_args "$QGA")
	[ -n "${4:-}" ] && net=("${NET_ARGS[@]}")
	LOG=$TMP/$1.serial.log SER=$TMP/$1.serial.sock QMP=$TMP/$1.qmp.sock
	T_START=$(now)
	qemu-system-x86_64 -machine pc -m 256 -nodefaults -no-reboot -display none \
		-chardev "socket,id=ser0,path=$SER,server=on,wait=off,logfile=$LOG" \
		-serial chardev:ser0 -qmp "unix:$QMP,server=on,wait=off" \
		"${args[@]}" "${net[@]}" "${qga[@]}" 2>"$TMP/$1.stderr" &
	QEMU_PID=$!
}
# guest_end: waits for QEMU to have exited; sets QEMU_RC.
guest_end() { wait "$QEMU_PID"; QEMU_RC=$?; QEMU_PID=; }
show_log() {
	diag "serial log:"; tr -d '\r' <"$LOG" | tail -n 15 | sed 's/^/#   /'
	diag "QEMU stderr:"; sed 's/^/#   /' "${LOG%.serial.log}.stderr"
}
# expect_ready DESC WANT [LABEL]: the guest's ready line is WANT; with LABEL, reports
# the time from QEMU's start.
expect_ready() {
	local line
	if line=$(guest_wait_ready "$LOG" 60 "$QEMU_PID"); then
		[ -n "${3:-}" ] && diag "$3 boot to ready: $(elapsed "$T_START" "$(now)") s"
		check_eq "$1" "$line" "$2"
	else
		notok "$1"; show_log
	fi
}
# expect_exit DESC: QEMU exits by itself within 10 s (sets QEMU_RC); else it is
# shown, quit, and the status is 1.
expect_exit() {
	if guest_wait_exit "$QEMU_PID" 10; then
		ok "$1"; guest_end; return 0
	fi
	notok "$1"; show_log
	guest_qmp "$QMP" quit >/dev/null; guest_wait_exit "$QEMU_PID" 5; guest_end
	return 1
}

# --- 1: cooperative guest, fresh disk -------------------------------------------
disk=$TMP/disk.img
guest_disk_new "$disk"
check_eq "new disk has an empty record" "$(guest_disk_record "$disk")" "0 0"

guest_start coop1 cooperative "$disk"
expect_ready "cooperative guest is ready on its serial console" \
	"vmservice-guest: ready boot=1 flavour=cooperative disk=vda pvpanic=no" "cooperative"
check_eq "running guest has marked its disk unclean (boots clean)" "$(guest_disk_record "$disk")" "1 0"

# --- 4: the console shell answers -------------------------------------------------
t_con=$(now)
if out=$(guest_console "UNIX-CONNECT:$SER" 'echo hello-$((6*7))' '^hello-42' 10); then
	ok "shell on the serial console answers (socat, unix socket)"
	diag "console round trip: $(elapsed "$t_con" "$(now)") s"
else
	notok "shell on the serial console answers (socat, unix socket)"
	printf '%s\n' "$out" | sed 's/^/#   /'
fi
check_match "the console shell has job control" \
	"$(guest_console "UNIX-CONNECT:$SER" 'set -o | grep -q "monitor.*on" && echo jobs-$((1+1))' '^jobs-2' 5)" \
	'^jobs-2'

t_off=$(now)
qmp_out=$(guest_qmp "$QMP" system_powerdown)
check_match "QMP system_powerdown is answered" "$qmp_out" '"event": *"POWERDOWN"'
if expect_exit "cooperative guest powers off on the ACPI power button"; then
	diag "power button to QEMU exit: $(elapsed "$t_off" "$(now)") s"
	check_eq "QEMU exit status after guest poweroff" "$QEMU_RC" 0
fi
check "serial log shows the handler ran" grep -q 'vmservice-guest: powerbutton, clean shutdown' "$LOG"
check_eq "disk after ACPI shutdown: boots=1 clean=1" \
	"$(guest_disk_boots "$disk") $(guest_disk_clean "$disk")" "1 1"

# --- 2+3: second boot of the same disk (now as qcow2), stubborn, with eth0 ---------
qcow=$TMP/disk.qcow2
qemu-img convert -q -f raw -O qcow2 "$disk" "$qcow"
check_eq "the record reads the same from a qcow2 copy" "$(guest_disk_record "$qcow")" "1 1"
disk=$qcow
mapfile -t args < <(guest_qemu_args stubborn "$disk" 10.0.0.2/24)
check_match "guest_qemu_args adds vmsguest.ip" "${args[*]}" 'vmsguest=stubborn vmsguest\.ip=10\.0\.0\.2/24'
NET_ARGS=(-netdev user,id=n0,restrict=on -device virtio-net-pci,netdev=n0)
# with the agent's port but without vmsguest.agent: a VM configured for an agent that
# does not run (nothing answers; the ready line has no agent=)
AGENT=1
guest_start stub stubborn "$disk" 10.0.0.2/24
AGENT=0
expect_ready "second boot counts boot=2 (stubborn)" \
	"vmservice-guest: ready boot=2 flavour=stubborn disk=vda pvpanic=no" "stubborn"
t_off=$(now)
qmp_out=$(guest_qmp "$QMP" system_powerdown)
check_match "QMP system_powerdown is answered (stubborn)" "$qmp_out" '"event": *"POWERDOWN"'
# use the 5 s the stubborn guest has to survive
check_match "vmsguest.ip configures eth0 (virtio-net)" \
	"$(guest_console "UNIX-CONNECT:$SER" 'ip -o -4 addr show dev eth0 | sed "s/^/addr-/"' '^addr-' 4)" \
	'^addr-.*eth0 +inet 10\.0\.0\.2/24'
check_match "the port's /dev/virtio-ports link exists without vmsguest.agent" \
	"$(guest_console "UNIX-CONNECT:$SER" 'ls /dev/virtio-ports/ | sed "s/^/port-/"' '^port-' 4)" \
	'^port-org\.qemu\.guest_agent\.0'
t_qga=$(now)
out=$(guest_qga "$QGA" '{"execute":"guest-ping"}' 1 2>&1)
check_eq "no qemu-ga: guest_qga gets no answer" "$?:$out" \
	"1:guest_qga: no answer to guest-sync-delimited (within 1 s, or $QGA closed)"
diag "guest_qga giving up on a silent port: $(elapsed "$t_qga" "$(now)") s"
left=$(awk -v a="$t_off" -v b="$(now)" 'BEGIN { d = 5 - (b - a); printf "%.1f", (d > 0 ? d : 0) }')
if guest_wait_exit "$QEMU_PID" "$left"; then
	notok "stubborn guest ignores the power button"; show_log; guest_end
else
	ok "stubborn guest ignores the power button (running $(elapsed "$t_off" "$(now)") s later)"
	qmp_out=$(guest_qmp "$QMP" query-status)
	check_match "QMP says the stubborn guest is running" "$qmp_out" '"status": *"running"'
	guest_qmp "$QMP" quit >/dev/null
	check "QMP quit ends the stubborn guest" guest_wait_exit "$QEMU_PID" 10
	guest_end
fi
check_eq "disk after an unhandled stop: boots=2 clean=0" \
	"$(guest_disk_boots "$disk") $(guest_disk_clean "$disk")" "2 0"

# --- disk-less cooperative guest, bzImage kernel, button pressed at once --------------
# this boot uses the packaged bzImage, the others the PVH vmlinux (when made)
saved_kernel=$GUEST_KERNEL
GUEST_KERNEL=$GUEST_VMLINUZ
guest_start nodisk cooperative
GUEST_KERNEL=$saved_kernel
expect_ready "disk-less guest is ready" \
	"vmservice-guest: ready boot=0 flavour=cooperative disk=none pvpanic=no" "bzImage (vmlinuz)"
# "ready" promises the button is handled from then on
guest_qmp "$QMP" system_powerdown >/dev/null
expect_exit "power button right after the ready line powers the guest off"

# --- the real guest agent: stubborn (ACPI ignored), so only the agent can stop it cleanly
disk=$TMP/agent.img
guest_disk_new "$disk"
AGENT=1
NET_ARGS=(-netdev user,id=n0,restrict=on -device virtio-net-pci,netdev=n0)
guest_start agent stubborn "$disk" 10.0.0.7/24 agent=on
AGENT=0
expect_ready "agent guest is ready with qemu-ga running" \
	"vmservice-guest: ready boot=1 flavour=stubborn disk=vda pvpanic=no agent=yes" \
	"agent guest (qemu-ga holding its port)"
# the protocol by hand: 0xFF resets the agent's parser, the sync reply is 0xFF-delimited
: >"$TMP/sync.out"
{
	printf '\377{"execute":"guest-sync-delimited","arguments":{"id":1234}}\n'
	for _ in $(seq 100); do grep -q '"return": 1234' "$TMP/sync.out" && break; sleep 0.1; done
} | timeout 15 socat -t 0.5 - "UNIX-CONNECT:$QGA" >"$TMP/sync.out" 2>&1
check "guest-sync-delimited answers 0xFF then {\"return\": 1234}" \
	env LC_ALL=C grep -qaF $'\377{"return": 1234}' "$TMP/sync.out"
[ -s "$TMP/sync.out" ] && diag "raw: $(LC_ALL=C tr '\377\n' '#|' <"$TMP/sync.out")"
t_qga=$(now)
out=$(guest_qga "$QGA" '{"execute":"guest-ping"}' 10)
check_eq "guest_qga: guest-ping answers" "$?:$out" '0:{"return": {}}'
diag "guest_qga round trip (connect, sync, guest-ping): $(elapsed "$t_qga" "$(now)") s"
out=$(guest_qga "$QGA" '{"execute":"guest-get-osinfo"}' 10)
check_match "guest-get-osinfo names the guest's os-release" "$out" \
	'"id": "vmservice-test"'
check_match "guest-get-osinfo: pretty-name with the kernel release" "$out" \
	'"pretty-name": "vmservice test guest \(Debian kernel [0-9][^)]*\)"'
out=$(guest_qga "$QGA" '{"execute":"guest-network-get-interfaces"}' 10)
check_match "guest-network-get-interfaces lists eth0's 10.0.0.7/24" "$out" \
	'"name": "eth0", "ip-addresses": \[\{"ip-address-type": "ipv4", "ip-address": "10\.0\.0\.7", "prefix": 24\}'
out=$(guest_qga "$QGA" '{"execute":"guest-set-time"}' 10)
check_eq "guest-set-time (hwclock -s in the guest) succeeds" "$out" '{"return": {}}'
out=$(guest_qga "$QGA" '{"execute":"guest-no-such-command"}' 10)
check_match "an unknown command gets an error reply" "$out" '^\{"error": \{"class": "CommandNotFound"'
t_off=$(now)
guest_qga "$QGA" '{"execute":"guest-shutdown"}' 10 >"$TMP/shutdown.out" 2>&1
if expect_exit "guest-shutdown powers the guest off"; then
	diag "guest-shutdown to QEMU exit: $(elapsed "$t_off" "$(now)") s"
	check_eq "QEMU exit status after guest-shutdown" "$QEMU_RC" 0
else
	sed 's/^/#   /' "$TMP/shutdown.out"
fi
check "serial log shows /sbin/shutdown ran" grep -q '^vmservice-guest: shutdown by agent' "$LOG"
check_eq "disk after guest-shutdown: boots=1 clean=1" "$(guest_disk_record "$disk")" "1 1"

# --- a hostile guest: random bytes on the agent port ---------------------------------
AGENT=1
guest_start flood stubborn "" "" agent=flood
AGENT=0
expect_ready "flood guest is ready" \
	"vmservice-guest: ready boot=0 flavour=stubborn disk=none pvpanic=no agent=flood"
bytes=$(timeout 2 socat -u "UNIX-CONNECT:$QGA" - 2>/dev/null | wc -c)
if [ "$bytes" -ge 4096 ]; then
	ok "flood guest sends garbage on the agent socket ($bytes bytes in 2 s)"
else
	notok "flood guest sends garbage on the agent socket ($bytes bytes in 2 s)"
fi
guest_qmp "$QMP" quit >/dev/null
check "QMP quit ends the flood guest" guest_wait_exit "$QEMU_PID" 10
guest_end

# --- acpid starting late: a press before "acpid up" is lost, one after is handled ----
# (agent=on without the virtio-serial device: the ready line says so)
disk=$TMP/late.img
guest_disk_new "$disk"
guest_start late cooperative "$disk" "" agent=on acpid_delay=5
expect_ready "late-acpid guest is ready, agent port missing" \
	"vmservice-guest: ready boot=1 flavour=cooperative disk=vda pvpanic=no agent=noport"
guest_qmp "$QMP" system_powerdown >/dev/null
if grep -q 'vmservice-guest: acpid up' "$LOG"; then
	notok "power button pressed before acpid is up (it was up already: test too slow)"
else
	ok "power button pressed before acpid is up"
fi
if guest_wait_line "$LOG" '^vmservice-guest: acpid up' 30 "$QEMU_PID" >/dev/null; then
	ok "acpid comes up after vmsguest.acpid_delay"
	diag "QEMU start to acpid up: $(elapsed "$T_START" "$(now)") s (acpid_delay=5)"
else
	notok "acpid comes up after vmsguest.acpid_delay"; show_log
fi
sleep 1
if guest_alive "$QEMU_PID" && ! grep -q 'powerbutton' "$LOG"; then
	ok "the early press was lost (guest still running)"
else
	notok "the early press was lost (guest still running)"; show_log
fi
guest_qmp "$QMP" system_powerdown >/dev/null
expect_exit "a press after acpid up powers the guest off"
check_eq "disk after the late press: boots=1 clean=1" "$(guest_disk_record "$disk")" "1 1"

# --- helpers on a disk without a record --------------------------------------------
truncate -s 1M "$TMP/zero.img"
check "guest_disk_clean fails on a disk without a record" \
	bash -c "! (source '$VMS_TOP/tests/lib/guest.sh'; guest_disk_clean '$TMP/zero.img')"
check_eq "guest_append stubborn" "$(guest_append stubborn)" "console=ttyS0 panic=-1 vmsguest=stubborn"
check_eq "guest_append with options" "$(guest_append cooperative "" agent=on acpid_delay=2)" \
	"console=ttyS0 panic=-1 vmsguest=cooperative vmsguest.agent=on vmsguest.acpid_delay=2"
check "guest_append refuses an unknown option" bash -c \
	"! (source '$VMS_TOP/tests/lib/guest.sh'; guest_append stubborn '' agent=maybe 2>/dev/null)"

done_testing
