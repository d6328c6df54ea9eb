#!/bin/bash
# Least privilege with the real daemon and real QEMU (issue 6): QEMU runs as
# the VM's runas user with no capabilities, an empty bounding set,
# no_new_privs and a seccomp filter; the files it needs become that user's;
# a disk that is a symlink into a place the user may not write is refused
# for that VM alone.
source "$VMS_TOP/tests/lib/tap.sh"
source "$VMS_TOP/tests/daemon/lib.sh"
need_daemon
if [ "$(id -u)" != 0 ]; then
	skip "privilege tests" "needs root (switching users)"
	exit 0
fi
RUNAS=nobody
if ! RUID=$(id -u "$RUNAS" 2>/dev/null); then
	skip "privilege tests" "no user $RUNAS"
	exit 0
fi
scratch_daemon
chmod 0711 "$TMP"	# mktemp -d is 0700: the QEMU user must reach run_dir

# status_field PID KEY: a field of /proc/PID/status, whitespace squeezed.
status_field() { sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status" | tr -s ' \t' ' '; }

mkdir -m 0755 "$TMP/disks"
truncate -s 1M "$TMP/disks/plain.img"
chmod 0600 "$TMP/disks/plain.img"
mkdir -m 0700 "$TMP/secret"
truncate -s 1M "$TMP/secret/root.img"
ln -s "$TMP/secret/root.img" "$TMP/disks/link.img"
truncate -s 1M "$TMP/disks/shared.img"
chmod 0666 "$TMP/disks/shared.img"
ln -s "$TMP/disks/shared.img" "$TMP/disks/oklink.img"
# Planted by someone who could write run_dir: QEMU would truncate a
# pidfile symlink's target (here a disk the QEMU user may write).
mkdir -m 0755 "$TMP/run"
ln -s "$TMP/disks/shared.img" "$TMP/run/user.pid"

CONF_RUNAS= conf_head 2 2	# no global runas: def gets the default user
conf_vm user "runas = \"$RUNAS\"" \
    "disk { file = \"$TMP/disks/plain.img\" format = raw if = virtio }" \
    "disk { file = \"$TMP/disks/oklink.img\" format = raw if = virtio }"
conf_vm def
conf_vm asroot 'runas = "root"'
conf_vm evil "runas = \"$RUNAS\"" "disk { file = \"$TMP/disks/link.img\" format = raw if = virtio }"
sed -i 's/machine = "none"/machine = "pc"\n\tvga = none/' "$TMP/vms.conf"

if ! start_daemon; then
	notok "daemon starts"
	sed 's/^/# /' "$TMP/daemon.log"
	done_testing; exit
fi
ok "daemon starts"
# The daemon keeps only what it uses (src/vmd/dcaps.c): chown,
# dac_override, fowner, kill, setgid, setuid, setpcap, net_bind_service,
# net_admin; no sys_ptrace (adoption reads a QEMU's /proc with setfsuid),
# no sys_admin, sys_module...
DCAPS=00000000000015eb
daemon_caps() {
	check_eq "$1: daemon CapEff only the kept ones" "$(status_field "$DPID" CapEff)" $DCAPS
	check_eq "$1: daemon CapPrm only the kept ones" "$(status_field "$DPID" CapPrm)" $DCAPS
	check_eq "$1: daemon CapBnd only the kept ones" "$(status_field "$DPID" CapBnd)" $DCAPS
	check_eq "$1: daemon CapInh empty" "$(status_field "$DPID" CapInh)" 0000000000000000
	check_eq "$1: daemon CapAmb empty" "$(status_field "$DPID" CapAmb)" 0000000000000000
}
daemon_caps "at start"
check "user VM runs" wait_state user running 20
check "evil VM fails" wait_state evil failed
# The default (issue 12): a uid of the VM's own, no passwd entry needed.
check "default VM runs" wait_state def running 20
check "runas root VM runs" wait_state asroot running 20

p=$(field user pid)
check_eq "QEMU runs as $RUNAS (real, effective, saved, fs uid)" "$(status_field "$p" Uid)" \
    "$RUID $RUID $RUID $RUID"
check_eq "QEMU's gid is $RUNAS's" "$(status_field "$p" Gid | cut -d' ' -f1)" "$(id -g "$RUNAS")"
check_eq "CapEff empty" "$(status_field "$p" CapEff)" 0000000000000000
check_eq "CapPrm empty" "$(status_field "$p" CapPrm)" 0000000000000000
check_eq "CapInh empty" "$(status_field "$p" CapInh)" 0000000000000000
check_eq "CapBnd empty" "$(status_field "$p" CapBnd)" 0000000000000000
check_eq "CapAmb empty" "$(status_field "$p" CapAmb)" 0000000000000000
check_eq "NoNewPrivs" "$(status_field "$p" NoNewPrivs)" 1
check_eq "Seccomp: filter (-sandbox on)" "$(status_field "$p" Seccomp)" 2
check_match "sandbox options on the command line" "$(tr '\0' ' ' <"/proc/$p/cmdline")" \
    '-sandbox on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny'
check_eq "the plain disk now belongs to $RUNAS" "$(stat -c %U "$TMP/disks/plain.img")" "$RUNAS"
check_eq "a symlinked disk the user may write is left alone" \
    "$(stat -c %U "$TMP/disks/shared.img")" root
# Issue 12: the daemon binds QEMU's sockets and passes them as fds.
check_eq "QMP socket bound by the daemon, not $RUNAS" "$(stat -c '%U %a' "$TMP/run/user.qmp")" \
    "root 600"
# QEMU writes the chardev spool itself (logfile=), so the spool is the
# user's; the rotated console log is written by the daemon and stays its own.
check_eq "console spool (QEMU's chardev log) owned by $RUNAS" \
	"$(stat -c %U "$TMP/log/user.console.spool")" "$RUNAS"
check_eq "console log (the daemon's) not handed to $RUNAS" \
	"$(stat -c %U "$TMP/log/user.console.log" 2>/dev/null || echo absent)" root
check_eq "run_dir: writable by the daemon only, search for the QEMU user" \
    "$(stat -c '%U %a' "$TMP/run")" "root 755"
check "a planted pidfile symlink was replaced, not followed" \
    test -f "$TMP/run/user.pid" -a ! -L "$TMP/run/user.pid"
check_eq "its target was not truncated" "$(stat -c %s "$TMP/disks/shared.img")" 1048576
check_eq "the pidfile holds QEMU's pid" "$(cat "$TMP/run/user.pid")" "$p"
check "the daemon's pidfile is still root's" test "$(stat -c %U "$TMP/run/vmserviced.pid")" = root

check_eq "the refused disk was not chowned" "$(stat -c %U "$TMP/secret/root.img")" root
msg=$(field evil stop_detail | sed 's|\\/|/|g')
check_match "evil: the error names the symlink, its target and the user" "$msg" \
    "disk $TMP/disks/link.img is a symlink to $TMP/secret/root.img, which user $RUNAS may not write"

du=$(status_field "$(field def pid)" Uid | cut -d' ' -f1)
check "default VM runs as its own uid from uid_range, not root nor $RUNAS ($du)" \
    test "$du" -gt 60600 -a "$du" -le 61099
check_eq "default VM: CapEff empty" "$(status_field "$(field def pid)" CapEff)" 0000000000000000
p=$(field asroot pid)
check_eq "runas root VM: root" "$(status_field "$p" Uid | cut -d' ' -f1)" 0
check_eq "runas root VM: CapEff empty" "$(status_field "$p" CapEff)" 0000000000000000
check_eq "runas root VM: CapPrm empty" "$(status_field "$p" CapPrm)" 0000000000000000
check_eq "runas root VM: CapBnd empty" "$(status_field "$p" CapBnd)" 0000000000000000
check_eq "runas root VM: Seccomp filter" "$(status_field "$p" Seccomp)" 2

# A restart finds the runtime files of the previous run as they were left.
out=$(vmctl restart user 2>&1); rc=$?
check_eq "restart as $RUNAS works" "$rc" 0
[ $rc -eq 0 ] || diag "$out"
check_eq "still $RUNAS after restart" "$(status_field "$(field user pid)" Uid | cut -d' ' -f1)" "$RUID"

# The daemon dies; a new one adopts the unprivileged QEMU (its /proc entries
# belong to another uid) without starting it twice.
p=$(field user pid)
kill -KILL "$DPID"; wait "$DPID" 2>/dev/null
if start_daemon; then ok "daemon restarts"; else notok "daemon restarts"; fi
check "user VM adopted" wait_state user running 10
check_eq "same QEMU after adoption" "$(field user pid)" "$p"
check "no second QEMU for user" test "$(pgrep -f -- "-name guest=user .*$TMP/" | wc -l)" -eq 1
daemon_caps "after adopting"

grep -E ' (evil|def|asroot): ' "$TMP/daemon.log" | sed 's/^/# /'
stop_daemon
check_eq "daemon exits 0" "$DRC" 0
done_testing
