# daemon/backing: backing stores (file, block device, null) over one io_uring.
noinst_LIBRARIES += %reldir%/libbacking.a
%canon_reldir%_libbacking_a_SOURCES = \
	%reldir%/backing.h \
	%reldir%/backing_int.h \
	%reldir%/backing.c \
	%reldir%/engine.c \
	%reldir%/file.c
%canon_reldir%_libbacking_a_CFLAGS = $(AM_CFLAGS) $(LIBQB_CFLAGS) $(URING_CFLAGS)
