# quorum/: the replication transport behind quorum/cluster.h: the standalone
# loopback and the Corosync CPG transport behind the same ops; wire.c holds
# the transport's pure parts (chunking, reassembly, back-off); sync.c the sync
# protocol's (decisions, payload codecs, lease and grace); reach.c the
# non-blocking TCP probes that tell a node cut off from one on the winning side.
noinst_LIBRARIES += %reldir%/libquorum.a
%canon_reldir%_libquorum_a_SOURCES = \
	%reldir%/cluster.h \
	%reldir%/cluster_int.h \
	%reldir%/cluster.c \
	%reldir%/loopback.c \
	%reldir%/wire.h \
	%reldir%/wire.c \
	%reldir%/sync.h \
	%reldir%/sync.c \
	%reldir%/reach.h \
	%reldir%/reach.c \
	%reldir%/corosync.c
%canon_reldir%_libquorum_a_CFLAGS = $(AM_CFLAGS) $(LIBQB_CFLAGS) $(CPG_CFLAGS) \
	$(VOTEQUORUM_CFLAGS) $(CMAP_CFLAGS)
# What a program linking libquorum.a needs after it.
QUORUM_LIBS = quorum/libquorum.a $(CPG_LIBS) $(VOTEQUORUM_LIBS) $(CMAP_LIBS) $(LIBQB_LIBS)
