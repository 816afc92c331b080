#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The batched receive/transmit data path against a real quorated.

The daemon reads each connection through a shared staging buffer (one read
takes in every waiting PDU, pieces >= 32 KiB go straight into place, bytes
left when backpressure stops the receive loop move to a per-connection
spill buffer) and writes a connection's queue once per loop pass
(daemon/iscsi/conn.c). These cases drive that path over raw sockets, two
LUNs: LUN 0 on a tmpfs file (/dev/shm, served by in-memory copies at
submit time) with 512-byte blocks, LUN 1 on a /var/tmp file (served by
preadv2/pwritev2(RWF_NOWAIT), continuing through io_uring for pages that
are not cached) with 4096-byte blocks. The files are filled with a known
pattern (every 512-byte sector names its LUN, its number and a generation)
before the daemon opens them, so every read is checked against a model.

 a. pipelining: 256 commands in one sendall() (WRITE(10) 4 KiB with
    immediate data, READ(10) 4 KiB, TEST UNIT READY, NOP-Out), then a second
    burst that reads back every written block (SIMPLE tasks of one burst are
    not ordered, SAM-5 8.6);
 b. trickle: PDUs sent one byte per send() (TCP_NODELAY), then cut at
    awkward points (inside the BHS, between header and data, inside the
    data, the pad, the digests), with and without CRC32C digests;
 c. large transfers: 1 MiB WRITE(10) with immediate data + unsolicited
    Data-Out up to FirstBurstLength + R2T-solicited Data-Out of
    MaxRecvDataSegmentLength, headers sent ahead of their data so the data
    is read straight into place; then several at once; 1 MiB READ(10) back;
 d. backpressure: a client with a small SO_RCVBUF sends NOP-Out pings
    (answered at once, so the target's transmit backlog passes 8 MiB while
    staged bytes are still unread: rx_paused + spill), 48 READ(10) of 1 MiB
    (LUN 1's pages mostly out of the page cache: RWF_NOWAIT reads fail or
    stop short and io_uring continues them) and small commands, and reads
    nothing for 1 s while another session keeps using the target (which
    must never see the paused connection's staged bytes); then everything
    must arrive once, in a valid order;
 e. afterwards the long-lived session still answers, a new login works, the
    idle daemon does not spin (busy polling ends), it exits 0 on SIGTERM,
    its log has no sanitizer report, and the backing files hold exactly
    what the model says.

Every response is checked: ITT known and answered once, status, data,
Data-In DataSN/offsets/F bits, R2T fields, StatSN consecutive (queue order
is StatSN order), ExpCmdSN/MaxCmdSN never going back, ExpCmdSN past the
CmdSN of each answered command and, once a burst is answered, equal to the
next CmdSN. Bursts never exceed the CmdSN window the target announced.

Port: QT_PORT_BASE (default 14500) + 90. Exit 0 pass, 1 fail (it needs no
tool beyond python3, so it never skips). QT_PIPELINE_SEED changes the
shuffling (default fixed); QT_KEEP keeps the work directory (daemon log).
"""
import mmap
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback

sys.dont_write_bytecode = True    # no __pycache__ in the source tree
sys.path.insert(0, os.environ.get("QT_SRCDIR") or os.path.dirname(os.path.abspath(__file__)))
import iscsi_raw as r  # noqa: E402

HOST = "127.0.0.1"
TARGET = "iqn.2026-11.org.quorate:pipeline"
INIT = "iqn.2026-11.org.quorate:init1"
INIT2 = "iqn.2026-11.org.quorate:init2"
PORT_OFFSET = 90
QUEUE_DEPTH = 512               # [iscsi] queue_depth: the CmdSN window we configure
SOCK_TIMEOUT = 20.0             # every socket operation
BURST_TIMEOUT = 40.0            # all answers to one burst
WATCHDOG_S = 240                # the whole test, a last resort against hangs

MiB = 1024 * 1024
LU_SIZE = 64 * MiB
SECTOR = 512                    # granularity of the data model
SLOT = 4096                     # small transfers
BIG = MiB                       # large transfers
MAGIC = 0x51504950              # "QPIP"

# Per-LUN layout (byte offsets), one region per case so that the model stays simple.
A_WRITES = 0                    # a: 4 KiB writes, 256 slots
A_READS = 1 * MiB               # a: 4 KiB reads of the initial pattern
B_AREA = 2 * MiB                # b: trickled writes and reads
C_AREA = 4 * MiB                # c: 1 MiB writes
C_DIGEST = 34 * MiB             # c: the same with CRC32C digests
D_READS = 8 * MiB               # d: 1 MiB reads, 24 per LUN
D_SMALL = 40 * MiB              # d: small writes/reads, and the keeper's burst

# SCSI (SPC-4 / SBC-3)
TEST_UNIT_READY = 0x00
READ_CAPACITY_10 = 0x25
READ_10 = 0x28
WRITE_10 = 0x2A
GOOD = 0x00
CHECK_CONDITION = 0x02
SENSE_UNIT_ATTENTION = 0x6

# iSCSI flags (RFC 7143 §11.3.1, §11.7)
CMD_READ = 0x40
CMD_WRITE = 0x20
ATTR_SIMPLE = 0x01
DATAIN_STATUS = 0x01
DATAIN_UNDERFLOW = 0x02
DATAIN_OVERFLOW = 0x04
SANITIZER_RE = re.compile(r"ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|"
                          r"SUMMARY: (Address|Leak|UndefinedBehavior)Sanitizer")


def log(msg):
    print("pipeline: %s" % msg, file=sys.stderr, flush=True)


class Fail(Exception):
    pass


class Hung(BaseException):
    """The watchdog fired: not caught by the per-case handlers."""


def expect(cond, msg):
    if not cond:
        raise Fail(msg)


def sn_diff(a, b):
    """a - b in serial number arithmetic (RFC 1982, 32 bits)."""
    return ((a - b + 0x80000000) & 0xFFFFFFFF) - 0x80000000


def port_free(port):
    s = socket.socket()
    try:
        s.settimeout(0.5)
        return s.connect_ex((HOST, port)) != 0
    finally:
        s.close()


# --- the data model ------------------------------------------------------------

_FILL = {}


def sector(lun, n, gen):
    """Sector @n of LUN @lun as written in generation @gen (0: initial)."""
    fill = _FILL.get(gen)
    if fill is None:
        fill = bytes((gen * 31 + 7 * i) & 0xFF for i in range(SECTOR - 16))
        _FILL[gen] = fill
    return struct.pack(">IIII", MAGIC, lun, n, gen) + fill


def pattern(lun, off, length, gen):
    return b"".join(sector(lun, n, gen) for n in range(off // SECTOR, (off + length) // SECTOR))


class Medium:
    """What a LUN must contain: the initial pattern plus what was written."""

    def __init__(self, lun, path, block_size):
        self.lun = lun
        self.path = path
        self.block_size = block_size
        self.written = {}       # sector number -> bytes

    def expected(self, off, length):
        w = self.written
        return b"".join(w.get(n) or sector(self.lun, n, 0)
                        for n in range(off // SECTOR, (off + length) // SECTOR))

    def record(self, off, data):
        for i in range(0, len(data), SECTOR):
            self.written[(off + i) // SECTOR] = data[i:i + SECTOR]

    def create(self):
        with open(self.path, "wb") as f:
            for off in range(0, LU_SIZE, MiB):
                f.write(pattern(self.lun, off, MiB, 0))
            f.flush()
            os.fsync(f.fileno())

    def verify_file(self):
        """After the daemon exited: the file holds exactly the model."""
        with open(self.path, "rb") as f:
            for off in range(0, LU_SIZE, MiB):
                got = f.read(MiB)
                want = self.expected(off, MiB)
                if got != want:
                    bad = next(i for i in range(0, MiB, SECTOR)
                               if got[i:i + SECTOR] != want[i:i + SECTOR])
                    raise Fail("LUN %d file %s: sector %d differs from the model: "
                               "%s, expected %s" % (self.lun, self.path, (off + bad) // SECTOR,
                                                    got[bad:bad + 16].hex(),
                                                    want[bad:bad + 16].hex()))


# --- the daemon ----------------------------------------------------------------

class Daemon:
    def __init__(self):
        self.exe = os.environ.get("QUORATED") or os.path.abspath("daemon/quorated")
        self.ctl = os.environ.get("QUORATECTL") or os.path.abspath("cli/quoratectl")
        base = int(os.environ.get("QT_PORT_BASE", "14500")) + PORT_OFFSET
        self.port = next((p for p in range(base, base + 10) if port_free(p)), None)
        if self.port is None:
            raise Fail("no free port in %d..%d" % (base, base + 9))
        self.dir = tempfile.mkdtemp(prefix="quorate-pipeline.")
        self.log = os.path.join(self.dir, "quorated.log")
        self.ipc = "quorate-test-pipeline-%d" % os.getpid()
        self.proc = None
        self.status = None

    def start(self):
        data = os.path.join(self.dir, "data")
        os.mkdir(data)
        conf = os.path.join(self.dir, "quorated.conf")
        with open(conf, "w") as f:
            f.write("[node]\nname = test-pipeline\ndata_dir = %s\ncluster = standalone\n"
                    "ipc_name = %s\nlog_level = info\n\n[iscsi]\nlisten = %s:%d\n"
                    "queue_depth = %d\n" % (data, self.ipc, HOST, self.port, QUEUE_DEPTH))
        with open(self.log, "w") as logf:
            self.proc = subprocess.Popen([self.exe, "--foreground", "--config", conf],
                                         stdout=logf, stderr=subprocess.STDOUT)
        ready = re.compile(r"quorated .* ready: node")
        for _ in range(200):
            with open(self.log) as f:
                if ready.search(f.read()):
                    return
            if self.proc.poll() is not None:
                raise Fail("quorated exited with %d before it was ready" % self.proc.returncode)
            time.sleep(0.1)
        raise Fail("quorated logged no 'ready: node' line within 20 s")

    def quoratectl(self, *args):
        try:
            p = subprocess.run([self.ctl, "--ipc", self.ipc] + list(args), timeout=60,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        except subprocess.TimeoutExpired:
            raise Fail("quoratectl %s hung" % " ".join(args))
        expect(p.returncode == 0, "quoratectl %s: exit %d: %s" % (" ".join(args), p.returncode,
                                                                  p.stdout.strip()))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def cpu_share(self, seconds):
        """CPU time the daemon used in the next @seconds, per second."""
        def ticks():
            with open("/proc/%d/stat" % self.proc.pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return int(fields[11]) + int(fields[12])        # utime + stime
        t0, c0 = time.monotonic(), ticks()
        time.sleep(seconds)
        t1, c1 = time.monotonic(), ticks()
        return (c1 - c0) / os.sysconf("SC_CLK_TCK") / (t1 - t0)

    def stop(self):
        if not self.alive():
            return None
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.status = self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.status = self.proc.wait()
        return self.status

    def log_text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def tail(self):
        return "".join(self.log_text().splitlines(True)[-40:])


D = None
MEDIA = {}


# --- one session and its bookkeeping ---------------------------------------------

class Cmd:
    """One command (SCSI or NOP-Out) and what came back for it."""

    def __init__(self, kind, itt, cmdsn, lun=0, off=0, length=0, ping=b""):
        self.kind = kind        # "read", "write", "tur", "nop"
        self.itt = itt
        self.cmdsn = cmdsn      # None: immediate
        self.lun = lun
        self.off = off
        self.length = length
        self.ping = ping
        self.write_data = b""
        self.data = bytearray()
        self.datasn = 0
        self.status = None
        self.sense = b""
        self.done = False
        self.r2tsn = 0
        self.r2t_next = 0       # next offset an R2T must ask for
        self.solicited = 0      # bytes asked for by R2Ts

    def __repr__(self):
        sn = "imm" if self.cmdsn is None else "cmdsn %d" % self.cmdsn
        if self.kind in ("read", "write"):
            return "<%s lun %d off %d len %d itt 0x%x %s>" % (self.kind, self.lun, self.off,
                                                              self.length, self.itt, sn)
        return "<%s lun %d itt 0x%x %s>" % (self.kind, self.lun, self.itt, sn)


class Session(r.Conn):
    def __init__(self, name, initiator=INIT, digests=False, rcvbuf=None, extra_ops=()):
        super().__init__(HOST, D.port, timeout=SOCK_TIMEOUT, rcvbuf=rcvbuf)
        self.name = name
        rsp = self.login(initiator, TARGET, digests=digests, extra_ops=extra_ops)
        expect(rsp.status_class == r.STATUS_SUCCESS, "%s: login failed: %r" % (name, rsp))
        expect(not digests or (self.header_digest and self.data_digest),
               "%s: the target refused CRC32C digests: %r" % (name, self.login_keys))
        # The first status after login carries the login's StatSN + 1.
        self.statsn_next = (rsp.u32(24) + 1) & 0xFFFFFFFF
        self.exp_cmdsn = rsp.u32(28)
        self.max_cmdsn = rsp.u32(32)
        expect(self.exp_cmdsn == self.cmdsn, "%s: ExpCmdSN %d after login, CmdSN %d"
               % (name, self.exp_cmdsn, self.cmdsn))
        window = sn_diff(self.max_cmdsn, self.exp_cmdsn) + 1
        expect(window == QUEUE_DEPTH, "%s: the target announced a CmdSN window of %d "
               "(ExpCmdSN %d, MaxCmdSN %d), configured queue_depth %d"
               % (name, window, self.exp_cmdsn, self.max_cmdsn, QUEUE_DEPTH))
        self.nop_order = []     # ITTs of NOP-Outs not answered yet, in sending order

    def _recv_exact(self, n):
        # recv_into one buffer: the base class's bytes += is quadratic for
        # the 256 KiB Data-In PDUs arriving in small pieces.
        buf = bytearray(n)
        view = memoryview(buf)
        got = 0
        while got < n:
            k = self.sock.recv_into(view[got:], n - got)
            if k == 0:
                raise r.Closed("%s: connection closed after %d of %d bytes"
                               % (self.name, got, n))
            got += k
        return bytes(buf)

    def recv_pdu(self):
        """The base class's, but also checking the target's digests (§13.1)."""
        hdr = self._recv_exact(r.BHS_LEN)
        ahs = self._recv_exact(hdr[4] * 4) if hdr[4] else b""
        if self.header_digest:
            expect(self._recv_exact(r.DIGEST_LEN) == r.crc32c(hdr + ahs),
                   "%s: header digest error in %s" % (self.name, hdr.hex()))
        dsl = struct.unpack(">I", b"\0" + hdr[5:8])[0]
        expect(dsl <= 16 * MiB, "%s: target sent DataSegmentLength %d" % (self.name, dsl))
        data = b""
        if dsl:
            data = self._recv_exact(dsl + (-dsl % 4))
            if self.data_digest:
                expect(self._recv_exact(r.DIGEST_LEN) == r.crc32c(data),
                       "%s: data digest error after %s" % (self.name, hdr.hex()))
            data = data[:dsl]
        pdu = r.PDU(hdr, data)
        if pdu.opcode in (r.OP_NOP_IN, r.OP_SCSI_RSP, r.OP_LOGIN_RSP, r.OP_TEXT_RSP,
                          r.OP_LOGOUT_RSP, r.OP_ASYNC, r.OP_REJECT) or \
                (pdu.opcode == r.OP_DATA_IN and pdu.flags & DATAIN_STATUS):
            if pdu.opcode != r.OP_NOP_IN or pdu.itt != r.RESERVED_TAG:
                self.expstatsn = (pdu.u32(24) + 1) & 0xFFFFFFFF
        return pdu

    # --- building commands (assigns ITT and CmdSN; sends nothing) -------------
    def _scsi(self, kind, cdb, lun, edtl=0, flags=0, imm=b"", final=True, **kw):
        itt = self.next_itt()
        cmdsn = self.cmdsn
        self.cmdsn = (self.cmdsn + 1) & 0xFFFFFFFF
        lun_bytes = struct.pack(">HHI", lun & 0x3FFF, 0, 0)
        cdb = bytes(cdb) + b"\0" * (16 - len(cdb))
        hdr = r.bhs(r.OP_SCSI_CMD, (r.FINAL if final else 0) | ATTR_SIMPLE | flags, dsl=len(imm),
                    lun=lun_bytes, itt=itt,
                    rest=struct.pack(">III", edtl, cmdsn, self.expstatsn) + cdb)
        return Cmd(kind, itt, cmdsn, lun=lun, **kw), hdr

    def rw_cdb(self, op, lun, off, length):
        bs = MEDIA[lun].block_size
        assert off % bs == 0 and length % bs == 0
        return bytes([op, 0]) + struct.pack(">I", off // bs) + b"\0" + \
            struct.pack(">H", length // bs) + b"\0"

    def read10(self, lun, off, length):
        cmd, hdr = self._scsi("read", self.rw_cdb(READ_10, lun, off, length), lun, length,
                              CMD_READ, off=off, length=length)
        return cmd, self.wire(hdr)

    def write10(self, lun, off, data):
        """WRITE(10), all data immediate (within FirstBurstLength)."""
        cmd, hdr = self._scsi("write", self.rw_cdb(WRITE_10, lun, off, len(data)), lun,
                              len(data), CMD_WRITE, imm=data, off=off, length=len(data))
        cmd.write_data = data
        return cmd, self.wire(hdr, data)

    def tur(self, lun):
        cmd, hdr = self._scsi("tur", bytes([TEST_UNIT_READY]) + bytes(5), lun)
        return cmd, self.wire(hdr)

    def nop(self, data=b"", immediate=True):
        itt = self.next_itt()
        cmdsn = None if immediate else self.cmdsn
        hdr = r.bhs(r.OP_NOP_OUT | (r.IMMEDIATE if immediate else 0), r.FINAL, dsl=len(data),
                    itt=itt, rest=struct.pack(">III", r.RESERVED_TAG, self.cmdsn, self.expstatsn))
        if not immediate:
            self.cmdsn = (self.cmdsn + 1) & 0xFFFFFFFF
        return Cmd("nop", itt, cmdsn, ping=data), self.wire(hdr, data)

    def check_window(self, cmds):
        """Nothing beyond the MaxCmdSN the target announced (§4.2.2.1)."""
        for c in cmds:
            if c.cmdsn is not None:
                expect(sn_diff(c.cmdsn, self.max_cmdsn) <= 0,
                       "%s: test error: %r beyond MaxCmdSN %d" % (self.name, c, self.max_cmdsn))

    def note_sent(self, cmds):
        self.nop_order += [c.itt for c in cmds if c.kind == "nop"]

    def send_burst(self, items):
        """All @items, (Cmd, bytes), in one sendall()."""
        cmds = [c for c, _ in items]
        self.check_window(cmds)
        self.note_sent(cmds)
        self.sock.sendall(b"".join(w for _, w in items))
        return cmds

    # --- receiving -------------------------------------------------------------
    def check_sn(self, pdu):
        """StatSN, ExpCmdSN and MaxCmdSN of every PDU in arrival order."""
        op = pdu.opcode
        statsn, exp, mx = pdu.u32(24), pdu.u32(28), pdu.u32(32)
        what = "%s: %r itt 0x%x" % (self.name, pdu, pdu.itt)
        if op == r.OP_DATA_IN and not pdu.flags & DATAIN_STATUS:
            pass                # StatSN reserved without the S bit (§11.7.4)
        elif op == r.OP_R2T or (op == r.OP_NOP_IN and pdu.itt == r.RESERVED_TAG):
            # They carry the next StatSN without using it (§11.8.1, §11.19.2).
            expect(statsn == self.statsn_next, "%s: StatSN %d, expected the next one, %d"
                   % (what, statsn, self.statsn_next))
        else:
            expect(statsn == self.statsn_next, "%s: StatSN %d, expected %d (responses out of "
                   "order, lost or doubled)" % (what, statsn, self.statsn_next))
            self.statsn_next = (statsn + 1) & 0xFFFFFFFF
        expect(sn_diff(exp, self.exp_cmdsn) >= 0, "%s: ExpCmdSN went back from %d to %d"
               % (what, self.exp_cmdsn, exp))
        expect(sn_diff(exp, self.cmdsn) <= 0, "%s: ExpCmdSN %d is past the next CmdSN %d "
               "we have not sent" % (what, exp, self.cmdsn))
        expect(sn_diff(mx, self.max_cmdsn) >= 0, "%s: MaxCmdSN went back from %d to %d"
               % (what, self.max_cmdsn, mx))
        expect(sn_diff(mx, exp) >= -1, "%s: MaxCmdSN %d < ExpCmdSN %d - 1" % (what, mx, exp))
        self.exp_cmdsn, self.max_cmdsn = exp, mx

    def finish(self, c, pdu, status):
        expect(not c.done, "%s: a second final response for %r: %r" % (self.name, c, pdu))
        c.done = True
        c.status = status
        if c.cmdsn is not None:
            expect(sn_diff(pdu.u32(28), c.cmdsn) > 0, "%s: %r answered with ExpCmdSN %d"
                   % (self.name, c, pdu.u32(28)))

    def on_data_in(self, c, pdu):
        expect(c.kind in ("read", "capacity") and not c.done,
               "%s: Data-In for %r" % (self.name, c))
        datasn, off = pdu.u32(36), pdu.u32(40)
        expect(datasn == c.datasn, "%s: %r: Data-In DataSN %d, expected %d"
               % (self.name, c, datasn, c.datasn))
        expect(off == len(c.data), "%s: %r: Data-In at offset %d, expected %d"
               % (self.name, c, off, len(c.data)))
        expect(0 < len(pdu.data) <= 262144, "%s: %r: Data-In of %d bytes (MaxRecvDataSegment"
               "Length 262144)" % (self.name, c, len(pdu.data)))
        c.data += pdu.data
        c.datasn += 1
        expect(len(c.data) <= c.length, "%s: %r: %d bytes of Data-In" % (self.name, c,
                                                                         len(c.data)))
        # §11.7.1: F closes every sequence of MaxBurstLength bytes and the last.
        burst = int(self.login_keys.get("MaxBurstLength", "262144"))
        end = len(c.data) == c.length or len(c.data) % burst == 0
        expect(bool(pdu.flags & r.FINAL) == end, "%s: %r: Data-In ending at %d has F=%d "
               "(MaxBurstLength %d)" % (self.name, c, len(c.data), pdu.flags >> 7, burst))
        if pdu.flags & DATAIN_STATUS:
            expect(pdu.flags & r.FINAL, "%s: %r: S without F" % (self.name, c))
            expect(not pdu.flags & (DATAIN_UNDERFLOW | DATAIN_OVERFLOW) and pdu.u32(44) == 0,
                   "%s: %r: residual flags 0x%02x count %d" % (self.name, c, pdu.flags,
                                                               pdu.u32(44)))
            self.finish(c, pdu, pdu.bhs[3])

    def on_scsi_rsp(self, c, pdu):
        expect(c.kind in ("read", "write", "tur", "capacity"),
               "%s: SCSI Response for %r" % (self.name, c))
        expect(pdu.bhs[2] == 0, "%s: %r: iSCSI response 0x%02x" % (self.name, c, pdu.bhs[2]))
        if len(pdu.data) >= 2:
            n = struct.unpack(">H", pdu.data[:2])[0]
            c.sense = pdu.data[2:2 + n]
        if c.kind == "write":
            # §11.4.6: ExpDataSN of a write = the R2Ts sent for it.
            expect(pdu.u32(36) == c.r2tsn, "%s: %r: ExpDataSN %d after %d R2Ts"
                   % (self.name, c, pdu.u32(36), c.r2tsn))
        self.finish(c, pdu, pdu.bhs[3])

    def on_nop_in(self, c, pdu):
        expect(c.kind == "nop", "%s: NOP-In for %r" % (self.name, c))
        expect(pdu.data == c.ping, "%s: %r: NOP-In echoes %d bytes, the ping had %d (or they "
               "differ)" % (self.name, c, len(pdu.data), len(c.ping)))
        # NOP-Outs are answered as they arrive: their answers keep their order.
        expect(self.nop_order and self.nop_order[0] == c.itt, "%s: NOP-In for itt 0x%x before "
               "the one for itt 0x%x" % (self.name, c.itt, self.nop_order[0]))
        self.nop_order.pop(0)
        self.finish(c, pdu, GOOD)

    def collect(self, cmds, on_r2t=None, timeout=BURST_TIMEOUT, check=True):
        """Read until every command of @cmds is answered; check each PDU,
        and (@check) the statuses and data."""
        pending = {c.itt: c for c in cmds}
        left = len(cmds)
        t_end = time.monotonic() + timeout
        while left:
            if time.monotonic() > t_end:
                raise Fail("%s: %d of %d commands unanswered after %.0f s, e.g. %r"
                           % (self.name, left, len(cmds), timeout,
                              [c for c in cmds if not c.done][:4]))
            try:
                pdu = self.recv_pdu()
            except socket.timeout:
                raise Fail("%s: nothing received for %.0f s; %d of %d commands unanswered, "
                           "e.g. %r" % (self.name, SOCK_TIMEOUT, left, len(cmds),
                                        [c for c in cmds if not c.done][:4]))
            except (r.Closed, ConnectionResetError) as e:
                raise Fail("%s: the target closed the connection (%s) with %d of %d commands "
                           "unanswered" % (self.name, e, left, len(cmds)))
            self.check_sn(pdu)
            if pdu.opcode == r.OP_NOP_IN and pdu.itt == r.RESERVED_TAG:
                continue        # a ping of the target's own
            expect(pdu.opcode != r.OP_REJECT, "%s: Reject reason 0x%02x of %s" %
                   (self.name, pdu.reason, pdu.data[:48].hex()))
            c = pending.get(pdu.itt)
            expect(c is not None, "%s: %r with unknown ITT 0x%x" % (self.name, pdu, pdu.itt))
            expect(not c.done, "%s: %r for %r, already answered" % (self.name, pdu, c))
            if pdu.opcode == r.OP_DATA_IN:
                self.on_data_in(c, pdu)
            elif pdu.opcode == r.OP_SCSI_RSP:
                self.on_scsi_rsp(c, pdu)
            elif pdu.opcode == r.OP_NOP_IN:
                self.on_nop_in(c, pdu)
            elif pdu.opcode == r.OP_R2T:
                expect(on_r2t is not None and c.kind == "write",
                       "%s: unexpected R2T for %r" % (self.name, c))
                on_r2t(self, c, pdu)
            else:
                raise Fail("%s: unexpected %r" % (self.name, pdu))
            if c.done:
                left -= 1
        if check:
            self.verify(cmds)
        return cmds

    def verify(self, cmds):
        """Statuses and data of answered commands; ExpCmdSN has caught up."""
        for c in cmds:
            expect(c.status == GOOD, "%s: %r: status 0x%02x sense %s"
                   % (self.name, c, c.status, c.sense.hex()))
            m = MEDIA.get(c.lun)
            if c.kind in ("read", "capacity"):
                expect(len(c.data) == c.length, "%s: %r: %d bytes of data"
                       % (self.name, c, len(c.data)))
            if c.kind == "read":
                want = m.expected(c.off, c.length)
                if c.data != want:
                    bad = next(i for i in range(0, c.length, SECTOR)
                               if c.data[i:i + SECTOR] != want[i:i + SECTOR])
                    raise Fail("%s: %r: wrong data at byte %d: %s, expected %s"
                               % (self.name, c, bad, bytes(c.data[bad:bad + 16]).hex(),
                                  want[bad:bad + 16].hex()))
            elif c.kind == "write":
                m.record(c.off, c.write_data)
        expect(self.exp_cmdsn == self.cmdsn, "%s: every command answered, but ExpCmdSN %d "
               "!= next CmdSN %d" % (self.name, self.exp_cmdsn, self.cmdsn))

    def run(self, items):
        return self.collect(self.send_burst(items))

    def settle(self):
        """Consume the unit attentions of a new I_T nexus (29/00) on both LUNs."""
        for lun in MEDIA:
            for _ in range(8):
                c, w = self.tur(lun)
                self.collect(self.send_burst([(c, w)]), check=False)
                if c.status == GOOD:
                    break
                expect(c.status == CHECK_CONDITION and len(c.sense) > 2 and
                       c.sense[2] & 0x0F == SENSE_UNIT_ATTENTION,
                       "%s: TEST UNIT READY on LUN %d: status 0x%02x sense %s"
                       % (self.name, lun, c.status, c.sense.hex()))
            else:
                raise Fail("%s: TEST UNIT READY on LUN %d never GOOD" % (self.name, lun))

    def bye(self):
        self.logout()
        self.close()


def read_capacity(s, lun):
    cmd, hdr = s._scsi("read", bytes([READ_CAPACITY_10]) + bytes(9), lun, 8, CMD_READ,
                       off=0, length=8)
    cmd.kind = "capacity"       # checked here, not against the medium
    s.collect(s.send_burst([(cmd, s.wire(hdr))]))
    expect(cmd.status == GOOD and len(cmd.data) == 8, "READ CAPACITY(10) LUN %d: %r status %r"
           % (lun, cmd, cmd.status))
    last, bs = struct.unpack(">II", cmd.data)
    return (last + 1) * bs, bs


# --- the cases ------------------------------------------------------------------

RNG = None


def case_pipelining(keeper):
    s = Session("pipelining")
    s.settle()
    for lun, m in MEDIA.items():
        size, bs = read_capacity(s, lun)
        expect(size == LU_SIZE and bs == m.block_size, "LUN %d: READ CAPACITY says %d bytes "
               "in %d-byte blocks" % (lun, size, bs))
    # Builders, shuffled before they run: CmdSNs go out in increasing order
    # on a connection (§4.2.2.1).
    todo = []
    written = []
    for lun in MEDIA:
        for slot in RNG.sample(range(256), 64):
            off = A_WRITES + slot * SLOT
            todo.append(lambda lun=lun, off=off: s.write10(lun, off, pattern(lun, off, SLOT, 1)))
            written.append((lun, off))
        for slot in RNG.sample(range(256), 32):
            todo.append(lambda lun=lun, slot=slot: s.read10(lun, A_READS + slot * SLOT, SLOT))
    for i in range(32):
        todo.append(lambda i=i: s.tur(i % 2))
        todo.append(lambda i=i: s.nop(os.urandom(RNG.randrange(0, 300)), immediate=i % 2 == 0))
    expect(len(todo) == 256, "test error: %d commands" % len(todo))
    RNG.shuffle(todo)
    s.run([build() for build in todo])
    log("a: 256 pipelined commands in one send (128 writes, 64 reads, 32 TUR, 32 NOP-Out)")
    todo = [lambda lun=lun, off=off: s.read10(lun, off, SLOT) for lun, off in written]
    for i in range(16):
        todo.append(lambda i=i: s.tur(i % 2))
        todo.append(lambda i=i: s.nop(os.urandom(RNG.randrange(1, 64)), immediate=i % 3 == 0))
    RNG.shuffle(todo)
    items = [build() for build in todo]
    s.run(items)
    log("a: the 128 written blocks read back in a second burst of %d commands" % len(items))
    s.bye()


def case_cmdsn_gap(keeper):
    """Non-immediate NOP-Outs ahead of a CmdSN gap take part in ordering
    (§4.2.2.1): answered once the gap fills, with ExpCmdSN past them."""
    s = Session("cmdsn-gap")
    s.settle()
    for _ in range(2):
        first = s.tur(0)            # CmdSN n, sent after the two below
        nop1 = s.nop(b"gap", immediate=False)
        nop2 = s.nop(b"", immediate=False)
        last = s.tur(1)
        s.run([nop1, nop2, first, last])
        expect(s.exp_cmdsn == s.cmdsn, "cmdsn-gap: ExpCmdSN %d after the gap filled, the next "
               "CmdSN is %d" % (s.exp_cmdsn, s.cmdsn))
    # A duplicate of a CmdSN handled ahead of the gap is ignored (outside
    # the window once passed; noted while still ahead).
    first, first_wire = s.tur(0)
    nop, wire = s.nop(b"", immediate=False)
    s.check_window([first, nop])
    s.note_sent([nop])
    s.sock.sendall(wire + wire + first_wire)
    s.collect([nop, first])
    log("cmdsn-gap: non-immediate NOP-Outs ahead of a gap, then the gap filled: ExpCmdSN %d"
        % s.exp_cmdsn)
    s.bye()


def trickle_items(s, gen):
    lun0 = B_AREA + gen * 16 * SLOT
    items = [s.write10(0, lun0, pattern(0, lun0, 1024, gen)),
             s.read10(1, B_AREA + 8 * SLOT, SLOT),
             s.nop(b"trickle ping: 37 bytes, 3 of pad ....", immediate=True),
             s.tur(1),
             s.nop(b"", immediate=False),
             s.nop(bytes(range(5)), immediate=False)]
    return items


def pdu_cuts(s, items):
    """Cut points inside each PDU: in the BHS, in the header digest, between
    header and data, in the data, in the pad, in the data digest."""
    cuts, pos = set(), 0
    hlen = r.BHS_LEN + (r.DIGEST_LEN if s.header_digest else 0)
    for c, w in items:
        dlen = len(w) - hlen
        cuts.update((pos + 1, pos + 20, pos + 47, pos + 48, pos + 50, pos + hlen))
        if dlen:
            plen = dlen - (r.DIGEST_LEN if s.data_digest else 0)
            raw = len(c.write_data or c.ping)
            cuts.update((pos + hlen + raw // 2, pos + hlen + raw - 1))
            if plen > raw:
                cuts.add(pos + hlen + raw + 1)          # inside the pad
            if s.data_digest:
                cuts.add(pos + hlen + plen + 2)          # inside the data digest
        pos += len(w)
    return sorted(p for p in cuts if 0 < p < pos)


def case_trickle(keeper):
    for digests in (False, True):
        name = "trickle%s" % ("+crc32c" if digests else "")
        s = Session(name, digests=digests)
        s.settle()
        s.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        gen = 2 + 2 * digests
        items = trickle_items(s, gen)
        cmds = [c for c, _ in items]
        s.check_window(cmds)
        s.note_sent(cmds)
        for b in b"".join(w for _, w in items):
            s.sock.send(bytes([b]))
            time.sleep(0.0001)
        s.collect(cmds)
        items = trickle_items(s, gen + 1)
        cmds = [c for c, _ in items]
        s.check_window(cmds)
        s.note_sent(cmds)
        stream = b"".join(w for _, w in items)
        cuts = pdu_cuts(s, items)
        last = 0
        for p in cuts + [len(stream)]:
            s.sock.sendall(stream[last:p])
            last = p
            time.sleep(0.005)
        s.collect(cmds)
        # The trickled writes are on the medium (not ordered with the reads above).
        s.run([s.read10(0, B_AREA + g * 16 * SLOT, 1024) for g in (gen, gen + 1)])
        log("b: %s: one byte per send(), then cut at %d awkward points: all answered right"
            % (name, len(cuts)))
        s.bye()


BIG_OPS = (("InitialR2T", "No"), ("ImmediateData", "Yes"), ("FirstBurstLength", "65536"),
           ("MaxBurstLength", "262144"), ("MaxOutstandingR2T", "4"),
           ("MaxRecvDataSegmentLength", "262144"))


class BigWriter:
    """A 1 MiB WRITE(10): immediate data and unsolicited Data-Out up to
    FirstBurstLength, the rest answering R2Ts with Data-Out PDUs of the
    target's MaxRecvDataSegmentLength."""

    def __init__(self, s, split):
        self.s = s
        self.split = split      # header and data in separate sends: data read in place
        self.first = int(s.login_keys["FirstBurstLength"])
        self.burst = int(s.login_keys["MaxBurstLength"])
        self.mrdsl = s.max_send_dsl
        self.max_r2t = int(s.login_keys["MaxOutstandingR2T"])
        self.hlen = r.BHS_LEN + (r.DIGEST_LEN if s.header_digest else 0)

    def send(self, parts):
        if not self.split:
            self.s.sock.sendall(b"".join(parts))
            return
        for p in parts:
            self.s.sock.sendall(p)
            time.sleep(0.01)

    def command(self, lun, off, gen):
        s = self.s
        data = pattern(lun, off, BIG, gen)
        imm = self.first // 2
        cmd, hdr = s._scsi("write", s.rw_cdb(WRITE_10, lun, off, BIG), lun, BIG, CMD_WRITE,
                           imm=data[:imm], final=False, off=off, length=BIG)
        cmd.write_data = data
        cmd.r2t_next = self.first
        s.check_window([cmd])
        wire = s.wire(hdr, data[:imm])
        dout = s.data_out_pdu(cmd.itt, r.RESERVED_TAG, 0, imm, self.first - imm, True, lun)
        dwire = s.wire(dout, data[imm:self.first])
        hl = self.hlen
        return cmd, [wire[:hl], wire[hl:], dwire[:hl], dwire[hl:]]

    def on_r2t(self, s, c, pdu):
        ttt, r2tsn, off, length = pdu.u32(20), pdu.u32(36), pdu.u32(40), pdu.u32(44)
        what = "%s: R2T for %r (R2TSN %d, offset %d, length %d)" % (s.name, c, r2tsn, off,
                                                                    length)
        expect(ttt != r.RESERVED_TAG, "%s: TTT 0xffffffff" % what)
        expect(pdu.bhs[8:16] == struct.pack(">HHI", c.lun, 0, 0), "%s: LUN field %s"
               % (what, pdu.bhs[8:16].hex()))
        expect(r2tsn == c.r2tsn, "%s: expected R2TSN %d" % (what, c.r2tsn))
        expect(off == c.r2t_next, "%s: expected offset %d (after FirstBurstLength %d)"
               % (what, c.r2t_next, self.first))
        expect(0 < length <= self.burst and off + length <= c.length,
               "%s: MaxBurstLength %d, EDTL %d" % (what, self.burst, c.length))
        c.r2tsn += 1
        c.r2t_next += length
        c.solicited += length
        parts = []
        for i, pos in enumerate(range(off, off + length, self.mrdsl)):
            n = min(self.mrdsl, off + length - pos)
            hdr = s.data_out_pdu(c.itt, ttt, i, pos, n, pos + n == off + length, c.lun)
            w = s.wire(hdr, c.write_data[pos:pos + n])
            parts += [w[:self.hlen], w[self.hlen:]]
        self.send(parts)


def case_large(keeper):
    s = Session("large", extra_ops=BIG_OPS)
    k = s.login_keys
    expect(k.get("InitialR2T") == "No" and k.get("ImmediateData") == "Yes" and
           k.get("FirstBurstLength") == "65536" and k.get("MaxBurstLength") == "262144" and
           s.max_send_dsl == 262144, "large: negotiated %r" % k)
    s.settle()
    # One write with every header sent ahead of its data (the data segment
    # pieces are >= 32 KiB and arrive alone: read straight into place).
    wr = BigWriter(s, split=True)
    cmd, parts = wr.command(0, C_AREA, 5)
    s.note_sent([cmd])
    wr.send(parts)
    s.collect([cmd], on_r2t=wr.on_r2t)
    expect(cmd.r2tsn == 4 and cmd.solicited == BIG - wr.first,
           "large: %d R2Ts asked for %d bytes, expected 4 for %d" % (cmd.r2tsn, cmd.solicited,
                                                                  BIG - wr.first))
    s.run([s.read10(0, C_AREA, BIG)])
    log("c: 1 MiB WRITE(10) (32 KiB immediate + 32 KiB unsolicited + 4 R2Ts), headers ahead "
        "of data; read back equal")
    # Three at once, each burst of Data-Out in one send; R2Ts of different
    # tasks interleave.
    wr = BigWriter(s, split=False)
    cmds, stream = [], b""
    for lun, off in ((1, C_AREA + BIG), (0, C_AREA + 2 * BIG), (1, C_AREA + 3 * BIG)):
        cmd, parts = wr.command(lun, off, 6)
        cmds.append(cmd)
        stream += b"".join(parts)
    s.note_sent(cmds)
    s.sock.sendall(stream)
    s.collect(cmds, on_r2t=wr.on_r2t)
    for c in cmds:
        expect(c.solicited == BIG - wr.first, "large: %r: R2Ts asked for %d bytes"
               % (c, c.solicited))
    s.run([s.read10(lun, off, BIG) for lun, off in
           ((0, C_AREA), (1, C_AREA + BIG), (0, C_AREA + 2 * BIG), (1, C_AREA + 3 * BIG))])
    log("c: three 1 MiB writes at once, then four 1 MiB reads at once: equal")
    s.bye()
    # With CRC32C digests: the digest follows data read straight into place,
    # and the target's batched writes carry theirs (checked by recv_pdu).
    s = Session("large+crc32c", digests=True, extra_ops=BIG_OPS)
    s.settle()
    wr = BigWriter(s, split=True)
    cmd, parts = wr.command(1, C_DIGEST, 9)
    s.note_sent([cmd])
    wr.send(parts)
    s.collect([cmd], on_r2t=wr.on_r2t)
    s.run([s.read10(1, C_DIGEST, BIG)])
    log("c: the same with CRC32C header and data digests: equal")
    s.bye()


def uncache(m, off, length):
    """Take [off, off + length) of @m's file out of the page cache (rewrite
    it, same bytes, with O_DIRECT; posix_fadvise(DONTNEED) does not drop
    large folios), then cache the first 128 KiB of every other MiB again:
    the daemon's RWF_NOWAIT reads of 1 MiB then fail (EAGAIN) or stop after
    128 KiB, and io_uring continues them from where they stopped."""
    buf = mmap.mmap(-1, MiB)            # page aligned, as O_DIRECT wants
    try:
        fd = os.open(m.path, os.O_WRONLY | os.O_DIRECT)
    except OSError:
        return False
    try:
        for pos in range(off, off + length, MiB):
            buf[:] = m.expected(pos, MiB)
            expect(os.pwrite(fd, buf, pos) == MiB, "short O_DIRECT write to %s" % m.path)
    finally:
        os.close(fd)
        buf.close()
    fd = os.open(m.path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_RANDOM)     # no readahead
        for pos in range(off, off + length, 2 * MiB):
            os.pread(fd, 128 * 1024, pos)
    finally:
        os.close(fd)
    return True


def tcp_queues(local_port, remote_port):
    """(unsent, unread) bytes of the loopback TCP socket local_port ->
    remote_port, from /proc/net/tcp; None if it is not listed."""
    try:
        with open("/proc/net/tcp") as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if int(fields[1].split(":")[1], 16) == local_port and \
                        int(fields[2].split(":")[1], 16) == remote_port:
                    tx, rx = fields[4].split(":")
                    return int(tx, 16), int(rx, 16)
    except (OSError, IndexError, ValueError):
        pass
    return None


def case_backpressure(keeper):
    uncached = uncache(MEDIA[1], D_READS, 24 * BIG)
    s = Session("backpressure", rcvbuf=4096)
    s.settle()
    n_small = [0]

    def small():
        i = n_small[0]
        n_small[0] += 1
        lun = i % 2
        off = D_SMALL + i * SLOT
        return [s.tur(lun), s.nop(os.urandom(100 + i), immediate=i % 2 == 0),
                s.write10(lun, off, pattern(lun, off, SLOT, 7)),
                s.read10(1 - lun, D_SMALL + (32 + i) * SLOT, SLOT)]

    def pings(first, n, size):
        # NOP-Outs are answered at once, while the receive loop still has
        # staged PDUs: their echoes push the transmit backlog past 8 MiB
        # mid-stage (READs only complete after the receive loop).
        return [s.nop(os.urandom(size + i % 4), immediate=i % 8 != 1)
                for i in range(first, first + n)]

    def reads(first, n):
        return [s.read10(i % 2, D_READS + (i // 2) * BIG, BIG) for i in range(first, first + n)]

    # Built in sending order (CmdSNs increase along the stream). The echoes
    # pass 8 MiB plus what the kernel buffers (at most 4 MiB and our small
    # window) somewhere after 6 MB, among the small pings: one 256 KiB
    # stage read holds about 30 of them, so the pause leaves staged bytes.
    items = small() + pings(0, 24, 250000) + pings(24, 1000, 8000) + reads(0, 24) + \
        small() + reads(24, 24) + pings(1024, 8, 250000) + small() + small()
    cmds = [c for c, _ in items]
    s.check_window(cmds)
    s.note_sent(cmds)
    stream = b"".join(w for _, w in items)
    errors = []

    def sender():
        try:
            s.sock.sendall(stream)
        except OSError as e:
            errors.append(e)

    t = threading.Thread(target=sender, daemon=True)
    t.start()
    # Meanwhile, for 1 s, another session keeps using the target: the shared
    # staging buffer must never hand it the bytes this connection left
    # behind when it paused.
    t0 = time.monotonic()
    kbursts = 0
    while time.monotonic() - t0 < 1.0:
        kitems = []
        for i in range(8):
            lun = (i + kbursts) % 2
            off = D_SMALL + (64 + i) * SLOT
            kitems.append(keeper.write10(lun, off, pattern(lun, off, SLOT, 8 + kbursts)))
            kitems.append(keeper.read10(lun, D_SMALL + (96 + i) * SLOT, SLOT))
            kitems.append(keeper.nop(bytes([i]) * 33, immediate=i % 2 == 0))
        keeper.run(kitems)
        kbursts += 1
        time.sleep(0.01)
    # The target stopped reading: what it has not taken in is still in its
    # socket's receive queue or our send queue.
    mine = s.sock.getsockname()[1]
    theirs = tcp_queues(D.port, mine)
    ours = tcp_queues(mine, D.port)
    unread = None
    if theirs is not None and ours is not None:
        unread = theirs[1] + ours[0]
        expect(unread > 0 or t.is_alive(), "backpressure: the target read all %d bytes while "
               "its answers were not read (no backpressure)" % len(stream))
    s.collect(cmds, timeout=60)
    t.join(SOCK_TIMEOUT)
    expect(not t.is_alive() and not errors, "backpressure: sending failed: %r" % errors)
    pinged = [len(c.ping) for c in cmds if c.kind == "nop" and len(c.ping) >= 8000]
    log("d: 48 x 1 MiB READ (LUN 1's %s) + %d NOP-Out pings (%.1f MiB of data) + %d small "
        "commands (%.1f MiB in all); after 1 s (and %d bursts of another session) %s of it "
        "unread; then every answer once, in order, data right"
        % ("partly uncached" if uncached else "cached: no O_DIRECT", len(pinged),
           sum(pinged) / MiB, 4 * n_small[0],
           len(stream) / MiB, kbursts, "?" if unread is None else "%.1f MiB" % (unread / MiB)))
    s.bye()


def case_abandon(keeper):
    """A connection paused with a spill, reads in flight and a full transmit
    queue is dropped by its initiator (RST): everything it held goes, the
    rest of the target keeps serving (leaks and use-after-free show under
    ASan)."""
    s = Session("abandon", rcvbuf=4096)
    s.settle()
    items = [s.nop(os.urandom(250000), immediate=True) for _ in range(24)] + \
        [s.nop(os.urandom(8000 + i % 4), immediate=True) for i in range(1000)] + \
        [s.read10(i % 2, D_READS + (i // 2) * BIG, BIG) for i in range(16)]
    stream = b"".join(w for _, w in items)
    def sender():
        try:
            s.sock.sendall(stream)
        except OSError:
            pass                # the close below ends it

    t = threading.Thread(target=sender, daemon=True)
    t.start()
    time.sleep(0.5)
    s.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.sock.shutdown(socket.SHUT_RDWR)
    s.close()
    t.join(SOCK_TIMEOUT)
    expect(not t.is_alive(), "abandon: sendall still blocked after the close")
    # The target notices at once; its other sessions are unaffected.
    c, w = keeper.nop(b"after abandon", immediate=False)
    keeper.run([(c, w)])
    log("d: a paused connection with a spill and reads in flight dropped by its initiator")


CASES = [case_pipelining, case_cmdsn_gap, case_trickle, case_large, case_backpressure,
         case_abandon]


def healthy(keeper):
    if not D.alive():
        raise Fail("quorated died (exit status %s)" % D.proc.returncode)
    c, w = keeper.nop(b"keeper", immediate=False)
    keeper.run([(c, w)])


def make_media():
    """LUN 0 on tmpfs (/dev/shm), LUN 1 on /var/tmp; temp dirs to remove."""
    dirs = []
    if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
        d0 = tempfile.mkdtemp(prefix="quorate-pipeline.", dir="/dev/shm")
        dirs.append(d0)
    else:
        d0 = D.dir
        log("no writable /dev/shm: LUN 0 in %s, the in-memory copy path is not covered" % d0)
    d1 = D.dir
    if os.path.isdir("/var/tmp") and os.access("/var/tmp", os.W_OK):
        d1 = tempfile.mkdtemp(prefix="quorate-pipeline.", dir="/var/tmp")
        dirs.append(d1)
    MEDIA[0] = Medium(0, os.path.join(d0, "lun0.img"), 512)
    MEDIA[1] = Medium(1, os.path.join(d1, "lun1.img"), 4096)
    for m in MEDIA.values():
        m.create()
    log("LUN 0: %s (%s), LUN 1: %s (%s)" % (MEDIA[0].path, fs_type(MEDIA[0].path),
                                            MEDIA[1].path, fs_type(MEDIA[1].path)))
    return dirs


def run_cases(failures):
    D.start()
    D.quoratectl("target", "create", TARGET)
    for lun, m in MEDIA.items():
        D.quoratectl("lun", "create", TARGET, "--lun", str(lun), "--backing", "file",
                     "--path", m.path, "--block-size", str(m.block_size))
    keeper = Session("keeper", initiator=INIT2)
    keeper.settle()
    for case in CASES:
        name = case.__name__[len("case_"):]
        t0 = time.monotonic()
        try:
            case(keeper)
            log("ok: %s (%.2f s)" % (name, time.monotonic() - t0))
        except (Fail, OSError, ValueError, r.Closed) as e:
            failures.append(name)
            log("FAIL: %s: %s" % (name, e))
            if not isinstance(e, Fail):
                traceback.print_exc()
        try:
            healthy(keeper)
        except (Fail, OSError, ValueError, r.Closed) as e:
            failures.append(name + " (health check)")
            log("FAIL: after %s the long-lived session does not answer: %s" % (name, e))
            if not D.alive():
                return
            keeper.close()
            keeper = Session("keeper", initiator=INIT2)
            keeper.settle()
    # e: the long-lived session still answers, a new one works.
    healthy(keeper)
    s = Session("last", initiator=INIT)
    s.settle()
    s.run([s.tur(0), s.nop(b"still here")])
    s.bye()
    # Busy polling stops once the loop is idle (loop_pass.h): with one idle
    # session left, the daemon must sleep, not spin.
    busy = D.cpu_share(1.0)
    expect(busy < 0.2, "quorated used %.0f%% of a CPU in 1 s with one idle session (it "
           "spins)" % (100 * busy))
    keeper.bye()
    log("e: the long-lived session answers, a new login works, the idle daemon used %.1f%% "
        "of a CPU" % (100 * busy))


def main():
    global D, RNG
    # An interrupted run must still stop its daemon (the finally below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(130))

    def watchdog(*_):
        raise Hung("the test ran for %d s: hung" % WATCHDOG_S)

    signal.signal(signal.SIGALRM, watchdog)
    signal.alarm(WATCHDOG_S)
    seed = int(os.environ.get("QT_PIPELINE_SEED", "20261107"))
    RNG = random.Random(seed)
    D = Daemon()
    if not os.access(D.exe, os.X_OK) or not os.access(D.ctl, os.X_OK):
        log("FAIL: quorated or quoratectl not built (%s, %s)" % (D.exe, D.ctl))
        return 1
    failures = []
    dirs = []
    try:
        dirs = make_media()
        log("seed %d, port %d" % (seed, D.port))
        run_cases(failures)
    except (Fail, OSError, ValueError, r.Closed, Hung) as e:
        failures.append("setup or e" if not isinstance(e, Hung) else "watchdog")
        log("FAIL: %s" % e)
        if not isinstance(e, (Fail, Hung)):
            traceback.print_exc()
    finally:
        signal.alarm(0)
        was_alive = D.alive()
        status = D.stop()
        if not was_alive and D.proc is not None:
            failures.append("daemon died (status %s)" % D.proc.returncode)
        elif status not in (0, None):
            failures.append("daemon exit status %s on SIGTERM" % status)
    reports = [line for line in D.log_text().splitlines() if SANITIZER_RE.search(line)]
    if reports:
        failures.append("sanitizer report in the daemon log")
        log("FAIL: the daemon log has sanitizer reports:\n  %s" % "\n  ".join(reports[:10]))
    if D.proc is not None and not failures:
        try:
            for m in MEDIA.values():
                m.verify_file()
            log("e: both backing files hold exactly the model (%d sectors written)"
                % sum(len(m.written) for m in MEDIA.values()))
        except (Fail, OSError) as e:
            failures.append("backing files")
            log("FAIL: %s" % e)
    # The LU files (128 MiB, one of them in memory) go in any case.
    for d in dirs:
        shutil.rmtree(d, ignore_errors=True)
    if failures:
        log("FAILED: %s" % ", ".join(failures))
        sys.stderr.write(D.tail())
        log("work directory kept: %s" % D.dir)
        return 1
    if os.environ.get("QT_KEEP"):
        log("work directory kept (QT_KEEP): %s" % D.dir)
    else:
        shutil.rmtree(D.dir, ignore_errors=True)
    log("PASS")
    return 0


def fs_type(path):
    """The file system type of the mount holding @path (longest prefix)."""
    best, kind = "", "?"
    real = os.path.realpath(path)
    with open("/proc/self/mounts") as f:
        for line in f:
            fields = line.split()
            if len(fields) >= 3:
                mnt = fields[1].replace("\\040", " ")
                if (real == mnt or real.startswith(mnt.rstrip("/") + "/")) and \
                        len(mnt) >= len(best):
                    best, kind = mnt, fields[2]
    return kind


if __name__ == "__main__":
    sys.exit(main())
