#!/bin/bash
# vmctl -H ssh://[USER@]HOST[:PORT] (issue 19, remote control) between two
# hosts made of network namespaces (tests/lib/twohost.sh): a real sshd in
# each, the real ssh client, each host its own daemon. Status (text and
# --json) both ways, start/stop of the other host's VM, a non-default port,
# a host key that does not match known_hosts, an unknown host key, a host
# that does not answer, bad URLs, and the remote vmctl's own exit codes
# coming back through ssh unchanged (the remote daemon down too), and
# twohost_down leaving no process and no namespace.
source "$VMS_TOP/tests/lib/tap.sh"
source "$VMS_TOP/tests/daemon/lib.sh"
source "$VMS_TOP/tests/lib/twohost.sh"
need_daemon
twohost_init
# VMs that need no guest; d1 and d2 only on dst, s1 only on src.
twohost_vm dst d1
twohost_vm dst d2 "autostart = no"
twohost_vm src s1
if ! twohost_start; then
	notok "both hosts' daemons and sshds come up"
	twohost_logs
	exit 1
fi
ok "two hosts up: $SRC_NS ($SRC_IP) and $DST_NS ($DST_IP), a daemon and an sshd in each"
twohost_wait_state dst d1 running && twohost_wait_state src s1 running ||
    { notok "d1 runs on dst, s1 on src"; twohost_logs; }

DST=ssh://root@$DST_IP
SRC=ssh://root@$SRC_IP
# names TEXT: the VM names of a `vmctl status` table, one line.
names() { awk 'NR > 1 { print $1 }' <<<"$1" | sort | tr '\n' ' '; }
# jnames JSON: the VM names of `vmctl status --json`, parsed as JSON.
jnames() { jq -r '.vms[].name' <<<"$1" | sort | tr '\n' ' '; }
remote_runs() { wc -l <"$TMP/remote.log" | tr -d ' '; }
ssh_runs() { wc -l <"$TMP/ssh.log" | tr -d ' '; }

# --- status, both ways ---
out=$(vmctl_src -H "$DST" status 2>&1); rc=$?
check_eq "src: vmctl -H $DST status: exit 0" "$rc" 0
check_eq "  ... shows dst's VMs (d1 d2), not src's s1" "$(names "$out")" "d1 d2 "
check_match "  ... d1 running there" "$out" "^d1 +running "
check_match "  ... run by the vmctl of dst, through dst's sshd" "$(tail -n 1 "$TMP/remote.log")" \
    "^dst $DST_NS status$"
check_match "  ... the ssh client was given -T, the user and the host" \
    "$(tail -n 1 "$TMP/ssh.log")" "^-l root -T -- $DST_IP '[^']*/bin/vmctl' 'status'$"

out=$(vmctl_src -H "$DST" status --json 2>&1); rc=$?
check_eq "src: vmctl -H $DST status --json: exit 0" "$rc" 0
if command -v jq >/dev/null; then
	check_eq "  ... parses as JSON (jq): dst's VMs d1 d2" "$(jnames "$out")" "d1 d2 "
	check_eq "  ... d1's state running, its QEMU's pid that of dst's status" \
	    "$(jq -r '.vms[] | select(.name == "d1") | "\(.state) \(.pid)"' <<<"$out")" \
	    "running $(twohost_field dst d1 pid)"
elif command -v python3 >/dev/null; then
	check "  ... parses as JSON (python3 -m json.tool)" \
	    python3 -m json.tool <<<"$out" >/dev/null
else
	check_match "  ... looks like the daemon's JSON" "$out" '^\{"ok":true,"vms":\[.*"name":"d1"'
fi

n=$(remote_runs)
out=$(VMCTL_REMOTE='' vmctl_src -H "$DST" status 2>&1); rc=$?
check_eq "no \$VMCTL_REMOTE: 'vmctl' from the PATH dst's sshd gives, dst's VMs" \
    "$rc $(names "$out")$(remote_runs)" "0 d1 d2 $((n + 1))"
check_match "  ... ssh was asked to run 'vmctl' 'status'" "$(tail -n 1 "$TMP/ssh.log")" \
    " -- $DST_IP 'vmctl' 'status'$"

out=$(vmctl_dst -H "$SRC" status 2>&1); rc=$?
check_eq "dst: vmctl -H $SRC status (the other way round): exit 0" "$rc" 0
check_eq "  ... shows src's VM s1 only" "$(names "$out")" "s1 "
check_match "  ... run by the vmctl of src" "$(tail -n 1 "$TMP/remote.log")" "^src $SRC_NS status$"
out=$(vmctl_dst -H "$SRC" status --json 2>&1)
if command -v jq >/dev/null; then
	check_eq "  ... --json parses (jq): s1" "$(jnames "$out")" "s1 "
fi

# The QEMUs run in their own host's namespace.
check_eq "d1's QEMU runs in dst's network namespace" \
    "$(ip netns identify "$(twohost_field dst d1 pid)")" "$DST_NS"

# --- start/stop of a dst VM from src ---
out=$(vmctl_src -H "$DST" stop d1 2>&1); rc=$?
check_eq "src: vmctl -H $DST stop d1: exit 0" "$rc" 0
check_eq "  ... d1 is stopped on dst (dst's own vmctl)" "$(twohost_field dst d1 state)" stopped
check_eq "  ... s1 on src still running" "$(twohost_field src s1 state)" running
vmctl_src -H "$DST" status d1 >/dev/null 2>&1; rc=$?
check_eq "  ... vmctl -H status d1 exits 3 (not running), as locally" "$rc" 3

out=$(vmctl_src -H "$DST" start d2 2>&1); rc=$?
check_eq "src: vmctl -H $DST start d2 (autostart = no): exit 0" "$rc" 0
check_eq "  ... d2 runs on dst" "$(twohost_field dst d2 state)" running
pid=$(twohost_field dst d2 pid)
check_eq "  ... its QEMU in dst's namespace" "$(ip netns identify "$pid" 2>/dev/null)" "$DST_NS"
check_eq "  ... src's daemon knows no d2" "$(vmctl_src status d2 >/dev/null 2>&1; echo $?)" 1
out=$(vmctl_src -H "$DST" start d1 2>&1); rc=$?
check_eq "src: vmctl -H $DST start d1 again: exit 0, running on dst" \
    "$rc $(twohost_field dst d1 state)" "0 running"

# --- a non-default port ---
before=$(grep -c "on $DST_IP port $SSH_PORT2" "$TMP/dst/sshd.log")
out=$(vmctl_src -H "$DST:$SSH_PORT2" status 2>&1); rc=$?
check_eq "src: vmctl -H $DST:$SSH_PORT2 status: exit 0, dst's VMs" "$rc $(names "$out")" "0 d1 d2 "
check_match "  ... ssh was given -p $SSH_PORT2" "$(tail -n 1 "$TMP/ssh.log")" \
    "^-p $SSH_PORT2 -l root -T -- $DST_IP "
check_eq "  ... dst's sshd took it on port $SSH_PORT2" \
    "$(grep -c "on $DST_IP port $SSH_PORT2" "$TMP/dst/sshd.log")" "$((before + 1))"
n=$(remote_runs)
out=$(vmctl_src -H "$DST:2223" status 2>&1); rc=$?
check_eq "  ... and a port nobody listens on: exit 4" "$rc" 4
check_match "  ... with ssh's message" "$out" "connect to host $DST_IP port 2223: Connection refused"
check_eq "  ... nothing ran on dst" "$(remote_runs)" "$n"

# --- host keys ---
# known_hosts that pairs dst's address with src's key: a changed host key.
echo "$DST_IP,[$DST_IP]:$SSH_PORT2 $(cut -d' ' -f1,2 "$TMP/src/ssh_host_ed25519_key.pub")" \
    >"$TMP/known_hosts.changed"
: >"$TMP/known_hosts.empty"
for kh in changed empty; do
	cat >"$TMP/bin/ssh-$kh" <<-EOF
	#!/bin/sh
	echo "\$*" >>"$TMP/ssh.log"
	exec ssh -F "$TMP/ssh_config" -o UserKnownHostsFile="$TMP/known_hosts.$kh" "\$@"
	EOF
	chmod 755 "$TMP/bin/ssh-$kh"
done
n=$(remote_runs)
out=$(VMCTL_SSH=$TMP/bin/ssh-changed vmctl_src -H "$DST" stop d1 2>&1); rc=$?
check_eq "a host key that does not match known_hosts: exit 4" "$rc" 4
check_match "  ... ssh's message" "$out" "REMOTE HOST IDENTIFICATION HAS CHANGED"
check_match "  ... and vmctl's" "$out" "vmctl: -H $DST: ssh failed"
check_eq "  ... nothing ran on dst" "$(remote_runs)" "$n"
check_eq "  ... d1 still running there" "$(twohost_field dst d1 state)" running
out=$(VMCTL_SSH=$TMP/bin/ssh-empty vmctl_src -H "$DST" stop d1 2>&1); rc=$?
check_eq "a host known_hosts does not list (StrictHostKeyChecking yes): exit 4" "$rc" 4
check_match "  ... ssh's message" "$out" "Host key verification failed"
check_eq "  ... nothing ran, d1 still running" "$(remote_runs) $(twohost_field dst d1 state)" \
    "$n running"

# --- a host that does not answer (ConnectTimeout 2 in ssh_config) ---
t0=$(date +%s.%N)
out=$(timeout 60 ip netns exec "$SRC_NS" env VMSERVICE_CONF="$TMP/src/vms.conf" \
    "$VMS_BIN/vmctl" -H "ssh://root@$TWOHOST_NET.99" status 2>&1)
rc=$?
diag "no answer from $TWOHOST_NET.99: vmctl returned after $(sub "$(date +%s.%N)" "$t0") s"
check_eq "a host that does not answer: exit 4 (not a hang)" "$rc" 4
check_match "  ... ssh's message" "$out" "connect to host $TWOHOST_NET.99 port 22: (Connection timed out|No route to host)"
check_match "  ... and vmctl's" "$out" "vmctl: -H ssh://root@$TWOHOST_NET.99: ssh failed"

# --- bad URLs: exit 2, ssh never run ---
n=$(ssh_runs)
for url in "root@$DST_IP" "ftp://$DST_IP" "ssh://" "ssh://root@" "ssh://root@$DST_IP:0" \
    "ssh://root@$DST_IP:65536" "ssh://root@$DST_IP:22x" "ssh://-oProxyCommand=id" \
    "ssh://root@$DST_IP;id" "ssh://[$DST_IP"; do
	out=$(vmctl_src -H "$url" status 2>&1); rc=$?
	check_eq "bad URL '$url': exit 2 (usage)" "$rc" 2
	check "  ... the message names it: $out" grep -qF -- "vmctl: -H $url: " <<<"$out"
done
check_eq "  ... ssh never ran for them" "$(ssh_runs)" "$n"

# --- the remote vmctl's own exit codes come back unchanged ---
out_l=$(vmctl_dst status nosuch 2>&1); rc_l=$?
out=$(vmctl_src -H "$DST" status nosuch 2>&1); rc=$?
check "an unknown VM: dst's own vmctl fails (not 0, not 4)" test "$rc_l" != 0 -a "$rc_l" != 4
check_eq "  ... vmctl -H from src: the same exit code ($rc_l)" "$rc" "$rc_l"
check_eq "  ... and the same message" "$out" "$out_l"
vmctl_src -H "$DST" start nosuch >/dev/null 2>&1; rc=$?
check_eq "  ... start nosuch through -H: exit $(vmctl_dst start nosuch >/dev/null 2>&1; echo $?) as locally" \
    "$rc" "$(vmctl_dst start nosuch >/dev/null 2>&1; echo $?)"
vmctl_src -H "$DST" frobnicate >/dev/null 2>&1; rc=$?
check_eq "  ... an unknown command, refused by the remote vmctl: exit 2" "$rc" 2
out=$(VMCTL_REMOTE=/nonexistent/vmctl vmctl_src -H "$DST" status 2>&1); rc=$?
check_eq "a remote program that is not there: ssh's 127 comes back" "$rc" 127
check_match "  ... vmctl names \$VMCTL_REMOTE" "$out" \
    "'/nonexistent/vmctl' not found on the remote host \(\\\$VMCTL_REMOTE names it\)"

# --- dst's daemon down: the remote vmctl's 4, not ssh's ---
kill -KILL "$DST_DPID"
{ wait "$DST_DPID"; } 2>/dev/null
out=$(vmctl_src -H "$DST" status 2>&1); rc=$?
check_eq "dst's daemon killed: vmctl -H status exits 4 (the remote vmctl's)" "$rc" 4
check_match "  ... its message says the daemon is not there" "$out" \
    "^vmctl: vmserviced is not running \(cannot connect to $TMP/dst/run/vmservice.sock"
check "  ... not that ssh failed" test -z "$(grep 'ssh failed' <<<"$out")"
if twohost_daemon dst; then
	out=$(vmctl_src -H "$DST" status 2>&1); rc=$?
	check_eq "dst's daemon started again (twohost_daemon): -H status exit 0, d1 d2" \
	    "$rc $(names "$out")" "0 d1 d2 "
	check_eq "  ... d1's QEMU kept and adopted" "$(twohost_field dst d1 state)" running
else
	notok "dst's daemon starts again (twohost_daemon)"
fi

# --- nothing leaks ---
twohost_down
check_eq "twohost_down: both namespaces gone" \
    "$(ip netns list | awk '{print $1}' | grep -cE "^($SRC_NS|$DST_NS)$")" 0
left=$(for f in /proc/[0-9]*/cmdline; do tr '\0' ' ' 2>/dev/null <"$f" | grep -F "$TMP/"; done)
check_eq "  ... no process of this test left (daemons, QEMUs, sshds)" "$left" ""
done_testing
