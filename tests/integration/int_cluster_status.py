#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The member table of a real standalone quorated (demo LU), as quoratectl
and an initiator see it:

1. `quoratectl --json status`: members is [this node's id];
2. `quoratectl --json cluster status`: one node, this one (self, member,
   serving, not diverged), named as status names it, announcing the portal
   it listens on, with the epoch, applied sequence and digest of status;
   the table form runs; `cluster verify` still passes; a stray argument is
   a usage error (exit 2);
3. REPORT TARGET PORT GROUPS through an initiator, both header forms: one
   group, id = node id, preferred, Active/Optimized, one target port with
   relative port id = node id; VPD 83h names the same port and group;
4. SendTargets in a discovery session lists the demo target at that portal
   with TPGT = node id.

Port: QT_PORT_BASE (default 14500) + 220. Exit 0 pass, 1 fail.
"""
import json
import os
import struct
import sys

sys.path.insert(0, os.environ.get("QT_SRCDIR") or os.path.dirname(os.path.abspath(__file__)))
import iscsi_raw as r  # noqa: E402
from int_pr import login, ok  # noqa: E402  (login with the UAs of a new nexus drained)
from qt_daemon import HOST, TARGET, expect, run_test  # noqa: E402

PORT_OFFSET = 220
INIT = "iqn.2026-11.org.quorate:cluster-status"
ALUA_ACTIVE_OPTIMIZED = 0x0
RTPG_PREF = 0x80
RTPG_SUP_AO_U = 0x09            # AO_SUP | U_SUP: the states this target reports


def log(msg):
    print("cluster_status: %s" % msg, file=sys.stderr, flush=True)


def ctl_json(d, *args):
    p = d.ctl("--json", *args)
    expect(p.returncode == 0, "quoratectl %s: exit %d: %s%s"
           % (" ".join(args), p.returncode, p.stdout, p.stderr))
    return json.loads(p.stdout)


def rtpg(c, extended):
    """SPC-4 6.37: [(state byte, support byte, group id, [relative port ids])]."""
    cdb = bytes([0xA3, 0x0A | (0x20 if extended else 0)]) + bytes(4) + \
        struct.pack(">I", 1024) + bytes(2)
    st, sense, data = c.command(cdb, read_len=1024)
    expect(st == 0, "RTPG: status %#x sense %s" % (st, sense.hex()))
    # RETURN DATA LENGTH counts the bytes after itself (the extended header too).
    length = 4 + struct.unpack(">I", data[:4])[0]
    off = 4
    if extended:
        expect(data[4] >> 4 == 0x1, "RTPG extended: FORMAT TYPE %#x" % data[4])
        off = 8
    groups = []
    while off < length:
        state, sup, gid, count = data[off], data[off + 1], \
            struct.unpack(">H", data[off + 2:off + 4])[0], data[off + 7]
        ports = [struct.unpack(">H", data[off + 8 + 4 * i + 2:off + 8 + 4 * i + 4])[0]
                 for i in range(count)]
        groups.append((state, sup, gid, ports))
        off += 8 + 4 * count
    expect(off == length, "RTPG: descriptors end at %d, length says %d" % (off, length))
    return groups


def vpd83_port_ids(c):
    """(relative target port, target port group) from VPD 83h."""
    st, sense, data = c.command(bytes([0x12, 0x01, 0x83, 0x04, 0x00, 0]), read_len=1024)
    expect(st == 0, "VPD 83h: status %#x sense %s" % (st, sense.hex()))
    end = 4 + struct.unpack(">H", data[2:4])[0]
    found, off = {}, 4
    while off + 4 <= end:
        kind, n = data[off + 1] & 0x0F, data[off + 3]
        if kind in (0x4, 0x5):
            found[kind] = struct.unpack(">H", data[off + 6:off + 8])[0]
        off += 4 + n
    return found.get(0x4), found.get(0x5)


def run(d):
    d.start()
    portal = "%s:%d" % (HOST, d.port)

    # 1. status: the membership.
    st = ctl_json(d, "status")
    node = st["node_id"]
    expect(st["members"] == [node], "status members %r, want [%d]" % (st["members"], node))
    log("status: node %d, members %s" % (node, st["members"]))

    # 2. cluster status: this node alone, serving, with its portal.
    cs = ctl_json(d, "cluster", "status")
    expect(cs["transport"] == "standalone" and cs["node_id"] == node and cs["quorate"],
           "cluster status head: %r" % cs)
    expect(len(cs["nodes"]) == 1, "cluster status lists %d nodes: %r" % (len(cs["nodes"]), cs))
    me = cs["nodes"][0]
    want = {"node_id": node, "name": st["node"], "self": True, "member": True,
            "serving": True, "diverged": False, "epoch": st["epoch"],
            "applied_seq": st["applied_seq"], "digest": st["digest"], "portals": [portal]}
    for k, v in want.items():
        expect(me.get(k) == v, "cluster status %s = %r, want %r" % (k, me.get(k), v))
    expect(sorted(me) == sorted(want), "cluster status fields %s" % sorted(me))
    log("cluster status: %s" % me)
    p = d.ctl("cluster", "status")
    expect(p.returncode == 0 and p.stdout, "cluster status (table): exit %d %s"
           % (p.returncode, p.stderr))
    expect(ctl_json(d, "cluster", "verify")["consistent"], "cluster verify not consistent")
    p = d.ctl("cluster", "status", "extra")
    expect(p.returncode == 2, "cluster status extra: exit %d, want 2" % p.returncode)

    # 3. RTPG and VPD 83h through an initiator.
    c = login(d.port, INIT)
    for extended in (False, True):
        groups = rtpg(c, extended)
        expect(groups == [(RTPG_PREF | ALUA_ACTIVE_OPTIMIZED, RTPG_SUP_AO_U, node, [node])],
               "RTPG (%s header): %r" % ("extended" if extended else "length", groups))
    expect(vpd83_port_ids(c) == (node, node), "VPD 83h ports %r" % (vpd83_port_ids(c),))
    ok("READ(10)", c.command(bytes([0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0]), read_len=512))
    c.logout()
    c.close()
    log("RTPG: group %d Active/Optimized, preferred, relative port %d" % (node, node))

    # 4. SendTargets: the demo target at this node's portal with TPGT = node id.
    c = r.Conn(HOST, d.port)
    rsp = c.login(INIT)
    expect(rsp.status_class == r.STATUS_SUCCESS, "discovery login: %r" % rsp)
    keys = c.text([("SendTargets", "All")])
    expect(keys == [("TargetName", TARGET), ("TargetAddress", "%s,%d" % (portal, node))],
           "SendTargets: %r" % keys)
    c.logout()
    c.close()
    log("SendTargets: %s" % keys)


if __name__ == "__main__":
    sys.exit(run_test("cluster-status", PORT_OFFSET, run))
