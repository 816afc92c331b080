#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""TARGET COLD RESET behind a command in the backing store (issue 8 item 1).

A SCSI command that goes to the backing store (SYNCHRONIZE CACHE(10) after
writes, a 512 KiB READ) and a TMF TARGET COLD RESET in one TCP write: the
aborted command's completion releases the held-back TMF response, and the
close that follows it once ran inside that completion and freed the task
and session under it (use-after-free, SIGSEGV). Checks, on the demo target
(a file store):
- by default COLD RESET is refused ("Function authorization failed",
  RFC 7143 §11.6.1) and both sessions (the requester's and another
  initiator's) keep working;
- TARGET WARM RESET aborts and raises a unit attention but keeps the other
  initiator's session;
- with `[iscsi] allow_cold_reset = true` the reset answers "function
  complete" and drops both sessions, several times over, and the daemon
  goes on serving logins;
- the daemon exits 0 on SIGTERM and its log has no sanitizer report.

Port: QT_PORT_BASE (default 14500) + 160. Exit 0 pass, 1 fail.
"""
import os
import struct
import sys
import traceback

sys.path.insert(0, os.environ.get("QT_SRCDIR") or os.path.dirname(os.path.abspath(__file__)))
import iscsi_raw as r  # noqa: E402
from qt_daemon import Daemon, HOST, TARGET  # noqa: E402

PORT_OFFSET = 160
INIT_A = "iqn.2026-11.org.quorate:reset-a"
INIT_B = "iqn.2026-11.org.quorate:reset-b"
OP_TMF_REQ = 0x02
OP_TMF_RSP = 0x22
TMF_TARGET_WARM_RESET = 6
TMF_TARGET_COLD_RESET = 7
TMF_RSP_COMPLETE = 0
TMF_RSP_AUTH_FAILED = 6
READ_LEN = 512 * 1024
BLOCK = 512


class Fail(Exception):
    pass


def log(msg):
    print("tmf_reset: %s" % msg, file=sys.stderr, flush=True)


def expect(cond, msg):
    if not cond:
        raise Fail(msg)


def login(d, init):
    c = r.Conn(HOST, d.port, timeout=10)
    rsp = c.login(init, TARGET)
    expect(rsp.status_class == 0, "login of %s failed: %r" % (init, rsp))
    for _ in range(4):      # unit attentions (power on, reset) first
        if c.test_unit_ready().bhs[3] == 0:
            break
    return c


def tmf_pdu(c, function):
    return r.bhs(OP_TMF_REQ | r.IMMEDIATE, r.FINAL | function, itt=c.next_itt(),
                 rest=struct.pack(">IIIII", r.RESERVED_TAG, c.cmdsn, c.expstatsn, 0, 0))


def backing_cmd_pdu(c, kind):
    """SYNCHRONIZE CACHE(10) or a READ(10) of READ_LEN bytes, not sent."""
    if kind == "sync":
        cdb, flags, edtl = bytes([0x35]) + b"\0" * 9, r.FINAL | 0x01, 0
    else:
        cdb = bytes([0x28, 0, 0, 0, 0, 0, 0]) + struct.pack(">H", READ_LEN // BLOCK) + b"\0"
        flags, edtl = r.FINAL | 0x40 | 0x01, READ_LEN
    hdr = r.bhs(r.OP_SCSI_CMD, flags, itt=c.next_itt(),
                rest=struct.pack(">III", edtl, c.cmdsn, c.expstatsn) + cdb + b"\0" * 6)
    c.cmdsn = (c.cmdsn + 1) & 0xFFFFFFFF
    return hdr


def write_some(c):
    for lba in range(8):
        data = bytes([lba + 1]) * 4096
        cdb = bytes([0x2A, 0]) + struct.pack(">I", lba * 8) + b"\0" + struct.pack(">H", 8) + b"\0"
        st, sense, _ = c.command(cdb, data_out=data)
        expect(st == 0, "WRITE(10) status 0x%02x sense %s" % (st, sense.hex()))


def reset_behind(c, kind, function):
    """@kind command and the TMF in one write; return the TMF response and
    the PDUs before it."""
    c.send_raw(c.wire(backing_cmd_pdu(c, kind)) + c.wire(tmf_pdu(c, function)))
    seen = []
    while True:
        pdu = c.recv_pdu()
        if pdu.opcode == OP_TMF_RSP:
            return pdu, seen
        seen.append(pdu)


def wait_status(c, seen):
    """The command was not aborted: its status comes, before or after the TMF."""
    def final(p):
        return p.opcode == r.OP_SCSI_RSP or (p.opcode == r.OP_DATA_IN and p.flags & 0x01)
    while not any(final(p) for p in seen):
        seen.append(c.recv_pdu())
    p = next(p for p in seen if final(p))
    expect(p.bhs[3] == 0, "command behind a refused reset: status 0x%02x" % p.bhs[3])


def check_refused_by_default(d):
    a, b = login(d, INIT_A), login(d, INIT_B)
    write_some(a)
    for kind in ("sync", "read"):
        rsp, seen = reset_behind(a, kind, TMF_TARGET_COLD_RESET)
        expect(rsp.bhs[2] == TMF_RSP_AUTH_FAILED,
               "COLD RESET without allow_cold_reset answered %d, expected %d"
               % (rsp.bhs[2], TMF_RSP_AUTH_FAILED))
        wait_status(a, seen)
        a.ping(b"after refused reset")
        b.ping(b"other initiator")
    log("ok: COLD RESET refused by default, both sessions kept")
    rsp, _ = reset_behind(a, "read", TMF_TARGET_WARM_RESET)
    expect(rsp.bhs[2] == TMF_RSP_COMPLETE, "WARM RESET answered %d" % rsp.bhs[2])
    b.ping(b"after warm reset")
    st = b.test_unit_ready().bhs[3]
    expect(st == 0x02, "no unit attention for the other initiator after WARM RESET "
           "(status 0x%02x)" % st)
    a.ping(b"after warm reset")
    log("ok: WARM RESET keeps the other initiator's session, raises a UA")
    a.logout()
    b.logout()
    a.close()
    b.close()


def check_allowed(d):
    for i, kind in enumerate(("sync", "read", "sync", "read", "sync", "read")):
        a, b = login(d, INIT_A), login(d, INIT_B)
        if kind == "sync":
            write_some(a)
        rsp, _ = reset_behind(a, kind, TMF_TARGET_COLD_RESET)
        expect(rsp.bhs[2] == TMF_RSP_COMPLETE,
               "allowed COLD RESET answered %d" % rsp.bhs[2])
        a.wait_closed(10)
        b.wait_closed(10)
        a.close()
        b.close()
        expect(d.alive(), "quorated died after COLD RESET behind %s (round %d):\n%s"
               % (kind, i, d.tail()))
    c = login(d, INIT_A)
    c.ping(b"still serving")
    c.logout()
    c.close()
    log("ok: allowed COLD RESET behind SYNCHRONIZE CACHE / READ: answered, "
        "sessions dropped, daemon serving")


def run(name, iscsi_config, check):
    d = Daemon("tmf-reset-" + name, PORT_OFFSET, iscsi_config)
    try:
        d.start()
        check(d)
        rc = d.stop()
        errs = d.log_errors()
        expect(not errs, "sanitizer report in the daemon log:\n%s" % "".join(errs[:20]))
        expect(rc == 0, "quorated exited with %s on SIGTERM:\n%s" % (rc, d.tail()))
    except BaseException:
        log("daemon log tail:\n%s" % d.tail())
        raise
    finally:
        d.cleanup()


def main():
    try:
        run("default", "", check_refused_by_default)
        run("allowed", "allow_cold_reset = true", check_allowed)
    except (Fail, r.Closed, OSError, ValueError) as e:
        traceback.print_exc()
        log("FAIL: %s" % e)
        return 1
    log("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
