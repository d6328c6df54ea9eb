#!/bin/bash
# A VM's pidfile and lock file with a second hard link (issue 12): someone
# who can write run_dir (a QEMU user) links a file there under another VM's
# NAME.pid / NAME.lock. The daemon must not chown the pidfile's other name
# to the QEMU user (who then truncates it), nor hand QEMU an fd to the lock
# file's other name: both are unlinked and made anew.
source "$VMS_TOP/tests/lib/tap.sh"
source "$VMS_TOP/tests/daemon/lib.sh"
need_daemon
if [ "$(id -u)" != 0 ]; then
	skip "hard links" "needs root (switching users)"
	exit 0
fi
scratch_daemon
not() { ! "$@"; }
chmod 0711 "$TMP"
mkdir -m 0755 "$TMP/run" "$TMP/etc"
printf 'root:secret\n' >"$TMP/etc/shadow"
printf 'other\n' >"$TMP/etc/other"
chmod 0600 "$TMP/etc/shadow" "$TMP/etc/other"

CONF_RUNAS= conf_head 2 2	# the default: a uid of h's own
conf_vm h 'autostart = false'
check "daemon starts" start_daemon
# Planted while the daemon runs (at its start, adoption would remove a
# pidfile that names no pid). The lock file exists already (adoption made
# it): -f stands for one planted before, as for a VM added by a reload.
ln "$TMP/etc/shadow" "$TMP/run/h.pid"
ln -f "$TMP/etc/other" "$TMP/run/h.lock"
vmctl start h >/dev/null 2>&1
check "h runs" wait_state h running 20
p=$(field h pid)
check_eq "the pidfile's other name keeps its owner" "$(stat -c %u:%g "$TMP/etc/shadow")" 0:0
check_eq "... and its content" "$(cat "$TMP/etc/shadow")" "root:secret"
check_eq "... and is no longer linked from run_dir" "$(stat -c %h "$TMP/etc/shadow")" 1
check_eq "the pidfile is a new file holding QEMU's pid" "$(cat "$TMP/run/h.pid")" "$p"
check_eq "the lock file's other name is no longer linked" "$(stat -c %h "$TMP/etc/other")" 1
# By inode: /proc/PID/fd shows the name the file was opened by.
ino=$(stat -c %d:%i "$TMP/etc/other")
fdinos=$(stat -L -c %d:%i /proc/$p/fd/* 2>/dev/null)
check "QEMU holds no fd to the lock's other name" not grep -qx "$ino" <<<"$fdinos"
check_match "QEMU holds the new lock" "$(ls -l "/proc/$p/fd")" "$TMP/run/h.lock"
lockflags=
for f in /proc/$p/fd/*; do
	[ "$(readlink "$f")" = "$TMP/run/h.lock" ] &&
	    lockflags=$(sed -n 's/^flags:[[:space:]]*//p' "/proc/$p/fdinfo/${f##*/}")
done
check "QEMU's lock fd is read-only (flags $lockflags)" test $(( 8#${lockflags:-1} & 3 )) = 0
stop_daemon
done_testing
