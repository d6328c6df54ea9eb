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

done_testing
