#!/bin/bash
# metrics_file (issue 17): Prometheus text for node_exporter's textfile
# collector, with cheap machine = none VMs under the real daemon:
# - written at start: a running VM up with its uptime, QEMU CPU and RSS, a
#   stopped one down; every line valid exposition format; the daemon's RSS;
# - within ~1 s of a change (a crash: up 0, last_stop_reason crashed);
# - replaced by rename (a new inode each write, no temporary file left),
#   refreshed every metrics_interval with no change (the counters move);
# - the last state written at the daemon's exit; a reload that drops
#   metrics_file stops the writes.
source "$VMS_TOP/tests/lib/tap.sh"
source "$VMS_TOP/tests/daemon/lib.sh"
need_daemon
scratch_daemon

mkdir -p "$TMP/prom"
M=$TMP/prom/vmservice.prom
conf_head 1 1
cat >>"$TMP/vms.conf" <<EOF
metrics_file = "$M"
metrics_interval = 1
EOF
conf_vm a
conf_vm b 'autostart = no'
check "daemon starts" start_daemon
check "a running" wait_state a running
sleep 1.5
m=$(cat "$M")
check_match "a: state running" "$m" '^vmservice_vm_state\{vm="a",state="running"\} 1$'
check_match "a: up" "$m" '^vmservice_vm_up\{vm="a"\} 1$'
check_match "b: stopped, down" "$m" '^vmservice_vm_state\{vm="b",state="stopped"\} 1$'
check_match "b: not up" "$m" '^vmservice_vm_up\{vm="b"\} 0$'
check_match "a: uptime" "$m" '^vmservice_vm_uptime_seconds\{vm="a"\} [0-9]+\.[0-9]+$'
check_match "a: QEMU's CPU seconds" "$m" '^vmservice_vm_cpu_seconds_total\{vm="a"\} [0-9]+\.[0-9]+$'
check_match "a: QEMU's RSS" "$m" '^vmservice_vm_rss_bytes\{vm="a"\} [1-9][0-9]+$'
check "b: no CPU line (no QEMU)" test -z "$(grep 'cpu_seconds_total{vm="b"' "$M")"
check_match "the daemon's RSS" "$m" '^vmservice_daemon_rss_bytes [1-9][0-9]+$'
check_match "restarts counter" "$m" '^vmservice_vm_restarts_total\{vm="a"\} 0$'
bad=$(grep -vE '^(# (HELP|TYPE) vmservice_[a-z_]+ .+|vmservice_[a-z_]+(\{vm="[a-z0-9_-]+"(,(state|reason)="[a-z-]+")?\})? -?[0-9.]+)$' "$M")
check_eq "every line valid exposition format" "$bad" ""
check_eq "HELP and TYPE once per metric" "$(grep -c '^# TYPE' "$M")" "$(grep '^# TYPE' "$M" | sort -u | wc -l)"

# A change: within about a second.
ino0=$(stat -c %i "$M")
kill -KILL "$(field a pid)"
check "a down" wait_state a stopped
for ((i = 0; i < 30; i++)); do grep -q 'vmservice_vm_up{vm="a"} 0' "$M" && break; sleep 0.1; done
check_match "a crash is in the file within ~1 s (${i}00 ms after the state)" "$(cat "$M")" \
    '^vmservice_vm_last_stop_reason\{vm="a",reason="crashed"\} 1$'
check "replaced by rename (a new inode)" test "$(stat -c %i "$M")" != "$ino0"
check "no temporary file left" test -z "$(ls -A "$TMP/prom" | grep -v '^vmservice.prom$')"

# No change: refreshed every metrics_interval.
vmctl start b >/dev/null
sleep 1.2
c1=$(grep 'cpu_seconds_total{vm="b"' "$M"); r1=$(stat -c %Y.%i "$M")
sleep 2.2
c2=$(grep 'cpu_seconds_total{vm="b"' "$M"); r2=$(stat -c %Y.%i "$M")
check "refreshed without a change ($r1 -> $r2)" test "$r1" != "$r2"
diag "b's CPU: $c1 -> $c2"

# A symlink planted at the temporary name is not followed.
ln -s /etc/passwd "$TMP/prom/.vmservice.prom.tmp"
sum=$(md5sum </etc/passwd)
sleep 1.5
check_eq "a planted link at the temporary name: /etc/passwd untouched" "$(md5sum </etc/passwd)" "$sum"
check_match "... and the file still written" "$(cat "$M")" 'vmservice_vm_up\{vm="b"\} 1'

stop_daemon
check_eq "daemon exits 0" "$DRC" 0
check_match "the last state written at exit" "$(cat "$M")" '^vmservice_vm_state\{vm="b",state="stopped"\} 1$'

# A reload without metrics_file stops the writes.
start_daemon
sed -i '/^metrics_/d' "$TMP/vms.conf"
vmctl reload >/dev/null
sleep 0.3
r1=$(stat -c %Y.%N.%i "$M")
sleep 2.2
check_eq "metrics_file dropped by reload: no more writes" "$(stat -c %Y.%N.%i "$M")" "$r1"
stop_daemon
done_testing
