# daemon/ipc/: the admin IPC service (libipc.a: libqb qb_ipcs + json-c).
# ctl_proto.h is the only daemon header cli/ may include.
noinst_LIBRARIES += %reldir%/libipc.a
%canon_reldir%_libipc_a_SOURCES = \
	%reldir%/ctl_proto.h \
	%reldir%/ipc_server.h \
	%reldir%/ipc_server.c
%canon_reldir%_libipc_a_CFLAGS = $(AM_CFLAGS) $(LIBQB_CFLAGS) $(JSONC_CFLAGS)
