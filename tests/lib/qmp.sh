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

# Talking QMP: guest_qmp in tests/lib/guest.sh (waits for every answer).
source "$VMS_TOP/tests/lib/guest.sh"
