#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Mutated PDUs of every opcode from a logged-in session (issue 8 item 2).

After a valid login, one session sends MUTATIONS PDUs built from valid
templates of every initiator opcode (NOP-Out, SCSI Command: TEST UNIT
READY/READ/WRITE/SYNCHRONIZE CACHE/REPORT LUNS, Task Management with every
function, Login, Text, Data-Out, Logout, SNACK) and of unassigned opcodes,
each with a few bytes of its BHS flipped, its DataSegmentLength changed, its
data cut or extended, several PDUs per write. When the target closes that
connection (which it may, for some input), the mutator logs in again and
goes on. Its reader thread discards the answers.

Meanwhile a second session (another initiator) writes a new pattern to its
own blocks and reads them back every VERIFY_EVERY PDUs: every read after a
write that completed GOOD must return it. A command of the verifier that a
mutated task management function aborted (no answer within a few seconds)
or a unit attention the mutator's resets raised is retried, not a failure.

At the end the daemon must be alive, answer a fresh login, exit 0 on
SIGTERM, and its log must hold no sanitizer report. The random generator
has a fixed seed: the same PDUs every run (their interleaving with the
verifier depends on timing). Bounded: well under a minute, ASan included.

Port: QT_PORT_BASE (default 14500) + 170. Exit 0 pass, 1 fail.
"""
import os
import random
import socket
import struct
import sys
import threading
import time
import traceback

sys.path.insert(0, os.environ.get("QT_SRCDIR") or os.path.dirname(os.path.abspath(__file__)))
import iscsi_raw as r  # noqa: E402
from qt_daemon import Daemon, HOST, TARGET  # noqa: E402

PORT_OFFSET = 170
SEED = 0x1508
MUTATIONS = 3000
VERIFY_EVERY = 100
BATCH_MAX = 6
INIT_M = "iqn.2026-11.org.quorate:mutator"
INIT_V = "iqn.2026-11.org.quorate:verifier"
BLOCK = 512
VERIFY_LBA = 1234560        # far from every LBA the mutator's templates use
VERIFY_BLOCKS = 8
CMD_TIMEOUT_S = 3.0
DEADLINE_S = 50.0

OP_TMF_REQ = 0x02
OP_SNACK = 0x10
UNASSIGNED_OPS = (0x07, 0x08, 0x0f, 0x11, 0x1c, 0x1e, 0x3f)


class Fail(Exception):
    pass


def log(msg):
    print("mutate: %s" % msg, file=sys.stderr, flush=True)


def expect(cond, msg):
    if not cond:
        raise Fail(msg)


def be32(v):
    return struct.pack(">I", v & 0xFFFFFFFF)


def cdb10(op, lba, n):
    return bytes([op, 0]) + be32(lba) + b"\0" + struct.pack(">H", n) + b"\0" + b"\0" * 6


class Mutator:
    """The session that sends mutated PDUs; reconnects when closed."""

    def __init__(self, d, rng):
        self.d = d
        self.rng = rng
        self.conn = None
        self.closed = threading.Event()
        self.logins = 0
        self.sent = 0

    def _reader(self, conn):
        try:
            while True:
                conn.recv_pdu()
        except (r.Closed, OSError, ValueError):
            pass
        self.closed.set()

    def connect(self):
        if self.conn:
            self.conn.close()
        self.closed.clear()
        c = r.Conn(HOST, self.d.port, timeout=10)
        rsp = c.login(INIT_M, TARGET)
        expect(rsp.status_class == 0, "mutator login failed: %r" % rsp)
        self.logins += 1
        c.sock.settimeout(None)
        threading.Thread(target=self._reader, args=(c,), daemon=True).start()
        self.conn = c

    def template(self):
        """A valid PDU (header, data) of a random kind."""
        c, rng = self.conn, self.rng
        itt = c.next_itt()
        kind = rng.randrange(12)
        immediate = r.IMMEDIATE if rng.random() < 0.3 else 0
        cmdsn, exp = c.cmdsn, c.expstatsn
        if kind == 0:
            data = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 64)))
            hdr = r.bhs(r.OP_NOP_OUT | r.IMMEDIATE, r.FINAL, itt=itt, dsl=len(data),
                        rest=be32(r.RESERVED_TAG) + be32(cmdsn) + be32(exp))
            return hdr, data
        if kind in (1, 2, 3, 4):
            lba = rng.randrange(0, 1000)
            n = rng.choice((1, 8, 64, 600))
            choices = [
                (b"\0" * 16, 0, 0, b""),                                  # TEST UNIT READY
                (cdb10(0x28, lba, n), 0x40, n * BLOCK, b""),              # READ(10)
                (cdb10(0x2A, lba, n), 0x20, n * BLOCK, b""),              # WRITE(10) (R2T)
                (cdb10(0x2A, lba, 1), 0x20, BLOCK, os.urandom(BLOCK)),    # immediate data
                (cdb10(0x35, 0, 0), 0, 0, b""),                           # SYNCHRONIZE CACHE
                (bytes([0xA0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0]) + b"\0" * 6, 0x40, 4096, b""),
            ]
            cdb, rw, edtl, data = rng.choice(choices)
            if not immediate:
                c.cmdsn = (c.cmdsn + 1) & 0xFFFFFFFF
            hdr = r.bhs(r.OP_SCSI_CMD | immediate, r.FINAL | rw | 1, itt=itt, dsl=len(data),
                        rest=be32(edtl) + be32(cmdsn) + be32(exp) + cdb)
            return hdr, data
        if kind in (5, 6):
            function = rng.randrange(1, 16)
            lun = struct.pack(">HHI", rng.choice((0, 0, 1)), 0, 0)
            hdr = r.bhs(OP_TMF_REQ | r.IMMEDIATE, r.FINAL | function, lun=lun, itt=itt,
                        rest=be32(itt - rng.randrange(1, 8)) + be32(cmdsn) + be32(exp) +
                        be32(cmdsn - rng.randrange(0, 4)))
            return hdr, b""
        if kind == 7:
            data = rng.choice((b"SendTargets=All\0", b"MaxRecvDataSegmentLength=4096\0",
                               b"X-foo=bar\0", b"HeaderDigest=CRC32C\0"))
            hdr = r.bhs(r.OP_TEXT_REQ | r.IMMEDIATE, r.FINAL, itt=itt, dsl=len(data),
                        rest=be32(r.RESERVED_TAG) + be32(cmdsn) + be32(exp))
            return hdr, data
        if kind == 8:
            data = bytes(rng.randrange(256) for _ in range(rng.choice((0, 512, 4096))))
            hdr = r.bhs(r.OP_DATA_OUT, r.FINAL, itt=itt - rng.randrange(0, 4), dsl=len(data),
                        rest=be32(rng.randrange(0, 64)) + be32(0) + be32(exp) + be32(0) +
                        be32(rng.randrange(0, 4)) + be32(rng.choice((0, 512, 4096))))
            return hdr, data
        if kind == 9:
            # Logout: ends the connection; the mutator logs in again.
            hdr = r.bhs(r.OP_LOGOUT_REQ | r.IMMEDIATE, r.FINAL | rng.randrange(0, 4), itt=itt,
                        rest=struct.pack(">HH", 0, 0) + be32(cmdsn) + be32(exp))
            return hdr, b""
        if kind == 10:
            data = b"InitiatorName=" + INIT_M.encode() + b"\0"
            hdr = r.bhs(r.OP_LOGIN_REQ | r.IMMEDIATE, 0x87, spec=b"\0\0", itt=itt,
                        dsl=len(data), rest=be32(0) + be32(cmdsn) + be32(exp))
            return hdr, data
        op = rng.choice((OP_SNACK,) + UNASSIGNED_OPS)
        hdr = r.bhs(op, r.FINAL, itt=itt, rest=be32(0) + be32(cmdsn) + be32(exp))
        return hdr, b""

    def mutate(self, hdr, data):
        rng = self.rng
        h = bytearray(hdr)
        if rng.random() < 0.3:
            # Some stay valid, so valid sequences (a command the backing
            # store holds, then a task management function) come too.
            return hdr + r.pad4(data)
        for _ in range(rng.randrange(1, 5)):
            pos = rng.randrange(1, r.BHS_LEN) if rng.random() < 0.9 else 0
            h[pos] ^= 1 << rng.randrange(8)
        if rng.random() < 0.15:
            h[4] = rng.choice((0, 1, 2, 255))                   # TotalAHSLength
        if rng.random() < 0.15:
            data = data[:rng.randrange(0, len(data) + 1)] if data else os.urandom(
                rng.randrange(1, 300))
        dsl = len(data)
        if rng.random() < 0.1:
            dsl = rng.choice((0, 1, 47, 8193, 70000, 262144, 262145, 0xFFFFFF))
        h[5:8] = struct.pack(">I", dsl)[1:]
        if dsl != len(data):
            # Send what the header announces (zeros), capped: the target
            # either reads it or rejects/ends the connection.
            data = (data + b"\0" * min(dsl, 300000))[:min(dsl, 300000)]
        return bytes(h) + r.pad4(data)

    def send_batch(self, n):
        wire = b"".join(self.mutate(*self.template()) for _ in range(n))
        try:
            self.conn.send_raw(wire)
        except OSError:
            self.closed.set()
        self.sent += n


class Verifier:
    """Write + read back on its own blocks, from another initiator."""

    def __init__(self, d):
        self.d = d
        self.conn = None
        self.gen = 0
        self.verified = 0
        self.retries = 0
        self.connect()

    def connect(self):
        if self.conn:
            self.conn.close()
        c = r.Conn(HOST, self.d.port, timeout=CMD_TIMEOUT_S)
        rsp = c.login(INIT_V, TARGET)
        expect(rsp.status_class == 0, "verifier login failed: %r" % rsp)
        self.conn = c

    def _command(self, cdb, data_out=b"", read_len=0):
        """(status, sense, data), or None when the command got no answer
        (aborted by a mutated TMF): then the session starts over."""
        try:
            return self.conn.command(cdb, data_out=data_out, read_len=read_len)
        except (socket.timeout, r.Closed, OSError) as e:
            log("verifier: no answer (%s); new session" % e)
            self.retries += 1
            self.connect()
            return None

    def _good(self, cdb, data_out=b"", read_len=0):
        for _ in range(12):
            res = self._command(cdb, data_out, read_len)
            if res is None:
                continue
            st, sense, data = res
            if st == 0:
                return data
            # Unit attention (06h) from the mutator's resets, or BUSY/TASK
            # SET FULL: try again. Anything else is a real failure.
            if st == 0x02 and len(sense) > 2 and sense[2] & 0x0F == 0x06:
                self.retries += 1
                continue
            if st in (0x08, 0x28):
                self.retries += 1
                time.sleep(0.05)
                continue
            raise Fail("verifier command %s: status 0x%02x sense %s"
                       % (cdb[:1].hex(), st, sense.hex()))
        raise Fail("verifier command %s never completed GOOD" % cdb[:1].hex())

    def verify(self):
        self.gen += 1
        n = VERIFY_BLOCKS
        pattern = struct.pack(">II", 0x51A7E000 | self.gen, self.gen) * (n * BLOCK // 8)
        # Immediate data up to FirstBurstLength (64 KiB): 4 KiB fits.
        self._good(cdb10(0x2A, VERIFY_LBA, n), data_out=pattern)
        got = self._good(cdb10(0x28, VERIFY_LBA, n), read_len=n * BLOCK)
        expect(got == pattern, "read-back %d differs from the write acknowledged GOOD "
               "(first bytes %s, want %s)" % (self.gen, got[:16].hex(), pattern[:16].hex()))
        self.verified += 1


def main():
    d = Daemon("mutate", PORT_OFFSET)
    rng = random.Random(SEED)
    t0 = time.monotonic()
    try:
        d.start()
        v = Verifier(d)
        v.verify()
        m = Mutator(d, rng)
        m.connect()
        next_verify = VERIFY_EVERY
        while m.sent < MUTATIONS:
            expect(time.monotonic() - t0 < DEADLINE_S,
                   "not done within %d s (%d PDUs sent)" % (DEADLINE_S, m.sent))
            expect(d.alive(), "quorated died after %d mutated PDUs:\n%s" % (m.sent, d.tail()))
            if m.closed.is_set():
                m.connect()
            m.send_batch(rng.randrange(1, BATCH_MAX + 1))
            if m.sent >= next_verify:
                next_verify += VERIFY_EVERY
                v.verify()
        time.sleep(0.5)
        expect(d.alive(), "quorated died after the mutated PDUs:\n%s" % d.tail())
        v.verify()
        c = r.Conn(HOST, d.port, timeout=10)
        expect(c.login("iqn.2026-11.org.quorate:after", TARGET).status_class == 0,
               "fresh login after the mutations failed")
        c.ping(b"after")
        c.logout()
        c.close()
        log("ok: %d mutated PDUs over %d logins, %d write+read-back checks "
            "(%d retries), %.1f s" % (m.sent, m.logins, v.verified, v.retries,
                                      time.monotonic() - t0))
        rc = d.stop()
        errs = d.log_errors()
        expect(not errs, "sanitizer report in the daemon log:\n%s" % "".join(errs[:20]))
        expect(rc == 0, "quorated exited with %s on SIGTERM:\n%s" % (rc, d.tail()))
    except (Fail, r.Closed, OSError, ValueError) as e:
        traceback.print_exc()
        log("daemon log tail:\n%s" % d.tail())
        log("FAIL: %s" % e)
        return 1
    finally:
        d.cleanup()
    log("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
