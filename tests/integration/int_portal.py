#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Portals at run time: `quoratectl portal list|add|remove`, the listen
portals of a reload, and run-time portals in config export/apply.

- portal list shows the configured portal (source config, listening);
  `portal add` of a second loopback port: an initiator logs in through it
  and SendTargets (through either portal) lists it with TPGT 1; list shows
  it (source runtime, listening).
- Refused, each with one line (or the JSON error of its kind), the
  documented exit status and no change (applied sequence and list as
  before): portal strings that are no numeric portal (invalid), an address
  not on this host and a port in use (refused), a duplicate add and an add
  of the configured portal (exists), removing the configured portal
  (refused, saying to edit the configuration), removing one that is not
  there and a node the standalone daemon does not know (not_found), a
  missing argument and a bad --node (usage, exit 2).
- `portal remove`: a new connection to it is refused, SendTargets no longer
  lists it, and the session that logged in through it keeps working.
- config export lists the run-time portal; apply of that document after
  the portal was removed adds it again, a second apply changes nothing,
  --prune of a document without it removes it (never the configured one).
- The run-time portal survives a restart (it is in the database): listed,
  listening, and SendTargets has it.
- Reload: [iscsi] listen gains a portal -> it listens (reported as applied);
  a file naming an address not on this host -> reload exits 1 and the old
  set stays; listen back to one portal -> the other closes.

Port: QT_PORT_BASE (default 14500) + 270 (the daemon's portal and the next
three). Exit 0 pass, 1 fail.
"""
import json
import os
import socket
import sys

sys.path.insert(0, os.environ.get("QT_SRCDIR") or os.path.dirname(os.path.abspath(__file__)))
import iscsi_raw as r  # noqa: E402
import qt_daemon  # noqa: E402
from qt_daemon import Fail, expect, HOST, TARGET, ctl, ctl_json, ctl_refused  # noqa: E402

PORT_OFFSET = 270
INIT = "iqn.2026-11.org.quorate:portal-host"
FOREIGN = "192.0.2.1"       # TEST-NET-1: an address of no host here


def log(msg):
    print("portal: %s" % msg, file=sys.stderr, flush=True)


def portals(d):
    return [(p["node"], p["portal"], p["source"], p["listening"])
            for p in ctl_json(d, "portal", "list")]


def applied_seq(d):
    return ctl_json(d, "status")["applied_seq"]


def sendtargets(port):
    """The TargetAddress values SendTargets answers through @port."""
    c = r.Conn(HOST, port)
    try:
        rsp = c.login(INIT)
        expect(rsp.status_class == r.STATUS_SUCCESS, "discovery login via %d: %r" % (port, rsp))
        keys = c.text([("SendTargets", "All")])
        c.logout()
    finally:
        c.close()
    expect(("TargetName", TARGET) in keys, "SendTargets via %d: %r" % (port, keys))
    return [v for k, v in keys if k == "TargetAddress"]


def login(port):
    """A normal session through @port: the connection (TEST UNIT READY answered)."""
    c = r.Conn(HOST, port)
    rsp = c.login(INIT, TARGET)
    expect(rsp.status_class == r.STATUS_SUCCESS, "login via %d: %r" % (port, rsp))
    c.test_unit_ready()
    return c


def refused_connect(port):
    s = socket.socket()
    try:
        s.settimeout(2)
        return s.connect_ex((HOST, port)) != 0
    finally:
        s.close()


def refused(d, kind, *args, rc=1, text=None):
    """@args refused with exit @rc, one line (containing @text), JSON kind @kind, no change."""
    seq, before = applied_seq(d), portals(d)
    line = ctl_refused(d, *args, rc=rc)
    expect(text is None or text in line, "quoratectl %s: %r lacks %r" % (" ".join(args), line, text))
    p = d.ctl("--json", *args)
    expect(p.returncode == rc, "--json %s: exit %d" % (" ".join(args), p.returncode))
    err = json.loads(p.stdout)["error"]
    expect(err["kind"] == kind, "%s: kind %r, want %r" % (" ".join(args), err["kind"], kind))
    expect(applied_seq(d) == seq and portals(d) == before,
           "%s changed something" % " ".join(args))
    log("refused (%s): %s" % (kind, line))


def write_conf(d, listen):
    with open(d.conf, "w") as f:
        f.write("[iscsi]\nlisten = %s\n" % ", ".join("%s:%d" % (HOST, p) for p in listen))


def check_add_remove(d, p1, p2):
    main = "%s:%d" % (HOST, d.port)
    extra = "%s:%d" % (HOST, p1)
    expect(portals(d) == [(1, main, "config", True)], "portal list: %r" % portals(d))
    res = ctl_json(d, "portal", "add", extra)
    expect(res["portal"] == extra and res["node"] == 1 and res["listening"] is True,
           "portal add: %r" % res)
    expect(portals(d) == [(1, main, "config", True), (1, extra, "runtime", True)],
           "portal list after add: %r" % portals(d))
    held = login(p1)
    for via in (d.port, p1):
        got = sendtargets(via)
        expect(sorted(got) == sorted(["%s,1" % main, "%s,1" % extra]),
               "SendTargets via %d: %r" % (via, got))
    log("ok: added %s: login through it, SendTargets lists it with TPGT 1" % extra)

    refused(d, "invalid", "portal", "add", "not-a-portal")
    refused(d, "invalid", "portal", "add", HOST)
    refused(d, "invalid", "portal", "add", "%s:99999" % HOST)
    refused(d, "invalid", "portal", "add", "localhost:%d" % p2, text="numeric")
    refused(d, "refused", "portal", "add", "%s:%d" % (FOREIGN, p2),
            text="not an address of this host")
    busy = socket.socket()
    busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    busy.bind((HOST, p2))
    busy.listen(1)
    try:
        refused(d, "refused", "portal", "add", "%s:%d" % (HOST, p2), text="in use")
    finally:
        busy.close()
    refused(d, "exists", "portal", "add", extra)
    refused(d, "exists", "portal", "add", main)
    refused(d, "refused", "portal", "remove", main, text="configuration")
    refused(d, "not_found", "portal", "remove", "%s:%d" % (HOST, p2))
    refused(d, "not_found", "portal", "add", "%s:%d" % (HOST, p2), "--node", "7")
    refused(d, "usage", "portal", "add", rc=2)
    refused(d, "usage", "portal", "add", extra, "--node", "x", rc=2)

    res = ctl_json(d, "portal", "remove", extra)
    expect(res["portal"] == extra, "portal remove: %r" % res)
    expect(refused_connect(p1), "a new connection to the removed portal was accepted")
    expect(sendtargets(d.port) == ["%s,1" % main], "SendTargets after remove")
    held.test_unit_ready()
    held.logout()
    held.close()
    log("ok: removed: connection refused, not in SendTargets, its session kept working")


def check_config_doc(d, p1):
    extra = "%s:%d" % (HOST, p1)
    ctl(d, "portal", "add", extra)
    doc = ctl_json(d, "config", "export")
    expect(doc["portals"] == [{"node": 1, "portal": extra}], "export: %r" % doc["portals"])
    path = os.path.join(d.dir, "doc.json")
    with open(path, "w") as f:
        json.dump(doc, f)
    ctl(d, "portal", "remove", extra)
    res = ctl_json(d, "config", "apply", path)
    expect([s["cmd"] for s in res["steps"]] == ["portal.add"], "apply: %r" % res)
    expect((1, extra, "runtime", True) in portals(d), "apply did not add the portal")
    res = ctl_json(d, "config", "apply", path)
    expect(res["steps"] == [], "second apply: %r" % res)
    doc["portals"] = []
    with open(path, "w") as f:
        json.dump(doc, f)
    res = ctl_json(d, "config", "apply", "--prune", path)
    expect([s["cmd"] for s in res["steps"]] == ["portal.remove"], "apply --prune: %r" % res)
    expect(portals(d) == [(1, "%s:%d" % (HOST, d.port), "config", True)],
           "after prune: %r" % portals(d))
    ctl(d, "portal", "add", extra)
    log("ok: config export lists it, apply adds it once, --prune removes it")


def check_restart(d, p1):
    extra = "%s:%d" % (HOST, p1)
    d.stop()
    d.start()
    expect((1, extra, "runtime", True) in portals(d), "after restart: %r" % portals(d))
    expect("%s,1" % extra in sendtargets(d.port), "SendTargets after restart")
    login(p1).close()
    log("ok: the run-time portal survives a restart")


def check_reload(d, p2, p3):
    main = "%s:%d" % (HOST, d.port)
    write_conf(d, [d.port, p2])
    res = ctl_json(d, "reload")
    expect(res["applied"] == ["[iscsi] listen"], "reload: %r" % res)
    expect((1, "%s:%d" % (HOST, p2), "config", True) in portals(d), "list: %r" % portals(d))
    login(p2).close()
    expect("%s:%d,1" % (HOST, p2) in sendtargets(d.port), "SendTargets after reload")
    with open(d.conf, "w") as f:
        f.write("[iscsi]\nlisten = %s, %s:%d, %s:%d\n" % (main, HOST, p2, FOREIGN, p3))
    p = ctl(d, "reload", rc=1)
    expect("cannot listen on '%s:%d'" % (FOREIGN, p3) in p.stderr, "reload: %r" % p.stderr)
    login(p2).close()
    write_conf(d, [d.port])
    res = ctl_json(d, "reload")
    expect(res["applied"] == ["[iscsi] listen"], "reload back: %r" % res)
    expect(refused_connect(p2), "the portal gone from [iscsi] listen still accepts")
    log("ok: reload opens a new listen portal, keeps the set on an error, closes a removed one")


def run(d):
    d.conf = os.path.join(d.dir, "quorated.conf")
    d.iscsi_config = "listen = %s:%d" % (HOST, d.port)
    d.start()
    p1, p2, p3 = d.port + 1, d.port + 2, d.port + 3
    for p in (p1, p2, p3):
        if not qt_daemon.port_free(p):
            raise Fail("port %d is taken" % p)
    check_add_remove(d, p1, p2)
    check_config_doc(d, p1)
    check_restart(d, p1)
    check_reload(d, p2, p3)
    # The log names each change with the uid that made it.
    expect("portal add node 1 '%s:%d'" % (HOST, p1) in d.text(), "no change log line")


if __name__ == "__main__":
    sys.exit(qt_daemon.run_test("portal", PORT_OFFSET, run))
