#!/bin/bash
# VMs as systemd machines with resource limits (issue 17), under a real
# systemd: the .deb installed in a Debian 12 container booted with systemd
# as PID 1 and systemd-machined (tests/sysd/lib.sh, rootfs.sh), a test
# guest (accel tcg) with memory_max, cpu_weight, cpu_quota and io_weight:
#   register     `machinectl list` shows vmservice-g1 (class vm, service
#                vmservice); its QEMU is in machine-vmservice\x2dg1.scope in
#                machine.slice; `systemctl show` of the scope has the limits
#                and Before=vmservice.service; the cgroup's memory.max when
#                the container sees cgroup v2 (said and skipped otherwise:
#                on a v1 or hybrid host systemd keeps the property only)
#   reload       new limits in the file, `systemctl reload vmservice`: the
#                scope has them, the QEMU pid is the same
#   adopt        the daemon restarted (apt-get install --reinstall): the
#                QEMU keeps its pid and its scope, the new daemon knows the
#                scope (a reload's new limits reach it)
#   stop, start  the machine goes with its QEMU; a start right after a stop
#                registers it again (machined may still hold the old one for
#                a moment: the daemon retries)
# Skips, saying why, where test_deb.sh does, and when the root file system
# has no systemd-machined.
source "${VMS_TOP:-$(dirname "$0")/../..}/tests/lib/tap.sh"
source "$VMS_TOP/tests/lib/guest.sh"
cd "$VMS_TOP" || exit 1
t_start=$(date +%s)
source "$VMS_TOP/tests/sysd/lib.sh"
sysd_init "VMs as systemd machines"
sysd_deb
sysd_rootfs
sysd_guest
if [ ! -x "$rootfs/lib/systemd/systemd-machined" ] && [ ! -x "$rootfs/usr/lib/systemd/systemd-machined" ]; then
	skip "VMs as systemd machines" "the root file system has no systemd-machined (systemd-container)"
	exit 0
fi
cp "$deb" "$TMP/share/"
guest_disk_new "$TMP/share/g1.img" 1M
chmod 0666 "$TMP/share/g1.img"
sysd_boot "VMs as systemd machines"
not() { ! "$@" 2>/dev/null; }

ct apt-get install -y -q "/share/${deb##*/}" >"$TMP/install.log" 2>&1
check_eq "apt-get install ./${deb##*/}" "$?" 0

conf() {	# conf MEMORY_MAX CPU_WEIGHT CPU_QUOTA IO_WEIGHT
	cat <<-EOC
	accel = "tcg"
	halt_timeout = 30
	cpu_weight = 7
	vm g1 {
		acpi_repeat = 1
		type = "system-x86_64"
		machine = "pc"
		memory = "128M"
		memory_max = $1
		cpu_weight = $2
		cpu_quota = "$3"
		io_weight = $4
		kernel = "/guest/kernel"
		initrd = "/guest/initrd"
		append = "$(guest_append cooperative "")"
		disk { file = "/share/g1.img"  format = "raw" }
	}
	EOC
}
conf 400M 50 80% 30 | ct sh -c 'cat >/etc/vmservice.conf'
ct systemctl reload vmservice.service >"$TMP/reload.log" 2>&1
check_eq "systemctl reload starts g1" "$?" 0
if ! sysd_ready 1; then
	notok "the guest boots under the unit"
	ct journalctl -q -o cat -u vmservice.service | tail -n 15 | sed 's/^/#   /'
	done_testing
	exit 1
fi
ok "the guest boots under the unit"
qpid() { ct cat /run/vmservice/g1.pid 2>/dev/null | tr -dc 0-9; }
q0=$(qpid)
scope='machine-vmservice\x2dg1.scope'

# ---- registered: machinectl, the scope, its limits ----
ml=$(ct machinectl list --no-legend 2>&1)
diag "machinectl list: $ml"
check_match "machinectl list shows vmservice-g1, class vm, service vmservice" "$ml" \
    '^vmservice-g1 +vm +vmservice'
cg=$(ct cat "/proc/$q0/cgroup" 2>&1)
check_match "its QEMU (pid $q0) is in $scope in machine.slice" "$cg" \
    "machine\\.slice/machine-vmservice\\\\x2dg1\\.scope"
check_eq "machinectl's leader is the QEMU" \
    "$(ct machinectl show -p Leader --value vmservice-g1 2>&1)" "$q0"
props() { ct systemctl show -p MemoryMax -p CPUWeight -p CPUQuotaPerSecUSec -p IOWeight "$scope" | sort | tr '\n' ' '; }
check_eq "the scope's limits" "$(props)" \
    "CPUQuotaPerSecUSec=800ms CPUWeight=50 IOWeight=30 MemoryMax=419430400 "
check_match "the scope is ordered before the daemon's unit" \
    "$(ct systemctl show -p Before --value "$scope")" 'vmservice\.service'
check_match "vmctl status --json names the scope" "$(ct vmctl status --json g1)" \
    '"scope": *"machine-vmservice\\\\x2dg1\.scope"'
if [ "$(ct stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
	check_eq "the cgroup's memory.max" "$(ct cat "/sys/fs/cgroup/machine.slice/$scope/memory.max")" 419430400
else
	skip "the cgroup's memory.max" "the container's /sys/fs/cgroup is $(ct stat -fc %T /sys/fs/cgroup) (this host is not cgroup v2): systemd keeps the property"
fi

# ---- reload: new limits, same QEMU ----
conf 500M 80 150% 40 | ct sh -c 'cat >/etc/vmservice.conf'
ct systemctl reload vmservice.service >"$TMP/reload2.log" 2>&1
check_eq "systemctl reload with new limits" "$?" 0
want="CPUQuotaPerSecUSec=1.500000s CPUWeight=80 IOWeight=40 MemoryMax=524288000 "
for _ in $(seq 50); do [ "$(props)" = "$want" ] && break; sleep 0.1; done
check_eq "the scope has the new limits" "$(props)" "$want"
check_eq "the same QEMU" "$(qpid)" "$q0"
check_match "the daemon says so" "$(ct journalctl -q -o cat -u vmservice.service)" \
    'g1: new limits applied to machine-vmservice\\x2dg1\.scope'

# ---- a new daemon adopts the QEMU in its scope ----
d0=$(ct systemctl show -p MainPID --value vmservice.service)
ct apt-get install -y -q --reinstall "/share/${deb##*/}" >"$TMP/up.log" 2>&1
check_eq "apt-get install --reinstall" "$?" 0
d1=$(ct systemctl show -p MainPID --value vmservice.service)
check "a new daemon ($d0 -> $d1)" test "$d1" != "$d0" -a "$d1" != 0
check_eq "the QEMU keeps its pid" "$(qpid)" "$q0"
check_match "and its scope" "$(ct cat "/proc/$q0/cgroup")" 'machine-vmservice\\x2dg1\.scope'
check_match "the new daemon knows it" "$(ct journalctl -q -o cat _PID="$d1" 2>&1)" \
    'keeps its scope machine-vmservice\\x2dg1\.scope'
conf 600M 90 150% 40 | ct sh -c 'cat >/etc/vmservice.conf'
ct systemctl reload vmservice.service >/dev/null 2>&1
for _ in $(seq 50); do [[ $(props) == *MemoryMax=629145600* ]] && break; sleep 0.1; done
check_match "a reload reaches the adopted scope" "$(props)" 'CPUWeight=90 .*MemoryMax=629145600'

# ---- stop, start at once ----
ct vmctl stop g1 >/dev/null 2>&1
for _ in $(seq 300); do ct machinectl list --no-legend 2>/dev/null | grep -q vmservice-g1 || break; sleep 0.1; done
check "stopped: the machine is gone" not sh -c 'ct machinectl list --no-legend | grep -q vmservice-g1'
ct vmctl start g1 >/dev/null 2>&1
ct vmctl stop g1 >/dev/null 2>&1
ct vmctl start g1 >"$TMP/start.log" 2>&1
check_eq "a start right after a stop" "$?" 0
if sysd_ready 3; then ok "the guest boots again"; else notok "the guest boots again"; fi
q1=$(qpid)
check "a new QEMU ($q0 -> $q1)" test -n "$q1" -a "$q1" != "$q0"
check_eq "registered again, its leader the new QEMU" \
    "$(ct machinectl show -p Leader --value vmservice-g1 2>&1)" "$q1"
check_match "in the scope, with the limits" "$(props)" 'CPUWeight=90 .*MemoryMax=629145600'
ct systemctl stop vmservice.service
check "systemctl stop: the QEMU is gone" not ct kill -0 "$q1"
check_eq "the guest shut down cleanly" "$(guest_disk_clean "$TMP/share/g1.img")" 1
diag "took $(( $(date +%s) - t_start )) s"
done_testing
