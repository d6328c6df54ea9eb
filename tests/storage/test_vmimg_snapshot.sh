#!/bin/bash
# vmimg snapshot against the real qemu-img, qemu-io and QEMU: listings line
# for line as qemu-img's; snapshots either tool makes are listed, applied and
# deleted by the other; qemu-img check stays clean after every operation.
. "$VMS_TOP/tests/lib/tap.sh"
scratch
V="$VMS_BIN/vmimg"
cd "$TMP" || exit 1

if ! command -v qemu-img >/dev/null || ! command -v qemu-io >/dev/null; then
	skip "vmimg snapshot interop" "qemu-img or qemu-io not installed"
	done_testing; exit
fi
QEMU=$(command -v qemu-system-x86_64 || true)

# same_list DESC IMAGE: vmimg's listing is qemu-img's, byte for byte
same_list() {
	local ours theirs
	ours=$("$V" snapshot -l "$2" 2>&1); theirs=$(qemu-img snapshot -l "$2" 2>&1)
	if [ "$ours" = "$theirs" ]; then ok "$1"; else
		notok "$1"; diff <(echo "$theirs") <(echo "$ours") | sed 's/^/# /'; fi
}
# clean DESC IMAGE: qemu-img check finds nothing at all (no leak either)
clean() {
	local out
	if out=$(qemu-img check "$2" 2>&1); then ok "$1"; else
		notok "$1"; printf '%s\n' "$out" | head -n 20 | sed 's/^/# /'; fi
}
quiet() { "$@" >/dev/null; }
# content IMAGE [SNAPSHOT]: a checksum of the guest content (qemu-img's read)
content() {
	rm -f content.raw
	if [ $# -eq 2 ]; then qemu-img convert -l "snapshot.name=$2" -O raw "$1" content.raw
	else qemu-img convert -O raw "$1" content.raw; fi
	md5sum <content.raw | cut -d' ' -f1
}

# --- -l: the listing ------------------------------------------------------------
qemu-img create -q -f qcow2 l.qcow2 64M
out=$("$V" snapshot -l l.qcow2); rc=$?
check_eq "-l without snapshots: prints nothing, exit 0 (as qemu-img)" "$rc:$out" "0:"
qemu-io -c 'write -P 1 0 1M' l.qcow2 >/dev/null
qemu-img snapshot -c first l.qcow2
qemu-img snapshot -c "" l.qcow2
qemu-img snapshot -c first l.qcow2	# qemu-img allows a name twice
qemu-img snapshot -c a-tag-longer-than-the-sixteen-columns-of-its-field l.qcow2
same_list "-l lists qemu-img's 4 snapshots as qemu-img does" l.qcow2
for tz in UTC America/New_York Asia/Kolkata; do
	check_eq "-l: dates in local time as qemu-img ($tz)" \
	    "$(TZ=$tz "$V" snapshot -l l.qcow2)" "$(TZ=$tz qemu-img snapshot -l l.qcow2)"
done
if [ -n "$QEMU" ]; then
	# Snapshots with VM state and a running VM clock, by QEMU's savevm.
	qemu-img create -q -f qcow2 vm.qcow2 64M
	{ printf 'savevm paused\ncont\n'; sleep 2; printf 'savevm running\nquit\n'; } |
	    timeout 60 "$QEMU" -M pc -accel tcg -nodefaults -display none -S \
	    -drive file=vm.qcow2,if=none,id=d0,format=qcow2 -device virtio-blk-pci,drive=d0 \
	    -monitor stdio >qemu.log 2>&1
	line=$(qemu-img snapshot -l vm.qcow2 | grep ' running ')
	check_match "QEMU saved VM state in the image" "$line" ' [0-9.]+ [KM]iB '
	check "... and a VM clock that ran" test -n "${line##* 00:00:00.000 *}"
	same_list "-l: VM SIZE, VM CLOCK and an empty ICOUNT as qemu-img" vm.qcow2
else
	skip "snapshots with VM state" "qemu-system-x86_64 not installed"
fi
qemu-img convert -O qcow2 -o compat=0.10 l.qcow2 v2.qcow2
qemu-img snapshot -c v2snap v2.qcow2
same_list "-l on a version 2 image" v2.qcow2
truncate -s 1M r.raw
out=$("$V" snapshot -l r.raw); rc=$?
check_eq "-l on a raw image: nothing, exit 0 (as qemu-img)" "$rc:$out" "0:"
"$V" snapshot -l -c x l.qcow2 2>err; rc=$?
check_eq "-l with -c refused" "$rc" 1
check_match "... saying why" "$(cat err)" "cannot mix '-l', '-a', '-c', '-d'"
check_match "vmimg --help names snapshot" "$("$V" --help)" '^  snapshot '

# --- -c: create -------------------------------------------------------------------
# An image with every kind of cluster QEMU writes: data, compressed, zero,
# preallocated zero, unallocated; then snapshots by vmimg, writes by QEMU.
mkimg() {	# FILE [create options]
	qemu-img create -q -f qcow2 ${2:+-o "$2"} "$1" 64M
	qemu-io -c 'write -P 0x11 0 1M' -c 'write -c -P 0x22 2M 128k' \
	    -c 'write -P 0x33 4M 64k' -c 'write -z 4M 64k' -c 'write -z 5M 64k' \
	    -c 'write -P 0x44 63M 1M' "$1" >/dev/null
}
for opts in "" compat=0.10 cluster_size=4k refcount_bits=64 cluster_size=2M; do
	name=${opts:-default}
	mkimg c.qcow2 "$opts"
	before=$(content c.qcow2)
	check "create ($name)" "$V" snapshot -c s1 c.qcow2
	clean "qemu-img check clean after create ($name)" c.qcow2
	check_match "qemu-img lists it as ID 1 ($name)" "$(qemu-img snapshot -l c.qcow2)" \
	    '^1 +s1 +0 B '
	check_eq "the snapshot holds the content ($name)" "$(content c.qcow2 s1)" "$before"
	check_eq "the image still reads the same ($name)" "$(content c.qcow2)" "$before"
	qemu-io -c 'write -P 0x55 512k 1M' -c 'write -P 0x66 2M 64k' -c 'write -z 63M 512k' \
	    c.qcow2 >/dev/null
	clean "qemu-img check clean after QEMU writes over shared clusters ($name)" c.qcow2
	check_eq "QEMU's writes leave the snapshot alone ($name)" "$(content c.qcow2 s1)" "$before"
	mid=$(content c.qcow2)
	check "a second snapshot ($name)" "$V" snapshot -c s2 c.qcow2
	clean "qemu-img check clean after the second ($name)" c.qcow2
	check_eq "both snapshots as taken ($name)" "$(content c.qcow2 s1) $(content c.qcow2 s2)" \
	    "$before $mid"
	check "our own check agrees ($name)" "$V" check c.qcow2 >/dev/null
done
check_eq "create writes no leak: qemu-img check's leaks" \
    "$(qemu-img check --output=json c.qcow2 | grep -c leaks)" 0
qemu-img snapshot -d s1 c.qcow2
"$V" snapshot -c s3 c.qcow2
check_match "the next ID is one past the largest, as QEMU picks it" \
    "$(qemu-img snapshot -l c.qcow2)" '^3 +s3 '
check "a name used before is fine (as qemu-img)" "$V" snapshot -c s3 c.qcow2
check_match "... with its own ID" "$(qemu-img snapshot -l c.qcow2)" '^4 +s3 '
long=$(printf 'n%.0s' $(seq 1 256))
"$V" snapshot -c "$long" c.qcow2 2>err; rc=$?
check_eq "a 256-byte name refused (qemu-img would cut it)" "$rc" 1
check_match "... saying why" "$(cat err)" 'longer than 255 bytes'
check "a 255-byte name is fine" "$V" snapshot -c "${long:1}" c.qcow2
same_list "-l after all that, as qemu-img" c.qcow2
"$V" snapshot -c x r.raw 2>err; rc=$?
check_eq "create on a raw image: exit 1" "$rc" 1
check_match "... saying raw has no snapshots" "$(cat err)" 'format raw has no internal snapshots'
mkimg r1.qcow2 refcount_bits=1
cp r1.qcow2 r1.orig
"$V" snapshot -c s r1.qcow2 2>err; rc=$?
check_eq "refcount_bits=1 cannot count a second reference: exit 1" "$rc" 1
check_match "... saying so" "$(cat err)" 'more than refcount_bits=1 can count'
check "... and the image is untouched" cmp -s r1.qcow2 r1.orig
mkimg d.qcow2
printf '\001' | dd of=d.qcow2 bs=1 seek=79 conv=notrunc status=none
"$V" snapshot -c s d.qcow2 2>err; rc=$?
check_eq "a dirty image: refused" "$rc" 1
check_match "... saying how to repair" "$(cat err)" 'dirty.*: run vmimg check -r all'

# --- the image lock: QEMU's, both ways ----------------------------------------------
mkimg k.qcow2
exec 3> >(exec qemu-io k.qcow2 >/dev/null 2>&1)
qio=$!
for _ in $(seq 50); do
	qemu-img info k.qcow2 >/dev/null 2>&1 || break; sleep 0.1
done
"$V" snapshot -c s k.qcow2 2>err; rc=$?
check_eq "create while QEMU (qemu-io) has the image open: refused" "$rc" 1
check_match "... naming the lock" "$(cat err)" 'image is in use: another process'
"$V" snapshot -l k.qcow2 >/dev/null 2>&1; rc=$?
check_eq "-l refused too, as qemu-img does" "$rc" 1
check "-U lists anyway" "$V" snapshot -U -l k.qcow2
exec 3>&-
wait "$qio" 2>/dev/null
check "once QEMU is gone, create works" "$V" snapshot -c s k.qcow2
if command -v strace >/dev/null; then
	# Hold vmimg inside its first fdatasync for 3 s: QEMU must see the lock.
	strace -f -o /dev/null -e trace=fdatasync -e inject=fdatasync:delay_enter=3000000:when=1 \
	    "$V" snapshot -c held k.qcow2 &
	sv=$!
	sleep 1
	qemu-img info k.qcow2 >/dev/null 2>err; rc=$?
	check_eq "qemu-img info while vmimg creates a snapshot: refused" "$rc" 1
	check_match "... by our lock" "$(cat err)" 'Failed to get shared "write" lock'
	wait "$sv"; check_eq "and vmimg finished" "$?" 0
	clean "qemu-img check clean after it" k.qcow2
else
	skip "vmimg's lock seen by QEMU" "strace not installed"
fi

# --- copy on write: vmimg's own writes after a snapshot ---------------------------
# Random writes by QEMU into an overlay (fixed seed), committed by vmimg into
# a base with snapshots, ours and qemu-img's (whose L2 tables are shared):
# whole and partial clusters, zeroes over data, runs of shared clusters all
# take the copy-on-write paths. The base must read as the overlay did, the
# snapshots as when they were taken, and qemu-img check stay clean.
RANDOM=15
for layout in "" cluster_size=4k compat=0.10; do
	name=${layout:-default}
	mkimg base.qcow2 "$layout"
	"$V" snapshot -c ours base.qcow2
	qemu-img snapshot -c theirs base.qcow2
	tags="ours theirs"
	want_sn="$(content base.qcow2 ours) $(content base.qcow2 theirs)"
	for round in 1 2 3; do
		qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 top.qcow2
		cmds=()
		for _ in $(seq 40); do
			off=$(( (RANDOM * 32768 + RANDOM) % (61 << 20) / 512 * 512 ))
			len=$(( (RANDOM % 3000 + 1) * 512 ))
			if [ $((RANDOM % 4)) = 0 ]; then cmds+=(-c "write -z $off $len")
			else cmds+=(-c "write -P $((RANDOM % 255 + 1)) $off $len"); fi
		done
		qemu-io "${cmds[@]}" top.qcow2 >/dev/null
		want=$(content top.qcow2)
		check "$name, round $round: vmimg commit into the base" quiet "$V" commit top.qcow2
		clean "$name, round $round: qemu-img check clean" base.qcow2
		check_eq "$name, round $round: the base reads as the overlay did" \
		    "$(content base.qcow2)" "$want"
		got=""; for t in $tags; do got="$got $(content base.qcow2 "$t")"; done
		check_eq "$name, round $round: the snapshots as taken" "${got# }" "$want_sn"
		if [ $round = 1 ]; then	# a snapshot of a copied-on-write image
			"$V" snapshot -c mid base.qcow2
			tags="$tags mid"; want_sn="$want_sn $(content base.qcow2 mid)"
		fi
	done
	check_eq "$name: our check agrees" "$("$V" check base.qcow2 >/dev/null; echo $?)" 0
done

done_testing
