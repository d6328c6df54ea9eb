#!/bin/bash
# A bounded libFuzzer run of the inventory loader (tests/fuzz/fuzz_inventory.c)
# seeded with every good and bad config of tests/config, and a dictionary of
# the option names in src/config/inv_schema.c.
. "$VMS_TOP/tests/lib/tap.sh"
. "$VMS_TOP/tests/fuzz/lib.sh"
scratch
fuzz_build inventory
fuzz_regress inventory

mkdir -p "$TMP/seed"
i=0
for c in "$VMS_TOP"/tests/config/good/*.conf "$VMS_TOP"/tests/config/good/inc/* \
    "$VMS_TOP"/tests/config/bad/*.conf "$VMS_TOP"/tests/config/bad/inc/*; do
	[ -f "$c" ] || continue
	i=$((i + 1))
	cp "$c" "$TMP/seed/$i.conf"
done
check "seed corpus: $i configs" test "$i" -ge 40
{
	sed -n 's/^[[:space:]]*{ "\([a-z_]*\)",.*/"\1"/p' "$VMS_TOP/src/config/inv_schema.c" | sort -u
	for t in '"vm"' '"boot"' '"disk"' '"nic"' '"include"' '"{"' '"}"' '"="' '"\""' \
	    '"#"' '"//"' '"/*"' '"*/"' '"yes"' '"no"' '"none"' '"auto"' '"512M"' '"1G"'; do
		echo "$t"
	done
} >"$TMP/dict"
check "dictionary: $(wc -l <"$TMP/dict") words" test "$(wc -l <"$TMP/dict")" -ge 40
fuzz_run inventory -max_len=4096 -dict="$TMP/dict"
done_testing
