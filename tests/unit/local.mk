# tests/unit: Check unit tests, one binary per module, each linking only the
# libraries its module may depend on. One fragment per module owner.
# Every binary's main() is check_main.c: a test file defines check_suite().
CHECK_MAIN = %reldir%/check_main.c %reldir%/check_main.h
include %reldir%/iscsi.mk
include %reldir%/scsi.mk
include %reldir%/backing.mk
include %reldir%/loop_pass.mk
include %reldir%/daemon.mk
include %reldir%/reservations.mk
include %reldir%/quorum.mk
