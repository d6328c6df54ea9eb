#!/bin/bash
# What was asked of a VM survives a daemon crash (issue 6): run_dir/NAME.intent.
# A stop of a guest that ignores the power button, cut short by SIGKILLing the
# daemon, is finished by the next daemon (halt again, then SIGTERM); a start
# of a non-autostart VM that had not spawned its QEMU yet is carried out by
# the next daemon; after a host reboot (run_dir wiped, state_dir kept) only
# autostart decides; a clean daemon exit leaves no intent behind; a restart
# cut short is finished. And an
# adopted QEMU whose command line is not the one the configuration now
# gives is restart-pending.
source "$VMS_TOP/tests/lib/tap.sh"
source "$VMS_TOP/tests/daemon/lib.sh"
need_daemon
scratch_daemon

conf_head 2 2
# a: autostart; its start_delay holds every other start for 30 s.
conf_vm a 'start_delay = 30'
conf_vm n 'autostart = no'
# s: machine none has no ACPI: the power button is never answered.
conf_vm s 'autostart = no' 'halt = acpi'

intent() { cat "$TMP/run/$1.intent" 2>/dev/null; }
ncrash=0
crash() { kill -KILL "$DPID"; wait "$DPID" 2>/dev/null; echo "--- crash $((++ncrash))" >>"$TMP/daemon.log"; }

check "daemon starts" start_daemon
check "a running (autostart)" wait_state a running
vmctl start n --no-wait >/dev/null 2>&1
check_eq "n waits (a's start_delay)" "$(field n state)" waiting
check_eq "n's intent: up" "$(intent n)" up
check_eq "no QEMU for n yet" "$(qemu_pids n)" ""
crash
check "daemon restarts after SIGKILL" start_daemon
check "n started by the new daemon" wait_state n running 20
check_eq "n: one QEMU, the one status names" "$(qemu_pids n)" "$(field n pid)"
check_match "resumption logged" "$(cat "$TMP/daemon.log")" "n: was wanted up"

# A stubborn guest: stop, kill the daemon while halting.
vmctl start s >/dev/null 2>&1
check "s running" wait_state s running 20
spid=$(field s pid)
vmctl stop s --no-wait >/dev/null 2>&1
check_eq "s halting" "$(field s state)" halting
check_eq "s's intent: down" "$(intent s)" down
crash
check "s's QEMU outlived the daemon" kill -0 "$spid"
t0=$(date +%s)
check "daemon restarts after SIGKILL while s halts" start_daemon
check "s stopped by the new daemon" wait_state s stopped 20
check_eq "s: stop_reason sigterm (halt_timeout, then SIGTERM)" "$(field s stop_reason)" sigterm
check "s's QEMU gone" gone_within "$spid"
check_match "halt again, then SIGTERM" "$(sed -n '/--- crash 2/,$p' "$TMP/daemon.log")" \
    "s: halting -> terminating .halt_timeout expired"
diag "s stopped $(( $(date +%s) - t0 )) s after the restart"
check_eq "a untouched" "$(field a state)" running
check_eq "n untouched" "$(field n state)" running

# The configuration edited while the daemon is down (BUGS in vmserviced(8)
# until now): an adopted QEMU with another command line is restart-pending.
crash
sed -i '/^vm n {/,/^}/s/memory = 16M/memory = 32M/' "$TMP/vms.conf"
npid=$(qemu_pids n)
check "daemon restarts after the config changed" start_daemon
check "n adopted" wait_state n running 20
check_eq "n: the same QEMU" "$(field n pid)" "$npid"
check_eq "n restart-pending" "$(field n restart_pending)" true
check_match "n: pending_change says why" "$(field n pending_change)" \
    "started with a different configuration"
check_eq "a (unchanged) not restart-pending" "$(field a restart_pending)" false
vmctl restart n >/dev/null 2>&1
check "n running after vmctl restart" wait_state n running 20
check "n has a new pid" test "$(field n pid)" != "$npid"
check_eq "n no longer restart-pending" "$(field n restart_pending)" false
check_match "n's new QEMU has the new memory size" \
    "$(tr '\0' ' ' <"/proc/$(field n pid)/cmdline")" "-m 32M"

# A restart under way (stubborn s halting, to start again): the new daemon
# stops the old QEMU (halt, SIGTERM) and starts a new one.
vmctl start s >/dev/null 2>&1
check "s running" wait_state s running 20
spid=$(field s pid)
vmctl restart s --no-wait >/dev/null 2>&1
check_eq "s's intent: restart of its QEMU" "$(intent s)" "restart $spid"
crash
check "daemon restarts after SIGKILL while s restarts" start_daemon
waitgone() { local i; for ((i = 0; i < 100; i++)); do gone "$1" && return 0; sleep 0.1; done; return 1; }
check "s's old QEMU stopped" waitgone "$spid"
check_match "resumed as a restart" "$(cat "$TMP/daemon.log")" "s: was wanted restart"
check "s running again" wait_state s running 20
check "s: a new QEMU" test "$(field s pid)" != "$spid"
check_eq "s: one QEMU" "$(qemu_pids s)" "$(field s pid)"
check_eq "s's intent: up" "$(intent s)" up

# Host reboot: every process gone, run_dir (tmpfs) empty, state_dir kept.
crash
for v in a n s; do for p in $(qemu_pids $v); do kill -KILL "$p"; done; done
rm -rf "$TMP/run"
check "daemon starts after a reboot" start_daemon
check "a running (autostart)" wait_state a running 20
sleep 1
check_eq "n stopped: not autostart, its intent went with run_dir" "$(field n state)" stopped
check_eq "s stopped" "$(field s state)" stopped

# A clean exit stops the VMs and forgets the intents: the next start is a boot.
# (n is not started here: a's start_delay would hold it for 30 s.)
vmctl stop s >/dev/null 2>&1
check_eq "intents of a (autostarted) and s (stopped)" "$(intent a) $(intent s)" "up down"
stop_daemon
check_eq "daemon exits 0" "$DRC" 0
check_eq "no intent file left after a clean exit" "$(ls "$TMP/run/"*.intent 2>/dev/null)" ""
check "daemon starts again" start_daemon
check "a running (autostart)" wait_state a running 20
sleep 1
check_eq "n stopped" "$(field n state)" stopped
stop_daemon
done_testing
