#!/bin/bash
# A TPM 2.0 per VM (tpm = on, issue 18): Debian's swtpm started by the
# daemon before QEMU, as the VM's user, with the real guest under TCG:
# - the guest sees /sys/class/tpm/tpm0 and reads PCR 0 (sha256), and talks
#   to the TPM itself: TPM2_ReadClock through /dev/tpm0 (its resetCount);
# - swtpm runs as the VM's QEMU user (a uid of its own), without
#   capabilities, on state_dir/NAME.tpm (0700, that user's); after a
#   restart (the new swtpm waits for the old one) its files stay and the
#   TPM's resetCount went up: the same TPM (a new one counts from the start
#   again); a stop reports nothing;
# - swtpm killed under a running VM: status says the guest's TPM is gone;
# - a state directory of another user is refused (the start fails, saying so);
# - daemon SIGKILLed and restarted: the running swtpm is adopted (same
#   pid), and stopping the VM leaves no swtpm behind.
source "$VMS_TOP/tests/lib/tap.sh"
source "$VMS_TOP/tests/lib/guest.sh"
source "$VMS_TOP/tests/daemon/lib.sh"
need_daemon
if [ ! -x /usr/bin/swtpm ]; then
	skip "tpm = on" "no /usr/bin/swtpm (Debian package swtpm; make deps)"
	exit 0
fi
scratch_daemon
need_guest
# The bzImage: a PVH-booted vmlinux (GUEST_KERNEL) finds no TPM in QEMU 7.2's
# ACPI tables ("ima: No TPM chip found"); a firmware-booted kernel does.

# No swtpm of this test left, whatever happens (cleanup_daemon knows QEMU's only).
swtpm_pids() {
	local p
	for p in $(pgrep -x swtpm); do
		ls -l "/proc/$p/fd/" 2>/dev/null | grep -q "$TMP/state/" && echo "$p"
	done
}
not() { ! "$@"; }
trap 'for p in $(swtpm_pids); do kill -KILL "$p"; done; cleanup_daemon' EXIT

P1=$((24000 + RANDOM % 10000))
# The default runas: a uid of the VM's own (root may not be who swtpm runs as).
chmod 0711 "$TMP"	# mktemp -d is 0700: the VM's user must reach run_dir
mkdir -m 0755 "$TMP/g"
install -m 0644 "$GUEST_VMLINUZ" "$TMP/g/vmlinuz"
install -m 0644 "$GUEST_INITRD" "$TMP/g/initrd"
CONF_RUNAS= conf_head 20 3
cat >>"$TMP/vms.conf" <<EOF
vm tp {
	machine = "pc"
	memory = 128M
	kernel = "$TMP/g/vmlinuz"
	initrd = "$TMP/g/initrd"
	append = "$(guest_append cooperative)"
	extra_args = "-no-reboot"
	autostart = no
	serial = $P1
	tpm = on
}
vm t2 {
	machine = "pc"
	memory = 32M
	autostart = no
	halt = quit
	tpm = on
}
EOF
# t2's TPM state directory belongs to someone else: never given to t2's user.
mkdir -p "$TMP/state/t2.tpm" && chown 65534:65534 "$TMP/state/t2.tpm"
check "config valid" vmctl check-config
if [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then
	# /usr/bin/swtpm hidden (no x bit on /dev/null) in a mount namespace of its own.
	out=$(unshare -m sh -c 'mount --bind /dev/null /usr/bin/swtpm && exec "$0" -c "$1" check-config' \
	    "$VMS_BIN/vmctl" "$TMP/vms.conf" 2>&1)
	check_match "check-config without swtpm: a warning naming its package" "$out" \
	    "warning: vm [a-z]*: tpm needs /usr/bin/swtpm \\(Debian package swtpm\\)"
else
	skip "check-config without swtpm" "needs root and unshare -m"
fi
argv=$(vmctl show tp --argv)
check_match "argv: swtpm's socket as a chardev" "$argv" "^socket,id=tpm0,path=$TMP/run/tp.swtpm\$"
check_match "argv: the emulator backend" "$argv" '^emulator,id=tpm0,chardev=tpm0$'
check_match "argv: tpm-tis on machine pc" "$argv" '^tpm-tis,tpmdev=tpm0$'

start_daemon
gsh() {	# CMD: run it in the guest, print its output line (a tag of its own: the console replays earlier ones)
	local t=o$RANDOM$RANDOM
	guest_console "TCP:127.0.0.1:$P1" "echo $t-\$($1)" "^$t-" 10 | sed -n "s/^$t-//p" | tail -n 1
}
# TPM2_ReadClock (no sessions: tag 8001, size 10, command code 0x181); the
# answer's resetCount is the 4 bytes at offset 26, in hex.
# (dd writes it in one write(2), as /dev/tpm0 wants; busybox printf does not.)
READCLOCK='printf "\200\001\000\000\000\012\000\000\001\201" >/tmp/rc; exec 3<>/dev/tpm0; dd if=/tmp/rc bs=10 >&3 2>/dev/null; dd bs=64 count=1 <&3 2>/dev/null | od -An -tx1 | tr -d " \n"; exec 3<&-'
boot() {	# start tp, wait for the guest
	: >"$TMP/log/tp.console.log"
	vmctl start tp >/dev/null 2>&1 && wait_state tp running 20 &&
	    guest_wait_ready "$TMP/log/tp.console.log" 60 >/dev/null
}
reset_count() { local r; r=$(gsh "$READCLOCK"); [ "${r:0:20}" = 80010000002300000000 ] && echo $((16#${r:52:8})); }

vmctl start t2 >/dev/null 2>&1
check "t2, its TPM state another user's: the start fails" wait_state t2 failed 10
check_match "... saying why" "$(field t2 stop_detail)" "tpm: $TMP/state/t2.tpm: owned by another user"
check_eq "... the directory untouched" "$(stat -c %u "$TMP/state/t2.tpm")" 65534

t0=$EPOCHREALTIME
if ! boot; then
	notok "tp starts and its guest is ready"
	tail -n 5 "$TMP/log/tp.swtpm.log" "$TMP/log/tp.qemu.log" 2>&1 | sed 's/^/# /'
	exit 1
fi
ok "tp starts and its guest is ready"
diag "boot with a TPM: $(sub "$EPOCHREALTIME" "$t0") s"
spid=$(cat "$TMP/run/tp.swtpm.pid" 2>/dev/null)
qpid=$(field tp pid)
check "swtpm runs (pidfile $TMP/run/tp.swtpm.pid)" test -n "$spid" -a -d "/proc/${spid:-0}"
check_eq "swtpm is /usr/bin/swtpm" "$(readlink "/proc/$spid/exe")" /usr/bin/swtpm
vu=$(stat -c %u "/proc/$qpid")
check "QEMU runs as a uid of its own, not root ($vu)" test "${vu:-0}" -gt 0
check_eq "swtpm runs as QEMU's user" "$(stat -c %u "/proc/$spid")" "$vu"
check_eq "... with no capabilities" "$(sed -n 's/^CapEff:[[:space:]]*//p' "/proc/$spid/status")" 0000000000000000
check_eq "its state directory: 0700, the VM user's" "$(stat -c '%a %u' "$TMP/state/tp.tpm")" \
    "700 $(stat -c %u "/proc/$qpid")"
check_eq "the guest sees /sys/class/tpm/tpm0" "$(gsh 'ls -d /sys/class/tpm/tpm0')" /sys/class/tpm/tpm0
pcr=$(gsh 'cat /sys/class/tpm/tpm0/pcr-sha256/0')
check_match "the guest reads PCR 0 (sha256): $pcr" "$pcr" '^[0-9A-F]{64}$'
rc1=$(reset_count)
check_match "the guest talks to the TPM: TPM2_ReadClock, resetCount $rc1" "$rc1" '^[0-9]+$'

# A restart: the new swtpm waits for the old one to end (it locks the state).
: >"$TMP/log/tp.console.log"
vmctl restart tp >/dev/null 2>&1
check "tp restarts" wait_state tp running 30
check "... its guest is ready" eval "guest_wait_ready $TMP/log/tp.console.log 60 >/dev/null"
check "the old swtpm is gone" gone_within "$spid"
check "a stop is no TPM problem (nothing reported)" not grep -q "ended while the VM ran" "$TMP/daemon.log"
check "its state stays: $TMP/state/tp.tpm/tpm2-00.permall" test -s "$TMP/state/tp.tpm/tpm2-00.permall"
rc2=$(reset_count)
check "the same TPM: resetCount went up ($rc1 -> $rc2)" test "${rc2:-0}" -gt "${rc1:-0}"
spid2=$(cat "$TMP/run/tp.swtpm.pid" 2>/dev/null)
check "a new swtpm ($spid -> $spid2)" test -n "$spid2" -a "$spid2" != "$spid" -a -d "/proc/${spid2:-0}"
spid=$spid2

qpid=$(field tp pid)
kill -KILL "$DPID"; wait "$DPID" 2>/dev/null
check "daemon SIGKILLed: swtpm runs on" test -d "/proc/$spid"
start_daemon
check "the restarted daemon adopts tp" wait_state tp running 20
check_match "... and its swtpm" "$(cat "$TMP/daemon.log")" "tp: found running swtpm pid $spid: adopting it"
check_match "status: tpm pid $spid" "$(vmctl status tp --json)" "\"tpm\":\\{\"pid\":$spid"

kill -KILL "$spid"
for ((i = 0; i < 50; i++)); do vmctl status tp --json | grep -q '"error":"' && break; sleep 0.1; done
st=$(vmctl status tp --json)
check_match "swtpm killed: status says the guest's TPM is gone" "$st" \
    "ended while the VM ran \\(adopted: no wait status\\): the guest's TPM is gone"
check_match "... and the daemon's log" "$(cat "$TMP/daemon.log")" "tp: swtpm \\(pid $spid\\) ended while the VM ran"
check_eq "... the VM itself runs on" "$(field tp state)" running

vmctl stop tp >/dev/null 2>&1
check "tp stopped" wait_state tp stopped 20
for ((i = 0; i < 50; i++)); do [ -z "$(swtpm_pids)" ] && break; sleep 0.1; done
check_eq "no swtpm left" "$(swtpm_pids)" ""
check "... its pidfile and socket gone" test ! -e "$TMP/run/tp.swtpm.pid" -a ! -e "$TMP/run/tp.swtpm"
check "QEMU gone" gone_within "$qpid"
stop_daemon
done_testing
