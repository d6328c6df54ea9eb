#!/bin/bash
# cloud-init in a real guest (issue 18): a Debian 12 guest with Debian's
# cloud-init takes its hostname from the cloud_init section's meta_data.
#   - tests/sysd/ci_image.sh builds the guest once with mmdebstrap (systemd,
#     the Debian kernel and initramfs-tools, cloud-init with only the NoCloud
#     datasource) into an ext4 image made by mkfs.ext4 -d, cached by content
#     hash in $VMS_CACHE/sysd/ci-HASH; the first build took 370 s here
#     (2 cores shared with other builds; apt and update-initramfs dominate).
#   - the real vmserviced boots it under TCG: the cached image as a raw disk
#     with snapshot = yes (the guest's writes never reach the cache), the
#     image's own kernel and initrd, and a seed from meta_data
#     (local-hostname: ci-RANDOM, a fresh instance-id) and a #cloud-config
#     user_data whose runcmd prints "cloud-init-done $(hostname)" on ttyS0.
#   - passes when the console log (log_dir/NAME.console.log) shows that line
#     with meta_data's hostname, and the getty's "ci-RANDOM login:" prompt.
#     The image's own hostname is "localhost", so only the seed can name it.
#     Seen here: 56 s from vmctl start to the marker (TCG; 100 s with the
#     2 cores busy with other builds, when the guest's clock said ~77-88 s
#     at cloud-init's final stage), the whole
#     test with a cached image 57 s (102 s busy).
#   - that the check can fail: the same log does not show a different name;
#     tried by hand: without the cloud_init section the guest comes up as
#     "localhost" (cloud-init falls back to DataSourceNone) and both checks
#     fail, as they do when another hostname is expected.
# Skips, saying why, when not root, without mmdebstrap or xorriso, when the
# image cannot be built (no network), and in `make check` while the image is
# not built yet (`make check-slow` builds it: 6 min, too long for CI's run).
source "${VMS_TOP:-$(dirname "$0")/../..}/tests/lib/tap.sh"
source "$VMS_TOP/tests/lib/guest.sh"
source "$VMS_TOP/tests/daemon/lib.sh"
need_daemon
if [ "$(id -u)" != 0 ]; then
	skip "cloud-init guest" "needs root (mmdebstrap builds the guest's root file system)"
	exit 0
fi
for c in mmdebstrap:mmdebstrap xorriso:xorriso mkfs.ext4:e2fsprogs; do
	if ! command -v "${c%%:*}" >/dev/null; then
		skip "cloud-init guest" "${c%%:*} not installed (package ${c#*:}; make deps)"
		exit 0
	fi
done
# Not built yet: building it takes ~6 min, with the boot ~8 min, which does
# not fit `make check` on a fresh machine (CI: well under 20 min in all).
# `make check-slow` (VMS_SLOW_TESTS=1) builds it; once it is cached, every
# `make check` runs this test (~1-2 min, in the second lane).
ci_cached=${VMS_CACHE}/sysd/ci-$(sha256sum <"$VMS_TOP/tests/sysd/ci_image.sh" | cut -c1-12)/.complete
if [ "${VMS_SLOW_TESTS:-0}" != 1 ] && [ ! -e "$ci_cached" ]; then
	skip "cloud-init guest" "its image is not built (6 min): make check-slow builds it and runs this test"
	exit 0
fi
scratch_daemon
t0=$EPOCHREALTIME
if ! img=$(sh "$VMS_TOP/tests/sysd/ci_image.sh" 2>"$TMP/build.err"); then
	skip "cloud-init guest" "the guest image did not build (no network?): $(tail -n 1 "$TMP/build.err")"
	exit 0
fi
diag "guest image ($img): $(sub "$EPOCHREALTIME" "$t0") s"

host=ci-$RANDOM$RANDOM
printf 'instance-id: iid-%s\nlocal-hostname: %s\n' "$host" "$host" >"$TMP/meta.yaml"
cat >"$TMP/user.yaml" <<'EOC'
#cloud-config
runcmd:
  - [ sh, -c, "echo cloud-init-done $(hostname) >/dev/ttyS0" ]
EOC
conf_head 5 3
cat >>"$TMP/vms.conf" <<EOC
vm cig {
	machine = "pc"
	memory = 512M
	kernel = "$img/vmlinuz"
	initrd = "$img/initrd.img"
	append = "root=/dev/vda console=ttyS0"
	autostart = no
	halt = quit
	disk {
		file = "$img/root.ext4"
		format = raw
		snapshot = yes
	}
	cloud_init {
		meta_data = "$TMP/meta.yaml"
		user_data = "$TMP/user.yaml"
	}
}
EOC
check "config valid" vmctl check-config
sum0=$(cksum <"$img/root.ext4")
start_daemon
log=$TMP/log/cig.console.log
t0=$EPOCHREALTIME
vmctl start cig >/dev/null 2>&1
check "cig running" wait_state cig running 20
line=$(guest_wait_line "$log" '^cloud-init-done ' 240 "$(field cig pid)")
diag "vmctl start to cloud-init's runcmd: $(sub "$EPOCHREALTIME" "$t0") s"
check_eq "runcmd ran with meta_data's hostname" "$line" "cloud-init-done $host"
check_match "the login prompt names it" "$(guest_wait_line "$log" ' login:' 30)" "^$host login:"
check "the check can fail: no other name in the log" \
    test -z "$(grep -a "cloud-init-done ci-other" "$log")"
if [ -z "$line" ]; then
	diag "console log, last lines:"
	tail -n 30 "$log" | sed 's/^/#   /'
fi
vmctl stop cig >/dev/null 2>&1
check "cig stopped" wait_state cig stopped 20
stop_daemon
check_eq "daemon exits 0" "$DRC" 0
check_eq "the cached image is untouched (snapshot = yes)" "$(cksum <"$img/root.ext4")" "$sum0"
done_testing
