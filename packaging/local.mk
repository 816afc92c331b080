# packaging/: systemd unit, node configuration, tmpfiles entry and bash
# completion, installed by make install; make deb and make rpm (below). Both are generated so their paths follow ./configure; pass
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
tmpfilesdir = $(prefix)/lib/tmpfiles.d
tmpfiles_DATA = %reldir%/quorate.conf
bashcompletiondir = $(datadir)/bash-completion/completions
dist_bashcompletion_DATA = %reldir%/completion/quoratectl
EXTRA_DIST += %reldir%/quorated.service.in %reldir%/quorated.conf.example.in \
	%reldir%/quorate.tmpfiles.in %reldir%/README.md %reldir%/examples \
	%reldir%/debian %reldir%/rpm/quorate.spec.in %reldir%/rpm/quorate.spec \
	%reldir%/rpm/macros.debian %reldir%/rpm/rpmlint.toml COPYING NEWS \
	tests/packaging/test_packages.sh tests/packaging/unit_seccomp.py
CLEANFILES += %reldir%/quorated.service %reldir%/quorated.conf.example \
	%reldir%/quorate.conf
DISTCLEANFILES = %reldir%/rpm/quorate.spec

packaging_subst = sed -e 's|@sbindir[@]|$(sbindir)|g' -e 's|@sysconfdir[@]|$(sysconfdir)|g' \
	-e 's|@localstatedir[@]|$(localstatedir)|g' \
	-e 's|@SYSTEMD_UNIT_TYPE[@]|$(SYSTEMD_UNIT_TYPE)|g'

%reldir%/quorated.service: %reldir%/quorated.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) $(@D) && \
	if test "$(localstatedir)" = /var; then \
		state='StateDirectory=quorate'; \
	else \
		state='\# StateDirectory=: none, data_dir is not under /var/lib; make install\n\# creates it, and ProtectSystem= must leave it writable.\nReadWritePaths=-$(localstatedir)/lib/quorate'; \
	fi && \
	$(packaging_subst) -e "s|@STATE_DIRECTORY[@]|$$state|" \
		$(srcdir)/%reldir%/quorated.service.in > $@.tmp && mv $@.tmp $@

%reldir%/quorate.conf: %reldir%/quorate.tmpfiles.in Makefile
	$(AM_V_GEN)$(MKDIR_P) $(@D) && \
	$(packaging_subst) $(srcdir)/%reldir%/quorate.tmpfiles.in > $@.tmp && mv $@.tmp $@

# The RPM spec carries configure.ac's version and today's date (%changelog).
%reldir%/rpm/quorate.spec: %reldir%/rpm/quorate.spec.in Makefile
	$(AM_V_GEN)$(MKDIR_P) $(@D) && \
	sed -e 's|@VERSION[@]|$(PACKAGE_VERSION)|g' \
		-e "s|@DATE[@]|$$(LC_ALL=C date -u '+%a %b %d %Y')|g" \
		$(srcdir)/%reldir%/rpm/quorate.spec.in > $@.tmp && mv $@.tmp $@

%reldir%/quorated.conf.example: %reldir%/quorated.conf.example.in Makefile
	$(AM_V_GEN)$(MKDIR_P) $(@D) && \
	$(packaging_subst) $(srcdir)/%reldir%/quorated.conf.example.in > $@.tmp && mv $@.tmp $@

install-data-hook: install-quorated-conf install-quorated-datadir
uninstall-hook: uninstall-quorated-conf uninstall-quorated-datadir

# Outside /var/lib the unit has no StateDirectory= and its ProtectSystem=full
# makes /usr read-only, so data_dir (/usr/local/var/lib/quorate by default)
# must exist before the unit starts: the unit lists it in ReadWritePaths=.
install-quorated-datadir:
	@if test "$(localstatedir)" != /var; then \
		echo " $(MKDIR_P) -m 0700 '$(DESTDIR)$(localstatedir)/lib/quorate'"; \
		$(MKDIR_P) -m 0700 "$(DESTDIR)$(localstatedir)/lib/quorate"; \
	fi

uninstall-quorated-datadir:
	@if test "$(localstatedir)" != /var; then \
		rmdir "$(DESTDIR)$(localstatedir)/lib/quorate" 2>/dev/null || :; \
	fi

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

.PHONY: install-quorated-conf uninstall-quorated-conf install-quorated-datadir \
	uninstall-quorated-datadir

# make deb: the Debian binary package, built from the tarball of make dist
# with packaging/debian as debian/ and a changelog entry for configure.ac's
# version, by dpkg-buildpackage -us -uc -b in pkg-deb/; the .deb ends up in
# pkg-deb/. make rpm: rpmbuild -bb on the same tarball in pkg-rpm/ (the .rpm
# in pkg-rpm/RPMS/ARCH/). On Debian, rpmbuild gets --nodeps (rpm's own
# database knows none of the BuildRequires, which apt provides) and the
# systemd macros of packaging/rpm/macros.debian.
deb_dir = pkg-deb
rpm_dir = pkg-rpm
# Fedora and RHEL set Packager from their build systems, not in the spec.
rpm_packager = Quorate developers <quorate@example.org>

deb: dist-gzip
	rm -rf $(deb_dir) && $(MKDIR_P) $(deb_dir)
	tar -C $(deb_dir) -xzf $(distdir).tar.gz
	cp -R $(srcdir)/%reldir%/debian $(deb_dir)/$(distdir)/debian
	sed -e 's|@VERSION[@]|$(PACKAGE_VERSION)|g' -e "s|@DATE[@]|$$(LC_ALL=C date -R)|g" \
		$(srcdir)/%reldir%/debian/changelog.in > $(deb_dir)/$(distdir)/debian/changelog
	rm $(deb_dir)/$(distdir)/debian/changelog.in
	cd $(deb_dir)/$(distdir) && dpkg-buildpackage -us -uc -b
	@ls $(deb_dir)/*.deb

rpm: dist-gzip %reldir%/rpm/quorate.spec
	rm -rf $(rpm_dir) && $(MKDIR_P) $(rpm_dir)/SOURCES
	cp $(distdir).tar.gz $(rpm_dir)/SOURCES/
	if test -f /etc/debian_version; then \
		debian="--nodeps --load $(srcdir)/%reldir%/rpm/macros.debian"; \
	fi && \
	rpmbuild -bb --define "_topdir $(abs_builddir)/$(rpm_dir)" \
		--define "packager $(rpm_packager)" $$debian \
		%reldir%/rpm/quorate.spec
	@ls $(rpm_dir)/RPMS/*/*.rpm

clean-local: clean-packages
clean-packages:
	rm -rf $(deb_dir) $(rpm_dir)

.PHONY: deb rpm clean-packages
