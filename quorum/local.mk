# quorum/: the replication transport behind quorum/cluster.h. Today only the
# standalone loopback; the Corosync CPG transport slots in behind the same ops.
noinst_LIBRARIES += %reldir%/libquorum.a
%canon_reldir%_libquorum_a_SOURCES = \
	%reldir%/cluster.h \
	%reldir%/cluster_int.h \
	%reldir%/cluster.c \
	%reldir%/loopback.c
%canon_reldir%_libquorum_a_CFLAGS = $(AM_CFLAGS) $(LIBQB_CFLAGS)
