#!/bin/bash
# qcow2 images with extended L2 entries (qemu-img -o extended_l2=on;
# incompatible bit 4): 128-bit L2 entries whose second half is a bitmap of
# 32 subclusters, each allocated, zero, or read from the backing file.
# vmimg reads qemu-img's images identically, writes images qemu-img checks
# clean, writes single subclusters of an overlay (the rest still comes from
# the backing file), and refuses impossible entries with a message.
# tests/unit/test_storage_extl2.c does the random-write differential.
. "$VMS_TOP/tests/lib/tap.sh"
scratch
V="$VMS_BIN/vmimg"
cd "$TMP" || exit 1
if ! command -v qemu-img >/dev/null || ! command -v qemu-io >/dev/null; then
	skip "extended L2 interop" "qemu-img/qemu-io not installed"
	done_testing; exit
fi

quiet() { "$@" >/dev/null; }
poke() { printf "$3" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none; }
be64() { od -An -j "$2" -N 8 -t x1 "$1" | tr -d ' \n'; }
reads_same() {
	rm -f ours.raw theirs.raw
	if "$V" convert -O raw "$2" ours.raw 2>err && qemu-img convert -O raw "$2" theirs.raw &&
	    cmp -s ours.raw theirs.raw; then ok "$1"; else notok "$1"; sed 's/^/# /' err; fi
}

head -c 3M /dev/urandom > rnd
truncate -s 24M src.raw
dd if=rnd of=src.raw bs=1M seek=2 conv=notrunc status=none
yes 'vmservice extended L2' | head -c 2M | dd of=src.raw bs=1M seek=10 conv=notrunc status=none
printf 'tail' | dd of=src.raw bs=1 seek=$((24*1024*1024 - 700)) conv=notrunc status=none

# --- qemu-img's images, read by us -------------------------------------------------
for cs in 64K 16K 2M; do
	qemu-img convert -O qcow2 -o extended_l2=on,cluster_size=$cs src.raw q$cs.qcow2
	reads_same "cluster_size=$cs: qemu-img's extended L2 image reads identically" q$cs.qcow2
	check "our check is clean on it" quiet "$V" check q$cs.qcow2
done
check_eq "info: the text is qemu-img's, line for line" \
    "$("$V" info q64K.qcow2)" "$(qemu-img info q64K.qcow2)"
check_match "info json: extended-l2 true" "$("$V" info --output=json q64K.qcow2)" \
    '"extended-l2": true'
# An overlay written in pieces smaller than a subcluster (2 KiB here), zeroed
# subclusters, whole zeroed clusters, a compressed cluster.
qemu-img create -q -f qcow2 -o extended_l2=on -b q64K.qcow2 -F qcow2 ov.qcow2
qemu-io -c 'write -P 0x11 2052k 100' -c 'write -P 0x12 2060k 6k' -c 'write -z 2100k 4k' \
    -c 'write -z 2176k 64k' -c 'write -c -P 0x13 4M 64k' -c 'write -P 0x14 10M 1' \
    ov.qcow2 >/dev/null
reads_same "qemu-img's overlay with subclusters reads identically" ov.qcow2
check "our check is clean on it" quiet "$V" check ov.qcow2

# --- our images, checked by qemu-img ------------------------------------------------
for o in "" ",cluster_size=16K" ",cluster_size=2M"; do
	check "vmimg convert -o extended_l2=on$o" \
	    "$V" convert -O qcow2 -o "extended_l2=on$o" src.raw ours.qcow2
	check "qemu-img check is clean ($o)" qemu-img check -q ours.qcow2
	check "qemu-img compare: equal to the source ($o)" qemu-img compare -q src.raw ours.qcow2
	check_match "qemu-img info: extended l2 ($o)" "$(qemu-img info ours.qcow2)" \
	    'extended l2: true'
done
check "vmimg convert -c -o extended_l2=on,compression_type=zstd" \
    "$V" convert -c -O qcow2 -o extended_l2=on,compression_type=zstd src.raw oz.qcow2
check "qemu-img check is clean" qemu-img check -q oz.qcow2
check "qemu-img compare: equal" qemu-img compare -q src.raw oz.qcow2

# --- our subcluster writes: commit 100 bytes into the middle of a chain -------------
# base.raw <- mid.qcow2 (extended L2, ours) <- top.qcow2 (extended L2, so
# that its data comes in subclusters too): committing top's
# small writes into mid must leave mid's other subclusters unallocated, so
# they keep showing base.raw.
cp src.raw base.raw
"$V" create -f qcow2 -o extended_l2=on -b base.raw -F raw mid.qcow2
qemu-img create -q -f qcow2 -o extended_l2=on -b mid.qcow2 -F qcow2 top.qcow2
qemu-io -c 'write -P 0x21 2052k 100' -c 'write -P 0x22 10M 3k' -c 'write -z 12M 64k' \
    top.qcow2 >/dev/null
qemu-img convert -O raw top.qcow2 want.raw
check "commit small writes into our extended L2 image" quiet "$V" commit top.qcow2
check "qemu-img reads the chain as before" qemu-img compare -q want.raw mid.qcow2
check "qemu-img check is clean" qemu-img check -q mid.qcow2
map=$(qemu-img map --output=json mid.qcow2)
check_match "qemu-img map: 2 KiB of data (a subcluster) at 2 MiB + 4 KiB" "$map" \
    '"start": 2101248, "length": 2048, "depth": 0,[^}]*"data": true'
check_match "qemu-img map: the 2 subclusters before it still in the backing file" "$map" \
    '"start": 2097152, "length": 4096, "depth": 1'
check_match "qemu-img map: 4 KiB (two subclusters) at 10 MiB" "$map" \
    '"start": 10485760, "length": 4096, "depth": 0,[^}]*"data": true'
check_match "qemu-img map: 12 MiB zeroed without data" "$map" \
    '"start": 12582912, "length": 65536, "depth": 0, "present": true, "zero": true, "data": false'

# --- refusals -------------------------------------------------------------------------
"$V" create -f qcow2 -o extended_l2=on,cluster_size=4K x.qcow2 1M 2>err
check_eq "extended_l2 with 4 KiB clusters: refused" "$?" 1
check_match "... saying it needs 16K" "$(cat err)" 'at least 16K'
"$V" create -f qcow2 -o extended_l2=on,compat=0.10 x.qcow2 1M 2>err
check_eq "extended_l2 with compat=0.10: refused" "$?" 1
cp q64K.qcow2 small.qcow2; poke small.qcow2 23 '\014'	# cluster_bits 12
"$V" info small.qcow2 >/dev/null 2>err
check_match "an image with extended L2 and 4 KiB clusters: refused" "$(cat err)" \
    'extended L2 entries with cluster_bits 12'
# The first L2 entry of ov.qcow2's table for 2 MiB..: bitmap both allocated and zero.
l1=$((16#$(be64 ov.qcow2 40)))
l2=$(( 16#$(be64 ov.qcow2 $l1) & 0xfffffffffe00 ))
e=$((l2 + 32 * 16))	# guest cluster 32 = 2 MiB
cp ov.qcow2 both.qcow2; poke both.qcow2 $((e + 8)) '\000\000\000\001\000\000\000\001'
"$V" convert -O raw both.qcow2 both.raw 2>err; rc=$?
check_eq "a subcluster both allocated and zero: exit 1" "$rc" 1
check_match "... the message names the guest offset and the bitmap" "$(cat err)" \
    'guest offset 2097152: subclusters both allocated and zero'
cp ov.qcow2 nohost.qcow2; poke nohost.qcow2 "$e" '\000\000\000\000\000\000\000\000'
"$V" convert -O raw nohost.qcow2 nohost.raw 2>err; rc=$?
check_eq "allocated subclusters without a host cluster: exit 1" "$rc" 1
check_match "... saying so" "$(cat err)" 'without a host cluster'

done_testing
