#!/bin/bash
# Issue 12: a guest on `net = user` reaches the host's 127.0.0.1 at 10.0.2.2
# (libslirp). Driven for real: the test guest, on user networking, runs
# busybox nc against 10.0.2.2:PORT of another VM's HMP monitor and serial
# telnet ports; the daemon refuses it (its socket is held by a QEMU of ours:
# QEMU runs as root here, so the uid alone cannot tell), while an admin's
# client on 127.0.0.1 is served. Then the uid rule (a process of a VM's runas
# user on the host is refused), the console password, and check-config.
source "$VMS_TOP/tests/lib/tap.sh"
source "$VMS_TOP/tests/daemon/lib.sh"
source "$VMS_TOP/tests/lib/guest.sh"
need_daemon
scratch_daemon
chmod 0711 "$TMP"	# mktemp -d is 0700: a runas nobody QEMU must reach run_dir
need_guest

base=$(( 20000 + ($$ * 7) % 20000 ))
mon=$base vser=$((base + 1)) gser=$((base + 2)) nmon=$((base + 3)) pmon=$((base + 4))
conf_head 2 2
conf_vm victim "monitor = $mon" "serial = $vser"
# A VM whose QEMU runs as nobody: the uid rule.
conf_vm other "monitor = $nmon" 'runas = "nobody"' 'autostart = no'
# VNC is QEMU's own: no vnc_password_file, so a generated password.
disp=$(( 10 + $$ % 30 ))
cat >>"$TMP/vms.conf" <<EOC
vm screen {
	machine = "pc"
	memory = 32M
	accel = tcg
	vnc = $disp
	halt = quit
}
EOC
cat >>"$TMP/vms.conf" <<EOC
vm attacker {
	memory = 128M
	accel = tcg
	kernel = "$GUEST_KERNEL"
	initrd = "$GUEST_INITRD"
	append = "$(guest_append stubborn 10.0.2.15/24)"
	nic { net = user }
	serial = $gser
	halt = quit
}
EOC
check "daemon starts" start_daemon
check "victim running" wait_state victim running
check "attacker running" wait_state attacker running 20
for ((i = 0; i < 600; i++)); do
	grep -q 'vmservice-guest: ready' "$TMP/log/attacker.console.log" 2>/dev/null && break
	sleep 0.1
done
check "guest ready" grep -q 'vmservice-guest: ready' "$TMP/log/attacker.console.log"

# from_guest PORT: the guest sends "info status" to 10.0.2.2:PORT; prints what came back.
from_guest() {
	guest_console "TCP:127.0.0.1:$gser" \
	    "(echo info status; sleep 2) | timeout 5 nc 10.0.2.2 $1; echo nc-done-\$((40+2))" \
	    '^nc-done-42' 20
}
out=$(from_guest "$mon")
check_match "the guest's nc ran" "$out" 'nc-done-42'
check_match "guest refused at the victim's monitor" "$out" 'refused: connections from guests'
if printf '%s' "$out" | grep -q 'VM status'; then
	notok "the guest got no HMP answer"
else
	ok "the guest got no HMP answer"
fi
check_match "refusal logged with VM, port and reason" "$(cat "$TMP/daemon.log")" \
    "victim: monitor port $mon: refused client 127.0.0.1:[0-9]*: its socket is held by VM attacker's QEMU"
out=$(from_guest "$vser")
check_match "guest refused at the victim's serial port" "$out" 'refused: connections from guests'

# VNC from the guest: the RFB handshake up to the security types the
# server offers (RFB 6.1.2): "1 2" is one type, VNC authentication; "1 1"
# would be None, an open display.
check "screen running" wait_state screen running
for ((i = 0; i < 50; i++)); do grep -q 'screen: VNC password set' "$TMP/daemon.log" && break; sleep 0.1; done
out=$(guest_console "TCP:127.0.0.1:$gser" \
    "(printf 'RFB 003.008\\n'; sleep 1) | timeout 4 nc 10.0.2.2 $((5900 + disp)) | od -An -tu1 | tr -s ' \\n' ' '; echo; echo rfb-done-\$((40+2))" \
    '^rfb-done-42' 20)
check_match "the guest reaches the VNC server" "$out" '82 70 66 32 48 48 51 46 48 48 56 10 '
check_match "which asks it for the password" "$out" '82 70 66 32 48 48 51 46 48 48 56 10 1 2 '

# The admin on the host is still served.
out=$( { sleep 0.3; printf 'info status\r\n'; sleep 0.7; } |
    timeout 5 socat -t 0.5 - TCP:127.0.0.1:$mon | tr -d '\r')
check_match "admin's telnet to 127.0.0.1 reaches HMP" "$out" 'VM status: running'

# The uid rule: a process of a QEMU user (VM other runs as nobody) is refused
# even though no QEMU holds its socket.
vmctl start other >/dev/null
check "other (runas nobody) running" wait_state other running
out=$( { sleep 0.3; printf 'info status\r\n'; sleep 0.7; } |
    timeout 5 setpriv --reuid=nobody --regid=nogroup --clear-groups \
    socat -t 0.5 - TCP:127.0.0.1:$nmon 2>&1 | tr -d '\r')
check_match "a QEMU user's process is refused" "$out" 'refused'
check_match "by its uid" "$(cat "$TMP/daemon.log")" \
    "other: monitor port $nmon: refused client .*: its socket belongs to uid 65534, a QEMU user"
out=$( { sleep 0.3; printf 'info status\r\n'; sleep 0.7; } |
    timeout 5 socat -t 0.5 - TCP:127.0.0.1:$nmon | tr -d '\r')
check_match "root's client is served there" "$out" 'VM status: running'
stop_daemon
check_eq "daemon exits 0" "$DRC" 0

# console_password_file: a telnet login before the client is attached.
printf 's3cret-pw\n' >"$TMP/conpw"
chmod 600 "$TMP/conpw"
conf_head 2 2
echo "console_password_file = \"$TMP/conpw\"" >>"$TMP/vms.conf"
conf_vm locked "monitor = $pmon"
start_daemon
check "locked running" wait_state locked running
login() {
	{ sleep 0.3; printf '%s\r\n' "$1"; sleep 0.3; printf 'info status\r\n'; sleep 0.7; } |
	    timeout 5 socat -t 0.5 - TCP:127.0.0.1:$pmon | tr -d '\r'
}
out=$(login wrong)
check_match "asked for the password" "$out" 'Password:'
check_match "a wrong one is refused" "$out" 'login incorrect'
if printf '%s' "$out" | grep -q 'VM status'; then notok "no HMP without the password"; else ok "no HMP without the password"; fi
out=$(login s3cret-pw)
check_match "the right password reaches HMP" "$out" 'VM status: running'
out=$( { printf 's3cret-pw\r\ninfo name\r\n'; sleep 1; } |
    timeout 5 socat -t 0.5 - TCP:127.0.0.1:$pmon | tr -d '\r')
check_match "what follows the password in the same write reaches HMP" "$out" '^locked'
for i in 1 2 3 4 5; do login "bad$i" >/dev/null; done
out=$(login s3cret-pw)
check_match "after 5 failures logins are locked for a while" "$out" 'too many failed logins'
check_match "failures logged" "$(cat "$TMP/daemon.log")" "locked: monitor: failed login from 127.0.0.1"
stop_daemon

# check-config names every endpoint reachable without authentication.
conf_head 2 2
echo 'listen = "0.0.0.0"' >>"$TMP/vms.conf"
echo 'monitor_listen = "0.0.0.0"' >>"$TMP/vms.conf"
conf_vm open "serial = $vser" "monitor = $mon" "vnc = 7"
conf_vm closed "serial = $gser" "console_password_file = \"$TMP/conpw\""
out=$(vmctl check-config 2>&1); rc=$?
check_eq "check-config still exits 0" "$rc" 0
check_match "serial endpoint warned, with file:line" "$out" \
    "vms.conf:[0-9]*: warning: vm open: serial port $vser on 0.0.0.0 .*without authentication"
check_match "monitor endpoint warned" "$out" "vm open: monitor port $mon on 0.0.0.0"
if printf '%s' "$out" | grep -q 'vm closed:'; then
	notok "an endpoint with a password is not warned about"
else
	ok "an endpoint with a password is not warned about"
fi
# The same file with listen = 0.0.0.0 is warned about: the check below can fail.
sed 's/^listen = .*/listen = "0.0.0.0"/' "$VMS_TOP/etc/vmservice.conf" >"$TMP/shipped.conf"
out=$(vmctl -c "$TMP/shipped.conf" check-config 2>&1)
check_match "the shipped file with listen = 0.0.0.0 would be warned about" "$out" \
    'vm db: serial port 4501 on 0.0.0.0 is reachable without authentication'
out=$(vmctl -c "$VMS_TOP/etc/vmservice.conf" check-config 2>&1)
if printf '%s' "$out" | grep -q 'without authentication'; then
	notok "the shipped etc/vmservice.conf exposes nothing"
	printf '%s\n' "$out" | sed 's/^/#   /'
else
	ok "the shipped etc/vmservice.conf exposes nothing"
fi
done_testing
