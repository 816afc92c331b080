# daemon/scsi: the SCSI layer (SPC-4/SBC-3 command table, handlers, sense, UAs).
noinst_LIBRARIES += %reldir%/libscsi.a
%canon_reldir%_libscsi_a_SOURCES = \
	%reldir%/alua.h \
	%reldir%/alua.c \
	%reldir%/scsi.h \
	%reldir%/scsi_int.h \
	%reldir%/sense.h \
	%reldir%/scsi_pr.h %reldir%/scsi_caw.h \
	%reldir%/pr_glue.c \
	%reldir%/sense.c \
	%reldir%/cdb_table.c \
	%reldir%/lu.c \
	%reldir%/spc.c \
	%reldir%/sbc.c
%canon_reldir%_libscsi_a_CFLAGS = $(AM_CFLAGS) $(LIBQB_CFLAGS)
