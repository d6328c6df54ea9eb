#!/bin/bash
# No symlink planted in run_dir, log_dir or state_dir makes the daemon (or
# the QEMU it starts) write through it (issue 6): every runtime file is
# created with O_NOFOLLOW/O_EXCL or replaced, never followed. Each VM here
# meets one planted link to a victim file; the victim must stay as it was.
source "$VMS_TOP/tests/lib/tap.sh"
source "$VMS_TOP/tests/daemon/lib.sh"
need_daemon
scratch_daemon

mkdir -p "$TMP/run" "$TMP/log" "$TMP/state"
printf 'precious\n' >"$TMP/victim"
chmod 0666 "$TMP/victim"
plant() { ln -s "$TMP/victim" "$1"; }
plant "$TMP/run/lk.lock"		# the VM's lock
plant "$TMP/log/ql.qemu.log"		# QEMU's stderr
plant "$TMP/log/cl.console.log"		# the daemon's console log
plant "$TMP/log/sp.console.spool"	# QEMU's chardev log
plant "$TMP/run/qm.qmp"			# the QMP socket path
plant "$TMP/run/pf.pid"			# QEMU's pidfile
plant "$TMP/state/st.json"		# the state file ...
plant "$TMP/state/st.json.tmp"		# ... and its temporary
conf_head 2 2
for v in lk ql cl sp qm pf st; do conf_vm "$v"; done

check "daemon starts" start_daemon
check "lk: a symlinked lock: start refused" wait_state lk failed
check_match "lk: the reason names the lock" "$(field lk stop_detail | sed 's|\\/|/|g')" \
    "cannot lock $TMP/run/lk.lock: Too many levels of symbolic links"
check "ql: a symlinked QEMU log: start refused" wait_state ql failed
for v in cl sp qm pf st; do
	check "$v runs" wait_state "$v" running
done
check "qm: the QMP link was replaced by the socket the daemon binds for QEMU" test -S "$TMP/run/qm.qmp"
check "pf: the pidfile link was replaced by a file" test -f "$TMP/run/pf.pid" -a ! -L "$TMP/run/pf.pid"
check "st: the state file was replaced, not followed" test -f "$TMP/state/st.json" -a ! -L "$TMP/state/st.json"
check_eq "the victim is untouched" "$(cat "$TMP/victim")" precious
check_eq "the victim's size is unchanged" "$(stat -c %s "$TMP/victim")" 9
vmctl stop all >/dev/null 2>&1
check_eq "the victim is untouched after the stops" "$(cat "$TMP/victim")" precious
stop_daemon
check_eq "daemon exits 0" "$DRC" 0

# The daemon's own pidfile.
rm -f "$TMP/run/vmserviced.pid"
plant "$TMP/run/vmserviced.pid"
check "a symlinked vmserviced.pid: the daemon refuses to start" sh -c \
    "! '$VMS_BIN/vmserviced' -c '$TMP/vms.conf' >'$TMP/second.log' 2>&1"
check_eq "the victim is untouched" "$(cat "$TMP/victim")" precious
done_testing
