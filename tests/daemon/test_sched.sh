#!/bin/bash
# Scheduling with real QEMU: an `after` chain starts in order and stops in
# reverse; start_parallel = 1 never has two VMs starting at once; start_delay
# spaces the starts.
source "$VMS_TOP/tests/lib/tap.sh"
source "$VMS_TOP/tests/daemon/lib.sh"
need_daemon
scratch_daemon

conf_head 2 2
cat >>"$TMP/vms.conf" <<EOC
start_parallel = 1
start_delay = 1
EOC
conf_vm c 'after = { b }'
conf_vm b 'after = { a }'
conf_vm a
conf_vm x

t0=$(date +%s%N)
check "daemon starts" start_daemon
for v in a b c x; do check "$v running" wait_state "$v" running 15; done
t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
diag "4 VMs running after $ms ms"
check "start_delay = 1 spaces 4 starts: at least 3 s" test "$ms" -ge 3000

order=$(sed -n 's/^vmserviced: info: \([a-z]\): waiting -> starting.*/\1/p' "$TMP/daemon.log" | tr -d '\n')
check_match "a before b before c" "$order" '^[^bc]*a[^c]*b.*c'
# start_parallel = 1: between two "waiting -> starting" there is a "-> running".
bad=$(awk '/waiting -> starting/ { if (s) bad=1; s=1 } /starting -> running/ { s=0 }
    END { print bad+0 }' "$TMP/daemon.log")
check_eq "never two VMs starting at once" "$bad" 0

vmctl stop all >/dev/null; rc=$?
check_eq "stop all exits 0" "$rc" 0
stops=$(sed -n 's/^vmserviced: info: \([a-z]\): running -> halting.*/\1/p' "$TMP/daemon.log" | tr -d '\n')
check_match "c asked to stop before b, b before a" "$(echo "$stops" | tr -d x)" '^cba$'
check_match "b asked only after c stopped" \
    "$(grep -E 'c: halting -> stopped|b: running -> halting' "$TMP/daemon.log" | head -1)" 'c: halting -> stopped'
for v in a b c x; do check_eq "$v stopped" "$(field $v state)" stopped; done
stop_daemon
check_eq "daemon exits 0" "$DRC" 0
done_testing
