#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Changing a LUN after its creation, against a running daemon (issue 11).

- `lun resize TARGET LUN --size N`: the backing file grows to N bytes, the
  answer (JSON) says from what to what; two initiators logged in before
  each get CAPACITY DATA HAS CHANGED (06h, 2A/09) on their next command to
  that LUN (and LUN 0 none), then READ CAPACITY(16) shows the new size and
  a write at the new end reads back; `lun show` has the size, also after a
  restart. Shrinking is refused (exit 1, one line, nothing changed) unless
  --force, which shrinks the LUN (not the file) with the same unit
  attention; the same size changes nothing and raises nothing; a size that
  is not whole blocks is refused; a missing or malformed --size is a usage
  error (exit 2); a null-backed LUN grows too. The daemon log names the uid
  that resized.

- `lun set TARGET LUN`: --read-only on gives both sessions MODE PARAMETERS
  CHANGED (2A/01), then WRITE gets DATA PROTECT, WRITE PROTECTED (07h,
  27h/00h) and MODE SENSE shows WP while READ serves; off makes it writable
  again, also for a LUN created --read-only (its file opened read-only
  until then); --write-cache off clears WCE in the caching mode page;
  --alias shows in `lun show` and `lun list` and raises nothing; a set
  that changes nothing proposes nothing; `lun create --alias
  --write-cache off` starts so; everything persists through a restart;
  no option, a bad on|off and an alias with a control character are
  refused.

- `lun create --uuid U --serial S`: `lun show` has that UUID and serial,
  VPD 80h shows the serial and VPD 83h the NAA derived from the UUID (NAA
  6, OUI AC-DE-48, the UUID's first 100 bits, computed here); after `lun
  delete` and a create with the same identity an initiator sees the same
  NAA and serial; --naa sets the designator itself; a second LUN with the
  same UUID-derived NAA, NAA or serial is refused (exit 1, nothing
  created), malformed --uuid, --naa and --serial are usage errors (exit 2).

Output is parsed as JSON, never grepped. Port: QT_PORT_BASE (default
14500) + 230. Exit 0 pass, 1 fail.
"""
import json
import os
import struct
import sys

sys.path.insert(0, os.environ.get("QT_SRCDIR") or os.path.dirname(os.path.abspath(__file__)))
import iscsi_raw as r  # noqa: E402
from qt_daemon import (  # noqa: E402
    Fail, expect, run_test, HOST, TARGET, ctl, ctl_json, ctl_refused)

PORT_OFFSET = 230
INIT_A = "iqn.2026-11.org.quorate:lun-ops-a"
INIT_B = "iqn.2026-11.org.quorate:lun-ops-b"
MIB = 1024 * 1024
BLOCK = 512
SENSE_UNIT_ATTENTION = 0x6
ASC_CAPACITY_CHANGED = (0x2A, 0x09)


def log(msg):
    print("lun_ops: %s" % msg, file=sys.stderr, flush=True)








def sense_key_asc(sense):
    expect(len(sense) >= 14, "no sense data: %s" % sense.hex())
    return sense[2] & 0x0F, (sense[12], sense[13])


def drain(c, lun):
    """TEST UNIT READY on @lun until no unit attention is left; the ASCs seen."""
    seen = []
    for _ in range(8):
        st, sense, _ = c.command(bytes(6), lun=lun)
        if st == 0:
            return seen
        key, asc = sense_key_asc(sense)
        expect(key == SENSE_UNIT_ATTENTION, "TUR of LUN %d: sense key %x %02x/%02x"
               % (lun, key, asc[0], asc[1]))
        seen.append(asc)
    raise Fail("LUN %d keeps answering with unit attentions" % lun)


def read_capacity16(c, lun):
    """(last LBA + 1, block length) from READ CAPACITY(16)."""
    cdb = bytes([0x9E, 0x10]) + bytes(8) + struct.pack(">I", 32) + bytes(2)
    st, sense, data = c.command(cdb, lun=lun, read_len=32)
    expect(st == 0, "READ CAPACITY(16) of LUN %d: 0x%02x %s" % (lun, st, sense.hex()))
    last, bl = struct.unpack(">QI", data[:12])
    return last + 1, bl


def rw16(op, lba, blocks):
    return bytes([op, 0]) + struct.pack(">QI", lba, blocks) + bytes(2)


def login(d, init):
    c = r.Conn(HOST, d.port, timeout=20)
    expect(c.login(init, TARGET).status_class == 0, "login of %s failed" % init)
    return c


def expect_capacity_ua(conns, lun, nbytes, what):
    """Each session's next command to @lun gets 2A/09, then READ CAPACITY says @nbytes."""
    for name, c in conns:
        seen = drain(c, lun)
        expect(seen == [ASC_CAPACITY_CHANGED], "%s: %s saw %s on LUN %d, want only 2A/09"
               % (what, name, ["%02x/%02x" % a for a in seen], lun))
        blocks, bl = read_capacity16(c, lun)
        expect(blocks * bl == nbytes, "%s: %s reads a capacity of %d x %d, want %d bytes"
               % (what, name, blocks, bl, nbytes))


def check_resize(d, shared):
    path = os.path.join(shared, "lun1.img")
    ctl_json(d, "lun", "create", TARGET, "--lun", "1", "--path", path, "--size", "16M")
    a, b = login(d, INIT_A), login(d, INIT_B)
    conns = (("A", a), ("B", b))
    for _, c in conns:
        drain(c, 0)
        drain(c, 1)
        expect(read_capacity16(c, 1) == (16 * MIB // BLOCK, BLOCK), "capacity before")

    res = ctl_json(d, "lun", "resize", TARGET, "1", "--size", "32M")
    want = {"target": TARGET, "lun": 1, "size": 32 * MIB, "old_size": 16 * MIB,
            "changed": True, "path": path, "file": "grown", "old_file_size": 16 * MIB}
    for k, v in want.items():
        expect(res.get(k) == v, "lun resize: %s is %r, want %r" % (k, res.get(k), v))
    expect(res["seq"] > 0, "lun resize: no seq in %s" % res)
    expect(os.path.getsize(path) == 32 * MIB, "the file is %d bytes" % os.path.getsize(path))
    expect_capacity_ua(conns, 1, 32 * MIB, "grow")
    expect(drain(a, 0) == [], "LUN 0 got a unit attention from LUN 1's resize")
    top = 32 * MIB // BLOCK - 8
    data = b"RESIZED!" * (8 * BLOCK // 8)
    st, sense, _ = a.command(rw16(0x8A, top, 8), data_out=data, lun=1)
    expect(st == 0, "WRITE(16) at the new end: 0x%02x %s" % (st, sense.hex()))
    st, sense, back = b.command(rw16(0x88, top, 8), read_len=len(data), lun=1)
    expect(st == 0 and back == data, "READ(16) at the new end: 0x%02x %s" % (st, sense.hex()))
    st, sense, _ = a.command(rw16(0x88, top + 8, 1), read_len=BLOCK, lun=1)
    expect(st == 2 and sense_key_asc(sense) == (0x5, (0x21, 0x00)),
           "READ(16) past the new end: 0x%02x %s" % (st, sense.hex()))
    expect(ctl_json(d, "lun", "show", TARGET, "1")["size"] == 32 * MIB, "lun show size")
    log("ok: grow: file extended, 2A/09 on both sessions, READ CAPACITY(16) and I/O at the "
        "new end")

    line = ctl_refused(d, "lun", "resize", TARGET, "1", "--size", "8M")
    expect("--force" in line, "shrink without --force: %r" % line)
    expect(ctl_json(d, "lun", "show", TARGET, "1")["size"] == 32 * MIB, "refused shrink changed")
    expect(drain(a, 1) == [], "a refused shrink raised a unit attention")
    res = ctl_json(d, "lun", "resize", TARGET, "1", "--size", "8M", "--force")
    expect(res["changed"] is True and res["size"] == 8 * MIB and res["file"] == "existing",
           "lun resize --force: %s" % res)
    expect(os.path.getsize(path) == 32 * MIB, "shrinking truncated the file")
    expect_capacity_ua(conns, 1, 8 * MIB, "shrink")
    log("ok: shrink refused without --force, done with it (the file keeps its size)")

    res = ctl_json(d, "lun", "resize", TARGET, "1", "--size", "8M")
    expect(res["changed"] is False, "the same size: %s" % res)
    expect(drain(a, 1) == [], "resizing to the same size raised a unit attention")
    ctl_refused(d, "lun", "resize", TARGET, "1", "--size", "1000")
    ctl_refused(d, "lun", "resize", TARGET, "7", "--size", "8M")
    ctl_refused(d, "lun", "resize", "iqn.2026-11.org.quorate:nosuch", "1", "--size", "8M")
    ctl_refused(d, "lun", "resize", TARGET, "1", rc=2)
    ctl_refused(d, "lun", "resize", TARGET, "1", "--size", "big", rc=2)
    ctl_refused(d, "lun", "resize", TARGET, "1", "--size", "-1", rc=2)
    log("ok: same size, bad sizes, unknown LUN and target")

    ctl_json(d, "lun", "create", TARGET, "--lun", "2", "--backing", "null", "--size", "4M")
    drain(a, 2)
    ctl_json(d, "lun", "resize", TARGET, "2", "--size", "8M")
    expect(drain(a, 2) == [ASC_CAPACITY_CHANGED], "null LUN: no 2A/09")
    expect(read_capacity16(a, 2) == (8 * MIB // BLOCK, BLOCK), "null LUN capacity")
    log("ok: a null-backed LUN grows")
    for c in (a, b):
        c.logout()
        c.close()

    uid = os.geteuid()
    want = "configuration change by uid %d: lun-resize '%s' LUN 1 to %d bytes" % (
        uid, TARGET, 32 * MIB)
    expect(want in d.text(), "the log does not say %r" % want)
    expect(d.stop() == 0, "daemon did not exit 0")
    d.start()
    expect(ctl_json(d, "lun", "show", TARGET, "1")["size"] == 8 * MIB, "size after restart")
    a = login(d, INIT_A)
    drain(a, 1)
    expect(read_capacity16(a, 1) == (8 * MIB // BLOCK, BLOCK), "capacity after restart")
    a.logout()
    a.close()
    log("ok: the size persists through a restart; the log names uid %d" % uid)


def mode_sense(c, lun, page):
    """(WP bit of the header, the page's bytes) from MODE SENSE(6), DBD set."""
    st, sense, data = c.command(bytes([0x1A, 0x08, page, 0, 255, 0]), lun=lun, read_len=255)
    expect(st == 0, "MODE SENSE page %02xh of LUN %d: 0x%02x %s" % (page, lun, st, sense.hex()))
    bdl = data[3]
    return bool(data[2] & 0x80), data[4 + bdl:]


def wce(c, lun):
    _, pg = mode_sense(c, lun, 0x08)
    expect(pg[0] & 0x3F == 0x08, "caching page: %s" % pg.hex())
    return bool(pg[2] & 0x04)


def write_status(c, lun, lba=0):
    st, sense, _ = c.command(rw16(0x8A, lba, 1), data_out=b"W" * BLOCK, lun=lun)
    return st, sense


def check_set(d, shared):
    path = os.path.join(shared, "lun3.img")
    ctl_json(d, "lun", "create", TARGET, "--lun", "3", "--path", path, "--size", "8M")
    a, b = login(d, INIT_A), login(d, INIT_B)
    conns = (("A", a), ("B", b))
    for _, c in conns:
        drain(c, 3)
    expect(mode_sense(a, 3, 0x08)[0] is False and wce(a, 3) is True,
           "a new LUN: WP set or WCE clear")

    res = ctl_json(d, "lun", "set", TARGET, "3", "--read-only", "on")
    expect(res["changed"] == ["read_only"] and res["seq"] > 0, "lun set --read-only on: %s" % res)
    for name, c in conns:
        expect(drain(c, 3) == [(0x2A, 0x01)], "%s: no MODE PARAMETERS CHANGED" % name)
    st, sense = write_status(a, 3)
    expect(st == 2 and sense_key_asc(sense) == (0x7, (0x27, 0x00)),
           "WRITE to a read-only LUN: 0x%02x %s" % (st, sense.hex()))
    expect(mode_sense(b, 3, 0x08)[0] is True, "MODE SENSE does not show WP")
    st, sense, _ = b.command(rw16(0x88, 0, 1), read_len=BLOCK, lun=3)
    expect(st == 0, "READ of a read-only LUN: 0x%02x %s" % (st, sense.hex()))
    expect(ctl_json(d, "lun", "show", TARGET, "3")["read_only"] is True, "lun show read_only")
    log("ok: --read-only on: 2A/01 on both sessions, WRITE gets 7/27/00, WP in MODE SENSE")

    ctl_json(d, "lun", "set", TARGET, "3", "--read-only", "off")
    expect(drain(a, 3) == [(0x2A, 0x01)], "read-only off: no 2A/01")
    st, sense = write_status(a, 3)
    expect(st == 0, "WRITE after --read-only off: 0x%02x %s" % (st, sense.hex()))
    expect(mode_sense(a, 3, 0x08)[0] is False, "WP still set")

    res = ctl_json(d, "lun", "set", TARGET, "3", "--write-cache", "off")
    expect(res["changed"] == ["write_cache"], "lun set --write-cache off: %s" % res)
    expect(drain(b, 3) == [(0x2A, 0x01)], "write cache off: no 2A/01")
    expect(wce(b, 3) is False, "WCE still set after --write-cache off")
    expect(ctl_json(d, "lun", "show", TARGET, "3")["write_cache"] is False, "lun show")
    log("ok: --read-only off writes again; --write-cache off clears WCE")

    drain(a, 3)
    drain(b, 3)
    res = ctl_json(d, "lun", "set", TARGET, "3", "--alias", "database disk")
    expect(res["changed"] == ["alias"], "lun set --alias: %s" % res)
    expect(drain(a, 3) == [], "an alias raised a unit attention")
    expect(ctl_json(d, "lun", "show", TARGET, "3")["alias"] == "database disk", "alias")
    listed = {l["lun"]: l for l in ctl_json(d, "lun", "list", TARGET)}
    expect(listed[3]["alias"] == "database disk" and listed[1]["alias"] == "",
           "lun list aliases: %s" % listed)
    res = ctl_json(d, "lun", "set", TARGET, "3", "--alias", "database disk", "--write-cache",
                   "off", "--read-only", "off")
    expect(res["changed"] == [] and "seq" not in res, "a set that changes nothing: %s" % res)
    ctl_refused(d, "lun", "set", TARGET, "3", rc=2)
    ctl_refused(d, "lun", "set", TARGET, "3", "--read-only", "maybe", rc=2)
    line = ctl_refused(d, "lun", "set", TARGET, "3", "--alias", "bad\x01alias")
    expect("control" in line, "alias with a control character: %r" % line)
    ctl_refused(d, "lun", "set", TARGET, "9", "--alias", "x")
    log("ok: --alias in lun show/list without a unit attention; no-op and bad input")

    # A LUN created read-only has its file open read-only: making it
    # writable opens it again read-write.
    ro_path = os.path.join(shared, "lun4.img")
    created = ctl_json(d, "lun", "create", TARGET, "--lun", "4", "--path", ro_path,
                       "--size", "4M", "--read-only", "--alias", "boot image",
                       "--write-cache", "off")
    expect(created["seq"] > 0, "lun create --read-only: %s" % created)
    s4 = ctl_json(d, "lun", "show", TARGET, "4")
    expect(s4["alias"] == "boot image" and s4["write_cache"] is False and s4["read_only"],
           "lun create --alias --write-cache off: %s" % s4)
    drain(a, 4)
    expect(wce(a, 4) is False, "WCE of a LUN created --write-cache off")
    expect(write_status(a, 4)[0] == 2, "WRITE to a LUN created --read-only")
    ctl_json(d, "lun", "set", TARGET, "4", "--read-only", "off")
    drain(a, 4)
    st, sense = write_status(a, 4, 100)
    expect(st == 0, "WRITE after --read-only off of a LUN created read-only: 0x%02x %s"
           % (st, sense.hex()))
    with open(ro_path, "rb") as f:
        f.seek(100 * BLOCK)
        expect(f.read(BLOCK) == b"W" * BLOCK, "the write did not reach the file")
    log("ok: a LUN created --read-only becomes writable (file opened again read-write)")

    for c in (a, b):
        c.logout()
        c.close()
    expect(d.stop() == 0, "daemon did not exit 0")
    d.start()
    s3 = ctl_json(d, "lun", "show", TARGET, "3")
    expect(s3["alias"] == "database disk" and s3["write_cache"] is False and
           s3["read_only"] is False, "LUN 3 after a restart: %s" % s3)
    a = login(d, INIT_A)
    drain(a, 3)
    expect(wce(a, 3) is False, "WCE after a restart")
    a.logout()
    a.close()
    log("ok: alias, read-only and write cache persist through a restart")


def vpd(c, lun, page):
    st, sense, data = c.command(bytes([0x12, 0x01, page, 0, 255, 0]), lun=lun, read_len=255)
    expect(st == 0, "INQUIRY VPD %02xh of LUN %d: 0x%02x %s" % (page, lun, st, sense.hex()))
    return data[4:4 + struct.unpack(">H", data[2:4])[0]]


def vpd_serial(c, lun):
    return vpd(c, lun, 0x80).decode()


def vpd_naa(c, lun):
    """The NAA designator of the logical unit in VPD 83h, as hex."""
    d = vpd(c, lun, 0x83)
    while len(d) >= 4:
        n = d[3]
        assoc, kind = (d[1] >> 4) & 0x3, d[1] & 0xF
        if kind == 3 and assoc == 0:
            return d[4:4 + n].hex()
        d = d[4 + n:]
    raise Fail("VPD 83h of LUN %d has no NAA designator" % lun)


def naa_of_uuid(uuid):
    """NAA 6 | OUI AC-DE-48 | the first 100 bits of the UUID (lun_file.h)."""
    u = int(uuid.replace("-", ""), 16)
    return "%032x" % ((0x6ACDE48 << 100) | (u >> 28))


def check_identity(d, shared):
    uuid = "1b4e28ba-2fa1-11d2-883f-0016d3cca427"   # a version 1 UUID, kept as it is
    serial = "SN-ORIGIN-0007"
    path = os.path.join(shared, "lun5.img")
    args = ("lun", "create", TARGET, "--lun", "5", "--path", path, "--size", "4M",
            "--uuid", uuid.upper(), "--serial", serial)
    created = ctl_json(d, *args)
    expect(created["uuid"] == uuid and created["serial"] == serial and
           created["naa"] == naa_of_uuid(uuid), "lun create --uuid --serial: %s" % created)
    shown = ctl_json(d, "lun", "show", TARGET, "5")
    expect((shown["uuid"], shown["serial"], shown["naa"]) ==
           (uuid, serial, naa_of_uuid(uuid)), "lun show: %s" % shown)
    a = login(d, INIT_A)
    drain(a, 5)
    seen = (vpd_serial(a, 5), vpd_naa(a, 5))
    expect(seen == (serial, naa_of_uuid(uuid)), "VPD 80h/83h: %s, want %s %s"
           % (seen, serial, naa_of_uuid(uuid)))
    a.logout()
    a.close()
    log("ok: --uuid/--serial: VPD 80h %s, VPD 83h naa.%s" % seen)

    ctl_json(d, "lun", "delete", TARGET, "5")
    created = ctl_json(d, *args)
    expect(created["naa"] == naa_of_uuid(uuid), "re-created: %s" % created)
    a = login(d, INIT_A)
    drain(a, 5)
    expect((vpd_serial(a, 5), vpd_naa(a, 5)) == seen, "after delete and re-create the "
           "initiator sees %s %s, before %s" % (vpd_serial(a, 5), vpd_naa(a, 5), seen))
    log("ok: delete + re-create with the same identity: the same NAA and serial")

    naa = "6001405f00d5eed0000000000000c0de"
    ctl_json(d, "lun", "create", TARGET, "--lun", "6", "--backing", "null", "--size", "1M",
             "--naa", "naa." + naa, "--serial", "MOVED-FROM-LIO")
    drain(a, 6)
    expect((vpd_serial(a, 6), vpd_naa(a, 6)) == ("MOVED-FROM-LIO", naa),
           "--naa: VPD says %s %s" % (vpd_serial(a, 6), vpd_naa(a, 6)))
    a.logout()
    a.close()
    log("ok: --naa sets the VPD 83h designator itself")

    before = ctl_json(d, "lun", "list", TARGET)
    for extra, what in ((("--uuid", uuid), "NAA"), (("--naa", naa), "NAA"),
                        (("--serial", serial), "serial")):
        line = ctl_refused(d, "lun", "create", TARGET, "--lun", "7", "--backing", "null",
                           "--size", "1M", *extra)
        expect(what in line and "already" in line, "a second LUN with %s: %r" % (extra, line))
    for extra in (("--uuid", "1b4e28ba-2fa1-11d2-883f"), ("--uuid", "x" * 32),
                  ("--naa", "5" + naa[1:]), ("--naa", naa[:-1]),
                  ("--serial", "two words"), ("--serial", "S" * 33)):
        ctl_refused(d, "lun", "create", TARGET, "--lun", "7", "--path",
                    os.path.join(shared, "lun7.img"), "--size", "1M", *extra, rc=2)
    expect(not os.path.exists(os.path.join(shared, "lun7.img")), "a refused create left a file")
    expect(ctl_json(d, "lun", "list", TARGET) == before, "a refused create changed the LUNs")
    log("ok: an identity in use is refused (exit 1), malformed ones are usage errors")


def run(d, shared):
    d.start()
    check_resize(d, shared)
    check_set(d, shared)
    check_identity(d, shared)


if __name__ == "__main__":
    sys.exit(run_test("lun-ops", PORT_OFFSET, run, shared_dir=True))
