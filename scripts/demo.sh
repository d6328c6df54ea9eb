#!/bin/bash
# `make demo`, after `make deps` and `make all`: builds the test guest, lays
# out ./demo/ for etc/demo.conf, checks the config, then runs vmserviced in
# the foreground on it until Ctrl-C, which stops both VMs the safe way.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
: "${VMS_CACHE:=${XDG_CACHE_HOME:-$HOME/.cache}/vmservice}"
export VMS_CACHE
CONF=etc/demo.conf
VMS="alpha beta"
# shellcheck source=../tests/lib/guest.sh
source tests/lib/guest.sh

say() { printf 'demo: %s\n' "$*"; }

say "building the test guest into $VMS_CACHE/guest (first time: downloads a kernel .deb)"
guest_build

mkdir -p demo/run demo/state demo/log
# The directory ignores itself: nothing under it is ever committed.
[ -e demo/.gitignore ] || echo '*' >demo/.gitignore
ln -sfn "$GUEST_KERNEL" demo/kernel
ln -sfn "$GUEST_INITRD" demo/initrd.img
for v in $VMS; do
	# Kept across runs: the boot counter on each disk goes up every time.
	[ -e "demo/$v.img" ] || guest_disk_new "demo/$v.img" 1M
done

bin/vmctl check-config -c "$CONF"

# The daemon runs in its own process group (set -m) so that Ctrl-C reaches
# it once, from us, as SIGINT: stop every VM, then exit.
set -m
bin/vmserviced -c "$CONF" &
daemon=$!
set +m
stopping=0
trap 'stopping=1; kill -INT $daemon 2>/dev/null' INT TERM

for _ in $(seq 100); do
	bin/vmctl -c "$CONF" status >/dev/null 2>&1 && break
	kill -0 $daemon 2>/dev/null || { wait $daemon; exit 1; }
	sleep 0.1
done

listening() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }
row() { printf '   %-44s %s\n' "$1" "$2"; }
{
	echo
	echo "=========================================================================="
	echo " vmservice demo: vmserviced runs VMs alpha and beta (config $CONF,"
	echo " runtime files in demo/); the guests boot in a few seconds."
	echo
	echo " In another terminal, from $top:"
	row "bin/vmctl -c $CONF status" "what runs, and why it last stopped"
	for v in $VMS; do
		port=$(sed -n "/^vm $v /,/^}/s/^[[:space:]]*serial[[:space:]]*=[[:space:]]*\([0-9]*\).*/\1/p" "$CONF")
		if [ -n "$port" ] && listening "$port"; then
			row "telnet 127.0.0.1 $port" "$v's serial console (leave: Ctrl-], quit)"
		else
			row "bin/vmctl -c $CONF console $v" "$v's serial console (leave: Ctrl-])"
		fi
	done
	row "tail -f demo/log/alpha.console.log" "what alpha's console printed"
	row "bin/vmctl -c $CONF stop beta" "power beta off (ACPI button)"
	row "bin/vmctl -c $CONF start beta" "and boot it again"
	echo
	echo " Ctrl-C here stops both VMs the safe way (ACPI power button, then SIGTERM"
	echo " after halt_timeout, then SIGKILL) and the daemon exits."
	echo "=========================================================================="
	echo
} >&2

# `wait` returns early when a signal arrives; keep waiting for the daemon.
while kill -0 $daemon 2>/dev/null; do
	wait $daemon && rc=0 || rc=$?
done
if [ $stopping = 1 ]; then
	for v in $VMS; do
		rec=$(guest_disk_record "demo/$v.img" || echo "? ?")
		say "$v: boots=${rec% *} last shutdown clean=${rec#* }"
	done
	say "stopped"
	exit 0
fi
exit "${rc:-1}"
