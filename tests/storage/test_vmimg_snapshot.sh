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
# content IMAGE [SNAPSHOT | id:ID]: a checksum of the guest content (qemu-img's read)
content() {
	rm -f content.raw
	if [ $# -eq 2 ] && [ "${2#id:}" != "$2" ]; then
		qemu-img convert -l "snapshot.id=${2#id:}" -O raw "$1" content.raw
	elif [ $# -eq 2 ]; then qemu-img convert -l "snapshot.name=$2" -O raw "$1" content.raw
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
	# The commands wait for QEMU's first prompt: on a loaded machine QEMU may
	# start slower than the sleep, and would then run them back to back.
	rm -f qemu.log
	{ for ((i = 0; i < 300; i++)); do grep -q '(qemu)' qemu.log 2>/dev/null && break; sleep 0.1; done
	  printf 'savevm paused\ncont\n'; sleep 2; printf 'savevm running\nquit\n'; } |
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
# info shows them as qemu-img info does, in text and JSON.
for img in l.qcow2 v2.qcow2 ${QEMU:+vm.qcow2}; do
	check_eq "info $img: the text is qemu-img's, line for line" \
	    "$("$V" info "$img")" "$(qemu-img info "$img")"
	check_eq "info --output=json $img: the same JSON (spacing aside)" \
	    "$("$V" info --output=json "$img" | tr -d ' \n')" \
	    "$(qemu-img info --output=json "$img" | tr -d ' \n')"
done
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
# qemu-io keeps the image open read-write while its input stays open.
mkfifo qio.in
qemu-io k.qcow2 <qio.in >/dev/null 2>&1 &
qio=$!
exec 3>qio.in
for _ in $(seq 100); do
	qemu-img info k.qcow2 2>&1 | grep -q 'lock' && break; sleep 0.1
done
check_match "qemu-io holds the image (qemu-img info is refused)" \
    "$(qemu-img info k.qcow2 2>&1)" 'Failed to get shared "write" lock'
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
	# (LeakSanitizer cannot run under ptrace: off in SANITIZE=1 builds)
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
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

# --- -d: delete ---------------------------------------------------------------------
# Snapshots by both tools, QEMU writes between them; vmimg deletes them in
# an order that leaves some shared and some not.
for layout in "" cluster_size=4k compat=0.10; do
	name=${layout:-default}
	mkimg del.qcow2 "$layout"
	"$V" snapshot -c v1 del.qcow2
	qemu-io -c 'write -P 0x71 256k 2M' del.qcow2 >/dev/null
	qemu-img snapshot -c q2 del.qcow2
	qemu-io -c 'write -P 0x72 1M 2M' -c 'write -z 63M 1M' del.qcow2 >/dev/null
	"$V" snapshot -c v3 del.qcow2
	qemu-img snapshot -c q4 del.qcow2
	qemu-io -c 'write -P 0x73 0 4M' del.qcow2 >/dev/null
	active=$(content del.qcow2)
	declare -A sum=()
	for t in v1 q2 v3 q4; do sum[$t]=$(content del.qcow2 $t); done
	left="v1 q2 v3 q4"
	for t in q2 v1 q4 v3; do
		check "$name: delete $t" "$V" snapshot -d $t del.qcow2
		clean "$name: qemu-img check clean (no leak) after deleting $t" del.qcow2
		left=$(echo $left | tr ' ' '\n' | grep -vx $t | tr '\n' ' '); left=${left% }
		got=""; want=""
		for k in $left; do got="$got $(content del.qcow2 $k)"; want="$want ${sum[$k]}"; done
		check_eq "$name: the others intact after deleting $t" "$got" "$want"
		check_eq "$name: the image intact after deleting $t" "$(content del.qcow2)" "$active"
		same_list "$name: -l after deleting $t as qemu-img" del.qcow2
	done
	check "$name: freed clusters are given back to the file system (du under 8 MiB)" \
	    test "$(du -k del.qcow2 | cut -f1)" -lt 8192
done
mkimg dd.qcow2
qemu-img snapshot -c same dd.qcow2; qemu-io -c 'write -P 9 0 64k' dd.qcow2 >/dev/null
"$V" snapshot -c same dd.qcow2
"$V" snapshot -d 1 dd.qcow2 2>err; rc=$?
check_eq "-d takes a name, not an ID (as qemu-img): exit 1" "$rc" 1
check_match "... snapshot not found" "$(cat err)" "could not delete snapshot '1': snapshot not found"
first=$(content dd.qcow2 id:2)
check "-d with a name twice" "$V" snapshot -d same dd.qcow2
check_match "... deletes the first (ID 1), as qemu-img" "$(qemu-img snapshot -l dd.qcow2)" '^2 +same '
check_eq "... and the other is intact" "$(content dd.qcow2 same)" "$first"
check "qemu-img deletes what is left" qemu-img snapshot -d same dd.qcow2
clean "qemu-img check clean after that" dd.qcow2

# --- -a: apply ------------------------------------------------------------------------
vsize() { qemu-img info --output=json "$1" | sed -n 's/.*"virtual-size": \([0-9]*\).*/\1/p'; }
for layout in "" cluster_size=4k compat=0.10; do
	name=${layout:-default}
	mkimg ap.qcow2 "$layout"
	"$V" snapshot -c v1 ap.qcow2
	qemu-io -c 'write -P 0x81 128k 3M' -c 'write -c -P 0x82 8M 256k' ap.qcow2 >/dev/null
	qemu-img snapshot -c q2 ap.qcow2
	qemu-io -c 'write -z 0 8M' -c 'write -P 0x83 62M 2M' ap.qcow2 >/dev/null
	unset sum; declare -A sum=()
	for t in v1 q2; do sum[$t]=$(content ap.qcow2 $t); done
	for t in q2 v1 q2; do
		check "$name: apply $t" "$V" snapshot -a $t ap.qcow2
		clean "$name: qemu-img check clean after applying $t" ap.qcow2
		check_eq "$name: the image reads as $t" "$(content ap.qcow2)" "${sum[$t]}"
		check_eq "$name: both snapshots intact" \
		    "$(content ap.qcow2 v1) $(content ap.qcow2 q2)" "${sum[v1]} ${sum[q2]}"
		qemu-io -c 'write -P 0x84 1M 1M' -c 'write -z 2M 64k' ap.qcow2 >/dev/null
		check_eq "$name: QEMU's writes after applying $t leave it alone" \
		    "$(content ap.qcow2 $t)" "${sum[$t]}"
		clean "$name: qemu-img check clean after those writes" ap.qcow2
	done
	check "$name: vmimg deletes both" sh -c "'$V' snapshot -d v1 ap.qcow2 && '$V' snapshot -d q2 ap.qcow2"
	clean "$name: qemu-img check clean at the end" ap.qcow2
done
# ID before name, as qemu-img: a snapshot named "1" loses to the one with ID 1.
mkimg id.qcow2
"$V" snapshot -c first id.qcow2
qemu-io -c 'write -P 0x91 0 1M' id.qcow2 >/dev/null
"$V" snapshot -c 1 id.qcow2
qemu-io -c 'write -P 0x92 0 1M' id.qcow2 >/dev/null
check "apply '1'" "$V" snapshot -a 1 id.qcow2
check_eq "... is ID 1 ('first'), not the snapshot named 1" "$(content id.qcow2)" \
    "$(content id.qcow2 first)"
check "apply by a name" "$V" snapshot -a first id.qcow2
"$V" snapshot -a nosuch id.qcow2 2>err; rc=$?
check_eq "apply of a missing snapshot: exit 1" "$rc" 1
check_match "... snapshot not found" "$(cat err)" "could not apply snapshot 'nosuch': snapshot not found"
# A snapshot of another size: the image takes the snapshot's size, as with qemu-img.
mkimg sz.qcow2
"$V" snapshot -c small sz.qcow2
qemu-img resize -q sz.qcow2 200M
qemu-io -c 'write -P 0xa1 150M 1M' sz.qcow2 >/dev/null
cp sz.qcow2 sz-q.qcow2
check "apply a snapshot of a smaller disk" "$V" snapshot -a small sz.qcow2
qemu-img snapshot -a small sz-q.qcow2
check_eq "... the size is the snapshot's, as qemu-img makes it" "$(vsize sz.qcow2)" "$(vsize sz-q.qcow2)"
check "... the content as qemu-img's" qemu-img compare -q sz.qcow2 sz-q.qcow2
clean "... qemu-img check clean" sz.qcow2
if [ -n "$QEMU" ] && [ -e vm.qcow2 ]; then
	want=$(content vm.qcow2 running)
	check "apply QEMU's snapshot with VM state" "$V" snapshot -a running vm.qcow2
	clean "... qemu-img check clean" vm.qcow2
	check_eq "... the disk reads as the snapshot" "$(content vm.qcow2)" "$want"
	out=$(printf 'loadvm running\ninfo status\nquit\n' | timeout 60 "$QEMU" -M pc -accel tcg \
	    -nodefaults -display none -S -drive file=vm.qcow2,if=none,id=d0,format=qcow2 \
	    -device virtio-blk-pci,drive=d0 -monitor stdio 2>&1 | tr -d '\033')
	check_match "... and QEMU loads its VM state (loadvm, then info status)" "$out" 'VM status: paused'
	check_eq "... without an error" "$(printf '%s\n' "$out" | grep -ci -e error -e 'could not')" 0
	check "vmimg deletes the VM state snapshots" sh -c \
	    "'$V' snapshot -d running vm.qcow2 && '$V' snapshot -d paused vm.qcow2"
	clean "... qemu-img check clean" vm.qcow2
fi

# --- interop: every pairing of who creates and who applies or deletes ------------------
tool_c() { if [ "$1" = vmimg ]; then "$V" snapshot -c "$2" "$3"; else qemu-img snapshot -c "$2" "$3"; fi; }
tool_a() { if [ "$1" = vmimg ]; then "$V" snapshot -a "$2" "$3"; else qemu-img snapshot -a "$2" "$3"; fi; }
tool_d() { if [ "$1" = vmimg ]; then "$V" snapshot -d "$2" "$3"; else qemu-img snapshot -d "$2" "$3"; fi; }
for maker in vmimg qemu-img; do
	for user in vmimg qemu-img; do
		mkimg io.qcow2
		want=$(content io.qcow2)
		tool_c $maker x io.qcow2
		clean "$maker creates: qemu-img check clean" io.qcow2
		same_list "$maker creates: both tools list it alike" io.qcow2
		qemu-io -c 'write -P 0xb1 0 5M' -c 'write -z 62M 2M' io.qcow2 >/dev/null
		check "$maker creates, $user applies" tool_a $user x io.qcow2
		clean "... qemu-img check clean" io.qcow2
		check_eq "... the image reads as when $maker took it" "$(content io.qcow2)" "$want"
		check "$maker creates, $user deletes" tool_d $user x io.qcow2
		clean "... qemu-img check clean" io.qcow2
		check_eq "... the image still reads the same" "$(content io.qcow2)" "$want"
		check_eq "... and no snapshot is left" "$("$V" snapshot -l io.qcow2)" ""
	done
done

done_testing
