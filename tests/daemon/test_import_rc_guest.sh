#!/bin/bash
# vmctl import-rc end to end: an rc-script configuration booting the real
# test guest (kernel, initramfs, telnet serial and monitor ports, a haltcmd
# sending system_powerdown) is imported and run by the daemon: the guest's
# console answers on the rc-script's serial port, HMP on its monitor port,
# the !disabled VM stays down, and `vmctl stop` powers the guest off
# through ACPI (what the haltcmd did), not by a signal.
source "$VMS_TOP/tests/lib/tap.sh"
source "$VMS_TOP/tests/lib/guest.sh"
source "$VMS_TOP/tests/daemon/lib.sh"
need_daemon
scratch_daemon
need_guest
if ! command -v socat >/dev/null; then
	skip "import-rc with the guest" "socat missing"
	done_testing
	exit
fi

ser=$((20000 + RANDOM % 20000))
mon=$((ser + 1))
# One word of kernel command line: the rc-script split qemu_NAME at blanks,
# so its -append could never carry more (the guest's flavour defaults to
# cooperative).
cat >"$TMP/qemu.conf" <<EOF
# /etc/conf.d/qemu.conf
QEMU_MACHINES=(guest	# the one we boot
	!spare)
qemu_guest_type="system-x86_64"
qemu_guest="-M pc -m 128 -kernel $GUEST_KERNEL -initrd $GUEST_INITRD -append console=ttyS0 \\
  -net none -no-reboot \\
  -serial telnet:127.0.0.1:$ser,server,nowait -monitor telnet:127.0.0.1:$mon,server,nowait"
qemu_guest_haltcmd="echo 'system_powerdown' | nc 127.0.0.1 $mon"
qemu_guest_haltcmd_wait=60
qemu_spare='-M none -m 16 -net none'
EOF
conf_head 5 2
"$VMS_BIN/vmctl" import-rc "$TMP/qemu.conf" >>"$TMP/vms.conf" 2>"$TMP/import.err"
check_eq "import-rc exits 0" "$?" 0
check "the import passes check-config" vmctl check-config
check_match "halt = acpi, halt_timeout 60 (overriding the global 5)" \
	"$(vmctl show guest | tr '\n' ' ')" 'halt: acpi halt_command: - halt_timeout: 60 '

check "daemon starts" start_daemon
check "guest autostarts and runs" wait_state guest running 30
check_eq "!spare stays stopped" "$(field spare state)" stopped

# The guest's ready line over the rc-script's serial telnet port (the
# scrollback comes first, then what it prints).
got=""
for _ in $(seq 120); do
	got=$(timeout 3 socat -t 1 - TCP:127.0.0.1:$ser </dev/null 2>/dev/null | tr -d '\r')
	grep -q 'vmservice-guest: ready' <<<"$got" && break
	sleep 1
done
check_match "the guest's console on the rc-script's serial port $ser" "$got" 'vmservice-guest: ready'
out=$( { sleep 0.3; printf 'info name\r'; sleep 0.7; } | timeout 5 socat -t 0.5 - TCP:127.0.0.1:$mon |
    tr -d '\r')
check_match "HMP on the rc-script's monitor port $mon" "$out" '^guest$'

t0=$EPOCHREALTIME
vmctl stop guest >"$TMP/stop.out" 2>&1
check_eq "vmctl stop guest exits 0" "$?" 0
t1=$EPOCHREALTIME
check_eq "guest stopped" "$(field guest state)" stopped
reason=$(field guest last_stop)
[ -n "$reason" ] || reason=$(field guest stop_reason)
check_match "stopped as asked, not by a signal ($reason)" "$reason" \
	'^(host-powerdown|guest-poweroff)$'
check "within the 60 s the haltcmd_wait gave ($(sub "$t1" "$t0") s)" lt "$(sub "$t1" "$t0")" 60
check_match "stop detail names the acpi step" "$(field guest stop_detail)" '^halt: acpi'
check_match "the guest saw the power button (its console log)" \
	"$(cat "$TMP"/log/guest.console.log* 2>/dev/null | tr -d '\r')" 'vmservice-guest: powerbutton, clean shutdown'
stop_daemon
check_eq "daemon exits 0" "$DRC" 0
done_testing
