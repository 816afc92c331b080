# tests/unit/daemon.mk: the daemon core's own modules, each test linking only
# what its module may depend on (docs/ARCHITECTURE.md).
check_PROGRAMS += %reldir%/check_store %reldir%/check_config %reldir%/check_state_codec \
	%reldir%/check_state %reldir%/check_quorum %reldir%/check_lun_file
TESTS += %reldir%/check_store %reldir%/check_config %reldir%/check_state_codec \
	%reldir%/check_state %reldir%/check_quorum %reldir%/check_lun_file

%canon_reldir%_check_store_SOURCES = %reldir%/check_store.c $(CHECK_MAIN)
%canon_reldir%_check_store_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(SQLITE_CFLAGS)
%canon_reldir%_check_store_LDADD = daemon/store/libstore.a $(SQLITE_LIBS) $(CHECK_LIBS)

%canon_reldir%_check_config_SOURCES = %reldir%/check_config.c $(CHECK_MAIN)
%canon_reldir%_check_config_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(LIBQB_CFLAGS) $(INIH_CFLAGS)
%canon_reldir%_check_config_LDADD = daemon/libdaemoncore.a $(INIH_LIBS) $(CHECK_LIBS)

# The state machine links only the state, store, reservations and quorum
# libraries (STATE_LIBS): a reach into daemon/iscsi or daemon/scsi fails here.
%canon_reldir%_check_state_codec_SOURCES = %reldir%/check_state_codec.c $(CHECK_MAIN)
%canon_reldir%_check_state_codec_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
%canon_reldir%_check_state_codec_LDADD = $(STATE_LIBS) $(CHECK_LIBS)

%canon_reldir%_check_state_SOURCES = %reldir%/check_state.c $(CHECK_MAIN)
%canon_reldir%_check_state_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
%canon_reldir%_check_state_LDADD = $(STATE_LIBS) $(CHECK_LIBS)

%canon_reldir%_check_quorum_SOURCES = %reldir%/check_quorum.c $(CHECK_MAIN)
%canon_reldir%_check_quorum_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(LIBQB_CFLAGS)
%canon_reldir%_check_quorum_LDADD = quorum/libquorum.a $(LIBQB_LIBS) $(CHECK_LIBS)

%canon_reldir%_check_lun_file_SOURCES = %reldir%/check_lun_file.c %reldir%/check_disk4k.h $(CHECK_MAIN)
%canon_reldir%_check_lun_file_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
%canon_reldir%_check_lun_file_LDADD = daemon/libdaemoncore.a $(CHECK_LIBS)

# daemon/peers.c (the member table as ALUA groups and SendTargets portals)
# with the real ALUA table, SCSI target, iSCSI server and loopback transport.
check_PROGRAMS += %reldir%/check_peers
TESTS += %reldir%/check_peers
%canon_reldir%_check_peers_SOURCES = %reldir%/check_peers.c %reldir%/check_scsi_util.h \
	daemon/peers.c daemon/portals.c $(CHECK_MAIN)
%canon_reldir%_check_peers_CFLAGS = $(AM_CFLAGS) $(LIBQB_CFLAGS) $(CHECK_CFLAGS)
%canon_reldir%_check_peers_LDADD = quorum/libquorum.a $(ISCSI_SERVER_TEST_LIBS)

# The Prometheus text format writer, alone (it is part of libdaemoncore).
check_PROGRAMS += %reldir%/check_expo
TESTS += %reldir%/check_expo
%canon_reldir%_check_expo_SOURCES = %reldir%/check_expo.c $(CHECK_MAIN)
%canon_reldir%_check_expo_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
%canon_reldir%_check_expo_LDADD = daemon/libdaemoncore.a $(CHECK_LIBS)
