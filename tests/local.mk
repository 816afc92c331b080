# tests/: Check unit tests (one binary per module), integration tests against a
# running quorated, and fuzz targets whose saved corpus is replayed by make check.
include %reldir%/unit/local.mk
include %reldir%/integration/local.mk
include %reldir%/fuzz/local.mk
