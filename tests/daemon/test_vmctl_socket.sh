#!/bin/bash
# vmctl finds the daemon's control socket without loading the inventory
# (issue 13): -s, else $VMSERVICE_SOCKET, else run_dir read from the file as
# plain text, else the compiled default. So `vmctl status` (and every other
# socket command) answers while the file has errors, opens nothing the file
# includes, runs no emulator, and a socket that is not there is named in the
# error.
source "$VMS_TOP/tests/lib/tap.sh"
source "$VMS_TOP/tests/daemon/lib.sh"
need_daemon
scratch_daemon

conf_head
conf_vm a
conf_vm b
check "daemon starts" start_daemon
check "a running" wait_state a running
check "b running" wait_state b running
V="$VMS_BIN/vmctl"
cp "$TMP/vms.conf" "$TMP/good.conf"
# Runs vmctl with neither $VMSERVICE_CONF nor $VMSERVICE_SOCKET from outside.
v() { env -u VMSERVICE_CONF -u VMSERVICE_SOCKET "$V" "$@"; }

# --- a syntax error in the file the daemon loaded earlier ---
echo 'vm broken { memory = ' >>"$TMP/vms.conf"
v check-config -c "$TMP/vms.conf" >/dev/null 2>&1; rc=$?
check_eq "the file is broken: check-config exits 1" "$rc" 1
out=$(v -c "$TMP/vms.conf" status 2>"$TMP/err"); rc=$?
check_eq "status with the broken file: exit 0" "$rc" 0
check_match "it lists a, running" "$out" '^a +running '
check_match "it lists b, running" "$out" '^b +running '
check_eq "and says nothing on stderr (the file is not validated)" "$(cat "$TMP/err")" ""
out=$(v status -c "$TMP/vms.conf" b --json); rc=$?
check_eq "status NAME -c FILE (per-command -c), broken file: exit 0" "$rc" 0
check_match "its JSON names b" "$out" '"name":"b","state":"running"'
out=$(v -c "$TMP/vms.conf" stop b); rc=$?
check_eq "stop b through the broken file's run_dir: exit 0" "$rc" 0
check_eq "b is stopped" "$(field b state)" stopped
out=$(v -c "$TMP/vms.conf" start b); rc=$?
check_eq "start b likewise: exit 0" "$rc" 0
out=$(v -c "$TMP/vms.conf" monitor a 'info status'); rc=$?
check_eq "monitor a (a socket command) with the broken file: exit 0" "$rc" 0
check_match "it answers HMP's status" "$out" 'running'
v -c "$TMP/vms.conf" show a >/dev/null 2>&1; rc=$?
check_eq "show still loads the inventory: exit 1 on the broken file" "$rc" 1

# --- nothing but the main file is read, nothing is run ---
# The inventory's loader would open the included file (and may ask an
# emulator for its NIC models); the socket lookup reads the main file only.
printf 'vm c {\n\tmachine = "none"\n\tmemory = 16M\n}\n' >"$TMP/inc.conf"
{ cat "$TMP/good.conf"; echo "include = \"$TMP/inc.conf\""; } >"$TMP/with-inc.conf"
if ! command -v strace >/dev/null || ! strace -qq -o /dev/null true 2>/dev/null; then
	skip "status opens only the main file" "no usable strace"
else
	out=$(env -u VMSERVICE_CONF -u VMSERVICE_SOCKET strace -f -qq -e trace=open,openat,execve \
	    -o "$TMP/trace" "$V" -c "$TMP/with-inc.conf" status 2>&1); rc=$?
	check_eq "status under strace: exit 0" "$rc" 0
	check_match "it lists a" "$out" '^a +running '
	check_eq "the main file is opened" "$(grep -c "open.*\"$TMP/with-inc.conf\"" "$TMP/trace")" 1
	check_eq "the included file is not" "$(grep -c "open.*\"$TMP/inc.conf\"" "$TMP/trace")" 0
	check_eq "no program is run (one execve: vmctl's own)" "$(grep -c 'execve(' "$TMP/trace")" 1
fi

# --- $VMSERVICE_SOCKET ---
out=$(cd "$TMP" && env -u VMSERVICE_CONF VMSERVICE_SOCKET="$(SOCK)" "$V" status 2>&1); rc=$?
check_eq "VMSERVICE_SOCKET with no -c and no config file: exit 0" "$rc" 0
check_match "it lists a" "$out" '^a +running '
out=$(VMSERVICE_CONF="$TMP/none.conf" VMSERVICE_SOCKET="$(SOCK)" "$V" status 2>&1); rc=$?
check_eq "VMSERVICE_SOCKET comes before a missing \$VMSERVICE_CONF: exit 0" "$rc" 0
printf 'run_dir = "%s/elsewhere"\n' "$TMP" >"$TMP/elsewhere.conf"
out=$(env -u VMSERVICE_CONF VMSERVICE_SOCKET="$(SOCK)" "$V" -c "$TMP/elsewhere.conf" status 2>&1)
rc=$?
check_eq "VMSERVICE_SOCKET comes before the run_dir of -c FILE: exit 0" "$rc" 0

# --- -s wins over the environment ---
out=$(VMSERVICE_SOCKET="$TMP/nope.sock" "$V" status -s "$(SOCK)" 2>&1); rc=$?
check_eq "status -s SOCKET wins over a wrong VMSERVICE_SOCKET: exit 0" "$rc" 0
check_match "it lists b" "$out" '^b +running '
out=$(VMSERVICE_SOCKET="$TMP/nope.sock" "$V" -s "$(SOCK)" status 2>&1); rc=$?
check_eq "vmctl -s SOCKET status (before the command) wins too: exit 0" "$rc" 0
out=$(env -u VMSERVICE_SOCKET "$V" -s "$TMP/nope.sock" status -s "$(SOCK)" 2>&1); rc=$?
check_eq "the command's -s wins over the one before it" "$rc" 0

# --- a wrong socket: a clear error naming it, non-zero ---
out=$(v -s "$TMP/nope.sock" status 2>&1); rc=$?
check_eq "status -s on a missing socket: exit 4" "$rc" 4
check_match "the error names the path" "$out" "cannot connect to $TMP/nope.sock"
out=$(env -u VMSERVICE_CONF VMSERVICE_SOCKET="$TMP/nope.sock" "$V" stop a 2>&1); rc=$?
check_eq "stop with a wrong VMSERVICE_SOCKET: exit 4" "$rc" 4
check_match "the error names that path" "$out" "cannot connect to $TMP/nope.sock"
check_eq "a is untouched" "$(field a state)" running
out=$(v -c "$TMP/elsewhere.conf" status 2>&1); rc=$?
check_eq "a file whose run_dir has no daemon: exit 4" "$rc" 4
check_match "the error names run_dir's socket" "$out" "cannot connect to $TMP/elsewhere/vmservice.sock"
out=$(v -c "$TMP/missing.conf" status 2>&1); rc=$?
check_eq "-c naming a file that does not exist: exit 4" "$rc" 4
check_match "the error names the file" "$out" "cannot read $TMP/missing.conf: No such file"

# --- the text scan: relative run_dir, comments, the last assignment wins ---
mkdir "$TMP/sub"
cat >"$TMP/sub/rel.conf" <<EOC
# run_dir = "/nowhere"
run_dir = "/not/this/one"
  run_dir="../run"   # relative to the file's directory, as the inventory has it
EOC
out=$(cd / && v -c "$TMP/sub/rel.conf" status 2>&1); rc=$?
check_eq "relative run_dir, last assignment wins: exit 0" "$rc" 0
check_match "it lists a" "$out" '^a +running '

# --- how long a status takes with the socket given ---
ms=()
for ((i = 0; i < 20; i++)); do
	t0=$(date +%s%N)
	v -s "$(SOCK)" status >/dev/null || break
	t1=$(date +%s%N)
	ms+=($(( (t1 - t0) / 1000 )))
done
med=$(printf '%s\n' "${ms[@]}" | sort -n | sed -n 10p)
diag "vmctl -s SOCKET status: median of ${#ms[@]} runs $((med / 1000)).$(printf %03d $((med % 1000))) ms"
check_eq "20 timed status runs answered" "${#ms[@]}" 20
check "median under 1 s (a generous bound: no inventory, no QEMU)" test "$med" -lt 1000000

stop_daemon
check_eq "daemon exits 0" "$DRC" 0
done_testing
