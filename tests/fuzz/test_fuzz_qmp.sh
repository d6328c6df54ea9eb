#!/bin/bash
# A bounded libFuzzer run of the QMP protocol core (tests/fuzz/fuzz_qmp.c,
# src/qemu/qmp.c), seeded with sessions shaped like QEMU 7.2's output.
# The first byte of an input sets the chunk size the harness feeds.
. "$VMS_TOP/tests/lib/tap.sh"
. "$VMS_TOP/tests/fuzz/lib.sh"
scratch
fuzz_build qmp
fuzz_regress qmp

G='{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": ""}, "capabilities": ["oob"]}}'
T='"timestamp": {"seconds": 1700000000, "microseconds": 1}'
mkdir -p "$TMP/seed"
# seed CHUNK NAME LINE...: the chunk-size byte, then QEMU's lines.
seed() {
	local f="$TMP/seed/$2"
	printf '%s' "$1" >"$f"; shift 2
	printf '%s\r\n' "$@" >>"$f"
}
seed A greeting "$G"
seed B ready "$G" '{"return": {}, "id": 1}'
seed '~' replies "$G" '{"return": {}, "id": 1}' '{"return": {}, "id": 2}' \
    '{"return": {"status": "running", "running": true}, "id": 3}' \
    '{"error": {"class": "GenericError", "desc": "nope"}, "id": 4}' '{"return": {}, "id": 5}'
seed '!' events "$G" '{"return": {}, "id": 1}' \
    "{$T, \"event\": \"SHUTDOWN\", \"data\": {\"guest\": true, \"reason\": \"guest-shutdown\"}}" \
    "{$T, \"event\": \"POWERDOWN\"}" "{$T, \"event\": \"STOP\"}" \
    "{$T, \"event\": \"FUZZ_FREE\"}" '{"return": {}, "id": 2}'
seed z caps-refused "$G" '{"error": {"class": "CommandNotFound", "desc": "x"}, "id": 1}'
seed 0 noid "$G" '{"return": {}, "id": 1}' '{"error": {"class": "GenericError", "desc": "JSON parse error"}}'
seed 5 junk "$G" '{"return": {}, "id": 1}' '{"return": [], "id": "2"}' '[1,2]' 'nonsense'
seed 9 twice "$G" "$G"
n=$(ls "$TMP/seed" | wc -l)
check "seed corpus: $n sessions" test "$n" -ge 8
fuzz_run qmp -max_len=8192
done_testing
