#!/bin/bash
# `after` ordering on start and, reversed, on stop; `start_parallel = 1`.
# Chain: top after mid, mid after base; l1 and l2 depend on nothing, so
# without start_parallel they could all start at once with base.
# halt = quit keeps the stop quick: this test is about order, not about the
# guest (test_stop.sh covers ACPI).
source "${VMS_TOP:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
e2e_init

e2e_conf "start_parallel = 1" "halt_timeout = 5" "term_timeout = 5"
e2e_vm top stubborn 'after = {"mid"}' 'halt = "quit"'
e2e_vm mid stubborn 'after = {"base"}' 'halt = "quit"'
e2e_vm base stubborn 'halt = "quit"'
e2e_vm l1 stubborn 'halt = "quit"'
e2e_vm l2 stubborn 'halt = "quit"'
vms="top mid base l1 l2"

e2e_daemon || { notok "vmserviced starts"; exit 1; }
ok "vmserviced starts"
for v in $vms; do
	check "$v: running" e2e_wait_state $v running 60
done
e2e_daemon_stop 30
check "daemon stops every VM and exits on SIGTERM (${E2E_STOP_SECS}s)" test -z "$DAEMON_PID"
check_eq "daemon exit status 0" "$E2E_DAEMON_RC" 0
for v in $vms; do
	check_eq "$v: saved state stopped" "$(e2e_saved $v state)" stopped
done

e2e_transitions >"$E2E/transitions"
diag "transitions (epoch vm old new):"
sed 's/^/#   /' "$E2E/transitions"

# first TIME VM NEWSTATE / last TIME VM OLDSTATE
first_to() { awk -v v="$1" -v s="$2" '$2 == v && $4 == s { print $1; exit }' "$E2E/transitions"; }
first_from() { awk -v v="$1" -v s="$2" '$2 == v && $3 == s { print $1; exit }' "$E2E/transitions"; }
# before A B: both times known and A <= B
before() { [ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }

# Start: a VM enters `starting` only after what it is `after` is `running`.
check "start: base running before mid starting" before "$(first_to base running)" "$(first_to mid starting)"
check "start: mid running before top starting" before "$(first_to mid running)" "$(first_to top starting)"
# Stop: a VM is asked to stop only after what is `after` it has stopped.
check "stop: top stopped before mid leaves running" before "$(first_to top stopped)" "$(first_from mid running)"
check "stop: mid stopped before base leaves running" before "$(first_to mid stopped)" "$(first_from base running)"

# start_parallel = 1: never two VMs in `starting` at once.
n_starting=$(grep -c ' starting$' "$E2E/transitions")
check_eq "every VM went through starting" "$n_starting" 5
max=$(awk '$4 == "starting" { n++; if (n > m) m = n } $3 == "starting" { n-- } END { print m + 0 }' "$E2E/transitions")
check_eq "start_parallel = 1: at most one VM starting at a time" "$max" 1
[ "$TAP_FAILED" -eq 0 ] || e2e_dump 80
done_testing
