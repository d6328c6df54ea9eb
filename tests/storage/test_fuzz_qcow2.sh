#!/bin/bash
# A bounded libFuzzer run of the qcow2 parser (tests/fuzz/fuzz_qcow2.c) on a
# seed corpus made now by vmimg (and qemu-img when present). A crash fails
# the test and leaves the input in build/fuzz/artifacts/ to become a
# regression case in tests/unit/test_storage_fuzz_regress.c.
# FUZZ_SECONDS (default 20) sets the budget.
. "$VMS_TOP/tests/lib/tap.sh"
scratch
V="$VMS_BIN/vmimg"
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
F="$VMS_TOP/build/fuzz/fuzz_qcow2"

if ! command -v "${FUZZ_CC:-clang}" >/dev/null; then
	skip "qcow2 fuzzing" "${FUZZ_CC:-clang} not installed"
	done_testing; exit
fi
# A toolchain without the libFuzzer runtime (Debian: libclang-rt-14-dev) is
# a reason to skip; our own code failing to build with it is a failure.
printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n);\n%s\n' \
    'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return d && n; }' \
    >"$TMP/probe.c"
if ! "${FUZZ_CC:-clang}" -fsanitize=fuzzer,address,undefined -o "$TMP/probe" "$TMP/probe.c" \
    >"$TMP/probe.log" 2>&1; then
	why=$(grep -m1 -iE 'cannot find|error' "$TMP/probe.log")
	skip "qcow2 fuzzing" "no libFuzzer runtime (install libclang-rt-14-dev): ${why:-link failed}"
	done_testing; exit
fi
if make -s -C "$VMS_TOP" fuzz-storage >"$TMP/build.log" 2>&1; then
	ok "fuzz target builds (clang -fsanitize=fuzzer,address,undefined)"
else
	notok "fuzz target builds"
	sed 's/^/# /' "$TMP/build.log" | tail -n 20
	done_testing; exit
fi

# Seeds: small images of every shape we parse (512-byte clusters keep them small).
S="$TMP/seed"; mkdir -p "$S" "$TMP/corpus"
head -c 24000 "$VMS_TOP/src/storage/qcow2.c" > "$TMP/t.raw"
head -c 8192 /dev/urandom >> "$TMP/t.raw"
truncate -s 64K "$TMP/t.raw"
"$V" create -f qcow2 -o cluster_size=512 "$S/plain" 1M
"$V" create -f qcow2 -o cluster_size=512,refcount_bits=1 "$S/rc1" 1M
"$V" create -f qcow2 -o cluster_size=512 -b plain -F qcow2 "$S/overlay"
"$V" convert -O qcow2 -o cluster_size=512 "$TMP/t.raw" "$S/data"
"$V" convert -c -O qcow2 -o cluster_size=512 "$TMP/t.raw" "$S/compressed"
"$V" convert -O qcow2 -o cluster_size=1K,compat=0.10 "$TMP/t.raw" "$S/v2"
"$V" convert -c -O qcow2 -o cluster_size=4K "$TMP/t.raw" "$S/c4k"
"$V" convert -c -O qcow2 -o cluster_size=512,compression_type=zstd "$TMP/t.raw" "$S/zstd"
"$V" convert -O qcow2 -o cluster_size=16K,extended_l2=on "$TMP/t.raw" "$S/extl2"
"$V" create -f qcow2 -o cluster_size=16K,extended_l2=on -b plain -F qcow2 "$S/extl2-overlay"
cp "$S/data" "$S/snapshots"	# a snapshot table, shared tables, COPIED flags
"$V" snapshot -c one "$S/snapshots" && "$V" snapshot -c two "$S/snapshots"
if command -v qemu-img >/dev/null; then
	qemu-img convert -c -O qcow2 -o cluster_size=512 "$TMP/t.raw" "$S/qemu-c"
	qemu-img create -q -f qcow2 -o cluster_size=512 "$S/qemu-plain" 1M
	qemu-img snapshot -c snap "$S/qemu-plain" 2>/dev/null
fi
n=$(ls "$S" | wc -l)
check "seed corpus: $n images" test "$n" -ge 7

mkdir -p "$VMS_TOP/build/fuzz/artifacts"
"$F" -max_total_time="$FUZZ_SECONDS" -timeout=30 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$VMS_TOP/build/fuzz/artifacts/" "$TMP/corpus" "$S" \
    >"$TMP/fuzz.log" 2>&1
rc=$?
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$TMP/fuzz.log")
if [ $rc -eq 0 ]; then
	ok "no crash in ${FUZZ_SECONDS}s (${runs:-?} inputs)"
else
	notok "fuzzer found a crash (exit $rc); input in build/fuzz/artifacts/"
	grep -E 'ERROR|SUMMARY|#[0-9]+ 0x' "$TMP/fuzz.log" | head -n 20 | sed 's/^/# /'
fi
done_testing
