#!/bin/bash
# Live migration between two vmservice hosts (issue 19): two network
# namespaces with a daemon and a real sshd each (tests/lib/twohost.sh), the
# real ssh client, the test guest (accel tcg) declared on both.
#   shared storage   src -> dst: exit 0, QEMU's downtime printed, the guest's
#                    uptime goes on and it did not boot again (its disk's
#                    record), src shows it `migrated` and will not start it
#                    (start, reload, a new daemon as at boot) without --force;
#                    and back dst -> src
#   hardware         dst declares other memory: refused with the diff, the
#                    guest runs on at src
#   failures         the migration slowed (max-bandwidth) and, half-way:
#                    dst's QEMU killed; the ssh client killed; src's QEMU
#                    killed (restart = always: it boots again at src); src's
#                    daemon killed (the QEMU resumes by itself, a new daemon
#                    adopts it); dst's daemon killed (its vmctl and the stream
#                    end with it: the guest runs on at src); dst's word lost
#                    after completion (src stays handed-over, paused, never
#                    resumed on a guess, also by a restarted daemon that adopts
#                    it; --done). After each: exactly one
#                    running copy.
#   --copy-storage   dst's disk is another file (QEMU's NBD server there, a mirror
#                    job here): a smaller one refused; the guest's record arrives
#                    in it, later writes land only there
source "$VMS_TOP/tests/lib/tap.sh"
source "$VMS_TOP/tests/daemon/lib.sh"
source "$VMS_TOP/tests/lib/guest.sh"
source "$VMS_TOP/tests/lib/twohost.sh"
need_daemon
t0=$(date +%s)
CONF_HALT=20 twohost_init
need_guest
guest_disk_new "$TMP/g.img"
truncate -s "$(stat -c %s "$TMP/g.img")" "$TMP/g-dst.img"
chmod 0666 "$TMP/g.img" "$TMP/g-dst.img"
P=4560
gvm() {	# gvm SIDE [LINES...]: the guest as VM g on SIDE
	local side=$1; shift
	twohost_vm "$side" g 'machine = "pc"' 'memory = 128M' "kernel = \"$GUEST_KERNEL\"" \
	    "initrd = \"$GUEST_INITRD\"" "append = \"$(guest_append cooperative "")\"" \
	    "serial = $P" 'restart = always' 'halt = acpi' \
	    "disk { file = \"$TMP/g.img\"  format = raw }" "$@"
}
gvm src
gvm dst 'autostart = no'
if ! twohost_start; then
	notok "both hosts come up"
	twohost_logs
	exit 1
fi
ok "two hosts up, g declared on both"
DST=ssh://root@$DST_IP SRC=ssh://root@$SRC_IP
field_of() { twohost_field "$@"; }
state() { twohost_field "$1" g state; }
# qemus: how many QEMUs of g run (both hosts share the process table).
qemus() { pgrep -f -- "-name guest=g " | wc -l | tr -d ' '; }
# one_qemu: the count settles at 1 (a killed or quitting QEMU takes a moment to go).
one_qemu() {
	for _ in $(seq 50); do [ "$(qemus)" = 1 ] && return 0; sleep 0.1; done
	diag "QEMUs of g: $(pgrep -af -- "-name guest=g " | tr '\n' ';')"
	return 1
}
# uptime SIDE: the guest's /proc/uptime over that side's serial console.
uptime_on() {
	local ns tag=u$RANDOM
	ns=$([ "$1" = src ] && echo "$SRC_NS" || echo "$DST_NS")
	guest_console "SYSTEM:ip netns exec $ns socat - TCP\:127.0.0.1\:$P" \
	    "echo $tag-\$(cut -d' ' -f1 /proc/uptime)" "^$tag-[0-9]" 10 |
	    sed -n "s/^$tag-\([0-9.]*\).*/\1/p" | tail -n 1
}
boots() { guest_disk_boots "$1"; }

if ! guest_wait_ready "$TMP/src/log/g.console.log" 90 >/dev/null; then
	notok "the guest boots at src"
	twohost_logs
	exit 1
fi
ok "the guest boots at src"
sleep 2
u0=$(uptime_on src)
check "its uptime is read over the serial console ($u0 s)" test -n "$u0"

# ---- shared storage, src -> dst ----
out=$(vmctl_src migrate g "$DST" 2>&1); rc=$?
check_eq "vmctl migrate g $DST: exit 0" "$rc" 0
check_match "it prints QEMU's downtime and total time" "$out" \
    "^g: migrated to $DST_IP: downtime [0-9]+ ms, total [0-9]+ ms$"
diag "$out"
check_eq "dst: running" "$(state dst)" running
for _ in $(seq 50); do [ "$(state src)" = migrated ] && break; sleep 0.1; done
check_eq "src: migrated" "$(state src)" migrated
check_eq "src: stop detail names the host" "$(field_of src g stop_detail)" "migrated: $DST_IP"
check "one QEMU of g" one_qemu
u1=$(uptime_on dst)
check "the guest's uptime goes on at dst ($u0 s -> $u1 s)" \
    awk -v a="$u0" -v b="$u1" 'BEGIN { exit !(b + 0 > a + 0 && a + 0 > 0) }'
check_eq "it did not boot again (its disk: boots=1)" "$(boots "$TMP/g.img")" 1
out=$(vmctl_src start g 2>&1); rc=$?
check_eq "src: start g refused (exit 1)" "$rc" 1
check_match "  ... saying where it runs and --force" "$out" "migrated: $DST_IP.*--force"
vmctl_src reload >/dev/null 2>&1
sleep 0.5
check_eq "src: a reload does not start it" "$(state src)" migrated
# As at the host's next boot: a new daemon, no intent file (run_dir is a tmpfs
# there), autostart = yes: the stop reason kept in state_dir says it is away.
kill -TERM "$SRC_DPID"; wait "$SRC_DPID" 2>/dev/null
rm -f "$TMP/src/run/g.intent"
check "src: a new daemon" twohost_daemon src
sleep 1
check_eq "src: not started at its start (autostart = yes)" "$(state src)" migrated
check_match "  ... the daemon says why" "$(cat "$TMP/src/daemon.log")" \
    "g: not started: migrated: $DST_IP \(vmctl start --force\)"
check "still one QEMU of g" one_qemu

# ---- and back, dst -> src ----
out=$(vmctl_dst migrate g "$SRC" 2>&1); rc=$?
check_eq "back: vmctl migrate g $SRC: exit 0" "$rc" 0
check_eq "back: src running" "$(state src)" running
for _ in $(seq 50); do [ "$(state dst)" = migrated ] && break; sleep 0.1; done
check_eq "back: dst migrated" "$(state dst)" migrated
check_eq "back: boots=1 still" "$(boots "$TMP/g.img")" 1

# ---- other hardware at dst: refused with the diff ----
sed -i 's/memory = 128M/memory = 256M/' "$TMP/dst/vms.conf"
vmctl_dst reload >/dev/null 2>&1
out=$(vmctl_src migrate g "$DST" 2>&1); rc=$?
check_eq "other memory at dst: exit 1" "$rc" 1
check_match "  ... the diff: - memory: 128M" "$out" "^- memory: 128M$"
check_match "  ... + memory: 256M" "$out" "^\+ memory: 256M$"
check_eq "  ... g runs on at src" "$(state src)" running
sed -i 's/memory = 256M/memory = 128M/' "$TMP/dst/vms.conf"
vmctl_dst reload >/dev/null 2>&1

# ---- failures half-way: exactly one running copy ----
slow() {	# the next migration at 1 MB/s
	vmctl_src qmp g '{"execute":"migrate-set-parameters","arguments":{"max-bandwidth":1048576}}' \
	    >/dev/null 2>&1
}
# begin: start a slowed migration in the background; wait until it streams.
begin() {
	slow
	vmctl_src migrate g "$DST" >"$TMP/mig.out" 2>&1 &
	MIG=$!
	for _ in $(seq 100); do [ "$(state src)" = migrating ] && [ "$(state dst)" = incoming ] &&
	    break; sleep 0.1; done
	sleep 1
	[ "$(state src)" = migrating ]
}
finish() { wait "$MIG"; MRC=$?; }
dst_qemu() { pgrep -f -- "-name guest=g .*$TMP/dst/run/g.pid" | head -n 1; }
src_qemu() { pgrep -f -- "-name guest=g .*$TMP/src/run/g.pid" | head -n 1; }

# a) dst's QEMU killed
check "a) a slowed migration streams" begin
sleep 1
st=$(vmctl_src status g 2>&1)
diag "$st"
check_match "status shows the progress in the table" "$st" '^g +migrating \([0-9]+%\)'
check_match "  ... and under it: host, done, RAM left, expected downtime" "$st" \
    "^g: migration to $DST_IP: [0-9]+% done, [0-9]+ bytes of RAM left, expected downtime [0-9]+ ms$"
check_match "status --json: the migration member" "$(vmctl_src status g --json 2>&1)" \
    '"migration":\{"direction":"out","host":"10\.77\.0\.2","percent":[0-9]+,"remaining_bytes":[0-9]+,"expected_downtime_ms":[0-9]+'
check_eq "dst: incoming" "$(state dst)" incoming
kill -KILL "$(dst_qemu)" 2>/dev/null
finish
check_eq "a) dst's QEMU killed: vmctl migrate exit 1" "$MRC" 1
check_eq "a) src: running" "$(state src)" running
check_match "a) dst: failed (start-failed)" "$(state dst) $(field_of dst g stop_reason)" \
    '^(failed|stopped) start-failed$'
check "a) one QEMU of g" one_qemu
diag "a) vmctl said: $(tr '\n' ' ' <"$TMP/mig.out")"

# b) the ssh connection killed
check "b) a slowed migration streams" begin
pkill -KILL -f -- "-T -- $DST_IP .*migrate-incoming" || pkill -KILL -f "ssh -F $TMP/ssh_config"
finish
check "b) ssh killed: vmctl migrate fails" test "$MRC" != 0
for _ in $(seq 100); do [ "$(state src)" = running ] && [ "$(state dst)" != incoming ] && break; sleep 0.1; done
check_eq "b) src: running" "$(state src)" running
check "b) dst: not running ($(state dst))" test "$(state dst)" != running
check "b) one QEMU of g" one_qemu
diag "b) vmctl said: $(tr '\n' ' ' <"$TMP/mig.out")"

# c) src's QEMU killed: the guest is lost with it; restart = always boots it at src
check "c) a slowed migration streams" begin
kill -KILL "$(src_qemu)"
finish
check "c) src's QEMU killed: vmctl migrate fails" test "$MRC" != 0
for _ in $(seq 100); do [ "$(state dst)" != incoming ] && break; sleep 0.1; done
check "c) dst: not running ($(state dst))" test "$(state dst)" != running
check "c) src: restarted by its policy" twohost_wait_state src g running 30
check "c) one QEMU of g" one_qemu
guest_wait_line "$TMP/src/log/g.console.log" 'vmservice-guest: ready boot=2' 90 >/dev/null
check_eq "c) it booted again at src (boots=2)" "$(boots "$TMP/g.img")" 2

# d) src's daemon killed: QEMU resumes the guest itself; a new daemon adopts it
check "d) a slowed migration streams" begin
q=$(src_qemu)
kill -KILL "$SRC_DPID"
finish
check "d) src's daemon killed: vmctl migrate fails" test "$MRC" != 0
for _ in $(seq 100); do [ "$(state dst)" != incoming ] && break; sleep 0.1; done
check "d) dst: not running ($(state dst))" test "$(state dst)" != running
twohost_daemon src
check "d) a new src daemon: g running" twohost_wait_state src g running 20
check_eq "d) the same QEMU, adopted" "$(field_of src g pid)" "$q"
check_match "d) its guest runs (QMP query-status)" \
    "$(vmctl_src qmp g '{"execute":"query-status"}' 2>&1)" '"status": *"running"'
check "d) one QEMU of g" one_qemu

# e) dst's daemon killed: its vmctl migrate-incoming ends with it, so does the
# stream: the migration fails, the guest runs on at src
check "e) a slowed migration streams" begin
q=$(src_qemu)
kill -KILL "$DST_DPID"
finish
check_eq "e) dst's daemon killed: vmctl migrate exit 1" "$MRC" 1
for _ in $(seq 100); do [ -z "$(dst_qemu)" ] && break; sleep 0.1; done
check_eq "e) src: running, the same QEMU" "$(state src) $(field_of src g pid)" "running $q"
check_eq "e) dst's QEMU is gone" "$(dst_qemu)" ""
check "e) one QEMU of g" one_qemu
diag "e) vmctl said: $(tr '\n' ' ' <"$TMP/mig.out")"
twohost_daemon dst

# f) the destination's word lost after completion: dst's vmctl migrate-incoming
# stopped (SIGSTOP) while the stream, which bypasses it, completes; then killed.
# src cannot know whether the guest runs there: it stays paused, handed over.
check "f) a slowed migration streams" begin
rv=$(pgrep -f -- "vmctl migrate-incoming g" | tr '\n' ' ')
kill -STOP $rv
# Full speed now (QEMU takes a new max-bandwidth during a migration).
vmctl_src qmp g '{"execute":"migrate-set-parameters","arguments":{"max-bandwidth":134217728}}' \
    >/dev/null 2>&1
for _ in $(seq 300); do [ "$(state src)" = handed-over ] && break; sleep 0.1; done
check_eq "f) the migration completes: src handed-over" "$(state src)" handed-over
kill -KILL $rv
finish
check_eq "f) no word from dst: vmctl migrate exit 1" "$MRC" 1
check_match "f) it says the guest is paused here, --done or --resume" \
    "$(tr '\n' ' ' <"$TMP/mig.out")" 'paused here \(state handed-over\).*--done.*--resume'
check_match "f) src's guest is paused (postmigrate)" \
    "$(vmctl_src qmp g '{"execute":"query-status"}' 2>&1)" '"status": *"postmigrate"'
check_eq "f) dst runs it" "$(state dst)" running
check_eq "f) src stays handed-over (never resumed on a guess)" "$(sleep 1; state src)" handed-over
# src's daemon restarted meanwhile (an upgrade, a crash): the new one adopts
# the paused QEMU as handed-over, not as a running guest.
q=$(src_qemu)
kill -KILL "$SRC_DPID"; wait "$SRC_DPID" 2>/dev/null
twohost_daemon src
for _ in $(seq 100); do [ "$(state src)" = handed-over ] && break; sleep 0.1; done
check_eq "f) a new src daemon adopts it handed-over, the same QEMU" \
    "$(state src) $(field_of src g pid)" "handed-over $q"
check_match "f) ... still paused (postmigrate)" \
    "$(vmctl_src qmp g '{"execute":"query-status"}' 2>&1)" '"status": *"postmigrate"'
out=$(vmctl_src migrate g --done 2>&1); rc=$?
check_eq "f) vmctl migrate g --done: exit 0" "$rc" 0
for _ in $(seq 50); do [ "$(state src)" = migrated ] && break; sleep 0.1; done
check_eq "f) src: migrated" "$(state src)" migrated
check "f) one QEMU of g" one_qemu
# Back to src for what follows.
out=$(vmctl_dst migrate g "$SRC" 2>&1); rc=$?
check_eq "f) and back to src: exit 0" "$rc" 0

# ---- --copy-storage: dst's disk is its own file ----
sed -i "s|$TMP/g.img|$TMP/g-dst.img|" "$TMP/dst/vms.conf"
vmctl_dst reload >/dev/null 2>&1
# A smaller image there: the mirror refuses it, the guest runs on at src.
truncate -s 512K "$TMP/g-dst.img"
out=$(vmctl_src migrate g "$DST" --copy-storage 2>&1); rc=$?
check_eq "--copy-storage onto a smaller image: exit 1" "$rc" 1
check_match "  ... QEMU's reason" "$out" 'copying|size'
diag "$out"
check_eq "  ... src: running" "$(state src)" running
for _ in $(seq 50); do [ "$(state dst)" != incoming ] && break; sleep 0.1; done
check "  ... dst: not running ($(state dst))" test "$(state dst)" != running
check "  ... one QEMU of g" one_qemu
truncate -s "$(stat -c %s "$TMP/g.img")" "$TMP/g-dst.img"
vmctl_src qmp g '{"execute":"migrate-set-parameters","arguments":{"max-bandwidth":134217728}}' \
    >/dev/null 2>&1
b=$(boots "$TMP/g.img")
out=$(vmctl_src migrate g "$DST" --copy-storage 2>&1); rc=$?
check_eq "--copy-storage: exit 0" "$rc" 0
diag "$out"
check_eq "--copy-storage: dst running" "$(state dst)" running
check_match "--copy-storage: src's QEMU mirrored the disk over NBD (its job was ready)" \
    "$(cat "$TMP/src/daemon.log")" 'QMP BLOCK_JOB_READY mig-disk0-[0-9]+'
check_match "--copy-storage: dst waited for the source's disks before running it" \
    "$(cat "$TMP/dst/daemon.log")" 'the source is done with the disks: the guest runs here'
check_match "--copy-storage: one ssh channel for the disk, run by vmctl migrate-nbd" \
    "$(cat "$TMP/remote.log")" 'migrate-nbd g disk0' 
check_eq "--copy-storage: the guest's disk record arrived in dst's own image" \
    "$(boots "$TMP/g-dst.img")" "$b"
vmctl_dst stop g >/dev/null 2>&1
check_eq "--copy-storage: the guest stops cleanly at dst: its record there" \
    "$(guest_disk_clean "$TMP/g-dst.img")" 1
check_eq "--copy-storage: src's image untouched since (clean=0)" \
    "$(guest_disk_clean "$TMP/g.img")" 0
diag "took $(( $(date +%s) - t0 )) s"
done_testing
