#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The LUN administration commands against a running daemon (issue 11).

- `lun show --json`: every field of the record (backing, path, size, block
  size, NAA, UUID, serial, direct/thin/read-only flags) equals what `lun
  create` was given and answered, the serial is the one an initiator reads
  in VPD 80h, online on this node (node_id); an unknown LUN, an unknown
  target and a bad LUN number are refused (exit 1, exit 2) with one line.
- After a restart with LUN 1's backing file deleted, `lun show` reports it
  offline with the reason, and still with its identity.

Output is parsed as JSON, never grepped. Port: QT_PORT_BASE (default
14500) + 210. Exit 0 pass, 1 fail.
"""
import json
import os
import shutil
import struct
import sys
import tempfile
import traceback

sys.path.insert(0, os.environ.get("QT_SRCDIR") or os.path.dirname(os.path.abspath(__file__)))
import iscsi_raw as r  # noqa: E402
from qt_daemon import Daemon, HOST, TARGET  # noqa: E402

PORT_OFFSET = 210
INIT = "iqn.2026-11.org.quorate:lun-admin"
LUN1_SIZE = 16 * 1024 * 1024
LUN2_SIZE = 8 * 1024 * 1024
SENSE_UNIT_ATTENTION = 0x6


class Fail(Exception):
    pass


def log(msg):
    print("lun_admin: %s" % msg, file=sys.stderr, flush=True)


def expect(cond, msg):
    if not cond:
        raise Fail(msg)


def ctl(d, *args, rc=0):
    p = d.ctl(*args)
    expect(p.returncode == rc, "quoratectl %s: exit %d (want %d): %s%s"
           % (" ".join(args), p.returncode, rc, p.stdout, p.stderr))
    return p


def ctl_json(d, *args):
    return json.loads(ctl(d, "--json", *args).stdout)


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
            "read_only": False, "online": True, "node_id": 1},
        2: {"target": TARGET, "lun": 2, "backing": "file", "path": lun2_path,
            "size": LUN2_SIZE, "block_size": 4096, "direct": False, "thin": True,
            "read_only": True, "online": True, "node_id": 1},
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
    return saved


def run(d, shared):
    d.start()
    shows, lun1_path = check_show(d, shared)
    check_missing_at_start(d, shows, lun1_path)


def main():
    d = Daemon("lun-admin", PORT_OFFSET)
    shared = tempfile.mkdtemp(prefix="quorate-lun-admin.")
    try:
        run(d, shared)
        rc = d.stop()
        expect(rc == 0, "daemon exited %s" % rc)
        expect(not d.log_errors(), "daemon: %s" % d.log_errors())
        log("PASS")
        return 0
    except Exception as e:  # noqa: BLE001
        log("FAIL: %s" % e)
        traceback.print_exc()
        log("daemon log tail:\n%s" % d.tail())
        return 1
    finally:
        d.cleanup()
        shutil.rmtree(shared, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
