#!/bin/bash
# A bounded libFuzzer run of `vmctl import-rc` (tests/fuzz/fuzz_rcimport.c):
# no crash, and every configuration it prints parses as an inventory.
# Seeded with the rc-script configurations of tests/config/test_import_rc.sh
# and a few of bash's odd corners; a dictionary of the QEMU options it knows.
. "$VMS_TOP/tests/lib/tap.sh"
. "$VMS_TOP/tests/fuzz/lib.sh"
scratch
fuzz_build rcimport
fuzz_regress rcimport

mkdir -p "$TMP/seed"
# The heredocs of the script test, each a seed.
awk '/^rc [a-z]+\.conf <<.EOF.$/ { n++; f = sprintf("%s/seed/%d.conf", dir, n); next }
     /^EOF$/ { f = ""; next }
     f { print > f }' dir="$TMP" "$VMS_TOP/tests/config/test_import_rc.sh"
printf 'QEMU_MACHINES=(a !b)\nqemu_a=$'"'"'-m 64\\t-hda x'"'"'\nqemu_b="-net nic -net user,hostfwd=tcp::1-:2 \\\n -vnc :1"\nqemu_b_haltcmd="echo system_powerdown | nc localhost 1"\n' >"$TMP/seed/odd1.conf"
printf 'A=1; B+=("x" '"'"'y'"'"') # c\nexport QEMU_MACHINES=(v)\nqemu_v="-drive file=/a,,b,if=none,id=d -device ide-cd,drive=d,bootindex=1 -redir tcp:2::3"\n' >"$TMP/seed/odd2.conf"
check "seed corpus: $(ls "$TMP/seed" | wc -l) configs" test "$(ls "$TMP/seed" | wc -l)" -ge 4
{
	sed -n 's/^.*{ "\(-[a-z-]*\)", [a-z]*, [a-z_A-Z]* }.*/"\1"/p' "$VMS_TOP/src/config/rcqemu.c" | sort -u
	grep -o '{ "-[a-zA-Z-]*"' "$VMS_TOP/src/config/rcqemu.c" | sed 's/{ //' | sort -u
	for t in '"QEMU_MACHINES=("' '")"' '"qemu_a="' '"qemu_a_haltcmd="' '"qemu_a_type="' \
	    '"\""' "\"'\"" '"$'"'"'"' '"\\\x0a"' '"${A}"' '"$A"' '"!"' '"#"' '"telnet::1,server,nowait"' \
	    '"nic,macaddr=52:54:00:00:00:01,model=virtio"' '"tap,ifname=t,script=no"' \
	    '"user,id=n,hostfwd=tcp::1-:2"' '"e1000,netdev=n"' '"file=/x,if=virtio,format=qcow2"' \
	    '"echo system_powerdown | nc localhost 1"' '",,"' '"+="' '"export "'; do
		echo "$t"
	done
} | sort -u >"$TMP/dict"
check "dictionary: $(wc -l <"$TMP/dict") words" test "$(wc -l <"$TMP/dict")" -ge 40
fuzz_run rcimport -max_len=2048 -dict="$TMP/dict"
done_testing
