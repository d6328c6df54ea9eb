#!/bin/bash
# Internal snapshots of a running VM (issue 15: vmctl snapshot, loadvm),
# with the real guest under TCG on a qcow2 disk and its agent:
# - create t1 (file systems frozen through the agent, thawed after), then
#   the guest changes a file in RAM (/tmp) and a byte on its disk; revert
#   t1: both are as at the snapshot, and the guest runs on;
# - list shows it (as qemu-img snapshot -l does on the disk later), delete
#   removes it; a raw writable disk is refused with the reason;
# - a stopped VM (and one with no daemon): vmctl itself creates, lists,
#   reverts and deletes on the disk, interoperating with qemu-img;
# - loadvm = t2 starts the VM from that snapshot; a revert QEMU cannot do
#   leaves the guest paused, said so, and a stop then is SIGTERM at once.
source "$VMS_TOP/tests/lib/tap.sh"
source "$VMS_TOP/tests/lib/guest.sh"
source "$VMS_TOP/tests/daemon/lib.sh"
need_daemon
scratch_daemon
need_guest

P1=$((24000 + RANDOM % 10000))
conf_head 20 3
qemu-img create -q -f qcow2 "$TMP/sn.qcow2" 16M
guest_disk_new "$TMP/raw.img"
cat >>"$TMP/vms.conf" <<EOF
vm sn {
	machine = "pc"
	memory = 128M
	kernel = "$GUEST_KERNEL"
	initrd = "$GUEST_INITRD"
	append = "$(guest_append cooperative "" agent=on)"
	extra_args = "-no-reboot"
	agent = yes
	serial = $P1
	disk { file = "$TMP/sn.qcow2"  format = qcow2 }
}
vm rw {
	machine = "pc"
	memory = 64M
	kernel = "$GUEST_KERNEL"
	initrd = "$GUEST_INITRD"
	append = "$(guest_append cooperative)"
	autostart = no
	halt = quit
	disk { file = "$TMP/raw.img"  format = raw }
}
EOF
check "config valid" vmctl check-config
start_daemon
check "sn running" wait_state sn running 20
guest_wait_ready "$TMP/log/sn.console.log" 60 >/dev/null
for ((i = 0; i < 100; i++)); do [ "$(field sn agent)" = answering ] && break; sleep 0.1; done
gsh() {	# CMD: run it in the guest, print its output line (tagged out-)
	# A fresh tag each time: the console's scrollback replays earlier answers.
	local tag=o$RANDOM$RANDOM
	guest_console "TCP:127.0.0.1:$P1" "echo $tag-\$($1)" "^$tag-" 10 | sed -n "s/^$tag-//p" | tail -n 1
}
gsh 'echo one >/tmp/mark; printf A | dd of=/dev/vda bs=1 seek=4096 conv=notrunc,fsync 2>/dev/null; cat /tmp/mark' >/dev/null
check_eq "the guest wrote its marks" "$(gsh 'cat /tmp/mark; dd if=/dev/vda bs=1 skip=4096 count=1 2>/dev/null')" "one A"

out=$("$VMS_BIN/vmctl" -s "$(SOCK)" snapshot sn create t1 2>&1); rc=$?
check_eq "snapshot create t1: exit 0" "$rc" 0
check_match "the guest's file systems were frozen" "$(cat "$TMP/daemon.log")" 'sn: guest file systems frozen'
check_match "... and thawed" "$(cat "$TMP/daemon.log")" 'sn: guest file systems thawed'
out=$("$VMS_BIN/vmctl" -s "$(SOCK)" snapshot sn list 2>&1)
check_match "list shows t1 with its VM state" "$out" '^1 +t1 +[1-9][0-9]+ '
gsh 'echo two >/tmp/mark; printf B | dd of=/dev/vda bs=1 seek=4096 conv=notrunc,fsync 2>/dev/null' >/dev/null
check_eq "changed after the snapshot" "$(gsh 'cat /tmp/mark; dd if=/dev/vda bs=1 skip=4096 count=1 2>/dev/null')" "two B"
"$VMS_BIN/vmctl" -s "$(SOCK)" snapshot sn revert t1 >/dev/null; rc=$?
check_eq "snapshot revert t1: exit 0" "$rc" 0
check_eq "still running" "$(field sn state)" running
check_eq "memory and disk as at the snapshot" "$(gsh 'cat /tmp/mark; dd if=/dev/vda bs=1 skip=4096 count=1 2>/dev/null')" "one A"
out=$("$VMS_BIN/vmctl" -s "$(SOCK)" snapshot sn revert nosuch 2>&1); rc=$?
check_eq "revert to a missing tag: exit 1" "$rc" 1
check_match "... refused before QEMU stops the guest to load it" "$out" \
    "no snapshot 'nosuch' on disk [a-z0-9]+: nothing changed"
check_eq "... the guest runs on (QMP query-status)" \
    "$(vmctl qmp sn '{"execute":"query-status"}' 2>&1 | tr -d ' \n' | sed -n 's/.*"status":"\([a-z-]*\)".*/\1/p')" running
"$VMS_BIN/vmctl" -s "$(SOCK)" snapshot sn create t2 >/dev/null
"$VMS_BIN/vmctl" -s "$(SOCK)" snapshot sn delete t1 >/dev/null; rc=$?
check_eq "snapshot delete t1: exit 0" "$rc" 0
out=$("$VMS_BIN/vmctl" -s "$(SOCK)" snapshot sn list 2>&1)
check "t1 gone from the list" test -z "$(echo "$out" | grep ' t1 ')"
check_match "t2 listed" "$out" ' t2 '
out=$("$VMS_BIN/vmctl" -s "$(SOCK)" snapshot sn create 2>&1); rc=$?
check_eq "create without a tag: usage (2)" "$rc" 2

vmctl start rw >/dev/null
out=$("$VMS_BIN/vmctl" -s "$(SOCK)" snapshot rw create x 2>&1); rc=$?
check_eq "a raw writable disk: refused (1)" "$rc" 1
check_match "... saying why" "$out" 'is raw: internal snapshots need every writable disk in qcow2'
vmctl stop rw >/dev/null
out=$("$VMS_BIN/vmctl" -s "$(SOCK)" snapshot rw list 2>&1); rc=$?
check_eq "a stopped VM with a raw disk: refused (1)" "$rc" 1
check_match "... by vmctl itself, saying why" "$out" 'rw: disk 0 .*is raw: internal snapshots need'

# --- a stopped VM: vmctl works on its disks, qemu-img sees the same ---------
vmctl stop sn >/dev/null
check_match "qemu-img snapshot -l lists t2" "$(qemu-img snapshot -l "$TMP/sn.qcow2")" ' t2 '
check "qemu-img check: clean" qemu-img check -q "$TMP/sn.qcow2"
vmctl -s "$(SOCK)" snapshot sn create off1 >/dev/null; rc=$?
check_eq "stopped: snapshot create off1: exit 0" "$rc" 0
check_match "qemu-img lists off1, disk only (VM size 0)" \
	"$(qemu-img snapshot -l "$TMP/sn.qcow2")" ' off1 +0 B '
out=$(vmctl -s "$(SOCK)" snapshot sn create off1 2>&1); rc=$?
check_eq "the same tag again: refused (1)" "$rc" 1
check_match "... saying so" "$out" "already has a snapshot 'off1'"
qemu-img snapshot -c byqemu "$TMP/sn.qcow2"
out=$("$VMS_BIN/vmctl" -s "$(SOCK)" snapshot sn list 2>&1)
check_match "vmctl lists qemu-img's snapshot" "$out" ' byqemu '
"$VMS_BIN/vmctl" -s "$(SOCK)" snapshot sn delete byqemu >/dev/null; rc=$?
check_eq "stopped: delete byqemu: exit 0" "$rc" 0
check "qemu-img no longer lists it" test -z "$(qemu-img snapshot -l "$TMP/sn.qcow2" | grep byqemu)"
"$VMS_BIN/vmctl" -s "$(SOCK)" snapshot sn revert t2 >/dev/null; rc=$?
check_eq "stopped: revert t2: exit 0" "$rc" 0
out=$("$VMS_BIN/vmctl" -s "$(SOCK)" snapshot sn revert nosuch 2>&1); rc=$?
check_eq "stopped: revert to a missing tag: exit 1" "$rc" 1
check_match "... naming the disk" "$out" "sn.qcow2 has no snapshot 'nosuch': nothing reverted"
check "qemu-img check: clean after create/delete/revert" qemu-img check -q "$TMP/sn.qcow2"
sed -i "/^vm sn {/a\\	loadvm = \"t2\"" "$TMP/vms.conf"
vmctl reload >/dev/null
check_match "show: loadvm" "$(vmctl show sn)" '^loadvm: t2$'
check_match "argv: -loadvm t2" "$(vmctl show sn --argv | tr '\n' ' ')" ' -loadvm t2 '
vmctl start sn >/dev/null
check_eq "sn started from t2" "$(field sn state)" running
check_eq "its RAM as in t2 (no new boot)" "$(gsh 'cat /tmp/mark')" "one"
# off1 holds disks only: QEMU stops the guest to load it, fails, and leaves it
# stopped; a stop then needs no halt_timeout (20 s) of unseen presses.
out=$("$VMS_BIN/vmctl" -s "$(SOCK)" snapshot sn revert off1 2>&1); rc=$?
check_eq "running: revert to a disk-only snapshot: exit 1" "$rc" 1
check_match "... QEMU's reason, and the guest left paused" "$out" \
    'disk-only snapshot.*QEMU left the guest paused \(its state may be partly loaded\)'
check_eq "... status: paused" "$(field sn state)" paused
t0=$EPOCHREALTIME
vmctl stop sn >/dev/null
dt=$(sub "$EPOCHREALTIME" "$t0")
check "... a stop sends SIGTERM at once ($dt s, halt_timeout 20)" lt "$dt" 10
check_eq "... stop reason sigterm" "$(field sn stop_reason)" sigterm

vmctl stop all >/dev/null
stop_daemon
out=$("$VMS_BIN/vmctl" -c "$TMP/vms.conf" -s "$(SOCK)" snapshot sn delete off1 2>&1); rc=$?
check_eq "no daemon: delete off1 on the disk: exit 0" "$rc" 0
check_match "... saying it works on the disks" "$out" "working on vm sn's disks directly"
check "off1 gone" test -z "$(qemu-img snapshot -l "$TMP/sn.qcow2" | grep off1)"
done_testing
