#!/bin/bash
# Images are untrusted input, and so are the backing file names in their
# headers (issue 12): a QEMU user who owns an overlay can point its header
# at a FIFO (an open() for reading blocks until a writer comes: forever) or
# at a device (`vmimg commit` would then write a guest's data onto it as
# root). vmimg refuses both quickly, names the image and the backing name,
# and opens devices only with --force; a FIFO is never an image. New
# images are mode 0600. Every command runs under `timeout 10`, so a hang
# fails the test instead of hanging the run.
. "$VMS_TOP/tests/lib/tap.sh"
scratch
V="$VMS_BIN/vmimg"
cd "$TMP" || exit 1
if ! command -v qemu-img >/dev/null; then
	skip "vmimg untrusted backing files" "qemu-img not installed"
	done_testing; exit
fi
T() { timeout 10 "$V" "$@"; }
# ms CMD...: run CMD, set RC, OUT (stdout+stderr) and MS (wall time).
ms() {
	local t0=$(date +%s%N)
	OUT=$("$@" 2>&1); RC=$?
	MS=$(( ($(date +%s%N) - t0) / 1000000 ))
}
# over NAME BACKING: an overlay whose header names BACKING (not opened).
over() { qemu-img create -q -f qcow2 -u -b "$2" -F raw "$1" 1M; }

mkfifo fifo
over f.qcow2 fifo
ln -s /dev/zero zero.link
over z.qcow2 zero.link
over zd.qcow2 /dev/zero

# --- a FIFO as backing file --------------------------------------------------
ms T info f.qcow2
check_eq "info (no chain) on a FIFO-backed image works" "$RC" 0
check_match "info names the FIFO backing file" "$OUT" 'backing file: fifo'
for c in "info --backing-chain" "convert -O raw" commit "rebase -b" "rebase -u -b"; do
	case $c in
	"convert -O raw")	args=(convert -O raw f.qcow2 out.raw) ;;
	"rebase -b")		args=(rebase -b "" f.qcow2) ;;
	"rebase -u -b")		args=(rebase -u -b fifo z2.qcow2); over z2.qcow2 none.raw ;;
	*)			args=($c f.qcow2) ;;
	esac
	ms T "${args[@]}"
	check "$c on a FIFO backing file: refused (rc $RC, not 0 or 124: a hang)" \
	    test "$RC" != 0 -a "$RC" != 124
	check "$c: refused in under 2 s (${MS} ms)" test "$MS" -lt 2000
	check_match "$c: the message names the FIFO" "$OUT" 'fifo.*FIFO|FIFO.*fifo'
done
ms T info --force --backing-chain f.qcow2
check "info --force --backing-chain still refuses a FIFO (rc $RC)" test "$RC" != 0 -a "$RC" != 124
ms T commit --force f.qcow2
check "commit --force still refuses a FIFO (rc $RC)" test "$RC" != 0 -a "$RC" != 124
check "out.raw was not created from a FIFO-backed source" test ! -e out.raw

# --- a device as backing file (a symlink to /dev/zero, /dev/zero itself) ---------
for img in z.qcow2 zd.qcow2; do
	for c in "info --backing-chain" "convert -O raw" commit check; do
		case $c in
		"convert -O raw") args=(convert -O raw "$img" "out-$img.raw") ;;
		*)		  args=($c "$img") ;;
		esac
		ms T "${args[@]}"
		if [ "$c" = check ]; then
			# check reads only the image itself: the backing file is not opened.
			check_eq "$img: check does not open the backing file" "$RC" 0
			continue
		fi
		check "$img: $c on a device backing file: refused (rc $RC)" \
		    test "$RC" != 0 -a "$RC" != 124
		check_match "$img: $c: the message names the image and the device" "$OUT" \
		    "$img.*(zero.link|/dev/zero).*character device"
		check_match "$img: $c: the message says how to force it" "$OUT" '--force'
	done
done
ms T info --force --backing-chain z.qcow2
check_eq "info --force --backing-chain opens the device" "$RC" 0
check_match "info --force shows the chain down to the device" "$OUT" 'image: .*zero.link'
ms T convert --force -O raw z.qcow2 forced.raw
check_eq "convert --force reads through the device" "$RC" 0
check_eq "... and gets zeros of the image's size" "$(stat -c %s forced.raw)" 1048576
ms T resize z.qcow2 2M
check "resize of a device-backed image: refused (rc $RC)" test "$RC" != 0 -a "$RC" != 124
ms T resize --force z.qcow2 2M
check_eq "resize --force: done" "$RC" 0
truncate -s 1M plain.raw
ms T rebase -b zero.link "$(over r.qcow2 plain.raw; echo r.qcow2)"
check "rebase onto a device link: refused" test "$RC" != 0 -a "$RC" != 124
check_match "rebase: the message names the device" "$OUT" 'zero.link.*character device'
ms T create -f qcow2 -b zero.link -F raw n.qcow2 1M
check "create on a device backing file: refused" test "$RC" != 0 -a "$RC" != 124
check "... and no image is left behind" test ! -e n.qcow2

# A block device behind a header: commit would write a guest's data onto a
# host disk as root. A loop device over a file stands in for the disk.
LOOP=
if [ "$(id -u)" = 0 ] && command -v losetup >/dev/null && command -v qemu-io >/dev/null; then
	printf 'host disk' >disk.bin; truncate -s 1M disk.bin
	LOOP=$(losetup -f --show disk.bin 2>/dev/null) || LOOP=
fi
if [ -n "$LOOP" ]; then
	trap 'losetup -d "$LOOP"; rm -rf "$TMP"' EXIT
	over b.qcow2 "$LOOP"
	qemu-io -f qcow2 -c 'write -P 0x41 0 64k' b.qcow2 >/dev/null
	ms T commit b.qcow2
	check "commit into a block device named in a header: refused" \
	    test "$RC" != 0 -a "$RC" != 124
	check_match "commit: the message names the image, the device and --force" "$OUT" \
	    "b.qcow2.*$LOOP.*block device.*--force"
	check_eq "the device is untouched" "$(head -c 9 "$LOOP")" "host disk"
	ms T convert -O raw b.qcow2 leak.raw
	check "convert reading a block device named in a header: refused" \
	    test "$RC" != 0 -a "$RC" != 124 -a ! -e leak.raw
	ms T commit --force -d b.qcow2
	check_eq "commit --force writes into the block device" "$RC" 0
	check_eq "... the overlay's data is on the device" "$(head -c 4 "$LOOP")" AAAA
	ms T info "$LOOP"
	check_eq "info on a block device named on the command line works" "$RC" 0
else
	skip "block device backing files" "needs root, losetup and qemu-io"
fi

# A device named on the command line is the caller's choice: still no FIFO.
ms T info /dev/zero
check "info on a character device: refused without --force" test "$RC" != 0 -a "$RC" != 124
ms T info fifo
check "info on a FIFO named on the command line: refused" test "$RC" != 0 -a "$RC" != 124
check "... quickly (${MS} ms)" test "$MS" -lt 2000

# --- new images are 0600 ----------------------------------------------------------
umask 022
T create -f qcow2 m.qcow2 1M && T create -f raw m.raw 1M
T convert -O qcow2 m.raw mc.qcow2 && T create -f qcow2 -b m.qcow2 -F qcow2 mo.qcow2
for f in m.qcow2 m.raw mc.qcow2 mo.qcow2; do
	check_eq "$f created mode 0600" "$(stat -c %a "$f")" 600
done
chmod 0640 m.qcow2
T commit m.qcow2 >/dev/null 2>&1 || true	# (no backing: refused)
over o2.qcow2 m.raw; chmod 0640 o2.qcow2
T commit o2.qcow2 >/dev/null
check_eq "commit (emptying the overlay) keeps its mode" "$(stat -c %a o2.qcow2)" 640
check "qemu-img check accepts a 0600 image we made" qemu-img check -q m.qcow2
done_testing
