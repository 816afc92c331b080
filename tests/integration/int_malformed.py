#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Malformed and out-of-order input over raw sockets against the demo target.

Each case sends one kind of bad input and asserts the reaction RFC 7143
requires (a Reject PDU with the right reason, a login response of the right
status class, silence, or a closed connection). Throughout, a second healthy
session stays logged in and must answer a NOP-Out after every case, and a
fresh login + TEST UNIT READY + logout must succeed: bad input may cost the
offending connection, never the daemon or other sessions.

Starts its own quorated (like lib.sh does for the shell tests): port from
QT_PORT_BASE (default 14500) + 30, a temp data dir, a private IPC name.
Exit 0 pass, 1 fail, 77 skip.
"""
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.environ.get("QT_SRCDIR") or os.path.dirname(os.path.abspath(__file__)))
import iscsi_raw as r  # noqa: E402

HOST = "127.0.0.1"
TARGET = "iqn.2026-11.org.quorate:demo"
INIT = "iqn.2026-11.org.quorate:init1"
INIT2 = "iqn.2026-11.org.quorate:init2"
SILENCE_S = 1.5         # how long "no answer" is waited for


def log(msg):
    print("malformed: %s" % msg, file=sys.stderr, flush=True)


class Fail(Exception):
    pass


def expect(cond, msg):
    if not cond:
        raise Fail(msg)


def port_free(port):
    s = socket.socket()
    try:
        s.settimeout(0.5)
        return s.connect_ex((HOST, port)) != 0
    finally:
        s.close()


class Daemon:
    def __init__(self):
        self.exe = os.environ.get("QUORATED") or os.path.abspath("daemon/quorated")
        base = int(os.environ.get("QT_PORT_BASE", "14500")) + 30
        self.port = next((p for p in range(base, base + 10) if port_free(p)), None)
        if self.port is None:
            raise Fail("no free port in %d..%d" % (base, base + 9))
        self.dir = tempfile.mkdtemp(prefix="quorate-malformed.")
        self.log = os.path.join(self.dir, "quorated.log")
        self.proc = None

    def start(self):
        data = os.path.join(self.dir, "data")
        os.mkdir(data)
        with open(self.log, "w") as logf:
            self.proc = subprocess.Popen(
                [self.exe, "--foreground", "--ipc-name", "quorate-test-malformed-%d" % os.getpid(),
                 "--demo", "--data-dir", data, "--listen", "%s:%d" % (HOST, self.port)],
                stdout=logf, stderr=subprocess.STDOUT)
        want = "ready: iscsi://%s:%d/%s/0" % (HOST, self.port, TARGET)
        for _ in range(200):
            with open(self.log) as f:
                if want in f.read():
                    return
            if self.proc.poll() is not None:
                raise Fail("quorated exited with %d before it was ready" % self.proc.returncode)
            time.sleep(0.1)
        raise Fail("no line '%s' within 20 s" % want)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if not self.alive():
            return None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def tail(self):
        try:
            with open(self.log) as f:
                return "".join(f.readlines()[-40:])
        except OSError:
            return ""


D = None


def connect():
    return r.Conn(HOST, D.port, timeout=10)


def logged_in(digests=False):
    c = connect()
    rsp = c.login(INIT, TARGET, digests=digests)
    expect(rsp.status_class == 0, "healthy login failed: %r" % rsp)
    return c


def expect_silence(c, what):
    """No answer (other than the target's own NOP-In pings) for SILENCE_S."""
    c.sock.settimeout(SILENCE_S)
    try:
        while True:
            pdu = c.recv_pdu()
            if pdu.opcode == r.OP_NOP_IN and pdu.itt == r.RESERVED_TAG:
                continue
            raise Fail("%s: expected no answer, got %r" % (what, pdu))
    except socket.timeout:
        pass
    except (r.Closed, ConnectionResetError):
        raise Fail("%s: the target closed the connection instead of ignoring it" % what)
    finally:
        c.sock.settimeout(10)


def expect_closed(c, what, allowed=()):
    """The target closes the connection within 5 s; every PDU before that
    must satisfy one of the @allowed predicates."""
    try:
        pdus = c.wait_closed(5)
    except socket.timeout:
        raise Fail("%s: the connection stayed open" % what)
    for p in pdus:
        expect(any(ok(p) for ok in allowed), "%s: unexpected %r before the close" % (what, p))
    return pdus


def expect_reject(c, what, reasons):
    c.sock.settimeout(5)
    while True:
        try:
            pdu = c.recv_pdu()
        except socket.timeout:
            raise Fail("%s: no Reject within 5 s" % what)
        except (r.Closed, ConnectionResetError):
            raise Fail("%s: connection closed without a Reject" % what)
        if pdu.opcode == r.OP_NOP_IN and pdu.itt == r.RESERVED_TAG:
            continue
        expect(pdu.opcode == r.OP_REJECT and pdu.reason in reasons,
               "%s: expected Reject with reason %s, got %r"
               % (what, "/".join("0x%02x" % x for x in reasons), pdu))
        # §11.17: the data segment carries the rejected PDU's header.
        expect(len(pdu.data) >= r.BHS_LEN, "%s: Reject without the rejected header" % what)
        c.sock.settimeout(10)
        return pdu


def is_reject(*reasons):
    return lambda p: p.opcode == r.OP_REJECT and p.reason in reasons


def is_login_error(p):
    return p.opcode == r.OP_LOGIN_RSP and p.status_class == r.STATUS_INITIATOR_ERROR


# --- the cases ---------------------------------------------------------------

def case_truncated_bhs_login():
    """Half a BHS, then the initiator closes its side: the target must just
    drop the connection (nothing to answer: the header is incomplete)."""
    c = connect()
    hdr, data = c.login_pdu(0, 1, True, [("InitiatorName", INIT)])
    c.send_raw(hdr[:20])
    c.sock.shutdown(socket.SHUT_WR)
    expect_closed(c, "truncated BHS at login")
    c.close()


def case_truncated_bhs_ffp():
    c = logged_in()
    hdr, _ = c.nop_out_pdu()
    c.send_raw(hdr[:30])
    c.sock.shutdown(socket.SHUT_WR)
    expect_closed(c, "truncated BHS in full feature phase")
    c.close()


def case_unknown_opcode():
    """Opcode 0x0e is reserved (§11.2.1.2): Reject "Command not supported"
    (§11.17.1), and the connection keeps working."""
    c = logged_in()
    hdr = r.bhs(0x0E | r.IMMEDIATE, r.FINAL, itt=c.next_itt(),
                rest=struct.pack(">III", 0, c.cmdsn, c.expstatsn))
    c.send_pdu(hdr)
    expect_reject(c, "unknown opcode", (r.REJECT_CMD_NOT_SUPPORTED,))
    c.ping(b"after-unknown-opcode")
    c.logout()
    c.close()


def case_data_over_max_recv_dsl():
    """A NOP-Out whose DataSegmentLength exceeds the MaxRecvDataSegmentLength
    the target declared (§13.12): a protocol error; the target must not
    accept it (no NOP-In) and drops the connection, optionally after a
    Reject (Protocol Error / Invalid PDU field)."""
    c = logged_in()
    over = c.max_send_dsl + 4096
    hdr, data = c.nop_out_pdu(b"x" * over)
    try:
        c.send_pdu(hdr, data)
    except (BrokenPipeError, ConnectionResetError):
        pass
    expect_closed(c, "DataSegmentLength %d > MaxRecvDataSegmentLength %d"
                  % (over, c.max_send_dsl),
                  (is_reject(r.REJECT_PROTOCOL_ERROR, r.REJECT_INVALID_PDU_FIELD),))
    c.close()


def case_bad_header_digest():
    """§6.7: a header digest error: the target MUST discard the header and
    all data up to a later PDU, or close the connection. Without a sync and
    steering layer it cannot find the next PDU, so: closed, and the PDU was
    not executed (no NOP-In)."""
    c = logged_in(digests=True)
    expect(c.header_digest, "target did not accept HeaderDigest=CRC32C")
    c.ping(b"good-digest")
    hdr, data = c.nop_out_pdu(b"bad-header")
    c.send_pdu(hdr, data, bad_header_digest=True)
    expect_closed(c, "bad header digest")
    c.close()


def case_bad_data_digest():
    """§6.7: a payload digest error MUST be answered with Reject reason
    Data-Digest-Error and the PDU discarded (no NOP-In for it)."""
    c = logged_in(digests=True)
    expect(c.data_digest, "target did not accept DataDigest=CRC32C")
    hdr, data = c.nop_out_pdu(b"bad-data-digest!")
    c.send_pdu(hdr, data, bad_data_digest=True)
    expect_reject(c, "bad data digest", (r.REJECT_DATA_DIGEST,))
    c.close()


def login_raw(keys_raw):
    c = connect()
    hdr, data = c.login_pdu(0, 1, True, None, raw=keys_raw)
    c.send_pdu(hdr, data)
    return c


def case_garbage_login_keys():
    """Text that is not key=value (§6.1): Login Response status class 2
    (initiator error, §11.13.5), then the connection closes."""
    c = login_raw(b"InitiatorName=" + INIT.encode() + b"\0TargetName=" + TARGET.encode() +
                  b"\0no-equals-sign\0\x01\x02\xff\xfe=\x80\0AuthMethod=None\0")
    pdus = expect_closed(c, "garbage login keys", (is_login_error,))
    expect(pdus, "garbage login keys: no Login Response before the close")
    c.close()


def case_duplicate_login_keys():
    """§6.2: a key declared twice in a login MUST be answered with a Login
    reject (initiator error)."""
    c = login_raw(b"InitiatorName=" + INIT.encode() + b"\0SessionType=Normal\0TargetName=" +
                  TARGET.encode() + b"\0TargetName=" + TARGET.encode() +
                  b"\0AuthMethod=None\0")
    pdus = expect_closed(c, "duplicate login keys", (is_login_error,))
    expect(pdus, "duplicate login keys: no Login Response before the close")
    c.close()


def case_login_in_ffp():
    """A Login Request on a connection in full feature phase is a protocol
    error: Reject (Protocol Error, or Command not supported as an opcode not
    valid in this phase); no Login Response."""
    c = logged_in()
    hdr, data = c.login_pdu(0, 1, True, [("InitiatorName", INIT)])
    c.send_pdu(hdr, data)
    expect_reject(c, "login in full feature phase",
                  (r.REJECT_PROTOCOL_ERROR, r.REJECT_CMD_NOT_SUPPORTED))
    c.close()


def case_cmdsn_outside_window():
    """§4.2.2.1: targets MUST silently ignore non-immediate commands outside
    [ExpCmdSN, MaxCmdSN] and non-immediate duplicates; the session goes on."""
    c = logged_in()
    c.test_unit_ready()
    far = (c.cmdsn + 0x10000) & 0xFFFFFFFF
    c.send_pdu(c.scsi_cmd_pdu(cmdsn=far))
    expect_silence(c, "CmdSN %d outside the window" % far)
    dup = (c.cmdsn - 1) & 0xFFFFFFFF
    c.send_pdu(c.scsi_cmd_pdu(cmdsn=dup))
    expect_silence(c, "duplicate CmdSN %d" % dup)
    c.test_unit_ready()
    c.ping(b"after-cmdsn-window")
    c.logout()
    c.close()


def case_scsi_cmd_before_login():
    """Only Login Requests are valid before full feature phase (§6.3): the
    command must not execute (no SCSI Response); the target closes the
    connection, at most after a login reject or a Reject."""
    c = connect()
    c.send_pdu(c.scsi_cmd_pdu(cmdsn=1))
    expect_closed(c, "SCSI command before login",
                  (is_login_error, is_reject(r.REJECT_PROTOCOL_ERROR,
                                             r.REJECT_CMD_NOT_SUPPORTED)))
    c.close()


def case_login_dsl_over_limit():
    """During login, MaxRecvDataSegmentLength is 8192 (§13.12 / §6.3): a login
    PDU announcing a 16 MiB - 1 data segment must not make the target wait for
    or buffer it; it refuses (login reject or not) and closes."""
    c = connect()
    hdr, _ = c.login_pdu(0, 1, True, [("InitiatorName", INIT)])
    hdr = hdr[:5] + b"\xff\xff\xff" + hdr[8:]
    c.send_raw(hdr + b"\0" * 1024)
    expect_closed(c, "login PDU with DataSegmentLength 0xffffff", (is_login_error,))
    c.close()


def case_unexpected_ahs():
    """A NOP-Out carrying an AHS (TotalAHSLength 1, an unknown AHS type): the
    header is well-formed but a field is invalid (§11.2.1.5, §11.17.1):
    Reject (Invalid PDU field / Protocol Error), nothing executed."""
    c = logged_in()
    hdr, _ = c.nop_out_pdu()
    hdr = hdr[:4] + b"\x01" + hdr[5:]
    c.send_raw(hdr + struct.pack(">HBB", 1, 0x7F, 0))
    expect_reject(c, "NOP-Out with an AHS", (r.REJECT_INVALID_PDU_FIELD, r.REJECT_PROTOCOL_ERROR))
    c.close()


CASES = [
    case_truncated_bhs_login,
    case_truncated_bhs_ffp,
    case_unknown_opcode,
    case_data_over_max_recv_dsl,
    case_bad_header_digest,
    case_bad_data_digest,
    case_garbage_login_keys,
    case_duplicate_login_keys,
    case_login_in_ffp,
    case_cmdsn_outside_window,
    case_scsi_cmd_before_login,
    case_login_dsl_over_limit,
    case_unexpected_ahs,
]


def healthy(keeper):
    """The long-lived session still answers and a new session works."""
    if not D.alive():
        raise Fail("quorated died (exit status %s)" % D.proc.returncode)
    keeper.ping(b"keeper")
    c = connect()
    rsp = c.login(INIT2, TARGET)
    expect(rsp.status_class == 0, "fresh login refused: %r" % rsp)
    c.test_unit_ready()
    c.logout()
    c.close()


def main():
    global D
    # An interrupted run must still stop its daemon (the finally below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(130))
    D = Daemon()
    if not os.access(D.exe, os.X_OK):
        log("FAIL: quorated not built at %s" % D.exe)
        return 1
    failures = []
    try:
        D.start()
        keeper = logged_in()
        keeper.test_unit_ready()
        for case in CASES:
            name = case.__name__[len("case_"):]
            try:
                case()
                log("ok: %s" % name)
            except (Fail, OSError, ValueError, r.Closed) as e:
                failures.append(name)
                log("FAIL: %s: %s" % (name, e))
                if not isinstance(e, Fail):
                    traceback.print_exc()
            try:
                healthy(keeper)
            except (Fail, OSError, ValueError, r.Closed) as e:
                failures.append(name + " (health check)")
                log("FAIL: after %s the target is unhealthy: %s" % (name, e))
                if not D.alive():
                    break
                keeper.close()
                keeper = logged_in()
        if D.alive():
            keeper.logout()
            keeper.close()
    except (Fail, OSError, ValueError, r.Closed) as e:
        failures.append("setup")
        log("FAIL: %s" % e)
    finally:
        was_alive = D.alive()
        status = D.stop()
        if not was_alive and D.proc is not None:
            failures.append("daemon died")
        elif status not in (0, None):
            failures.append("daemon exit status %s on SIGTERM" % status)
    if failures:
        log("FAILED: %s" % ", ".join(failures))
        sys.stderr.write(D.tail())
        log("work directory kept: %s" % D.dir)
        return 1
    shutil.rmtree(D.dir, ignore_errors=True)
    log("PASS (%d cases)" % len(CASES))
    return 0


if __name__ == "__main__":
    sys.exit(main())
