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
for t in getent groupadd useradd usermod; do
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
	    USERADD="$TMP/useradd" USERMOD="$TMP/usermod" "$@" >"$TMP/out" 2>&1
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

check "no group kvm: no usermod" test "$(grep -c usermod "$TMP/calls")" = 0

# With a kvm group (udev's /dev/kvm is root:kvm 0660), QEMU's user joins it.
printf 'vmservice\nkvm\n' >"$TMP/exists"
run; rc=$?
check_eq "kvm group: rule succeeds" "$rc" 0
check_match "the user is added to group kvm" "$(cat "$TMP/calls")" '^usermod -a -G kvm vmservice$'
check_match "and says why" "$(cat "$TMP/out")" 'adding vmservice to group kvm'

run DESTDIR="$TMP/dest"
check_match "DESTDIR: no user created, says so" "$(cat "$TMP/out"; cat "$TMP/calls")" \
    'DESTDIR is set: not creating user vmservice'

: >"$TMP/exists"
ln -sf /bin/false "$TMP/useradd"
run; rc=$?
check "a failing useradd fails the install" test "$rc" -ne 0
check_match "install depends on install-user" "$(make -s -C "$VMS_TOP" -n install 2>&1)" 'useradd'
done_testing
