#!/bin/bash
# Every qcow2 variant qemu-img 7.2 writes, both ways (issue 15): 18 kinds of
# image made by qemu-img create/convert. For each:
#   read:   vmimg convert -O raw equals qemu-img convert -O raw (and the
#           source), vmimg check is clean, vmimg info is qemu-img info's text;
#   write:  vmimg commits an overlay's writes (data, zeros, unaligned) into
#           qemu-img's image: qemu-img check clean, qemu-img compare equal to
#           what the chain showed before;
#   make:   where vmimg has the -o option, vmimg convert makes the variant
#           itself: qemu-img check clean, compare equal, info shows it.
# Encrypted variants are refused both ways with a message. At the end a
# table says what each variant does now.
. "$VMS_TOP/tests/lib/tap.sh"
scratch
V="$VMS_BIN/vmimg"
cd "$TMP" || exit 1
if ! command -v qemu-img >/dev/null || ! command -v qemu-io >/dev/null; then
	skip "qcow2 variants" "qemu-img/qemu-io not installed"
	done_testing; exit
fi
T() { timeout 60 "$V" "$@"; }
SECRET="--object secret,id=sec0,data=vmservice"

head -c 2M /dev/urandom > rnd
truncate -s 16M src.raw
dd if=rnd of=src.raw bs=1M seek=1 conv=notrunc status=none
seq 1 200000 | head -c 1M | dd of=src.raw bs=1M seek=6 conv=notrunc status=none
printf 'tail' | dd of=src.raw bs=1 seek=$((16*1024*1024 - 700)) conv=notrunc status=none
qemu-img convert -O qcow2 src.raw base.qcow2

# name | how qemu-img makes it | its -o options | vmimg convert -O qcow2's
# options making the same (- : vmimg has no such option)
# how: convert (qemu-img convert), convert-c (with -c), create (create,
# then convert -n into it), create-c (same, compressed), overlay (create -b
# base.qcow2, then qemu-io writes), crypt (create with a secret).
VARIANTS='
default-create|create||
convert|convert||
zlib-compressed|convert-c||-c
compat-0.10|convert|compat=0.10|-o compat=0.10
cluster-512|convert|cluster_size=512|-o cluster_size=512
cluster-2M|convert|cluster_size=2M|-o cluster_size=2M
refcount-1|convert|refcount_bits=1|-o refcount_bits=1
refcount-64|convert|refcount_bits=64|-o refcount_bits=64
lazy-refcounts|convert|lazy_refcounts=on|-
prealloc-metadata|convert|preallocation=metadata|-
backing-overlay|overlay||-
zstd-create|create-c|compression_type=zstd|-o compression_type=zstd
zstd-compressed|convert-c|compression_type=zstd|-c -o compression_type=zstd
extended-l2|convert|extended_l2=on|-o extended_l2=on
data-file|convert|data_file=NAME.data|-o data_file=NAME.mine
data-file-raw|convert|data_file=NAME.data,data_file_raw=on|-o data_file=NAME.mine,data_file_raw=on
luks|crypt|encrypt.format=luks,encrypt.key-secret=sec0|-
aes|crypt|encrypt.format=aes,encrypt.key-secret=sec0|-
'
count=$(printf '%s\n' "$VARIANTS" | grep -c '|')
check_eq "the table holds the 18 variants" "$count" 18

make_variant() {	# NAME HOW OPTS
	local img=$1.qcow2 o=${3//NAME/$1}
	case $2 in
	convert)   qemu-img convert -O qcow2 ${o:+-o "$o"} src.raw "$img" ;;
	convert-c) qemu-img convert -c -O qcow2 ${o:+-o "$o"} src.raw "$img" ;;
	create)    qemu-img create -q -f qcow2 ${o:+-o "$o"} "$img" 16M &&
	           qemu-img convert -n -O qcow2 src.raw "$img" ;;
	create-c)  qemu-img create -q -f qcow2 ${o:+-o "$o"} "$img" 16M &&
	           qemu-img convert -n -c -O qcow2 src.raw "$img" ;;
	overlay)   qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 "$img" &&
	           qemu-io -c 'write -P 0x71 3M 70000' -c 'write -z 6M 64k' "$img" >/dev/null ;;
	crypt)     # LUKS times its key derivation by the CPU clock, which
	           # fails now and then ("Unable to get accurate CPU usage")
	           # on a busy machine: a few tries.
	           for _ in 1 2 3 4 5; do
	           	# shellcheck disable=SC2086
	           	qemu-img create -q -f qcow2 $SECRET -o "$o" "$img" 16M && return 0
	           	sleep 1
	           done; return 1 ;;
	esac
}

declare -A READ WRITE MAKE
while IFS='|' read -r name how opts vopts; do
	[ -n "$name" ] || continue
	img=$name.qcow2
	if ! make_variant "$name" "$how" "$opts" 2>err; then
		notok "$name: qemu-img makes it"; sed 's/^/# /' err; continue
	fi
	if [ "$how" = crypt ]; then
		T convert -O raw "$img" ours.raw 2>err; rc=$?
		check_eq "$name: read refused (exit 1, no crash)" "$rc" 1
		check_match "$name: ... naming the encryption" "$(cat err)" 'encrypted images are not supported'
		T create -f qcow2 -b "$img" -F qcow2 ov.qcow2 2>/dev/null; rc=$?
		check_eq "$name: an overlay on it refused" "$rc" 1
		READ[$name]=refused WRITE[$name]=refused MAKE[$name]=-
		continue
	fi
	# read
	rm -f ours.raw theirs.raw
	qemu-img convert -O raw "$img" theirs.raw
	if T convert -O raw "$img" ours.raw 2>err && cmp -s ours.raw theirs.raw; then
		ok "$name: vmimg reads it as qemu-img does"; READ[$name]=yes
	else
		notok "$name: vmimg reads it as qemu-img does"; sed 's/^/# /' err; READ[$name]=NO
	fi
	check "$name: ... which is the source's content" cmp -s theirs.raw \
	    "$([ "$how" = overlay ] && echo theirs.raw || echo src.raw)"
	T check "$img" >/dev/null 2>&1
	check_eq "$name: vmimg check is clean" "$?" 0
	check_eq "$name: vmimg info is qemu-img info's text" "$(T info "$img")" "$(qemu-img info "$img")"
	# write: commit an overlay into it
	rm -f top.qcow2
	qemu-img create -q -f qcow2 -b "$img" -F qcow2 top.qcow2
	qemu-io -c 'write -P 0x5a 100k 3000' -c 'write -z 1M 192k' -c 'write -P 0x5b 6M 1M' \
	    -c 'write -P 0x5c 16773000 700' top.qcow2 >/dev/null
	qemu-img convert -O raw top.qcow2 want.raw
	if T commit top.qcow2 >/dev/null 2>err && qemu-img check -q "$img" &&
	    qemu-img compare -q want.raw "$img"; then
		ok "$name: vmimg writes into it (commit): qemu-img check clean, content right"
		WRITE[$name]=yes
	else
		notok "$name: vmimg writes into it (commit)"; sed 's/^/# /' err; WRITE[$name]=NO
	fi
	# make: vmimg creates the variant itself
	MAKE[$name]=-
	if [ "$vopts" != - ]; then
		rm -f mine.qcow2 "$name.mine"
		# shellcheck disable=SC2086
		if T convert -O qcow2 ${vopts//NAME/$name} src.raw mine.qcow2 2>err &&
		    qemu-img check -q mine.qcow2 && qemu-img compare -q src.raw mine.qcow2; then
			ok "$name: vmimg convert -O qcow2 $vopts: qemu-img check clean, compare equal"
			MAKE[$name]=yes
		else
			notok "$name: vmimg convert -O qcow2 $vopts"; sed 's/^/# /' err; MAKE[$name]=NO
		fi
	elif [ "$how" = overlay ]; then
		rm -f mine.qcow2
		if T create -f qcow2 -b base.qcow2 -F qcow2 mine.qcow2 &&
		    qemu-io -c 'write -P 0x71 3M 70000' -c 'write -z 6M 64k' mine.qcow2 >/dev/null &&
		    qemu-img check -q mine.qcow2 && qemu-img compare -q theirs.raw mine.qcow2; then
			ok "$name: vmimg create -b, QEMU's writes: qemu-img check clean"
			MAKE[$name]=yes
		else
			notok "$name: vmimg create -b"; MAKE[$name]=NO
		fi
	fi
done <<<"$VARIANTS"
# The options vmimg writes are the ones qemu-img reports.
for v in "zstd-compressed:compression type: zstd" "extended-l2:extended l2: true" \
    "data-file-raw:data file raw: true"; do
	name=${v%%:*}; want=${v#*:}
	rm -f mine.qcow2 "$name.mine"
	vopts=$(printf '%s\n' "$VARIANTS" | grep "^$name|" | cut -d'|' -f4)
	# shellcheck disable=SC2086
	T convert -O qcow2 ${vopts//NAME/$name} src.raw mine.qcow2 2>/dev/null
	check_match "$name: qemu-img info of ours says '$want'" "$(qemu-img info mine.qcow2)" "$want"
done

diag "variant              read     write    make (vmimg -o)"
while IFS='|' read -r name _; do
	[ -n "$name" ] || continue
	diag "$(printf '%-20s %-8s %-8s %s' "$name" "${READ[$name]:-?}" "${WRITE[$name]:-?}" \
	    "${MAKE[$name]:-?}")"
done <<<"$VARIANTS"

done_testing
