#!/bin/bash
# The OCF agent ocf:vmservice:vm (rc/ocf/vm) live-migrating the real test
# guest (TCG) between two hosts, as Pacemaker drives it with
# allow-migrate=true: two network namespaces with a vmserviced and a real
# sshd each (tests/lib/twohost.sh), the guest's disk on storage both share
# (the same path in both), cluster nodes node1 (src) and node2 (dst) named
# to ssh through migrate_host_map:
# - migrate_to on node1 (target node2): 0; the guest runs on dst, src's QEMU
#   is gone and src shows it migrated; migrate_from on node2: 0; then, as
#   Pacemaker does, stop on node1: 0 (without touching dst), monitor on
#   node1 7 and on node2 0; the guest was not rebooted (its disk records one
#   boot);
# - migrate_to node1 on a VM stopped on node2: 1;
# - stop on node2, then start on node1, where its daemon keeps it down as
#   migrated (a plain vmctl start is refused there): the agent starts it
#   with --force: 0, the guest boots on src.
source "$VMS_TOP/tests/lib/tap.sh"
source "$VMS_TOP/tests/lib/guest.sh"
source "$VMS_TOP/tests/daemon/lib.sh"
source "$VMS_TOP/tests/lib/twohost.sh"
need_daemon
CONF_HALT=8 CONF_TERM=3 twohost_init
need_guest

guest_decl() {
	cat <<-EOC
	vm g1 {
		machine = "pc"
		memory = 128M
		kernel = "$GUEST_KERNEL"
		initrd = "$GUEST_INITRD"
		append = "$(guest_append cooperative)"
		extra_args = "-no-reboot"
		disk { file = "$TMP/g1.img"  format = raw }
		autostart = no
		restart = no
		on_panic = poweroff
	}
	EOC
}
guest_disk_new "$TMP/g1.img"
guest_decl >>"$TMP/src/vms.conf"
guest_decl >>"$TMP/dst/vms.conf"
if ! twohost_start; then
	notok "both hosts up"
	twohost_logs
	exit 1
fi

AGENT=$VMS_TOP/rc/ocf/vm
MAP="node1:root@$SRC_IP node2:root@$DST_IP"
# ra SIDE ACTION [VAR=VALUE...]: the agent on that host as Pacemaker runs it;
# its exit code on stdout, its messages in $TMP/ra.out.
ra() {
	local side=$1 a=$2; shift 2
	"on_$side" env OCF_ROOT=/usr/lib/ocf OCF_RESOURCE_INSTANCE=g1 OCF_RESKEY_vm=g1 \
	    OCF_RESKEY_vmctl="$VMS_BIN/vmctl" OCF_RESKEY_config="$TMP/$side/vms.conf" \
	    OCF_RESKEY_migrate_host_map="$MAP" OCF_RESKEY_CRM_meta_timeout=300000 \
	    OCF_RESKEY_CRM_meta_interval=10000 "$@" "$AGENT" "$a" >"$TMP/ra.out" 2>&1
	echo $?
}
show_ra() { sed 's/^/#   /' "$TMP/ra.out"; }

check_eq "validate-all on node1: 0" "$(ra src validate-all)" 0
check_eq "validate-all on node2: 0" "$(ra dst validate-all)" 0
check_eq "start on node1: 0" "$(ra src start)" 0
pid=$(twohost_field src g1 pid)
booted() { guest_wait_ready "$TMP/src/log/g1.console.log" 120 "$pid" >/dev/null; }
check "the guest boots on src" booted
check_eq "probe on node2: 7" "$(ra dst monitor OCF_RESKEY_CRM_meta_interval=0)" 7

t0=$(date +%s)
rc=$(ra src migrate_to OCF_RESKEY_CRM_meta_migrate_source=node1 \
    OCF_RESKEY_CRM_meta_migrate_target=node2)
check_eq "migrate_to node2 on node1: 0 ($(( $(date +%s) - t0 )) s)" "$rc" 0 || { show_ra; twohost_logs; }
check_match "... through ssh://root@$DST_IP" "$(cat "$TMP/ra.out")" "migrating to node2 \(ssh://root@$DST_IP\)"
check_eq "g1 runs on dst" "$(twohost_field dst g1 state)" running
check "... src's QEMU gone" gone_within "$pid"
check_eq "... src shows it migrated" "$(twohost_field src g1 state)" migrated
check_eq "migrate_from on node2: 0" \
    "$(ra dst migrate_from OCF_RESKEY_CRM_meta_migrate_source=node1 OCF_RESKEY_CRM_meta_migrate_target=node2)" 0
dpid=$(twohost_field dst g1 pid)
check_eq "stop on node1 (Pacemaker's after a migration): 0" "$(ra src stop)" 0
check_eq "... dst's QEMU untouched" "$(twohost_field dst g1 state) $(twohost_field dst g1 pid)" \
    "running $dpid"
check_eq "monitor on node1: 7" "$(ra src monitor)" 7
check_eq "monitor on node2: 0" "$(ra dst monitor)" 0
check_eq "migrate_to node1 on node1, where it is not running: 1" \
    "$(ra src migrate_to OCF_RESKEY_CRM_meta_migrate_target=node2)" 1

check_eq "stop on node2: 0" "$(ra dst stop)" 0
check "... dst's QEMU gone" gone_within "$dpid"
check_eq "the guest was not rebooted by the migration (one boot on its disk)" \
    "$(guest_disk_boots "$TMP/g1.img")" 1
out=$(vmctl_src start g1 2>&1); rc=$?
check "a plain vmctl start on src is refused (migrated away)" test "$rc" -ne 0
check_eq "... still migrated" "$(twohost_field src g1 state)" migrated
check_eq "start on node1: 0" "$(ra src start)" 0 || show_ra
check_match "... with --force" "$(cat "$TMP/ra.out")" 'starting \(--force'
check_eq "... g1 runs on src" "$(twohost_field src g1 state)" running
check_eq "stop on node1: 0" "$(ra src stop)" 0

done_testing
