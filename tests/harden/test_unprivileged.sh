#!/bin/bash
# A daemon that is not root (`make demo` as a user) still runs QEMU without
# capabilities, with no_new_privs and seccomp, as itself; a VM asking for
# another runas user fails with a clear error while the others start.
source "$VMS_TOP/tests/lib/tap.sh"
source "$VMS_TOP/tests/daemon/lib.sh"
need_daemon
if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null; then
	skip "unprivileged daemon" "needs root and setpriv to become nobody"
	exit 0
fi
scratch_daemon
chmod 0755 "$TMP"
CONF_RUNAS= conf_head 2 2
conf_vm plain
conf_vm other 'runas = "root"'
chown -R nobody: "$TMP"
NOB=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all)
"${NOB[@]}" "$VMS_BIN/vmserviced" -v -c "$TMP/vms.conf" >>"$TMP/daemon.log" 2>&1 &
DPID=$!
for ((i = 0; i < 100; i++)); do [ -S "$(SOCK)" ] && break; sleep 0.1; done
check "daemon runs as nobody" test -S "$(SOCK)"
vmctl() { "${NOB[@]}" "$VMS_BIN/vmctl" -c "$TMP/vms.conf" "$@"; }
check "plain runs" wait_state plain running 20
check "other fails" wait_state other failed
p=$(field plain pid)
sf() { sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status" | tr -s ' \t' ' '; }
check_eq "QEMU runs as the daemon's user" "$(sf "$p" Uid)" "65534 65534 65534 65534"
check_eq "CapEff empty" "$(sf "$p" CapEff)" 0000000000000000
check_eq "CapPrm empty" "$(sf "$p" CapPrm)" 0000000000000000
check_eq "NoNewPrivs" "$(sf "$p" NoNewPrivs)" 1
check_eq "Seccomp filter" "$(sf "$p" Seccomp)" 2
check_match "other: why it cannot start" "$(field other stop_detail)" \
    'runas root: vmserviced runs as nobody, not root, and cannot start QEMU as another user'
kill -TERM "$DPID"; wait "$DPID"
check_eq "daemon exits 0" "$?" 0
done_testing
