#!/bin/bash
# vmctl import-rc: rc-script configurations (/etc/conf.d/qemu.conf) of our
# own, odd quoting included, converted; every import must pass
# `vmctl check-config`, and give the QEMU the rc-script would have run on
# the points that matter.
#
# What the rc-script's QEMU got is taken from bash itself (the test sources
# the file; vmctl never runs it): memory, CPUs, disk files, NIC MACs and
# models, serial/monitor telnet ports and the VNC display are read from
# those words and looked for in `vmctl show NAME --argv` and `vmctl show`.
# Two configurations are also run for real: the rc-script's command line
# and the import's argv each in a paused QEMU, their disks (query-block)
# and NICs (`info network`) compared.
source "$VMS_TOP/tests/lib/tap.sh"
source "$VMS_TOP/tests/lib/qmp.sh"
VMCTL=$VMS_BIN/vmctl
scratch
cd "$TMP" || exit 1
mkdir run log state

base=$((20000 + RANDOM % 20000))
vnc=$((90 + RANDOM % 9))
qemu-img create -q -f qcow2 build.qcow2 16M
qemu-img create -q -f qcow2 alpha.qcow2 16M
qemu-img create -q -f qcow2 delta.qcow2 16M
for f in web.img data.img alpha-data.img beta.img "odd,name.img" install.iso; do
	truncate -s 1M "$f"
done

# rc FILE: a configuration from stdin, @TMP@, @VNC@ and @Pn@ (ports) filled in.
rc() {
	local e=(-e "s|@TMP@|$TMP|g" -e "s|@VNC@|$vnc|g") n
	for n in 0 1 2 3 4 5 6 7 8 9; do e+=(-e "s|@P$n@|$((base + n))|g"); done
	sed "${e[@]}" >"$1"
}

# The classic layout: arrays over lines, ${VAR}, continuations, old -net.
rc classic.conf <<'EOF'
#
# /etc/conf.d/qemu.conf
#
IMGDIR="@TMP@"

QEMU_MACHINES=(web   # the web server
	!build )       # built by hand

qemu_web_type="system-x86_64"
qemu_web="-enable-kvm -m 512 -smp 2 \
  -hda ${IMGDIR}/web.img -hdb $IMGDIR/data.img -cdrom ${IMGDIR}/install.iso -boot c \
  -net nic,vlan=0,macaddr=52:54:00:00:0a:01,model=virtio \
  -net tap,vlan=0,ifname=tapweb,script=no,downscript=no \
  -serial telnet:localhost:@P1@,server,nowait -monitor telnet:localhost:@P2@,server,nowait \
  -vnc :7 -k de -usbdevice tablet -vga cirrus -balloon virtio"
qemu_web_haltcmd="echo 'system_powerdown' | nc localhost @P2@"
qemu_web_haltcmd_wait="45"

qemu_build='-m 1G -smp cpus=4,sockets=1,cores=2,threads=2'" -drive file=$IMGDIR/build.qcow2,if=virtio,format=qcow2,cache=none"
qemu_build+=' -netdev user,id=u0,hostfwd=tcp::@P3@-:22 -device e1000,netdev=u0,mac=52:54:00:00:0b:01'
qemu_build+=" -serial telnet::@P4@,server,nowait"
qemu_build_type=system-x86_64
qemu_build_haltcmd=$'printf \'sendkey ctrl-alt-delete\\n\' | socat - TCP:127.0.0.1:@P5@'
EOF

# Runnable by QEMU 7.2 as it stands (no -enable-kvm, no vlan=): run for real below.
rc run.conf <<'EOF'
QEMU_MACHINES=(
  "alpha"	# a quoted element
  'beta'
)
IMGDIR=@TMP@
qemu_alpha="-m 96 -smp 2 -hda $IMGDIR/alpha.qcow2 \
   -drive file=${IMGDIR}/alpha-data.img,if=virtio,format=raw,cache=writethrough
   -net nic,macaddr=52:54:00:00:0c:01,model=rtl8139 -net user,hostfwd=tcp:127.0.0.1:@P6@-:22
   -netdev user,id=n1 -device virtio-net-pci,netdev=n1,mac=52:54:00:00:0c:02
   -serial telnet:127.0.0.1:@P7@,server,nowait -monitor telnet:127.0.0.1:@P8@,server,nowait
   -vnc :@VNC@ -vga std -rtc base=utc"
qemu_alpha_haltcmd='echo "system_powerdown" | nc 127.0.0.1 @P8@'
# No -net at all: QEMU's default NIC. A tab from $'...'.
qemu_beta=$'-m 64\t-hda '"@TMP@/beta.img -vga none"
EOF

# QEMU 2.12's -nic, a serial port on a -chardev, a drive with its -device.
# A file of its own: beta's NIC has QEMU's first default MAC already.
rc run2.conf <<'EOF'
IMGDIR=@TMP@
QEMU_MACHINES=(delta)
qemu_delta="-m 80 -nic user,model=virtio-net-pci,mac=52:54:00:00:0d:01 -nic user,model=rtl8139
  -chardev socket,id=s0,host=127.0.0.1,port=@P9@,server=on,wait=off,telnet=on -serial chardev:s0
  -drive file=$IMGDIR/delta.qcow2,if=none,id=d0,format=qcow2 -device virtio-blk-pci,drive=d0"
EOF

# What vmservice owns, what nobody knows, and quoting at its oddest.
rc odd.conf <<'EOF'
export QEMU_MACHINES=("gamma")
D=@TMP@
qemu_gamma="-name gamma -pidfile /tmp/x.pid -daemonize -nographic -m 2G \
-monitor stdio -qmp unix:/tmp/q,server,nowait -no-reboot -global kvm-pit.lost_tick_policy=discard \
-drive file=$D/odd,,name.img,if=ide,format=raw -M pc -cpu qemu64,+ssse3 -vnc :8,password"
qemu_gamma_haltcmd="ssh root@gamma poweroff"
qemu_gamma_haltcmd_wait=10
EOF

# The words bash itself gives the rc-script for VM $2 of file $1.
rc_words() {
	bash -c 'set -f; source "$1" >/dev/null 2>&1; eval "v=\$qemu_$2"; printf "%s\n" $v' _ "$1" "$2"
}

# compare FILE VM CONF: the rc-script's words against the import.
compare() {
	local file=$1 vm=$2 conf=$3 w prev="" argv show mem files=() macs=() models=()
	local serial=none monitor=none vncd=none cpus="" f m
	local -A chr=()
	mapfile -t w < <(rc_words "$file" "$vm")
	for x in "${w[@]}"; do
		case "$prev" in
		-m) mem=$x ;;
		-smp) cpus=${x#cpus=}; cpus=${cpus%%,*} ;;
		-hd[a-d]|-cdrom) files+=("$x") ;;
		-drive) f=${x#*file=}; f=${f//,,/$'\1'}; f=${f%%,*}; files+=("${f//$'\1'/,}") ;;
		-net) case "$x" in nic*)
			[[ $x == *macaddr=* ]] && { m=${x#*macaddr=}; macs+=("${m%%,*}"); }
			[[ $x == *model=* ]] && { m=${x#*model=}; m=${m%%,*}
				[ "$m" = virtio ] && m=virtio-net-pci; models+=("$m"); } ;; esac ;;
		-device) case "$x" in *netdev=*)
			models+=("${x%%,*}")
			[[ $x == *mac=* ]] && { m=${x#*mac=}; macs+=("${m%%,*}"); } ;; esac ;;
		-nic) [[ $x =~ model=([^,]*) ]] && models+=("${BASH_REMATCH[1]}")
			[[ $x =~ mac=([^,]*) ]] && macs+=("${BASH_REMATCH[1]}") ;;
		-chardev) [[ $x =~ id=([^,]*).*port=([0-9]+) ]] && chr[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]} ;;
		-serial) [[ $x =~ telnet:[^:]*:([0-9]+) ]] && serial=${BASH_REMATCH[1]}
			[[ $x =~ ^chardev:(.*) ]] && serial=${chr[${BASH_REMATCH[1]}]} ;;
		-monitor) [[ $x =~ telnet:[^:]*:([0-9]+) ]] && monitor=${BASH_REMATCH[1]} ;;
		-vnc) [[ $x =~ ^[^:]*:([0-9]+) ]] && vncd=${BASH_REMATCH[1]} ;;
		esac
		prev=$x
	done
	argv=$("$VMCTL" show "$vm" --argv -c "$conf" 2>&1)
	show=$("$VMCTL" show "$vm" -c "$conf" 2>&1)
	case "$mem" in
	*G) mem=$((${mem%G} * 1024))M ;;
	*M) ;;
	*) mem=${mem}M ;;
	esac
	check_match "$vm: memory -m $mem" "$(tr '\n' ' ' <<<"$argv")" " -m $mem "
	[ -n "$cpus" ] && check_match "$vm: $cpus CPUs" "$argv" "^cpus=$cpus(,|$)"
	for f in "${files[@]}"; do
		check "$vm: disk $f" grep -qxF -- "file=$f" <(sed -n 's/,,/\x01/g; s/^\(file=[^,]*\),.*/\1/p' <<<"$argv" | tr '\001' ,)
	done
	check_eq "$vm: as many disks" "$(grep -c '^file=' <<<"$argv")" "${#files[@]}"
	for m in "${macs[@]}"; do
		check_match "$vm: NIC MAC $m" "$argv" ",mac=$m(,|$)"
	done
	for m in "${models[@]}"; do
		check_match "$vm: NIC model $m" "$argv" "^$m,netdev=net[0-9]+,"
	done
	check_match "$vm: serial telnet port $serial" "$show" "^serial: $serial$"
	check_match "$vm: monitor telnet port $monitor" "$show" "^monitor: $monitor$"
	check_match "$vm: VNC display $vncd" "$show" "^vnc: $vncd$"
}

# import NAME: NAME.conf -> NAME.vms (with run_dir etc. for running QEMU).
import() {
	local rc
	{ printf 'run_dir = "run"\nlog_dir = "log"\nstate_dir = "state"\n'
	  "$VMCTL" import-rc "$1.conf" 2>"$1.err"; rc=$?; } >"$1.vms"
	check_eq "import-rc $1.conf exits 0" "$rc" 0
	out=$("$VMCTL" check-config -c "$1.vms" 2>&1); rc=$?
	check_match "import of $1.conf passes check-config" "$rc $out" '^0 ok: [0-9]+ VMs?$'
	[ "$rc" = 0 ] || sed 's/^/# /' "$1.vms"
}

import classic
compare classic.conf web classic.vms
compare classic.conf build classic.vms
s=$("$VMCTL" show web -c classic.vms)
check_match "web: halt = acpi from the system_powerdown haltcmd" "$s" '^halt: acpi$'
check_match "web: halt_timeout from haltcmd_wait" "$s" '^halt_timeout: 45$'
check_match "web: autostart" "$s" '^autostart: yes$'
check_match "web: tap with its ifname" "$s" '^nic0.ifname: tapweb$'
check_match "web: accel kvm from -enable-kvm" "$s" '^accel: kvm$'
a=$("$VMCTL" show web --argv -c classic.vms)
check_match "web: -hda on IDE" "$a" '^ide-hd,bus=ide.0,unit=0,drive=disk0'
check_match "web: boot order c, keymap, vga, tablet, balloon" \
	"$(tr '\n' ' ' <<<"$a")" '-boot order=c .*-vga cirrus .*-k de .*usb-tablet.*virtio-balloon-pci'
s=$("$VMCTL" show build -c classic.vms)
check_match "!build: autostart no" "$s" '^autostart: no$'
check_match "build: halt = command from the haltcmd's monitor command" \
	"$(tr '\n' ' ' <<<"$s")" 'halt: command halt_command: sendkey ctrl-alt-delete '
check_match "build: topology" "$("$VMCTL" show build --argv -c classic.vms)" \
	'^cpus=4,sockets=1,cores=2,threads=2$'
check_eq "classic: no warnings" "$(cat classic.err)" ""

import odd
compare odd.conf gamma odd.vms
e=$(cat odd.err)
for opt in "3 -name gamma" "3 -pidfile /tmp/x.pid" "3 -daemonize" "3 -nographic" \
    "4 -monitor stdio" "4 -qmp unix:/tmp/q,server,nowait"; do
	check_match "odd: ${opt#* } dropped with a warning at its line" "$e" \
	    "^odd.conf:${opt%% *}: warning: vm gamma: ${opt#* }: dropped"
done
check_match "odd: -no-reboot warned at line 4" "$e" '^odd.conf:4: warning: vm gamma: -no-reboot: .*extra_args'
check_match "odd: -cpu with flags warned at line 5" "$e" '^odd.conf:5: warning: vm gamma: -cpu qemu64,\+ssse3: .*extra_args'
check_match "odd: the shell haltcmd warned" "$e" '^odd.conf:6: warning: vm gamma: qemu_gamma_haltcmd is not'
a=$("$VMCTL" show gamma --argv -c odd.vms)
check_match "odd: extra_args in QEMU's argv, words intact" "$(tr '\n' ' ' <<<"$a")" \
	'-no-reboot -global kvm-pit.lost_tick_policy=discard -cpu qemu64,\+ssse3 $'
check_match "odd: a comment names each extra_args option" "$(cat odd.vms)" \
	'# -global kvm-pit.lost_tick_policy=discard: not an option import-rc knows: kept in extra_args \(odd.conf:4\)'
s=$("$VMCTL" show gamma -c odd.vms)
check_match "odd: halt acpi, timeout 10" "$(tr '\n' ' ' <<<"$s")" 'halt: acpi halt_command: - halt_timeout: 10 '

import run
compare run.conf alpha run.vms
compare run.conf beta run.vms
import run2
compare run2.conf delta run2.vms
check_match "delta: the -nic without mac= gets QEMU's first default MAC" \
	"$("$VMCTL" show delta --argv -c run2.vms)" '^rtl8139,netdev=net1,mac=52:54:00:12:34:56,'
check_match "beta: QEMU's default NIC and MAC" "$("$VMCTL" show beta --argv -c run.vms)" \
	'^e1000,netdev=net0,mac=52:54:00:12:34:56,id=net0$'
check_match "beta: no haltcmd: halt = quit (the rc-script's SIGTERM)" \
	"$("$VMCTL" show beta -c run.vms)" '^halt: quit$'

# --- the same QEMU, for real -----------------------------------------------
# info: QMP query-block's files and `info network`'s NICs of a paused QEMU.
qemu_facts() {
	local sock=$1 out
	out=$(guest_qmp "$sock" '{"execute":"query-block","id":"b"}' \
	    '{"execute":"human-monitor-command","arguments":{"command-line":"info network"},"id":"n"}' \
	    '{"execute":"quit","id":"q"}') || return 1
	grep '"id": "b"' <<<"$out" | grep -o '"file": "[^"]*"' | sort
	grep '"id": "n"' <<<"$out" | grep -o 'type=nic,model=[^,]*,macaddr=[0-9a-f:]*' | sort
}

run_qemu() {	# SOCKET ARGV...: a paused QEMU with a QMP socket; its facts
	local sock=$1 pid facts; shift
	"$@" -S -display none >>qemu.log 2>&1 &
	pid=$!
	if ! qmp_wait_socket "$sock" 10; then
		kill -9 $pid 2>/dev/null
		return 1
	fi
	facts=$(qemu_facts "$sock")
	for _ in $(seq 50); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
	rm -f "$sock"
	printf '%s\n' "$facts"
}

if ! command -v socat >/dev/null; then
	skip "rc-script QEMU against the import's" "socat missing"
else
	for vm in alpha beta delta; do
		f=run; [ $vm = delta ] && f=run2
		mapfile -t w < <(rc_words $f.conf $vm)
		# The rc-script's line, with -daemonize -nographic traded for a QMP socket.
		want=$(run_qemu "$TMP/rc.qmp" qemu-system-x86_64 -name $vm -pidfile "$TMP/rc.pid" \
		    -qmp "unix:$TMP/rc.qmp,server=on,wait=off" "${w[@]}")
		mapfile -t args < <("$VMCTL" show $vm --argv -c $f.vms)
		got=$(run_qemu "$TMP/run/$vm.qmp" "${args[@]}")
		if [ -z "$want" ] || [ -z "$got" ]; then
			notok "$vm: both QEMUs started"; sed 's/^/# /' qemu.log
			continue
		fi
		check_eq "$vm: same disk files and NICs (model, MAC) in QEMU" "$got" "$want"
		diag "$vm: $(tr '\n' ' ' <<<"$want")"
	done
fi

# --- errors and stdin ---------------------------------------------------------
printf 'QEMU_MACHINES=(a)\nqemu_a="-m 64\n\nqemu_a_type=x\n' >bad.conf
out=$("$VMCTL" import-rc bad.conf 2>err); rc=$?
check_eq "an unterminated quote: exit 1" "$rc" 1
check_eq "... and nothing on stdout" "$out" ""
check_match "... the error names FILE:LINE of the quote" "$(cat err)" \
	'^bad.conf:2: error: unterminated " quote \(opened here\)'
printf 'QEMU_MACHINES=(a)\nqemu_a="-hda $(ls /)"\n' >cmd.conf
"$VMCTL" import-rc cmd.conf >/dev/null 2>err; rc=$?
check_match "a command substitution is refused, never run" "$rc $(cat err)" \
	'^1 cmd.conf:2: error: \$\(\.\.\.\) would run a command'
out=$("$VMCTL" import-rc - <run.conf 2>err); rc=$?
check_match "stdin with -" "$rc $out" 'vm alpha \{'
check_match "stdin named in messages" "$(cat err)" '^\(stdin\):[0-9]+: warning'
"$VMCTL" import-rc "$TMP/nothere.conf" >/dev/null 2>err; rc=$?
check_match "a missing file: exit 1, named" "$rc $(cat err)" "^1 vmctl import-rc: $TMP/nothere.conf: No such file"
out=$("$VMCTL" import-rc --help); rc=$?
check_match "import-rc --help" "$rc $out" '^0 usage: vmctl import-rc FILE\|-$'
"$VMCTL" import-rc >/dev/null 2>&1
check_eq "import-rc without a file: usage, exit 2" "$?" 2
out=$("$VMCTL" --help)
check_match "vmctl --help lists import-rc" "$out" '^  import-rc FILE\|-$'
done_testing
