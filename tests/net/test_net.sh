#!/bin/bash
# Networking end to end (issue 7), with the real daemon, real QEMU and the test
# guest, all inside a network namespace this test makes (the host's interfaces
# are never touched): two guests on a bridge ping each other (one on
# net = bridge, one on net = tap with an ifup script that enslaves it), a
# user-net guest's hostfwd reaches nc -l in the guest, QEMU holds no
# CAP_NET_ADMIN, missing bridge / tap name in use / no CAP_NET_ADMIN fail only
# their VM, and no tap is left after stop, nor after a daemon SIGKILL + restart.
source "$VMS_TOP/tests/lib/tap.sh"
source "$VMS_TOP/tests/daemon/lib.sh"
source "$VMS_TOP/tests/lib/guest.sh"
need_daemon
t0=$(date +%s.%N)

if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null; then
	skip "networking" "needs root and iproute2 (network namespaces)"
	done_testing
	exit 0
fi
NS=vmsnet$$
if ! ip netns add "$NS" 2>/dev/null; then
	skip "networking" "cannot create a network namespace"
	done_testing
	exit 0
fi
if ! guest_build >/dev/null 2>&1; then
	ip netns del "$NS"
	notok "test guest builds"
	exit 1
fi
scratch_daemon
cleanup_net() {
	cleanup_daemon
	[ -n "${D2PID:-}" ] && kill -KILL "$D2PID" 2>/dev/null
	[ -n "${HOLDER:-}" ] && kill -KILL "$HOLDER" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
}
trap cleanup_net EXIT
nsx() { ip netns exec "$NS" "$@"; }

nsx ip link set lo up
nsx ip link add br0 type bridge
nsx ip link set br0 up
nsx ip link add busy0 type dummy 2>/dev/null || nsx ip link add busy0 type bridge

cat >"$TMP/ifup" <<EOF
#!/bin/sh
echo "up \$1 \$#" >>"$TMP/scripts.log"
ip link set "\$1" master br0 && ip link set "\$1" up
EOF
cat >"$TMP/ifdown" <<EOF
#!/bin/sh
echo "down \$1 \$# \$(ip -o link show "\$1" >/dev/null 2>&1 && echo exists)" >>"$TMP/scripts.log"
EOF
cat >"$TMP/slowup" <<EOF
#!/bin/sh
sleep 2
echo "slowup \$1 done" >>"$TMP/scripts.log"
EOF
chmod +x "$TMP/ifup" "$TMP/ifdown" "$TMP/slowup"

# NIC models are checked against what the real QEMU lists (-device help).
cat >"$TMP/models.conf" <<EOF
emulator_dir = "/usr/bin"
vm m {
	nic { model = "ne2k_pci" }
	nic { model = "rtl8319" }
}
EOF
out=$("$VMS_BIN/vmctl" check-config -c "$TMP/models.conf" 2>&1)
check_match "real QEMU's model list: a typo is refused" "$out" \
    ":4: error: vm m: NIC model 'rtl8319' is not one /usr/bin/qemu-system-x86_64 has \(.*rtl8139"
check_eq "  ... a listed model (ne2k_pci) passes: one error only" \
    "$(grep -c ': error: ' <<<"$out")" 1

conf_head 2 2
guest_vm() {	# NAME IP NIC-LINES...
	local name=$1 ip=$2; shift 2
	cat >>"$TMP/vms.conf" <<-EOC
	vm $name {
		memory = 128M
		kernel = "$GUEST_KERNEL"
		initrd = "$GUEST_INITRD"
		append = "$(guest_append stubborn "$ip")"
		halt = quit
		nic { $* }
	}
	EOC
}
small_vm() {	# NAME NIC-LINES [LINE]: a pc with a NIC and no guest (QMP ready at once)
	printf 'vm %s {\n\tmachine = "pc"\n\tmemory = 32M\n\thalt = quit\n\tnic { %s }\n\t%s\n}\n' \
	    "$1" "$2" "${3:-}" >>"$TMP/vms.conf"
}
guest_vm a 10.9.0.1/24 'net = bridge  bridge = "br0"'
guest_vm b 10.9.0.2/24 "net = tap  script = \"$TMP/ifup\"  downscript = \"$TMP/ifdown\""
guest_vm u 10.0.2.15/24 'net = user  hostfwd = { "tcp:127.0.0.1:5555-:7777" }'
small_vm nobr 'net = bridge  bridge = "nosuchbr"'
small_vm busy 'net = bridge  bridge = "br0"  ifname = "busy0"'
small_vm loner 'net = user'
small_vm badup 'net = tap  script = "/bin/false"'
small_vm slow "net = tap  script = \"$TMP/slowup\"" 'autostart = no'
small_vm e1k 'net = bridge  bridge = "br0"  model = "e1000"' 'autostart = no'

# The daemon runs inside the namespace: taps and QEMU's user net live there.
DAEMON_PREFIX=(ip netns exec "$NS")
taps() { nsx ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | grep '^vms-' | sort | tr '\n' ' '; }

check "daemon starts in the namespace" start_daemon
for v in a b u loner; do check "$v running" wait_state "$v" running 20; done
check "vm with a missing bridge failed" wait_state nobr failed 5
check_match "  ... saying so" "$(field nobr stop_detail)" 'nic 0: bridge nosuchbr does not exist'
check "vm whose tap name is taken failed" wait_state busy failed 5
check_match "  ... saying so" "$(field busy stop_detail)" 'nic 0: tap name busy0 is in use'

check "vm whose ifup script fails failed" wait_state badup failed 5
check_match "  ... saying so" "$(field badup stop_detail)" \
    'nic 0: script .*false vms-badup-0 failed \(exit 1\)'
# A slow ifup script runs in QEMU's child: the daemon keeps answering.
vmctl start slow --no-wait >/dev/null
t1=$(date +%s%N); st=$(field slow state); t2=$(date +%s%N)
check_eq "while its ifup script runs, the VM is starting" "$st" starting
check "  ... and the daemon answers at once ($(( (t2 - t1) / 1000000 )) ms)" \
    test $(( (t2 - t1) / 1000000 )) -lt 1000
check "  ... then it runs" wait_state slow running 10
check_eq "  ... after the script" "$(grep -c 'slowup vms-slow-0 done' "$TMP/scripts.log")" 1
vmctl stop slow >/dev/null
vmctl start e1k >/dev/null
check "e1000 on a bridge (tap without vnet_hdr) runs" wait_state e1k running 10
check_eq "taps of a, b, e1k exist (derived names), none of the failed VMs'" "$(taps)" \
    "vms-a-0 vms-b-0 vms-e1k-0 "
check_match "e1k's tap has no vnet_hdr, a's has" \
    "$(nsx ip -d -o link show vms-e1k-0) / $(nsx ip -d -o link show vms-a-0)" \
    'tap pi off vnet_hdr off .* / .*tap pi off vnet_hdr on '
vmctl stop e1k >/dev/null
check_match "a's tap is on br0 (daemon attached it)" "$(nsx ip -o link show vms-a-0)" ',UP,.* master br0 '
check_match "b's tap is on br0 (ifup script attached it)" "$(nsx ip -o link show vms-b-0)" 'master br0'
check_eq "ifup got the interface name as its only argument" "$(grep "^up " "$TMP/scripts.log")" "up vms-b-0 1"

apid=$(field a pid)
check_match "QEMU got the tap as fd=N" "$(tr '\0' ' ' <"/proc/$apid/cmdline")" '-netdev tap,id=net0,fd=[0-9]+ '
check "QEMU holds /dev/net/tun open" bash -c "ls -l /proc/$apid/fd | grep -q /dev/net/tun"
capbit() {	# PID FIELD: 1 if CAP_NET_ADMIN (bit 12) is in that set
	local hex; hex=$(awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status")
	echo $(( (0x$hex >> 12) & 1 ))
}
for f in CapEff CapPrm CapBnd CapInh CapAmb; do
	check_eq "QEMU $f has no CAP_NET_ADMIN" "$(capbit "$apid" $f)" 0
done
check_eq "(the daemon has it)" "$(capbit "$DPID" CapEff)" 1

# Guests on the bridge reach each other.
check "a booted" guest_wait_ready "$TMP/log/a.console.log" 60
check "b booted" guest_wait_ready "$TMP/log/b.console.log" 60
out=$(guest_console "EXEC:$VMS_BIN/vmctl -c $TMP/vms.conf console a" 'ping -c 3 -W 5 10.9.0.2' \
    '[0-9]+ packets transmitted, [1-9][0-9]* packets received' 25)
check_match "a pings b across br0" "$out" '3 packets transmitted, 3 packets received'
rtt=$(grep -o 'round-trip.*' <<<"$out" | tr -d '\r')
echo "# a -> b: $rtt"
out=$(guest_console "EXEC:$VMS_BIN/vmctl -c $TMP/vms.conf console b" 'ping -c 2 -W 5 10.9.0.1' \
    '[0-9]+ packets transmitted, [1-9][0-9]* packets received' 20)
check_match "b pings a" "$out" '2 packets transmitted, 2 packets received'
echo "# b -> a: $(grep -o 'round-trip.*' <<<"$out" | tr -d '\r')"

# User networking: the forwarded host port reaches a listener in the guest.
check "u booted" guest_wait_ready "$TMP/log/u.console.log" 60
# shellcheck disable=SC2016 # expanded by the guest's shell
guest_console "EXEC:$VMS_BIN/vmctl -c $TMP/vms.conf console u" \
    '(echo from-guest-$((6*7)) | nc -l -p 7777; echo nc-done) &' 'guest#' 5 >/dev/null
got=""
for ((i = 0; i < 30; i++)); do
	got=$(nsx timeout 5 socat -T 3 -u TCP:127.0.0.1:5555 - 2>/dev/null | tr -d '\r')
	[ -n "$got" ] && break
	sleep 0.2
done
check_eq "hostfwd 127.0.0.1:5555 reaches nc -l in the guest" "$got" "from-guest-42"

# Stop: the tap goes, the downscript ran while it still existed. The
# downscript runs in the background (the daemon holds the tap until it ends).
vmctl stop b >/dev/null
for ((i = 0; i < 50; i++)); do
	[[ "$(tail -1 "$TMP/scripts.log")" == down* ]] && [ "$(taps)" = "vms-a-0 " ] && break
	sleep 0.1
done
check_eq "after stop b, only a's tap is left" "$(taps)" "vms-a-0 "
check_eq "downscript got the name, interface still there" "$(tail -1 "$TMP/scripts.log")" \
    "down vms-b-0 1 exists"

# Daemon SIGKILL: QEMU (and its tap) live on; a restarted daemon adopts a,
# deletes leftovers, and a's tap goes when a stops.
kill -KILL "$DPID"; wait "$DPID" 2>/dev/null
check "a's QEMU survives the daemon" kill -0 "$apid"
check_eq "a's tap survives with its QEMU" "$(taps)" "vms-a-0 "
nsx ip tuntap add vms-zz-0 mode tap		# a persistent orphan
nsx ip tuntap add vms-b-0 mode tap		# named for our stopped VM b
# A tap held by a process the daemon does not know: it must stay.
ip netns exec "$NS" qemu-system-x86_64 -machine none -S -display none -nodefaults \
    -netdev tap,id=n0,ifname=vms-other-0,script=no,downscript=no >"$TMP/holder.log" 2>&1 &
HOLDER=$!
for ((i = 0; i < 50; i++)); do nsx ip link show vms-other-0 >/dev/null 2>&1 && break; sleep 0.1; done
check "daemon restarts" start_daemon
check "a adopted, running" wait_state a running 10
check_eq "adopted: same QEMU" "$(field a pid)" "$apid"
check_eq "adopted a (tap fd in its command line) not restart-pending" \
    "$(field a restart_pending)" false
# b was stopped by `vmctl stop` before the crash: autostart or not, the new
# daemon keeps it stopped (run_dir/b.intent); started again by hand.
check_eq "b, stopped when the daemon died, stays stopped" "$(field b state)" stopped
vmctl start b >/dev/null 2>&1
check "b up again" wait_state b running 10
check_eq "orphan deleted, a's tap kept, b's new, held one kept" "$(taps)" \
    "vms-a-0 vms-b-0 vms-other-0 "
check_match "held tap of an unknown process logged, left alone" "$(cat "$TMP/daemon.log")" \
    'tap vms-other-0 is held open by a process that is not a VM of this daemon: left alone'
kill -KILL "$HOLDER"; wait "$HOLDER" 2>/dev/null
check_match "orphan deletion logged" "$(cat "$TMP/daemon.log")" 'deleted leftover tap vms-zz-0'
check_match "b's stale tap deleted before b made its own" "$(cat "$TMP/daemon.log")" \
    'deleted leftover tap vms-b-0'
check_eq "b's ifup ran again" "$(tail -1 "$TMP/scripts.log")" "up vms-b-0 1"
# b booted a second time: its second readiness line.
for ((i = 0; i < 600; i++)); do
	[ "$(grep -c 'vmservice-guest: ready' "$TMP/log/b.console.log")" -ge 2 ] && break
	sleep 0.1
done
out=$(guest_console "EXEC:$VMS_BIN/vmctl -c $TMP/vms.conf console a" 'ping -c 2 -W 5 10.9.0.2' \
    '[0-9]+ packets transmitted, [1-9][0-9]* packets received' 20)
check_match "adopted a (tap fd now held by QEMU alone) still reaches the new b" "$out" \
    '2 packets transmitted, 2 packets received'
vmctl stop a >/dev/null
vmctl stop b >/dev/null
vmctl stop u >/dev/null
for ((i = 0; i < 50; i++)); do [ -z "$(taps)" ] && break; sleep 0.1; done	# (b's downscript)
check_eq "no tap left after stop of the adopted VM" "$(taps)" ""
stop_daemon
check_eq "daemon exits 0" "$DRC" 0
check_eq "no tap left at all" "$(taps)" ""

# A daemon without CAP_NET_ADMIN: the bridged VM fails clearly, others start.
conf_head 2 2
small_vm br1 'net = bridge  bridge = "br0"'
small_vm plain 'net = user'
ip netns exec "$NS" setpriv --bounding-set -net_admin --inh-caps -net_admin \
    "$VMS_BIN/vmserviced" -v -c "$TMP/vms.conf" >>"$TMP/daemon2.log" 2>&1 &
D2PID=$!
for ((i = 0; i < 100; i++)); do [ -S "$(SOCK)" ] && break; sleep 0.1; done
check "without CAP_NET_ADMIN: bridged VM failed" wait_state br1 failed 10
check_match "  ... naming the capability" "$(field br1 stop_detail)" 'needs CAP_NET_ADMIN'
check "  ... the other VM runs" wait_state plain running 10
kill -TERM "$D2PID"; wait "$D2PID"
check_eq "  ... daemon exits 0" "$?" 0
D2PID=
check_eq "  ... no tap left" "$(taps)" ""

echo "# networking test: $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}') s"
done_testing
