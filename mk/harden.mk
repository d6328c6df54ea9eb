# Least privilege (issue 6): `make install` creates the system user and group
# QEMU runs as by default (QPRIV_DEFAULT_USER in src/emulator/qemu_priv.h),
# if missing, and puts it in group kvm when that group exists (QEMU runs as
# this user and must open /dev/kvm itself). Not under DESTDIR (a package creates it in its maintainer
# scripts) and not as non-root. The tools are variables so that
# tests/harden/test_install_user.sh can watch what would be run.
VMS_USER  ?= vmservice
GETENT    ?= getent
GROUPADD  ?= groupadd
USERADD   ?= useradd
USERMOD   ?= usermod
NOLOGIN   ?= /usr/sbin/nologin

.PHONY: install-user
install: install-user

install-user:
	@if [ -n "$(DESTDIR)" ]; then \
	    echo "DESTDIR is set: not creating user $(VMS_USER) (create it at package install)"; \
	elif [ "$$(id -u)" != 0 ]; then \
	    echo "not root: not creating user $(VMS_USER)"; \
	else \
	    $(GETENT) group $(VMS_USER) >/dev/null || \
	        $(GROUPADD) --system $(VMS_USER) || exit 1; \
	    $(GETENT) passwd $(VMS_USER) >/dev/null || \
	        $(USERADD) --system --no-create-home --home-dir /nonexistent \
	            --shell $(NOLOGIN) --gid $(VMS_USER) $(VMS_USER) || exit 1; \
	    if $(GETENT) group kvm >/dev/null && \
	        ! $(GETENT) group kvm | cut -d: -f4 | tr , '\n' | grep -qx $(VMS_USER); then \
	        echo "adding $(VMS_USER) to group kvm (udev gives /dev/kvm to root:kvm 0660)"; \
	        $(USERMOD) -a -G kvm $(VMS_USER) || exit 1; \
	    fi; \
	fi
