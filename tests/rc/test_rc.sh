#!/bin/bash
# The init integration files, without a daemon: the LSB script's header,
# syntax and status codes on a stopped service, what `make install-rc`
# writes, and `systemd-analyze verify` on the installed unit.
# (Running the script against the real daemon: tests/e2e/test_initscript.sh.)
source "${VMS_TOP:-$(dirname "$0")/../..}/tests/lib/tap.sh"
cd "$VMS_TOP" || exit 1
scratch

script=rc/vmservice
check "init script has an LSB header" \
    grep -q '^### BEGIN INIT INFO' "$script"
for f in Provides Required-Start Required-Stop Default-Start Default-Stop Short-Description; do
	check "LSB header names $f" grep -q "^# $f:" "$script"
done
check "init script parses as POSIX sh (dash -n)" dash -n "$script"
if command -v shellcheck >/dev/null; then
	out=$(shellcheck -s sh "$script" 2>&1)
	check_eq "shellcheck is clean on the init script" "$out" ""
else
	skip "shellcheck on the init script" "shellcheck not installed"
fi

# Staging install of the rc files only (the full `make install` needs every
# binary; tests/e2e/test_initscript.sh does that one).
root=$TMP/root
make --no-print-directory -s install-rc DESTDIR="$root" PREFIX=/usr sysconfdir=/etc >"$TMP/make.log" 2>&1
check "make install-rc into a staging root" test $? -eq 0
check "init script installed executable" test -x "$root/etc/init.d/vmservice"
check "defaults file installed" test -f "$root/etc/default/vmservice"
unit=$root/usr/lib/systemd/system/vmservice.service
check "unit installed under PREFIX/lib/systemd/system" test -f "$unit"
check_match "installed script runs PREFIX=/usr's daemon" \
    "$(grep '^DAEMON=' "$root/etc/init.d/vmservice")" '^DAEMON=/usr/sbin/vmserviced$'
check_match "installed unit runs PREFIX=/usr's daemon" \
    "$(grep '^ExecStart=' "$unit")" '^ExecStart=/usr/sbin/vmserviced -c \$\{VMSERVICE_CONF\}'
# A second install keeps an edited defaults file.
echo 'DAEMON_ARGS=-v # edited' >>"$root/etc/default/vmservice"
make --no-print-directory -s install-rc DESTDIR="$root" PREFIX=/usr >/dev/null 2>&1
check "reinstall keeps an edited /etc/default/vmservice" \
    grep -q 'edited' "$root/etc/default/vmservice"

for k in 'Type=notify' 'KillMode=process' 'ExecReload=/usr/sbin/vmctl -c ${VMSERVICE_CONF} reload' \
    'Restart=on-failure' 'ProtectSystem=full' 'ProtectHome=read-only' 'PrivateTmp=yes' \
    'NoNewPrivileges=yes' 'ProtectKernelModules=yes'; do
	check "unit has $k" grep -qxF "$k" "$unit"
done
tss=$(sed -n 's/^TimeoutStopSec=//p' "$unit")
check "TimeoutStopSec ($tss) covers default halt_timeout 30 + term_timeout 10" \
    test "${tss:-0}" -gt 40

if command -v systemd-analyze >/dev/null; then
	# verify insists that ExecStart exists: point it at the staged binary
	# path (a stand-in executable when the daemon is not built).
	mkdir -p "$TMP/sbin"
	for b in vmserviced vmctl; do
		if [ -x "$VMS_BIN/$b" ]; then ln -s "$VMS_BIN/$b" "$TMP/sbin/$b"
		else cp /bin/true "$TMP/sbin/$b"; fi
	done
	mkdir -p "$TMP/units"
	sed "s|/usr/sbin/|$TMP/sbin/|" "$unit" >"$TMP/units/vmservice.service"
	out=$(systemd-analyze verify --man=no "$TMP/units/vmservice.service" 2>&1)
	rc=$?
	check_eq "systemd-analyze verify exits 0" "$rc" 0
	check_eq "systemd-analyze verify prints no warning" "$out" ""
else
	skip "systemd-analyze verify" "systemd-analyze not installed (package systemd)"
fi

# Status codes with no daemon (LSB: 3 not running, 1 dead with pidfile).
run=$TMP/run
mkdir -p "$run"
cat >"$TMP/conf" <<EOC
run_dir = "$run"
EOC
cat >"$TMP/defaults" <<EOC
VMSERVICE_CONF=$TMP/conf
DAEMON=$TMP/no-such-daemon
EOC
rcscript() { VMSERVICE_DEFAULTS=$TMP/defaults "$root/etc/init.d/vmservice" "$@" >"$TMP/out" 2>&1; }
rcscript status; check_eq "status, no pidfile: 3" $? 3
rcscript stop; check_eq "stop when not running: 0" $? 0
rcscript reload; check_eq "reload when not running: 7" $? 7
rcscript start; check_eq "start with a missing daemon binary: 5" $? 5
rcscript bogus; check_eq "unknown action: 2" $? 2
dead=$(sh -c 'echo $$')	# a pid that has exited
echo $dead >"$run/vmserviced.pid"
rcscript status; check_eq "status, pidfile of a dead process: 1" $? 1
echo $$ >"$run/vmserviced.pid"
rcscript status; check_eq "status, pidfile naming another program: 1" $? 1
# A zombie daemon (exited, its parent slow to reap it, as a container's
# PID 1 may be) is not running: status 1, stop returns at once, start
# starts. The zombie is real: a process named vmserviced whose parent (sh
# exec'd into sleep) never waits for it.
ln -s "$(command -v sleep)" "$TMP/vmserviced"
sh -c "\"$TMP/vmserviced\" 0 & echo \$! >\"$TMP/zpid\"; exec sleep 30" &
zparent=$!
for ((i = 0; i < 50; i++)); do
	[ -s "$TMP/zpid" ] && [ "$(sed 's/.*) //' "/proc/$(cat "$TMP/zpid")/stat" 2>/dev/null |
	    cut -d' ' -f1)" = Z ] && break
	sleep 0.1
done
zpid=$(cat "$TMP/zpid")
check_eq "a zombie named vmserviced (set up)" \
    "$(cat "/proc/$zpid/comm") $(sed 's/.*) //' "/proc/$zpid/stat" | cut -d' ' -f1)" "vmserviced Z"
echo "$zpid" >"$run/vmserviced.pid"
printf '#!/bin/sh\necho started >"%s/started"\n' "$TMP" >"$TMP/fake-daemon"
chmod +x "$TMP/fake-daemon"
printf 'VMSERVICE_CONF=%s\nDAEMON=%s\nSTOP_TIMEOUT=5\n' "$TMP/conf" "$TMP/fake-daemon" \
    >"$TMP/defaults"
rcscript status; check_eq "status, pidfile naming a zombie daemon: 1" $? 1
t0=$(date +%s)
rcscript stop; rc=$?
check_eq "stop with a zombie daemon: 0, not running" "$rc $(cat "$TMP/out")" \
    "0 vmserviced is not running."
check "... at once (not the 5 s bound)" test $(( $(date +%s) - t0 )) -lt 3
rcscript start
check "start with a zombie daemon starts one" test -e "$TMP/started"
kill "$zparent"; wait "$zparent" 2>/dev/null
rm -f "$run/vmserviced.pid"
printf 'VMSERVICE_CONF=%s\nDAEMON=%s\n' "$TMP/conf" "$TMP/no-such-daemon" >"$TMP/defaults"
# RUN_DIR read from the config file, overridable in the defaults.
rm -f "$run/vmserviced.pid"
echo "RUN_DIR=$TMP/elsewhere" >>"$TMP/defaults"
mkdir -p "$TMP/elsewhere"; echo $dead >"$TMP/elsewhere/vmserviced.pid"
rcscript status; check_eq "RUN_DIR from the defaults file wins" $? 1
# A relative run_dir is relative to the config file's directory.
mkdir -p "$TMP/cfg/rel/run"
echo 'run_dir = "rel/run"' >"$TMP/cfg/vms.conf"
echo $dead >"$TMP/cfg/rel/run/vmserviced.pid"
printf 'VMSERVICE_CONF=%s\n' "$TMP/cfg/vms.conf" >"$TMP/defaults"
rcscript status; check_eq "relative run_dir resolved against the config's directory" $? 1

done_testing
