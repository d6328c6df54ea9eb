#!/bin/bash
# Resource limits without systemd (issue 17), for real, whatever this host
# is: the daemon and vmctl run in a mount namespace of their own (unshare
# -m) where the test decides what /sys/fs/cgroup is, and /run/systemd is
# hidden (no sd_booted()):
#   no cgroup v2   a tmpfs at /sys/fs/cgroup: check-config warns, per VM
#                  and option, [not-limited]; the daemon logs it and the VM
#                  runs anyway
#   cgroup v2      the unified hierarchy mounted there (on a v1 or hybrid
#                  host it has no cpu/memory/io controllers: check-config
#                  says which are missing): the daemon makes
#                  /sys/fs/cgroup/vmservice/NAME, its QEMU runs in it from
#                  the start (the spawn gate), the limit files are written
#                  where the controllers exist (else skipped, saying why),
#                  a reload rewrites them, the group goes with the QEMU
# Under systemd as PID 1 (machined scopes): tests/sysd/test_machine.sh.
source "$VMS_TOP/tests/lib/tap.sh"
source "$VMS_TOP/tests/daemon/lib.sh"
need_daemon
if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null; then
	skip "limits without systemd" "needs root and unshare (a mount namespace)"
	exit 0
fi
scratch_daemon

# ns_exec CGTYPE CMD...: exec CMD in a private mount namespace whose
# /sys/fs/cgroup is a tmpfs ("none") or the cgroup2 hierarchy ("v2"), in
# place of the calling (sub)shell: as DAEMON_PREFIX the daemon's pid is the
# one start_daemon waits for and signals. in_ns: the same in a subshell.
ns_exec() { local t=$1; shift; exec unshare -m --propagation private sh -c '
		if [ "$1" = v2 ]; then mount -t cgroup2 none /sys/fs/cgroup || exit 97
		else mount -t tmpfs none /sys/fs/cgroup || exit 97; fi
		[ ! -d /run/systemd ] || mount -t tmpfs none /run/systemd || exit 97
		shift; exec "$@"' sh "$t" "$@"; }
in_ns() { ( ns_exec "$@" ); }
if ! in_ns v2 true 2>/dev/null; then
	skip "limits without systemd" "cannot mount cgroup2 in a mount namespace here"
	exit 0
fi

conf_head 2 2
echo 'cpu_weight = 7' >>"$TMP/vms.conf"
conf_vm a 'memory_max = 64M' 'cpu_quota = "50%"' 'io_weight = 20'
conf_vm b 'enable = no'

# ---- no cgroup v2, no systemd ----
out=$(in_ns none "$VMS_BIN/vmctl" -c "$TMP/vms.conf" check-config 2>&1)
check_eq "check-config: exit 0 (warnings)" "$?" 0
check_eq "four warnings, one per limit of a (b is disabled)" \
    "$(grep -c '\[not-limited\]' <<<"$out")" 4
check_match "memory_max named with its line and why" "$out" \
    "vms.conf:1[0-9]: warning: vm a: memory_max is not applied on this host: no systemd, and /sys/fs/cgroup is not cgroup v2 \[not-limited\]"
check_match "an inherited global one too" "$out" "vm a: cpu_weight is not applied"
DAEMON_PREFIX=(ns_exec none)
check "daemon starts" start_daemon
check "a runs without its limits" wait_state a running
check_match "the daemon says they are not applied" "$(cat "$TMP/daemon.log")" \
    'a: limits not applied: no systemd, and /sys/fs/cgroup is not cgroup v2'
vmctl stop all >/dev/null 2>&1
stop_daemon
check_eq "daemon exits 0" "$DRC" 0

# ---- cgroup v2 ----
ctrl=$(in_ns v2 cat /sys/fs/cgroup/cgroup.controllers)
diag "cgroup v2 controllers here: '${ctrl}'"
out=$(in_ns v2 "$VMS_BIN/vmctl" -c "$TMP/vms.conf" check-config 2>&1)
n=0
for c in cpu memory io; do
	case " $ctrl " in *" $c "*) ;; *) n=$((n + 1)) ;; esac
done
# cpu_weight and cpu_quota need cpu, memory_max memory, io_weight io.
want=0
case " $ctrl " in *" cpu "*) ;; *) want=$((want + 2)) ;; esac
case " $ctrl " in *" memory "*) ;; *) want=$((want + 1)) ;; esac
case " $ctrl " in *" io "*) ;; *) want=$((want + 1)) ;; esac
check_eq "check-config warns for each limit whose controller is missing ($n missing)" \
    "$(grep -c '\[not-limited\]' <<<"$out")" "$want"
[ "$want" = 0 ] || check_match "naming the controller" "$out" \
    'cgroup v2 offers no [a-z]+ controller \(/sys/fs/cgroup/cgroup.controllers\)'
DAEMON_PREFIX=(ns_exec v2)
check "daemon starts" start_daemon
check "a running" wait_state a running
qp=$(field a pid)
check_match "its QEMU (pid $qp) is in /vmservice/a" "$(cat "/proc/$qp/cgroup" 2>&1)" '^0::/vmservice/a$'
check_match "the daemon says so" "$(cat "$TMP/daemon.log")" 'a: in cgroup /sys/fs/cgroup/vmservice/a'
# The same hierarchy is mounted on the host (as /sys/fs/cgroup or under it).
cgdir=$(in_ns v2 sh -c 'test -d /sys/fs/cgroup/vmservice/a && echo yes')
check_eq "the group exists" "$cgdir" yes
rd() { in_ns v2 cat "/sys/fs/cgroup/vmservice/a/$1" 2>/dev/null; }
if [[ " $ctrl " == *" memory "* ]]; then
	check_eq "memory.max" "$(rd memory.max)" $((64 << 20))
else
	skip "memory.max" "no memory controller in this host's cgroup v2 (a v1 or hybrid host)"
fi
if [[ " $ctrl " == *" cpu "* ]]; then
	check_eq "cpu.max" "$(rd cpu.max)" "50000 100000"
	check_eq "cpu.weight (the global)" "$(rd cpu.weight)" 7
else
	skip "cpu.max and cpu.weight" "no cpu controller in this host's cgroup v2 (a v1 or hybrid host)"
fi
sed -i 's/cpu_weight = 7/cpu_weight = 9/; s/memory_max = 64M/memory_max = 80M/' "$TMP/vms.conf"
vmctl reload >/dev/null 2>&1
check_eq "reload: the same QEMU" "$(field a pid)" "$qp"
if [[ " $ctrl " == *" memory "* ]]; then
	check_eq "reload: the new memory.max" "$(rd memory.max)" $((80 << 20))
else
	check_match "reload: the daemon rewrites the group (or says it cannot)" \
	    "$(cat "$TMP/daemon.log")" 'a: new limits (applied|not applied)'
fi
vmctl stop a >/dev/null 2>&1
check "a stopped" wait_state a stopped
for _ in $(seq 30); do [ -n "$(in_ns v2 sh -c 'test -d /sys/fs/cgroup/vmservice/a && echo y')" ] || break; sleep 0.1; done
check "the group is gone with its QEMU" test -z "$(in_ns v2 sh -c 'test -d /sys/fs/cgroup/vmservice/a && echo y')"
stop_daemon
check_eq "daemon exits 0" "$DRC" 0
in_ns v2 rmdir /sys/fs/cgroup/vmservice 2>/dev/null
done_testing
