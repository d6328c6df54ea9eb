#!/bin/bash
# firmware = uefi: the real guest boots under Debian's OVMF (-kernel: the Debian
# kernel is an EFI stub, loaded by the firmware), and each VM keeps its own
# variable store in state_dir/NAME.nvram.fd. The guest counts its boots in EFI
# variables (tests/guest/init: "efi secureboot=S nvram_boots=N"), so:
#   - u1's second boot sees the variable its first boot wrote (NVRAM kept);
#   - u2, started after that, sees none of u1's (NVRAM not shared);
#   - a restarted daemon adopts both without calling them changed;
#   - vmctl reset-nvram is refused while u1 runs, and once u1 is stopped it
#     removes the store: the next boot starts from the template again.
# check-config: uefi-secure on a non-q35 machine is refused; missing OVMF
# files are named with the package (an empty dir bound over /usr/share/OVMF
# in a mount namespace of its own).
source "$VMS_TOP/tests/lib/tap.sh"
source "$VMS_TOP/tests/daemon/lib.sh"
source "$VMS_TOP/tests/lib/guest.sh"
need_daemon
if [ ! -r /usr/share/OVMF/OVMF_CODE_4M.fd ] || [ ! -r /usr/share/OVMF/OVMF_VARS_4M.fd ]; then
	skip "UEFI tests" "no OVMF (Debian package ovmf; make deps installs it)"
	exit 0
fi
scratch_daemon
need_guest

# u2 runs as a uid of its own (runas = "dynamic"), which can reach neither
# state_dir (the daemon's alone) nor the guest cache under /root: its kernel
# comes from a copy, its NVRAM only through the fds the daemon hands QEMU.
chmod 0711 "$TMP"	# mktemp -d is 0700: a dynamic-uid QEMU must reach run_dir and boot/
mkdir -m 0755 "$TMP/boot"
cp "$GUEST_VMLINUZ" "$TMP/boot/vmlinuz" && cp "$GUEST_INITRD" "$TMP/boot/initrd.img"
chmod 0644 "$TMP/boot"/*

uefi_vm() {
	{
		echo "vm $1 {"
		echo "	firmware = uefi"
		echo "	machine = \"q35\""
		echo "	memory = 256M"
		echo "	vga = none"
		# The bzImage: an EFI binary OVMF loads (the PVH vmlinux is not one).
		echo "	kernel = \"${KERNEL:-$GUEST_VMLINUZ}\""
		echo "	initrd = \"${INITRD:-$GUEST_INITRD}\""
		echo "	append = \"$(guest_append cooperative)\""
		echo "	ready = \"serial:vmservice-guest: ready\""
		echo "	ready_timeout = 120"
		local l; for l in "${@:2}"; do echo "	$l"; done
		echo "}"
	} >>"$TMP/vms.conf"
}
conf_head 20 5
uefi_vm u1
KERNEL=$TMP/boot/vmlinuz INITRD=$TMP/boot/initrd.img uefi_vm u2 'autostart = no' \
    'runas = "dynamic"'
check "config valid" vmctl check-config

# -- check-config ------------------------------------------------------------
cp "$TMP/vms.conf" "$TMP/bad.conf"
cat >>"$TMP/bad.conf" <<EOC
vm sb {
	firmware = uefi-secure
	machine = "pc"
	memory = 64M
}
EOC
out=$("$VMS_BIN/vmctl" check-config -c "$TMP/bad.conf" 2>&1); rc=$?
check_eq "uefi-secure on machine pc: check-config exits 1" "$rc" 1
check_match "and says it needs q35" "$out" 'firmware = uefi-secure needs machine = "q35"'
if mkdir -p "$TMP/noovmf" &&
    out=$(unshare -m sh -c 'mount --bind "$1" /usr/share/OVMF && shift && "$@"' sh \
    "$TMP/noovmf" "$VMS_BIN/vmctl" check-config -c "$TMP/vms.conf" 2>&1; echo "rc=$?") &&
    [ -n "$out" ]; then
	check_match "missing OVMF: check-config names the file and the package" "$out" \
	    'firmware = uefi: /usr/share/OVMF/OVMF_CODE_4M.fd: No such file or directory \(install Debian.s ovmf package\)'
	check_match "and exits 1" "$out" 'rc=1$'
else
	skip "missing OVMF files" "no mount namespace here (unshare -m)"
fi

check_match "show: firmware" "$(vmctl show u1)" '^firmware: uefi$'
argv=$(vmctl show u1 --argv)
check_match "show --argv: OVMF code read-only in pflash 0" "$argv" \
    'if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd'
check_match "show --argv: the VM's own NVRAM in pflash 1" "$argv" \
    "if=pflash,format=raw,unit=1,file=$TMP/state/u1.nvram.fd"

# -- first boot ----------------------------------------------------------------
t0=$(date +%s.%N)
check "daemon starts" start_daemon
line=$(guest_wait_line "$TMP/log/u1.console.log" 'vmservice-guest: efi ' 120)
check_eq "u1 boots under OVMF, its NVRAM fresh" "$line" \
    "vmservice-guest: efi secureboot=0 nvram_boots=0"
check "u1 reaches its readiness line (running)" wait_state u1 running 60
diag "u1: daemon start to running under OVMF (TCG): $(sub "$(date +%s.%N)" "$t0") s"
check "state_dir/u1.nvram.fd made at the first start" [ -f "$TMP/state/u1.nvram.fd" ]
check_eq "same size as the template" "$(stat -c %s "$TMP/state/u1.nvram.fd")" \
    "$(stat -c %s /usr/share/OVMF/OVMF_VARS_4M.fd)"
pid=$(cat "$TMP/run/u1.pid")
cmd=$(tr '\0' '\n' <"/proc/$pid/cmdline")
check_match "QEMU gets the store as an fd (-add-fd), not by path" "$cmd" \
    'unit=1,file=/dev/fdset/1'
check_match "a read-write fd in fdset 1" "$cmd" '^fd=[0-9]+,set=1,opaque=nvram-rw$'
check_match "and a read-only one (QEMU asks for that first)" "$cmd" \
    '^fd=[0-9]+,set=1,opaque=nvram-ro$'
# QEMU moves -add-fd fds to numbers of its own: look for the file among them.
check "QEMU holds state_dir/u1.nvram.fd open" \
    grep -qx "$TMP/state/u1.nvram.fd" <(for f in /proc/"$pid"/fd/*; do readlink "$f"; done)

out=$(vmctl reset-nvram u1 2>&1); rc=$?
check_eq "reset-nvram of a running VM exits 1" "$rc" 1
check_match "and says to stop it first" "$out" 'vm u1 is running: stop it before resetting'
check "the store is still there" [ -f "$TMP/state/u1.nvram.fd" ]

# -- restart of u1, first start of u2 ----------------------------------------------
ino=$(stat -c %i "$TMP/state/u1.nvram.fd")
t0=$(date +%s.%N)
vmctl restart u1 --no-wait >/dev/null
vmctl start u2 --no-wait >/dev/null
# the second efi line of u1's console log (the log is appended across runs)
for _ in $(seq 1200); do
	[ "$(grep -ac 'vmservice-guest: efi ' "$TMP/log/u1.console.log")" -ge 2 ] && break
	sleep 0.1
done
check_eq "u1 after a restart: its NVRAM kept the variable of the first boot" \
    "$(grep -a 'vmservice-guest: efi ' "$TMP/log/u1.console.log" | tail -n1 | tr -d '\r')" \
    "vmservice-guest: efi secureboot=0 nvram_boots=1"
line=$(guest_wait_line "$TMP/log/u2.console.log" 'vmservice-guest: efi ' 120)
check_eq "u2 sees none of u1's variables (NVRAM not shared)" "$line" \
    "vmservice-guest: efi secureboot=0 nvram_boots=0"
check "u1 running again" wait_state u1 running 60
check "u2 running" wait_state u2 running 60
diag "u1 restart + u2 start, both running (2 TCG guests at once): $(sub "$(date +%s.%N)" "$t0") s"
pid2=$(cat "$TMP/run/u2.pid")
uid2=$(awk '/^Uid:/ { print $2 }' "/proc/$pid2/status")
check "u2's QEMU runs as a uid of its own ($uid2)" [ "${uid2:-0}" -gt 0 ]
no_access() { ! setpriv --reuid="$1" --regid="$1" --clear-groups cat "$2" >/dev/null 2>&1; }
check "u2's uid cannot read its store by name" no_access "$uid2" "$TMP/state/u2.nvram.fd"
check_eq "u2's store stays root's, 0600" "$(stat -c '%u %a' "$TMP/state/u2.nvram.fd")" "0 600"
check_eq "u1 kept the same store file" "$(stat -c %i "$TMP/state/u1.nvram.fd")" "$ino"
check "u2 has a store of its own" [ "$(stat -c %i "$TMP/state/u2.nvram.fd")" != "$ino" ]
differ() { ! cmp -s "$1" "$2"; }
check "the stores differ" differ "$TMP/state/u1.nvram.fd" "$TMP/state/u2.nvram.fd"

# A daemon SIGKILLed and started again adopts both QEMUs as they are: the
# nvram fds in their argvs are no configuration change (reload.c).
kill -KILL "$DPID"; wait "$DPID" 2>/dev/null
check "a new daemon starts" start_daemon
check "it adopts u1" wait_state u1 running 20
check "and u2" wait_state u2 running 20
check_eq "same QEMU for u1" "$(cat "$TMP/run/u1.pid")" "$(qemu_pids u1)"
no_pending() { ! grep -q 'restart-pending' "$TMP/daemon.log"; }
check "no restart-pending for an adopted UEFI VM" no_pending

vmctl stop u2 --no-wait >/dev/null
vmctl stop u1 >/dev/null
check_eq "u1 stopped" "$(field u1 state)" stopped
# EFI variable names are UCS-2 in the store: V.m.s.B.o.o.t.2
check "u1's store holds VmsBoot2 (written by its second boot)" \
    grep -qaP 'V\x00m\x00s\x00B\x00o\x00o\x00t\x002\x00' "$TMP/state/u1.nvram.fd"

# -- reset --------------------------------------------------------------------
out=$(vmctl reset-nvram u1 2>&1); rc=$?
check_eq "reset-nvram of the stopped VM exits 0" "$rc" 0
check_match "and says so" "$out" '^u1: NVRAM reset$'
check "the store is gone" [ ! -e "$TMP/state/u1.nvram.fd" ]
check "u2's store is untouched" [ -f "$TMP/state/u2.nvram.fd" ]
check_match "reset logged" "$(cat "$TMP/daemon.log")" "u1: NVRAM $TMP/state/u1.nvram.fd removed"
out=$(vmctl reset-nvram u1 2>&1); rc=$?
check_eq "a second reset-nvram exits 1" "$rc" 1
check_match "there is none to reset" "$out" 'vm u1 has no NVRAM file'
vmctl start u1 --no-wait >/dev/null
for _ in $(seq 1200); do
	[ "$(grep -ac 'vmservice-guest: efi ' "$TMP/log/u1.console.log")" -ge 3 ] && break
	sleep 0.1
done
check_eq "after reset-nvram u1 boots from a fresh copy of the template" \
    "$(grep -a 'vmservice-guest: efi ' "$TMP/log/u1.console.log" | tail -n1 | tr -d '\r')" \
    "vmservice-guest: efi secureboot=0 nvram_boots=0"
vmctl kill u1 >/dev/null	# a guest still booting would miss the power button
stop_daemon
check_eq "daemon exits 0" "$DRC" 0
done_testing
