#!/bin/bash
# The OCF resource agent ocf:vmservice:vm (rc/ocf/vm, issue 19's HA part),
# against the real daemon and the real test guest under TCG:
# - `make install-ocf` puts it under the OCF root, executable, its default
#   vmctl rewritten to SBINDIR's;
# - its meta-data is valid against resource-agents' ra-api-1.dtd (xmllint)
#   and lists every action it implements and its required parameter;
# - Debian's ocf-tester (resource-agents) runs it through all its checks;
# - each action's exit code, by hand: monitor/probe of a stopped VM 7,
#   start 0 and the guest boots, monitor 0, start again 0, stop 0 and its
#   QEMU gone, stop again 0; migrate_from 0 on a running VM, 1 on a stopped
#   one; migrate_to 1 without a target or on a stopped VM, and to a node
#   migrate_host_map maps to an ssh port where nothing listens: 1, the
#   command it ran recorded, the VM still running here;
# - errors: no vm parameter or a bad name 6 (OCF_ERR_CONFIGURED: the
#   resource's own parameters, wrong on every node); a VM this node does not
#   declare 5 (OCF_ERR_INSTALLED: node-local, another node may declare it)
#   and its stop 0; autostart = yes or restart = on-failure refused with 5,
#   and the start does not start it; vmctl missing: probe 7, validate-all 5,
#   stop 0; the daemon down: probe 5, recurring monitor 1, stop 1; the
#   daemon restarting (SIGQUIT, as on a package upgrade) under a monitor:
#   the monitor waits for the new daemon and says 0, the QEMU adopted.
# A real migration between two hosts: tests/rc/test_ocf_migrate.sh.
source "$VMS_TOP/tests/lib/tap.sh"
source "$VMS_TOP/tests/lib/guest.sh"
source "$VMS_TOP/tests/daemon/lib.sh"
need_daemon
if ! command -v ocf-tester >/dev/null || ! command -v xmllint >/dev/null; then
	skip "the OCF agent" "ocf-tester (resource-agents) or xmllint (libxml2-utils) not installed"
	exit 0
fi
scratch_daemon
need_guest

# --- install -------------------------------------------------------------
root=$TMP/root
make -s -C "$VMS_TOP" --no-print-directory install-ocf DESTDIR="$root" PREFIX=/usr \
    MANDIR=/usr/share/man >"$TMP/make.log" 2>&1
check "make install-ocf into a staging root" test $? -eq 0
AGENT=$root/usr/lib/ocf/resource.d/vmservice/vm
check "agent installed executable as resource.d/vmservice/vm" test -x "$AGENT"
check "its manual installed in man7" test -f "$root/usr/share/man/man7/vmservice-ocf.7"
check_match "its default vmctl is PREFIX=/usr's" "$(grep -n 'VMCTL_DEFAULT=' "$AGENT")" \
    'VMCTL_DEFAULT=/usr/sbin/vmctl$'
check "the agent parses as POSIX sh (dash -n)" dash -n "$AGENT"
if command -v shellcheck >/dev/null; then
	out=$(shellcheck -s sh "$AGENT" 2>&1)
	check_eq "shellcheck is clean on the agent" "$out" ""
else
	skip "shellcheck on the agent" "shellcheck not installed"
fi
# ocf-tester runs meta-data as user nobody: the path must be searchable.
chmod 0711 "$TMP"

# --- meta-data -----------------------------------------------------------
md=$("$AGENT" meta-data); rc=$?
check_eq "meta-data exits 0" "$rc" 0
DTD_DIR=/usr/share/resource-agents
if [ -r "$DTD_DIR/ra-api-1.dtd" ]; then
	out=$(printf '%s\n' "$md" | (cd "$DTD_DIR" && xmllint --noout --valid - 2>&1))
	check_eq "meta-data is valid against ra-api-1.dtd" "$?:$out" "0:"
else
	skip "meta-data against ra-api-1.dtd" "$DTD_DIR/ra-api-1.dtd not found"
fi
for a in start stop monitor migrate_to migrate_from reload meta-data validate-all; do
	check_match "meta-data lists action $a" "$md" "<action name=\"$a\" timeout=\"[0-9]+s\""
done
check_match "meta-data: parameter vm, required and unique" "$md" \
    '<parameter name="vm" required="1" unique="1">'

# --- inventory -------------------------------------------------------------
conf_head 8 3
guest_vm() {
	local name=$1; shift
	guest_disk_new "$TMP/$name.img"
	{
		echo "vm $name {"
		echo "	machine = \"pc\""
		echo "	memory = 128M"
		echo "	kernel = \"$GUEST_KERNEL\""
		echo "	initrd = \"$GUEST_INITRD\""
		echo "	append = \"$(guest_append cooperative)\""
		echo "	extra_args = \"-no-reboot\""
		echo "	disk { file = \"$TMP/$name.img\"  format = raw }"
		local l; for l in "$@"; do echo "	$l"; done
		echo "}"
	} >>"$TMP/vms.conf"
}
guest_vm g1 'autostart = no' 'restart = no' 'on_panic = poweroff'
conf_vm auto 'autostart = yes'
conf_vm rs 'autostart = no' 'restart = on-failure'
out=$(vmctl check-config 2>&1)
check_eq "config valid" "$?" 0 || diag "$out"

# ra ACTION [VAR=VALUE...]: the agent as Pacemaker runs it (env), for VM g1
# unless a VAR says otherwise; its exit code on stdout, its messages in
# $TMP/ra.out.
ra() {
	local a=$1; shift
	env OCF_ROOT=/usr/lib/ocf OCF_RESOURCE_INSTANCE=t OCF_RESKEY_vm=g1 \
	    OCF_RESKEY_vmctl="$VMS_BIN/vmctl" OCF_RESKEY_config="$TMP/vms.conf" \
	    OCF_RESKEY_CRM_meta_timeout=60000 OCF_RESKEY_CRM_meta_interval=10000 \
	    "$@" "$AGENT" "$a" >"$TMP/ra.out" 2>&1
	echo $?
}
probe() { ra monitor OCF_RESKEY_CRM_meta_interval=0 "$@"; }

check "daemon up" start_daemon
check "auto started by the daemon itself (autostart = yes)" wait_state auto running 20

# --- ocf-tester ------------------------------------------------------------
t0=$(date +%s)
out=$(ocf-tester -n g1 -o vm=g1 -o vmctl="$VMS_BIN/vmctl" -o config="$TMP/vms.conf" \
    "$AGENT" 2>&1); rc=$?
check_eq "ocf-tester: exit 0 ($(( $(date +%s) - t0 )) s)" "$rc" 0
check_match "ocf-tester: passed all tests" "$out" "^$AGENT passed all tests$" ||
    printf '%s\n' "$out" | sed 's/^/#   /'
check_eq "g1 stopped after ocf-tester" "$(field g1 state)" stopped

# --- each action by hand -------------------------------------------------
check_eq "monitor, g1 stopped: 7 (OCF_NOT_RUNNING)" "$(ra monitor)" 7
check_eq "probe, g1 stopped: 7" "$(probe)" 7
check_eq "migrate_from, g1 stopped here: 1" "$(ra migrate_from)" 1
check_eq "migrate_to, g1 stopped here: 1" \
    "$(ra migrate_to OCF_RESKEY_CRM_meta_migrate_target=node2)" 1
check_match "... saying it is not running here" "$(cat "$TMP/ra.out")" 'not running here'
check_eq "start: 0" "$(ra start)" 0
check_eq "g1 running" "$(field g1 state)" running
pid=$(field g1 pid)
check_eq "its QEMU is the daemon's" "$(qemu_pids g1)" "$pid"
booted() { guest_wait_ready "$TMP/log/g1.console.log" 90 "$pid" >/dev/null; }
check "the guest boots" booted
check_eq "monitor, g1 running: 0" "$(ra monitor)" 0
check_eq "probe, g1 running: 0" "$(probe)" 0
check_eq "start again: 0" "$(ra start)" 0
check_eq "... the same QEMU" "$(field g1 pid)" "$pid"
check_eq "migrate_from, g1 running here: 0" "$(ra migrate_from)" 0
check_eq "reload (a non-unique parameter changed): 0" \
    "$(ra reload OCF_RESKEY_migrate_options=--copy-storage)" 0
check_eq "... the same QEMU runs on" "$(field g1 state) $(field g1 pid)" "running $pid"
check_eq "migrate_to without a target: 1" "$(ra migrate_to)" 1
# vmctl as the agent runs it, its arguments recorded.
cat >"$TMP/vmctl-rec" <<EOF
#!/bin/sh
echo "\$*" >>"$TMP/vmctl.argv"
exec "$VMS_BIN/vmctl" "\$@"
EOF
chmod 0755 "$TMP/vmctl-rec"
check_eq "migrate_to node2, mapped to ssh://root@127.0.0.1:1 (nothing listens): 1" \
    "$(ra migrate_to OCF_RESKEY_vmctl="$TMP/vmctl-rec" OCF_RESKEY_CRM_meta_migrate_target=node2 \
    OCF_RESKEY_migrate_host_map='node1:root@10.9.9.9 node2:root@127.0.0.1:1' \
    OCF_RESKEY_migrate_options='--copy-storage')" 1
check_match "... it ran vmctl migrate g1 ssh://root@127.0.0.1:1 --copy-storage" \
    "$(cat "$TMP/vmctl.argv" 2>/dev/null)" "^-c $TMP/vms.conf migrate g1 ssh://root@127.0.0.1:1 --copy-storage$"
check_match "... its reason names the destination" "$(cat "$TMP/ra.out")" \
    'vmctl migrate to ssh://root@127.0.0.1:1 failed'
check_eq "... g1 still running here, the same QEMU" "$(field g1 state) $(field g1 pid)" "running $pid"
check_eq "... monitor: 0" "$(ra monitor)" 0
check_eq "stop: 0" "$(ra stop)" 0
check "... its QEMU gone" gone_within "$pid"
check_eq "... state stopped" "$(field g1 state)" stopped
check_match "... the guest shut down cleanly (ACPI)" "$(vmctl status g1 --json)" \
    '"stop_reason":"guest-poweroff"|"stop_reason":"host-powerdown"'
check_eq "monitor after stop: 7" "$(ra monitor)" 7
check_eq "stop again: 0" "$(ra stop)" 0

# --- parameters and this node's configuration ----------------------------
check_eq "validate-all, no vm parameter: 6 (OCF_ERR_CONFIGURED)" \
    "$(ra validate-all OCF_RESKEY_vm=)" 6
check_match "... saying vm is required" "$(cat "$TMP/ra.out")" "parameter 'vm' is required"
check_eq "start, no vm parameter: 6" "$(ra start OCF_RESKEY_vm=)" 6
check_eq "validate-all, vm='../x': 6" "$(ra validate-all OCF_RESKEY_vm=../x)" 6
check_eq "validate-all, a malformed migrate_host_map: 6" \
    "$(ra validate-all OCF_RESKEY_migrate_host_map=node1)" 6
check_eq "validate-all, a VM not in this node's inventory: 5 (OCF_ERR_INSTALLED)" \
    "$(ra validate-all OCF_RESKEY_vm=nosuch)" 5
check_match "... naming the VM and the file" "$(cat "$TMP/ra.out")" "nosuch.*$TMP/vms.conf"
check_eq "monitor of it: 5" "$(ra monitor OCF_RESKEY_vm=nosuch)" 5
check_eq "start of it: 5" "$(ra start OCF_RESKEY_vm=nosuch)" 5
check_eq "stop of it: 0 (not running here)" "$(ra stop OCF_RESKEY_vm=nosuch)" 0
check_eq "validate-all, autostart = yes: 5" "$(ra validate-all OCF_RESKEY_vm=auto)" 5
check_match "... saying autostart" "$(cat "$TMP/ra.out")" 'autostart = yes.*autostart = no'
check_eq "validate-all, restart = on-failure: 5" "$(ra validate-all OCF_RESKEY_vm=rs)" 5
check_match "... saying restart" "$(cat "$TMP/ra.out")" 'restart = on-failure.*restart = no'
check_eq "start, restart = on-failure: 5" "$(ra start OCF_RESKEY_vm=rs)" 5
check_eq "... rs not started" "$(field rs state)" stopped
check_eq "validate-all, g1: 0" "$(ra validate-all)" 0
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	out=$(su nobody -s /bin/sh -c "env OCF_RESKEY_vm=g1 OCF_RESKEY_vmctl='$VMS_BIN/vmctl' \
	    OCF_RESKEY_config='$TMP/vms.conf' OCF_RESKEY_CRM_meta_interval=10000 \
	    '$AGENT' monitor 2>&1; echo rc=\$?")
	check_eq "monitor as user nobody (the socket refuses it): 4 (OCF_ERR_PERM)" \
	    "${out##*rc=}" 4 || printf '%s\n' "$out" | sed 's/^/#   /'
else
	skip "monitor as user nobody" "not root"
fi
check_eq "unknown action: 3 (OCF_ERR_UNIMPLEMENTED)" "$(ra frobnicate)" 3
check_eq "notify: 3" "$(ra notify)" 3
check_eq "no action: 2 (OCF_ERR_ARGS)" "$(ra '')" 2
check_eq "probe, vmctl missing: 7" "$(probe OCF_RESKEY_vmctl=/nonexistent/vmctl)" 7
check_eq "monitor, vmctl missing: 5" "$(ra monitor OCF_RESKEY_vmctl=/nonexistent/vmctl)" 5
check_eq "validate-all, vmctl missing: 5" "$(ra validate-all OCF_RESKEY_vmctl=/nonexistent/vmctl)" 5
check_eq "stop, vmctl missing: 0" "$(ra stop OCF_RESKEY_vmctl=/nonexistent/vmctl)" 0
check_eq "without ocf-shellfuncs: monitor 7, validate-all (no vm) 6" \
    "$(ra monitor OCF_FUNCTIONS_DIR=/nonexistent) $(ra validate-all OCF_FUNCTIONS_DIR=/nonexistent OCF_RESKEY_vm=)" \
    "7 6"
check_match "... the reason still on stderr for Pacemaker" "$(cat "$TMP/ra.out")" \
    "^ocf-exit-reason:parameter 'vm' is required"

# --- the daemon down ---------------------------------------------------------
vmctl kill auto >/dev/null 2>&1
wait_state auto stopped 10
stop_daemon
check "daemon stopped" gone_within "$DPID"
check_eq "probe, daemon down: 5" "$(probe OCF_RESKEY_daemon_grace=1)" 5
check_match "... saying vmserviced is not running" "$(cat "$TMP/ra.out")" 'vmserviced is not running'
check_eq "monitor, daemon down: 1 (OCF_ERR_GENERIC)" "$(ra monitor OCF_RESKEY_daemon_grace=1)" 1
check_eq "stop, daemon down: 1 (unknown is not stopped)" "$(ra stop OCF_RESKEY_daemon_grace=1)" 1

# --- a package upgrade: the daemon restarts, the VM runs on -----------------
# (SIGQUIT, as the init script's restart-daemon: the daemon exits leaving its
# QEMUs, the next one adopts them.) A monitor meanwhile waits daemon_grace.
check "daemon up again" start_daemon
check_eq "start: 0" "$(ra start)" 0
pid=$(field g1 pid)
kill -QUIT "$DPID"; wait "$DPID"
check "the daemon exited, g1's QEMU runs on" test -n "$pid" -a -d "/proc/$pid"
ra monitor >"$TMP/mon.rc" &
mon=$!
sleep 2
check "a new daemon" start_daemon
wait "$mon"
check_eq "a monitor across the daemon's restart: 0" "$(cat "$TMP/mon.rc")" 0
check_eq "... the same QEMU, adopted" "$(field g1 state) $(field g1 pid)" "running $pid"
check_eq "stop: 0" "$(ra stop)" 0
check "... its QEMU gone" gone_within "$pid"
stop_daemon

done_testing
