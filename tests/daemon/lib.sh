# Helpers for daemon-level tests: a scratch inventory, the real daemon in
# the foreground (its log in $TMP/daemon.log), vmctl against it.
# source "$VMS_TOP/tests/daemon/lib.sh" after tests/lib/tap.sh.

# need_daemon: skip the whole script when the binaries are not built.
need_daemon() {
	if [ ! -x "$VMS_BIN/vmserviced" ] || [ ! -x "$VMS_BIN/vmctl" ]; then
		skip "daemon tests" "bin/vmserviced or bin/vmctl not built"
		exit 0
	fi
}

# conf_head [halt_timeout] [term_timeout]: the global part of $TMP/vms.conf.
conf_head() {
	cat >"$TMP/vms.conf" <<-EOC
	run_dir = "$TMP/run"
	state_dir = "$TMP/state"
	log_dir = "$TMP/log"
	emulator_dir = "/usr/bin"
	halt_timeout = ${1:-2}
	term_timeout = ${2:-2}
	EOC
	# QEMU's default user (vmservice) exists only after make install; a
	# test VM runs as root unless CONF_RUNAS says otherwise (set it empty
	# for no runas line: the default user, or the daemon's own).
	[ -z "${CONF_RUNAS-root}" ] || echo "runas = \"${CONF_RUNAS-root}\"" >>"$TMP/vms.conf"
	# Tests never depend on what this host's KVM does (none, working,
	# broken): TCG unless CONF_ACCEL says otherwise (empty: no line, auto).
	[ -z "${CONF_ACCEL-tcg}" ] || echo "accel = \"${CONF_ACCEL-tcg}\"" >>"$TMP/vms.conf"
}

# conf_vm NAME [LINES...]: a small VM that needs no guest: no machine
# devices, QMP ready at once. halt = quit unless a line says otherwise.
conf_vm() {
	local name=$1; shift
	{
		echo "vm $name {"
		echo "	machine = \"none\""
		echo "	memory = 16M"
		local l halt=0
		for l in "$@"; do
			echo "	$l"
			case $l in halt*=*) halt=1;; esac
		done
		[ $halt = 1 ] || echo "	halt = quit"
		echo "}"
	} >>"$TMP/vms.conf"
}

SOCK() { echo "$TMP/run/vmservice.sock"; }

# lt A B: A < B (decimals); sub A B: A - B with 3 decimals (times in s).
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a - b }'; }
vmctl() { "$VMS_BIN/vmctl" -c "$TMP/vms.conf" "$@"; }

# start_daemon [ARGS]: foreground daemon in the background; waits for its socket.
# A test may set the array DAEMON_PREFIX (e.g. ip netns exec NS) to run it under.
start_daemon() {
	${DAEMON_PREFIX[@]+"${DAEMON_PREFIX[@]}"} \
	    "$VMS_BIN/vmserviced" -v -c "$TMP/vms.conf" "$@" >>"$TMP/daemon.log" 2>&1 &
	DPID=$!
	local i
	for ((i = 0; i < 100; i++)); do
		[ -S "$(SOCK)" ] && return 0
		kill -0 "$DPID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# stop_daemon: SIGTERM, wait; sets DRC to its exit status.
stop_daemon() {
	kill -TERM "$DPID" 2>/dev/null
	wait "$DPID"
	DRC=$?
}

# field NAME KEY: a VM's field from `vmctl status NAME --json` (strings unquoted).
field() {
	vmctl status "$1" --json 2>/dev/null |
	    sed -n "s/.*\"$2\":\(\"\([^\"]*\)\"\|\([^,}]*\)\).*/\2\3/p" | sed 's|\\/|/|g'
}

# wait_state NAME STATE [SECONDS]: poll status until NAME is in STATE.
wait_state() {
	local i n=$(( ${3:-10} * 10 ))
	for ((i = 0; i < n; i++)); do
		[ "$(field "$1" state)" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

# NAME OLDPID [SECS]: NAME runs again, under another QEMU than OLDPID. A
# bare wait_state right after killing its QEMU can see the "running" of
# the old one, before the daemon has reaped it.
wait_rerun() {
	local i n=$(( ${3:-10} * 10 )) p
	for ((i = 0; i < n; i++)); do
		p=$(field "$1" pid)
		[ "$p" != "$2" ] && [ "$(field "$1" state)" = running ] && [ "$(field "$1" pid)" = "$p" ] && return 0
		sleep 0.1
	done
	return 1
}

# Kill any QEMU the test left behind (by pid from the daemon's status),
# and the daemon, so a failing test never leaks processes.
cleanup_daemon() {
	local p
	for p in $(cat "$TMP"/run/*.pid 2>/dev/null); do
		grep -q "$TMP" "/proc/$p/cmdline" 2>/dev/null && kill -KILL "$p" 2>/dev/null
	done
	[ -n "${DPID:-}" ] && kill -KILL "$DPID" 2>/dev/null
	rm -rf "$TMP"
}

# scratch_daemon: like scratch, with cleanup of processes at exit.
scratch_daemon() {
	TMP=$(mktemp -d "${TMPDIR:-/tmp}/vmsd.XXXXXX")
	trap cleanup_daemon EXIT
}

# need_guest: build (or find in the cache) the test guest (tests/lib/guest.sh,
# sourced by the caller); if that fails, one not-ok with the builder's last
# lines, and the test ends.
need_guest() {
	guest_build >"$TMP/guest-build.log" 2>&1 && return 0
	notok "the test guest builds"
	tail -n 20 "$TMP/guest-build.log" | sed 's/^/#   /'
	done_testing
	exit 1
}

# gone PID: the process no longer runs (exited, or a zombie nobody reaped).
gone() {
	[ ! -d "/proc/$1" ] || [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ]
}

# gone_within PID [SECS]: gone, or within SECS (5). A QEMU the daemon adopted
# or attached is not its child: its exit event comes from the pidfd while the
# process may still be tearing down, and its parent (init) reaps it later.
gone_within() {
	local i
	for ((i = 0; i < ${2:-5} * 10; i++)); do gone "$1" && return 0; sleep 0.1; done
	gone "$1"
}

# qemu_pids NAME: pids of the QEMUs of this test's VM NAME (its -name and
# its -pidfile in $TMP/run), from /proc/*/cmdline, one a line.
qemu_pids() {
	local f p
	for f in /proc/[0-9]*/cmdline; do
		p=${f#/proc/}; p=${p%/cmdline}
		case $(readlink "/proc/$p/exe" 2>/dev/null) in */qemu-system-*) ;; *) continue;; esac
		tr '\0' '\n' <"$f" 2>/dev/null | grep -qx "guest=$1" || continue
		tr '\0' '\n' <"$f" 2>/dev/null | grep -qx "$TMP/run/$1.pid" || continue
		echo "$p"
	done
}

# kill_tree PID...: SIGTERM each PID and its children (a pipeline's helpers).
kill_tree() {
	local p c
	for p in "$@"; do
		for c in $(cat "/proc/$p/task/$p/children" 2>/dev/null); do kill "$c" 2>/dev/null; done
		kill "$p" 2>/dev/null
	done
}
