# End-to-end helpers: the real daemon, real QEMU, the real test guest.
# source "$VMS_TOP/tests/e2e/lib.sh" (it sources tap.sh and guest.sh).
#
#   e2e_init                 scratch dir $E2E, cleanup trap, guest built;
#                            exits 0 with a SKIP line if something is missing
#   e2e_conf [KEY = VALUE]...  starts $E2E/vmservice.conf with the globals
#   e2e_vm NAME FLAVOUR [LINE]...  appends a `vm NAME` section running the
#                            guest FLAVOUR with its own raw disk $E2E/NAME.img
#   e2e_daemon [ARGS]        runs vmserviced in the foreground (background job),
#                            stderr timestamped into $E2E/daemon.log
#   e2e_vmctl ARGS           bin/vmctl -c the config
#   e2e_wait_state NAME STATE SECS, e2e_wait_ready NAME SECS, e2e_wait_gone PID SECS
# Everything a test starts is killed at exit, however it exits.
source "${VMS_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/tests/lib/tap.sh"
source "$VMS_TOP/tests/lib/guest.sh"

E2E=
E2E_PIDS=()		# background helpers (socat, daemons) to kill at exit
DAEMON_PID=

e2e_cleanup() {
	local p f
	[ -n "$DAEMON_PID" ] && kill -KILL "$DAEMON_PID" 2>/dev/null
	for p in "${E2E_PIDS[@]}"; do { kill -KILL "$p"; wait "$p"; } 2>/dev/null; done
	# Every QEMU this test's daemons started: their pidfiles, and anything
	# still running with our scratch dir on its command line.
	if [ -n "$E2E" ]; then
		for f in "$E2E"/run/*.pid "$E2E"/*/run/*.pid; do
			[ -f "$f" ] || continue
			p=$(tr -dc 0-9 <"$f")
			[ -n "$p" ] && kill -KILL "$p" 2>/dev/null
		done
		# ... or working in it (the demo's daemon: bin/vmserviced -c etc/demo.conf).
		for f in /proc/[0-9]*/cmdline; do
			p=${f#/proc/}; p=${p%/cmdline}
			[ "$p" != $$ ] && [ "$p" != "$BASHPID" ] || continue
			grep -qaF -- "$E2E/" "$f" 2>/dev/null ||
			    case "$(readlink "/proc/$p/cwd" 2>/dev/null)/" in "$E2E"/*) ;; *) continue ;; esac
			kill -KILL "$p" 2>/dev/null
		done
		sleep 0.2
		[ -n "${E2E_KEEP:-}" ] && { echo "# kept $E2E" >&2; return; }
		rm -rf "$E2E"
	fi
}

# now: seconds since the epoch, microsecond resolution (no fork).
now() { echo "$EPOCHREALTIME"; }
# elapsed T0 [T1]: T1 - T0 in seconds with one decimal.
elapsed() { awk -v a="$1" -v b="${2:-$EPOCHREALTIME}" 'BEGIN { printf "%.1f", b - a }'; }
# lt A B: true if A < B (decimals).
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }

e2e_init() {
	E2E=$(mktemp -d "${TMPDIR:-/tmp}/vmse2e.XXXXXX") || exit 1
	trap e2e_cleanup EXIT
	trap 'exit 130' INT TERM
	mkdir -p "$E2E/run" "$E2E/state" "$E2E/log"
	local b
	for b in vmserviced vmctl; do
		if [ ! -x "$VMS_BIN/$b" ]; then
			skip "end-to-end tests" "$VMS_BIN/$b is not built"
			exit 0
		fi
	done
	if ! guest_build >"$E2E/guest-build.log" 2>&1; then
		notok "the test guest builds (tests/guest/build.sh)"
		sed 's/^/#   /' "$E2E/guest-build.log" | tail -n 20
		exit 1
	fi
	CONF=$E2E/vmservice.conf
}

# e2e_conf [LINE]...: the global part of the config; the LINEs (e.g.
# "halt_timeout = 3") come after the defaults and so override them.
e2e_conf() {
	local l
	{
		echo "# written by ${0##*/}"
		echo "run_dir = \"$E2E/run\""
		echo "state_dir = \"$E2E/state\""
		echo "log_dir = \"$E2E/log\""
		echo 'runas = "root"	# per-VM uids are tests/harden/test_vm_uids.sh'
		for l in "$@"; do echo "$l"; done
	} >"$CONF"
}

# e2e_vm NAME FLAVOUR [LINE]...: a small guest VM with its own fresh disk.
e2e_vm() {
	local name=$1 flavour=$2 l
	shift 2
	guest_disk_new "$E2E/$name.img" 1M || return 1
	{
		echo "vm $name {"
		echo "	type = \"system-x86_64\""
		echo "	machine = \"pc\""
		echo "	memory = \"128M\""
		echo "	accel = \"tcg\""
		echo "	kernel = \"$GUEST_KERNEL\""
		echo "	initrd = \"$GUEST_INITRD\""
		echo "	append = \"$(guest_append "$flavour")\""
		echo "	disk {"
		echo "		file = \"$E2E/$name.img\""
		echo "		format = \"raw\""
		echo "	}"
		echo "	extra_args = \"-no-reboot\""
		for l in "$@"; do echo "	$l"; done
		echo "}"
	} >>"$CONF"
}

# ts: prefix each input line with the epoch time (microseconds).
ts() { local l; while IFS= read -r l; do printf '%s %s\n' "$EPOCHREALTIME" "$l"; done; }

# e2e_daemon [ARGS]: starts vmserviced in the foreground as a background job
# and waits (bounded) until its control socket answers.
e2e_daemon() {
	"$VMS_BIN/vmserviced" -c "$CONF" "$@" 2> >(ts >>"$E2E/daemon.log") &
	DAEMON_PID=$!
	local i
	for i in $(seq 200); do
		e2e_vmctl status >/dev/null 2>&1 && return 0
		kill -0 "$DAEMON_PID" 2>/dev/null || break
		sleep 0.1
	done
	diag "vmserviced did not come up; its log:"
	sed 's/^/#   /' "$E2E/daemon.log"
	return 1
}

e2e_vmctl() { "$VMS_BIN/vmctl" -c "$CONF" "$@"; }

# e2e_json_field JSON FIELD: the string or number value of "FIELD" (first one).
e2e_json_field() {
	printf '%s\n' "$1" | grep -oE "\"$2\": *(\"[^\"]*\"|[0-9.]+|null)" | head -n 1 |
	    sed -E 's/^[^:]*: *//; s/^"//; s/"$//'
}

# e2e_state NAME: the VM's state as the daemon reports it.
e2e_state() { e2e_json_field "$(e2e_vmctl status "$1" --json 2>/dev/null)" state; }
# e2e_field NAME FIELD: a field of the VM's status object.
e2e_field() { e2e_json_field "$(e2e_vmctl status "$1" --json 2>/dev/null)" "$2"; }
# e2e_saved NAME FIELD: a field of state_dir/NAME.json (works without a daemon).
e2e_saved() { e2e_json_field "$(cat "$E2E/state/$1.json" 2>/dev/null)" "$2"; }

# e2e_wait_state NAME STATE SECS
e2e_wait_state() {
	local i s
	for i in $(seq $(($3 * 5))); do
		s=$(e2e_state "$1")
		[ "$s" = "$2" ] && return 0
		sleep 0.2
	done
	diag "$1: state '$s' after $3 s, wanted '$2'"
	return 1
}

# e2e_console NAME: the file that holds NAME's serial console output. The
# daemon keeps log_dir/NAME.console.log; if it does not (yet), we attach to
# the serial socket ourselves.
e2e_console() {
	local log=$E2E/log/$1.console.log cap=$E2E/$1.serial.out
	if [ -e "$log" ]; then echo "$log"; return; fi
	if [ ! -e "$cap" ] && [ -S "$E2E/run/$1.serial" ]; then
		: >"$cap"
		socat -u "UNIX-CONNECT:$E2E/run/$1.serial" "OPEN:$cap,append" 2>/dev/null &
		E2E_PIDS+=($!)
	fi
	echo "$cap"
}

# e2e_wait_ready NAME SECS [BOOT]: waits for the guest's readiness line;
# with BOOT, for the one of that boot (the console log keeps earlier boots'
# lines: after a restart the first "ready" is stale).
e2e_wait_ready() {
	local i f re='^vmservice-guest: ready '
	[ -n "${3:-}" ] && re="^vmservice-guest: ready boot=$3 "
	for i in $(seq $(($2 * 10))); do
		f=$(e2e_console "$1")
		grep -aq -- "$re" "$f" 2>/dev/null && return 0
		sleep 0.1
	done
	diag "$1: no readiness line /$re/ after $2 s; console:"
	tail -n 5 "$f" 2>/dev/null | sed 's/^/#   /'
	return 1
}

# e2e_wait_gone PID SECS: waits until the process is gone (zombies count).
e2e_wait_gone() { guest_wait_exit "$1" "$2"; }

# e2e_qemu_pid NAME: the VM's QEMU pid from run_dir/NAME.pid.
e2e_qemu_pid() { tr -dc 0-9 <"$E2E/run/$1.pid" 2>/dev/null; }

# e2e_daemon_stop SECS: SIGTERM to the daemon; waits for it to exit. Sets
# E2E_STOP_SECS (how long it took) and E2E_DAEMON_RC (its exit status).
# Returns 1 if it is still there after SECS.
e2e_daemon_stop() {
	local t0 rc
	t0=$(now)
	E2E_DAEMON_RC=none
	kill -TERM "$DAEMON_PID" 2>/dev/null
	e2e_wait_gone "$DAEMON_PID" "$1"
	rc=$?
	E2E_STOP_SECS=$(elapsed "$t0")
	if [ $rc -eq 0 ]; then
		wait "$DAEMON_PID" 2>/dev/null
		E2E_DAEMON_RC=$?
		DAEMON_PID=
	fi
	return $rc
}

# e2e_transitions: "EPOCH VM OLD NEW" for every state transition in the
# daemon log, in order. The daemon logs them (stderr) as
#   vmserviced: info: NAME: OLD -> NEW (reason)
e2e_transitions() {
	sed -nE 's/^([0-9.]+) [^:]+: [a-z]+: ([A-Za-z0-9_.-]+): ([a-z]+) -> ([a-z]+)( .*)?$/\1 \2 \3 \4/p' \
	    "$E2E/daemon.log"
}

e2e_dump() {
	diag "daemon log:"
	sed 's/^/#   /' "$E2E/daemon.log" | tail -n "${1:-40}"
}
