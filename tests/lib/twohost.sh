# Two vmservice hosts on one machine, for remote control and migration tests
# (issue 19). source it after tests/lib/tap.sh and tests/daemon/lib.sh.
#
# Each "host" is a network namespace this library makes (named per test run,
# vms2h-s-PID and vms2h-d-PID), with its own vmserviced (its own
# vms.conf, run_dir, state_dir, log_dir under $TMP/src or $TMP/dst) and its
# own real sshd (Debian's openssh-server) listening only on its address of a
# veth pair between the two: src is $SRC_IP, dst is $DST_IP (a /24), the
# sshds on port 22 and on $SSH_PORT2. All traffic stays inside the two
# namespaces; the host's interfaces are never touched. Host keys and the
# client key are made at test time with ssh-keygen. A daemon's QEMUs run
# in its namespace; the same VM name may be declared on both sides.
#
# Who runs what:
#  - `ssh` is the real OpenSSH client, through $VMCTL_SSH = $TMP/bin/ssh, a
#    wrapper running `ssh -F $TMP/ssh_config "$@"`: user root, the client
#    key, known_hosts $TMP/known_hosts (written from the host keys made here),
#    StrictHostKeyChecking yes, BatchMode yes, ConnectTimeout 2. It logs each
#    of its command lines to $TMP/ssh.log (one a line) before running ssh.
#  - The remote vmctl is $VMCTL_REMOTE = $TMP/bin/vmctl (also first on the
#    PATH each sshd gives its sessions), a wrapper that logs
#    "SIDE NETNS ARGS" to $TMP/remote.log and runs this checkout's
#    $VMS_BIN/vmctl. Which daemon it talks to comes from the sshd that ran it:
#    each sshd sets VMSERVICE_CONF=$TMP/SIDE/vms.conf (sshd_config SetEnv) and
#    VMS_SIDE=SIDE, so a command sent to $DST_IP reaches dst's daemon and one
#    sent to $SRC_IP src's, as on two real hosts.
#  - vmctl_src / vmctl_dst run the local vmctl in that namespace with
#    VMSERVICE_CONF set (never -c: with -H, -c is a path for the remote side).
#
# Functions:
#   twohost_need        skip the whole test (exit 0, one "ok - ... # SKIP why")
#                       unless root, `ip netns`, sshd, ssh and ssh-keygen work.
#   twohost_init        twohost_need; reap what killed runs left (twohost_reap);
#                       make $TMP (removed at exit), the namespaces and the veth
#                       pair (lo up in each), the keys, known_hosts, ssh_config,
#                       both sshd_configs, the wrappers, and each side's
#                       vms.conf head (conf_head of tests/daemon/lib.sh, with
#                       CONF_HALT/CONF_TERM as halt/term timeouts, default 2).
#                       Sets the EXIT trap (twohost_down, then rm -rf $TMP) and
#                       one for TERM/INT/HUP that exits through it (a test
#                       that sets its own EXIT trap calls twohost_exit from
#                       it). Exports VMCTL_SSH and VMCTL_REMOTE. Starts
#                       nothing.
#   twohost_exit        twohost_down, then rm -rf $TMP (the EXIT trap).
#   twohost_vm SIDE NAME [LINES...]
#                       conf_vm of tests/daemon/lib.sh into SIDE's vms.conf
#                       (SIDE: src or dst): a VM with machine = "none" unless
#                       LINES say otherwise.
#   twohost_start       start both daemons (ip netns exec NS vmserviced -v -c
#                       $TMP/SIDE/vms.conf in the background, logs in
#                       $TMP/SIDE/daemon.log) and both sshds (sshd -D -e -f
#                       $TMP/SIDE/sshd_config, log $TMP/SIDE/sshd.log), and
#                       wait until vmctl connects and the ports listen.
#                       Returns non-zero (after a diag naming what) if one
#                       does not come up. Sets SRC_DPID DST_DPID SRC_SSHD
#                       DST_SSHD.
#   twohost_up          twohost_init then twohost_start.
#   twohost_daemon SIDE start SIDE's daemon (again: after the test killed
#                       it), wait until vmctl connects to it; sets
#                       SRC_DPID/DST_DPID. Non-zero, with a diag, if it
#                       does not come up.
#   twohost_sshd SIDE   start SIDE's sshd, wait until it listens on both
#                       ports; sets SRC_SSHD/DST_SSHD.
#   twohost_down        kill -KILL every process in both namespaces (daemons,
#                       their QEMUs, sshds and their sessions), any QEMU of a
#                       pid file under $TMP and any process whose command line
#                       names $TMP; wait until they are gone; delete the
#                       namespaces (and with them the veth pair). Idempotent.
#   twohost_reap        what a test killed with SIGKILL left: the namespaces
#                       vms2h-[sd]-PID and directories $TMPDIR/vms2h-PID.* of
#                       a PID that no longer runs (their processes killed).
#   on_src CMD... / on_dst CMD...
#                       run CMD in that namespace (ip netns exec).
#   vmctl_src ARGS... / vmctl_dst ARGS...
#                       this checkout's vmctl in that namespace, against that
#                       side's daemon (VMSERVICE_CONF=$TMP/SIDE/vms.conf).
#   twohost_field SIDE NAME KEY
#                       a VM's field from SIDE's `vmctl status NAME --json`
#                       (field of tests/daemon/lib.sh).
#   twohost_wait_state SIDE NAME STATE [SECONDS]
#                       poll SIDE's status until NAME is in STATE (default 10 s).
#   twohost_ns SIDE / twohost_ip SIDE
#                       that side's namespace name / address.
#   twohost_logs        print the tails of both daemons' and sshds' logs as
#                       diag lines (for a failing check).
#
# Variables: SRC_IP DST_IP (10.77.0.1, 10.77.0.2), TWOHOST_NET (10.77.0),
# SSH_PORT2 (2222, the sshds' second, non-default port), SRC_NS DST_NS (the
# namespace names), $TMP/src and $TMP/dst (each side's files).

SRC_NS=vms2h-s-$$
DST_NS=vms2h-d-$$
TWOHOST_NET=10.77.0
SRC_IP=$TWOHOST_NET.1
DST_IP=$TWOHOST_NET.2
SSH_PORT2=2222
SSHD=/usr/sbin/sshd

on_src() { ip netns exec "$SRC_NS" "$@"; }
on_dst() { ip netns exec "$DST_NS" "$@"; }
vmctl_src() { on_src env VMSERVICE_CONF="$TMP/src/vms.conf" "$VMS_BIN/vmctl" "$@"; }
vmctl_dst() { on_dst env VMSERVICE_CONF="$TMP/dst/vms.conf" "$VMS_BIN/vmctl" "$@"; }

twohost_skip() {
	skip "two hosts (network namespaces, sshd)" "$1"
	exit 0
}

twohost_need() {
	[ "$(id -u)" = 0 ] || twohost_skip "needs root (network namespaces, sshd)"
	command -v ip >/dev/null || twohost_skip "needs ip (iproute2)"
	[ -x "$SSHD" ] || twohost_skip "needs $SSHD (package openssh-server)"
	command -v ssh-keygen >/dev/null || twohost_skip "needs ssh-keygen (openssh-client)"
	command -v ssh >/dev/null || twohost_skip "needs ssh (openssh-client)"
	local probe=vms2h-p-$$
	ip netns add "$probe" 2>/dev/null || twohost_skip "cannot create a network namespace"
	ip netns del "$probe"
}

# twohost_kill_ns NS: SIGKILL every process in NS, wait for them, delete NS.
twohost_kill_ns() {
	local ns=$1 i pids
	ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$ns" || return 0
	for ((i = 0; i < 50; i++)); do
		pids=$(ip netns pids "$ns" 2>/dev/null)
		[ -n "$pids" ] || break
		kill -KILL $pids 2>/dev/null
		sleep 0.1
	done
	ip netns del "$ns" 2>/dev/null
}

twohost_reap() {
	local ns pid d
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^vms2h-[sdp]-[0-9]+$'); do
		pid=${ns##*-}
		[ "$pid" = "$$" ] && continue
		kill -0 "$pid" 2>/dev/null && continue
		twohost_kill_ns "$ns"
	done
	for d in "${TMPDIR:-/tmp}"/vms2h-[0-9]*.*; do
		[ -d "$d" ] || continue
		pid=${d##*/vms2h-}; pid=${pid%%.*}
		[ "$pid" = "$$" ] && continue
		kill -0 "$pid" 2>/dev/null && continue
		twohost_kill_tmp "$d"
		rm -rf "$d"
	done
}

# twohost_kill_tmp DIR: SIGKILL the QEMUs of DIR's pid files and every
# process whose command line names DIR.
twohost_kill_tmp() {
	local dir=$1 p f
	for p in $(cat "$dir"/*/run/*.pid 2>/dev/null); do
		grep -q "$dir" "/proc/$p/cmdline" 2>/dev/null && kill -KILL "$p" 2>/dev/null
	done
	for f in /proc/[0-9]*/cmdline; do
		p=${f#/proc/}; p=${p%/cmdline}
		[ "$p" = "$$" ] || [ "$p" = "$BASHPID" ] && continue
		tr '\0' ' ' 2>/dev/null <"$f" | grep -qF "$dir/" && kill -KILL "$p" 2>/dev/null
	done
}

twohost_down() {
	local p
	# stderr closed: no "Killed" lines from bash reaping our jobs.
	{
		twohost_kill_ns "$SRC_NS"
		twohost_kill_ns "$DST_NS"
		[ -n "${TMP:-}" ] && [ -d "$TMP" ] && twohost_kill_tmp "$TMP"
		for p in ${SRC_DPID:-} ${SRC_SSHD:-} ${DST_DPID:-} ${DST_SSHD:-}; do
			wait "$p"
		done
	} 2>/dev/null
	SRC_DPID='' SRC_SSHD='' DST_DPID='' DST_SSHD=''
	return 0
}

twohost_exit() {
	twohost_down
	[ -n "${TMP:-}" ] && rm -rf "$TMP"
}

# twohost_sshd_config SIDE IP: that side's sshd_config and host key.
twohost_sshd_config() {
	local side=$1 ip=$2
	ssh-keygen -q -t ed25519 -N '' -C "vms2h-$side" -f "$TMP/$side/ssh_host_ed25519_key" ||
	    return 1
	cat >"$TMP/$side/sshd_config" <<-EOF
	# sshd of the test's "$side" host (tests/lib/twohost.sh)
	ListenAddress $ip:22
	ListenAddress $ip:$SSH_PORT2
	HostKey $TMP/$side/ssh_host_ed25519_key
	PidFile none
	PermitRootLogin prohibit-password
	PubkeyAuthentication yes
	AuthorizedKeysFile $TMP/authorized_keys
	PasswordAuthentication no
	KbdInteractiveAuthentication no
	UsePAM no
	# $TMP is under /tmp (mode 1777): no owner checks on the keys' path.
	StrictModes no
	PrintMotd no
	PrintLastLog no
	X11Forwarding no
	AllowTcpForwarding no
	LogLevel VERBOSE
	SetEnv VMS_SIDE=$side VMSERVICE_CONF=$TMP/$side/vms.conf PATH=$TMP/bin:/usr/sbin:/usr/bin:/sbin:/bin
	EOF
}

twohost_init() {
	twohost_need
	twohost_reap
	TMP=$(mktemp -d "${TMPDIR:-/tmp}/vms2h-$$.XXXXXX")
	trap twohost_exit EXIT
	trap 'exit 143' TERM
	trap 'exit 130' INT
	trap 'exit 129' HUP
	mkdir -p "$TMP/src" "$TMP/dst" "$TMP/bin"

	ip netns add "$SRC_NS" && ip netns add "$DST_NS" &&
	ip -n "$SRC_NS" link add eth0 type veth peer name eth0 netns "$DST_NS" &&
	ip -n "$SRC_NS" link set lo up && ip -n "$DST_NS" link set lo up &&
	ip -n "$SRC_NS" addr add "$SRC_IP/24" dev eth0 &&
	ip -n "$DST_NS" addr add "$DST_IP/24" dev eth0 &&
	ip -n "$SRC_NS" link set eth0 up && ip -n "$DST_NS" link set eth0 up || {
		notok "two network namespaces with a veth pair"
		exit 1
	}

	# Keys: one host key per side, one client key root logs in with.
	twohost_sshd_config src "$SRC_IP" && twohost_sshd_config dst "$DST_IP" &&
	ssh-keygen -q -t ed25519 -N '' -C vms2h-client -f "$TMP/client_key" || {
		notok "ssh-keygen makes the host and client keys"
		exit 1
	}
	cp "$TMP/client_key.pub" "$TMP/authorized_keys"
	{
		echo "$SRC_IP,[$SRC_IP]:$SSH_PORT2 $(cut -d' ' -f1,2 "$TMP/src/ssh_host_ed25519_key.pub")"
		echo "$DST_IP,[$DST_IP]:$SSH_PORT2 $(cut -d' ' -f1,2 "$TMP/dst/ssh_host_ed25519_key.pub")"
	} >"$TMP/known_hosts"
	cat >"$TMP/ssh_config" <<-EOF
	# The client side of tests/lib/twohost.sh: only what the test wrote.
	Host *
	    User root
	    IdentityFile $TMP/client_key
	    IdentitiesOnly yes
	    UserKnownHostsFile $TMP/known_hosts
	    GlobalKnownHostsFile /dev/null
	    StrictHostKeyChecking yes
	    UpdateHostKeys no
	    CheckHostIP no
	    BatchMode yes
	    ConnectTimeout 2
	    ControlMaster no
	    ControlPath none
	    LogLevel ERROR
	EOF
	# The privilege separation directory sshd insists on (Debian's
	# service makes it at start; no service runs here).
	[ -d /run/sshd ] || mkdir -m 755 /run/sshd

	cat >"$TMP/bin/ssh" <<-EOF
	#!/bin/sh
	# \$VMCTL_SSH of tests/lib/twohost.sh
	echo "\$*" >>"$TMP/ssh.log"
	exec ssh -F "$TMP/ssh_config" "\$@"
	EOF
	cat >"$TMP/bin/vmctl" <<-EOF
	#!/bin/sh
	# \$VMCTL_REMOTE of tests/lib/twohost.sh: this checkout's vmctl; its
	# daemon is the one \$VMSERVICE_CONF (set by this host's sshd) names.
	echo "\${VMS_SIDE:-?} \$(ip netns identify 2>/dev/null) \$*" >>"$TMP/remote.log"
	exec "$VMS_BIN/vmctl" "\$@"
	EOF
	chmod 755 "$TMP/bin/ssh" "$TMP/bin/vmctl"
	: >"$TMP/ssh.log"
	: >"$TMP/remote.log"
	export VMCTL_SSH="$TMP/bin/ssh" VMCTL_REMOTE="$TMP/bin/vmctl"

	TMP=$TMP/src conf_head "${CONF_HALT:-2}" "${CONF_TERM:-2}"
	TMP=$TMP/dst conf_head "${CONF_HALT:-2}" "${CONF_TERM:-2}"
}

twohost_vm() {
	local side=$1; shift
	TMP=$TMP/$side conf_vm "$@"
}

# twohost_ns SIDE / twohost_ip SIDE: that side's namespace / address.
twohost_ns() { case $1 in src) echo "$SRC_NS";; dst) echo "$DST_NS";; esac; }
twohost_ip() { case $1 in src) echo "$SRC_IP";; dst) echo "$DST_IP";; esac; }

twohost_daemon() {
	local side=$1 ns dpid i rc
	ns=$(twohost_ns "$side")
	[ -n "$ns" ] || { diag "twohost_daemon: no side '$side'"; return 1; }
	ip netns exec "$ns" "$VMS_BIN/vmserviced" -v -c "$TMP/$side/vms.conf" \
	    >>"$TMP/$side/daemon.log" 2>&1 &
	dpid=$!
	case $side in
	src) SRC_DPID=$dpid ;;
	dst) DST_DPID=$dpid ;;
	esac
	# Up when vmctl connects (a socket file may be a killed daemon's).
	for ((i = 0; i < 100; i++)); do
		if [ -S "$TMP/$side/run/vmservice.sock" ]; then
			"$VMS_BIN/vmctl" -s "$TMP/$side/run/vmservice.sock" status >/dev/null 2>&1
			rc=$?
			[ "$rc" != 4 ] && return 0
		fi
		kill -0 "$dpid" 2>/dev/null || break
		sleep 0.1
	done
	diag "$side: vmserviced did not come up:"
	tail -n 20 "$TMP/$side/daemon.log" | sed 's/^/#   /'
	return 1
}

# twohost_sshd SIDE: its sshd, waited for on both ports; sets SRC_SSHD/DST_SSHD.
twohost_sshd() {
	local side=$1 ns ip spid i
	ns=$(twohost_ns "$side") ip=$(twohost_ip "$side")
	ip netns exec "$ns" "$SSHD" -D -e -f "$TMP/$side/sshd_config" \
	    >>"$TMP/$side/sshd.log" 2>&1 &
	spid=$!
	case $side in
	src) SRC_SSHD=$spid ;;
	dst) DST_SSHD=$spid ;;
	esac
	for ((i = 0; i < 100; i++)); do
		[ "$(grep -c "Server listening on $ip port" "$TMP/$side/sshd.log")" = 2 ] && return 0
		kill -0 "$spid" 2>/dev/null || break
		sleep 0.1
	done
	diag "$side: sshd did not come up:"
	tail -n 20 "$TMP/$side/sshd.log" | sed 's/^/#   /'
	return 1
}

twohost_start() {
	twohost_daemon src && twohost_daemon dst && twohost_sshd src && twohost_sshd dst
}

twohost_up() {
	twohost_init
	twohost_start
}

twohost_field() {
	local side=$1; shift
	TMP=$TMP/$side field "$@"
}

twohost_wait_state() {
	local side=$1; shift
	TMP=$TMP/$side wait_state "$@"
}

twohost_logs() {
	local f
	for f in "$TMP"/src/daemon.log "$TMP"/dst/daemon.log "$TMP"/src/sshd.log \
	    "$TMP"/dst/sshd.log; do
		[ -s "$f" ] || continue
		diag "--- ${f#"$TMP"/}:"
		tail -n 15 "$f" | sed 's/^/#   /'
	done
}
