# Pacemaker integration (rc/ocf/): `make install` also installs the OCF
# resource agent ocf:vmservice:vm as
#   $(ocfdir)/resource.d/vmservice/vm
# ocfdir is the OCF root Pacemaker searches (OCF_ROOT, /usr/lib/ocf on
# Debian and every other distribution), whatever PREFIX is, as sysconfdir.
# The vmctl path the agent runs by default follows SBINDIR. Its manual,
# vmservice-ocf(7), goes to $(MANDIR)/man7.
ocfdir ?= /usr/lib/ocf
OCF_RA_DIR = $(DESTDIR)$(ocfdir)/resource.d/vmservice

.PHONY: install-ocf uninstall-ocf
install: install-ocf
uninstall: uninstall-ocf

install-ocf:
	install -d $(OCF_RA_DIR)
	sed -e 's|/usr/local/sbin/vmctl|$(SBINDIR)/vmctl|g' rc/ocf/vm >$(OCF_RA_DIR)/vm.tmp
	chmod 0755 $(OCF_RA_DIR)/vm.tmp
	mv -f $(OCF_RA_DIR)/vm.tmp $(OCF_RA_DIR)/vm
	install -d $(DESTDIR)$(MANDIR)/man7
	install -m 0644 man/vmservice-ocf.7 $(DESTDIR)$(MANDIR)/man7/vmservice-ocf.7

uninstall-ocf:
	rm -f $(OCF_RA_DIR)/vm $(DESTDIR)$(MANDIR)/man7/vmservice-ocf.7
	rmdir $(OCF_RA_DIR) 2>/dev/null || true
