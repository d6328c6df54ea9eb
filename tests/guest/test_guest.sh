#!/bin/bash
# End-to-end test of the test guest with real QEMU (TCG): readiness line, console
# shell, ACPI power button handled (cooperative) or ignored (stubborn), boot counter
# and clean-shutdown marker on the raw disk, a disk-less boot. About 25 s.
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
		"GUEST_INITRD=$GUEST_INITRD" "GUEST_KERNEL_PACKAGE=$GUEST_KERNEL_PACKAGE") | $before"
diag "build: $(elapsed "$t0" "$t1") s, cached rebuild: $(elapsed "$t1" "$t2") s"
# a forced rebuild takes the path an edit of init takes (repack, republish links)
forced=$(sh "$VMS_TOP/tests/guest/build.sh" --force 2>"$TMP/force.log")
check_eq "forced rebuild succeeds with the same outputs" "$?:$forced" "0:$again"
diag "forced rebuild: $(elapsed "$t2" "$(now)") s"

# guest_start NAME FLAVOUR [DISK [IP]]: QEMU in the background; sets QEMU_PID, LOG
# (serial log), SER (serial unix socket), QMP (QMP socket), T_START. With IP, adds
# NET_ARGS (a virtio-net device).
NET_ARGS=()
guest_start() {
	local args net=()
	mapfile -t args < <(guest_qemu_args "$2" "${3:-}" "${4:-}")
	[ -n "${4:-}" ] && net=("${NET_ARGS[@]}")
	LOG=$TMP/$1.serial.log SER=$TMP/$1.serial.sock QMP=$TMP/$1.qmp.sock
	T_START=$(now)
	qemu-system-x86_64 -machine pc -m 256 -nodefaults -no-reboot -display none \
		-chardev "socket,id=ser0,path=$SER,server=on,wait=off,logfile=$LOG" \
		-serial chardev:ser0 -qmp "unix:$QMP,server=on,wait=off" \
		"${args[@]}" "${net[@]}" 2>"$TMP/$1.stderr" &
	QEMU_PID=$!
}
# guest_end: waits for QEMU to have exited; sets QEMU_RC.
guest_end() { wait "$QEMU_PID"; QEMU_RC=$?; QEMU_PID=; }
show_log() {
	diag "serial log:"; tr -d '\r' <"$LOG" | tail -n 15 | sed 's/^/#   /'
	diag "QEMU stderr:"; sed 's/^/#   /' "${LOG%.serial.log}.stderr"
}

# --- 1: cooperative guest, fresh disk -------------------------------------------
disk=$TMP/disk.img
guest_disk_new "$disk"
check_eq "new disk has an empty record" "$(guest_disk_record "$disk")" "0 0"

guest_start coop1 cooperative "$disk"
if line=$(guest_wait_ready "$LOG" 60 "$QEMU_PID"); then
	diag "cooperative boot to ready: $(elapsed "$T_START" "$(now)") s"
	check_eq "cooperative guest is ready on its serial console" "$line" \
		"vmservice-guest: ready boot=1 flavour=cooperative disk=vda pvpanic=no"
else
	notok "cooperative guest is ready on its serial console"; show_log
fi
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
if guest_wait_exit "$QEMU_PID" 10; then
	ok "cooperative guest powers off on the ACPI power button"
	diag "power button to QEMU exit: $(elapsed "$t_off" "$(now)") s"
	guest_end
	check_eq "QEMU exit status after guest poweroff" "$QEMU_RC" 0
else
	notok "cooperative guest powers off on the ACPI power button"; show_log
	guest_qmp "$QMP" quit >/dev/null; guest_wait_exit "$QEMU_PID" 5; guest_end
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
guest_start stub stubborn "$disk" 10.0.0.2/24
if line=$(guest_wait_ready "$LOG" 60 "$QEMU_PID"); then
	diag "stubborn boot to ready: $(elapsed "$T_START" "$(now)") s"
	check_eq "second boot counts boot=2 (stubborn)" "$line" \
		"vmservice-guest: ready boot=2 flavour=stubborn disk=vda pvpanic=no"
else
	notok "second boot counts boot=2 (stubborn)"; show_log
fi
t_off=$(now)
qmp_out=$(guest_qmp "$QMP" system_powerdown)
check_match "QMP system_powerdown is answered (stubborn)" "$qmp_out" '"event": *"POWERDOWN"'
# use the 5 s the stubborn guest has to survive
check_match "vmsguest.ip configures eth0 (virtio-net)" \
	"$(guest_console "UNIX-CONNECT:$SER" 'ip -o -4 addr show dev eth0 | sed "s/^/addr-/"' '^addr-' 4)" \
	'^addr-.*eth0 +inet 10\.0\.0\.2/24'
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
if line=$(guest_wait_ready "$LOG" 60 "$QEMU_PID"); then
	diag "bzImage (vmlinuz) boot to ready: $(elapsed "$T_START" "$(now)") s"
	check_eq "disk-less guest is ready" "$line" \
		"vmservice-guest: ready boot=0 flavour=cooperative disk=none pvpanic=no"
else
	notok "disk-less guest is ready"; show_log
fi
# "ready" promises the button is handled from then on
guest_qmp "$QMP" system_powerdown >/dev/null
if guest_wait_exit "$QEMU_PID" 10; then
	ok "power button right after the ready line powers the guest off"; guest_end
else
	notok "power button right after the ready line powers the guest off"; show_log
	guest_qmp "$QMP" quit >/dev/null; guest_wait_exit "$QEMU_PID" 5; guest_end
fi

# --- helpers on a disk without a record --------------------------------------------
truncate -s 1M "$TMP/zero.img"
check "guest_disk_clean fails on a disk without a record" \
	bash -c "! (source '$VMS_TOP/tests/lib/guest.sh'; guest_disk_clean '$TMP/zero.img')"
check_eq "guest_append stubborn" "$(guest_append stubborn)" "console=ttyS0 panic=-1 vmsguest=stubborn"

done_testing
