#!/bin/bash
# End to end: a config file through the inventory and `vmctl show --argv`
# into a real QEMU, started paused and queried over QMP. Catches what the
# model-level argv tests cannot: paths resolved against the config's
# directory, defaults, hostfwd and extra_args as the parser leaves them.
source "$VMS_TOP/tests/lib/tap.sh"
source "$VMS_TOP/tests/lib/qmp.sh"
VMCTL=$VMS_BIN/vmctl
scratch
if ! command -v qemu-system-x86_64 >/dev/null || ! command -v socat >/dev/null; then
	skip "config to QEMU" "qemu-system-x86_64 or socat missing"
	done_testing
	exit
fi
mkdir "$TMP/run" "$TMP/log"
qemu-img create -q -f qcow2 "$TMP/root.qcow2" 16M
truncate -s 1M "$TMP/data.img"
port=$((20000 + RANDOM % 20000))
cat >"$TMP/vmservice.conf" <<CONF
run_dir = "run"
log_dir = "log"
state_dir = "state"
emulator_dir = "$(dirname "$(command -v qemu-system-x86_64)")"
vm e2e {
	memory = 64M
	smp = 2
	accel = tcg
	disk { file = "root.qcow2" }
	disk {
		file = "data.img"
		format = raw
		if = scsi
		readonly = yes
	}
	nic { hostfwd = "tcp:127.0.0.1:$port-:22" }
	nic {
		net = none
		model = "e1000"
	}
	serial = 4555
	monitor = 4556
	boot { order = "c" }
	balloon = yes
	extra_args = "-device 'virtio-rng-pci,id=rng0'"
}
CONF
out=$("$VMCTL" check-config -c "$TMP/vmservice.conf" 2>&1)
check_eq "config passes check-config" "$out" "ok: 1 VM"
mapfile -t args < <("$VMCTL" show e2e --argv -c "$TMP/vmservice.conf")
check "argv printed (${#args[@]} words)" [ "${#args[@]}" -gt 10 ]

"${args[@]}" -S -display none >"$TMP/qemu.log" 2>&1 &
qpid=$!
trap 'kill -9 $qpid 2>/dev/null; rm -rf "$TMP"' EXIT
if ! qmp_wait_socket "$TMP/run/e2e.qmp" 10; then
	notok "QEMU opened its QMP socket in run_dir"
	sed 's/^/# /' "$TMP/qemu.log"
	exit 1
fi
ok "QEMU started from the config's argv"
out=$(guest_qmp "$TMP/run/e2e.qmp" \
	'{"execute":"query-status","id":"st"}' \
	'{"execute":"query-block","id":"blk"}' \
	'{"execute":"query-pci","id":"pci"}' \
	'{"execute":"query-name","id":"name"}' \
	'{"execute":"quit","id":"q"}')
line() { printf '%s\n' "$out" | grep "\"id\": \"$1\""; }
check_match "paused before launch" "$(line st)" '"status": "prelaunch"'
check_match "qcow2 disk from a relative path" "$(line blk)" "\"file\": \"$TMP/root.qcow2\""
check_match "read-only raw disk" "$(line blk)" '"ro": true'
check_match "extra_args device present" "$(line pci)" '"qdev_id": "rng0"'
check_match "name is the VM's" "$(line name)" '"name": "e2e"'
for _ in $(seq 50); do kill -0 $qpid 2>/dev/null || break; sleep 0.1; done
check "QEMU quit" bash -c "! kill -0 $qpid 2>/dev/null"
done_testing
