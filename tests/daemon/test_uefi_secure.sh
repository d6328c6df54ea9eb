#!/bin/bash
# firmware = uefi-secure: OVMF's Secure Boot build with Microsoft's keys, on
# q35 with SMM (the daemon adds both). Two VMs boot at once from ESPs made at
# test time (tests/lib/esp.sh):
#   sb  Debian's signed chain (shim -> grub -> the signed kernel): the guest
#       boots to its ready line and sees Secure Boot on (its SecureBoot EFI
#       variable's last byte is 1: "efi secureboot=1");
#   ns  the same kernel with its signature stripped, as EFI/BOOT/BOOTX64.EFI:
#       the firmware refuses it (BdsDxe: failed to load ... Access Denied)
#       and no kernel runs.
source "$VMS_TOP/tests/lib/tap.sh"
source "$VMS_TOP/tests/daemon/lib.sh"
source "$VMS_TOP/tests/lib/guest.sh"
source "$VMS_TOP/tests/lib/esp.sh"
need_daemon
if [ ! -r /usr/share/OVMF/OVMF_CODE_4M.secboot.fd ] || [ ! -r /usr/share/OVMF/OVMF_VARS_4M.ms.fd ]; then
	skip "Secure Boot tests" "no OVMF (Debian package ovmf; make deps installs it)"
	exit 0
fi
if ! command -v mkfs.vfat >/dev/null || ! command -v mcopy >/dev/null; then
	skip "Secure Boot tests" "no mkfs.vfat or mcopy (packages dosfstools, mtools)"
	exit 0
fi
scratch_daemon
need_guest
if ! esp_fetch 2>"$TMP/esp-fetch.log"; then
	skip "Secure Boot tests" "cannot fetch shim-signed/grub-efi-amd64-signed: $(tail -n1 "$TMP/esp-fetch.log")"
	exit 0
fi

sig=$(esp_sig_size "$GUEST_VMLINUZ")
check "the guest kernel is signed (a certificate table of $sig bytes)" [ "${sig:-0}" -gt 0 ]
esp_strip_sig "$GUEST_VMLINUZ" "$TMP/unsigned.efi"
check_eq "the stripped copy has none" "$(esp_sig_size "$TMP/unsigned.efi")" 0
check "signed ESP made (mkfs.vfat, mtools)" esp_signed "$TMP/esp-signed.img" "$(guest_append cooperative)"
check "unsigned ESP made" esp_unsigned "$TMP/esp-unsigned.img"

conf_head 20 5
cat >>"$TMP/vms.conf" <<EOC
vm sb {
	firmware = uefi-secure
	machine = "q35"
	# Debian's grub 2.06 finds no room for the kernel in 256M under OVMF
	# ("cannot allocate kernel buffer").
	memory = 1G
	vga = none
	# AHCI: the guest has no driver for it, so it never writes its record there.
	disk { file = "$TMP/esp-signed.img"  format = raw  if = ide }
	ready = "serial:vmservice-guest: ready"
	ready_timeout = 120
}
vm ns {
	firmware = uefi-secure
	machine = "q35"
	memory = 128M
	vga = none
	halt = quit
	disk { file = "$TMP/esp-unsigned.img"  format = raw  if = ide }
}
EOC
check "config valid" vmctl check-config
argv=$(vmctl show sb --argv)
check_match "Secure Boot code in pflash 0" "$argv" \
    'if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.secboot.fd'
check_match "SMM on" "$argv" '^smm=on$'
check_match "flash writable only from SMM" "$argv" \
    '^driver=cfi.pflash01,property=secure,value=on$'

t0=$(date +%s.%N)
check "daemon starts" start_daemon
# LoadImage refuses it ("failed to load"); the firmware's own unsigned shell
# is refused later on ("failed to start ... EFI Internal Shell").
line=$(guest_wait_line "$TMP/log/ns.console.log" \
    'BdsDxe: failed to (load|start) Boot[0-9A-F]+ "UEFI QEMU HARDDISK' 90)
check_match "the firmware refuses the unsigned EFI program on the disk" "$line" \
    ': (Access Denied|Security Violation)'
diag "ns: $line"
diag "ns: refused after $(sub "$(date +%s.%N)" "$t0") s"
no_kernel() { ! grep -aq 'EFI stub\|Linux version' "$1"; }
check "and no kernel ran in it" no_kernel "$TMP/log/ns.console.log"
vmctl kill ns >/dev/null

line=$(guest_wait_line "$TMP/log/sb.console.log" 'vmservice-guest: efi ' 120)
check_eq "sb boots the signed chain with Secure Boot on" "$line" \
    "vmservice-guest: efi secureboot=1 nvram_boots=0"
check_match "through shim and grub" "$(cat "$TMP/log/sb.console.log")" 'Welcome to GRUB'
check_match "the kernel's EFI stub saw it on" "$(cat "$TMP/log/sb.console.log")" \
    'EFI stub: UEFI Secure Boot is enabled'
check "sb reaches its readiness line (running)" wait_state sb running 60
diag "sb: daemon start to running, Secure Boot chain (TCG): $(sub "$(date +%s.%N)" "$t0") s"
check_eq "its NVRAM is a copy of the Microsoft-keys template's size" \
    "$(stat -c %s "$TMP/state/sb.nvram.fd")" "$(stat -c %s /usr/share/OVMF/OVMF_VARS_4M.ms.fd)"
stop_daemon
check_eq "daemon exits 0" "$DRC" 0
done_testing
