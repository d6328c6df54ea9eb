#!/bin/bash
# Disks with `size` or `backing` are created at first start, then used by
# QEMU; an existing one is left alone; a bad one fails the start cleanly.
source "$VMS_TOP/tests/lib/tap.sh"
source "$VMS_TOP/tests/daemon/lib.sh"
need_daemon
scratch_daemon

qemu-img create -q -f qcow2 "$TMP/base.qcow2" 32M
conf_head 2 2
cat >>"$TMP/vms.conf" <<EOC
vm d {
	memory = 32M
	vga = none
	halt = quit
	disk { file = "$TMP/new.qcow2"  size = 64M }
	disk { file = "$TMP/over.qcow2"  backing = "$TMP/base.qcow2" }
	disk { file = "$TMP/new.raw"  format = raw  size = 1M }
}
EOC
check "daemon starts" start_daemon
check "d running" wait_state d running
check_match "sized disk created as qcow2" "$(qemu-img info -U "$TMP/new.qcow2")" 'file format: qcow2'
check_match "sized disk has the size" "$(qemu-img info -U "$TMP/new.qcow2")" 'virtual size: 64 MiB'
check_match "overlay created on its backing file" "$(qemu-img info -U "$TMP/over.qcow2")" "backing file: $TMP/base.qcow2"
check_match "raw disk created" "$(qemu-img info -U "$TMP/new.raw")" 'file format: raw'
check_match "creation logged" "$(cat "$TMP/daemon.log")" "d: created disk $TMP/new.qcow2 \(qcow2\)"
check_match "QEMU uses the disks" "$(tr '\0' ' ' </proc/"$(field d pid)"/cmdline)" "file=$TMP/over.qcow2"
vmctl stop d >/dev/null
ino=$(stat -c %i "$TMP/new.qcow2")
vmctl start d >/dev/null
check_eq "existing disk kept on the next start" "$(stat -c %i "$TMP/new.qcow2")" "$ino"
check_eq "d running again" "$(field d state)" running
vmctl stop d >/dev/null
# The overlay's backing file gone: the start fails with the reason, the daemon lives on.
rm "$TMP/base.qcow2"
out=$(vmctl start d 2>&1); rc=$?
check_eq "start with a broken disk exits 1" "$rc" 1
check_match "the missing backing file is named" "$out" "base.qcow2"
check_eq "d failed" "$(field d state)" failed
stop_daemon
check_eq "daemon exits 0" "$DRC" 0
done_testing
