# Shared by the tests/sysd tests: the .deb, the root file system, a
# container booted with systemd as PID 1, and commands run inside it.
# Source after tests/lib/tap.sh and tests/lib/guest.sh, from $VMS_TOP.
#
#   sysd_init WHAT          root and the tools, or a skip saying why (exits);
#                           $TMP made, removed (with the container) at exit
#   sysd_deb                the .deb (make deb only when a packaged file is
#                           newer; lintian then): $deb, $version
#   sysd_rootfs WHAT        $rootfs (tests/sysd/rootfs.sh, cached), or skip
#   sysd_guest              the test guest's kernel and initramfs built
#   sysd_boot WHAT [ARGS]   boot $rootfs with systemd-nspawn -b (--volatile=
#                           overlay: nothing of the test stays), $TMP/share
#                           bound at /share, the guest at /guest; ARGS go to
#                           nspawn; sets $leader (the container's PID 1)
#   ct CMD...               run CMD in the container (nsenter into $leader's
#                           namespaces, a clean environment)
#   sysd_ready N            the test guest g1 printed its ready line of boot N
#                           in the container's console log (60 s at most)
# How nspawn runs here, and why nsenter: test_deb.sh's header.

NSPAWN=
sysd_cleanup() {
	if [ -n "$NSPAWN" ]; then
		kill -TERM "$NSPAWN" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$NSPAWN" 2>/dev/null || break; sleep 0.2; done
		kill -KILL "$NSPAWN" 2>/dev/null
	fi
	rm -rf "$TMP"
}

sysd_need() {
	if ! command -v "$1" >/dev/null; then
		skip "$SYSD_WHAT" "$1 not installed (package ${2:-$1}; make deps)"
		exit 0
	fi
}

sysd_init() {
	SYSD_WHAT=$1
	if [ "$(id -u)" != 0 ]; then
		skip "$SYSD_WHAT" "needs root (dpkg in a container)"
		exit 0
	fi
	sysd_need systemd-nspawn systemd-container
	sysd_need dpkg-buildpackage dpkg-dev
	sysd_need dh debhelper
	sysd_need nsenter util-linux
	TMP=$(mktemp -d "${TMPDIR:-/tmp}/vmssysd.XXXXXX")
	trap sysd_cleanup EXIT
	mkdir -p "$TMP/share"
	chmod 0755 "$TMP" "$TMP/share"
}

sysd_deb() {
	local stale=yes t0
	deb=$(ls build/deb/vmservice_*_*.deb 2>/dev/null | head -n 1)
	if [ -n "$deb" ] && [ -z "$(find Makefile mk src debian rc man etc README.md PROTOCOL.md \
	    -newer "$deb" -print -quit 2>/dev/null)" ]; then
		stale=
	fi
	if [ -n "$stale" ]; then
		t0=$(date +%s)
		# Two tests may want it at once (lanes): one builds, the other waits.
		mkdir -p build
		if ! flock build/.deb.lock make --no-print-directory deb >"$TMP/deb.log" 2>&1; then
			notok "make deb"
			tail -n 20 "$TMP/deb.log" | sed 's/^/#   /'
			exit 1
		fi
		ok "make deb ($(( $(date +%s) - t0 )) s)"
		deb=$(ls build/deb/vmservice_*_*.deb | head -n 1)
		if command -v lintian >/dev/null; then
			lintian --fail-on error -I "$deb" >"$TMP/lintian.out" 2>&1
			check_eq "lintian: no errors" "$?" 0
			sed -n '/^[EW]: /s/^/#   /p' "$TMP/lintian.out"
		else
			skip "lintian" "lintian not installed"
		fi
	else
		ok "the .deb is up to date ($deb)"
	fi
	version=$(dpkg-deb -f "$deb" Version)
}

sysd_rootfs() {
	local t0
	t0=$(date +%s)
	if ! rootfs=$(sh tests/sysd/rootfs.sh 2>"$TMP/rootfs.err"); then
		skip "$SYSD_WHAT" "no root file system: $(tail -n 1 "$TMP/rootfs.err")"
		exit 0
	fi
	diag "root file system $rootfs ($(( $(date +%s) - t0 )) s)"
}

sysd_guest() {
	if ! guest_build >"$TMP/guest.log" 2>&1; then
		notok "the test guest builds"
		tail -n 20 "$TMP/guest.log" | sed 's/^/#   /'
		exit 1
	fi
}

ct() {
	nsenter -t "$leader" -a env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
	    DEBIAN_FRONTEND=noninteractive "$@"
}

sysd_ready() {
	local i
	for i in $(seq 600); do
		ct grep -q "vmservice-guest: ready boot=$1" /var/log/vmservice/g1.console.log 2>/dev/null &&
		    return 0
		sleep 0.1
	done
	return 1
}

sysd_boot() {
	local machine=vmst$$ st
	shift
	systemd-nspawn --register=no --keep-unit -q -b --volatile=overlay --console=passive \
	    -D "$rootfs" -M "$machine" --bind="$TMP/share:/share" \
	    --bind-ro="$GUEST_KERNEL:/guest/kernel" --bind-ro="$GUEST_INITRD:/guest/initrd" \
	    "$@" >"$TMP/nspawn.log" 2>&1 &
	NSPAWN=$!
	leader=
	for _ in $(seq 100); do
		leader=$(cat /proc/$NSPAWN/task/*/children 2>/dev/null | awk '{ print $1; exit }')
		[ -n "$leader" ] && [ "$(cat "/proc/$leader/comm" 2>/dev/null)" = systemd ] && break
		leader=
		sleep 0.1
	done
	if [ -z "$leader" ]; then
		skip "$SYSD_WHAT" "systemd-nspawn did not boot the container here"
		sed 's/^/#   /' "$TMP/nspawn.log"
		exit 0
	fi
	# PID 1 answers on /run/systemd/private only once it has set itself up.
	for _ in $(seq 100); do
		ct test -S /run/systemd/private && break
		sleep 0.1
	done
	st=$(ct timeout 60 systemctl is-system-running --wait 2>&1)
	check_match "systemd is PID 1 in the container and booted ($st)" "$st" '^(running|degraded)$'
}
