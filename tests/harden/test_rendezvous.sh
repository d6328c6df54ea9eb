#!/bin/bash
# Issue 12: a compromised QEMU (here a process with QEMU's uid and groups,
# running beside the real QEMU) replaces its serial, HMP or QMP socket in
# run_dir with a symlink to a root-only unix socket and makes the daemon
# reconnect: QEMU drops the serial connection (HMP chardev-change, what a
# compromised QEMU does by closing its end), or the daemon restarts and
# adopts it. The root daemon must never connect through the link: run_dir is
# not writable by QEMU, the sockets are the daemon's (passed to QEMU as
# fds), and every connect is to a socket (never a link) whose listener is the
# VM's QEMU. The root service must see no connection at all.
source "$VMS_TOP/tests/lib/tap.sh"
source "$VMS_TOP/tests/daemon/lib.sh"
need_daemon
if [ "$(id -u)" != 0 ]; then
	skip "rendezvous tests" "needs root (QEMU as another user)"
	exit 0
fi
RUNAS=nobody
if ! id "$RUNAS" >/dev/null 2>&1 || ! command -v setpriv >/dev/null; then
	skip "rendezvous tests" "no user $RUNAS or no setpriv"
	exit 0
fi
scratch_daemon
chmod 0711 "$TMP"	# mktemp -d is 0700: the QEMU user must reach run_dir

# The root-only service (a stand-in for D-Bus, systemd, our control
# socket): counts connections and greets each one.
mkdir -m 0700 "$TMP/root"
socat UNIX-LISTEN:"$TMP/root/victim.sock",fork,mode=600 \
    SYSTEM:"echo hit >>'$TMP/root/hits'; echo ROOT-SERVICE-BANNER; sleep 2" 2>/dev/null &
VPID=$!
trap 'kill $VPID 2>/dev/null; cleanup_daemon' EXIT
for _ in $(seq 50); do [ -S "$TMP/root/victim.sock" ] && break; sleep 0.1; done
hits() { cat "$TMP/root/hits" 2>/dev/null | wc -l; }

base=$(( 20000 + $$ % 20000 ))
ser=$base mon=$((base + 1))
CONF_RUNAS=$RUNAS conf_head 2 2
conf_vm v "serial = $ser" "monitor = $mon"
conf_vm old 'autostart = no'
if ! start_daemon || ! wait_state v running 20; then
	notok "daemon starts, v runs"
	sed 's/^/# /' "$TMP/daemon.log"
	done_testing; exit 1
fi
ok "daemon starts, v runs as $RUNAS"
qpid=$(field v pid)

# The layout the attack meets.
check_eq "run_dir: the daemon's, writable by nobody else" "$(stat -c '%U %a' "$TMP/run")" "root 755"
for s in qmp serial hmp; do
	check_eq "v.$s: a socket the daemon bound, 0600" \
	    "$(stat -c '%U %a %F' "$TMP/run/v.$s")" "root 600 socket"
done
cmd=$(tr '\0' ' ' <"/proc/$qpid/cmdline")
check_match "QEMU got the listening sockets as fds" "$cmd" \
    'socket,id=qmp,fd=[0-9]+,server=on.*socket,id=serial0,fd=[0-9]+,.*socket,id=hmp,fd=[0-9]+,'
check "no chardev path for QEMU to bind" test "$(grep -c 'path=' <<<"$cmd")" -eq 0

# as_qemu CMD...: run CMD with the running QEMU's uid, gid and groups.
quid=$(sed -n 's/^Uid:\s*\([0-9]*\).*/\1/p' "/proc/$qpid/status")
qgid=$(sed -n 's/^Gid:\s*\([0-9]*\).*/\1/p' "/proc/$qpid/status")
qgroups=$(sed -n 's/^Groups:\s*//p' "/proc/$qpid/status" | xargs | tr ' ' ',')
check_eq "QEMU runs as $RUNAS" "$quid" "$(id -u "$RUNAS")"
as_qemu() {
	if [ -n "$qgroups" ]; then
		setpriv --reuid="$quid" --regid="$qgid" --groups="$qgroups" -- "$@"
	else
		setpriv --reuid="$quid" --regid="$qgid" --clear-groups -- "$@"
	fi
}
# plant NAME: as QEMU, replace run_dir/NAME with a link to the root service.
plant() {
	as_qemu sh -c "rm -f '$TMP/run/$1' && ln -s '$TMP/root/victim.sock' '$TMP/run/$1'" \
	    2>>"$TMP/plant.err"
}
hmp() {
	{ sleep 0.3; printf '%s\r' "$1"; sleep 0.5; } |
	    timeout 5 socat -t 0.3 - TCP:127.0.0.1:$mon >/dev/null 2>&1
}
# seen REGEX [SECONDS]: the daemon logged REGEX.
seen() {
	local i
	for ((i = 0; i < ${2:-5} * 10; i++)); do
		grep -qE "$1" "$TMP/daemon.log" && return 0
		sleep 0.1
	done
	return 1
}
responsive() {
	local t0 t1
	t0=$(date +%s%N)
	vmctl status >/dev/null 2>&1 || return 1
	t1=$(date +%s%N)
	STATUS_MS=$(( (t1 - t0) / 1000000 ))
}

# --- 1: the serial socket, the daemon running: QEMU drops the connection
# and, while the daemon retries (every 100 ms), replaces the socket.
hmp "chardev-change serial0 null"
check "QEMU dropped the serial connection" seen 'v: serial upstream disconnected'
plant v.serial
check "as QEMU: replacing v.serial is refused" test $? -ne 0
check_match "... for want of permission on run_dir" "$(cat "$TMP/plant.err")" "Permission denied"
check "v.serial is still the daemon's socket" test -S "$TMP/run/v.serial" -a ! -L "$TMP/run/v.serial"
sleep 1
check_eq "the root service got no connection" "$(hits)" 0
check "nothing of the root service reached the console" \
    sh -c "! grep -q ROOT-SERVICE-BANNER '$TMP/log/v.console.log'"
check "vmctl status answers" responsive
diag "vmctl status took $STATUS_MS ms"

# --- 2: QMP, serial and monitor while the daemon is down, then adoption.
kill -KILL "$DPID"; wait "$DPID" 2>/dev/null
: >"$TMP/plant.err"
for s in qmp serial hmp; do
	plant "v.$s"
	check "as QEMU, daemon down: v.$s not replaced" \
	    test -S "$TMP/run/v.$s" -a ! -L "$TMP/run/v.$s"
done
check_eq "... each for want of permission" "$(grep -c 'Permission denied' "$TMP/plant.err")" 3
check "daemon restarts" start_daemon
check "v adopted" wait_state v running 10
check_eq "the same QEMU" "$(field v pid)" "$qpid"
check "monitor reconnected to QEMU" seen 'v: monitor upstream connected'
out=$( { sleep 0.3; printf 'info name\r'; sleep 0.5; } | timeout 5 socat -t 0.3 - TCP:127.0.0.1:$mon |
    tr -d '\r')
check_match "HMP answers through the daemon" "$out" 'info name'
check_eq "the root service got no connection" "$(hits)" 0

# --- 3: defence in depth. Say run_dir was open to QEMU after all (an
# admin's chmod, QEMUs of an older version that bound their own sockets):
# a link is never followed, and a listener that is not the VM's QEMU (here
# one of QEMU's user) is never talked to.
chmod 0777 "$TMP/run"
: >"$TMP/plant.err"
plant v.serial
check "as QEMU, run_dir opened: v.serial replaced by a link" test -L "$TMP/run/v.serial"
as_qemu rm -f "$TMP/run/v.qmp"
as_qemu socat UNIX-LISTEN:"$TMP/run/v.qmp",fork SYSTEM:'echo IMPOSTOR' 2>/dev/null &
IPID=$!
trap 'kill_tree $IPID; kill $VPID 2>/dev/null; cleanup_daemon' EXIT
for _ in $(seq 50); do [ -S "$TMP/run/v.qmp" ] && break; sleep 0.1; done
check "as QEMU: a listener of its own at v.qmp" test -S "$TMP/run/v.qmp"
kill -KILL "$DPID"; wait "$DPID" 2>/dev/null
check "daemon restarts" start_daemon
check "v adopted" wait_state v running 10
check_eq "... and run_dir closed again" "$(stat -c '%U %a' "$TMP/run")" "root 755"
check "the serial link is refused, logged" \
    seen "v: serial upstream refused: $TMP/run/v.serial: a symlink; not connecting"
check "the impostor at v.qmp is refused, logged" \
    seen "v: QMP: $TMP/run/v.qmp is served by pid [0-9]+ \\(uid $quid\\), not by QEMU pid $qpid"
check "vmctl status answers" responsive
diag "vmctl status took $STATUS_MS ms"
kill_tree "$IPID"
check_eq "the root service never got a connection" "$(hits)" 0

# --- 4: upgrading. A QEMU started by an earlier version bound its own
# sockets (path=, the stand-alone form `vmctl show --argv` prints) in a
# run_dir open to its user: adopted, reachable, and restart-pending.
kill -KILL "$DPID"; wait "$DPID" 2>/dev/null
chmod 01777 "$TMP/run"
mapfile -t args < <(vmctl show old --argv)
install -o "$quid" -m 0640 /dev/null "$TMP/log/old.console.spool"	# as that version did
as_qemu "${args[@]}" >"$TMP/old.log" 2>&1 &	# (-daemonize forks: -sandbox spawn=deny)
for _ in $(seq 50); do [ -s "$TMP/run/old.pid" ] && [ -S "$TMP/run/old.qmp" ] && break; sleep 0.1; done
check "an earlier version's QEMU runs, its sockets its own" test -S "$TMP/run/old.qmp" -a \
    "$(stat -c %u "$TMP/run/old.qmp" 2>/dev/null)" = "$quid"
opid=$(cat "$TMP/run/old.pid" 2>/dev/null)
[ -n "$opid" ] || { sed "s/^/# /" "$TMP/old.log"; ls -la "$TMP/run" | sed "s/^/# /"; }
check "daemon restarts" start_daemon
check "old adopted" wait_state old running 10
check_eq "... the same QEMU" "$(field old pid)" "$opid"
check_eq "... restart-pending" "$(field old restart_pending)" true
check "... and told why" seen 'old: its QEMU created its own sockets in run_dir'
check_eq "run_dir closed again" "$(stat -c '%U %a' "$TMP/run")" "root 755"
out=$(vmctl stop old 2>&1)
check_match "old stops the QMP way (its own socket, its own pid)" "$out" 'stopped \(host-powerdown\)'
check_eq "the root service never got a connection" "$(hits)" 0

vmctl kill v >/dev/null 2>&1
check "v killed" wait_state v stopped 10
stop_daemon
check_eq "daemon exits 0" "$DRC" 0
done_testing
