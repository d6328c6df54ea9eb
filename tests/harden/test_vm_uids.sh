#!/bin/bash
# Per-VM uids (issue 12): with default settings every VM's QEMU runs as a
# uid and gid of its own from uid_range, kept across daemon restarts; a
# process with VM a's ids (what a compromised QEMU of a is) cannot open VM
# b's disk for writing nor connect to the control socket; a uid_range that
# holds a passwd entry is refused by check-config; an adopted QEMU must run
# as its VM's uid.
source "$VMS_TOP/tests/lib/tap.sh"
source "$VMS_TOP/tests/daemon/lib.sh"
need_daemon
if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null; then
	skip "per-VM uids" "needs root and setpriv"
	exit 0
fi
scratch_daemon
chmod 0711 "$TMP"	# mktemp -d is 0700: the QEMU users must reach run_dir
not() { ! "$@"; }
kill_daemon() { kill -KILL "$DPID"; wait "$DPID" 2>/dev/null; }
sf() { sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status" | tr -s ' \t' ' '; }

mkdir -m 0755 "$TMP/disks"
for v in a b; do
	truncate -s 1M "$TMP/disks/$v.img"
	chmod 0600 "$TMP/disks/$v.img"
done
CONF_RUNAS= conf_head 2 2	# no runas anywhere: the default
for v in a b; do
	conf_vm $v 'machine = "pc"' 'vga = none' 'accel = "tcg"' \
	    "disk { file = \"$TMP/disks/$v.img\" format = raw if = virtio }"
done
sed -i '/machine = "none"/d' "$TMP/vms.conf"
check "check-config accepts the default uid_range" vmctl check-config

if ! start_daemon; then
	notok "daemon starts"
	sed 's/^/# /' "$TMP/daemon.log"
	done_testing; exit
fi
check "a runs" wait_state a running 20
check "b runs" wait_state b running 20
pa=$(field a pid) pb=$(field b pid)
ua=$(sf "$pa" Uid | cut -d' ' -f1) ub=$(sf "$pb" Uid | cut -d' ' -f1)
check_eq "a: real, effective, saved, fs uid all one" "$(sf "$pa" Uid)" "$ua $ua $ua $ua"
check "a and b run as different uids ($ua, $ub)" test "$ua" != "$ub"
check "a's uid is in the default uid_range 60601-61099" test "$ua" -gt 60600 -a "$ua" -le 61099
check "b's uid is in the default uid_range 60601-61099" test "$ub" -gt 60600 -a "$ub" -le 61099
check_eq "a's gid is its own (the uid's number)" "$(sf "$pa" Gid | cut -d' ' -f1)" "$ua"
check_eq "b's gid is its own" "$(sf "$pb" Gid | cut -d' ' -f1)" "$ub"
ga=$(sf "$pa" Groups)
check_match "a's groups: its own and the shared run_dir gid 60600" " $ga " " $ua .*60600 | 60600 .*$ua "
check "a's groups do not hold b's gid" test "${ga/$ub/}" = "$ga"
check_eq "a's disk is a's" "$(stat -c %u:%g "$TMP/disks/a.img")" "$ua:$ua"
check_eq "b's disk is b's" "$(stat -c %u:%g "$TMP/disks/b.img")" "$ub:$ub"
check_match "the allocation is kept in state_dir/uids" "$(cat "$TMP/state/uids")" "^a $ua\$"

# As VM a's QEMU: its uid, gid and supplementary groups.
asa=(setpriv --reuid="$ua" --regid="$ua" --groups="$(echo $ga | tr ' ' ,)")
check "as a: its own disk opens for writing" "${asa[@]}" sh -c "exec 3<>'$TMP/disks/a.img'"
check "as a: b's disk does not open for writing" not "${asa[@]}" sh -c "exec 3<>'$TMP/disks/b.img'"
check "as a: b's disk does not open for reading" not "${asa[@]}" sh -c "exec 3<'$TMP/disks/b.img'"
out=$("${asa[@]}" "$VMS_BIN/vmctl" -c "$TMP/vms.conf" status 2>&1)
check_match "as a: the control socket refuses the connection" "$out" \
    'permission denied on .*/vmservice.sock'
# With the socket's mode out of the way, the daemon itself refuses it: a
# QEMU user is never in the status group.
chmod 0777 "$(SOCK)"
out=$(printf '{"cmd":"status"}\n' | "${asa[@]}" socat -t 3 - "UNIX-CONNECT:$(SOCK)")
check_match "as a: the daemon refuses even status" "$out" '"ok":false,"error":"permission denied"'
chmod 0660 "$(SOCK)"

# The same uids after a restart of the daemon (adopted QEMUs) and of a VM.
kill_daemon
start_daemon
check "a adopted after a daemon restart" wait_state a running 20
check_eq "a: same QEMU" "$(field a pid)" "$pa"
vmctl stop a >/dev/null 2>&1
vmctl start a >/dev/null 2>&1
check "a restarted" wait_state a running 20
pa2=$(field a pid)
check_eq "a: a new QEMU, the same uid" "$(sf "$pa2" Uid | cut -d' ' -f1)" "$ua"

# Adoption checks the uid: b's QEMU found running as another uid is not
# adopted (a foreign process with b's -name/-pidfile), nor is a second
# started. Done by hand: b's QEMU now runs as a's uid.
kill_daemon
kill -KILL "$pb"
for ((i = 0; i < 50; i++)); do gone "$pb" && break; sleep 0.1; done
cp "$TMP/state/uids" "$TMP/uids.saved"
sed -i "s/^b .*/b $ua/" "$TMP/state/uids"	# b's QEMU will run as a's uid
chown "$ua:$ua" "$TMP/disks/b.img"	# (as a, it could not take b's disk)
start_daemon
check "b started as a's uid" wait_state b running 20
pb=$(field b pid)
check_eq "b's QEMU runs as a's uid (set up)" "$(sf "$pb" Uid | cut -d' ' -f1)" "$ua"
kill_daemon
cp "$TMP/uids.saved" "$TMP/state/uids"	# b's uid is $ub again
start_daemon
sleep 1
check "b's QEMU of the wrong uid is not adopted" not wait_state b running 3
check_match "the log says why" "$(cat "$TMP/daemon.log")" \
    "pid $pb runs as uid $ua, not as this VM's user vm-b \\(uid $ub\\)"
check "b's old QEMU was left alone" test -d "/proc/$pb"
kill -KILL "$pb"
stop_daemon

# A range that holds a passwd entry (Debian's daemon is uid 1).
sed -i "1i uid_range = \"1-100\"" "$TMP/vms.conf"
out=$(vmctl check-config 2>&1)
check "check-config refuses a uid_range holding passwd entries" test $? != 0
check_match "... naming the user" "$out" "uid_range 1-100 holds user '$(id -un 1)' \\(uid 1\\)"
sed -i "1s/.*/uid_range = \"5-5\"/" "$TMP/vms.conf"
check_match "a range of one number is refused" "$(vmctl check-config 2>&1)" \
    "uid_range: bad value '5-5'"
done_testing
