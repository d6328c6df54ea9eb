#!/bin/bash
# The memory balloon (issue 16: vmctl balloon, balloon_target, status), on the
# real test guest under TCG (its init loads virtio_balloon for the device):
# - balloon_target = 192M of memory = 256M is applied at start: the guest's
#   MemTotal (/proc/meminfo over the serial console) is 64M below what it is
#   with the balloon empty;
# - vmctl balloon 128M: MemTotal drops another 64M; 256M: it grows back;
#   status (table and --json) shows the actual size and the target;
# - refused, naming the VM: a VM without a balloon, a stopped VM, a size
#   above the VM's memory, a size that is no size.
source "$VMS_TOP/tests/lib/tap.sh"
source "$VMS_TOP/tests/lib/guest.sh"
source "$VMS_TOP/tests/daemon/lib.sh"
need_daemon
scratch_daemon
need_guest

P1=$((24000 + RANDOM % 10000))
conf_head 5 2
cat >>"$TMP/vms.conf" <<EOF
vm bl {
	machine = "pc"
	memory = 256M
	balloon = yes
	balloon_target = 192M
	kernel = "$GUEST_KERNEL"
	initrd = "$GUEST_INITRD"
	append = "$(guest_append cooperative)"
	extra_args = "-no-reboot"
	serial = $P1
	halt = quit
}
EOF
conf_vm nb
conf_vm off "balloon = yes" "autostart = no"
check "config valid" vmctl check-config
start_daemon
check "bl running" wait_state bl running 20
guest_wait_ready "$TMP/log/bl.console.log" 60 >/dev/null

# bal KEY: balloon.KEY of bl from status --json (bytes).
bal() { vmctl status bl --json | sed -n "s/.*\"balloon\":{[^}]*\"$1\":\([0-9]*\).*/\1/p"; }
# wait_actual BYTES: the guest's driver got there (BALLOON_CHANGE events).
wait_actual() {
	local i
	for ((i = 0; i < 150; i++)); do [ "$(bal actual)" = "$1" ] && return 0; sleep 0.1; done
	return 1
}
# memtotal: the guest's MemTotal in kB, read on its console.
memtotal() {
	# A fresh tag each time: the console's scrollback replays earlier answers.
	local tag=m$RANDOM$RANDOM
	guest_console "TCP:127.0.0.1:$P1" "echo $tag-\$(sed -n 's/^MemTotal: *\\([0-9]*\\) kB/\\1/p' /proc/meminfo)" \
	    "^$tag-[0-9]" 10 | sed -n "s/^$tag-\([0-9][0-9]*\)\$/\1/p" | tail -n 1
}
# near A B: |A - B| < 2048 kB (the kernel's own accounting moves a little).
near() { awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d < 2048) }'; }
M=$((1 << 20))

check_match "vmctl show: balloon_target" "$(vmctl show bl)" '^balloon_target: 201326592 \(192M\)$'
check "balloon_target applied at start: the guest has 192M" wait_actual $((192 * M))
check_eq "status: target 192M" "$(bal target)" $((192 * M))
m192=$(memtotal)
diag "MemTotal at balloon_target 192M: $m192 kB"
out=$("$VMS_BIN/vmctl" -s "$(SOCK)" balloon bl 128M 2>&1); rc=$?
check_eq "vmctl balloon bl 128M: exit 0" "$rc $out" "0 "
check "the guest gave 64M back" wait_actual $((128 * M))
check_eq "status: target 128M" "$(bal target)" $((128 * M))
m128=$(memtotal)
diag "MemTotal at 128M: $m128 kB"
check "the guest's MemTotal shrank by 64M" near "$((m192 - m128))" 65536
check_match "status table: actual and target" "$(vmctl status bl)" '^bl: balloon: actual 128M, target 128M$'
"$VMS_BIN/vmctl" -s "$(SOCK)" balloon bl 256 >/dev/null 2>&1; rc=$?
check_eq "vmctl balloon bl 256 (MiB, as memory = 256): exit 0" "$rc" 0
check "the balloon is empty again" wait_actual $((256 * M))
m256=$(memtotal)
diag "MemTotal at 256M: $m256 kB"
check "the guest's MemTotal grew back by 128M" near "$((m256 - m128))" 131072
check "balloon_target had kept 64M from the guest at start" near "$((m256 - m192))" 65536

out=$("$VMS_BIN/vmctl" -s "$(SOCK)" balloon bl 512M 2>&1); rc=$?
check_eq "above the VM's memory: exit 1" "$rc" 1
check_match "... naming the VM and its memory" "$out" 'vm bl: balloon size 512M is above its memory \(256M\)'
out=$("$VMS_BIN/vmctl" -s "$(SOCK)" balloon nb 8M 2>&1); rc=$?
check_eq "no balloon device: exit 1" "$rc" 1
check_match "... naming the VM" "$out" 'vm nb has no balloon device \(balloon = yes'
out=$("$VMS_BIN/vmctl" -s "$(SOCK)" balloon off 16M 2>&1); rc=$?
check_eq "a stopped VM: exit 1" "$rc" 1
check_match "... naming the VM and its state" "$out" 'vm off is stopped: only a running VM'
out=$("$VMS_BIN/vmctl" -s "$(SOCK)" balloon bl lots 2>&1); rc=$?
check_eq "not a size: exit 1" "$rc" 1
check_match "... saying what a size is" "$out" '"size" must be a size such as 512M'
"$VMS_BIN/vmctl" -s "$(SOCK)" balloon bl >/dev/null 2>&1; rc=$?
check_eq "no size: usage (2)" "$rc" 2
check_eq "a stopped VM shows no balloon" "$(vmctl status off --json | grep -c '"balloon":{')" 0

vmctl stop all >/dev/null
stop_daemon
done_testing
