#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The administrator's view of persistent reservations (issue 11):
`quoratectl pr show` and `pr clear --force` against a real quorated (demo
LU) with two initiators on raw sockets.

1. initiator A registers key 0xA and reserves Write Exclusive; initiator B
   registers key 0xB;
2. `pr show --json` matches READ FULL STATUS read by B field for field:
   PRgeneration, every registrant's key, initiator port (TransportID),
   ALL_TG_PT, relative target port, R_HOLDER, and the type; the holder is
   A's initiator port; the table output names both initiator ports;
3. A goes away (its socket closed, no logout); B's writes still conflict;
4. `pr clear` without --force: exit 2, nothing changed; `pr clear --force`:
   B's next command gets RESERVATIONS PREEMPTED (2A/03), B's write then
   succeeds, READ KEYS shows no key and PRgeneration moved on by one; B
   registers again and reserves; the daemon log names the uid that asked;
5. errors: unknown target or LUN, exit 1 with a one-line message; a bad
   LUN number, exit 2.

Port: QT_PORT_BASE (default 14500) + 200. Exit 0 pass, 1 fail.
"""
import json
import os
import struct
import sys
import time

sys.path.insert(0, os.environ.get("QT_SRCDIR") or os.path.dirname(os.path.abspath(__file__)))
import int_pr as pr  # noqa: E402  (PR OUT/IN helpers, login with UAs drained)
from int_pr import login, ok, prin, prout, sense_key_asc, write_block  # noqa: E402
from qt_daemon import expect, run_test, TARGET  # noqa: E402

PORT_OFFSET = 200
INIT_A = "iqn.2026-11.org.quorate:pr-admin-a"
INIT_B = "iqn.2026-11.org.quorate:pr-admin-b"
KEY_A = 0xA
KEY_B = 0xB
GOOD = pr.GOOD
CHECK_CONDITION = pr.CHECK_CONDITION
RESERVATION_CONFLICT = pr.RESERVATION_CONFLICT
SA_REGISTER = pr.SA_REGISTER
SA_RESERVE = pr.SA_RESERVE
SA_READ_FULL_STATUS = pr.SA_READ_FULL_STATUS
TYPE_WR_EX = 1
TYPE_EX_AC = 3
SENSE_UNIT_ATTENTION = 0x6
ASC_RESERVATIONS_PREEMPTED = 0x2A03



def log(msg):
    print("pr_admin: %s" % msg, file=sys.stderr, flush=True)



def read_full_status(c):
    """SPC-4 6.15.5: (PRgeneration, [descriptor dicts])."""
    data = prin(c, SA_READ_FULL_STATUS)
    gen, n = struct.unpack(">II", data[:8])
    descs, off = [], 8
    while off < 8 + n:
        key = struct.unpack(">Q", data[off:off + 8])[0]
        flags, scope_type = data[off + 12], data[off + 13]
        rport = struct.unpack(">H", data[off + 18:off + 20])[0]
        tlen = struct.unpack(">I", data[off + 20:off + 24])[0]
        tid = data[off + 24:off + 24 + tlen]
        expect(tid[0] & 0x0F == 0x5, "TransportID protocol %#x" % tid[0])
        nlen = struct.unpack(">H", tid[2:4])[0]
        name = tid[4:4 + nlen].split(b"\0")[0].decode()
        descs.append({"key": key, "all_tg_pt": bool(flags & 0x02),
                      "holder": bool(flags & 0x01), "type": scope_type & 0x0F,
                      "relative_port": rport, "initiator_port": name})
        off += 24 + tlen
    return gen, descs


def ctl(d, *args, rc=0):
    p = d.ctl(*args)
    expect(p.returncode == rc, "quoratectl %s: exit %d (want %d): %s%s"
           % (" ".join(args), p.returncode, rc, p.stdout, p.stderr))
    return p


def pr_show(d):
    return json.loads(ctl(d, "--json", "pr", "show", TARGET, "0").stdout)


def one_line_error(p):
    lines = p.stderr.strip().splitlines()
    expect(len(lines) == 1 and lines[0].startswith("quoratectl: "),
           "want one error line, got %r" % p.stderr)


def run(d):
    d.start()
    a = login(d.port, INIT_A)
    b = login(d.port, INIT_B)
    port_a = "%s,i,0x%s" % (INIT_A, a.isid.hex())
    port_b = "%s,i,0x%s" % (INIT_B, b.isid.hex())

    ok("A REGISTER", prout(a, SA_REGISTER, sark=KEY_A))
    ok("B REGISTER", prout(b, SA_REGISTER, sark=KEY_B))
    ok("A RESERVE", prout(a, SA_RESERVE, rk=KEY_A, ptype=TYPE_WR_EX))

    # 2. pr show = READ FULL STATUS, field for field.
    gen, descs = read_full_status(b)
    show = pr_show(d)
    log("READ FULL STATUS: gen %d %s" % (gen, descs))
    expect(show["generation"] == gen, "generation %s != %d" % (show["generation"], gen))
    expect(len(show["registrants"]) == len(descs) == 2, "registrants: %s" % show)
    for got, want in zip(show["registrants"], descs):
        for f in ("key", "initiator_port", "all_tg_pt", "relative_port", "holder"):
            expect(got[f] == want[f], "registrant %s: %s %r != READ FULL STATUS %r"
                   % (want["initiator_port"], f, got[f], want[f]))
        expect(got["node"] == want["relative_port"], "node %r" % got["node"])
        expect(got["target_port"].startswith(TARGET + ",t,0x"), "target port %r"
               % got["target_port"])
        if want["holder"]:
            expect(show["reservation"]["type_code"] == want["type"], "type %s" % show)
    expect({g["initiator_port"] for g in show["registrants"]} == {port_a, port_b},
           "initiator ports %s" % show["registrants"])
    expect(show["reservation"]["type"] == "WR_EX" and show["reservation"]["holder"] == port_a,
           "reservation %s" % show["reservation"])
    expect(show["aptpl"] is False and show["spc2_reservation"] is None, "show %s" % show)
    table = ctl(d, "pr", "show", TARGET, "0").stdout
    log("table:\n%s" % table)
    expect(port_a in table and port_b in table and "WR_EX" in table, "table:\n%s" % table)

    # 3. A goes away without logging out.
    a.close()
    st, _, _ = write_block(b, 0x5B)
    expect(st == RESERVATION_CONFLICT, "B write under A's reservation: %#x" % st)

    # 4. refused without --force, then cleared.
    p = ctl(d, "pr", "clear", TARGET, "0", rc=2)
    expect("--force" in p.stderr, "usage message: %r" % p.stderr)
    expect(pr_show(d)["generation"] == gen, "pr clear without --force changed something")
    res = json.loads(ctl(d, "--json", "pr", "clear", TARGET, "0", "--force").stdout)
    expect(res["registrations_removed"] == 2, "clear result %s" % res)
    st, sense, _ = b.command(b"\0" * 6)      # TEST UNIT READY
    expect(st == CHECK_CONDITION and sense_key_asc(sense) ==
           (SENSE_UNIT_ATTENTION, ASC_RESERVATIONS_PREEMPTED),
           "B after pr clear: status %#x sense %s" % (st, sense.hex()))
    ok("B write after clear", write_block(b, 0x5B))
    gen2, descs2 = read_full_status(b)
    expect(gen2 == gen + 1 and descs2 == [], "after clear: gen %d %s" % (gen2, descs2))
    show = pr_show(d)
    expect(show["generation"] == gen2 and show["registrants"] == [] and
           show["reservation"] is None, "show after clear %s" % show)
    ok("B REGISTER again", prout(b, SA_REGISTER, sark=KEY_B))
    ok("B RESERVE", prout(b, SA_RESERVE, rk=KEY_B, ptype=TYPE_EX_AC))
    show = pr_show(d)
    expect(show["reservation"]["holder"] == port_b, "B holds: %s" % show)
    want = "cleared by uid %d" % os.geteuid()
    for _ in range(50):
        if want in d.text():
            break
        time.sleep(0.1)
    expect(want in d.text(), "no log line '%s'" % want)

    # 5. errors.
    one_line_error(ctl(d, "pr", "show", "iqn.2026-11.org.quorate:nothing", "0", rc=1))
    one_line_error(ctl(d, "pr", "show", TARGET, "7", rc=1))
    one_line_error(ctl(d, "pr", "clear", TARGET, "7", "--force", rc=1))
    ctl(d, "pr", "show", TARGET, "x", rc=2)
    ctl(d, "pr", "show", TARGET, rc=2)
    b.close()



if __name__ == "__main__":
    sys.exit(run_test("pr-admin", PORT_OFFSET, run))
