#!/bin/bash
# Telnet endpoints: the HMP monitor (and, when the test guest is cached, the
# serial console) proxied from a TCP port to QEMU's unix socket.
source "$VMS_TOP/tests/lib/tap.sh"
source "$VMS_TOP/tests/daemon/lib.sh"
need_daemon
scratch_daemon

base=$(( 20000 + $$ % 20000 ))
mon=$base
conf_head 2 2
conf_vm a "monitor = $mon"
conf_vm b "monitor = $((base + 1))" 'autostart = no'
check "daemon starts" start_daemon
check "a running" wait_state a running
check_match "endpoint logged" "$(cat "$TMP/daemon.log")" "a: monitor on telnet 127.0.0.1 port $mon"

# A client's telnet negotiation (IAC DO ECHO, IAC WILL NAWS) must not reach HMP.
out=$( { printf '\377\375\001\377\373\037'; sleep 0.2; printf 'info status\r\n'; sleep 0.5; } |
    timeout 5 socat -t 0.5 - TCP:127.0.0.1:$mon | tr -d '\r')
check_match "server offers WILL ECHO, WILL SGA" "$(printf '%s' "$out" | head -c 6 | od -An -tu1 | tr -s ' ')" \
    '255 251 1 255 251 3'
check_match "HMP answers through the proxy" "$out" 'VM status: running'
check_match "no garbage command from the negotiation" "$(echo "$out" | grep -c 'unknown command' || true)" '^0$'

# Several clients at once (console.c): the second one sees the first one's answer.
{ sleep 2; } | timeout 5 socat -t 1 - TCP:127.0.0.1:$mon >"$TMP/watch.out" &
hold=$!
sleep 0.3
out=$( { sleep 0.2; printf 'info name\r'; sleep 0.5; } | timeout 3 socat -t 0.3 - TCP:127.0.0.1:$mon)
wait $hold
check_match "a second client is served at once" "$out" 'info name'
check_match "the first client sees the second one's command" "$(cat "$TMP/watch.out")" 'info name'


# A stopped VM's endpoint answers with its state.
out=$(timeout 3 socat -t 0.3 - TCP:127.0.0.1:$((base + 1)) </dev/null)
check_match "stopped VM's endpoint says so" "$out" 'vm b is not running'

# The client is told when the VM goes away.
{ sleep 2; } | timeout 6 socat -t 2 - TCP:127.0.0.1:$mon >"$TMP/held.out" &
hold=$!
sleep 0.3
vmctl stop a >/dev/null
wait $hold
check_match "client told the VM stopped" "$(tr -d '\r' <"$TMP/held.out")" \
    'vm a: monitor disconnected'

# Serial console with the real test guest (built into the cache if needed:
# a build failure is a failure, never a skip).
source "$VMS_TOP/tests/lib/guest.sh"
if guest_build >"$TMP/guest-build.log" 2>&1; then
	k=$GUEST_KERNEL
	ser=$((base + 2))
	cat >>"$TMP/vms.conf" <<-EOC
	vm g {
		memory = 128M
		kernel = "$k"
		initrd = "$GUEST_INITRD"
		append = "$(guest_append stubborn)"
		serial = $ser
		autostart = no
		halt = quit
	}
	EOC
	stop_daemon
	start_daemon
	vmctl start g >/dev/null
	for ((i = 0; i < 150; i++)); do
		grep -q 'vmservice-guest: ready' "$TMP/log/g.console.log" 2>/dev/null && break
		sleep 0.1
	done
	check "guest ready (console logged)" grep -q 'vmservice-guest: ready' "$TMP/log/g.console.log"
	out=$( { sleep 0.3; printf 'echo tel$((6*7))net\r'; sleep 1; } |
	    timeout 5 socat -t 0.3 - TCP:127.0.0.1:$ser | tr -d '\r')
	check_match "guest shell answers over telnet" "$out" 'tel42net'
else
	notok "test guest builds"
	sed 's/^/# /' "$TMP/guest-build.log"
fi
stop_daemon
check_eq "daemon exits 0" "$DRC" 0
done_testing
