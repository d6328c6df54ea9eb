# Sourced by tests/run before any test: the empty files the test configs name
# (a disk, a cdrom, a kernel, ...). Only their existence matters.
for f in base.qcow2 cd.iso disk.img initrd.img vmlinuz; do
	[ -e "$VMS_TOP/tests/config/files/$f" ] || : >"$VMS_TOP/tests/config/files/$f"
done
