#!/bin/bash
# `make install` creates the system groups vmservice (QEMU users' shared
# run_dir group) and vmservice-status (may read status) when missing
# (mk/harden.mk), leaves existing ones alone, and creates no user: QEMU
# runs as per-VM uids (issue 12). getent/groupadd are stubs here that log
# their arguments: the test never adds a group.
source "$VMS_TOP/tests/lib/tap.sh"
scratch
if [ "$(id -u)" != 0 ]; then
	skip "install-user" "the rule only acts as root"
	done_testing; exit
fi
for t in getent groupadd; do
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
	    "$@" >"$TMP/out" 2>&1
}

: >"$TMP/exists"
run; rc=$?
check_eq "missing groups: rule succeeds" "$rc" 0
check_match "group vmservice created as a system group" "$(cat "$TMP/calls")" \
    '^groupadd --system vmservice$'
check_match "group vmservice-status created as a system group" "$(cat "$TMP/calls")" \
    '^groupadd --system vmservice-status$'
check "no user created" test "$(grep -c useradd "$TMP/calls")" = 0

printf 'vmservice\n' >"$TMP/exists"
run; rc=$?
check_eq "one group exists: rule succeeds" "$rc" 0
check_eq "only the missing one is created" "$(grep add "$TMP/calls")" \
    'groupadd --system vmservice-status'

printf 'vmservice\nvmservice-status\n' >"$TMP/exists"
run; rc=$?
check_eq "existing groups: rule succeeds" "$rc" 0
check "nothing created when both exist" test "$(grep -c add "$TMP/calls")" = 0

run DESTDIR="$TMP/dest"
check_match "DESTDIR: no group created, says so" "$(cat "$TMP/out"; cat "$TMP/calls")" \
    'DESTDIR is set: not creating groups vmservice vmservice-status'

: >"$TMP/exists"
ln -sf /bin/false "$TMP/groupadd"
run; rc=$?
check "a failing groupadd fails the install" test "$rc" -ne 0
check_match "install depends on install-user" "$(make -s -C "$VMS_TOP" -n install 2>&1)" \
    'groupadd'
done_testing
