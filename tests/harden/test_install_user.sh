#!/bin/bash
# `make install` creates the vmservice system user and group when missing
# (mk/harden.mk), and leaves existing ones alone. getent/groupadd/useradd
# are stubs here that log their arguments: the test never adds a user.
source "$VMS_TOP/tests/lib/tap.sh"
scratch
if [ "$(id -u)" != 0 ]; then
	skip "install-user" "the rule only acts as root"
	done_testing; exit
fi
for t in getent groupadd useradd; do
	cat >"$TMP/$t" <<-EOS
	#!/bin/sh
	echo "$t \$*" >>"$TMP/calls"
	[ "$t" != getent ] || grep -qx "\$2" "$TMP/exists" 2>/dev/null
	EOS
	chmod +x "$TMP/$t"
done
run() {
	: >"$TMP/calls"
	make -s -C "$VMS_TOP" install-user GETENT="$TMP/getent" GROUPADD="$TMP/groupadd" \
	    USERADD="$TMP/useradd" "$@" >"$TMP/out" 2>&1
}

: >"$TMP/exists"
run; rc=$?
check_eq "missing user and group: rule succeeds" "$rc" 0
check_match "group created as a system group" "$(cat "$TMP/calls")" '^groupadd --system vmservice$'
check_match "user created: system, no home, nologin, in its group" "$(cat "$TMP/calls")" \
    '^useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin --gid vmservice vmservice$'

printf 'vmservice\n' >"$TMP/exists"
run; rc=$?
check_eq "existing user and group: rule succeeds" "$rc" 0
check "nothing created when both exist" test "$(grep -c add "$TMP/calls")" = 0

run DESTDIR="$TMP/dest"
check_match "DESTDIR: no user created, says so" "$(cat "$TMP/out"; cat "$TMP/calls")" \
    'DESTDIR is set: not creating user vmservice'

: >"$TMP/exists"
ln -sf /bin/false "$TMP/useradd"
run; rc=$?
check "a failing useradd fails the install" test "$rc" -ne 0
check_match "install depends on install-user" "$(make -s -C "$VMS_TOP" -n install 2>&1)" 'useradd'
done_testing
