#!/bin/bash
# A bounded libFuzzer run of whole control connections (tests/fuzz/fuzz_control.c:
# src/control/control.c on a real daemon struct with no VMs), seeded with
# pipelined, half-closed and malformed sessions.
. "$VMS_TOP/tests/lib/tap.sh"
. "$VMS_TOP/tests/fuzz/lib.sh"
scratch
fuzz_build control
fuzz_regress control

mkdir -p "$TMP/seed"
printf '{"cmd":"status"}\n' >"$TMP/seed/status"
printf '{"cmd":"status","vm":"web"}\r\n{"cmd":"status"}' >"$TMP/seed/pipelined"
printf '{"cmd":"stop","vm":"all","wait":true,"timeout":3}\n{"cmd":"start","vm":"all","wait":true}\n' >"$TMP/seed/all"
printf '{"cmd":"kill","vm":"x"}\n{"cmd":"restart"}\n{"cmd":"reload"}\n' >"$TMP/seed/admin"
printf '\n\n{"cmd":"dance"}\n{"cmd":1}\n' >"$TMP/seed/bad"
printf '{"cmd":"stop","vm":"all","timeout":"x"}\n{"cmd":"stop","vm":7}\n' >"$TMP/seed/types"
check "seed corpus: $(ls "$TMP/seed" | wc -l) sessions" test "$(ls "$TMP/seed" | wc -l)" -ge 6
fuzz_run control -max_len=4096
done_testing
