# tests/unit/backing.mk: check_backing runs the real backing stores on a real
# qb_loop and real files in a fresh directory under /var/tmp (O_DIRECT needs
# a disk file system, not tmpfs).
check_PROGRAMS += %reldir%/check_backing
TESTS += %reldir%/check_backing
%canon_reldir%_check_backing_SOURCES = %reldir%/check_backing.c %reldir%/check_disk4k.h $(CHECK_MAIN)
%canon_reldir%_check_backing_CFLAGS = $(AM_CFLAGS) $(LIBQB_CFLAGS) $(URING_CFLAGS) $(CHECK_CFLAGS)
%canon_reldir%_check_backing_LDADD = daemon/backing/libbacking.a daemon/base/libloop_pass.a \
	$(URING_LIBS) $(LIBQB_LIBS) $(CHECK_LIBS)
