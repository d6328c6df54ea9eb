#!/bin/bash
# A directory on a disk's path swapped for a symlink by the QEMU user
# (issue 12; the real user, nobody, plants it in a directory it owns): the
# root daemon used to follow it, creating the disk where it pointed and
# chowning the file it led to (a root-only file given to the QEMU user).
# Now paths are resolved following only root's links (sp_open): both are
# refused and the target is untouched. A link root made (an
# administrator's) is still followed; disks the daemon creates are 0600.
source "$VMS_TOP/tests/lib/tap.sh"
source "$VMS_TOP/tests/daemon/lib.sh"
need_daemon
if [ "$(id -u)" != 0 ] || ! id nobody >/dev/null 2>&1 || ! command -v setpriv >/dev/null; then
	skip "disk path attacks" "needs root, a user nobody and setpriv"
	exit 0
fi
scratch_daemon
chmod 0711 "$TMP"	# the QEMU user must reach run_dir
as_nobody() { setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups "$@"; }
# The QEMU user's own directory; what the daemon must not reach through it.
mkdir -m 0755 "$TMP/q"
chown nobody "$TMP/q"
mkdir -m 0755 "$TMP/victim" "$TMP/victim2" "$TMP/victim3" "$TMP/real"
qemu-img create -q -f qcow2 "$TMP/base.qcow2" 16M
printf 'precious\n' >"$TMP/victim3/o.qcow2"
printf 'root only\n' >"$TMP/victim2/secret.img"
chmod 0600 "$TMP/victim2/secret.img"
as_nobody mkdir "$TMP/q/new" "$TMP/q/old" "$TMP/q/rv"
ln -s "$TMP/real" "$TMP/adminlink"	# root's link: followed
CONF_RUNAS= conf_head 1 1
conf_vm mk 'accel = "tcg"' 'runas = "root"' "disk { file = \"$TMP/q/new/d.qcow2\" size = 16M }"
conf_vm own 'accel = "tcg"' 'runas = "nobody"' \
    "disk { file = \"$TMP/q/old/secret.img\" format = raw }"
conf_vm adm 'accel = "tcg"' 'runas = "root"' "disk { file = \"$TMP/adminlink/a.qcow2\" size = 16M }"
conf_vm rv 'accel = "tcg"' 'runas = "root"' 'autostart = false' \
    "disk { file = \"$TMP/q/rv/o.qcow2\" backing = \"$TMP/base.qcow2\" }"
sed -i 's/machine = "none"/machine = "pc"\n\tvga = none/' "$TMP/vms.conf"
# ... and the swap, after the configuration was written for real directories.
as_nobody rmdir "$TMP/q/new" "$TMP/q/old" "$TMP/q/rv"
as_nobody ln -s "$TMP/victim" "$TMP/q/new"
as_nobody ln -s "$TMP/victim3" "$TMP/q/rv"
as_nobody ln -s "$TMP/victim2" "$TMP/q/old"
check_eq "the links are the QEMU user's" "$(stat -c %U "$TMP/q/new") $(stat -c %U "$TMP/q/old")" \
    "nobody nobody"

start_daemon
check "daemon starts" kill -0 "$DPID"
check "mk: disk creation through a planted link refused" wait_state mk failed
check_match "mk: the reason names the link and its owner" "$(field mk stop_detail)" \
    "new: a symlink owned by uid $(id -u nobody)"
check "mk: nothing created where the link points" test ! -e "$TMP/victim/d.qcow2"
check "own: chown through a planted link refused" wait_state own failed
check_match "own: the reason names the link" "$(field own stop_detail)" "old: a symlink owned by uid"
check_eq "own: the file behind the link is still root's" \
    "$(stat -c '%U %a' "$TMP/victim2/secret.img")" "root 600"
check "adm: a disk behind root's link is created" wait_state adm running 20
check_eq "adm: created 0600" "$(stat -c %a "$TMP/real/a.qcow2")" 600

out=$(vmctl revert rv 2>&1); rc=$?
check_eq "rv: revert through a planted link refused (exit 1)" "$rc" 1
check_match "rv: the reason names the link" "$out" "rv: a symlink owned by uid"
check_eq "rv: the file behind the link is untouched" "$(cat "$TMP/victim3/o.qcow2")" precious
check "rv: no overlay left beside it" test ! -e "$TMP/victim3/o.qcow2.new"

stop_daemon
check_eq "daemon exits 0" "$DRC" 0
done_testing
