#!/bin/bash
# The inventory through `vmctl`: a config using every option round-trips
# into the model (good/*.ok), every bad config fails with exactly the
# errors (line, class, VM) listed in its first line, and the shipped
# example passes.
source "$VMS_TOP/tests/lib/tap.sh"
VMCTL=$VMS_BIN/vmctl
dir=$(cd "$VMS_TOP/tests/config" && pwd -P)
scratch

# --- help, usage --------------------------------------------------------
out=$("$VMCTL" --help); rc=$?
check_eq "vmctl --help exits 0" "$rc" 0
check_match "vmctl --help lists check-config" "$out" '^  check-config \[-c FILE\]'
check_match "vmctl --help lists show" "$out" '^  show NAME'
out=$("$VMCTL" show --help); rc=$?
check_match "vmctl show --help" "$rc $out" '^0 usage: vmctl show NAME \[--argv \[--shell\]\]'
"$VMCTL" frobnicate >/dev/null 2>&1
check_eq "unknown command exits 2" "$?" 2
"$VMCTL" show >/dev/null 2>&1
check_eq "show without a name exits 2" "$?" 2
"$VMCTL" check-config --bogus >/dev/null 2>&1
check_eq "unknown command option exits 2" "$?" 2

# --- the shipped example ------------------------------------------------
out=$("$VMCTL" check-config -c "$VMS_TOP/etc/vmservice.conf" 2>&1); rc=$?
check_match "etc/vmservice.conf passes check-config" "$rc $out" '^0 ok: [0-9]+ VMs?$'

# --- good config: every option, round trip -------------------------------
good=$dir/good/all.conf
# (Notes on accel = auto VMs follow the ok line: they depend on this host's KVM.)
notes() { grep -v '^note: vm [a-z]*: accel = auto: '; }
out=$("$VMCTL" check-config -c "$good" 2>&1); rc=$?
out=$(printf '%s\n' "$out" | notes)
check_eq "good/all.conf passes" "$rc $out" "0 ok: 3 VMs"
out=$(VMSERVICE_CONF=$good "$VMCTL" check-config 2>&1 | notes)
check_eq "VMSERVICE_CONF names the file" "$out" "ok: 3 VMs"
out=$(VMSERVICE_CONF=/nonexistent "$VMCTL" -c "$good" check-config 2>&1 | notes)
check_eq "-c before the command wins over VMSERVICE_CONF" "$out" "ok: 3 VMs"
for ok in "$dir"/good/*.ok; do
	vm=$(basename "$ok" .ok)
	"$VMCTL" show "$vm" -c "$good" 2>&1 | sed "s|$dir|@DIR@|g" >"$TMP/$vm.out"
	if diff -u "$ok" "$TMP/$vm.out" >"$TMP/$vm.diff"; then
		ok "show $vm matches good/$vm.ok"
	else
		notok "show $vm matches good/$vm.ok"
		sed 's/^/#   /' "$TMP/$vm.diff"
	fi
done
"$VMCTL" show nosuchvm -c "$good" >/dev/null 2>&1
check_eq "show of an unknown VM exits 1" "$?" 1

# --- show --argv ----------------------------------------------------------
out=$("$VMCTL" show full --argv -c "$good" 2>&1); rc=$?
check_eq "show --argv exits 0" "$rc" 0
check_eq "argv[0] is the emulator" "$(printf '%s\n' "$out" | head -n1)" \
	"$dir/good/../emu/qemu-system-x86_64"
check_match "argv names the VM" "$out" '^(guest=)?full(,|$)'
uuid=$(sed -n 's/^uuid: //p' "$TMP/full.out")
check_match "argv carries the model's UUID" "$out" "^$uuid\$"
check_match "argv has the resolved disk path" "$out" "$dir/good/\.\./files/disk\.img"

out=$("$VMCTL" show full --argv --shell -c "$good" 2>&1)
check_eq "show --argv --shell is one line" "$(printf '%s\n' "$out" | wc -l)" 1
check_match "show --argv --shell starts with the emulator" "$out" "^'?$dir/good/\.\./emu/qemu-system-x86_64'? "

# --- bad configs ----------------------------------------------------------
# First line: "# expect: LINE CLASS [VM]; ..." (FILE:LINE for another file).
n=0
for conf in "$dir"/bad/*.conf; do
	name=bad/${conf##*/}
	"$VMCTL" check-config -c "$conf" >/dev/null 2>"$TMP/err"; rc=$?
	if res=$(awk -v conf="$conf" -v base="$dir/bad/" -f "$dir/expect.awk" \
	    "$conf" "$TMP/err") && [ "$rc" = 1 ]; then
		ok "$name: exit 1, errors as expected"
	else
		notok "$name: exit $rc"
		printf "%s\n" "$res" | sed "s/^/#   /"
		sed 's/^/#     /' "$TMP/err"
	fi
	n=$((n + 1))
done
[ "$n" -ge 25 ] && ok "$n bad configs checked" || notok "only $n bad configs"

out=$("$VMCTL" check-config -c "$TMP/nothere.conf" 2>&1); rc=$?
check_match "a missing main file exits 1" "$rc $out" "^1 .*nothere.conf: error: cannot read"

# --- memory: a bare number is MiB, as QEMU's -m (issue 11) -----------------
printf 'emulator_dir = "%s"\naccel = tcg\nvm m {\n\tmemory = 512\n}\n' "$dir/emu" >"$TMP/mem.conf"
out=$("$VMCTL" check-config -c "$TMP/mem.conf" 2>&1); rc=$?
check_eq "memory = 512 is accepted" "$rc $out" "0 ok: 1 VM"
check_match "memory = 512 is 512 MiB" "$("$VMCTL" show m -c "$TMP/mem.conf")" '^memory: 536870912 \(512M\)$'
check_match "and QEMU gets -m 512M" "$("$VMCTL" show m --argv -c "$TMP/mem.conf" | tr '\n' ' ')" \
    ' -m 512M? '
"$VMCTL" check-config -c "$dir/bad/memory-bare.conf" >/dev/null 2>"$TMP/err"
check_match "memory = 8: the message says which unit it assumed" "$(cat "$TMP/err")" \
    'memory: 8 \(MiB: a number without a unit is megabytes\) is out of range 16M\.\.16T'

done_testing
