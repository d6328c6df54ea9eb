#!/bin/bash
# `make check-layers` (scripts/check-layers) on the real tree passes, and it
# is not a check that cannot fail: on a copy of the tree it must catch
#   - an upward #include planted in src/lib,
#   - a sideways #include between neighbours (storage -> qemu),
#   - an upward call in a real object (a lib object calling vmd),
#   - a call cycle between two daemon files (two real objects).
set -u
. "$VMS_TOP/tests/lib/tap.sh"
cd "$VMS_TOP" || exit 2
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT

out=$(make --no-print-directory check-layers 2>&1); rc=$?
if [ $rc = 0 ]; then ok "make check-layers passes on the tree: $(echo "$out" | tail -1)"
else notok "make check-layers fails on the tree:"; echo "$out" | sed 's/^/# /'; fi

cp -r src "$TMP/src"
mkdir -p "$TMP/obj"; cp -r build/src/. "$TMP/obj/"
sh scripts/check-layers "$TMP/src" "$TMP/obj" >/dev/null 2>&1
[ $? = 0 ] && ok "the copy of the tree passes too" || notok "the copy of the tree fails"

# 1. an upward include
sed -i '0,/#include "lib\/util.h"/s//#include "lib\/util.h"\n#include "vmd\/daemon.h"/' "$TMP/src/lib/util.c"
out=$(sh scripts/check-layers "$TMP/src" "$TMP/obj" 2>&1); rc=$?
if [ $rc != 0 ] && echo "$out" | grep -q "src/lib/util.c:[0-9]*: upward include \"vmd/daemon.h\""; then
	ok "a planted upward include (lib -> vmd) fails, naming file:line"
else notok "planted upward include not caught (rc $rc)"; echo "$out" | sed 's/^/# /'; fi
cp src/lib/util.c "$TMP/src/lib/util.c"

# 2. a sideways include
sed -i '0,/#include "lib\/util.h"/s//#include "lib\/util.h"\n#include "qemu\/qmp.h"/' "$TMP/src/storage/raw.c"
out=$(sh scripts/check-layers "$TMP/src" "$TMP/obj" 2>&1); rc=$?
if [ $rc != 0 ] && echo "$out" | grep -q "src/storage/raw.c:[0-9]*: sideways include \"qemu/qmp.h\""; then
	ok "a planted sideways include (storage -> qemu) fails"
else notok "planted sideways include not caught (rc $rc)"; echo "$out" | sed 's/^/# /'; fi
cp src/storage/raw.c "$TMP/src/storage/raw.c"

# 3. an upward call: a real lib object that calls daemon_stop_all
cat >"$TMP/src/lib/planted.c" <<'C'
void daemon_stop_all(void *d);
void planted(void *d);
void planted(void *d) { daemon_stop_all(d); }
C
cc -c -o "$TMP/obj/lib/planted.o" "$TMP/src/lib/planted.c" || exit 2
out=$(sh scripts/check-layers "$TMP/src" "$TMP/obj" 2>&1); rc=$?
if [ $rc != 0 ] && echo "$out" | grep -q "lib/planted -> vmd/[a-z_]*: calls daemon_stop_all"; then
	ok "a planted upward call (lib object -> vmd) fails"
else notok "planted upward call not caught (rc $rc)"; echo "$out" | sed 's/^/# /'; fi
rm -f "$TMP/src/lib/planted.c" "$TMP/obj/lib/planted.o"

# 4. a call cycle between two daemon files
cat >"$TMP/src/vmd/ping.c" <<'C'
void pong(int n);
void ping(int n);
void ping(int n) { if (n) pong(n - 1); }
C
cat >"$TMP/src/vmd/pong.c" <<'C'
void ping(int n);
void pong(int n);
void pong(int n) { if (n) ping(n - 1); }
C
cc -c -o "$TMP/obj/vmd/ping.o" "$TMP/src/vmd/ping.c" && cc -c -o "$TMP/obj/vmd/pong.o" "$TMP/src/vmd/pong.c" || exit 2
out=$(sh scripts/check-layers "$TMP/src" "$TMP/obj" 2>&1); rc=$?
if [ $rc != 0 ] && echo "$out" | grep -q "call cycle: vmd/p[io]ng -> vmd/p[io]ng -> vmd/p[io]ng"; then
	ok "a planted call cycle (vmd/ping <-> vmd/pong) fails"
else notok "planted call cycle not caught (rc $rc)"; echo "$out" | sed 's/^/# /'; fi

# 5. a file outside every layer
mkdir -p "$TMP/src/misc"; echo 'int x;' >"$TMP/src/misc/x.c"; rm -f "$TMP/src/vmd/ping.c" "$TMP/src/vmd/pong.c"
out=$(sh scripts/check-layers "$TMP/src" "$TMP/obj" 2>&1); rc=$?
if [ $rc != 0 ] && echo "$out" | grep -q "src/misc/x.c: not in any layer"; then
	ok "a file in a folder that is no layer fails"
else notok "unknown folder not caught (rc $rc)"; echo "$out" | sed 's/^/# /'; fi
done_testing
