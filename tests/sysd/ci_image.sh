#!/bin/sh
# The Debian 12 guest with cloud-init that test_cloudinit_guest.sh boots
# under QEMU (issue 18): built once with mmdebstrap into
# $VMS_CACHE/sysd/ci-HASH and reused (the test boots it with snapshot = yes,
# so the cached image stays clean). HASH covers this script, so editing the
# package list builds a new one. Holds:
#   root.ext4   the root file system, made with mkfs.ext4 -d (no mount)
#   vmlinuz     the rootfs's own /boot/vmlinuz-*
#   initrd.img  its /boot/initrd.img-* (initramfs-tools: virtio_blk, ext4)
# Prints the directory. Needs root, mmdebstrap, mkfs.ext4 and the host's apt
# sources reachable (network).
set -eu
cache=${VMS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vmservice}
PKGS="systemd-sysv udev linux-image-amd64 initramfs-tools cloud-init"
hash=$(sha256sum <"$0" | cut -c1-12)
dir=$cache/sysd/ci-$hash
if [ -e "$dir/.complete" ]; then
	echo "$dir"
	exit 0
fi
command -v mmdebstrap >/dev/null || { echo "ci_image: mmdebstrap not installed" >&2; exit 1; }
command -v mkfs.ext4 >/dev/null || { echo "ci_image: mkfs.ext4 not installed (e2fsprogs)" >&2; exit 1; }
mkdir -p "$cache/sysd"
tmp=$cache/sysd/.ci-tmp-$hash.$$
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp"
log=$cache/sysd/ci-$hash.log
start=$(date +%s)
# Recommends off: cloud-init recommends a lot (eatmydata, sudo, ...) it does
# not need for NoCloud. Only NoCloud is probed: the other datasources'
# probing (EC2 metadata timeouts among them) costs minutes under TCG.
# A blank machine-id: systemd makes one at first boot; cloud-init's
# instance-id comes from meta_data.
mmdebstrap --variant=minbase --include="$(echo $PKGS | tr ' ' ,)" \
    --aptopt='APT::Install-Recommends "false"' \
    --customize-hook='echo "datasource_list: [ NoCloud, None ]" >"$1/etc/cloud/cloud.cfg.d/90-vmstest.cfg"' \
    --customize-hook='echo localhost >"$1/etc/hostname"' \
    --customize-hook='rm -f "$1/etc/machine-id"; : >"$1/etc/machine-id"' \
    --customize-hook='printf "/dev/vda / ext4 defaults 0 1\n" >"$1/etc/fstab"' \
    --customize-hook='rm -rf "$1/var/cache/apt/archives/"*.deb "$1/var/lib/apt/lists/"*_Packages' \
    bookworm "$tmp/root" >"$log" 2>&1 || {
	echo "ci_image: mmdebstrap failed, see $log" >&2
	exit 1
}
cp "$tmp"/root/boot/vmlinuz-* "$tmp/vmlinuz"
cp "$tmp"/root/boot/initrd.img-* "$tmp/initrd.img"
chmod 0644 "$tmp/vmlinuz" "$tmp/initrd.img"
# Room for what the guest writes at boot (logs, cloud-init's state).
size=$(( $(du -sm "$tmp/root" | cut -f1) + 300 ))
mkfs.ext4 -q -F -L ciroot -d "$tmp/root" "$tmp/root.ext4" "${size}M" >>"$log" 2>&1 || {
	echo "ci_image: mkfs.ext4 failed, see $log" >&2
	exit 1
}
rm -rf "$tmp/root"
echo "built in $(( $(date +%s) - start )) s" >>"$log"
touch "$tmp/.complete"
rm -rf "$dir"
mv "$tmp" "$dir"
trap - EXIT
# Older builds of other package lists go.
for d in "$cache"/sysd/ci-*; do
	[ -d "$d" ] && [ "$d" != "$dir" ] && rm -rf "$d"
done
echo "$dir"
