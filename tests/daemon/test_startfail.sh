#!/bin/bash
# QEMU that fails to start: state failed, reason start-failed, QEMU's own
# stderr in status, vmctl and the daemon log; VMs after it fail too.
source "$VMS_TOP/tests/lib/tap.sh"
source "$VMS_TOP/tests/daemon/lib.sh"
need_daemon
scratch_daemon

conf_head 2 2
conf_vm good
conf_vm bad 'extra_args = "-no-such-option"'
conf_vm child 'after = { bad }'
check "daemon starts" start_daemon
check "good runs" wait_state good running
check "bad fails" wait_state bad failed
check_eq "reason start-failed" "$(field bad stop_reason)" start-failed
check_match "QEMU's stderr in status" "$(vmctl status bad --json)" \
    '"stop_detail":"[^"]*-no-such-option: invalid option'
check_match "QEMU's stderr in the daemon log" "$(cat "$TMP/daemon.log")" \
    'bad: QEMU failed to start \(exit 1\): .*-no-such-option: invalid option'
check "child (after bad) fails" wait_state child failed
check_match "child names its dependency" "$(field child stop_detail)" 'vm bad'
check_match "status table explains the failure" "$(vmctl status)" '^bad: .*-no-such-option: invalid option'
out=$(vmctl start bad 2>&1); rc=$?
check_eq "vmctl start of a failing VM exits 1" "$rc" 1
check_match "vmctl shows QEMU's message" "$out" 'invalid option'
check_eq "good is unaffected" "$(field good state)" running
stop_daemon
check_eq "daemon exits 0" "$DRC" 0
done_testing
