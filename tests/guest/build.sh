#!/bin/sh
# Build the vmservice test guest (a Debian kernel + busybox initramfs) into a cache
# outside git. Idempotent: a second run with unchanged inputs is a no-op.
#
#   tests/guest/build.sh [--force]
#
# Outputs, in $VMS_CACHE/guest (VMS_CACHE defaults to ${XDG_CACHE_HOME:-$HOME/.cache}/vmservice):
#   vmlinuz          the kernel as packaged (a bzImage)
#   vmlinux          the same kernel uncompressed, an ELF that QEMU boots through its
#                    PVH entry; made when the kernel has CONFIG_PVH=y. Boots ~1.5 s
#                    faster under TCG than vmlinuz (no self-decompression); use it
#                    when present (guest_build's GUEST_KERNEL does)
#   initrd.img       one initramfs for both flavours; the kernel command line picks one
#                    (vmsguest=cooperative | vmsguest=stubborn, see tests/guest/init)
#   kernel-package   the Debian package the kernel came from
#   stamp            hash of the inputs of the last successful build
#   debs/            the downloaded kernel .deb
#   pkg/NAME/        vmlinuz, vmlinux + the few modules the guest loads, from that .deb
# Needs: apt-get, dpkg-deb, busybox-static, cpio, gzip, sha256sum, flock (root for
# `apt-get update` on a machine whose apt lists are empty).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
: "${VMS_CACHE:=${XDG_CACHE_HOME:-$HOME/.cache}/vmservice}"
out=$VMS_CACHE/guest
force=0
[ "${1:-}" = --force ] && force=1

# Modules the init loads, as paths under lib/modules/VERSION/kernel/.
MODULES="drivers/acpi/button.ko drivers/input/evdev.ko
drivers/virtio/virtio.ko drivers/virtio/virtio_ring.ko drivers/virtio/virtio_pci.ko
drivers/virtio/virtio_pci_modern_dev.ko drivers/virtio/virtio_pci_legacy_dev.ko
drivers/block/virtio_blk.ko
net/core/failover.ko drivers/net/net_failover.ko drivers/net/virtio_net.ko"
BUSYBOX=/bin/busybox

# extract_vmlinux BZIMAGE OUT: the compressed payload of a bzImage, decompressed
# (boot protocol 2.08+: setup_sects at 0x1f1, payload_offset/length at 0x248/0x24c,
# little-endian like this host).
extract_vmlinux() {
	sects=$(od -An -tu1 -j497 -N1 "$1" | tr -d ' ')
	[ "$sects" = 0 ] && sects=4
	poff=$(od -An -tu4 -j584 -N4 "$1" | tr -d ' ')
	plen=$(od -An -tu4 -j588 -N4 "$1" | tr -d ' ')
	start=$(( (sects + 1) * 512 + poff ))
	magic=$(tail -c +$((start + 1)) "$1" | head -c 4 | od -An -tx1 | tr -d ' \n')
	case "$magic" in
	fd377a58) unz="xz -dc --single-stream" ;;
	1f8b*) unz="gzip -dc" ;;
	28b52ffd) unz="zstd -dqc" ;;
	*) return 1 ;;
	esac
	# the payload ends with its 4-byte uncompressed size, which the decompressors
	# ignore (xz --single-stream) or warn about (gzip: trailing garbage)
	tail -c +$((start + 1)) "$1" | head -c "$plen" | $unz >"$2" 2>/dev/null
	[ "$(head -c 4 "$2" | od -An -tx1 | tr -d ' \n')" = 7f454c46 ]
}

log() { echo "guest-build: $*" >&2; }
die() { echo "guest-build: error: $*" >&2; exit 1; }

mkdir -p "$out"
# Tests may build concurrently; one builder at a time per cache.
exec 9>"$out/.lock"
flock -w 600 9 || die "timed out waiting for $out/.lock"

[ -x $BUSYBOX ] || die "$BUSYBOX missing (install busybox-static: make deps)"
stamp=$(cat "$here/build.sh" "$here/init" $BUSYBOX | sha256sum | cut -d' ' -f1)
if [ $force = 0 ] && [ -f "$out/stamp" ] && [ "$(cat "$out/stamp")" = "$stamp" ] &&
	[ -f "$out/vmlinuz" ] && [ -f "$out/initrd.img" ]; then
	exit 0
fi

# The kernel package: whatever linux-image-amd64 depends on now.
kpkg_of() { apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[^ ]*\)$/\1/p' | head -n1; }
kpkg=$(kpkg_of)
if [ -z "$kpkg" ]; then
	log "apt lists look empty, running apt-get update"
	apt-get update -qq || die "apt-get update failed"
	kpkg=$(kpkg_of)
	[ -n "$kpkg" ] || die "apt-cache depends linux-image-amd64 names no kernel package"
fi
case "$kpkg" in *[!a-z0-9.+-]*) die "unexpected kernel package name '$kpkg'" ;; esac

pkgdir=$out/pkg/$kpkg
# Bump when what is taken from the package changes, to redo pkg/NAME.
PKG_RECIPE=2
if [ "$(cat "$pkgdir/done" 2>/dev/null)" != $PKG_RECIPE ]; then
	mkdir -p "$out/debs"
	deb=$(ls "$out/debs/${kpkg}_"*.deb 2>/dev/null | head -n1 || true)
	# an interrupted download leaves a truncated file: check it is a whole package
	if [ -n "$deb" ] && ! dpkg-deb --info "$deb" >/dev/null 2>&1; then
		log "discarding broken $(basename "$deb")"
		rm -f "$deb"; deb=
	fi
	if [ -z "$deb" ]; then
		log "downloading $kpkg"
		# Exactly that name, never a glob: a glob fetches every old version (GUEST.md).
		# apt warns when root downloads into a directory _apt cannot write; harmless.
		(cd "$out/debs" && apt-get download -q "$kpkg" 2>&1 |
			grep -v '^W: Download is performed unsandboxed' >&2) || true
		deb=$(ls "$out/debs/${kpkg}_"*.deb 2>/dev/null | head -n1 || true)
		[ -n "$deb" ] || die "apt-get download $kpkg failed"
	fi
	log "unpacking $(basename "$deb")"
	tmp=$(mktemp -d "$out/unpack.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	# Only the kernel and our modules (the whole package unpacks to 400 MB). The
	# leading * also matches usr-merged packages (./usr/lib/modules).
	set -- './boot/vmlinuz-*' './boot/config-*'
	for m in $MODULES; do set -- "$@" "*/lib/modules/*/kernel/$m*"; done
	mkdir "$tmp/x"
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp/x" --wildcards "$@" ||
		die "unpacking $deb failed (a module missing from $kpkg?)"
	rm -rf "$pkgdir"; mkdir -p "$pkgdir/modules"
	cp "$tmp"/x/boot/vmlinuz-* "$pkgdir/vmlinuz"
	kdir=$(ls -d "$tmp"/x/lib/modules/* "$tmp"/x/usr/lib/modules/* 2>/dev/null | head -n1)
	[ -n "$kdir" ] || die "no lib/modules in $kpkg"
	for m in $MODULES; do
		base=$kdir/kernel/$m
		name=$(basename "$m")
		# Debian 12 ships plain .ko; later kernels ship compressed modules, which
		# busybox insmod cannot load, so decompress here.
		if [ -f "$base" ]; then cp "$base" "$pkgdir/modules/$name"
		elif [ -f "$base.xz" ]; then xz -dc "$base.xz" >"$pkgdir/modules/$name"
		elif [ -f "$base.zst" ]; then zstd -dqc "$base.zst" >"$pkgdir/modules/$name"
		else die "module $m not found in $kpkg"
		fi
	done
	basename "$kdir" >"$pkgdir/kernel-version"
	if grep -qx 'CONFIG_PVH=y' "$tmp"/x/boot/config-*; then
		extract_vmlinux "$pkgdir/vmlinuz" "$pkgdir/vmlinux" ||
			{ log "could not extract vmlinux, guests boot the bzImage"; rm -f "$pkgdir/vmlinux"; }
	fi
	rm -rf "$tmp"; trap - EXIT
	echo $PKG_RECIPE >"$pkgdir/done"
fi

log "packing initramfs"
root=$(mktemp -d "$out/root.XXXXXX")
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/sbin" "$root/lib/modules" "$root/proc" "$root/sys" "$root/dev" \
	"$root/etc" "$root/tmp" "$root/run" "$root/root"
cp $BUSYBOX "$root/bin/busybox"
for app in $("$root/bin/busybox" --list); do
	[ "$app" = busybox ] || ln -s busybox "$root/bin/$app"
done
cp "$pkgdir"/modules/*.ko "$root/lib/modules/"
cp "$here/init" "$root/init"
chmod 755 "$root/init"
# The kernel opens /dev/console for /init before devtmpfs is mounted; without the
# node /init starts with no stdio (init re-opens the console itself when we are
# not root and cannot mknod).
mknod "$root/dev/console" c 5 1 2>/dev/null || true
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -6n >"$out/initrd.img.tmp"
cp "$pkgdir/vmlinuz" "$out/vmlinuz.tmp"
mv "$out/vmlinuz.tmp" "$out/vmlinuz"
if [ -f "$pkgdir/vmlinux" ]; then
	cp "$pkgdir/vmlinux" "$out/vmlinux.tmp"
	mv "$out/vmlinux.tmp" "$out/vmlinux"
else
	rm -f "$out/vmlinux"
fi
mv "$out/initrd.img.tmp" "$out/initrd.img"
echo "$kpkg" >"$out/kernel-package"
echo "$stamp" >"$out/stamp"
# Kernels that linux-image-amd64 no longer points at are dead weight (70 MB each).
for old in "$out"/pkg/* "$out"/debs/*.deb; do
	case "$(basename "$old")" in "$kpkg" | "${kpkg}_"*) ;; *) rm -rf "$old" ;; esac
done
rm -rf "$root"; trap - EXIT
log "done: $out/vmlinuz $out/initrd.img ($kpkg)"
