#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Session-level load for bench/run, with the raw-socket initiator of the
integration tests (tests/integration/iscsi_raw.py).

  sessions.py rate HOST PORT TARGET LUN SECONDS
      log in, send one standard INQUIRY (SPC-4 §6.6) to LUN, log out
      (RFC 7143 §11.14), close; repeat for SECONDS; print the cycles per
      second. One connection at a time, so this measures the target's
      login path latency (plus the fixed cost of this Python client).

  sessions.py hold HOST PORT TARGET COUNT STATUS_FILE
      open COUNT sessions, each logged in and then idle, write "up COUNT"
      to STATUS_FILE and wait until killed (SIGTERM); used to read the
      target's resident memory per idle session. Each session has its own
      initiator name, so no login reinstates another session (§6.3.5).

Any failure is printed and exits non-zero: a benchmark figure must never be
computed from a half-failed run.
"""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tests", "integration"))
import iscsi_raw  # noqa: E402

INQUIRY = 0x12
INQUIRY_ALLOC_LEN = 96          # the standard INQUIRY data is at least 36 bytes
SCSI_STATUS_GOOD = 0x00
INITIATOR_PREFIX = "iqn.2026-11.org.quorate:bench"


def cycle(host, port, target, lun, initiator):
    c = iscsi_raw.Conn(host, port)
    try:
        rsp = c.login(initiator, target)
        if rsp.status_class != iscsi_raw.STATUS_SUCCESS:
            raise RuntimeError("login refused: %r" % rsp)
        cdb = bytes([INQUIRY, 0, 0, 0, INQUIRY_ALLOC_LEN, 0])
        status, _, data = c.command(cdb, read_len=INQUIRY_ALLOC_LEN, lun=lun)
        if status != SCSI_STATUS_GOOD or len(data) < 36:
            raise RuntimeError("INQUIRY failed: status 0x%02x, %d bytes" % (status, len(data)))
        c.logout()
    finally:
        c.close()


def rate(host, port, target, lun, seconds):
    initiator = INITIATOR_PREFIX + "-rate"
    n = 0
    start = time.monotonic()
    end = start + seconds
    while time.monotonic() < end:
        cycle(host, port, target, lun, initiator)
        n += 1
    print("%.1f" % (n / (time.monotonic() - start)))


def hold(host, port, target, count, status_file):
    conns = []
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    for i in range(count):
        c = iscsi_raw.Conn(host, port, timeout=30.0)
        rsp = c.login("%s-hold-%d" % (INITIATOR_PREFIX, i), target)
        if rsp.status_class != iscsi_raw.STATUS_SUCCESS:
            raise RuntimeError("login %d refused: %r" % (i, rsp))
        conns.append(c)
    with open(status_file + ".tmp", "w") as f:
        f.write("up %d\n" % len(conns))
    os.rename(status_file + ".tmp", status_file)
    while True:
        signal.pause()


def main(argv):
    if len(argv) == 7 and argv[1] == "rate":
        rate(argv[2], int(argv[3]), argv[4], int(argv[5]), float(argv[6]))
    elif len(argv) == 7 and argv[1] == "hold":
        hold(argv[2], int(argv[3]), argv[4], int(argv[5]), argv[6])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except (OSError, RuntimeError, ValueError, iscsi_raw.Closed) as e:
        print("sessions.py: %s" % e, file=sys.stderr)
        sys.exit(1)
