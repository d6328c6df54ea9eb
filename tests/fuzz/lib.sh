# shellcheck shell=bash
# Shared by tests/fuzz/test_fuzz_*.sh: build a libFuzzer target of
# mk/fuzz.mk, replay its regression inputs, fuzz it for FUZZ_SECONDS
# (default 15) from a seed corpus the script made in $TMP/seed.
# source after tests/lib/tap.sh and scratch.
FUZZ_SECONDS=${FUZZ_SECONDS:-10}

# fuzz_build NAME: builds build/fuzz/fuzz_NAME or SKIPs the whole script.
fuzz_build() {
	F="$VMS_TOP/build/fuzz/fuzz_$1"
	if ! command -v "${FUZZ_CC:-clang}" >/dev/null; then
		skip "$1 fuzzing" "${FUZZ_CC:-clang} not installed"
		done_testing; exit
	fi
	if ! make -s -C "$VMS_TOP" "build/fuzz/fuzz_$1" >"$TMP/build.log" 2>&1; then
		local why
		why=$(grep -m1 -iE 'error|cannot find|undefined' "$TMP/build.log")
		skip "$1 fuzzing" "the libFuzzer target does not build here: ${why:-see make fuzz-harden}"
		done_testing; exit
	fi
	ok "fuzz_$1 builds (clang -fsanitize=fuzzer,address,undefined)"
}

# fuzz_regress NAME: every tests/fuzz/regress/NAME/* input (text, once a
# crash) runs cleanly.
fuzz_regress() {
	local r f n=0 bad=0
	for r in "$VMS_TOP"/tests/fuzz/regress/"$1"/*; do
		[ -f "$r" ] || continue
		n=$((n + 1))
		f=$TMP/regress.$n
		# Text form: "\n" at the end of a file is part of the input as written.
		cp "$r" "$f"
		if ! TMPDIR="$TMP" "$F" -runs=1 -timeout=10 "$f" </dev/null >"$TMP/regress.log" 2>&1; then
			bad=$((bad + 1))
			diag "regression input ${r#"$VMS_TOP"/} fails again:"
			grep -E 'ERROR|SUMMARY|#[0-9]+ 0x' "$TMP/regress.log" | head -n 10 | sed 's/^/# /'
		fi
	done
	[ $n -eq 0 ] || check_eq "$1: $n regression inputs replay cleanly" "$bad" 0
}

# fuzz_run NAME [LIBFUZZER ARGS]: fuzz from $TMP/seed for FUZZ_SECONDS.
fuzz_run() {
	local name=$1 rc runs eps; shift
	mkdir -p "$VMS_TOP/build/fuzz/artifacts" "$TMP/corpus"
	TMPDIR="$TMP" "$F" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 \
	    -print_final_stats=1 -artifact_prefix="$VMS_TOP/build/fuzz/artifacts/$name-" \
	    "$@" "$TMP/corpus" "$TMP/seed" </dev/null >"$TMP/fuzz.log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$TMP/fuzz.log")
	eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$TMP/fuzz.log")
	if [ $rc -eq 0 ]; then
		ok "$name: no crash in ${FUZZ_SECONDS}s (${runs:-?} inputs, ${eps:-?}/s, corpus $(ls "$TMP/corpus" | wc -l))"
	else
		notok "$name: fuzzer found a crash (exit $rc); input in build/fuzz/artifacts/$name-*"
		grep -E 'ERROR|SUMMARY|#[0-9]+ 0x' "$TMP/fuzz.log" | head -n 20 | sed 's/^/# /'
	fi
}
