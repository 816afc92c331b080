# daemon/base/: the bottom room, below every subsystem of the daemon. What is
# here depends on nothing of the daemon's own (libc and libqb's loop only),
# and everything above may use it:
#  - log.h: qb_log wrappers and the per-connection log prefix (header only);
#  - domain.h: the LUN domain rules (id range, block sizes, backing kinds);
#  - byteorder.h: big-endian field access for daemon/iscsi and daemon/scsi
#    (header only), so neither includes the other's headers for it;
#  - direct_io.h: whether a store opened with O_DIRECT takes a LUN's block
#    size (header only), for daemon/backing and lun create;
#  - io_stats.h: per-LU and per-session I/O counters (header only), bumped
#    by daemon/scsi and daemon/iscsi, read by the admin IPC and the metrics;
#  - loop_pass: work deferred to the end of a main-loop pass (batched submits
#    and writes, busy polling), used by daemon/backing and daemon/iscsi.
EXTRA_DIST += %reldir%/byteorder.h %reldir%/log.h %reldir%/domain.h %reldir%/direct_io.h \
	%reldir%/io_stats.h
noinst_LIBRARIES += %reldir%/libloop_pass.a
%canon_reldir%_libloop_pass_a_SOURCES = %reldir%/loop_pass.h %reldir%/loop_pass.c
