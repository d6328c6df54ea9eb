#!/bin/bash
# Crash consistency of vmimg snapshot -c/-d/-a, and of vmimg's writes into an
# image with snapshots: vmimg is SIGKILLed on entering its 1st, 2nd, ...
# write-side system call (pwrite64, fdatasync, ftruncate, fallocate), every
# one of them in turn, by strace's fault injection: no hook in vmimg. After
# each kill qemu-img check must find no corruption, and the image must read
# as before or as after the operation, its snapshots intact.
. "$VMS_TOP/tests/lib/tap.sh"
scratch
V="$VMS_BIN/vmimg"
cd "$TMP" || exit 1

if ! command -v qemu-img >/dev/null || ! command -v qemu-io >/dev/null; then
	skip "snapshot crash consistency" "qemu-img or qemu-io not installed"
	done_testing; exit
fi
if ! command -v strace >/dev/null || ! strace -o /dev/null true 2>/dev/null; then
	skip "snapshot crash consistency" "strace missing or not allowed to trace"
	done_testing; exit
fi
CALLS=pwrite64,fdatasync,ftruncate,fallocate
# LeakSanitizer cannot run under ptrace (SANITIZE=1 builds).
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0

# content IMAGE [SNAPSHOT]: a checksum of the guest content, read by qemu-img
content() {
	rm -f content.raw
	if [ $# -eq 2 ]; then qemu-img convert -U -l "snapshot.name=$2" -O raw "$1" content.raw
	else qemu-img convert -U -O raw "$1" content.raw; fi
	md5sum <content.raw | cut -d' ' -f1
}
tags() { qemu-img snapshot -l "$1" | awk 'NR > 2 { print $2 }' | tr '\n' ' '; }
# The kill points of a command (run on a copy): "CALL:K" for the K-th call
# of each write-side system call it makes (strace counts per call).
points() {
	strace -f -o calls.txt -e trace=$CALLS "$@" >/dev/null 2>&1
	for c in ${CALLS//,/ }; do
		seq 1 "$(grep -cE "^[0-9]+ +$c\(" calls.txt)" | sed "s/^/$c:/"
	done
}
# killed_at CALL:K CMD...: run CMD, SIGKILLed on entering that call (strace
# dies of the same signal; the subshell keeps bash's notice out of the log).
killed_at() {
	local p=$1; shift
	( strace -f -o /dev/null -e trace=$CALLS -e inject="${p%:*}:signal=KILL:when=${p#*:}" \
	    "$@" >/dev/null 2>&1; exit $? ) 2>/dev/null
}

# A base image: data, compressed, zero clusters; a snapshot by each tool
# with QEMU writes between, so tables are shared both ways.
qemu-img create -q -f qcow2 base.qcow2 64M
qemu-io -c 'write -P 0x11 0 2M' -c 'write -c -P 0x22 3M 256k' -c 'write -z 4M 64k' \
    -c 'write -P 0x44 63M 1M' base.qcow2 >/dev/null
"$V" snapshot -c ours base.qcow2
qemu-io -c 'write -P 0x55 1M 2M' base.qcow2 >/dev/null
qemu-img snapshot -c theirs base.qcow2
qemu-io -c 'write -P 0x66 0 512k' -c 'write -z 63M 64k' base.qcow2 >/dev/null
sum_active=$(content base.qcow2)
sum_ours=$(content base.qcow2 ours)
sum_theirs=$(content base.qcow2 theirs)

# crash_op DESC ARGS AFTER_TAGS AFTER_ACTIVE: vmimg snapshot ARGS on a copy
# of base, killed at each of its write-side calls in turn.
crash_op() {
	local desc=$1 args=$2 after_tags=$3 after_active=$4 n k rc out bad=0 leaks=0 as pts
	local before_tags after=0 before=0
	cp base.qcow2 work.qcow2
	before_tags=$(tags work.qcow2)
	# shellcheck disable=SC2086
	pts=$(points "$V" snapshot $args work.qcow2)
	n=$(echo $pts | wc -w)
	check "$desc: the operation makes write-side calls to interrupt ($n)" test "$n" -gt 3
	for k in $pts; do
		cp base.qcow2 work.qcow2
		# shellcheck disable=SC2086
		killed_at "$k" "$V" snapshot $args work.qcow2; rc=$?
		[ $rc = 137 ] || { bad=$((bad + 1)); diag "call $k: exit $rc, not killed"; }
		out=$(qemu-img check work.qcow2 2>&1); rc=$?
		case $rc in
		0) ;;
		3) leaks=$((leaks + 1)) ;;
		*) bad=$((bad + 1)); diag "call $k: qemu-img check exit $rc"
		   printf '%s\n' "$out" | head -n 5 | sed 's/^/#   /' ;;
		esac
		as=$(tags work.qcow2)
		if [ "$as" = "$before_tags" ] && [ "$(content work.qcow2)" = "$sum_active" ]; then
			before=$((before + 1))
		elif [ "$as" = "$after_tags" ] && [ "$(content work.qcow2)" = "$after_active" ]; then
			after=$((after + 1))
		else
			bad=$((bad + 1)); diag "call $k: neither before nor after (snapshots: $as)"
		fi
		for t in $as; do
			case $t in
			ours) [ "$(content work.qcow2 ours)" = "$sum_ours" ] ||
			    { bad=$((bad + 1)); diag "call $k: snapshot ours changed"; } ;;
			theirs) [ "$(content work.qcow2 theirs)" = "$sum_theirs" ] ||
			    { bad=$((bad + 1)); diag "call $k: snapshot theirs changed"; } ;;
			esac
		done
	done
	check_eq "$desc: killed at each of $n calls: no corruption, before or after each time" \
	    "$bad" 0
	check_eq "$desc: ... and not even a leak" "$leaks" 0
	check "$desc: some kills leave the image before ($before), some after ($after)" \
	    test "$before" -gt 0 -a "$after" -gt 0
	diag "$desc: $n calls: $before kills left it before, $after after, $leaks leaked"
}

crash_op "create" "-c new" "ours theirs new " "$sum_active"
crash_op "delete ours (shares L2 tables with the image)" "-d ours" "theirs " "$sum_active"
crash_op "delete theirs (qemu-img's)" "-d theirs" "ours " "$sum_active"
crash_op "apply ours" "-a ours" "ours theirs " "$sum_ours"
crash_op "apply theirs" "-a theirs" "ours theirs " "$sum_theirs"

# vmimg's copy-on-write writes (commit into the base): not atomic, but a kill
# at any call leaves no corruption (leaks allowed) and the snapshots intact.
qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 top.qcow2
qemu-io -c 'write -P 0x77 100k 3M' -c 'write -z 3M 1M' -c 'write -P 0x78 62M 1500k' \
    top.qcow2 >/dev/null
cp base.qcow2 base.keep
pts=$(points "$V" commit -d top.qcow2)
n=$(echo $pts | wc -w)
cp base.keep base.qcow2
check "commit into a base with snapshots: write-side calls to interrupt ($n)" test "$n" -gt 3
bad=0
for k in $pts; do
	cp base.keep base.qcow2
	killed_at "$k" "$V" commit -d top.qcow2
	qemu-img check base.qcow2 >/dev/null 2>&1; rc=$?
	[ $rc = 0 ] || [ $rc = 3 ] || { bad=$((bad + 1)); diag "commit, call $k: qemu-img check exit $rc"; }
	[ "$(content base.qcow2 ours) $(content base.qcow2 theirs)" = "$sum_ours $sum_theirs" ] ||
	    { bad=$((bad + 1)); diag "commit, call $k: a snapshot changed"; }
done
check_eq "commit killed at each of $n calls: no corruption, snapshots intact" "$bad" 0

done_testing
