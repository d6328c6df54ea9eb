#!/bin/sh
# Install the Debian packages vmservice needs to build, test and demo.
# Idempotent: asks dpkg what is already there and installs only the rest.
set -eu

# Build: compilers and the libraries' -dev packages. Run and test: QEMU and
# qemu-img (the interop reference), busybox/cpio/gzip for the test guest,
# telnet/socat as real clients, iproute2 for network namespaces.
# Tests only: libclang-rt-14-dev carries libFuzzer (a mere Recommends of
# clang), gvncviewer carries gvnccapture, the real VNC client of the VNC test,
# qemu-guest-agent the real qemu-ga that tests/unit/test_qga_socket talks to
# on a host socket (read-only commands; its service starts only in a guest),
# strace the fault injection that kills vmimg mid-write in the crash tests.
# ipxe-qemu (a Depends of qemu-system-x86, named for what it gives us) holds
# the NICs' iPXE ROMs: QEMU refuses a NIC whose ROM is missing, and network
# boot (tests/net/test_pxe.sh) runs it, efi-virtio.rom for virtio-net-pci.
# swtpm is the TPM 2.0 emulator the daemon runs per VM for tpm = on
# (tests/daemon/test_tpm.sh); xorriso writes cloud_init seeds (ISO 9660,
# label cidata) and reads them back in tests/daemon/test_cloudinit.sh.
# ovmf is the UEFI firmware of firmware = uefi|uefi-secure (run time) and of
# tests/daemon/test_uefi.sh; dosfstools and mtools make the EFI system
# partitions of tests/daemon/test_uefi_secure.sh without a root mount.
# The Debian package (make deb, tests/sysd/test_deb.sh): dpkg-dev and
# debhelper build it, lintian checks it; the test installs it in a
# container booted with systemd as PID 1 (systemd-nspawn, from
# systemd-container) on a Debian root file system mmdebstrap builds once.
# openssh-client is what `vmctl -H ssh://HOST` and `vmctl migrate` run (ssh);
# openssh-server is the real sshd of the two test hosts (tests/lib/twohost.sh,
# tests/net/test_remote.sh), which also use ssh-keygen for their keys.
# resource-agents is the OCF tool set the agent rc/ocf/vm is checked with
# (ocf-tester, ocf-shellfuncs; tests/rc/test_ocf*.sh); xmllint (libxml2-utils)
# checks its meta-data against the OCF ra-api DTD.
PKGS="swtpm xorriso make gcc clang pkg-config libconfuse-dev libsystemd-dev libjson-c-dev
zlib1g-dev libzstd-dev libcap-dev qemu-system-x86 qemu-utils busybox-static telnet socat
cpio gzip iproute2 procps libclang-rt-14-dev gvncviewer qemu-guest-agent
strace ipxe-qemu ovmf dosfstools mtools dpkg-dev debhelper lintian systemd-container mmdebstrap
resource-agents libxml2-utils openssh-client openssh-server"

missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = "installed" ] || missing="$missing $p"
done

if [ -z "$missing" ]; then
	echo "deps: all packages present"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages:$missing" >&2
	echo "deps: run 'make deps' as root to install them" >&2
	exit 1
fi

echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
