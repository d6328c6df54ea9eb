#!/bin/bash
# Robustness: damaged copies of the good config and the example (bytes cut
# out, braces, quotes and comment markers dropped in) must each end in
# "ok" or a list of errors: exit 0 or 1, never a crash or a sanitizer
# report. Fixed seed, so a failure reproduces.
source "$VMS_TOP/tests/lib/tap.sh"
VMCTL=$VMS_BIN/vmctl
scratch
dir=$VMS_TOP/tests/config
mkdir -p "$TMP/good"
cp -r "$dir/emu" "$dir/files" "$TMP/"
src=$(cat "$dir/good/all.conf" "$VMS_TOP/etc/vmservice.conf")
toks=('{' '}' '"' "'" '=' '+=' ',' '#' '/*' '*/' '//' $'\n' 'vm' 'disk {' 'nic' 'include' '(' ')' '\' '${HOME}')
RANDOM=4242
runs=${MUTATE_RUNS:-40}
crashes=0
for ((i = 0; i < runs; i++)); do
	s=$src
	for ((k = RANDOM % 6; k >= 0; k--)); do
		p=$(( (RANDOM * 32768 + RANDOM) % ${#s} ))
		if ((RANDOM % 2)); then
			s=${s:0:p}${s:p+RANDOM%20}
		else
			s=${s:0:p}${toks[RANDOM % ${#toks[@]}]}${s:p}
		fi
	done
	printf '%s\n' "$s" >"$TMP/good/m.conf"
	"$VMCTL" check-config -c "$TMP/good/m.conf" >/dev/null 2>"$TMP/err"; rc=$?
	if [ "$rc" -gt 1 ] || grep -qE 'Sanitizer|runtime error' "$TMP/err"; then
		crashes=$((crashes + 1))
		cp "$TMP/good/m.conf" "$VMS_TOP/build/mutate-crash-$i.conf"
		diag "run $i: exit $rc, input kept in build/mutate-crash-$i.conf"
		sed 's/^/#   /' "$TMP/err" | tail -n 5
	fi
done
check_eq "$runs damaged configs: no crash" "$crashes" 0
done_testing
