# cli/: quoratectl, the admin CLI. It may include daemon/ipc/ctl_proto.h and
# nothing else of the daemon; it links libqb (qb_ipcc) and json-c only.
sbin_PROGRAMS += %reldir%/quoratectl
%canon_reldir%_quoratectl_SOURCES = %reldir%/quoratectl.c
%canon_reldir%_quoratectl_CFLAGS = $(AM_CFLAGS) $(LIBQB_CFLAGS) $(JSONC_CFLAGS)
%canon_reldir%_quoratectl_LDADD = $(LIBQB_LIBS) $(JSONC_LIBS)
dist_man_MANS += %reldir%/quoratectl.8
