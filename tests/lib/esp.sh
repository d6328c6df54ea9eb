# shellcheck shell=bash
# EFI system partitions made at test time (tests/daemon/test_uefi_secure.sh):
# source "$VMS_TOP/tests/lib/esp.sh" after tests/lib/guest.sh (guest_build).
#
# Debian's signed boot chain, as on an installed Debian with Secure Boot:
#   shimx64.efi (shim-signed: signed by Microsoft's UEFI CA, which OVMF's .ms
#   variables enrol) -> grubx64.efi (grub-efi-amd64-signed: signed by Debian,
#   whose CA shim carries) -> the guest's kernel (linux-image-*-amd64, the
#   package tests/guest/build.sh unpacks: signed by Debian; grub has shim
#   verify it) + the test initramfs (not verified, as on Debian).
# The .debs are fetched with `apt-get download` into $VMS_CACHE/esp (outside
# git) and unpacked with dpkg-deb; the FAT image is made with mkfs.vfat and
# mtools: no loop device, no root mount.
#
# Functions: esp_fetch, esp_signed IMG APPEND, esp_unsigned IMG, esp_strip_sig IN OUT.

: "${VMS_CACHE:=${XDG_CACHE_HOME:-$HOME/.cache}/vmservice}"
ESP_DIR=$VMS_CACHE/esp

# esp_fetch: shim and grub unpacked in $ESP_DIR/x (a no-op when there); sets
# ESP_SHIM, ESP_GRUB. Non-zero (with a message) when they cannot be had.
esp_fetch() {
	ESP_SHIM=$ESP_DIR/x/usr/lib/shim/shimx64.efi.signed
	ESP_GRUB=$ESP_DIR/x/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed
	[ -s "$ESP_SHIM" ] && [ -s "$ESP_GRUB" ] && return 0
	mkdir -p "$ESP_DIR/debs" || return 1
	(cd "$ESP_DIR/debs" && apt-get download -q shim-signed grub-efi-amd64-signed) >&2 ||
		{ echo "esp_fetch: apt-get download shim-signed grub-efi-amd64-signed failed" >&2; return 1; }
	rm -rf "$ESP_DIR/x.tmp" && mkdir "$ESP_DIR/x.tmp" || return 1
	local d
	for d in "$ESP_DIR"/debs/*.deb; do dpkg-deb -x "$d" "$ESP_DIR/x.tmp" || return 1; done
	rm -rf "$ESP_DIR/x" && mv "$ESP_DIR/x.tmp" "$ESP_DIR/x"
	[ -s "$ESP_SHIM" ] && [ -s "$ESP_GRUB" ]
}

# esp_new IMG: an empty 32 MiB FAT image with EFI/BOOT.
esp_new() {
	rm -f "$1" && mkfs.vfat -C -n ESP "$1" 32768 >/dev/null &&
	    MTOOLS_SKIP_CHECK=1 mmd -i "$1" ::/EFI ::/EFI/BOOT ::/EFI/debian
}

# esp_signed IMG APPEND: the signed chain booting $GUEST_VMLINUZ with $GUEST_INITRD
# and kernel command line APPEND (grub.cfg where Debian's grub looks for it).
esp_signed() {
	local cfg
	cfg=$(mktemp "${TMPDIR:-/tmp}/grubcfg.XXXXXX") || return 1
	printf 'set timeout=0\nlinux /vmlinuz %s\ninitrd /initrd.img\nboot\n' "$2" >"$cfg"
	esp_new "$1" && MTOOLS_SKIP_CHECK=1 mcopy -i "$1" "$ESP_SHIM" ::/EFI/BOOT/BOOTX64.EFI &&
	    MTOOLS_SKIP_CHECK=1 mcopy -i "$1" "$ESP_GRUB" ::/EFI/BOOT/grubx64.efi &&
	    MTOOLS_SKIP_CHECK=1 mcopy -i "$1" "$cfg" ::/EFI/BOOT/grub.cfg &&
	    MTOOLS_SKIP_CHECK=1 mcopy -i "$1" "$cfg" ::/EFI/debian/grub.cfg &&
	    MTOOLS_SKIP_CHECK=1 mcopy -i "$1" "$GUEST_VMLINUZ" ::/vmlinuz &&
	    MTOOLS_SKIP_CHECK=1 mcopy -i "$1" "$GUEST_INITRD" ::/initrd.img
	local rc=$?
	rm -f "$cfg"
	return $rc
}

# esp_sig_size FILE: the size of a PE image's signature (its certificate table,
# data directory 4: PE32+ optional header at e_lfanew + 24, directories at +112).
esp_sig_size() {
	local off
	off=$(( $(od -An -tu4 -j 60 -N 4 "$1") + 24 + 112 + 4 * 8 + 4 ))
	od -An -tu4 -j "$off" -N 4 "$1" | tr -d ' '
}

# esp_strip_sig IN OUT: OUT is IN with its certificate table entry zeroed, i.e.
# the same EFI program unsigned (firmware ignores the PE checksum).
esp_strip_sig() {
	local off
	off=$(( $(od -An -tu4 -j 60 -N 4 "$1") + 24 + 112 + 4 * 8 ))
	cp "$1" "$2" && printf '\0\0\0\0\0\0\0\0' |
	    dd of="$2" bs=1 seek="$off" count=8 conv=notrunc 2>/dev/null
}

# esp_unsigned IMG: EFI/BOOT/BOOTX64.EFI is the guest's kernel (an EFI program)
# with its signature stripped.
esp_unsigned() {
	local k
	k=$(mktemp "${TMPDIR:-/tmp}/unsigned.XXXXXX") || return 1
	esp_strip_sig "$GUEST_VMLINUZ" "$k" && esp_new "$1" &&
	    MTOOLS_SKIP_CHECK=1 mcopy -i "$1" "$k" ::/EFI/BOOT/BOOTX64.EFI
	local rc=$?
	rm -f "$k"
	return $rc
}
