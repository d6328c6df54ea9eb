#!/bin/bash
# vmimg against the real qemu-img and QEMU's block layer (qemu-io): images we
# write must pass qemu-img check and compare equal; images qemu-img writes
# must read back identically through us.
. "$VMS_TOP/tests/lib/tap.sh"
scratch
V="$VMS_BIN/vmimg"
cd "$TMP" || exit 1

if ! command -v qemu-img >/dev/null; then
	skip "vmimg interop" "qemu-img not installed"
	done_testing; exit
fi
HAVE_QEMU_IO=0; command -v qemu-io >/dev/null && HAVE_QEMU_IO=1

# poke FILE OFFSET OCTAL-ESCAPED-BYTES
poke() { printf "$3" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none; }
vsize() { qemu-img info --output=json "$1" | sed -n 's/.*"virtual-size": \([0-9]*\).*/\1/p'; }

# A 24 MiB source: zero runs, random data, text, a small write near the end.
head -c 3M /dev/urandom > rnd
truncate -s 24M src.raw
dd if=rnd of=src.raw bs=1M seek=2 conv=notrunc status=none
yes 'vmservice storage test' | head -c 2M | dd of=src.raw bs=1M seek=10 conv=notrunc status=none
printf 'tail' | dd of=src.raw bs=1 seek=$((24*1024*1024 - 700)) conv=notrunc status=none

# --- help ------------------------------------------------------------------
out=$("$V" --help)
for c in create info check convert resize rebase commit; do
	check_match "vmimg --help names $c" "$out" "^  $c "
done
check_match "vmimg convert --help" "$("$V" convert --help)" '^usage: vmimg convert .*-O'
"$V" frobnicate >/dev/null 2>&1; check_eq "unknown command exits 1" "$?" 1

# --- create ----------------------------------------------------------------
check "create qcow2 64M" "$V" create -f qcow2 a.qcow2 64M
check_eq "qemu-img sees 64 MiB" "$(vsize a.qcow2)" 67108864
check "qemu-img check passes on a new image" qemu-img check -q a.qcow2
check "create raw 1G (sparse)" "$V" create -f raw r.raw 1G
check_eq "raw size" "$(stat -c %s r.raw)" 1073741824
for o in cluster_size=512 cluster_size=2M compat=0.10 refcount_bits=1 refcount_bits=64; do
	check "create -o $o" "$V" create -f qcow2 -o "$o" o.qcow2 16M
	check "qemu-img check: -o $o" qemu-img check -q o.qcow2
done
"$V" create -f qcow2 -o cluster_size=1000 bad.qcow2 1M 2>err; rc=$?
check_eq "cluster_size 1000 refused" "$rc" 1
check_match "error names cluster_size" "$(cat err)" 'cluster_size'
"$V" create -f qcow2 nosize.qcow2 2>/dev/null
check_eq "a size is required without backing" "$?" 1

# --- our writes, checked by qemu-img ----------------------------------------
check "convert raw -> qcow2" "$V" convert -O qcow2 src.raw b.qcow2
check "qemu-img check: converted" qemu-img check -q b.qcow2
check "qemu-img compare: converted equals source" qemu-img compare -q src.raw b.qcow2
check "convert -c raw -> qcow2" "$V" convert -c -O qcow2 src.raw c.qcow2
check "qemu-img check: compressed" qemu-img check -q c.qcow2
check "qemu-img compare: compressed equals source" qemu-img compare -q src.raw c.qcow2
nc=$(qemu-img check --output=json c.qcow2 | sed -n 's/.*"compressed-clusters": \([0-9]*\).*/\1/p')
check "qemu-img counts compressed clusters ($nc)" test "${nc:-0}" -gt 0
check "compressed output is smaller" test "$(stat -c %s c.qcow2)" -lt "$(stat -c %s b.qcow2)"
check "convert -o cluster_size=512" "$V" convert -O qcow2 -o cluster_size=512 src.raw s512.qcow2
check "qemu-img compare: 512-byte clusters" qemu-img compare -q src.raw s512.qcow2
check "qemu-img check: 512-byte clusters" qemu-img check -q s512.qcow2
check "convert -c -o cluster_size=4K,compat=0.10" \
    "$V" convert -c -O qcow2 -o cluster_size=4K,compat=0.10 src.raw s4k.qcow2
check "qemu-img compare: v2 compressed" qemu-img compare -q src.raw s4k.qcow2
check "qemu-img check: v2 compressed" qemu-img check -q s4k.qcow2
"$V" convert -p -O raw b.qcow2 b.raw 2>progress
check "convert qcow2 -> raw equals source" cmp -s src.raw b.raw
check_match "-p draws a progress bar on stderr" "$(tr '\r' '\n' <progress | tail -n 2)" \
    '\(100\.0/100%\)'
check "qcow2 -> raw output is sparse" test "$(du -k b.raw | cut -f1)" -lt 12000

# --- qemu-img's images, read by us -----------------------------------------
reads_same() {	# desc image
	rm -f ours.raw theirs.raw
	if "$V" convert -O raw "$2" ours.raw && qemu-img convert -O raw "$2" theirs.raw &&
	    cmp -s ours.raw theirs.raw; then ok "$1"; else notok "$1"; fi
}
qemu-img convert -O qcow2 src.raw q.qcow2
reads_same "qemu-img qcow2 reads identically" q.qcow2
qemu-img convert -c -O qcow2 src.raw qc.qcow2
reads_same "qemu-img convert -c reads identically" qc.qcow2
qemu-img convert -c -O qcow2 -o cluster_size=2M src.raw qc2m.qcow2
reads_same "qemu-img compressed 2M clusters read identically" qc2m.qcow2
qemu-img convert -O qcow2 -o cluster_size=512,compat=0.10 src.raw q512v2.qcow2
reads_same "qemu-img v2, 512-byte clusters read identically" q512v2.qcow2
qemu-img convert -O qcow2 -o refcount_bits=1 src.raw qr1.qcow2
reads_same "qemu-img refcount_bits=1 reads identically" qr1.qcow2
check "our check agrees on refcount_bits=1" "$V" check qr1.qcow2 >/dev/null
if [ $HAVE_QEMU_IO = 1 ]; then
	qemu-img create -q -f qcow2 -b q.qcow2 -F qcow2 ov1.qcow2
	qemu-io -c 'write -P 0x55 1M 1M' -c 'write -z 3M 64k' -c 'write -P 0x11 23M 4097' \
	    ov1.qcow2 >/dev/null
	qemu-img create -q -f qcow2 -b ov1.qcow2 -F qcow2 ov2.qcow2
	qemu-io -c 'write -P 0x66 1536k 1M' -c 'write -c -P 0x77 8M 64k' ov2.qcow2 >/dev/null
	reads_same "qemu-img overlay reads identically" ov1.qcow2
	reads_same "qemu-img 2-deep chain reads identically" ov2.qcow2
	check "our check passes on QEMU-written overlays" "$V" check ov2.qcow2 >/dev/null
fi

# --- a 1 PiB sparse image: status skips empty L1 ranges, no per-cluster walk
if [ $HAVE_QEMU_IO = 1 ]; then
	"$V" create -f qcow2 huge.qcow2 1024T
	qemu-io -c 'write -P 9 500T 64k' huge.qcow2 >/dev/null
	t0=$(date +%s)
	check "convert a 1 PiB sparse image" timeout 60 "$V" convert -O qcow2 huge.qcow2 huge2.qcow2
	check_match "its data arrives" "$(qemu-io -c 'read -P 9 500T 64k' huge2.qcow2)" \
	    '^read 65536/65536'
	"$V" create -f qcow2 -b huge.qcow2 -F qcow2 hugetop.qcow2
	qemu-io -c 'write -P 7 700T 64k' hugetop.qcow2 >/dev/null
	check "commit a 1 PiB overlay" timeout 60 "$V" commit hugetop.qcow2
	check_match "the base holds it" "$(qemu-io -c 'read -P 7 700T 64k' huge.qcow2)" \
	    '^read 65536/65536'
	check "all within 20 s" test $(($(date +%s) - t0)) -lt 20
	rm -f huge.qcow2 huge2.qcow2 hugetop.qcow2
fi

# --- internal snapshots (qemu-img's): read, checked, written around -----------
# (vmimg snapshot itself: tests/storage/test_vmimg_snapshot.sh)
if [ $HAVE_QEMU_IO = 1 ]; then
	qemu-img convert -O qcow2 src.raw sn.qcow2
	qemu-img snapshot -c s1 sn.qcow2
	qemu-io -c 'write -P 0x31 0 1M' sn.qcow2 >/dev/null
	qemu-img snapshot -c s2 sn.qcow2
	qemu-io -c 'write -P 0x32 512k 1M' sn.qcow2 >/dev/null
	check "check counts snapshot references: clean" "$V" check sn.qcow2
	reads_same "image with 2 snapshots reads identically" sn.qcow2
	qemu-img convert -l snapshot.name=s2 -O raw sn.qcow2 s2.before
	check "writing an image with snapshots (resize +1M)" \
	    "$V" resize sn.qcow2 +1M
	check "qemu-img check after it" qemu-img check -q sn.qcow2
	qemu-img convert -l snapshot.name=s2 -O raw sn.qcow2 s2.after
	# (qemu-img reads a snapshot at the image's current size)
	check "the snapshot is untouched" cmp -s -n 25165824 s2.before s2.after
fi

# --- persistent dirty bitmaps (qemu-img's) ----------------------------------
if [ $HAVE_QEMU_IO = 1 ]; then
	qemu-img create -q -f qcow2 bm.qcow2 64M
	qemu-img bitmap --add bm.qcow2 b0
	qemu-io -c 'write -P 1 0 4M' -c 'write -P 2 32M 1M' bm.qcow2 >/dev/null
	"$V" check bm.qcow2 >/dev/null 2>&1
	check_eq "bitmap clusters are references, not leaks" "$?" 0
	check "writing the image" "$V" resize bm.qcow2 +1M
	check_match "... marks its bitmaps stale for QEMU (autoclear bit cleared)" \
	    "$(qemu-img info bm.qcow2 2>&1)" 'lacking bitmap support'
	qemu-img check bm.qcow2 >/dev/null 2>&1
	check_eq "qemu-img check: the stale bitmap's clusters leak, nothing worse" "$?" 3
	"$V" check -r leaks bm.qcow2 >/dev/null 2>&1
	check_eq "our repair frees them" "$?" 0
	check "qemu-img agrees" qemu-img check -q bm.qcow2
fi

# --- info --------------------------------------------------------------------
out=$("$V" info c.qcow2)
check_match "info: format" "$out" '^file format: qcow2$'
check_match "info: virtual size" "$out" '^virtual size: 24 MiB \(25165824 bytes\)$'
check_match "info: cluster size" "$out" '^cluster_size: 65536$'
check_match "info: disk size" "$out" '^disk size: [0-9.]+ [KM]iB$'
check_match "info: compat" "$out" '^    compat: 1.1$'
"$V" create -q -f qcow2 -b c.qcow2 -F qcow2 ov.qcow2 2>/dev/null ||
	"$V" create -f qcow2 -b c.qcow2 -F qcow2 ov.qcow2
check_eq "overlay takes its size from the backing file" "$(vsize ov.qcow2)" 25165824
out=$("$V" info ov.qcow2)
check_match "info: backing file" "$out" '^backing file: c.qcow2'
check_match "info: backing format" "$out" '^backing file format: qcow2$'
json=$("$V" info --output=json ov.qcow2)
check_match "info json: virtual-size" "$json" '"virtual-size": 25165824'
check_match "info json: backing-filename-format" "$json" '"backing-filename-format": "qcow2"'
check_match "info json: refcount-bits" "$json" '"refcount-bits": 16'
json=$("$V" info --output=json --backing-chain ov.qcow2)
check_eq "info --backing-chain json lists 2 images" \
    "$(printf '%s\n' "$json" | grep -c '"filename"')" 2
check_match "info --backing-chain json is an array" "$json" '^\['
check_eq "info --backing-chain text lists 2 images" \
    "$("$V" info --backing-chain ov.qcow2 | grep -c '^image:')" 2
# Field by field against qemu-img info --output=json.
field() {	# JSON TEXT, FIELD: the first value of FIELD (no subshells: cheap)
	local re="\"$2\": *\"?([^\",}[:space:]]*)"
	[[ $1 =~ $re ]] && printf '%s' "${BASH_REMATCH[1]}"
}
for img in c.qcow2 ov.qcow2 s4k.qcow2 r.raw ${HAVE_QEMU_IO:+ov2.qcow2}; do
	[ -e "$img" ] || continue
	ours=$("$V" info --output=json "$img"); theirs=$(qemu-img info --output=json "$img")
	for f in virtual-size cluster-size format actual-size backing-filename \
	    backing-filename-format compat refcount-bits corrupt; do
		check_eq "info $img: $f as qemu-img" "$(field "$ours" "$f")" "$(field "$theirs" "$f")"
	done
done
for img in c.qcow2 ov.qcow2 s4k.qcow2 r.raw ${HAVE_QEMU_IO:+ov2.qcow2}; do
	[ -e "$img" ] || continue
	check_eq "info $img: the text is qemu-img's, line for line" \
	    "$("$V" info "$img")" "$(qemu-img info "$img")"
done
out=$("$V" info r.raw)
check_match "info raw: format" "$out" '^file format: raw$'

# --- check: exit codes as qemu-img check -------------------------------------
"$V" create -f qcow2 k.qcow2 16M
"$V" check k.qcow2 >/dev/null; check_eq "clean image: exit 0" "$?" 0
"$V" check r.raw >/dev/null 2>&1; check_eq "raw: exit 63 (no checks)" "$?" 63
qemu-img check r.raw >/dev/null 2>&1; check_eq "qemu-img agrees on 63" "$?" 63
# Leak: refcount 1 for cluster 20, which nothing uses (block at 2*64K).
cp k.qcow2 leak.qcow2; truncate -s 2M leak.qcow2; poke leak.qcow2 $((131072 + 40)) '\000\001'
out=$("$V" check leak.qcow2 2>&1); rc=$?
check_eq "leaked cluster: exit 3" "$rc" 3
qemu-img check leak.qcow2 >/dev/null 2>&1; check_eq "qemu-img agrees: exit 3" "$?" 3
check_match "leak reported" "$out" 'Leaked cluster 20 refcount=1 reference=0'
"$V" check -r leaks leak.qcow2 >/dev/null 2>&1; check_eq "check -r leaks: exit 0" "$?" 0
check "qemu-img check after -r leaks" qemu-img check -q leak.qcow2
# Corruption: refcount 0 for the L1 table (cluster 3).
cp k.qcow2 bad.qcow2; poke bad.qcow2 $((131072 + 6)) '\000\000'
out=$("$V" check bad.qcow2 2>&1); rc=$?
check_eq "corrupt refcount: exit 2" "$rc" 2
qemu-img check bad.qcow2 >/dev/null 2>&1; check_eq "qemu-img agrees: exit 2" "$?" 2
check_match "corruption reported" "$out" 'ERROR cluster 3 refcount=0 reference=1'
"$V" check -r leaks bad.qcow2 >/dev/null 2>&1
check_eq "-r leaks leaves corruption: exit 2" "$?" 2
"$V" check -r all bad.qcow2 >/dev/null 2>&1; check_eq "check -r all: exit 0" "$?" 0
check "qemu-img check after -r all" qemu-img check -q bad.qcow2
# A missing refcount block for used clusters, repaired by -r all.
cp b.qcow2 norb.qcow2; poke norb.qcow2 65536 '\000\000\000\000\000\000\000\000'
"$V" check norb.qcow2 >/dev/null 2>&1; check_eq "missing refcount block: exit 2" "$?" 2
"$V" check -r all norb.qcow2 >/dev/null 2>&1; check_eq "rebuilt by -r all: exit 0" "$?" 0
check "qemu-img check after the rebuild" qemu-img check -q norb.qcow2
check "data intact after the rebuild" qemu-img compare -q src.raw norb.qcow2
# A count past the end of the file (cluster 4 of a 4-cluster image): the
# allocator must not hand that cluster out again.
if [ $HAVE_QEMU_IO = 1 ]; then
	cp k.qcow2 past.qcow2; poke past.qcow2 $((131072 + 8)) '\000\001'
	"$V" create -f qcow2 -b past.qcow2 -F qcow2 pasttop.qcow2
	qemu-io -c 'write -P 0x77 0 64k' pasttop.qcow2 >/dev/null
	check "commit into it (allocates an L2 table and data)" "$V" commit pasttop.qcow2
	qemu-img check past.qcow2 >/dev/null 2>&1
	check_eq "qemu-img: only the old count leaks (3), nothing shared (2)" "$?" 3
fi
# The dirty bit (lazy refcounts after a crash): no writes until repaired.
"$V" convert -O qcow2 src.raw dirty.qcow2
poke dirty.qcow2 79 '\001'
"$V" resize dirty.qcow2 +1M 2>err; check_eq "dirty image: writes refused" "$?" 1
check_match "the message says how to repair" "$(cat err)" 'check -r all'
"$V" check -r all dirty.qcow2 >/dev/null 2>&1; check_eq "check -r all on a dirty image" "$?" 0
check_match "dirty flag cleared" "$(qemu-img info --output=json dirty.qcow2)" '"dirty-flag": false'
check "writable again" "$V" resize dirty.qcow2 +1M
check "content intact" qemu-img compare -q src.raw dirty.qcow2
# Unreadable: exit 1, a message, no crash.
printf 'QFI\373\000\000\000\003' > junk.qcow2; truncate -s 4096 junk.qcow2
"$V" check junk.qcow2 >/dev/null 2>err; rc=$?
check_eq "unopenable image: exit 1" "$rc" 1
check_match "the message names the field" "$(cat err)" 'cluster_bits'
out=$("$V" check --output=json b.qcow2)
check_match "check json" "$out" '"allocated-clusters": [1-9]'

# --- resize --------------------------------------------------------------------
"$V" create -f qcow2 z.qcow2 16M
[ $HAVE_QEMU_IO = 1 ] && qemu-io -c 'write -P 0x42 1M 64k' z.qcow2 >/dev/null
check "resize +1G" "$V" resize z.qcow2 +1G
check_eq "qemu-img sees 1 GiB + 16 MiB" "$(vsize z.qcow2)" $(((1024 + 16) << 20))
check "qemu-img check after growing" qemu-img check -q z.qcow2
check "resize 10G (L1 grows)" "$V" resize z.qcow2 10G
check "qemu-img check after growing L1" qemu-img check -q z.qcow2
"$V" resize z.qcow2 1M 2>err; check_eq "shrink without --shrink: exit 1" "$?" 1
check_match "message says --shrink" "$(cat err)" '--shrink'
if [ $HAVE_QEMU_IO = 1 ]; then
	"$V" resize --shrink z.qcow2 512K 2>err
	check_eq "shrink over data refused" "$?" 1
	check_match "message names the data" "$(cat err)" 'allocated data'
fi
check "shrink past free space" "$V" resize --shrink z.qcow2 3M
check "shrink by -1M (a negative size is not an option)" "$V" resize --shrink z.qcow2 -1M
check_eq "shrunk" "$(vsize z.qcow2)" 2097152
check "qemu-img check after shrinking" qemu-img check -q z.qcow2
cp r.raw rr.raw; check "resize raw +1M" "$V" resize rr.raw +1M
check_eq "raw grew" "$(stat -c %s rr.raw)" $(((1024 + 1) << 20))

# --- rebase, commit, QEMU on our overlay ---------------------------------------
if [ $HAVE_QEMU_IO = 1 ]; then
	qemu-img convert -O qcow2 src.raw base.qcow2; cp base.qcow2 base.orig
	check "overlay on a qemu-img base" "$V" create -f qcow2 -b base.qcow2 -F qcow2 top.qcow2
	check "qemu-img check: our overlay" qemu-img check -q top.qcow2
	out=$(qemu-io -c 'write -P 0xab 1M 100k' -c 'read -P 0xab 1M 100k' \
	    -c 'write -P 0xcd 20M 1M' top.qcow2)
	check_match "QEMU writes and reads through our overlay" "$out" 'read 102400/102400'
	check "the writes land in the overlay only: base unchanged" cmp -s base.qcow2 base.orig
	qemu-img convert -O raw top.qcow2 top.ref
	check "we read QEMU's writes" "$V" convert -O raw top.qcow2 top.ours
	check "... identically" cmp -s top.ref top.ours
	check "our check on QEMU-written overlay" "$V" check top.qcow2 >/dev/null
	# Safe rebase onto a different base keeps the content.
	qemu-img create -q -f qcow2 other.qcow2 24M
	qemu-io -c 'write -P 0x99 0 4M' other.qcow2 >/dev/null
	check "rebase onto another base" "$V" rebase -b other.qcow2 -F qcow2 top.qcow2
	check_match "header names the new base" "$(qemu-img info top.qcow2)" \
	    'backing file: other.qcow2'
	check "content unchanged after safe rebase" qemu-img compare -q top.qcow2 top.ref
	check "qemu-img check after rebase" qemu-img check -q top.qcow2
	check "rebase -u back (header only)" "$V" rebase -u -b base.qcow2 -F qcow2 top.qcow2
	check "still equal (bases agree where top is empty)" qemu-img compare -q top.qcow2 top.ref
	"$V" rebase -u -b gone.qcow2 -F qcow2 top.qcow2
	check_match "rebase -u accepts a missing file" "$(qemu-img info top.qcow2 2>&1)" \
	    'gone.qcow2'
	"$V" rebase -u -b base.qcow2 -F qcow2 top.qcow2
	"$V" rebase -b top.qcow2 -F qcow2 top.qcow2 2>err
	check_eq "rebase onto itself refused" "$?" 1
	check_match "... as a loop" "$(cat err)" 'contains the image itself'
	"$V" convert -O qcow2 top.qcow2 base.qcow2 2>err
	check_eq "convert onto the source's backing file refused" "$?" 1
	check "... and the base is untouched" qemu-img check -q base.qcow2
	# Commit into the base; the overlay is emptied.
	check "commit" "$V" commit top.qcow2
	check "base now holds the overlay's content" qemu-img compare -q base.qcow2 top.ref
	check "qemu-img check on the committed base" qemu-img check -q base.qcow2
	check "overlay emptied" test "$(stat -c %s top.qcow2)" -le 262144
	check "overlay still shows the same content" qemu-img compare -q top.qcow2 top.ref
else
	skip "QEMU block layer through our overlays" "qemu-io not installed"
fi

# --- malformed input never crashes ----------------------------------------------
crashes=0
for i in $(seq 1 25); do
	cp b.qcow2 m.qcow2
	off=$(( (RANDOM * 32768 + RANDOM) % 400000 ))
	head -c 16 /dev/urandom | dd of=m.qcow2 bs=1 seek=$off conv=notrunc status=none
	for cmd in "info" "check" "convert -O raw m.qcow2 m.raw --"; do
		# shellcheck disable=SC2086
		"$V" $cmd m.qcow2 >/dev/null 2>&1; rc=$?
		[ $rc -ge 128 ] && { crashes=$((crashes + 1)); diag "crash: $cmd at $off"; }
		rm -f m.raw
	done
done
check_eq "25 randomly damaged images: no crash" "$crashes" 0

done_testing
