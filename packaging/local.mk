# packaging/: systemd unit and node configuration, installed by make
# install. Both are generated so their paths follow ./configure; pass
# systemdunitdir=DIR to make to install the unit elsewhere. The node
# configuration goes in twice: quorated.conf.example, and quorated.conf
# when there is none yet (an administrator's file is never overwritten), so
# the unit starts on a fresh install. data_dir is $(localstatedir)/lib/quorate
# in all three (and compiled into quorated): StateDirectory=quorate only when
# that is /var/lib/quorate, since StateDirectory= is relative to /var/lib.
systemdunitdir = $(prefix)/lib/systemd/system
systemdunit_DATA = %reldir%/quorated.service
quorateconfdir = $(sysconfdir)/quorate
quorateconf_DATA = %reldir%/quorated.conf.example
EXTRA_DIST += %reldir%/quorated.service.in %reldir%/quorated.conf.example.in
CLEANFILES += %reldir%/quorated.service %reldir%/quorated.conf.example

packaging_subst = sed -e 's|@sbindir[@]|$(sbindir)|g' -e 's|@sysconfdir[@]|$(sysconfdir)|g' \
	-e 's|@localstatedir[@]|$(localstatedir)|g' \
	-e 's|@SYSTEMD_UNIT_TYPE[@]|$(SYSTEMD_UNIT_TYPE)|g'

%reldir%/quorated.service: %reldir%/quorated.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) $(@D) && \
	if test "$(localstatedir)" = /var; then \
		state='StateDirectory=quorate'; \
	else \
		state='\# StateDirectory=: none, data_dir is not under /var/lib'; \
	fi && \
	$(packaging_subst) -e "s|@STATE_DIRECTORY[@]|$$state|" \
		$(srcdir)/%reldir%/quorated.service.in > $@.tmp && mv $@.tmp $@

%reldir%/quorated.conf.example: %reldir%/quorated.conf.example.in Makefile
	$(AM_V_GEN)$(MKDIR_P) $(@D) && \
	$(packaging_subst) $(srcdir)/%reldir%/quorated.conf.example.in > $@.tmp && mv $@.tmp $@

install-data-hook: install-quorated-conf
uninstall-hook: uninstall-quorated-conf

install-quorated-conf:
	@if test -e "$(DESTDIR)$(quorateconfdir)/quorated.conf"; then \
		echo "keeping $(DESTDIR)$(quorateconfdir)/quorated.conf"; \
	else \
		echo " $(INSTALL_DATA) quorated.conf.example '$(DESTDIR)$(quorateconfdir)/quorated.conf'"; \
		$(INSTALL_DATA) %reldir%/quorated.conf.example \
			"$(DESTDIR)$(quorateconfdir)/quorated.conf"; \
	fi

# Removed only when unchanged from what install-quorated-conf put there.
uninstall-quorated-conf:
	@if cmp -s %reldir%/quorated.conf.example "$(DESTDIR)$(quorateconfdir)/quorated.conf"; then \
		rm -f "$(DESTDIR)$(quorateconfdir)/quorated.conf"; \
	fi

.PHONY: install-quorated-conf uninstall-quorated-conf
