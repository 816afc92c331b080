# reservations/: the pure SPC-4 persistent-reservation engine.
# libc only: no libqb, no I/O, no logging, no clock, no globals. The unit
# test links this library and Check alone, so any other dependency fails to
# link (docs/ARCHITECTURE.md, DESIGN.md §2).
noinst_LIBRARIES += %reldir%/libreservations.a
%canon_reldir%_libreservations_a_SOURCES = \
	%reldir%/pr.h \
	%reldir%/pr_int.h \
	%reldir%/pr_state.c \
	%reldir%/pr_decode.c \
	%reldir%/pr_apply.c \
	%reldir%/pr_in.c \
	%reldir%/pr_wire.c
