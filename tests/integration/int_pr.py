#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""SCSI-3 persistent reservations end to end, the way a Windows failover
cluster uses them (DESIGN §3, reference/windows.md), over raw sockets
against a real quorated (demo LU):

1. initiator 1 registers one key through two sessions (two ISIDs, as MPIO
   does on two paths) and reserves Write Exclusive - Registrants Only
   through one of them; initiator 2 registers;
2. READ KEYS and READ RESERVATION agree through every session;
3. initiator 2 preempts initiator 1 (SPC-4 5.13.11.2.4): each of
   initiator 1's sessions sees REGISTRATIONS PREEMPTED (2A/05) on its next
   command, its writes then get RESERVATION CONFLICT and do not reach the
   medium (read back through the new holder);
4. logout and re-login with the same ISID keeps a registration (the I_T
   nexus is InitiatorName + ISID, target + TPGT);
5. APTPL: registrations and reservation survive SIGKILL + restart byte for
   byte in READ FULL STATUS; without APTPL they are gone after a restart.

Port: QT_PORT_BASE (default 14500) + 80. Exit 0 pass, 1 fail.
"""
import os
import shutil
import signal
import struct
import subprocess
import sys
import time
import traceback

sys.path.insert(0, os.environ.get("QT_SRCDIR") or os.path.dirname(os.path.abspath(__file__)))
import int_malformed as m  # noqa: E402  (its Daemon helper)
import iscsi_raw as r  # noqa: E402

HOST = m.HOST
TARGET = m.TARGET
INIT1 = m.INIT
INIT2 = m.INIT2
PORT_OFFSET = 80

GOOD = 0x00
CHECK_CONDITION = 0x02
RESERVATION_CONFLICT = 0x18

# SPC-4 6.16 PERSISTENT RESERVE OUT service actions and 6.16.3.3 types.
PR_OUT = 0x5F
PR_IN = 0x5E
SA_REGISTER = 0
SA_RESERVE = 1
SA_PREEMPT = 4
SA_READ_KEYS = 0
SA_READ_RESERVATION = 1
SA_READ_FULL_STATUS = 3
TYPE_WR_EX_RO = 5
APTPL = 0x01
BLOCK = 512
LBA = 100


def log(msg):
    print("pr: %s" % msg, file=sys.stderr, flush=True)


def expect(cond, msg):
    if not cond:
        raise m.Fail(msg)


def sense_key_asc(sense):
    """(key, ASC<<8|ASCQ) of fixed (70h) or descriptor (72h) sense."""
    if len(sense) >= 14 and sense[0] & 0x7F in (0x70, 0x71):
        return sense[2] & 0x0F, sense[12] << 8 | sense[13]
    if len(sense) >= 4 and sense[0] & 0x7F in (0x72, 0x73):
        return sense[1] & 0x0F, sense[2] << 8 | sense[3]
    return None, None


def prout(c, sa, rk=0, sark=0, ptype=0, flags=0):
    param = struct.pack(">QQ", rk, sark) + b"\0" * 4 + bytes([flags, 0, 0, 0])
    cdb = bytes([PR_OUT, sa, ptype]) + b"\0\0" + struct.pack(">I", len(param)) + b"\0"
    return c.command(cdb, data_out=param)


def prin(c, sa, alloc=4096):
    cdb = bytes([PR_IN, sa]) + b"\0" * 5 + struct.pack(">H", alloc) + b"\0"
    st, sense, data = c.command(cdb, read_len=alloc)
    expect(st == GOOD, "PR IN sa %d: status %#x sense %s" % (sa, st, sense.hex()))
    return data


def read_keys(c):
    data = prin(c, SA_READ_KEYS)
    gen, n = struct.unpack(">II", data[:8])
    return gen, sorted(struct.unpack(">Q", data[8 + i:16 + i])[0] for i in range(0, n, 8))


def read_reservation(c):
    data = prin(c, SA_READ_RESERVATION)
    gen, n = struct.unpack(">II", data[:8])
    if n == 0:
        return gen, None, None
    key = struct.unpack(">Q", data[8:16])[0]
    return gen, key, data[21] & 0x0F


def write_block(c, fill):
    cdb = bytes([0x2A, 0]) + struct.pack(">I", LBA) + b"\0" + struct.pack(">H", 1) + b"\0"
    return c.command(cdb, data_out=bytes([fill]) * BLOCK)


def read_block(c):
    cdb = bytes([0x28, 0]) + struct.pack(">I", LBA) + b"\0" + struct.pack(">H", 1) + b"\0"
    st, sense, data = c.command(cdb, read_len=BLOCK)
    expect(st == GOOD, "READ(10): status %#x sense %s" % (st, sense.hex()))
    return data


def ok(what, res):
    st, sense, _ = res
    expect(st == GOOD, "%s: status %#x sense %s" % (what, st, sense.hex()))


def login(port, initiator, isid=None):
    c = r.Conn(HOST, port)
    if isid is not None:
        c.isid = isid
    rsp = c.login(initiator, TARGET)
    expect(rsp.status_class == r.STATUS_SUCCESS, "login of %s failed: %r" % (initiator, rsp))
    # Drain the unit attentions of a new nexus (29/00 and friends).
    for _ in range(8):
        st, _, _ = c.command(bytes(6))
        if st == GOOD:
            return c
    raise m.Fail("TEST UNIT READY never became GOOD for %s" % initiator)


def expect_ua(c, asc, who):
    st, sense, _ = c.command(bytes(6))
    key, got = sense_key_asc(sense)
    expect(st == CHECK_CONDITION and key == 0x6 and got == asc,
           "%s: expected UNIT ATTENTION %04x, got status %#x sense %s" %
           (who, asc, st, sense.hex()))


def windows_style(d):
    port = d.port
    a1 = login(port, INIT1)
    a2 = login(port, INIT1)
    expect(a1.isid != a2.isid, "two sessions need two ISIDs")
    b = login(port, INIT2)
    sessions = {"init1/a": a1, "init1/b": a2, "init2": b}

    ok("REGISTER 0xA via init1/a", prout(a1, SA_REGISTER, sark=0xA))
    ok("REGISTER 0xA via init1/b", prout(a2, SA_REGISTER, sark=0xA))
    ok("RESERVE WE-RO via init1/a", prout(a1, SA_RESERVE, rk=0xA, ptype=TYPE_WR_EX_RO))
    ok("REGISTER 0xB via init2", prout(b, SA_REGISTER, sark=0xB))
    views = {name: (read_keys(c), read_reservation(c)) for name, c in sessions.items()}
    first = next(iter(views.values()))
    for name, v in views.items():
        expect(v == first, "%s sees %r, others %r" % (name, v, first))
    (gen, keys), (_, rkey, rtype) = first
    expect(keys == [0xA, 0xA, 0xB], "READ KEYS: %r" % keys)
    expect(rkey == 0xA and rtype == TYPE_WR_EX_RO, "READ RESERVATION: key %r type %r" %
           (rkey, rtype))
    ok("WRITE by the holder", write_block(a1, 0x11))
    log("registered through 3 sessions, reserved WE-RO, generation %d" % gen)

    ok("PREEMPT by init2", prout(b, SA_PREEMPT, rk=0xB, sark=0xA, ptype=TYPE_WR_EX_RO))
    for name, c in (("init1/a", a1), ("init1/b", a2)):
        expect_ua(c, 0x2A05, name)
    for name, c in sessions.items():
        (_, keys), (_, rkey, rtype) = read_keys(c), read_reservation(c)
        expect(keys == [0xB] and rkey == 0xB and rtype == TYPE_WR_EX_RO,
               "%s after PREEMPT: keys %r reservation %r/%r" % (name, keys, rkey, rtype))
    for name, c in (("init1/a", a1), ("init1/b", a2)):
        st, _, _ = write_block(c, 0xEE)
        expect(st == RESERVATION_CONFLICT, "%s WRITE after preemption: status %#x" % (name, st))
    expect(read_block(b) == bytes([0x11]) * BLOCK,
           "a refused WRITE reached the medium (read back through the holder)")
    log("preempted: 2A/05 on both paths, writes refused and not on the medium")

    # Logout and re-login with the same ISID: the same I_T nexus, still registered.
    ok("REGISTER 0xC via init1/a", prout(a1, SA_REGISTER, sark=0xC))
    isid = a1.isid
    a1.logout()
    a1.close()
    a1 = login(port, INIT1, isid)
    expect(read_keys(b)[1] == [0xB, 0xC], "keys after re-login: %r" % (read_keys(b)[1],))
    # Only the registered nexus may change key 0xC (a stranger gets a conflict).
    st, _, _ = prout(a2, SA_REGISTER, rk=0xC, sark=0xD)
    expect(st == RESERVATION_CONFLICT, "another ISID changed init1/a's key: %#x" % st)
    ok("unregister via the re-logged-in session", prout(a1, SA_REGISTER, rk=0xC, sark=0))
    expect(read_keys(b)[1] == [0xB], "keys after unregister: %r" % (read_keys(b)[1],))
    log("logout + re-login with the same ISID kept the registration")
    for c in (a1, a2):
        c.logout()
        c.close()
    return b


def restart(d):
    d.proc.send_signal(signal.SIGKILL)
    d.proc.wait()
    d.start_again()


def persistence(d, b):
    isid = b.isid
    ok("REGISTER with APTPL", prout(b, SA_REGISTER, rk=0xB, sark=0xB, flags=APTPL))
    before = prin(b, SA_READ_FULL_STATUS)
    expect(len(before) > 8 and struct.unpack(">I", before[4:8])[0] > 0,
           "READ FULL STATUS lists nothing: %s" % before.hex())
    b.close()
    restart(d)
    b = login(d.port, INIT2, isid)
    after = prin(b, SA_READ_FULL_STATUS)
    expect(after == before, "READ FULL STATUS changed across SIGKILL + restart:\n %s\n %s" %
           (before.hex(), after.hex()))
    log("APTPL state survived SIGKILL + restart byte for byte (%d bytes)" % len(after))

    ok("REGISTER without APTPL", prout(b, SA_REGISTER, rk=0xB, sark=0xB))
    b.close()
    restart(d)
    b = login(d.port, INIT2, isid)
    (_, keys), (_, rkey, _) = read_keys(b), read_reservation(b)
    expect(keys == [] and rkey is None, "without APTPL: keys %r reservation %r" % (keys, rkey))
    log("without APTPL the state is gone after a restart")
    b.logout()
    b.close()


class Daemon(m.Daemon):
    """int_malformed's daemon helper on this test's ports, restartable on the
    same data directory (each start gets a log file of its own)."""

    def __init__(self):
        os.environ["QT_PORT_BASE"] = str(int(os.environ.get("QT_PORT_BASE", "14500")) +
                                         PORT_OFFSET - 30)
        super().__init__()
        self.starts = 0

    def start(self):
        data = os.path.join(self.dir, "data")
        os.makedirs(data, exist_ok=True)
        self.starts += 1
        self.log = os.path.join(self.dir, "quorated.%d.log" % self.starts)
        with open(self.log, "w") as logf:
            self.proc = subprocess.Popen(
                [self.exe, "--foreground", "--ipc-name", "quorate-test-pr-%d" % os.getpid(),
                 "--demo", "--data-dir", data, "--listen", "%s:%d" % (HOST, self.port)],
                stdout=logf, stderr=subprocess.STDOUT)
        want = "ready: iscsi://%s:%d/%s/0" % (HOST, self.port, TARGET)
        for _ in range(200):
            with open(self.log) as f:
                if want in f.read():
                    return
            if self.proc.poll() is not None:
                raise m.Fail("quorated exited with %d before it was ready" %
                             self.proc.returncode)
            time.sleep(0.1)
        raise m.Fail("no line '%s' within 20 s" % want)

    def start_again(self):
        self.start()


def main():
    d = None
    try:
        d = Daemon()
        d.start()
        b = windows_style(d)
        persistence(d, b)
        expect(d.alive(), "quorated died")
        log("PASS")
        return 0
    except Exception as e:  # noqa: BLE001 - report anything as a test failure
        log("FAIL: %s" % e)
        traceback.print_exc()
        if d is not None:
            sys.stderr.write(d.tail())
        return 1
    finally:
        if d is not None:
            d.stop()
            shutil.rmtree(d.dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
