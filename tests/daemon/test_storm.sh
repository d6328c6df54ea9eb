#!/bin/bash
# Fault injection (issue 6): SIGKILL the daemon 20 times at random points
# during a start storm and a stop storm of 6 real test guests (3 that answer
# the power button, 3 that ignore it), restarting it each time. At the end
# every VM has reached the state last asked for by itself (no command is
# repeated after a restart), each running VM has exactly one QEMU,
# the one `vmctl status` names, its pidfile names it and it holds its lock;
# a stopped VM has no QEMU, no pidfile and a free lock.
# STORM_SEED=N replays a run (the seed is printed).
source "$VMS_TOP/tests/lib/tap.sh"
source "$VMS_TOP/tests/daemon/lib.sh"
source "$VMS_TOP/tests/lib/guest.sh"
need_daemon
scratch_daemon

need_guest
seed=${STORM_SEED:-$(( $(date +%s) % 32768 ))}
diag "seed $seed (STORM_SEED=$seed replays it)"
RANDOM=$seed

VMS=(c1 c2 c3 s1 s2 s3)
# Also the QEMUs no pidfile names (the very thing this test hunts).
storm_cleanup() {
	local v p
	for v in "${VMS[@]}"; do
		for p in $(qemu_pids "$v"); do kill -KILL "$p" 2>/dev/null; done
	done
	cleanup_daemon
}
trap storm_cleanup EXIT
conf_head 2 2
for v in "${VMS[@]}"; do
	case $v in c*) fl=cooperative;; *) fl=stubborn;; esac
	cat >>"$TMP/vms.conf" <<-EOC
	vm $v {
		memory = 96M
		kernel = "$GUEST_KERNEL"
		initrd = "$GUEST_INITRD"
		append = "$(guest_append $fl)"
		autostart = no
	}
	EOC
done

# restart MAX_MS: the daemon SIGKILLed after a random 0..MAX_MS ms, then
# started again.
kills=0
restart() {
	local ms=$((RANDOM % $1))
	sleep "$((ms / 1000)).$(printf %03d $((ms % 1000)))"
	kill -KILL "$DPID" 2>/dev/null
	wait "$DPID" 2>/dev/null
	kills=$((kills + 1))
	echo "--- kill $kills after $ms ms" >>"$TMP/daemon.log"
	start_daemon || { notok "daemon restarts after kill $kills"; return 1; }
}

# converge STATE: wait until every VM is in STATE, or 90 s. Nothing is asked
# again: the last daemon finishes what its killed predecessors were asked
# (run_dir/NAME.intent).
converge() {
	local want=$1 i v ok
	for ((i = 0; i < 90; i++)); do
		ok=1
		for v in "${VMS[@]}"; do
			[ "$(field "$v" state)" = "$want" ] || { ok=0; break; }
		done
		[ $ok = 1 ] && return 0
		sleep 1
	done
	return 1
}

held() { ! flock -n "$TMP/run/$1.lock" true 2>/dev/null; }

# invariants STATE: every VM in STATE and its runtime files and processes agree.
invariants() {
	local want=$1 v st pid q pf bad=""
	for v in "${VMS[@]}"; do
		st=$(field "$v" state)
		pid=$(field "$v" pid)
		q=$(qemu_pids "$v" | tr '\n' ' ')
		q=${q% }
		pf=$(cat "$TMP/run/$v.pid" 2>/dev/null)
		if [ "$want" = running ]; then
			[ "$st" = running ] || bad+=" $v:state=$st"
			[ -n "$q" ] && [ "$q" = "$pid" ] || bad+=" $v:qemu=[$q],status-pid=$pid"
			[ "$pf" = "$pid" ] || bad+=" $v:pidfile=$pf"
			held "$v" || bad+=" $v:lock-free"
		else
			[ "$st" = stopped ] || bad+=" $v:state=$st"
			[ -z "$q" ] || bad+=" $v:qemu=[$q]"
			[ "$pid" = null ] || bad+=" $v:status-pid=$pid"
			[ ! -e "$TMP/run/$v.pid" ] || bad+=" $v:pidfile=$pf"
			held "$v" && bad+=" $v:lock-held"
		fi
	done
	[ -z "$bad" ] && return 0
	diag "wrong:$bad"
	return 1
}

check "daemon starts" start_daemon

# Start storm: each round SIGKILLs the VMs (through the daemon, which may
# have just adopted them), asks for all to start and kills the daemon within
# 600 ms: while it forks, before QEMU writes its pidfile, before QMP is up.
for ((r = 0; r < 10; r++)); do
	vmctl kill all >/dev/null 2>&1
	vmctl start all --no-wait >/dev/null 2>&1
	restart 600 || break
done
check "start storm: every VM running after $kills kills" converge running
check "start storm: one QEMU per VM, pids, pidfiles and locks agree" invariants running
n=$(for v in "${VMS[@]}"; do qemu_pids "$v"; done | wc -l)
check_eq "start storm: 6 QEMUs in all" "$n" 6

# A restart in calm water: the same pids.
declare -A before
for v in "${VMS[@]}"; do before[$v]=$(field "$v" pid); done
kill -KILL "$DPID"; wait "$DPID" 2>/dev/null
check "daemon restarts" start_daemon
same=1
for v in "${VMS[@]}"; do
	wait_state "$v" running 20 && [ "$(field "$v" pid)" = "${before[$v]}" ] || same=0
done
check "after a plain restart every VM is adopted with its pid" test $same = 1
pend=$(for v in "${VMS[@]}"; do field "$v" restart_pending; done | sort -u | tr '\n' ' ')
check_eq "adopted QEMUs run the current configuration (not restart-pending)" "$pend" "false "

# Stop storm.
k0=$kills
# Stop storm: all running, then a stop of all killed within 2.5 s: while
# the power button is pressed, in halt_timeout, after SIGTERM, as QEMUs exit.
for ((r = 0; r < 10; r++)); do
	vmctl start all >/dev/null 2>&1
	vmctl stop all --no-wait >/dev/null 2>&1
	restart 2500 || break
done
check_eq "20 kills in all" "$kills" 20
check "stop storm: every VM stopped after $((kills - k0)) kills" converge stopped
check "stop storm: no QEMU, pidfile or held lock left" invariants stopped
answers() { vmctl status >/dev/null; }
check "daemon still answers" answers
diag "what the restarts met: $(grep -c 'adopting it' "$TMP/daemon.log") adoptions," \
    "$(grep -c 'is held but no QEMU' "$TMP/daemon.log") held locks without pidfile," \
    "$(grep -c 'removing stale pidfile' "$TMP/daemon.log") stale pidfiles removed," \
    "$(grep -c ' -> failed' "$TMP/daemon.log") failed starts"
grep ' -> failed\|cannot start' "$TMP/daemon.log" | sort | uniq -c | head -5 | sed 's/^/#   /' 
stop_daemon
check_eq "daemon exits 0" "$DRC" 0
if [ "$TAP_FAILED" -gt 0 ]; then
	diag "daemon log (tail):"
	tail -n 60 "$TMP/daemon.log" | sed 's/^/#   /'
fi
done_testing
