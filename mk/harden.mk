# Users and groups (issue 12): `make install` creates, if missing, the two
# system groups the daemon uses (src/qemu/qemu_priv.h):
#   vmservice         every QEMU user's shared group (run_dir), nobody else's
#   vmservice-status  may read `vmctl status`; never given to a QEMU user
# No user: each VM's QEMU runs as a uid of its own from uid_range, without
# a passwd entry (runas = "dynamic", the default). Not under DESTDIR (a
# package creates them in its maintainer scripts) and not as non-root. The
# tools are variables so that tests/harden/test_install_user.sh can watch
# what would be run.
# The list is rc/vmservice.sysusers', the file the Debian package installs.
VMS_GROUPS ?= $(shell sed -n 's/^g[[:space:]]\{1,\}\([^[:space:]]*\).*/\1/p' rc/vmservice.sysusers)
GETENT     ?= getent
GROUPADD   ?= groupadd

.PHONY: install-user
install: install-user

install-user:
	@if [ -n "$(DESTDIR)" ]; then \
	    echo "DESTDIR is set: not creating groups $(VMS_GROUPS) (create them at package install)"; \
	elif [ "$$(id -u)" != 0 ]; then \
	    echo "not root: not creating groups $(VMS_GROUPS)"; \
	else \
	    for g in $(VMS_GROUPS); do \
	        $(GETENT) group $$g >/dev/null || $(GROUPADD) --system $$g || exit 1; \
	    done; \
	fi
