#!/bin/bash
# A bounded libFuzzer run of the control request parser (tests/fuzz/fuzz_ctl.c,
# src/control/ctl_req.c), seeded with the requests of PROTOCOL.md.
. "$VMS_TOP/tests/lib/tap.sh"
. "$VMS_TOP/tests/fuzz/lib.sh"
scratch
fuzz_build ctl
fuzz_regress ctl

mkdir -p "$TMP/seed"
i=0
while IFS= read -r line; do
	i=$((i + 1))
	printf '%s\n' "$line" >"$TMP/seed/req$i"
done <<'EOR'
{"cmd":"status"}
{"cmd":"status","vm":"web"}
{"cmd":"start","vm":"all","wait":true}
{"cmd":"stop","vm":"web","wait":true,"timeout":5}
{"cmd":"restart","vm":"db","wait":false}
{"cmd":"kill","vm":"web","wait":true}
{"cmd":"reload"}
{"cmd":"stop","vm":["web"],"timeout":-1}
{"cmd":"status","vm":null,"x":{"y":[1,2.5e3,"\u00e9",true]}}
{"cmd":"status"}
{"cmd":"start","vm":"a"}{"cmd":"stop"}
EOR
printf '{"cmd":"status"}\r\n{"cmd":"status","vm":"x"}\n{"cmd":"reload"}' >"$TMP/seed/multi"
check "seed corpus: $i requests" test "$i" -ge 10
fuzz_run ctl -max_len=4096
done_testing
