#!/bin/bash
# qcow2 images with compression_type=zstd (incompatible feature bit 3, header
# byte 104 = 1), as qemu-img writes them: compressed clusters are zstd
# frames. vmimg reads them identically to qemu-img, writes into them, and
# refuses a damaged frame or an inconsistent header with a message.
. "$VMS_TOP/tests/lib/tap.sh"
scratch
V="$VMS_BIN/vmimg"
cd "$TMP" || exit 1
if ! command -v qemu-img >/dev/null || ! command -v qemu-io >/dev/null; then
	skip "zstd qcow2 interop" "qemu-img/qemu-io not installed"
	done_testing; exit
fi

quiet() { "$@" >/dev/null; }
poke() { printf "$3" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none; }
# reads_same DESC IMAGE: our raw conversion equals qemu-img's.
reads_same() {
	rm -f ours.raw theirs.raw
	if "$V" convert -O raw "$2" ours.raw 2>err && qemu-img convert -O raw "$2" theirs.raw &&
	    cmp -s ours.raw theirs.raw; then ok "$1"; else notok "$1"; sed 's/^/# /' err; fi
}
ncompressed() {
	qemu-img check --output=json "$1" | sed -n 's/.*"compressed-clusters": \([0-9]*\).*/\1/p'
}

# A 24 MiB source: zeros, random data (does not compress), text (does), a
# short write near the end (a last cluster that is mostly zeros).
head -c 3M /dev/urandom > rnd
truncate -s 24M src.raw
dd if=rnd of=src.raw bs=1M seek=2 conv=notrunc status=none
yes 'vmservice zstd test' | head -c 5M | dd of=src.raw bs=1M seek=10 conv=notrunc status=none
printf 'tail' | dd of=src.raw bs=1 seek=$((24*1024*1024 - 700)) conv=notrunc status=none

# --- qemu-img convert -c -o compression_type=zstd ---------------------------------
for cs in 64K 4K 2M; do
	qemu-img convert -c -O qcow2 -o compression_type=zstd,cluster_size=$cs src.raw z$cs.qcow2
	n=$(ncompressed z$cs.qcow2)
	check "cluster_size=$cs: qemu-img wrote zstd clusters ($n compressed)" test "${n:-0}" -gt 0
	reads_same "cluster_size=$cs: vmimg reads qemu-img's zstd image identically" z$cs.qcow2
	check "... and equal to the source" cmp -s ours.raw src.raw
	check "our check is clean on it" quiet "$V" check z$cs.qcow2
done
check_eq "info: the text is qemu-img's, line for line" \
    "$("$V" info z64K.qcow2)" "$(qemu-img info z64K.qcow2)"
check_match "info json: compression-type zstd" "$("$V" info --output=json z64K.qcow2)" \
    '"compression-type": "zstd"'

# --- qemu-img create -o compression_type=zstd, then compressed writes ------------
qemu-img create -q -f qcow2 -o compression_type=zstd zc.qcow2 24M
qemu-io -c 'write -c -P 0x41 0 64k' -c 'write -c -P 0x42 1M 128k' \
    -c 'write -P 0x43 4M 100k' -c 'write -z 8M 64k' zc.qcow2 >/dev/null
reads_same "qemu-img create + qemu-io write -c: read identically" zc.qcow2

# --- writing into a zstd image: a partial write over a compressed cluster ----------
cp z64K.qcow2 w.qcow2
qemu-img create -q -f qcow2 -b w.qcow2 -F qcow2 top.qcow2
qemu-io -c 'write -P 0x5a 10M 1000' -c 'write -P 0x5b 23M 70000' top.qcow2 >/dev/null
qemu-img convert -O raw top.qcow2 want.raw
check "commit an overlay into it (old cluster content decompressed)" "$V" commit top.qcow2
check "qemu-img reads what we wrote" qemu-img compare -q want.raw w.qcow2
check "qemu-img check is clean" qemu-img check -q w.qcow2
check_match "still a zstd image" "$(qemu-img info w.qcow2)" 'compression type: zstd'

# --- vmimg writes zstd images: convert -c -o compression_type=zstd, create -o ------
for o in "" ",cluster_size=4K" ",cluster_size=2M" ",refcount_bits=1"; do
	check "vmimg convert -c -o compression_type=zstd$o" \
	    "$V" convert -c -O qcow2 -o "compression_type=zstd$o" src.raw ours.qcow2
	check "qemu-img check is clean ($o)" qemu-img check -q ours.qcow2
	check "qemu-img compare: equal to the source ($o)" qemu-img compare -q src.raw ours.qcow2
	check_match "qemu-img info: compression type zstd ($o)" "$(qemu-img info ours.qcow2)" \
	    'compression type: zstd'
	n=$(ncompressed ours.qcow2)
	check "qemu-img counts zstd clusters ($n)" test "${n:-0}" -gt 0
	reads_same "and we read our own image as qemu-img does ($o)" ours.qcow2
done
# Size on a compressible source (8 MiB of numbers as text): the same frames
# as qemu-img's within a cluster of layout, and smaller than zlib's.
seq 1 1500000 | head -c 8M > txt.raw
"$V" convert -c -O qcow2 -o compression_type=zstd txt.raw zs.qcow2
"$V" convert -c -O qcow2 txt.raw zl.qcow2
qemu-img convert -c -O qcow2 -o compression_type=zstd txt.raw qzs.qcow2
sz() { stat -c %s "$1"; }
diag "8 MiB of text: vmimg zstd $(sz zs.qcow2) B, vmimg zlib $(sz zl.qcow2) B," \
    "qemu-img zstd $(sz qzs.qcow2) B"
check "zstd output no bigger than qemu-img's plus one cluster" \
    test "$(sz zs.qcow2)" -le $(( $(sz qzs.qcow2) + 65536 ))
check "zstd output smaller than zlib's" test "$(sz zs.qcow2)" -lt "$(sz zl.qcow2)"
check "vmimg create -o compression_type=zstd" \
    "$V" create -f qcow2 -o compression_type=zstd new.qcow2 16M
check_match "qemu-img sees a zstd image" "$(qemu-img info new.qcow2)" 'compression type: zstd'
qemu-io -c 'write -c -P 0x61 0 1M' -c 'write -P 0x62 2M 100k' new.qcow2 >/dev/null
reads_same "QEMU's zstd writes into our new image read identically" new.qcow2
check "qemu-img check is clean" qemu-img check -q new.qcow2
"$V" convert -c -O qcow2 -o compression_type=zstd,compat=0.10 src.raw v2.qcow2 2>err
check_eq "zstd with compat=0.10: refused" "$?" 1
check_match "... saying it needs compat=1.1" "$(cat err)" 'needs compat=1.1'
"$V" convert -O raw -o compression_type=zstd src.raw r.raw 2>err
check_eq "compression_type for raw output: refused" "$?" 1
check_match "... as a qcow2 option" "$(cat err)" 'compression_type is a qcow2 option'
"$V" create -f qcow2 -o compression_type=lz4 x.qcow2 1M 2>err
check_eq "compression_type=lz4: refused" "$?" 1
# Emptying an overlay after commit recreates it: still zstd.
"$V" create -f qcow2 -o compression_type=zstd -b zs.qcow2 -F qcow2 ov.qcow2
qemu-io -c 'write -P 0x63 0 64k' ov.qcow2 >/dev/null
check "commit from a zstd overlay" quiet "$V" commit ov.qcow2
check_match "the emptied overlay keeps compression_type=zstd" "$(qemu-img info ov.qcow2)" \
    'compression type: zstd'

# --- damage and nonsense are refused, without a crash ------------------------------
cp z64K.qcow2 bad.qcow2
# The first zstd frame magic (28 b5 2f fd) after the metadata, overwritten.
at=$(LC_ALL=C grep -obUaP '\x28\xb5\x2f\xfd' bad.qcow2 | head -n 1 | cut -d: -f1)
check "found a zstd frame in the image" test -n "$at"
poke bad.qcow2 "${at:-0}" '\000\000\000\000'
"$V" convert -O raw bad.qcow2 bad.raw 2>err; rc=$?
check_eq "a damaged frame: exit 1" "$rc" 1
check_match "... the message names the cluster and zstd" "$(cat err)" \
    'compressed cluster at guest offset [0-9]+ .*bad zstd data'
cp z64K.qcow2 nobit.qcow2; poke nobit.qcow2 79 '\000'	# clear incompat bit 3
"$V" info nobit.qcow2 >/dev/null 2>err; rc=$?
check_eq "compression_type 1 without the feature bit: refused" "$rc" 1
check_match "... saying so" "$(cat err)" 'compression_type 1 does not match'
cp z64K.qcow2 two.qcow2; poke two.qcow2 104 '\002'
"$V" info two.qcow2 >/dev/null 2>err; rc=$?
check_eq "compression_type 2: refused" "$rc" 1
check_match "... as unsupported" "$(cat err)" 'compression_type 2 is not supported'

done_testing
