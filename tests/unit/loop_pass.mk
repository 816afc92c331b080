# tests/unit/loop_pass.mk: check_loop_pass runs daemon/base/loop_pass alone (it
# depends on nothing but libqb) on a real qb_loop.
check_PROGRAMS += %reldir%/check_loop_pass
TESTS += %reldir%/check_loop_pass
%canon_reldir%_check_loop_pass_SOURCES = %reldir%/check_loop_pass.c $(CHECK_MAIN)
%canon_reldir%_check_loop_pass_CFLAGS = $(AM_CFLAGS) $(LIBQB_CFLAGS) $(CHECK_CFLAGS)
%canon_reldir%_check_loop_pass_LDADD = daemon/base/libloop_pass.a $(LIBQB_LIBS) $(CHECK_LIBS)
