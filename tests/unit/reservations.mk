# tests/unit/reservations.mk: the PR engine's tests link libreservations.a and
# Check only, which proves the engine needs nothing but libc.
check_PROGRAMS += %reldir%/check_pr
TESTS += %reldir%/check_pr
%canon_reldir%_check_pr_SOURCES = %reldir%/check_pr.c
%canon_reldir%_check_pr_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
%canon_reldir%_check_pr_LDADD = reservations/libreservations.a $(CHECK_LIBS)
