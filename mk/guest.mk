# The test guest (tests/guest/): kernel + busybox initramfs from Debian packages,
# built into $(VMS_CACHE)/guest, outside git. See tests/lib/guest.sh for its use.
.PHONY: guest
guest:
	@sh tests/guest/build.sh
