# cli/: quoratectl, the admin CLI. It may include daemon/ipc/ctl_proto.h and
# nothing else of the daemon; it links libqb (qb_ipcc), json-c, libsmartcols
# (tables) and inih (the IPC name from the daemon's config file).
sbin_PROGRAMS += %reldir%/quoratectl
%canon_reldir%_quoratectl_SOURCES = %reldir%/quoratectl.c
%canon_reldir%_quoratectl_CFLAGS = $(AM_CFLAGS) $(LIBQB_CFLAGS) $(JSONC_CFLAGS) \
	$(SMARTCOLS_CFLAGS) $(INIH_CFLAGS)
%canon_reldir%_quoratectl_LDADD = $(LIBQB_LIBS) $(JSONC_LIBS) $(SMARTCOLS_LIBS) $(INIH_LIBS)
dist_man_MANS += %reldir%/quoratectl.8
