#!/bin/bash
# Root reads its configuration only from files only root can change (issue
# 12): a main file or include that is world writable, writable by a group
# other than root's, or owned by another user, is refused with an error
# naming the file, by check-config and by the daemon (which then does not
# start). 0644, 0600 and 0664 root:root (a umask 002 checkout) are fine.
source "$VMS_TOP/tests/lib/tap.sh"
if [ "$(id -u)" != 0 ]; then
	skip "config permissions" "only a root daemon checks them"
	exit 0
fi
scratch
chmod 0755 "$TMP"
mkdir -m 0755 "$TMP/d"
cat >"$TMP/main.conf" <<EOC
run_dir = "$TMP/run"
state_dir = "$TMP/state"
log_dir = "$TMP/log"
include = "$TMP/d/*.conf"
EOC
printf 'vm a {\n\tmachine = "none"\n\tmemory = 16M\n}\n' >"$TMP/d/a.conf"
chmod 0644 "$TMP/main.conf" "$TMP/d/a.conf"
cc() { "$VMS_BIN/vmctl" check-config -c "$TMP/main.conf" 2>&1; }
out=$(cc); rc=$?
check_eq "0644 root files: accepted" "$rc" 0
chmod 0600 "$TMP/main.conf"
check "0600: accepted" cc

chmod 0664 "$TMP/main.conf"
check "0664 root:root: accepted" cc
chgrp nogroup "$TMP/main.conf"
out=$(cc); rc=$?
check "main file writable by group nogroup: refused" test "$rc" != 0
check_match "... naming it, its owner and mode" "$out" \
    "$TMP/main.conf: owner 0:$(getent group nogroup | cut -d: -f3), mode 0664: a file root reads its configuration from must be root's, writable by no other group and not by others"
chgrp root "$TMP/main.conf"
chmod 0646 "$TMP/main.conf"
check_match "world-writable main file: refused" "$(cc)" "$TMP/main.conf: owner 0:0, mode 0646"
chmod 0644 "$TMP/main.conf"
chown nobody "$TMP/main.conf"
check_match "main file owned by nobody: refused" "$(cc)" \
    "$TMP/main.conf: owner $(id -u nobody):0, mode 0644"
chown root "$TMP/main.conf"

chmod 0666 "$TMP/d/a.conf"
out=$(cc)
check_match "world-writable include: refused, naming it" "$out" \
    "main.conf:4: error: include $TMP/d/a.conf: owner 0:0, mode 0666"
chmod 0644 "$TMP/d/a.conf"
chown nobody "$TMP/d/a.conf"
check_match "include owned by nobody: refused" "$(cc)" "include $TMP/d/a.conf: owner $(id -u nobody)"
# The daemon refuses to start on it, saying why.
out=$(timeout 20 "$VMS_BIN/vmserviced" -c "$TMP/main.conf" 2>&1); rc=$?
check "the daemon does not start on it" test "$rc" != 0
check_match "... and says why" "$out" "include $TMP/d/a.conf: owner $(id -u nobody)"
chown root "$TMP/d/a.conf"
check "fixed: accepted again" cc
done_testing
