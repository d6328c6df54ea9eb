#!/bin/bash
# qcow2 images with an external data file (qemu-img -o data_file=NAME
# [,data_file_raw=on]; incompatible bit 2, header extension 0x44415441,
# autoclear bit 1): guest cluster v lives at offset v of the data file. vmimg
# reads qemu-img's images identically and writes ones qemu-img checks clean;
# with data_file_raw the data file is the raw image itself. The name is
# resolved relative to the image's directory; a missing or unsafe data file
# is refused with a message naming it, never waited for.
# qemu-img 7.2 resolves a relative data file name against its working
# directory, so it runs inside d/, where the images are.
. "$VMS_TOP/tests/lib/tap.sh"
scratch
V="$VMS_BIN/vmimg"
cd "$TMP" || exit 1
if ! command -v qemu-img >/dev/null || ! command -v qemu-io >/dev/null; then
	skip "external data file interop" "qemu-img/qemu-io not installed"
	done_testing; exit
fi
T() { timeout 10 "$V" "$@"; }
quiet() { "$@" >/dev/null; }
poke() { printf "$3" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none; }
reads_same() {	# DESC IMAGE (in the current directory)
	rm -f ours.raw theirs.raw
	if T convert -O raw "$2" ours.raw 2>err && qemu-img convert -O raw "$2" theirs.raw &&
	    cmp -s ours.raw theirs.raw; then ok "$1"; else notok "$1"; sed 's/^/# /' err; fi
}

mkdir d && cd d || exit 1
head -c 3M /dev/urandom > rnd
truncate -s 24M src.raw
dd if=rnd of=src.raw bs=1M seek=2 conv=notrunc status=none
yes 'vmservice data file' | head -c 2M | dd of=src.raw bs=1M seek=10 conv=notrunc status=none
printf 'tail' | dd of=src.raw bs=1 seek=$((24*1024*1024 - 700)) conv=notrunc status=none

# --- qemu-img's images, read by us ---------------------------------------------------
for o in "" ",data_file_raw=on" ",extended_l2=on" ",extended_l2=on,data_file_raw=on"; do
	rm -f q.qcow2 q.data
	qemu-img convert -O qcow2 -o "data_file=q.data$o" src.raw q.qcow2
	reads_same "qemu-img data_file$o: reads identically" q.qcow2
	check "... our check is clean" quiet T check q.qcow2
	check_eq "... info is qemu-img's, line for line" "$(T info q.qcow2)" "$(qemu-img info q.qcow2)"
	qemu-io -c 'write -P 0x31 100k 3k' -c 'write -z 1M 64k' -c 'write -z 2M 1k' \
	    -c 'write -P 0x32 0 1' q.qcow2 >/dev/null
	reads_same "... and after QEMU's writes and zero writes" q.qcow2
done
check_match "info json: data-file" "$(T info --output=json q.qcow2)" '"data-file": "q.data"'
# With a backing file (not raw): unallocated clusters come from it.
qemu-img create -q -f qcow2 -o data_file=ov.data -b src.raw -F raw ov.qcow2
qemu-io -c 'write -P 0x41 5M 10k' ov.qcow2 >/dev/null
reads_same "qemu-img data_file overlay on a backing file: reads identically" ov.qcow2

# --- our images, checked by qemu-img ------------------------------------------------
for o in "" ",data_file_raw=on" ",extended_l2=on" ",extended_l2=on,data_file_raw=on"; do
	rm -f w.qcow2 w.data
	check "vmimg convert -o data_file=w.data$o" \
	    T convert -O qcow2 -o "data_file=w.data$o" src.raw w.qcow2
	check "... qemu-img check is clean" qemu-img check -q w.qcow2
	check "... qemu-img compare: equal to the source" qemu-img compare -q src.raw w.qcow2
	check_match "... qemu-img info names the data file" "$(qemu-img info w.qcow2)" \
	    'data file: w.data'
	check "... the metadata stayed small" test "$(stat -c %s w.qcow2)" -lt 1048576
done
check "data_file_raw: the data file is the raw image, byte for byte" cmp -s w.data src.raw
# Our writes into qemu-img's raw-data-file image: zeros land in the data file.
rm -f q.qcow2 q.data
qemu-img convert -O qcow2 -o data_file=q.data,data_file_raw=on src.raw q.qcow2
qemu-img create -q -f qcow2 -b q.qcow2 -F qcow2 top.qcow2
qemu-io -c 'write -P 0x51 2M 5000' -c 'write -z 3M 128k' top.qcow2 >/dev/null
qemu-img convert -O raw top.qcow2 want.raw
check "commit into a raw-data-file image" quiet T commit top.qcow2
check "qemu-img check is clean" qemu-img check -q q.qcow2
check "qemu-img reads what we wrote" qemu-img compare -q want.raw q.qcow2
check "and the raw data file is that image, zeros included" cmp -s q.data want.raw
check "resize +1M grows the data file" quiet T resize q.qcow2 +1M
check_eq "... to the new size" "$(stat -c %s q.data)" $((25 << 20))
check "qemu-img check is clean" qemu-img check -q q.qcow2
"$V" convert -c -O qcow2 -o data_file=c.data src.raw c.qcow2 2>err
check_eq "convert -c with data_file: refused" "$?" 1
check_match "... saying why" "$(cat err)" 'not possible with an external data file'

# Creating truncates the data file: never one that is being read, nor the image.
rm -f w.qcow2 w.data
T convert -O qcow2 -o data_file=w.data src.raw w.qcow2
cp w.data w.data.orig
T convert -O raw w.qcow2 w.data 2>err; rc=$?
check_eq "convert onto the source's data file: refused" "$rc" 1
check_match "... saying so" "$(cat err)" 'the source image or one of its backing or data files'
T convert -O qcow2 -o data_file=w.data w.qcow2 w2.qcow2 2>err; rc=$?
check_eq "convert with the source's data file as the new data file: refused" "$rc" 1
check "... and the data file is untouched" cmp -s w.data w.data.orig
T create -f qcow2 -o data_file=self.qcow2 self.qcow2 1M 2>err; rc=$?
check_eq "an image as its own data file: refused" "$rc" 1
check_match "... saying so" "$(cat err)" 'is the image itself'

# --- the name: relative to the image, checked like a backing file name --------------
cd "$TMP" || exit 1
check "create d/rel.qcow2 -o data_file=rel.data from elsewhere" \
    T create -f qcow2 -o data_file=rel.data d/rel.qcow2 4M
check "the data file is made beside the image" test -f d/rel.data
(cd d && qemu-io -c 'write -P 0x61 64k 64k' rel.qcow2 >/dev/null)
(cd d && qemu-img convert -O raw rel.qcow2 ../rel.want)
T convert -O raw d/rel.qcow2 rel.raw 2>err
check "read from another directory" cmp -s rel.raw rel.want
mv d/rel.data d/rel.data.gone
T convert -O raw d/rel.qcow2 rel.raw 2>err; rc=$?
check_eq "a missing data file: exit 1" "$rc" 1
check_match "... the message names it" "$(cat err)" \
    'external data file "rel.data": .*d/rel.data: No such file or directory'
check "info still works (it opens no data file)" quiet T info d/rel.qcow2
mkfifo d/rel.data
T convert -O raw d/rel.qcow2 rel.raw 2>err; rc=$?
check_eq "a FIFO as data file: refused, not waited for" "$rc" 1
check_match "... saying what it is" "$(cat err)" 'rel.data.*FIFO|rel.data.*fifo'
rm d/rel.data
ln -s /dev/null d/rel.data
T convert -O raw d/rel.qcow2 rel.raw 2>err; rc=$?
check_eq "a device as data file: refused without --force" "$rc" 1
cd d || exit 1
cp w.qcow2 noname.qcow2
# The name extension's type (at 112, after the 112-byte header) changed:
# the bit stays, the name is gone.
check_eq "the data file name extension sits at byte 112" \
    "$(od -An -j 112 -N 4 -t x1 noname.qcow2 | tr -d ' ')" 44415441
poke noname.qcow2 112 '\001\002\003\004'
T info noname.qcow2 >/dev/null 2>err
check_match "data file bit without a name: refused" "$(cat err)" \
    'external data file bit set, but no data file name'

done_testing
