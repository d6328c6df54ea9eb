#!/bin/bash
# vmctl revert: a stopped VM's overlay disks are replaced by fresh overlays
# on the same backing. Proven with the real guest, which writes its boot
# counter into its first disk: after a boot the overlay says boots=1 while
# the base still says 0; after revert the guest sees the base again.
source "$VMS_TOP/tests/lib/tap.sh"
source "$VMS_TOP/tests/daemon/lib.sh"
source "$VMS_TOP/tests/lib/guest.sh"
need_daemon
scratch_daemon
need_guest

guest_disk_new "$TMP/base.raw" 1M raw
conf_head 10 5
cat >>"$TMP/vms.conf" <<EOC
vm g {
	memory = 128M
	vga = none
	kernel = "$GUEST_KERNEL"
	initrd = "$GUEST_INITRD"
	append = "$(guest_append cooperative)"
	disk { file = "$TMP/g.qcow2"  format = qcow2  backing = "$TMP/base.raw" }
}
vm plain {
	memory = 32M
	vga = none
	halt = quit
	autostart = no
	disk { file = "$TMP/plain.qcow2"  size = 1M }
}
EOC
check "daemon starts" start_daemon
check "g running" wait_state g running 30
guest_wait_line "$TMP/log/g.console.log" 'vmservice-guest: ready boot=1' 60 >/dev/null
check "guest booted once (ready boot=1)" grep -q 'ready boot=1' "$TMP/log/g.console.log"

out=$(vmctl revert g 2>&1); rc=$?
check_eq "revert of a running VM exits 1" "$rc" 1
check_match "and says to stop it first" "$out" 'vm g is running: stop it'

vmctl stop g >/dev/null
check_eq "g stopped" "$(field g state)" stopped
check_eq "the boot landed in the overlay" "$(guest_disk_boots "$TMP/g.qcow2")" 1
check_eq "the base is untouched" "$(guest_disk_boots "$TMP/base.raw")" 0

ino=$(stat -c %i "$TMP/g.qcow2")
out=$(vmctl revert g 2>&1); rc=$?
check_eq "revert of the stopped VM exits 0" "$rc" 0
check_match "and names the disk" "$out" "g: reverted $TMP/g.qcow2"
check "the overlay is a new file" [ "$(stat -c %i "$TMP/g.qcow2")" != "$ino" ]
info=$(qemu-img info "$TMP/g.qcow2")
check_match "fresh overlay on the same backing" "$info" "backing file: $TMP/base.raw"
check "fresh overlay passes qemu-img check" qemu-img check -q "$TMP/g.qcow2"
check_eq "fresh overlay reads as the base" "$(guest_disk_boots "$TMP/g.qcow2")" 0
check_match "revert logged" "$(cat "$TMP/daemon.log")" "g: reverted disk $TMP/g.qcow2"

vmctl start g >/dev/null
for _ in $(seq 600); do	# up to 60 s for the second boot's ready line
	[ "$(grep -c 'ready boot=' "$TMP/log/g.console.log")" -ge 2 ] && break
	sleep 0.1
done
check_eq "after revert the guest boots from the base again (boot=1 twice)" \
	"$(grep -c 'ready boot=1' "$TMP/log/g.console.log")" 2
vmctl stop g >/dev/null

out=$(vmctl revert plain 2>&1); rc=$?
check_eq "revert of a VM without overlays exits 1" "$rc" 1
check_match "and says why" "$out" 'no overlay disk'
out=$(vmctl revert nosuch 2>&1); rc=$?
check_eq "revert of an unknown VM exits 1" "$rc" 1
stop_daemon
check_eq "daemon exits 0" "$DRC" 0
done_testing
