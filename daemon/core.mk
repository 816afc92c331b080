# daemon/core.mk: quorated itself. libdaemoncore.a holds the daemon's pure,
# unit-tested parts (config parsing, a new LUN's identity and backing file,
# the Prometheus text format writer)
# so the Check binaries can link them without the iSCSI/SCSI stack;
# main/deliver/effects/admin wire everything.
noinst_LIBRARIES += %reldir%/libdaemoncore.a
%canon_reldir%_libdaemoncore_a_SOURCES = \
	%reldir%/config.h %reldir%/config.c \
	%reldir%/lun_file.h %reldir%/lun_file.c \
	%reldir%/expo.h %reldir%/expo.c
%canon_reldir%_libdaemoncore_a_CFLAGS = $(AM_CFLAGS) $(INIH_CFLAGS) $(LIBQB_CFLAGS)

sbin_PROGRAMS += %reldir%/quorated
%canon_reldir%_quorated_SOURCES = \
	%reldir%/daemon.h \
	%reldir%/main.c \
	%reldir%/deliver.c %reldir%/effects.c %reldir%/peers.c %reldir%/portals.c %reldir%/range_lock.c \
	%reldir%/admin_portal.h %reldir%/admin_portal.c \
	%reldir%/admin.c %reldir%/admin_config.h %reldir%/admin_config.c \
	%reldir%/stats.c %reldir%/reload.c \
	%reldir%/metrics.h %reldir%/metrics.c
%canon_reldir%_quorated_CFLAGS = $(AM_CFLAGS) $(LIBQB_CFLAGS) $(JSONC_CFLAGS) $(INIH_CFLAGS) \
	$(SYSTEMD_CFLAGS) $(MICROHTTPD_CFLAGS)
# Order: users before what they use (static libraries resolve left to right).
%canon_reldir%_quorated_LDADD = \
	%reldir%/libdaemoncore.a \
	%reldir%/ipc/libipc.a \
	%reldir%/state/libstate.a \
	%reldir%/store/libstore.a \
	quorum/libquorum.a \
	%reldir%/iscsi/libiscsi.a \
	%reldir%/iscsi/libiscsiproto.a \
	%reldir%/scsi/libscsi.a \
	reservations/libreservations.a \
	%reldir%/backing/libbacking.a \
	%reldir%/base/libloop_pass.a \
	$(CPG_LIBS) $(VOTEQUORUM_LIBS) $(CMAP_LIBS) \
	$(LIBQB_LIBS) $(SQLITE_LIBS) $(INIH_LIBS) $(JSONC_LIBS) $(URING_LIBS) \
	$(ISAL_LIBS) $(CRYPTO_LIBS) $(SYSTEMD_LIBS) $(MICROHTTPD_LIBS)

dist_man_MANS += %reldir%/quorated.8 %reldir%/quorated.conf.5
