#!/bin/bash
# vnc_password_file is a secret the root daemon reads in its loop (issue
# 12): a FIFO there must not block the daemon (it would be stuck in open()
# forever), and a file others may read or change, a symlink, or another
# user's file is refused with an error naming the file; the VNC display
# then stays locked (password=on with no password set). A proper file
# (0600, the daemon's) is used.
source "$VMS_TOP/tests/lib/tap.sh"
source "$VMS_TOP/tests/daemon/lib.sh"
need_daemon
scratch_daemon
disp=$(( 20 + $$ % 15 ))
conf_head 2 2
mkfifo -m 0600 "$TMP/fifo"
printf 's3cret\n' >"$TMP/good"; chmod 0600 "$TMP/good"
printf 's3cret\n' >"$TMP/world"; chmod 0644 "$TMP/world"
printf 's3cret\n' >"$TMP/gw"; chmod 0620 "$TMP/gw"
ln -s "$TMP/good" "$TMP/link"
n=0
for f in good fifo world gw link; do
	conf_vm "$f" "vnc = $((disp + n))" "vnc_password_file = \"$TMP/$f\""
	n=$((n + 1))
done
if [ "$(id -u)" = 0 ]; then
	printf 's3cret\n' >"$TMP/other"; chmod 0600 "$TMP/other"; chown nobody "$TMP/other"
	conf_vm other "vnc = $((disp + n))" "vnc_password_file = \"$TMP/other\""
fi
check "daemon starts" start_daemon
for f in good fifo world gw link; do
	check "$f runs" wait_state "$f" running 20
done
t0=$(date +%s%N)
vmctl status >/dev/null
check "the daemon answers (not stuck on the FIFO)" test $(( ($(date +%s%N) - t0) / 1000000 )) -lt 1000
for i in $(seq 50); do grep -q 'link: vnc_password_file' "$TMP/daemon.log" && break; sleep 0.1; done
log=$(cat "$TMP/daemon.log")
check_match "good: the password is set" "$log" 'good: VNC password set'
check_match "fifo: refused, not a regular file" "$log" \
    "fifo: vnc_password_file $TMP/fifo: not a regular file; VNC stays locked"
check_match "world-readable: refused, saying why" "$log" \
    "world: vnc_password_file $TMP/world: owner $(id -u), mode 0644: it must be $(id -u)'s, with no group write and no access for others; VNC stays locked"
check_match "group-writable: refused" "$log" "gw: vnc_password_file $TMP/gw: owner $(id -u), mode 0620"
check_match "symlink: refused" "$log" "link: vnc_password_file $TMP/link: is a symlink; VNC stays locked"
if [ "$(id -u)" = 0 ]; then
	check "other runs" wait_state other running 20
	for i in $(seq 50); do grep -q 'other: vnc_password_file' "$TMP/daemon.log" && break; sleep 0.1; done
	check_match "another user's file: refused" "$(cat "$TMP/daemon.log")" \
	    "other: vnc_password_file $TMP/other: owner $(id -u nobody), mode 0600"
fi
check "no refused file's password was set" \
    test "$(grep -cE '(fifo|world|gw|link|other): VNC password set' "$TMP/daemon.log")" = 0
stop_daemon
check_eq "daemon exits 0" "$DRC" 0
done_testing
