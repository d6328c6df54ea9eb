#!/bin/bash
# `make demo`'s script, in a copy of the tree (so a demo you are running is
# left alone): etc/demo.conf passes check-config, both VMs come up, the
# console instructions it prints work, and Ctrl-C typed on its terminal (a
# pty made by script(1)) stops both guests cleanly and ends it.
source "${VMS_TOP:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
e2e_init
command -v script >/dev/null || { skip "demo" "script(1) not installed (bsdutils)"; exit 0; }

tree=$E2E/tree
mkdir -p "$tree/etc" "$tree/scripts" "$tree/tests/lib"
# Ports of our own, so that a demo you run meanwhile keeps 4501/4502.
p0=$((20000 + $$ % 20000))
sed -e "s/serial = 4501/serial = $p0/" -e "s/serial = 4502/serial = $((p0 + 1))/" \
    "$VMS_TOP/etc/demo.conf" >"$tree/etc/demo.conf"
cp "$VMS_TOP/scripts/demo.sh" "$tree/scripts/"
cp "$VMS_TOP/tests/lib/guest.sh" "$VMS_TOP/tests/lib/tap.sh" "$tree/tests/lib/"
cp -r "$VMS_TOP/tests/guest" "$tree/tests/"
ln -s "$VMS_BIN" "$tree/bin"
dconf=$tree/etc/demo.conf
dvmctl() { "$VMS_BIN/vmctl" -c "$dconf" "$@"; }

# Job control on: a background job of a script otherwise ignores SIGINT,
# and would pass that on to the demo, so Ctrl-C would do nothing. And if
# this test itself was started ignoring SIGINT (a harness's background job),
# the demo's shell would inherit that, and a shell cannot trap a signal
# ignored when it started: env resets it.
mkfifo "$E2E/tty.in"
set -m
script -qec "env --default-signal=INT,QUIT bash $tree/scripts/demo.sh" /dev/null \
    <"$E2E/tty.in" >"$E2E/demo.out" 2>&1 &
demo=$!
set +m
E2E_PIDS+=("$demo")
exec 7>"$E2E/tty.in"

running() {
	local i
	for i in $(seq 300); do
		[ "$(e2e_json_field "$(dvmctl status "$1" --json 2>/dev/null)" state)" = running ] && return 0
		sleep 0.2
	done
	return 1
}
for v in alpha beta; do check "demo: $v running" running $v; done
out=$(tr -d '\r' <"$E2E/demo.out")
check_match "demo: config checked" "$out" '^ok: 2 VMs'
check_match "demo: prints vmctl status" "$out" 'bin/vmctl -c etc/demo.conf status'
for v in alpha beta; do
	# Whichever console instruction it printed for v must work.
	line=$(printf '%s\n' "$out" | grep -E "telnet 127.0.0.1 [0-9]+ +$v's|vmctl -c [^ ]+ console $v " | head -n 1)
	check "demo: prints how to reach $v's console" test -n "$line"
	# (up to 400 s: a half-working KVM may take minutes to fail the guest on a
	# loaded host before the daemon boots it again under TCG, vmserviced(8))
	guest_wait_line "$tree/demo/log/$v.console.log" '^vmservice-guest: ready ' 400 >/dev/null
	case "$line" in
	*telnet*)	# the real telnet client, as the user would type it
		port=$(echo "$line" | awk '{ print $3 }')
		{ sleep 1; printf 'echo demo-$((40+2))\r'; sleep 2; } |
		    timeout 15 telnet 127.0.0.1 "$port" >"$E2E/$v.telnet" 2>&1
		grep -aq '^demo-42' "$E2E/$v.telnet"
		check "demo: $v's console answers: telnet 127.0.0.1 $port" test $? -eq 0 ;;
	*)	# vmctl console (the daemon holds QEMU's one serial connection)
		printf 'echo demo-$((40+2))\r' | (cd "$tree" && timeout 15 bin/vmctl -c etc/demo.conf \
		    console $v) 2>&1 | tr -d '\r' | grep -q '^demo-42'
		check "demo: $v's console answers through vmctl console" test $? -eq 0 ;;
	esac
done
check_eq "demo: kernel linked into demo/" "$(readlink "$tree/demo/kernel")" "$GUEST_KERNEL"

pids="$(tr -dc 0-9 <"$tree/demo/run/alpha.pid") $(tr -dc 0-9 <"$tree/demo/run/beta.pid")"
t0=$(now)
printf '\003' >&7	# Ctrl-C
e2e_wait_gone "$demo" 60; rc=$?	# (before the $(...) below resets $?)
check "demo: Ctrl-C ends it ($(elapsed "$t0")s)" test "$rc" -eq 0
for p in $pids; do check "demo: QEMU $p gone" test ! -d "/proc/$p"; done
for v in alpha beta; do
	check_eq "demo: $v shut down cleanly (disk record)" \
	    "$(guest_disk_record "$tree/demo/$v.img")" "1 1"
done
out=$(tr -d '\r' <"$E2E/demo.out")
check_match "demo: says it stopped" "$out" '^demo: stopped'
check "demo: ./demo ignores itself in git" grep -qx '\*' "$tree/demo/.gitignore"
[ "$TAP_FAILED" -eq 0 ] || { diag "demo output:"; tail -n 30 "$E2E/demo.out" | sed 's/^/#   /'; }
done_testing
