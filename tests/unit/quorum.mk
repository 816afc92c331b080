# tests/unit/quorum.mk: the Corosync transport's pure parts (quorum/wire.c),
# linking libquorum alone (the loopback's test lives in daemon.mk).
check_PROGRAMS += %reldir%/check_quorum_wire
TESTS += %reldir%/check_quorum_wire

%canon_reldir%_check_quorum_wire_SOURCES = %reldir%/check_quorum_wire.c
%canon_reldir%_check_quorum_wire_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(LIBQB_CFLAGS)
%canon_reldir%_check_quorum_wire_LDADD = quorum/libquorum.a $(CHECK_LIBS)
