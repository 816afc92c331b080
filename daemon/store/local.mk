# daemon/store/: the node's SQLite database (libstore.a, depends on sqlite3 only).
noinst_LIBRARIES += %reldir%/libstore.a
%canon_reldir%_libstore_a_SOURCES = %reldir%/store.h %reldir%/store.c
%canon_reldir%_libstore_a_CFLAGS = $(AM_CFLAGS) $(SQLITE_CFLAGS)
