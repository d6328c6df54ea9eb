#!/bin/bash
# Encrypted qcow2 images (qemu-img -o encrypt.format=luks, and the old
# encrypt.format=aes qemu-img 7.2 still writes): vmimg does not decrypt, so
# every command refuses them with a message that names the encryption and
# how to get a plain copy: exit 1, never a crash, the image untouched, as a
# backing file too.
. "$VMS_TOP/tests/lib/tap.sh"
scratch
V="$VMS_BIN/vmimg"
cd "$TMP" || exit 1
if ! command -v qemu-img >/dev/null; then
	skip "encrypted qcow2 refusal" "qemu-img not installed"
	done_testing; exit
fi
T() { timeout 10 "$V" "$@"; }
SECRET="--object secret,id=sec0,data=vmservice"

for fmt in luks aes; do
	# LUKS times its key derivation by the CPU clock, which fails now and
	# then ("Unable to get accurate CPU usage") on a busy machine.
	for _ in 1 2 3 4 5; do
		# shellcheck disable=SC2086
		qemu-img create -q -f qcow2 $SECRET \
		    -o "encrypt.format=$fmt,encrypt.key-secret=sec0" e.qcow2 4M && break
		sleep 1
	done
	[ $fmt = luks ] && name=LUKS || name=AES
	cp e.qcow2 e.orig
	for cmd in "info e.qcow2" "check e.qcow2" "convert -O raw e.qcow2 e.raw" \
	    "resize e.qcow2 +1M" "commit e.qcow2" "rebase -u -b x.raw -F raw e.qcow2" \
	    "create -f qcow2 -b e.qcow2 -F qcow2 ov.qcow2"; do
		# shellcheck disable=SC2086
		T $cmd >/dev/null 2>err; rc=$?
		check_eq "$fmt: vmimg ${cmd%% *}: exit 1" "$rc" 1
		check_match "$fmt: vmimg ${cmd%% *}: the message names $name and a way out" \
		    "$(cat err)" "crypt_method [12] \\($name\\): encrypted images are not supported; qemu-img convert"
	done
	check "$fmt: the image is untouched" cmp -s e.qcow2 e.orig
	check "$fmt: no output file left by convert" test ! -e e.raw
	qemu-img create -q -f qcow2 -u -b e.qcow2 -F qcow2 ov2.qcow2 4M
	T convert -O raw ov2.qcow2 o.raw 2>err; rc=$?
	check_eq "$fmt: an overlay on it: exit 1" "$rc" 1
	check_match "$fmt: ... naming the backing file" "$(cat err)" 'backing chain: .*e.qcow2: crypt_method'
	rm -f e.qcow2 e.orig ov2.qcow2 o.raw
done

done_testing
