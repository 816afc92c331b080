#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Torn blocks: every logical block is read whole against concurrent writes.

A real quorated serves its demo LU (512-byte blocks) from a file under
/var/tmp (a disk file system: on ext4 buffered writes go through io_uring's
workers while page-cache reads are copied on the loop thread). One session
rewrites a 64 KiB range with two whole-range patterns, pipelined, while a
second session reads the range, pipelined. Every 512-byte block of every
read must be one pattern (or the initial zeroes), never a mix: shared-disk
cluster software relies on that for its heartbeat and lock sectors. Blocks
of one READ may differ from each other (a READ is not atomic as a whole).

Runs for STRESS_S seconds (or until a torn block is seen); afterwards the
daemon must still be alive and exit 0 on SIGTERM.

Port: QT_PORT_BASE (default 14500) + 140. Exit 0 pass, 1 fail.
"""
import os
import struct
import sys
import threading
import time

sys.dont_write_bytecode = True    # no __pycache__ in the source tree
sys.path.insert(0, os.environ.get("QT_SRCDIR") or os.path.dirname(os.path.abspath(__file__)))
import iscsi_raw as r  # noqa: E402
from qt_daemon import Fail, expect, run_test, HOST, TARGET  # noqa: E402

PORT_OFFSET = 140
INIT1 = "iqn.2026-11.org.quorate:init1"
INIT2 = "iqn.2026-11.org.quorate:init2"
BLOCK = 512
LBA = 2048
NBLOCKS = 128                   # 64 KiB: within FirstBurstLength, sent as immediate data
LEN = NBLOCKS * BLOCK
DEPTH = 8                       # commands in flight per session
STRESS_S = float(os.environ.get("QT_TORN_SECONDS", "10"))
PATTERNS = (b"\x55" * BLOCK, b"\xaa" * BLOCK)
ZERO = b"\0" * BLOCK
READ_10 = 0x28
WRITE_10 = 0x2A
GOOD = 0x00


def log(msg):
    print("torn: %s" % msg, file=sys.stderr, flush=True)


def login(port, initiator):
    c = r.Conn(HOST, port, timeout=20.0)
    rsp = c.login(initiator, TARGET)
    if rsp.status_class != r.STATUS_SUCCESS:
        raise Fail("%s: login status 0x%02x%02x" % (initiator, rsp.status_class,
                                                       rsp.status_detail))
    for _ in range(8):                          # consume unit attentions (power on...)
        if c.test_unit_ready().bhs[3] == GOOD:
            return c
    raise Fail("%s: TEST UNIT READY never GOOD" % initiator)


def rw10(opcode, lba, nblocks):
    return struct.pack(">BBIBHB", opcode, 0, lba, 0, nblocks, 0)


def send_cmd(c, cdb, data_out=b"", read_len=0):
    flags = r.FINAL | 0x01                      # SIMPLE
    edtl = len(data_out) or read_len
    flags |= 0x20 if data_out else 0x40
    itt = c.next_itt()
    cdb = cdb + b"\0" * (16 - len(cdb))
    hdr = r.bhs(r.OP_SCSI_CMD, flags, dsl=len(data_out), itt=itt,
                rest=struct.pack(">III", edtl, c.cmdsn, c.expstatsn) + cdb)
    c.cmdsn = (c.cmdsn + 1) & 0xFFFFFFFF
    return itt, c.wire(hdr, data_out)


def collect(c, itts):
    """Wait for every task in @itts; returns {itt: (status, data)}."""
    data = {itt: b"" for itt in itts}
    done = {}
    while len(done) < len(itts):
        rsp = c.recv_pdu()
        if rsp.opcode == r.OP_NOP_IN and rsp.itt == r.RESERVED_TAG:
            continue
        if rsp.itt not in data or rsp.itt in done:
            raise Fail("unexpected PDU %r (ITT 0x%x)" % (rsp, rsp.itt))
        if rsp.opcode == r.OP_DATA_IN:
            data[rsp.itt] += rsp.data
            if rsp.flags & 0x01:
                c.expstatsn = (rsp.u32(24) + 1) & 0xFFFFFFFF
                done[rsp.itt] = (rsp.bhs[3], data[rsp.itt])
            continue
        if rsp.opcode != r.OP_SCSI_RSP:
            raise Fail("answered with %r" % rsp)
        c.expstatsn = (rsp.u32(24) + 1) & 0xFFFFFFFF
        done[rsp.itt] = (rsp.bhs[3], data[rsp.itt])
    return done


class Stress:
    def __init__(self, port):
        self.port = port
        self.stop = threading.Event()
        self.error = None
        self.writes = 0
        self.reads = 0
        self.torn = 0
        self.first_torn = None

    def writer(self):
        try:
            c = login(self.port, INIT1)
            n = 0
            while not self.stop.is_set():
                itts, wire = [], b""
                for _ in range(DEPTH):
                    itt, w = send_cmd(c, rw10(WRITE_10, LBA, NBLOCKS),
                                      data_out=PATTERNS[n & 1] * NBLOCKS)
                    n += 1
                    itts.append(itt)
                    wire += w
                c.send_raw(wire)
                for itt, (status, _) in collect(c, itts).items():
                    if status != GOOD:
                        raise Fail("WRITE(10) status 0x%02x" % status)
                self.writes += DEPTH
            c.logout()
            c.close()
        except Exception as e:  # noqa: BLE001 - reported by the main thread
            self.error = self.error or ("writer: %s" % e)
            self.stop.set()

    def reader(self):
        try:
            c = login(self.port, INIT2)
            while not self.stop.is_set():
                itts, wire = [], b""
                for _ in range(DEPTH):
                    itt, w = send_cmd(c, rw10(READ_10, LBA, NBLOCKS), read_len=LEN)
                    itts.append(itt)
                    wire += w
                c.send_raw(wire)
                for itt, (status, data) in collect(c, itts).items():
                    if status != GOOD or len(data) != LEN:
                        raise Fail("READ(10) status 0x%02x, %d bytes" % (status, len(data)))
                    self.reads += 1
                    for off in range(0, LEN, BLOCK):
                        blk = data[off:off + BLOCK]
                        if blk not in PATTERNS and blk != ZERO:
                            self.torn += 1
                            if self.first_torn is None:
                                self.first_torn = (LBA + off // BLOCK, blk)
                            break
                if self.torn:
                    self.stop.set()
            c.logout()
            c.close()
        except Exception as e:  # noqa: BLE001 - reported by the main thread
            self.error = self.error or ("reader: %s" % e)
            self.stop.set()


def run(d):
    d.start()
    s = Stress(d.port)
    threads = [threading.Thread(target=s.writer), threading.Thread(target=s.reader)]
    for t in threads:
        t.start()
    s.stop.wait(STRESS_S)
    s.stop.set()
    for t in threads:
        t.join(60)
    if s.error:
        raise Fail(s.error)
    log("%d writes, %d reads of %d blocks" % (s.writes, s.reads, NBLOCKS))
    if s.torn:
        lba, blk = s.first_torn
        raise Fail("%d of %d reads returned a torn block (first: LBA %d, bytes %s..%s)" %
                   (s.torn, s.reads, lba, blk[:4].hex(), blk[-4:].hex()))
    expect(s.reads > 0 and s.writes > 0, "no I/O was done")
    expect(d.alive(), "quorated died")


if __name__ == "__main__":
    sys.exit(run_test("torn", PORT_OFFSET, run, tmpdir="/var/tmp"))
