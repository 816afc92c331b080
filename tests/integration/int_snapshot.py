#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Installing a snapshot into a running daemon reconciles, it does not reload
(issue 9): a session doing I/O on LUN 0 keeps working while a snapshot that
adds LUN 1 to the same target is installed, and LUN 1 then serves.

Two real daemons, A and B (--demo: target demo with LUN 0):
- a session on A writes and reads back LUN 0 in a loop the whole time;
- `quoratectl snapshot save` on A, `snapshot install --replace` into B
  (B's own demo LUN 0 differs: it is replaced by A's), then
  `lun create demo --lun 1` on B and `snapshot save` on B;
- `snapshot install --replace` of B's snapshot into A, while the I/O runs.
Checks: the I/O session is the same TCP connection throughout (no
reconnect), every command on LUN 0 succeeds, and the only unit attention it
sees is REPORTED LUNS DATA HAS CHANGED (3F/0E), at most once, which SPC-4
requires when a LUN is added (the same as `lun create` raises); no reset or
power-on unit attention (29/xx); A's log shows LUN 0 was not touched; on
the same session REPORT LUNS lists LUN 1, and LUN 1 reads back what was
written to it; A and B then have the same digest (`status --json`) and
`cluster verify` passes; a LUN RESET on the session is applied as one
mutation (applied sequence + 1: it travels to every node); both daemons
exit 0 with no sanitizer report.

Port: QT_PORT_BASE (default 14500) + 190. Exit 0 pass, 1 fail.
"""
import json
import os
import struct
import sys
import threading
import time

sys.path.insert(0, os.environ.get("QT_SRCDIR") or os.path.dirname(os.path.abspath(__file__)))
import iscsi_raw as r  # noqa: E402
from qt_daemon import Daemon, Fail, expect, run_test, HOST, TARGET  # noqa: E402

PORT_OFFSET = 190
INIT = "iqn.2026-11.org.quorate:snapshot-io"
BLOCK = 512
IO_BLOCKS = 8                       # 4 KiB per command
LUN1_SIZE = 64 * 1024 * 1024
SENSE_UNIT_ATTENTION = 0x6
ASC_LUNS_CHANGED = (0x3F, 0x0E)
TMF_LUN_RESET = 5



def log(msg):
    print("snapshot: %s" % msg, file=sys.stderr, flush=True)



def sense_key_asc(sense):
    if len(sense) < 14:
        return None, None
    return sense[2] & 0x0F, (sense[12], sense[13])


def ctl(d, *args, ok=True):
    p = d.ctl(*args)
    if ok:
        expect(p.returncode == 0, "quoratectl %s: exit %d: %s%s"
               % (" ".join(args), p.returncode, p.stdout, p.stderr))
    return p


def rw10(op, lba, blocks):
    return bytes([op, 0]) + struct.pack(">I", lba) + b"\0" + struct.pack(">H", blocks) + b"\0"


class IoLoop(threading.Thread):
    """Write a block pattern to LUN 0, read it back, again, on one connection."""

    def __init__(self, conn):
        super().__init__(daemon=True)
        self.c = conn
        self.stop = threading.Event()
        self.ops = 0
        self.uas = []
        self.error = None

    def cmd(self, cdb, **kw):
        for _ in range(3):
            st, sense, data = self.c.command(cdb, **kw)
            if st == 0:
                return data
            key, asc = sense_key_asc(sense)
            if st == 0x02 and key == SENSE_UNIT_ATTENTION:
                self.uas.append(asc)
                continue
            raise Fail("LUN 0 command 0x%02x: status 0x%02x sense %s"
                       % (cdb[0], st, sense.hex()))
        raise Fail("LUN 0 command 0x%02x: unit attention after unit attention" % cdb[0])

    def run(self):
        try:
            i = 0
            while not self.stop.is_set():
                lba = (i % 64) * IO_BLOCKS
                data = struct.pack(">Q", i) * (IO_BLOCKS * BLOCK // 8)
                self.cmd(rw10(0x2A, lba, IO_BLOCKS), data_out=data)
                back = self.cmd(rw10(0x28, lba, IO_BLOCKS), read_len=len(data))
                if back != data:
                    raise Fail("LUN 0 read back other data at LBA %d (iteration %d)" % (lba, i))
                self.ops += 2
                i += 1
        except Exception as e:  # noqa: BLE001 (reported by the main thread)
            self.error = e

    def wait_ops(self, n, what):
        target = self.ops + n
        for _ in range(600):
            if self.error is not None or not self.is_alive():
                raise Fail("I/O on LUN 0 stopped (%s): %r" % (what, self.error))
            if self.ops >= target:
                return
            time.sleep(0.05)
        raise Fail("I/O on LUN 0 made no progress (%s)" % what)


def lun1_command(c, cdb, **kw):
    """A command on LUN 1; its first commands may meet unit attentions."""
    for _ in range(4):
        st, sense, data = c.command(cdb, lun=1, **kw)
        if st == 0:
            return data
        key, _ = sense_key_asc(sense)
        expect(st == 0x02 and key == SENSE_UNIT_ATTENTION,
               "LUN 1 command 0x%02x: status 0x%02x sense %s" % (cdb[0], st, sense.hex()))
    raise Fail("LUN 1 keeps answering with unit attentions")


def digest(d):
    return json.loads(ctl(d, "--json", "status").stdout)["digest"]


def run(a, shared):
    a.start()
    c = r.Conn(HOST, a.port, timeout=20)
    rsp = c.login(INIT, TARGET)
    expect(rsp.status_class == 0, "login failed: %r" % rsp)
    for _ in range(4):      # the power-on unit attention of a new nexus
        if c.test_unit_ready().bhs[3] == 0:
            break
    io = IoLoop(c)
    io.uas.clear()
    io.start()
    io.wait_ops(50, "before the snapshots")
    log("ok: I/O on LUN 0 running")

    b = Daemon("snapshot-b", PORT_OFFSET)
    try:
        b.start()
        snap_a = os.path.join(shared, "a.snap")
        snap_b = os.path.join(shared, "b.snap")
        ctl(a, "snapshot", "save", snap_a)
        expect(os.stat(snap_a).st_mode & 0o077 == 0, "snapshot file is readable by others")
        p = ctl(b, "snapshot", "install", snap_a, ok=False)
        expect(p.returncode != 0 and "--replace" in p.stderr,
               "install without --replace was not refused: %s" % p.stderr)
        ctl(b, "snapshot", "install", "--replace", snap_a)
        expect(digest(a) == digest(b), "B differs from A after installing A's snapshot")
        ctl(b, "lun", "create", TARGET, "--lun", "1", "--path",
            os.path.join(shared, "lun1.img"), "--size", str(LUN1_SIZE))
        ctl(b, "snapshot", "save", snap_b)
        io.wait_ops(20, "before the install")

        ctl(a, "snapshot", "install", "--replace", snap_b)
        log("ok: B's snapshot (LUN 1 added) installed into A")
        io.wait_ops(50, "after the install")
        io.stop.set()
        io.join(30)
        expect(io.error is None, "I/O on LUN 0 failed: %r" % io.error)
        other = [u for u in io.uas if u != ASC_LUNS_CHANGED]
        expect(not other, "LUN 0 session saw unit attentions %s" % other)
        expect(len(io.uas) <= 1, "LUN 0 session saw 3F/0E %d times" % len(io.uas))
        log("ok: %d commands on LUN 0, no reconnect, unit attentions: %s"
            % (io.ops, ["%02X/%02X" % u for u in io.uas] or "none"))

        with open(a.log) as f:
            text = f.read()
        expect("LUN 0 deleted" not in text and "target '%s' deleted" % TARGET not in text,
               "A's LUN 0 or target was torn down by the install")
        expect("snapshot (epoch" in text and "installed: 1 change" in text,
               "A's log does not report one change for the install")

        # Same session: LUN 1 is listed and serves.
        c.ping(b"same connection")
        data = None
        for _ in range(3):
            st, sense, data = c.command(bytes([0xA0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0]),
                                        read_len=256)
            if st == 0:
                break
        expect(st == 0, "REPORT LUNS: status 0x%02x" % st)
        n = struct.unpack(">I", data[:4])[0] // 8
        luns = sorted(struct.unpack(">H", data[8 + 8 * i:10 + 8 * i])[0] & 0x3FFF
                      for i in range(n))
        expect(luns == [0, 1], "REPORT LUNS lists %s" % luns)
        cap = lun1_command(c, bytes([0x25]) + b"\0" * 9, read_len=8)
        expect(struct.unpack(">II", cap) == (LUN1_SIZE // BLOCK - 1, BLOCK),
               "LUN 1 READ CAPACITY(10): %s" % cap.hex())
        pattern = b"LUN1" * (IO_BLOCKS * BLOCK // 4)
        lun1_command(c, rw10(0x2A, 100, IO_BLOCKS), data_out=pattern)
        back = lun1_command(c, rw10(0x28, 100, IO_BLOCKS), read_len=len(pattern))
        expect(back == pattern, "LUN 1 read back other data")
        log("ok: LUN 1 listed and serving on the same session")

        listing = json.loads(ctl(a, "--json", "lun", "list").stdout)
        expect([l["lun"] for l in listing] == [0, 1] and all(l["online"] for l in listing),
               "A's lun list: %s" % listing)
        expect(digest(a) == digest(b), "A and B differ after the install")
        ctl(a, "cluster", "verify")
        st = json.loads(ctl(a, "--json", "status").stdout)
        for k in ("transport", "quorate", "serving", "epoch", "applied_seq", "digest"):
            expect(k in st, "status --json has no %s" % k)
        log("ok: A and B have digest %s; cluster verify passes" % st["digest"][:16])

        # An LU reset travels as a mutation (so that every node resets the LU).
        seq = st["applied_seq"]
        tmf = r.bhs(0x02 | r.IMMEDIATE, r.FINAL | TMF_LUN_RESET, lun=struct.pack(">HHI", 1, 0, 0),
                    itt=c.next_itt(), rest=struct.pack(">IIIII", r.RESERVED_TAG, c.cmdsn,
                                                        c.expstatsn, 0, 0))
        c.send_pdu(tmf)
        rsp = c.recv_pdu()
        while rsp.opcode != 0x22:
            rsp = c.recv_pdu()
        expect(rsp.bhs[2] == 0, "LUN RESET answered %d" % rsp.bhs[2])
        for _ in range(100):
            st = json.loads(ctl(a, "--json", "status").stdout)
            if st["applied_seq"] > seq:
                break
            time.sleep(0.05)
        expect(st["applied_seq"] == seq + 1, "LUN RESET was not a mutation (seq %d -> %d)"
               % (seq, st["applied_seq"]))
        log("ok: LUN RESET of LUN 1 applied as mutation %d" % st["applied_seq"])
        c.logout()
        c.close()
    finally:
        rc_b = b.stop()
        errs = b.log_errors()
        if rc_b != 0 or errs:
            log(b.tail())
        b.cleanup()
    expect(rc_b == 0 and not errs, "daemon B: exit %s, %s" % (rc_b, errs))



if __name__ == "__main__":
    sys.exit(run_test("snapshot-a", PORT_OFFSET, run, shared_dir=True))
