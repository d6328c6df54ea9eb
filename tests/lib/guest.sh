# shellcheck shell=bash
# Test guest helpers: source "$VMS_TOP/tests/lib/guest.sh" (after tests/lib/tap.sh, or alone).
#
# The guest (built by tests/guest/build.sh into $VMS_CACHE/guest) is a Debian kernel
# with a busybox initramfs. One initramfs, three flavours picked on the kernel command
# line (guest_append prints it):
#   cooperative  "console=ttyS0 panic=-1 vmsguest=cooperative"
#                answers the ACPI power button (QMP system_powerdown): marks its disk
#                clean, syncs, powers off; QEMU (-no-reboot) then exits by itself
#   stubborn     "console=ttyS0 panic=-1 vmsguest=stubborn"
#                ignores the power button; only SIGTERM/SIGKILL/QMP quit end it
#   panic        "console=ttyS0 panic=-1 vmsguest=panic"
#                cooperative, but panics (sysrq c) right after the ready line; with a
#                pvpanic device (the daemon adds one) QEMU reports GUEST_PANICKED.
#                Any flavour panics on the console command `vmsguest-panic`.
# Options, added to any flavour (guest_append FLAVOUR IP OPTION...):
#   vmsguest.ip=10.0.0.2/24  configures eth0 (a virtio-net-pci device); the agent's
#                            guest-network-get-interfaces reports it
#   vmsguest.agent=on        runs the real qemu-ga (Debian's qemu-guest-agent, with its
#                            libraries) on the virtio-serial port org.qemu.guest_agent.0
#                            (guest_agent_args adds the QEMU side). Its guest-shutdown
#                            runs /sbin/shutdown, which does what the power button
#                            handler does (disk record clean, sync, poweroff -f), in any
#                            flavour: "stubborn agent=on" is a guest only the agent stops.
#                            guest-get-osinfo: ID=vmservice-test, PRETTY_NAME="vmservice
#                            test guest (Debian kernel `uname -r`)"; guest-set-time works
#                            (/sbin/hwclock is busybox's).
#   vmsguest.agent=flood     a hostile guest: no qemu-ga, endless random bytes written to
#                            that port instead
#   (none)                   with guest_agent_args: the port exists, nothing answers (an
#                            agent configured for the VM but not running in the guest)
#   vmsguest.acpid_delay=S   cooperative/panic: acpid starts S seconds after the ready
#                            line instead of before it, so a power button pressed in
#                            between is lost; "vmservice-guest: acpid up" when it listens
#
# Serial console (ttyS0) lines a test can wait for:
#   vmservice-guest: ready boot=N flavour=F disk=vda|none pvpanic=yes|no[ agent=A]
#                                                             (N = 0 without a disk)
#         agent= only with vmsguest.agent: yes (qemu-ga holds the port open), flood,
#         noport (no port org.qemu.guest_agent.0), failed (qemu-ga did not start)
#   vmservice-guest: efi secureboot=0|1|none nvram_boots=N    (booted by UEFI firmware,
#         before ready: the SecureBoot variable's last byte; N = boots this VM's NVRAM
#         saw before, counted in EFI variables VmsBoot1..N that each boot adds to)
#   vmservice-guest: panicking                                (before a panic)
#   vmservice-guest: powerbutton, clean shutdown              (cooperative, on the button)
#   vmservice-guest: shutdown by agent                        (agent guest-shutdown)
#   vmservice-guest: acpid up                                 (vmsguest.acpid_delay)
# After "ready" an interactive busybox sh (prompt "guest# ", job control) runs on
# ttyS0; it is respawned if it exits.
#
# The ready line comes once acpid holds the power button (unless acpid_delay) and
# qemu-ga holds its port open (agent=on): a system_powerdown or an agent command sent
# after it is always handled (a press sent earlier, during boot, is lost).
#
# On-disk record: the first 512-byte sector of the guest's first virtio disk
# (/dev/vda; a raw image, or qcow2 which the helpers read with qemu-img), no
# filesystem. Fixed format, ASCII then NULs:
#   offset  len  content
#        0   10  "VMSGUEST1 "   magic + space
#       10    6  "boots="
#       16   10  boot count, decimal, zero-padded ("0000000002")
#       26    7  " clean="
#       33    1  "1" if the last shutdown was clean (power button handled), else "0"
#       34    1  "\n"
#       35  477  NUL bytes
# i.e. `head -c 35 disk.img` shows "VMSGUEST1 boots=0000000002 clean=1".
# At boot the guest reads it (no valid record = boots 0), writes boots+1 with clean=0
# and syncs, so a guest killed any way other than the handled power button leaves
# clean=0. The cooperative power button handler, and the agent's guest-shutdown in any
# flavour, write clean=1, sync, poweroff -f.
#
# Functions: guest_build, guest_append, guest_qemu_args, guest_agent_args,
# guest_disk_new, guest_disk_record, guest_disk_boots, guest_disk_clean,
# guest_disk_format, guest_wait_ready, guest_wait_line, guest_wait_exit, guest_alive,
# guest_console, guest_qmp, guest_qga.

: "${VMS_TOP:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${VMS_CACHE:=${XDG_CACHE_HOME:-$HOME/.cache}/vmservice}"
GUEST_RECORD_MAGIC=VMSGUEST1

# guest_build: builds the guest if needed (a no-op when cached) and sets
# GUEST_KERNEL (the uncompressed, PVH-booted vmlinux when the builder could make it,
# else the bzImage), GUEST_VMLINUZ (the bzImage), GUEST_INITRD (the initramfs of
# this checkout's builder version), GUEST_KERNEL_PACKAGE, GUEST_AGENT_VERSION (of the
# qemu-guest-agent package in it). Returns non-zero on failure.
guest_build() {
	local out key val
	out=$(VMS_CACHE=$VMS_CACHE sh "$VMS_TOP/tests/guest/build.sh") || return 1
	while IFS='=' read -r key val; do
		case "$key" in
		GUEST_KERNEL|GUEST_VMLINUZ|GUEST_INITRD|GUEST_KERNEL_PACKAGE|GUEST_AGENT_VERSION)
			export "$key=$val" ;;
		esac
	done <<<"$out"
	[ -n "${GUEST_KERNEL:-}" ] && [ -n "${GUEST_INITRD:-}" ]
}

# guest_append FLAVOUR [IP/PREFIX [OPTION=VALUE...]]: the kernel command line for that
# flavour; IP may be empty; each OPTION becomes vmsguest.OPTION=VALUE, e.g.
#   guest_append stubborn "" agent=on   ->  ... vmsguest=stubborn vmsguest.agent=on
guest_append() {
	local o
	case "${1:-}" in
	cooperative|stubborn|panic) ;;
	*) echo "guest_append: flavour must be cooperative, stubborn or panic, not '${1:-}'" >&2; return 2 ;;
	esac
	for o in "${@:3}"; do
		case "$o" in
		agent=on|agent=flood|agent=off|acpid_delay=[0-9]*) ;;
		*) echo "guest_append: unknown option '$o' (agent=on|flood|off, acpid_delay=S)" >&2; return 2 ;;
		esac
	done
	printf 'console=ttyS0 panic=-1 vmsguest=%s' "$1"
	[ -n "${2:-}" ] && printf ' vmsguest.ip=%s' "$2"
	for o in "${@:3}"; do printf ' vmsguest.%s' "$o"; done
	printf '\n'
}

# guest_record_line BOOTS CLEAN: the 35-byte record (without the NUL padding).
guest_record_line() { printf '%s boots=%010d clean=%d\n' "$GUEST_RECORD_MAGIC" "$1" "$2"; }

# guest_disk_format FILE: prints qcow2 if FILE starts with the qcow2 magic, else raw.
guest_disk_format() {
	if [ "$(head -c 4 "$1" 2>/dev/null | od -An -tx1 | tr -d ' \n')" = 514649fb ]; then
		echo qcow2
	else
		echo raw
	fi
}

# guest_disk_new FILE [SIZE [FORMAT]]: a disk (default 1M as truncate takes it, raw;
# FORMAT qcow2 converts it with qemu-img) holding a record with boots=0 clean=0.
guest_disk_new() {
	local fmt=${3:-raw}
	rm -f "$1" || return 1
	guest_record_line 0 0 | dd of="$1" bs=512 count=1 conv=sync 2>/dev/null || return 1
	truncate -s "${2:-1M}" "$1" || return 1
	case $fmt in
	raw) ;;
	qcow2)
		qemu-img convert -q -f raw -O qcow2 "$1" "$1.qcow2.tmp" && mv "$1.qcow2.tmp" "$1" ;;
	*) echo "guest_disk_new: format must be raw or qcow2, not '$fmt'" >&2; return 2 ;;
	esac
}

# guest_disk_record FILE: prints "BOOTS CLEAN" from the record; returns 1 (printing
# nothing) if the first sector holds no valid record. A qcow2 image (or overlay: its
# backing chain is followed) is read through qemu-img dd.
guest_disk_record() {
	local rec b tmp
	if [ "$(guest_disk_format "$1")" = qcow2 ]; then
		tmp=$(mktemp "${TMPDIR:-/tmp}/vmsrec.XXXXXX") || return 1
		rm -f "$tmp"
		qemu-img dd -f qcow2 -O raw bs=512 count=1 if="$1" of="$tmp" 2>/dev/null
		rec=$(head -c 34 "$tmp" 2>/dev/null | tr -d '\000')
		rm -f "$tmp"
	else
		rec=$(head -c 34 "$1" 2>/dev/null | tr -d '\000')
	fi
	case "$rec" in
	"$GUEST_RECORD_MAGIC boots="[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]" clean="[01]) ;;
	*) return 1 ;;
	esac
	b=${rec:16:10}
	echo "$((10#$b)) ${rec:33:1}"
}
# guest_disk_boots FILE: prints the boot count (status 1 if no valid record).
guest_disk_boots() { local r; r=$(guest_disk_record "$1") || return 1; echo "${r% *}"; }
# guest_disk_clean FILE: prints 1 if the last shutdown was clean, else 0 (status 1
# if no valid record).
guest_disk_clean() { local r; r=$(guest_disk_record "$1") || return 1; echo "${r#* }"; }

# guest_qemu_args FLAVOUR [DISK [IP/PREFIX [OPTION=VALUE...]]]: QEMU arguments for the
# guest, one per line (read them with mapfile -t); needs guest_build first. DISK, if
# non-empty, is a raw or qcow2 image attached as virtio-blk (the guest's /dev/vda). IP
# adds vmsguest.ip= to the command line; the network device is the caller's (e.g.
# -netdev user,id=n0 -device virtio-net-pci,netdev=n0). OPTIONs as for guest_append;
# with agent=on|flood add the port with guest_agent_args.
# Add machine, memory, serial, QMP yourself, e.g.
#   -machine pc -m 256 -nodefaults -no-reboot -display none -serial ... -qmp ...
guest_qemu_args() {
	local append
	append=$(guest_append "${1:-}" "${3:-}" "${@:4}") || return 2
	if [ -z "${GUEST_KERNEL:-}" ] || [ -z "${GUEST_INITRD:-}" ]; then
		echo "guest_qemu_args: run guest_build first" >&2
		return 2
	fi
	printf '%s\n' -kernel "$GUEST_KERNEL" -initrd "$GUEST_INITRD" -append "$append"
	if [ -n "${2:-}" ]; then
		printf '%s\n' -drive "file=$2,format=$(guest_disk_format "$2"),if=none,id=vmsguestdisk" \
			-device virtio-blk-pci,drive=vmsguestdisk
	fi
}

# guest_console ADDRESS COMMAND REGEX [TIMEOUT_S]: connects to the guest's serial
# console (a socat address: UNIX-CONNECT:/path for a unix socket chardev,
# TCP:127.0.0.1:PORT for a tcp one), types COMMAND and Enter, and waits (default
# 10 s) until a line of what comes back matches REGEX (grep -E; lines end in \r, so
# don't anchor with $). Prints everything received; returns 1 on timeout.
# The shell echoes the command line, so make REGEX match only the output, e.g.
# COMMAND 'echo hello-$((6*7))' with REGEX '^hello-42'.
guest_console() {
	local out i=0 n=$((${4:-10} * 10)) rc
	out=$(mktemp "${TMPDIR:-/tmp}/vmscons.XXXXXX") || return 1
	{
		sleep 0.2
		printf '%s\r' "$2"
		while [ "$i" -lt "$n" ] && ! grep -qaE -- "$3" "$out"; do sleep 0.1; i=$((i + 1)); done
	} | timeout $((${4:-10} + 5)) socat -t 0.2 - "$1" >"$out" 2>&1
	tr -d '\r' <"$out"
	grep -qaE -- "$3" "$out"
	rc=$?
	rm -f "$out"
	return $rc
}

# guest_tenths SECONDS: SECONDS (may have a fraction) in tenths, for the wait loops.
guest_tenths() { awk -v s="$1" 'BEGIN { printf "%d", s * 10 + 0.5 }'; }

# guest_alive PID: the process exists and is not a zombie.
guest_alive() {
	kill -0 "$1" 2>/dev/null || return 1
	case "$(ps -o stat= -p "$1" 2>/dev/null)" in Z*) return 1 ;; esac
}

# guest_wait_line FILE REGEX TIMEOUT_S [PID]: waits until a line of FILE (e.g. a serial
# log) matches REGEX (grep -E), prints that line; returns 1 on timeout, or as soon as
# PID (e.g. QEMU's) is gone.
guest_wait_line() {
	local i=0 n line
	n=$(guest_tenths "$3")
	while [ "$i" -lt "$n" ]; do
		if line=$(grep -aE -m1 -- "$2" "$1" 2>/dev/null); then
			echo "${line%$'\r'}"; return 0
		fi
		if [ -n "${4:-}" ] && ! guest_alive "$4"; then
			echo "guest_wait_line: process $4 is gone" >&2; return 1
		fi
		sleep 0.1; i=$((i + 1))
	done
	return 1
}

# guest_wait_ready FILE [TIMEOUT_S [PID]]: waits (default 60 s) for the readiness line
# in a serial log and prints it; gives up early if PID (QEMU's) is gone.
guest_wait_ready() { guest_wait_line "$1" '^vmservice-guest: ready ' "${2:-60}" "${3:-}"; }

# guest_wait_exit PID TIMEOUT_S: waits for a process to go away; returns 1 if it is
# still there after the timeout. (Use `wait PID` afterwards for a child's status.)
guest_wait_exit() {
	local i=0 n
	n=$(guest_tenths "$2")
	# a zombie child counts as gone
	while guest_alive "$1"; do
		[ "$i" -ge "$n" ] && return 1
		sleep 0.1; i=$((i + 1))
	done
	return 0
}

# guest_qmp SOCKET COMMAND...: sends qmp_capabilities then each COMMAND (a QMP
# command name, or a JSON object starting with "{") over a QMP unix socket; prints
# everything QEMU answered (greeting, events, returns); returns 1 unless every
# command got {"return": ...} within 10 s.
guest_qmp() {
	local sock=$1 out c want i=0
	shift
	out=$(mktemp "${TMPDIR:-/tmp}/vmsqmp.XXXXXX") || return 1
	want=$(($# + 1))
	{
		echo '{"execute":"qmp_capabilities"}'
		for c in "$@"; do
			case "$c" in "{"*) echo "$c" ;; *) printf '{"execute":"%s"}\n' "$c" ;; esac
		done
		# keep the connection open until every answer arrived (or QEMU went away)
		while [ $i -lt 100 ] && [ "$(grep -cE '"(return|error)"' "$out")" -lt $want ]; do
			sleep 0.1; i=$((i + 1))
		done
	} | timeout 15 socat -t 0.2 - "UNIX-CONNECT:$sock" >"$out" 2>&1
	cat "$out"
	[ "$(grep -c '"return"' "$out")" -ge $want ]
	c=$?
	rm -f "$out"
	return $c
}

# guest_agent_args SOCKET: the QEMU options (one per line, for mapfile -t) of the guest
# agent's channel: a virtio-serial port named org.qemu.guest_agent.0 on a unix socket
# chardev QEMU listens on (SOCKET must not contain a comma).
guest_agent_args() {
	printf '%s\n' -chardev "socket,id=qga0,path=$1,server=on,wait=off" \
		-device virtio-serial-pci -device virtserialport,chardev=qga0,name=org.qemu.guest_agent.0
}

# guest_qga SOCKET JSON [TIMEOUT_S]: connects to the agent's socket (guest_agent_args),
# resynchronises as QGA clients must (the protocol has no greeting, and the channel may
# hold a stale reply): a 0xFF byte (resets the agent's parser, which answers it with a
# "stray" JSON parse error) then guest-sync-delimited with a fresh id; the agent answers
# 0xFF then {"return": id}; everything before that is discarded. Then sends JSON (one
# command) and prints the agent's reply line. Returns 1 if the sync or the reply did
# not come within TIMEOUT_S (default 10) in all, or the socket closed first (QEMU
# exited: guest-shutdown never answers on success), 2 on a connect failure.
guest_qga() {
	local LC_ALL=C sock=$1 json=$2 t=${3:-10} id line rest end pid rfd wfd rc=1 synced=0 pipetrap
	id=$(( (RANDOM << 15 | RANDOM) + 1 ))
	[ -S "$sock" ] || { echo "guest_qga: no socket $sock" >&2; return 2; }
	coproc GUEST_QGA { exec timeout "$((t + 2))" socat -t 0.5 - "UNIX-CONNECT:$sock" 2>/dev/null; }
	# bash closes a coprocess's descriptors once it has exited: keep our own copies
	pid=$GUEST_QGA_PID
	exec {rfd}<&"${GUEST_QGA[0]}" {wfd}>&"${GUEST_QGA[1]}"
	# socat may be gone already (nothing listens): a write error, not a SIGPIPE
	pipetrap=$(trap -p PIPE)
	trap '' PIPE
	printf '\377{"execute":"guest-sync-delimited","arguments":{"id":%d}}\n' "$id" 2>/dev/null 1>&"$wfd"
	end=$((SECONDS + t))
	while rest=$((end - SECONDS)); [ "$rest" -gt 0 ]; do
		IFS= read -r -t "$rest" line <&"$rfd" || break
		if [ $synced = 0 ]; then
			case "$line" in *$'\377'*) ;; *) continue ;; esac
			line=${line##*$'\377'}
			if [[ $line =~ ^\{\ *\"return\"\ *:\ *$id\ *\} ]]; then
				synced=1
				printf '%s\n' "$json" 2>/dev/null 1>&"$wfd"
			fi
		elif [ -n "${line//[[:space:]]/}" ]; then
			printf '%s\n' "${line%$'\r'}"
			rc=0
			break
		fi
	done
	[ $synced = 1 ] ||
		echo "guest_qga: no answer to guest-sync-delimited (within $t s, or $sock closed)" >&2
	eval "${pipetrap:-trap - PIPE}"
	exec {rfd}<&- {wfd}>&-
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return $rc
}
