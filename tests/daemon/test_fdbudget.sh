#!/bin/bash
# The file descriptor budget (issue 20). Under a hard limit the daemon
# cannot raise (prlimit N:N, as `ulimit -n` in a shell), 40 autostart VMs
# with two telnet consoles each do not all fit: every VM either runs or is
# refused with the reason (failed, start-failed: out of file descriptors);
# none is left half-started; vmctl keeps working (the reserve); the log
# says it a handful of times, not once per VM per wake-up. Then, with
# consoles that cannot all be opened at start (60 VMs under 150), the
# control socket still comes up first and the refusals are summarised.
source "$VMS_TOP/tests/lib/tap.sh"
source "$VMS_TOP/tests/daemon/lib.sh"
need_daemon
if ! command -v prlimit >/dev/null; then
	skip "descriptor budget" "no prlimit (util-linux)"
	exit 0
fi
scratch_daemon
conf_head 2 2
for i in $(seq 1 40); do
	conf_vm "v$i" "serial = $((47200 + 2 * i))" "monitor = $((47201 + 2 * i))" \
	    'autostart = yes' 'extra_args = "-S"'
done
DAEMON_PREFIX=(prlimit --nofile=300:300 --)
check "daemon starts under a 300-descriptor hard limit" start_daemon
settled() {
	local s
	s=$(vmctl status 2>/dev/null | awk 'NR > 1 { print $2 }' | sort -u | tr '\n' ' ')
	[ -n "$s" ] && ! echo "$s" | grep -qE 'waiting|starting'
}
for ((i = 0; i < 300; i++)); do settled && break; sleep 0.1; done
check "every VM settles: none left waiting or starting" settled
st=$(vmctl status 2>/dev/null)
nrun=$(echo "$st" | awk 'NR > 1 && $2 == "paused"' | wc -l)
nfail=$(echo "$st" | awk 'NR > 1 && $2 == "failed"' | wc -l)
diag "running (paused): $nrun, refused: $nfail, daemon fds: $(ls /proc/$DPID/fd | wc -l)"
check "some VMs run" test "$nrun" -gt 0
check "some are refused (40 do not fit in 300)" test "$nfail" -gt 0
check_eq "each VM either runs or is refused" "$((nrun + nfail))" 40
bad=
for v in $(echo "$st" | awk 'NR > 1 && $2 == "failed" { print $1 }'); do
	r=$(field "$v" stop_reason) dt=$(field "$v" stop_detail)
	[ "$r" = start-failed ] && [[ $dt == "out of file descriptors"* ]] || bad+=" $v($r: $dt)"
done
check_eq "every refused VM: start-failed, out of file descriptors" "$bad" ""
check_match "the reason names the limit" "$(field "$v" stop_detail)" \
    '^out of file descriptors: [0-9]+ open of 300 \(RLIMIT_NOFILE\)'
check_eq "no QEMU of a refused VM" "$(qemu_pids "$v")" ""
fds=$(ls /proc/$DPID/fd | wc -l)
check "the reserve is kept ($fds of 300 open)" test "$fds" -le $((300 - 64 + 16))
t0=$(date +%s%N); vmctl -s "$(SOCK)" status >/dev/null; rc=$?; t1=$(date +%s%N)
check_eq "vmctl status answers with the budget spent" "$rc" 0
diag "status took $(( (t1 - t0) / 1000000 )) ms"
check "a console of a running VM answers" bash -c "exec 3<>/dev/tcp/127.0.0.1/47202"
n=$(grep -c 'out of file descriptors' "$TMP/daemon.log")
check "the refusals are logged a handful of times, not per wake-up ($n lines)" test "$n" -le 8
check_match "with a count of the rest" "$(cat "$TMP/daemon.log")" \
    '[0-9]+ more VMs not started \(out of file descriptors\) not logged'
check "no 'Too many open files' anywhere" bash -c "! grep -q 'Too many open files' '$TMP/daemon.log'"
vmctl stop all >/dev/null 2>&1
check "stop all" wait_state v1 stopped 20
stop_daemon
check_eq "daemon exits 0" "$DRC" 0

# Consoles that cannot all be opened at start: the control socket first.
: >"$TMP/daemon.log"
conf_head 2 2
for i in $(seq 1 60); do
	conf_vm "c$i" "serial = $((47400 + 2 * i))" "monitor = $((47401 + 2 * i))" 'autostart = no'
done
DAEMON_PREFIX=(prlimit --nofile=150:150 --)
check "daemon starts with 120 consoles under 150 descriptors" start_daemon
check "vmctl status answers" vmctl -s "$(SOCK)" status
check_eq "all 60 VMs listed" "$(vmctl -s "$(SOCK)" status --json | grep -o '"name":' | wc -l)" 60
n=$(grep -c 'no telnet console: out of file descriptors' "$TMP/daemon.log")
check "consoles refused a handful of times in the log ($n)" test "$n" -ge 1 -a "$n" -le 3
check_match "and counted" "$(cat "$TMP/daemon.log")" \
    '[0-9]+ more VMs without a telnet console \(out of file descriptors\) not logged'
stop_daemon
check_eq "daemon exits 0" "$DRC" 0
DAEMON_PREFIX=()
done_testing
