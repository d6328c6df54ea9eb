#!/bin/bash
# A bounded libFuzzer run of the guest agent protocol core
# (tests/fuzz/fuzz_qga.c, src/qemu/qga.c), seeded with sessions shaped like
# qemu-ga 7.2's answers and a guest's garbage. Byte 1 of an input sets the
# chunk size the harness feeds, byte 2 the clock step after each chunk
# (x 20 ms); '$' stands for the id of the last guest-sync-delimited.
. "$VMS_TOP/tests/lib/tap.sh"
. "$VMS_TOP/tests/fuzz/lib.sh"
scratch
fuzz_build qga
fuzz_regress qga

S=$'\xff{"return": $}'
mkdir -p "$TMP/seed"
# seed CHUNK STEP NAME LINE...: the two control bytes, then the guest's lines.
seed() {
	local f="$TMP/seed/$3"
	printf '%b%b' "$1" "$2" >"$f"; shift 3
	printf '%s\n' "$@" >>"$f"
}
seed A '\0' sync "$S"
seed '~' '\0' replies "$S" '{"return": {}}' '{"return": {"version": "7.2.0", "supported_commands": []}}' \
    '{"error": {"class": "GenericError", "desc": "nope"}}' '{"return": {"id": "debian", "name": "Debian GNU/Linux"}}'
seed '!' 'd' timeouts "$S" '{"return": {}}' '{"return": {}}' "$S" '{"return": {}}'
seed z '\0' stale $'\xff{"return": 12345}' "garbage" "$S" '{"return": {}}'
seed 0 '\0' free "$S" '{"error": {"class": "GenericError", "desc": "FUZZ_FREE"}}' '{"return": {}}'
seed 5 '\x7f' junk "$S" '{"return": [], "x": 1' '[1,2]' 'nonsense' $'\xff\xff\xff' "$S" '{"return": 1}'
seed 9 '\x01' shutdown "$S" '{"return": {}}' '{"error": {"class": "GenericError", "desc": "shutdown failed"}}' "$S" '{"return": {}}'
n=$(ls "$TMP/seed" | wc -l)
check "seed corpus: $n sessions" test "$n" -ge 7
fuzz_run qga -max_len=8192
done_testing
