#!/bin/bash
# The Debian package under a real systemd (issue 17): the .deb (make deb) is
# installed with apt in a Debian 12 container booted with systemd as PID 1,
# and its life is driven the way an admin does:
#   install        groups created, conffiles, the unit enabled and started
#   start          a test guest (accel tcg) comes up under the unit
#   reinstall      `apt-get install --reinstall`: the daemon is restarted
#                  (SIGQUIT, restart-daemon), the QEMU keeps its pid, the
#                  guest does not boot again
#   upgrade        dpkg -i of a rebuilt version (the same .deb repacked with
#                  a higher version): the same
#   stop           `systemctl stop` with TimeoutStopSec=4 (a drop-in) while
#                  the guest needs longer to shut down (vmsguest.acpid_delay:
#                  the power button works only some seconds after boot):
#                  EXTEND_TIMEOUT_USEC keeps systemd from killing anything,
#                  the guest shuts down cleanly (its disk says so)
#   remove         stops the VM the safe way, keeps /etc/vmservice.conf
#   purge          removes the conffiles and the daemon's state and logs,
#                  keeps a disk image in /var/lib/vmservice
#
# How it runs here (this machine's PID 1 is not systemd; GUEST.md):
#   - the root file system is built once by tests/sysd/rootfs.sh (`make
#     sysd-rootfs`: mmdebstrap, minbase + systemd + the package's run-time
#     dependencies, so apt needs no network in the container) and cached in
#     $VMS_CACHE/sysd; the first build took 3 min here, later runs reuse it.
#   - `systemd-nspawn --register=no --keep-unit -b --volatile=overlay` boots
#     it: the cached tree is the read-only lower layer, every change of the
#     test lands in a tmpfs and vanishes with the container.
#   - the test guest's kernel and initramfs (tests/lib/guest.sh) are bind-
#     mounted read-only into /guest; its disk lives in a host directory
#     bind-mounted as /share, so that the host reads the guest's record.
#   - commands run in the container with nsenter into its PID 1's namespaces
#     (no machined on the host, so no machinectl shell).
#   - the .deb is rebuilt by `make deb` only when a packaged file is newer
#     than it (50 s to 2 min on 2 busy cores), then checked with lintian.
# Skips, saying why, when not root, without systemd-nspawn, dpkg-buildpackage
# or debhelper, or when the root file system cannot be built (no mmdebstrap,
# no network). Takes about 45 s with both cached (the stop alone ~18 s).
source "${VMS_TOP:-$(dirname "$0")/../..}/tests/lib/tap.sh"
source "$VMS_TOP/tests/lib/guest.sh"
cd "$VMS_TOP" || exit 1

t_start=$(date +%s)
source "$VMS_TOP/tests/sysd/lib.sh"
sysd_init "the package under systemd"
sysd_deb

# ---- the root file system and the test guest ----
sysd_rootfs
sysd_guest

# ---- boot the container ----
cp "$deb" "$TMP/share/"
# The upgrade: the same package with a higher version.
dpkg-deb -R "$deb" "$TMP/repack"
sed -i "s/^Version: .*/Version: $version+sysd1/" "$TMP/repack/DEBIAN/control"
dpkg-deb -b "$TMP/repack" "$TMP/share/vmservice-up.deb" >/dev/null
guest_disk_new "$TMP/share/g1.img" 1M
chmod 0666 "$TMP/share/g1.img"
sysd_boot "the package under systemd"
not() { ! "$@" 2>/dev/null; }

# ---- install ----
ct apt-get install -y -q "/share/${deb##*/}" >"$TMP/install.log" 2>&1
check_eq "apt-get install ./${deb##*/}" "$?" 0
for g in vmservice vmservice-status; do
	check "group $g created" ct sh -c "getent group $g >/dev/null"
done
conffiles=$(ct dpkg-query -W -f='${Conffiles}' vmservice)
for f in /etc/vmservice.conf /etc/default/vmservice /etc/init.d/vmservice; do
	check_match "$f is a conffile" "$conffiles" "$f "
done
check_eq "the unit is enabled" "$(ct systemctl is-enabled vmservice.service)" enabled
check_eq "the unit is running" "$(ct systemctl is-active vmservice.service)" active
check_match "the installed /etc/vmservice.conf declares no VM" \
    "$(ct vmctl check-config 2>&1)" '^ok: 0 VMs'

# ---- a guest under the unit ----
conf() {
	cat <<-EOC
	accel = "tcg"
	halt_timeout = 60
	vm g1 {
		acpi_repeat = 1
		type = "system-x86_64"
		machine = "pc"
		memory = "128M"
		kernel = "/guest/kernel"
		initrd = "/guest/initrd"
		append = "$(guest_append cooperative "" "$@")"
		disk { file = "/share/g1.img"  format = "raw" }
		extra_args = "-no-reboot"
	}
	EOC
}
conf acpid_delay=25 | ct sh -c 'cat >/etc/vmservice.conf'
ct systemctl reload vmservice.service >"$TMP/reload.log" 2>&1
check_eq "systemctl reload starts the new autostart VM" "$?" 0
if sysd_ready 1; then
	ok "the guest boots (accel tcg) under the unit"
else
	notok "the guest boots (accel tcg) under the unit"
	sed 's/^/#   /' "$TMP/reload.log"
	ct journalctl -q -o cat -u vmservice.service | tail -n 15 | sed 's/^/#   /'
	done_testing
	exit 1
fi
t_ready=$(date +%s)
status=$(ct vmctl status g1 2>&1)
check_match "vmctl status: g1 running" "$status" 'g1 +running'
qpid() { ct cat /run/vmservice/g1.pid 2>/dev/null | tr -dc 0-9; }
mainpid() { ct systemctl show -p MainPID --value vmservice.service; }
q0=$(qpid) d0=$(mainpid)
check "the QEMU pid is known ($q0), the daemon's ($d0)" test -n "$q0" -a "$d0" != 0

# ---- reinstall, upgrade: the daemon restarts, the QEMU does not ----
upgrade() {	# upgrade WHAT CMD...: run, then the daemon is new and the QEMU the same
	local what=$1 t0 rc d1
	shift
	t0=$(date +%s.%N)
	ct "$@" >"$TMP/up.log" 2>&1
	rc=$?
	check_eq "$what: exit 0 ($(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s)" "$rc" 0
	[ $rc -eq 0 ] || tail -n 15 "$TMP/up.log" | sed 's/^/#   /'
	d1=$(mainpid)
	check "$what: a new daemon (pid $d0 -> $d1)" test "$d1" != "$d0" -a "$d1" != 0
	check_eq "$what: the unit is running" "$(ct systemctl is-active vmservice.service)" active
	check_eq "$what: the QEMU keeps its pid" "$(qpid)" "$q0"
	check "$what: the QEMU is alive" ct kill -0 "$q0"
	check_match "$what: the new daemon adopted it" \
	    "$(ct journalctl -q -o cat _PID="$d1" 2>&1)" "found running QEMU pid $q0: adopting it"
	check_match "$what: vmctl status g1 running" "$(ct vmctl status g1 2>&1)" 'g1 +running'
	d0=$d1
}
upgrade "apt-get install --reinstall" apt-get install -y -q --reinstall "/share/${deb##*/}"
upgrade "dpkg -i of version $version+sysd1" dpkg -i /share/vmservice-up.deb
check_eq "the guest did not boot again" "$(guest_disk_boots "$TMP/share/g1.img")" 1
check_eq "the installed version is the upgrade" \
    "$(ct dpkg-query -W -f='${Version}' vmservice)" "$version+sysd1"

# ---- stop: longer than TimeoutStopSec, not killed ----
ct mkdir -p /etc/systemd/system/vmservice.service.d
printf '[Service]\nTimeoutStopSec=4\n' |
    ct sh -c 'cat >/etc/systemd/system/vmservice.service.d/test.conf'
ct systemctl daemon-reload
left=$(( 25 - ($(date +%s) - t_ready) ))
diag "the guest's power button works in about ${left} s"
t0=$(date +%s.%N)
ct systemctl stop vmservice.service >"$TMP/stop.log" 2>&1
rc=$?
secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
check_eq "systemctl stop: exit 0" "$rc" 0
check "the stop took longer than TimeoutStopSec=4 (${secs} s)" \
    awk -v s="$secs" 'BEGIN { exit !(s > 5) }'
echo "# RESULT deb-stop ${secs}s"
check_eq "the unit's result: success" "$(ct systemctl show -p Result --value vmservice.service)" success
check "the QEMU is gone" not ct kill -0 "$q0"
check_eq "the guest shut down cleanly (its disk record)" "$(guest_disk_clean "$TMP/share/g1.img")" 1
journal=$(ct journalctl -q -o cat -u vmservice.service 2>&1)
check "systemd killed nothing (no 'timed out', 'Killing')" \
    sh -c "! printf '%s' \"\$1\" | grep -Eq 'timed out|Killing process'" sh "$journal"
check_match "stop reason host-powerdown" "$(ct cat /var/lib/vmservice/g1.json)" '"host-powerdown"'

# ---- remove and purge ----
ct rm -f /etc/systemd/system/vmservice.service.d/test.conf
ct systemctl daemon-reload
conf | ct sh -c 'cat >/etc/vmservice.conf'
ct sh -c 'echo not-an-image >/var/lib/vmservice/keep.qcow2'
ct systemctl start vmservice.service
check "started again, the guest boots" sysd_ready 2
q0=$(qpid)
ct apt-get remove -y -q vmservice >"$TMP/remove.log" 2>&1
check_eq "apt-get remove: exit 0" "$?" 0
check "remove: the QEMU is gone" not ct kill -0 "$q0"
check_eq "remove: the guest shut down cleanly" "$(guest_disk_clean "$TMP/share/g1.img")" 1
check "remove: the binaries are gone" not ct test -e /usr/sbin/vmserviced
check "remove: /etc/vmservice.conf is kept" ct test -e /etc/vmservice.conf
check "remove: the state is kept" ct test -e /var/lib/vmservice/g1.json
ct apt-get purge -y -q vmservice >"$TMP/purge.log" 2>&1
check_eq "apt-get purge: exit 0" "$?" 0
check "purge: /etc/vmservice.conf is gone" not ct test -e /etc/vmservice.conf
check "purge: the state is gone" not ct test -e /var/lib/vmservice/g1.json
check "purge: the disk image in /var/lib/vmservice is kept" ct test -e /var/lib/vmservice/keep.qcow2
check "purge: /var/log/vmservice is gone" not ct test -e /var/log/vmservice
check "purge: nothing left in /run/vmservice" \
    not ct sh -c 'ls -A /run/vmservice 2>/dev/null | grep -q .'
diag "took $(( $(date +%s) - t_start )) s"
done_testing
