#!/bin/bash
# Network boot on user networking (issue 16), real daemon, real QEMU (TCG), the
# test guest: a VM with no kernel and no disk, `boot { order = "n" }` and
# `nic { net = user  tftp = DIR  bootfile = "boot.ipxe" }`, boots through QEMU's
# iPXE ROM (Debian's ipxe-qemu, efi-virtio.rom for virtio-net-pci): DHCP hands it
# boot.ipxe, an iPXE script this test writes, which loads the guest's kernel and
# initramfs over TFTP from the same directory; the VM becomes running on its
# readiness line. The guest's /proc/cmdline carries the token only the script has.
# As root the QEMU runs as its own dynamic uid (ROM, sandbox and the TFTP
# directory under the daemon's privilege dropping). From inside the guest, TFTP
# serves files of that directory read-only and nothing outside it.
source "$VMS_TOP/tests/lib/tap.sh"
source "$VMS_TOP/tests/lib/guest.sh"
source "$VMS_TOP/tests/daemon/lib.sh"
need_daemon
scratch_daemon
need_guest
chmod 0711 "$TMP"	# mktemp -d is 0700: a dynamic-uid QEMU must reach run_dir and tftp/

ROM=/usr/lib/ipxe/qemu/efi-virtio.rom
check "QEMU's iPXE ROM for virtio-net-pci is installed ($ROM, Debian's ipxe-qemu)" test -r "$ROM"

TOKEN=pxe$RANDOM$RANDOM
mkdir -m 0755 "$TMP/tftp"
# A copy, not a link: what the guest reads is in the directory, nothing else.
cp "$GUEST_VMLINUZ" "$TMP/tftp/vmlinuz"
cp "$GUEST_INITRD" "$TMP/tftp/initrd.img"
# Relative names: iPXE fetches them from where the script came from (tftp://10.0.2.2/).
cat >"$TMP/tftp/boot.ipxe" <<EOF
#!ipxe
kernel vmlinuz $(guest_append cooperative 10.0.2.15/24) vmspxe=$TOKEN
initrd initrd.img
boot
EOF
chmod 0644 "$TMP/tftp"/*
echo "outside the tftp directory" >"$TMP/secret"
chmod 0644 "$TMP/secret"
size=$(du -ck "$TMP/tftp/vmlinuz" "$TMP/tftp/initrd.img" | tail -n 1 | cut -f1)

# runas: the default (a dynamic uid) when root; else QEMU runs as us.
CONF_RUNAS= conf_head 10 2
cat >>"$TMP/vms.conf" <<EOF
vm pxe {
	machine = "pc"
	memory = 256M
	boot { order = "n" }
	nic {
		net = user
		tftp = "$TMP/tftp"
		bootfile = "boot.ipxe"
	}
	ready = "serial:vmservice-guest: ready boot=0 flavour=cooperative disk=none"
	ready_timeout = 90
	on_ready_timeout = hold
	autostart = no
	extra_args = "-no-reboot"
}
EOF
# closed: a tftp directory only root may read. QEMU would start and serve the
# guest nothing; the child checks it as the VM's QEMU user and fails the start.
mkdir -m 0700 "$TMP/closed"
cat >>"$TMP/vms.conf" <<EOF
vm closed {
	machine = "pc"
	memory = 64M
	vga = none
	boot { order = "n" }
	nic { tftp = "$TMP/closed"  bootfile = "boot.ipxe" }
	autostart = no
	halt = quit
}
EOF
check "check-config accepts the PXE VM" vmctl check-config
argv=$(vmctl show pxe --argv | tr '\n' ' ')
check_match "argv: -netdev user,...,tftp=DIR,bootfile=boot.ipxe" "$argv" \
    "-netdev user,id=net0,tftp=$TMP/tftp,bootfile=boot\.ipxe "
check_match "argv: -boot order=n" "$argv" ' -boot order=n '
check "argv: no -kernel, no disk" bash -c "! grep -qE -- ' -(kernel|drive|initrd) ' <<<'$argv'"

if ! start_daemon; then
	notok "daemon starts"
	sed 's/^/# /' "$TMP/daemon.log"
	done_testing; exit 1
fi
t0=$EPOCHREALTIME
vmctl start pxe --no-wait >/dev/null
check "pxe booting (QEMU up, its readiness line not seen yet)" wait_state pxe booting 10
"$VMS_BIN/vmctl" -s "$(SOCK)" wait pxe --timeout 90; rc=$?
t1=$EPOCHREALTIME
check_eq "pxe reaches running on the guest's ready line (vmctl wait: 0)" "$rc" 0
diag "PXE boot to ready: $(sub "$t1" "$t0") s under TCG (kernel + initramfs: $size KiB over TFTP)"
if [ "$rc" != 0 ]; then
	diag "state $(field pxe state); console log:"
	tail -n 20 "$TMP/log/pxe.console.log" 2>/dev/null | sed 's/^/#   /'
	tail -n 20 "$TMP/log/pxe.qemu.log" 2>/dev/null | sed 's/^/#   /'
	done_testing; exit 1
fi
pid=$(field pxe pid)
uid=$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status")
if [ "$(id -u)" = 0 ]; then
	check "its QEMU runs as a uid of its own, not root ($uid)" test "$uid" != 0
fi

CON="EXEC:$VMS_BIN/vmctl -c $TMP/vms.conf console pxe"
out=$(guest_console "$CON" 'cat /proc/cmdline' "vmspxe=$TOKEN" 10)
check_match "the guest's kernel command line is the TFTP-served script's" "$out" "vmspxe=$TOKEN"

# What a guest can do with the TFTP server: read the directory, nothing else.
# shellcheck disable=SC2016 # expanded by the guest's shell
out=$(guest_console "$CON" \
    'tftp -g -r boot.ipxe -l /tmp/b 10.0.2.2 && echo got-$(head -c 6 /tmp/b)' '^got-|tftp:' 15)
check_match "the guest reads a file of the directory over TFTP" "$out" '^got-#!ipxe'
# shellcheck disable=SC2016
out=$(guest_console "$CON" \
    'tftp -g -r ../secret -l /tmp/s 10.0.2.2; echo rc-$?' '^rc-' 15)
check_match "... but not ../ outside it" "$out" '^rc-[1-9]'
check_match "... (slirp: access violation)" "$out" '[Aa]ccess violation'
out=$(guest_console "$CON" "tftp -g -r $TMP/secret -l /tmp/s 10.0.2.2; echo rc-\$?" '^rc-' 15)
check_match "... nor by its absolute name (taken inside the directory)" "$out" '^rc-[1-9]'
# shellcheck disable=SC2016
out=$(guest_console "$CON" \
    'echo planted >/tmp/p; tftp -p -l /tmp/p -r planted 10.0.2.2; echo rc-$?' '^rc-' 15)
check_match "... and cannot write into it" "$out" '^rc-[1-9]'
check "no file was created in the directory" test ! -e "$TMP/tftp/planted"

vmctl stop pxe >/dev/null 2>&1
check "pxe stopped" wait_state pxe stopped 15

if [ "$(id -u)" = 0 ]; then
	vmctl start closed >/dev/null 2>&1
	check "a tftp directory its QEMU user cannot read: the start fails" wait_state closed failed 10
	check_eq "... start-failed" "$(field closed stop_reason)" start-failed
	check_match "... saying which directory and why" "$(field closed stop_detail)" \
	    "tftp directory $TMP/closed: Permission denied \\(as the VM's QEMU user\\)"
	chmod 0755 "$TMP/closed"
	vmctl start closed >/dev/null 2>&1
	check "the same VM starts once the directory is readable" wait_state closed running 20
	vmctl stop closed >/dev/null 2>&1
	check "closed stopped" wait_state closed stopped 15
else
	skip "a tftp directory its QEMU user cannot read" "as root only (QEMU runs as us)"
fi
stop_daemon
check_eq "daemon exits 0" "$DRC" 0
done_testing
