# packaging/: systemd unit and example node configuration, installed by
# make install. The unit is generated so its paths follow ./configure; pass
# systemdunitdir=DIR to make to install it elsewhere.
systemdunitdir = $(prefix)/lib/systemd/system
systemdunit_DATA = %reldir%/quorated.service
quorateconfdir = $(sysconfdir)/quorate
dist_quorateconf_DATA = %reldir%/quorated.conf.example
EXTRA_DIST += %reldir%/quorated.service.in
CLEANFILES += %reldir%/quorated.service

%reldir%/quorated.service: %reldir%/quorated.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) $(@D) && \
	sed -e 's|@sbindir[@]|$(sbindir)|g' -e 's|@sysconfdir[@]|$(sysconfdir)|g' \
		$(srcdir)/%reldir%/quorated.service.in > $@.tmp && mv $@.tmp $@
