#!/bin/bash
# The real QEMU accepts the argv we generate for a VM with every device kind
# that runs unprivileged: started paused (-S), queried over QMP, then quit.
source "$VMS_TOP/tests/lib/tap.sh"
source "$VMS_TOP/tests/lib/qmp.sh"
scratch
gen="$VMS_TOP/build/tests/test_qemu_argv"

qemu-img create -q -f qcow2 "$TMP/disk0.qcow2" 16M
for i in 1 2 3 4 5; do truncate -s 4M "$TMP/disk$i.img"; done

mapfile -t args < <("$gen" --print full "$TMP")
check "argv generated (${#args[@]} words)" [ "${#args[@]}" -gt 20 ]

"${args[@]}" -S >"$TMP/qemu.log" 2>&1 &
qpid=$!
trap 'kill -9 $qpid 2>/dev/null; rm -rf "$TMP"' EXIT

if ! qmp_wait_socket "$TMP/full.qmp" 10; then
	notok "QEMU opened its QMP socket"
	sed 's/^/# /' "$TMP/qemu.log"
	exit 1
fi
ok "QEMU started with the generated argv"

out=$(guest_qmp "$TMP/full.qmp" \
	'{"execute":"query-status","id":"st"}' \
	'{"execute":"query-block","id":"blk"}' \
	'{"execute":"query-pci","id":"pci"}' \
	'{"execute":"query-chardev","id":"chr"}' \
	'{"execute":"query-vnc","id":"vnc"}' \
	'{"execute":"query-name","id":"name"}' \
	'{"execute":"query-uuid","id":"uuid"}' \
	'{"execute":"query-cpus-fast","id":"cpus"}')
line() { printf '%s\n' "$out" | grep "\"id\": \"$1\""; }

check_match "paused before launch" "$(line st)" '"status": "prelaunch"'
blk=$(line blk)
for i in 0 1 2 3 4 5; do
	check_match "block device disk$i present" "$blk" "\"device\": \"disk$i\""
done
check_match "qcow2 disk opened as qcow2" "$blk" '"drv": "qcow2"'
check_match "cdrom is removable media" "$blk" '"removable": true'
pci=$(line pci)
for id in net0 net1 balloon0 usb scsi0; do
	check_match "PCI device $id present" "$pci" "\"qdev_id\": \"$id\""
done
check "no third NIC (net = none)" bash -c "! grep -q '\"qdev_id\": \"net2\"' <<<'$pci'"
chr=$(line chr)
for c in qmp serial0 hmp; do
	check_match "chardev $c present" "$chr" "\"label\": \"$c\""
done
check_match "VNC on 127.0.0.1:5977" "$(line vnc)" '"service": "5977"'
check_match "name is the VM name" "$(line name)" '"name": "full"'
check_match "stable UUID" "$(line uuid)" '"UUID": "[0-9a-f-]{36}"'
ncpu=$(line cpus | grep -o '"cpu-index"' | wc -l)
check_eq "2 vCPUs" "$ncpu" 2
check "pidfile written by QEMU" [ "$(cat "$TMP/full.pid" 2>/dev/null)" = "$qpid" ]

guest_qmp "$TMP/full.qmp" '{"execute":"quit"}' >/dev/null
for _ in $(seq 50); do kill -0 $qpid 2>/dev/null || break; sleep 0.1; done
check "QEMU quit on request" bash -c "! kill -0 $qpid 2>/dev/null"
done_testing
