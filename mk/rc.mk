# Init integration (rc/): `make install` also installs
#   $(sysconfdir)/init.d/vmservice        LSB init script (hosts without systemd)
#   $(sysconfdir)/default/vmservice       its settings, kept if present
#   $(systemdunitdir)/vmservice.service   the systemd unit
# The unit goes under $(PREFIX)/lib/systemd/system: systemd searches both
# /usr/lib/systemd/system and /usr/local/lib/systemd/system, so the unit sits
# beside the binaries it names whatever PREFIX is. The binary and config
# paths written into both files follow SBINDIR and sysconfdir.
systemdunitdir ?= $(PREFIX)/lib/systemd/system

RC_SED = -e 's|/usr/local/sbin/|$(SBINDIR)/|g' \
	 -e 's|=/etc/vmservice.conf|=$(sysconfdir)/vmservice.conf|' \
	 -e 's|/etc/default/vmservice|$(sysconfdir)/default/vmservice|'

.PHONY: install-rc uninstall-rc
install: install-rc
uninstall: uninstall-rc

install-rc:
	install -d $(DESTDIR)$(sysconfdir)/init.d $(DESTDIR)$(sysconfdir)/default \
	    $(DESTDIR)$(systemdunitdir)
	sed $(RC_SED) rc/vmservice >$(DESTDIR)$(sysconfdir)/init.d/vmservice.tmp
	chmod 0755 $(DESTDIR)$(sysconfdir)/init.d/vmservice.tmp
	mv -f $(DESTDIR)$(sysconfdir)/init.d/vmservice.tmp $(DESTDIR)$(sysconfdir)/init.d/vmservice
	sed $(RC_SED) rc/vmservice.service >$(DESTDIR)$(systemdunitdir)/vmservice.service.tmp
	chmod 0644 $(DESTDIR)$(systemdunitdir)/vmservice.service.tmp
	mv -f $(DESTDIR)$(systemdunitdir)/vmservice.service.tmp $(DESTDIR)$(systemdunitdir)/vmservice.service
	[ -e $(DESTDIR)$(sysconfdir)/default/vmservice ] || \
	    install -m 0644 rc/vmservice.default $(DESTDIR)$(sysconfdir)/default/vmservice

uninstall-rc:
	rm -f $(DESTDIR)$(sysconfdir)/init.d/vmservice $(DESTDIR)$(systemdunitdir)/vmservice.service
