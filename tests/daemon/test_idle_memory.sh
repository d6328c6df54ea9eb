#!/bin/bash
# What declared, stopped VMs cost (issue 20): 1,000 VMs with autostart = no,
# each with a serial and a monitor telnet endpoint, and no QEMU started.
# The daemon's resident memory must stay within 16 MB + 16 KB a VM: a
# console allocates its scrollback on the first output, not when declared.
# IDLE_VMS=N changes the count (2 listeners a VM: the limit must allow it).
source "$VMS_TOP/tests/lib/tap.sh"
source "$VMS_TOP/tests/daemon/lib.sh"
need_daemon
N=${IDLE_VMS:-1000}
if [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt $((2 * N + 100)) ]; then
	skip "idle memory" "descriptor hard limit $(ulimit -Hn) < $((2 * N + 100))"
	exit 0
fi
ulimit -Sn "$(ulimit -Hn)"
scratch_daemon
conf_head 2 2
# Telnet ports below the ephemeral range (32768-60999 by default), serial
# and monitor side by side, in a block where nothing listens now (other
# tests on this host take blocks of their own).
listening() { ss -Hltn 2>/dev/null | awk '{ n = split($4, a, ":"); print a[n] }'; }
base=
for b in ${IDLE_PORT_BASE:-} 12000 14000 16000 18000 22000 24000 26000 28000 30000; do
	[ $((b + 2 * N)) -le 32768 ] || continue
	if ! listening | awk -v lo="$b" -v hi=$((b + 2 * N)) '$1 >= lo && $1 < hi { f = 1 } END { exit !f }'; then
		base=$b
		break
	fi
done
if [ -z "$base" ]; then
	skip "idle memory" "no free block of $((2 * N)) ports"
	exit 0
fi
for ((i = 0; i < N; i++)); do
	conf_vm "idle$i" "serial = $((base + 2 * i))" "monitor = $((base + 2 * i + 1))" \
	    'autostart = no'
done

t0=$(date +%s%N)
check "daemon starts with $N declared VMs" start_daemon
# The socket exists once every VM's consoles are open (vmcon_open at start).
check_match "vmctl status lists them" "$(vmctl -s "$(SOCK)" status 2>&1 | grep -c '^idle')" "^$N\$"
t1=$(date +%s%N)
rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$DPID/status")
fds=$(ls "/proc/$DPID/fd" | wc -l)
check "each VM holds its 2 listeners ($fds descriptors)" test "$fds" -ge $((2 * N))
check "and no console log descriptor while it has had no output" test "$fds" -le $((2 * N + 50))
limit=$((16 * 1024 + 16 * N))
diag "$N declared stopped VMs: VmRSS ${rss} kB, $fds descriptors, up in $(( (t1 - t0) / 1000000 )) ms"
if [ "${rss:-999999999}" -le "$limit" ]; then
	ok "daemon RSS ${rss} kB <= 16 MB + 16 KB a VM ($limit kB)"
else
	notok "daemon RSS ${rss} kB <= 16 MB + 16 KB a VM ($limit kB)"
fi
n_err=$(grep -c 'error' "$TMP/daemon.log")
check_eq "every console opened (no errors in the log)" "$n_err" 0
[ "$n_err" = 0 ] || grep -m3 error "$TMP/daemon.log" | sed 's/^/# /'
stop_daemon
check_eq "daemon exits 0" "$DRC" 0
done_testing
