# tests/unit: Check unit tests, one binary per module, each linking only the
# libraries its module may depend on. One fragment per module owner.
include %reldir%/iscsi.mk
include %reldir%/scsi.mk
include %reldir%/backing.mk
include %reldir%/loop_pass.mk
include %reldir%/daemon.mk
include %reldir%/reservations.mk
include %reldir%/quorum.mk
