# tests/static: checks of the source tree itself, run by make check like the
# other tests: the module layering of docs/ARCHITECTURE.md (include and call
# graphs, scripts/check-layers.py), headers that compile on their own, the
# clang-format style of the files listed in .clang-format-files, prose
# that names modules and commits (no authors, work sessions, machine paths),
# and every tracked .c and .h in make dist.
TESTS += %reldir%/check_layers.sh %reldir%/check_headers.sh %reldir%/check_format.sh \
	%reldir%/check_words.sh %reldir%/check_dist.sh
EXTRA_DIST += .clang-format .clang-format-files scripts/check-layers.py \
	%reldir%/check_layers.sh %reldir%/check_headers.sh %reldir%/check_format.sh \
	%reldir%/check_words.sh %reldir%/check_dist.sh
AM_TESTS_ENVIRONMENT += \
	QT_CC='$(CC)'; \
	QT_HDR_CFLAGS='-I$(abs_top_builddir) -D_GNU_SOURCE $(CPPFLAGS) $(CFLAGS) $(WARN_CFLAGS) \
		$(LIBQB_CFLAGS) $(JSONC_CFLAGS) $(URING_CFLAGS) $(SQLITE_CFLAGS) $(INIH_CFLAGS) \
		$(CHECK_CFLAGS) $(ISAL_CFLAGS) $(CRYPTO_CFLAGS) $(SYSTEMD_CFLAGS)'; \
	export QT_CC QT_HDR_CFLAGS;
