# QMP from shell tests, through socat: source "$VMS_TOP/tests/lib/qmp.sh".

# qmp_wait_socket PATH [SECONDS]: wait until a unix socket exists.
qmp_wait_socket() {
	local i n=$(( ${2:-10} * 10 ))
	for ((i = 0; i < n; i++)); do
		[ -S "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# qmp_run SOCK JSON...: negotiate capabilities, send each command, print every
# reply line (greeting, events and returns) on stdout.
qmp_run() {
	local sock=$1; shift
	{
		echo '{"execute":"qmp_capabilities"}'
		for c in "$@"; do echo "$c"; done
		sleep 0.5
	} | timeout 10 socat -t 2 - "UNIX-CONNECT:$sock"
}
