# tests/: Check unit tests (one binary per module), integration tests against a
# running quorated, and fuzz targets whose saved corpus is replayed by make check.
#
# Shared test-harness glue: scripts run through bash or python3
# by extension; every test sees the build tree's programs in its environment,
# so an out-of-tree build tests its own binaries.
TEST_EXTENSIONS = .sh .py
SH_LOG_COMPILER = bash
PY_LOG_COMPILER = python3
AM_TESTS_ENVIRONMENT = \
	QUORATED='$(abs_top_builddir)/daemon/quorated'; \
	QUORATECTL='$(abs_top_builddir)/cli/quoratectl'; \
	QT_SRCDIR='$(abs_top_srcdir)/tests/integration'; \
	QT_IMPOSTOR='$(abs_top_builddir)/tests/integration/ipc_impostor'; \
	export QUORATED QUORATECTL QT_SRCDIR QT_IMPOSTOR;

include %reldir%/unit/local.mk
include %reldir%/integration/local.mk
include %reldir%/fuzz/local.mk
include %reldir%/static/local.mk
include %reldir%/cluster/local.mk
