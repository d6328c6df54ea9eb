#!/bin/sh
# The Debian 12 root file system tests/sysd boots with systemd-nspawn (systemd
# as PID 1), built once with mmdebstrap into $VMS_CACHE/sysd/rootfs-HASH and
# reused: the tests never write to it (nspawn --volatile=overlay keeps their
# changes in a tmpfs). HASH covers this script, so editing the package list
# builds a new one. Prints the directory. Needs root, mmdebstrap and the
# host's apt sources reachable (network); `make sysd-rootfs` runs it.
#
# The packages are the .deb's run-time dependencies and what the tests use
# inside, so that `apt install ./vmservice_*.deb` needs no network there.
# systemd-container brings systemd-machined (and machinectl): the VMs'
# machines and scopes of tests/sysd/test_machine.sh.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
cache=${VMS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vmservice}
PKGS="systemd-sysv dbus qemu-system-x86 libconfuse2 libjson-c5 libcap2 libzstd1
zlib1g libsystemd0 adduser procps socat systemd-container"
hash=$(cat "$0" | sha256sum | cut -c1-12)
dir=$cache/sysd/rootfs-$hash
if [ -e "$dir/.complete" ]; then
	echo "$dir"
	exit 0
fi
command -v mmdebstrap >/dev/null || { echo "rootfs: mmdebstrap not installed" >&2; exit 1; }
mkdir -p "$cache/sysd"
tmp=$cache/sysd/.tmp-$hash.$$
trap 'rm -rf "$tmp"' EXIT
inc=$(echo $PKGS | tr ' ' ,)
start=$(date +%s)
# --variant=minbase: essential + required + apt (GUEST.md: 35-75 s here).
# Recommends off: qemu-system-x86 would pull a desktop's worth.
mmdebstrap --variant=minbase --include="$inc" \
    --aptopt='APT::Install-Recommends "false"' \
    --customize-hook='echo vmstest >"$1/etc/hostname"' \
    --customize-hook='rm -f "$1/etc/machine-id"; : >"$1/etc/machine-id"' \
    bookworm "$tmp" >"$cache/sysd/rootfs-$hash.log" 2>&1 || {
	echo "rootfs: mmdebstrap failed, see $cache/sysd/rootfs-$hash.log" >&2
	exit 1
}
echo "built in $(( $(date +%s) - start )) s" >>"$cache/sysd/rootfs-$hash.log"
touch "$tmp/.complete"
rm -rf "$dir"
mv "$tmp" "$dir"
trap - EXIT
# Older builds of other package lists go.
for d in "$cache"/sysd/rootfs-*; do
	[ -d "$d" ] && [ "$d" != "$dir" ] && rm -rf "$d"
done
echo "$dir"
