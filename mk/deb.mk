# The Debian package (debian/): `make deb` builds vmservice_VERSION_ARCH.deb
# into build/deb/ with `dpkg-buildpackage -us -uc -b`, in a copy of the tree
# (build/deb/src) so that its `make clean` never touches this tree's build.
# The copy is of the files git knows plus new ones not ignored, or, outside
# git, the tree without build/ and bin/.
# `make sysd-rootfs`: the Debian root file system tests/sysd boots with
# systemd-nspawn, built once into $(VMS_CACHE)/sysd (tests/sysd/rootfs.sh).
DEB_DIR = $(B)/deb

.PHONY: deb sysd-rootfs check-slow
deb:
	rm -rf $(DEB_DIR)/src
	mkdir -p $(DEB_DIR)/src
	if git rev-parse --git-dir >/dev/null 2>&1; then \
	    git ls-files -z -c -o --exclude-standard | \
	        xargs -0 sh -c 'for f; do [ -e "$$f" ] && printf "%s\0" "$$f"; done; true' sh | \
	        tar --null -T - -cf - | tar -xf - -C $(DEB_DIR)/src; \
	else \
	    tar --exclude=./build --exclude=./bin -cf - . | tar -xf - -C $(DEB_DIR)/src; \
	fi
	rm -f $(DEB_DIR)/*.deb $(DEB_DIR)/*.buildinfo $(DEB_DIR)/*.changes
	cd $(DEB_DIR)/src && DEB_BUILD_OPTIONS="parallel=$${DEB_JOBS:-2} $${DEB_BUILD_OPTIONS:-}" \
	    dpkg-buildpackage -us -uc -b
	@ls $(DEB_DIR)/*.deb

sysd-rootfs:
	@sh tests/sysd/rootfs.sh

# The tests too slow for a fresh machine's `make check` (the cloud-init
# guest: a 6 min image build, then a systemd boot under TCG); once their
# images are cached, `make check` runs them as well.
check-slow: check-build
	@VMS_SLOW_TESTS=1 bash tests/run sysd/
