#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The LUN administration commands against a running daemon (issue 11).

- `lun show --json`: every field of the record (backing, path, size, block
  size, NAA, UUID, serial, direct/thin/read-only flags) equals what `lun
  create` was given and answered, the serial is the one an initiator reads
  in VPD 80h, online on this node (node_id); an unknown LUN, an unknown
  target and a bad LUN number are refused (exit 1, exit 2) with one line.
- `lun offline`: on the same session, READ of LUN 1 gets NOT READY,
  LOGICAL UNIT NOT READY, OFFLINE (02h, 04h/12h) and so does TEST UNIT
  READY, while INQUIRY and REPORT LUNS answer and LUN 0 serves; the daemon
  no longer holds the backing file open; `lun show` says why. `lun online`:
  READ on the same connection returns what was written before. A LUN taken
  offline stays offline (and listed) through a restart.
- After a restart with LUN 1's backing file deleted, `lun show` reports it
  offline with the reason, and still with its identity; `lun online` fails
  (exit 1, the reason) while the file is missing; once the file is back,
  `lun online` serves it to a session opened before, without a restart.

Output is parsed as JSON, never grepped. Port: QT_PORT_BASE (default
14500) + 210. Exit 0 pass, 1 fail.
"""
import json
import os
import struct
import sys

sys.path.insert(0, os.environ.get("QT_SRCDIR") or os.path.dirname(os.path.abspath(__file__)))
import iscsi_raw as r  # noqa: E402
from qt_daemon import Fail, expect, run_test, HOST, TARGET, ctl, ctl_json  # noqa: E402

PORT_OFFSET = 210
INIT = "iqn.2026-11.org.quorate:lun-admin"
LUN1_SIZE = 16 * 1024 * 1024
LUN2_SIZE = 8 * 1024 * 1024
SENSE_UNIT_ATTENTION = 0x6
SENSE_NOT_READY = 0x2
ASC_OFFLINE = (0x04, 0x12)
BLOCK = 512



def log(msg):
    print("lun_admin: %s" % msg, file=sys.stderr, flush=True)







def command(c, cdb, lun, **kw):
    """A command on @lun past the unit attentions of a new nexus or LUN."""
    for _ in range(4):
        st, sense, data = c.command(cdb, lun=lun, **kw)
        if st == 0x02 and len(sense) >= 14 and sense[2] & 0x0F == SENSE_UNIT_ATTENTION:
            continue
        return st, sense, data
    raise Fail("LUN %d keeps answering with unit attentions" % lun)


def vpd_serial(c, lun):
    st, sense, data = command(c, bytes([0x12, 0x01, 0x80, 0, 255, 0]), lun, read_len=255)
    expect(st == 0, "INQUIRY VPD 80h of LUN %d: status 0x%02x sense %s" % (lun, st, sense.hex()))
    return data[4:4 + data[3]].decode().strip()


def check_show(d, shared):
    lun1_path = os.path.join(shared, "lun1.img")
    lun2_path = os.path.join(shared, "lun2.img")
    c1 = ctl_json(d, "lun", "create", TARGET, "--lun", "1", "--path", lun1_path,
                  "--size", str(LUN1_SIZE))
    c2 = ctl_json(d, "lun", "create", TARGET, "--lun", "2", "--path", lun2_path,
                  "--size", str(LUN2_SIZE), "--block-size", "4096", "--thin",
                  "--read-only")
    want = {
        1: {"target": TARGET, "lun": 1, "backing": "file", "path": lun1_path,
            "size": LUN1_SIZE, "block_size": 512, "direct": False, "thin": False,
            "read_only": False, "online": True, "admin_offline": False, "node_id": 1},
        2: {"target": TARGET, "lun": 2, "backing": "file", "path": lun2_path,
            "size": LUN2_SIZE, "block_size": 4096, "direct": False, "thin": True,
            "read_only": True, "online": True, "admin_offline": False, "node_id": 1},
    }
    listing = {l["lun"]: l for l in ctl_json(d, "lun", "list", TARGET)}
    c = r.Conn(HOST, d.port, timeout=20)
    expect(c.login(INIT, TARGET).status_class == 0, "login failed")
    shows = {}
    for lun, created in ((1, c1), (2, c2)):
        s = ctl_json(d, "lun", "show", TARGET, str(lun))
        shows[lun] = s
        for k, v in want[lun].items():
            expect(s.get(k) == v, "lun show %d: %s is %r, want %r" % (lun, k, s.get(k), v))
        for k in ("serial", "naa", "uuid"):
            expect(s[k] == created[k], "lun show %d: %s %r, lun create said %r"
                   % (lun, k, s[k], created[k]))
        expect("offline_reason" not in s, "online LUN %d has an offline_reason" % lun)
        same = {k: v for k, v in s.items() if k != "node_id"}
        expect(same == listing[lun], "lun show %d differs from lun list: %s vs %s"
               % (lun, s, listing[lun]))
        expect(vpd_serial(c, lun) == s["serial"], "VPD 80h of LUN %d is not %s"
               % (lun, s["serial"]))
    c.logout()
    c.close()
    log("ok: lun show --json has every field of the record; serial = VPD 80h")

    p = ctl(d, "lun", "show", TARGET, "7", rc=1)
    expect(len(p.stderr.strip().splitlines()) == 1 and "no LUN 7" in p.stderr,
           "unknown LUN: %r" % p.stderr)
    ctl(d, "lun", "show", "iqn.2026-11.org.quorate:nosuch", "0", rc=1)
    ctl(d, "lun", "show", TARGET, "x", rc=2)
    ctl(d, "lun", "show", TARGET, rc=2)
    log("ok: unknown LUN or target exit 1, bad arguments exit 2")
    return shows, lun1_path


def rw10(op, lba, blocks):
    return bytes([op, 0]) + struct.pack(">I", lba) + b"\0" + struct.pack(">H", blocks) + b"\0"


def sense_key_asc(sense):
    expect(len(sense) >= 14, "no sense data: %s" % sense.hex())
    return sense[2] & 0x0F, (sense[12], sense[13])


def report_luns(c):
    st, sense, data = command(c, bytes([0xA0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0]), 0,
                              read_len=256)
    expect(st == 0, "REPORT LUNS: status 0x%02x sense %s" % (st, sense.hex()))
    n = struct.unpack(">I", data[:4])[0] // 8
    return sorted(struct.unpack(">H", data[8 + 8 * i:10 + 8 * i])[0] & 0x3FFF for i in range(n))


def expect_offline(c, lun):
    """Media access and TUR: NOT READY 04/12; INQUIRY still answers."""
    for cdb, name in ((rw10(0x28, 0, 8), "READ(10)"), (bytes(6), "TEST UNIT READY")):
        st, sense, _ = command(c, cdb, lun, read_len=8 * BLOCK if cdb[0] == 0x28 else 0)
        expect(st == 0x02, "%s of offline LUN %d: status 0x%02x" % (name, lun, st))
        key, asc = sense_key_asc(sense)
        expect(key == SENSE_NOT_READY and asc == ASC_OFFLINE,
               "%s of offline LUN %d: sense key %x, ASC/ASCQ %02x/%02x"
               % (name, lun, key, asc[0], asc[1]))
    st, sense, data = command(c, bytes([0x12, 0, 0, 0, 96, 0]), lun, read_len=96)
    expect(st == 0 and data[0] & 0x1F == 0, "INQUIRY of offline LUN %d: status 0x%02x %s"
           % (lun, st, sense.hex()))


def holds_open(d, path):
    fd_dir = "/proc/%d/fd" % d.proc.pid
    for fd in os.listdir(fd_dir):
        try:
            if os.readlink(os.path.join(fd_dir, fd)) == path:
                return True
        except OSError:
            pass
    return False


def check_offline_online(d, lun1_path):
    c = r.Conn(HOST, d.port, timeout=20)
    expect(c.login(INIT, TARGET).status_class == 0, "login failed")
    pattern = b"OFFLINE1" * (8 * BLOCK // 8)
    st, sense, _ = command(c, rw10(0x2A, 40, 8), 1, data_out=pattern)
    expect(st == 0, "WRITE to LUN 1: 0x%02x %s" % (st, sense.hex()))
    expect(holds_open(d, lun1_path), "the daemon does not hold LUN 1's file open")

    res = ctl_json(d, "lun", "offline", TARGET, "1")
    expect(res["online"] is False and res["seq"] > 0, "lun offline answered %s" % res)
    expect_offline(c, 1)
    expect(report_luns(c) == [0, 1, 2], "REPORT LUNS with LUN 1 offline: %s" % report_luns(c))
    st, sense, _ = command(c, rw10(0x28, 0, 8), 0, read_len=8 * BLOCK)
    expect(st == 0, "READ of LUN 0 while LUN 1 is offline: 0x%02x %s" % (st, sense.hex()))
    expect(not holds_open(d, lun1_path), "LUN 1's file is still open while offline")
    s = ctl_json(d, "lun", "show", TARGET, "1")
    expect(s["online"] is False and s["admin_offline"] is True and
           "administrator" in s.get("offline_reason", ""), "lun show while offline: %s" % s)
    log("ok: lun offline: READ and TUR get 02h 04h/12h, INQUIRY and REPORT LUNS answer, "
        "the file is closed")

    ctl(d, "lun", "online", TARGET, "1")
    st, sense, back = command(c, rw10(0x28, 40, 8), 1, read_len=len(pattern))
    expect(st == 0 and back == pattern, "READ of LUN 1 after lun online: 0x%02x %s"
           % (st, sense.hex()))
    c.ping(b"same connection")
    s = ctl_json(d, "lun", "show", TARGET, "1")
    expect(s["online"] is True and s["admin_offline"] is False and "offline_reason" not in s,
           "lun show after lun online: %s" % s)
    log("ok: lun online: READ on the same connection returns the data")

    # Offline survives a restart, listed and answering 04h/12h.
    ctl(d, "lun", "offline", TARGET, "2")
    c.close()
    expect(d.stop() == 0, "daemon did not exit 0")
    d.start()
    s = ctl_json(d, "lun", "show", TARGET, "2")
    expect(s["online"] is False and s["admin_offline"] is True, "LUN 2 after restart: %s" % s)
    c = r.Conn(HOST, d.port, timeout=20)
    expect(c.login(INIT, TARGET).status_class == 0, "login failed")
    expect(report_luns(c) == [0, 1, 2], "REPORT LUNS after restart: %s" % report_luns(c))
    expect_offline(c, 2)
    ctl(d, "lun", "online", TARGET, "2")
    st, sense, _ = command(c, rw10(0x28, 0, 1), 2, read_len=4096)
    expect(st == 0, "READ of LUN 2 after lun online: 0x%02x %s" % (st, sense.hex()))
    c.logout()
    c.close()
    log("ok: lun offline persists through a restart; lun online serves it")


def check_missing_at_start(d, shows, lun1_path):
    rc = d.stop()
    expect(rc == 0, "daemon exited %s" % rc)
    saved = lun1_path + ".saved"
    os.rename(lun1_path, saved)
    d.start()
    s = ctl_json(d, "lun", "show", TARGET, "1")
    expect(s["online"] is False and "No such file" in s.get("offline_reason", ""),
           "LUN 1 with its file gone: %s" % s)
    for k in ("serial", "naa", "uuid", "path", "size"):
        expect(s[k] == shows[1][k], "LUN 1 %s changed over the restart" % k)
    st = ctl_json(d, "status")
    expect(st["luns_offline"] == 1, "status: %d LUNs offline" % st["luns_offline"])
    log("ok: a LUN whose file is missing at start-up is offline: %s" % s["offline_reason"])

    p = ctl(d, "lun", "online", TARGET, "1", rc=1)
    expect(len(p.stderr.strip().splitlines()) == 1 and "No such file" in p.stderr,
           "lun online with the file missing: %r" % p.stderr)
    s = ctl_json(d, "lun", "show", TARGET, "1")
    expect(s["online"] is False and "No such file" in s.get("offline_reason", ""),
           "LUN 1 after a failed lun online: %s" % s)
    log("ok: lun online of a missing file: exit 1 with the reason, still offline")

    c = r.Conn(HOST, d.port, timeout=20)
    expect(c.login(INIT, TARGET).status_class == 0, "login failed")
    expect(report_luns(c) == [0, 2], "REPORT LUNS with LUN 1 missing: %s" % report_luns(c))
    os.rename(saved, lun1_path)
    ctl(d, "lun", "online", TARGET, "1")
    expect(report_luns(c) == [0, 1, 2], "REPORT LUNS after lun online: %s" % report_luns(c))
    st, sense, back = command(c, rw10(0x28, 40, 8), 1, read_len=8 * BLOCK)
    expect(st == 0 and back == b"OFFLINE1" * (8 * BLOCK // 8),
           "READ of LUN 1 after its file came back: 0x%02x %s" % (st, sense.hex()))
    c.logout()
    c.close()
    s = ctl_json(d, "lun", "show", TARGET, "1")
    expect(s["online"] is True, "lun show after the file came back: %s" % s)
    log("ok: the restored file is served after lun online, without a restart")


def run(d, shared):
    d.start()
    shows, lun1_path = check_show(d, shared)
    check_offline_online(d, lun1_path)
    check_missing_at_start(d, shows, lun1_path)



if __name__ == "__main__":
    sys.exit(run_test("lun-admin", PORT_OFFSET, run, shared_dir=True))
