#!/bin/bash
# cloud-init NoCloud seeds (cloud_init section, issue 18), with the real
# guest under TCG:
# - at start the daemon writes run_dir/NAME.cidata.img with xorriso: label
#   cidata (blkid), user-data, meta-data and network-config byte for byte
#   (read back with xorriso's osirrox), 0600; QEMU attaches it read-only;
# - the guest sees the disk: busybox findfs finds it by its label, and its bytes
#   hold the user-data's marker;
# - a changed user_data file is in the seed at the next start; unchanged
#   files are not rebuilt;
# - without meta_data the seed gets "instance-id: NAME";
# - a user_data that is a FIFO fails the start, with the reason, and
#   never holds the daemon.
source "$VMS_TOP/tests/lib/tap.sh"
source "$VMS_TOP/tests/lib/guest.sh"
source "$VMS_TOP/tests/daemon/lib.sh"
need_daemon
if [ ! -x /usr/bin/xorriso ]; then
	skip "cloud_init" "no /usr/bin/xorriso (Debian package xorriso; make deps)"
	exit 0
fi
scratch_daemon
need_guest

P1=$((24000 + RANDOM % 10000))
# The default runas: a uid of the VM's own, who must not read the user's
# files (root's, 0600) but gets its seed.
chmod 0711 "$TMP"	# mktemp -d is 0700: the VM's user must reach run_dir
mkdir -m 0755 "$TMP/g"
install -m 0644 "$GUEST_KERNEL" "$TMP/g/kernel"
install -m 0644 "$GUEST_INITRD" "$TMP/g/initrd"
CONF_RUNAS= conf_head 20 3
mark=vms-ci-$RANDOM$RANDOM
printf '#cloud-config\nhostname: ci-host\n# %s\npassword: s3cret\n' "$mark" >"$TMP/user-data.yaml"
printf 'instance-id: iid-ci-1\nlocal-hostname: ci-host\n' >"$TMP/meta.yaml"
printf 'version: 2\nethernets:\n  eth0:\n    dhcp4: true\n' >"$TMP/net.yaml"
chmod 0600 "$TMP/user-data.yaml"
mkfifo "$TMP/fifo"
cat >>"$TMP/vms.conf" <<EOF
vm ci {
	machine = "pc"
	memory = 128M
	kernel = "$TMP/g/kernel"
	initrd = "$TMP/g/initrd"
	append = "$(guest_append cooperative)"
	extra_args = "-no-reboot"
	autostart = no
	serial = $P1
	halt = quit
	cloud_init {
		user_data = "$TMP/user-data.yaml"
		meta_data = "$TMP/meta.yaml"
		network_config = "$TMP/net.yaml"
	}
}
vm nometa {
	machine = "pc"
	memory = 32M
	autostart = no
	halt = quit
	cloud_init { user_data = "$TMP/user-data.yaml" }
}
vm bad {
	machine = "pc"
	memory = 32M
	autostart = no
	halt = quit
	cloud_init { user_data = "$TMP/fifo" }
}
EOF
check "config valid" vmctl check-config
if [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then
	# /usr/bin/xorriso hidden (no x bit on /dev/null) in a mount namespace of its own.
	out=$(unshare -m sh -c 'mount --bind /dev/null /usr/bin/xorriso && exec "$0" -c "$1" check-config' \
	    "$VMS_BIN/vmctl" "$TMP/vms.conf" 2>&1)
	check_match "check-config without xorriso: a warning naming its package" "$out" \
	    "warning: vm [a-z]*: cloud_init needs /usr/bin/xorriso \\(Debian package xorriso\\)"
else
	skip "check-config without xorriso" "needs root and unshare -m"
fi
argv=$(vmctl show ci --argv)
check_match "argv: the seed, raw and read-only" "$argv" \
    "^format=raw,if=none,id=cidata,readonly=on,file=$TMP/run/ci.cidata.img\$"
check_match "argv: on a virtio disk" "$argv" '^virtio-blk-pci,drive=cidata,id=cidata$'

start_daemon
gsh() {	# CMD: run it in the guest, print its output line (a tag of its own: the console replays earlier ones)
	local t=o$RANDOM$RANDOM
	guest_console "TCP:127.0.0.1:$P1" "echo $t-\$($1)" "^$t-" 10 | sed -n "s/^$t-//p" | tail -n 1
}
seed_files() {	# IMG DIR: extract the seed's files into DIR
	rm -rf "$2" && mkdir -p "$2" &&
	    xorriso -osirrox on -indev "$1" -extract / "$2" >/dev/null 2>&1
}
writes() { grep -c "$1: cloud-init seed written" "$TMP/daemon.log"; }

t0=$EPOCHREALTIME
vmctl start ci >/dev/null 2>&1
check "ci running" wait_state ci running 20
diag "start with a seed to running: $(sub "$EPOCHREALTIME" "$t0") s"
img=$TMP/run/ci.cidata.img
vu=$(stat -c %u "/proc/$(field ci pid)")
check "QEMU runs as a uid of its own, not root ($vu)" test "${vu:-0}" -gt 0
check_eq "the seed: 0600, the VM's user's" "$(stat -c '%a %u' "$img" 2>&1)" "600 $vu"
check_match "its label is cidata (blkid)" "$(blkid -p "$img" 2>&1)" 'LABEL="cidata".*TYPE="iso9660"'
seed_files "$img" "$TMP/x"
check_eq "its files: exactly the three" "$(cd "$TMP/x" && ls | tr '\n' ' ')" "meta-data network-config user-data "
check "user-data byte for byte" cmp "$TMP/user-data.yaml" "$TMP/x/user-data"
check "meta-data byte for byte" cmp "$TMP/meta.yaml" "$TMP/x/meta-data"
check "network-config byte for byte" cmp "$TMP/net.yaml" "$TMP/x/network-config"
check "no copy left in run_dir" test ! -e "$TMP/run/ci.cidata.d" -a ! -e "$TMP/run/ci.cidata.tmp"

guest_wait_ready "$TMP/log/ci.console.log" 60 >/dev/null
check_eq "the guest finds the seed by its label: findfs LABEL=cidata" \
    "$(gsh 'findfs LABEL=cidata')" /dev/vda
check_eq "... and the user-data's marker on it" "$(gsh "grep -c $mark /dev/vda")" 1

vmctl stop ci >/dev/null 2>&1; wait_state ci stopped 20
vmctl start ci >/dev/null 2>&1; wait_state ci running 20
check_eq "unchanged files: the seed is not rebuilt" "$(writes ci)" 1
vmctl stop ci >/dev/null 2>&1; wait_state ci stopped 20
printf 'instance-id: iid-ci-2\nlocal-hostname: ci-other\n' >"$TMP/meta.yaml"
vmctl start ci >/dev/null 2>&1
check "ci running again" wait_state ci running 20
check_eq "changed meta_data: the seed is rebuilt" "$(writes ci)" 2
seed_files "$img" "$TMP/x"
check "... with the new meta-data" cmp "$TMP/meta.yaml" "$TMP/x/meta-data"
vmctl stop ci >/dev/null 2>&1; wait_state ci stopped 20

vmctl start nometa >/dev/null 2>&1
check "nometa running" wait_state nometa running 20
seed_files "$TMP/run/nometa.cidata.img" "$TMP/y"
check_eq "no meta_data: instance-id is the VM's name" "$(cat "$TMP/y/meta-data" 2>&1)" "instance-id: nometa"
vmctl stop nometa >/dev/null 2>&1

t0=$EPOCHREALTIME
out=$(vmctl start bad 2>&1)
check "a FIFO as user_data: the start fails" wait_state bad failed 10
check_match "... saying why" "$(field bad stop_detail)" "cloud_init user_data: $TMP/fifo: not a regular file"
check "... at once (the daemon never waits on it)" lt "$(sub "$EPOCHREALTIME" "$t0")" 2
stop_daemon
check_eq "daemon exits 0" "$DRC" 0
done_testing
