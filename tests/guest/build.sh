#!/bin/sh
# Build the vmservice test guest (a Debian kernel + busybox initramfs) into a cache
# outside git. Idempotent: a second run with unchanged inputs is a no-op (~0.05 s).
#
#   tests/guest/build.sh [--force]
#
# Only --force (or an empty cache) asks apt which kernel package is current: a newer
# one (after apt-get update) is picked up with --force.
# Prints on stdout what to boot, as KEY=VALUE lines (tests/lib/guest.sh reads them):
#   GUEST_KERNEL=...          vmlinux if it could be made, else vmlinuz
#   GUEST_VMLINUZ=...         the packaged bzImage
#   GUEST_INITRD=...          the initramfs of this builder version
#   GUEST_KERNEL_PACKAGE=...  the Debian package the kernel came from
#   GUEST_AGENT_VERSION=...   the version of Debian's qemu-guest-agent in the initramfs
# Cache, $VMS_CACHE/guest (VMS_CACHE defaults to ${XDG_CACHE_HOME:-$HOME/.cache}/vmservice):
#   vmlinuz, vmlinux, initrd.img, kernel-package, stamp
#                    the latest build, for use by hand (hard links / copies)
#   initrd-STAMP.img one initramfs for all flavours, per builder version (STAMP =
#                    hash of build.sh, init, busybox and qemu-ga), so worktrees at different
#                    versions sharing the cache never boot each other's initramfs;
#                    the kernel command line picks the flavour (see tests/lib/guest.sh)
#   build-STAMP.env  the KEY=VALUE lines above for that version; its presence (with
#                    the files it names) makes the build a no-op
#   debs/            the downloaded kernel .deb
#   pkg/NAME/        from that .deb: vmlinuz; vmlinux, the same kernel uncompressed,
#                    an ELF that QEMU boots through its PVH entry (made when the kernel
#                    has CONFIG_PVH=y; boots ~2.5 s faster under TCG because the
#                    bzImage spends that long decompressing itself); modules/*.ko
#   qga/             the guest agent: qemu-guest-agent_*.deb and its usr/sbin/qemu-ga
#                    (Debian's current candidate, asked for only on --force or an empty
#                    qga/). Kept outside pkg/ and debs/, which builders of earlier
#                    versions prune to the kernel. The initramfs gets qemu-ga, every
#                    library `ldd` resolves for it on this host and the dynamic loader,
#                    copied at pack time (the initramfs carries its own copies, so a
#                    later host upgrade does not break a cached one).
# Needs: apt-get, dpkg-deb, busybox-static, cpio, gzip, xz, sha256sum, flock, ldd, and
# qemu-ga's libraries on the host (libglib2.0-0 libnuma1 liburing2 libudev1, which
# qemu-system-x86 depends on anyway); root for `apt-get update` on a machine whose apt
# lists are empty.
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
net/core/failover.ko drivers/net/net_failover.ko drivers/net/virtio_net.ko
drivers/misc/pvpanic/pvpanic.ko drivers/misc/pvpanic/pvpanic-mmio.ko
drivers/char/virtio_console.ko
drivers/virtio/virtio_balloon.ko
fs/efivarfs/efivarfs.ko"
BUSYBOX=/bin/busybox
# Bump when what is taken from the qemu-guest-agent package changes, to redo qga/.
QGA_RECIPE=1

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

# The guest agent, first: its binary is part of the stamp. Only --force or a missing
# qga/ asks apt (seconds on a loaded machine) which version is current.
qga=$out/qga
fetch_qga() {
	qver=$(apt-cache policy qemu-guest-agent 2>/dev/null | sed -n 's/^ *Candidate: //p')
	if [ -z "$qver" ] || [ "$qver" = "(none)" ]; then
		log "apt knows no qemu-guest-agent, running apt-get update"
		apt-get update -qq || die "apt-get update failed"
		qver=$(apt-cache policy qemu-guest-agent 2>/dev/null | sed -n 's/^ *Candidate: //p')
		case "$qver" in "" | "(none)") die "apt has no qemu-guest-agent package" ;; esac
	fi
	mkdir -p "$qga"
	qdeb=
	for d in "$qga"/qemu-guest-agent_*.deb; do
		[ -f "$d" ] || continue
		# a truncated download fails dpkg-deb; another version is dead weight
		if [ "$(dpkg-deb -f "$d" Version 2>/dev/null)" = "$qver" ]; then qdeb=$d; else rm -f "$d"; fi
	done
	if [ -z "$qdeb" ]; then
		log "downloading qemu-guest-agent $qver"
		(cd "$qga" && apt-get download -q "qemu-guest-agent=$qver" 2>&1 |
			grep -v '^W: Download is performed unsandboxed' >&2) || true
		qdeb=$(ls "$qga"/qemu-guest-agent_*.deb 2>/dev/null | head -n1 || true)
		[ -n "$qdeb" ] || die "apt-get download qemu-guest-agent=$qver failed"
	fi
	# a download cut short passes the control check above but not this: fetch it again
	# next time
	dpkg-deb --fsys-tarfile "$qdeb" | tar -xO ./usr/sbin/qemu-ga >"$qga/qemu-ga.tmp" ||
		{ rm -f "$qdeb" "$qga/qemu-ga.tmp"; die "no usr/sbin/qemu-ga in $qdeb (removed it)"; }
	chmod 755 "$qga/qemu-ga.tmp"
	mv "$qga/qemu-ga.tmp" "$qga/qemu-ga"
	echo "$qver" >"$qga/version"
	echo $QGA_RECIPE >"$qga/done"
}
if [ $force = 1 ] || [ "$(cat "$qga/done" 2>/dev/null)" != $QGA_RECIPE ] || [ ! -x "$qga/qemu-ga" ]; then
	fetch_qga
fi

stamp=$(cat "$here/build.sh" "$here/init" $BUSYBOX "$qga/qemu-ga" | sha256sum | cut -c1-16)
envf=$out/build-$stamp.env
if [ $force = 0 ] && [ -f "$envf" ]; then
	complete=1
	while IFS='=' read -r key val; do
		case "$key" in GUEST_KERNEL|GUEST_VMLINUZ|GUEST_INITRD) [ -f "$val" ] || complete=0 ;; esac
	done <"$envf"
	if [ $complete = 1 ]; then
		cat "$envf"
		exit 0
	fi
fi

# Bump when what is taken from the package changes, to redo pkg/NAME.
PKG_RECIPE=2

# The kernel package: the one already unpacked here unless --force (apt-cache takes
# seconds on a loaded machine), else whatever linux-image-amd64 depends on now.
kpkg=
if [ $force = 0 ] && [ -f "$out/kernel-package" ]; then
	kpkg=$(cat "$out/kernel-package")
	[ "$(cat "$out/pkg/$kpkg/done" 2>/dev/null)" = $PKG_RECIPE ] || kpkg=
fi
kpkg_of() { apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[^ ]*\)$/\1/p' | head -n1; }
[ -n "$kpkg" ] || kpkg=$(kpkg_of)
if [ -z "$kpkg" ]; then
	log "apt lists look empty, running apt-get update"
	apt-get update -qq || die "apt-get update failed"
	kpkg=$(kpkg_of)
	[ -n "$kpkg" ] || die "apt-cache depends linux-image-amd64 names no kernel package"
fi
case "$kpkg" in *[!a-z0-9.+-]*) die "unexpected kernel package name '$kpkg'" ;; esac

pkgdir=$out/pkg/$kpkg
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

# A module added to MODULES since pkg/NAME was unpacked: add just it. Other
# worktrees share the cache, so pkg/NAME is only ever added to here, never redone.
missing=
for m in $MODULES; do [ -f "$pkgdir/modules/$(basename "$m")" ] || missing="$missing $m"; done
if [ -n "$missing" ]; then
	deb=$(ls "$out/debs/${kpkg}_"*.deb 2>/dev/null | head -n1 || true)
	[ -n "$deb" ] || die "$kpkg .deb gone from $out/debs: run with --force"
	log "adding modules$missing"
	tmp=$(mktemp -d "$out/unpack.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	set --
	for m in $missing; do set -- "$@" "*/lib/modules/*/kernel/$m*"; done
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" --wildcards "$@" ||
		die "unpacking$missing from $deb failed"
	kdir=$(ls -d "$tmp"/lib/modules/* "$tmp"/usr/lib/modules/* 2>/dev/null | head -n1)
	for m in $missing; do
		base=$kdir/kernel/$m
		name=$(basename "$m")
		if [ -f "$base" ]; then cp "$base" "$pkgdir/modules/$name.tmp"
		elif [ -f "$base.xz" ]; then xz -dc "$base.xz" >"$pkgdir/modules/$name.tmp"
		elif [ -f "$base.zst" ]; then zstd -dqc "$base.zst" >"$pkgdir/modules/$name.tmp"
		else die "module $m not found in $kpkg"
		fi
		mv "$pkgdir/modules/$name.tmp" "$pkgdir/modules/$name"
	done
	rm -rf "$tmp"; trap - EXIT
fi

log "packing initramfs"
root=$(mktemp -d "$out/root.XXXXXX")
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/sbin" "$root/lib/modules" "$root/proc" "$root/sys" "$root/dev" \
	"$root/etc" "$root/tmp" "$root/run" "$root/root" "$root/usr/sbin" "$root/var"
cp $BUSYBOX "$root/bin/busybox"
# Only /bin/sh for the kernel to run /init; init installs the other applet links
# itself (400 ln processes here take seconds on a loaded machine).
ln -s busybox "$root/bin/sh"
# qemu-ga's guest-set-time execs /sbin/hwclock (and fails if it is missing); its
# state file goes to /var/run (Debian's --localstatedir).
ln -s ../bin/busybox "$root/sbin/hwclock"
ln -s ../run "$root/var/run"
# qemu-ga with what the dynamic loader needs to run it: the libraries ldd resolves
# on this host (Debian's, the versions the package was built against or newer) and
# the loader itself, at the paths ldd names (all on the loader's default path).
cp "$qga/qemu-ga" "$root/usr/sbin/qemu-ga"
qlibs=$(ldd "$qga/qemu-ga") || die "ldd $qga/qemu-ga failed"
if printf '%s\n' "$qlibs" | grep -q 'not found'; then
	die "qemu-ga needs libraries this host lacks (apt-get install libglib2.0-0 libnuma1 liburing2 libudev1):
$(printf '%s\n' "$qlibs" | grep 'not found')"
fi
for lib in $(printf '%s\n' "$qlibs" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
	mkdir -p "$root${lib%/*}"
	cp -L "$lib" "$root$lib"
done
[ -n "$(ls "$root"/lib64/ld-linux-* 2>/dev/null)" ] || die "ldd named no dynamic loader for qemu-ga"
cp "$pkgdir"/modules/*.ko "$root/lib/modules/"
cp "$here/init" "$root/init"
chmod 755 "$root/init"
# The kernel opens /dev/console for /init before devtmpfs is mounted; without the
# node /init starts with no stdio (init re-opens the console itself when we are
# not root and cannot mknod).
mknod "$root/dev/console" c 5 1 2>/dev/null || true
initrd=$out/initrd-$stamp.img
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -6n >"$initrd.tmp"
mv "$initrd.tmp" "$initrd"
rm -rf "$root"; trap - EXIT

kernel=$pkgdir/vmlinuz
[ -f "$pkgdir/vmlinux" ] && kernel=$pkgdir/vmlinux
{
	echo "GUEST_KERNEL=$kernel"
	echo "GUEST_VMLINUZ=$pkgdir/vmlinuz"
	echo "GUEST_INITRD=$initrd"
	echo "GUEST_KERNEL_PACKAGE=$kpkg"
	echo "GUEST_AGENT_VERSION=$(cat "$qga/version")"
} >"$envf.tmp"
mv "$envf.tmp" "$envf"

# The latest build under fixed names; links, replaced atomically (a running QEMU
# keeps what it opened).
publish() {
	# mv refuses to rename a link onto itself
	[ "$(stat -c %d:%i "$1")" = "$(stat -c %d:%i "$2" 2>/dev/null)" ] && return 0
	ln -f "$1" "$2.tmp" 2>/dev/null || cp "$1" "$2.tmp"
	mv -f "$2.tmp" "$2"
}
publish "$pkgdir/vmlinuz" "$out/vmlinuz"
if [ -f "$pkgdir/vmlinux" ]; then publish "$pkgdir/vmlinux" "$out/vmlinux"; else rm -f "$out/vmlinux"; fi
publish "$initrd" "$out/initrd.img"
echo "$kpkg" >"$out/kernel-package"
echo "$stamp" >"$out/stamp"

# Kernels that linux-image-amd64 no longer points at are dead weight (70 MB each);
# builds of other versions are kept a week (a few MB).
for old in "$out"/pkg/* "$out"/debs/*.deb; do
	[ -e "$old" ] || continue
	case "$(basename "$old")" in "$kpkg" | "${kpkg}_"*) ;; *) rm -rf "$old" ;; esac
done
find "$out" -maxdepth 1 \( -name 'initrd-*.img' -o -name 'build-*.env' \) -mtime +7 -delete
log "done: $initrd ($kpkg)"
cat "$envf"
