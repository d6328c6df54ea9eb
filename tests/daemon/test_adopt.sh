#!/bin/bash
# A daemon restart does not restart the VMs: QEMU runs in its own session,
# survives a SIGKILLed daemon, and the next daemon adopts it by its pidfile
# when the pid is alive, runs the emulator and carries the VM's -name and
# -pidfile. Stale and foreign pidfiles are never trusted (pid reuse); a
# held run_dir/NAME.lock without an identified QEMU is waited for, never
# doubled.
source "$VMS_TOP/tests/lib/tap.sh"
source "$VMS_TOP/tests/daemon/lib.sh"
need_daemon
scratch_daemon

conf_head 2 2
conf_vm a
conf_vm b
conf_vm c
conf_vm d
check "daemon starts" start_daemon
check "a running" wait_state a running
check "b running" wait_state b running
sleep 1	# so a's uptime visibly predates the second daemon
apid=$(field a pid)
bpid=$(field b pid)
kill -KILL "$DPID"; wait "$DPID" 2>/dev/null
check "QEMU survives the daemon" kill -0 "$apid"
kill -KILL "$bpid"
for ((i = 0; i < 50; i++)); do gone "$bpid" && break; sleep 0.1; done
check "b's pidfile left stale" test -e "$TMP/run/b.pid"

check "second daemon starts" start_daemon
check "a running again" wait_state a running
check_eq "a adopted: same QEMU" "$(field a pid)" "$apid"
check_match "adoption logged" "$(cat "$TMP/daemon.log")" "a: found running QEMU pid $apid: adopting it"
check_match "stale pidfile removed" "$(cat "$TMP/daemon.log")" "b: removing stale pidfile"
check "adopted uptime is QEMU's, not the new daemon's" \
    awk -v u="$(field a uptime)" 'BEGIN { exit !(u >= 1.0) }'
check "b started afresh" wait_state b running
check "b has a new pid" test "$(field b pid)" != "$bpid"
out=$(vmctl stop a); rc=$?
check_eq "adopted VM stops through QMP" "$rc" 0
check_eq "adopted VM: host-powerdown" "$(field a stop_reason)" host-powerdown
check "adopted QEMU gone" gone_within "$apid"

# Foreign pidfiles: b's names a live sleep, c's names a's QEMU, d's lock is
# held by a process that is no QEMU (as while a QEMU starts, before its pidfile).
vmctl start a >/dev/null 2>&1
check "a running again" wait_state a running
check "c running" wait_state c running
check "d running" wait_state d running
apid=$(field a pid)
bpid=$(field b pid)
cpid=$(field c pid)
dpid=$(field d pid)
check "d's QEMU holds d.lock" sh -c "! flock -n '$TMP/run/d.lock' true"
kill -KILL "$DPID"; wait "$DPID" 2>/dev/null
for p in "$bpid" "$cpid" "$dpid"; do
	kill -KILL "$p" 2>/dev/null
done
for p in "$bpid" "$cpid" "$dpid"; do
	for ((i = 0; i < 50; i++)); do gone "$p" && break; sleep 0.1; done
done
check "d.lock free once its QEMU is gone" flock -n "$TMP/run/d.lock" true
# Not QEMU, though its command line carries b's -name and -pidfile; without
# capabilities, like our QEMUs, so the daemon may read its /proc/PID/exe.
setpriv --bounding-set=-all --inh-caps=-all \
    sh -c 'sleep 300; :' qemu -name guest=b -pidfile "$TMP/run/b.pid" </dev/null >/dev/null 2>&1 &
spid=$!
echo "$spid" >"$TMP/run/b.pid"
echo "$apid" >"$TMP/run/c.pid"
rm -f "$TMP/run/d.pid"
(flock -x 9 && exec sleep 300) 9>"$TMP/run/d.lock" </dev/null >/dev/null 2>&1 &
lpid=$!
for ((i = 0; i < 50; i++)); do flock -n "$TMP/run/d.lock" true || break; sleep 0.1; done
: >"$TMP/daemon.log"
check "third daemon starts" start_daemon
check "a adopted again" wait_state a running
check_eq "a: same QEMU" "$(field a pid)" "$apid"
check "b running" wait_state b running
check "b: a live look-alike named by its pidfile is not adopted" test "$(field b pid)" != "$spid"
check "the look-alike is left alone" kill -0 "$spid"
check_match "b: why the pidfile is not trusted" "$(cat "$TMP/daemon.log")" \
    "b: removing stale pidfile .*runs /usr/bin/[a-z]*sh, not /usr/bin/qemu-system-x86_64"
check "c running" wait_state c running
check "c: a's QEMU named by c's pidfile is not adopted" test "$(field c pid)" != "$apid"
check_match "c: another VM's QEMU" "$(cat "$TMP/daemon.log")" "c: removing stale pidfile .*-name"
check_eq "a still has its one QEMU" "$(qemu_pids a)" "$apid"
check_match "d: held lock reported" "$(cat "$TMP/daemon.log")" "d: .*d.lock is held but no QEMU"
check_eq "d not started while its lock is held: adopting" "$(field d state)" adopting
vmctl start d >"$TMP/start-d.out" 2>&1 &
vpid=$!
sleep 1
check "vmctl start d waits for the lock to be sorted out" kill -0 "$vpid"
check_eq "d still not started (adopting)" "$(field d state)" adopting
check_eq "no QEMU for d" "$(qemu_pids d)" ""
kill "$lpid"; wait "$lpid" 2>/dev/null
check "d starts once the lock is free" wait_state d running 20
wait "$vpid"
check_eq "vmctl start d then succeeds" "$?" 0
check "d's new QEMU holds the lock" sh -c "! flock -n '$TMP/run/d.lock' true"
kill_tree "$spid"
vmctl stop all >/dev/null 2>&1
check "all stopped" wait_state d stopped
check "no lock held after stop" sh -c "for f in '$TMP'/run/*.lock; do flock -n \"\$f\" true || exit 1; done"
left=
for f in "$TMP"/run/*.pid; do
	[ -e "$f" ] && [ "${f##*/}" != vmserviced.pid ] && left+=" ${f##*/}"
done
check_eq "no VM pidfile left" "$left" ""
stop_daemon
check_eq "daemon exits 0" "$DRC" 0
done_testing
