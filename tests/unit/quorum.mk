# tests/unit/quorum.mk: the Corosync transport's pure parts (quorum/wire.c),
# linking libquorum alone (the loopback's test lives in daemon.mk), and
# the transport itself against a fake corosync.
check_PROGRAMS += %reldir%/check_quorum_wire
TESTS += %reldir%/check_quorum_wire

%canon_reldir%_check_quorum_wire_SOURCES = %reldir%/check_quorum_wire.c $(CHECK_MAIN)
%canon_reldir%_check_quorum_wire_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(LIBQB_CFLAGS)
%canon_reldir%_check_quorum_wire_LDADD = quorum/libquorum.a $(CHECK_LIBS)

# The Corosync transport against a fake corosync defined in the test itself:
# libquorum and libqb, no corosync library (the test's definitions stand in).
check_PROGRAMS += %reldir%/check_quorum_corosync
TESTS += %reldir%/check_quorum_corosync

%canon_reldir%_check_quorum_corosync_SOURCES = %reldir%/check_quorum_corosync.c \
	%reldir%/check_listener.h $(CHECK_MAIN)
%canon_reldir%_check_quorum_corosync_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(LIBQB_CFLAGS) \
	$(CPG_CFLAGS) $(VOTEQUORUM_CFLAGS) $(CMAP_CFLAGS)
%canon_reldir%_check_quorum_corosync_LDADD = quorum/libquorum.a $(LIBQB_LIBS) $(CHECK_LIBS)

# The sync protocol's pure parts (quorum/sync.c): decisions, codecs, timing.
check_PROGRAMS += %reldir%/check_quorum_sync
TESTS += %reldir%/check_quorum_sync

%canon_reldir%_check_quorum_sync_SOURCES = %reldir%/check_quorum_sync.c $(CHECK_MAIN)
%canon_reldir%_check_quorum_sync_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(LIBQB_CFLAGS)
%canon_reldir%_check_quorum_sync_LDADD = quorum/libquorum.a $(CHECK_LIBS)

# Reach probes (quorum/reach.c) against real loopback sockets and an empty
# network namespace: libquorum and libqb.
check_PROGRAMS += %reldir%/check_quorum_reach
TESTS += %reldir%/check_quorum_reach

%canon_reldir%_check_quorum_reach_SOURCES = %reldir%/check_quorum_reach.c \
	%reldir%/check_listener.h $(CHECK_MAIN)
%canon_reldir%_check_quorum_reach_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(LIBQB_CFLAGS)
%canon_reldir%_check_quorum_reach_LDADD = quorum/libquorum.a $(LIBQB_LIBS) $(CHECK_LIBS)
