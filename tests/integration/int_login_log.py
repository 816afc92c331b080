#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""What the daemon's log says about refused logins, for an administrator
who only has the log (and an initiator's "authentication failure").

Each refused login is one notice line naming the initiator, the TargetName
as the initiator sent it, the status and the reason in plain words:
- AuthMethod=None to a target with CHAP: "target requires CHAP; initiator
  offered AuthMethod=None";
- an initiator not in the target's ACL: "initiator not in the target's ACL";
- a TargetName no target has (sent in upper case, logged as sent):
  "unknown target";
- a wrong CHAP secret: "chap: wrong response";
- a session beyond max_sessions: "max_sessions reached".
No line of the log holds "(null)" and none of those is written twice.

A SendTargets=All from which an ACL hid targets is logged at info, once
per initiator per minute: "discovery by 'X': 1 target(s) hidden by their
ACL" once for two discoveries of X; nothing for the initiator the ACL
admits.

Port: QT_PORT_BASE (default 14500) + 265. Exit 0 pass, 1 fail.
"""
import os
import sys
import time

sys.path.insert(0, os.environ.get("QT_SRCDIR") or os.path.dirname(os.path.abspath(__file__)))
import iscsi_raw as r  # noqa: E402
import qt_daemon  # noqa: E402
from qt_daemon import Fail, expect, HOST, ctl  # noqa: E402

PORT_OFFSET = 265
INIT = "iqn.2026-11.org.quorate:login-log"
OTHER = "iqn.2026-11.org.quorate:someone-else"
CHAP_TGT = "iqn.2026-11.org.quorate:chap"
ACL_TGT = "iqn.2026-11.org.quorate:acl"
OPEN_TGT = "iqn.2026-11.org.quorate:open"
USER, SECRET, WRONG = "alice", "alice-secret-0123", "wrong-secret-0123"


def log(msg):
    print("login_log: %s" % msg, file=sys.stderr, flush=True)


def login(d, initiator, target, chap=None):
    """The logged-in connection, or the failed login's status (closed)."""
    c = r.Conn(HOST, d.port, timeout=10)
    try:
        rsp = c.login(initiator, target, chap)
    except BaseException:
        c.close()
        raise
    st = rsp.status_class << 8 | rsp.status_detail
    if st == 0:
        return c
    c.close()
    return st


def sendtargets(d, initiator):
    """The TargetNames of a discovery session's SendTargets=All."""
    c = r.Conn(HOST, d.port, timeout=10)
    try:
        rsp = c.login(initiator)
        expect(rsp.status_class == 0, "discovery login of %s: 0x%02x%02x"
               % (initiator, rsp.status_class, rsp.status_detail))
        names = [v for k, v in c.text([("SendTargets", "All")]) if k == "TargetName"]
        c.logout()
        return names
    finally:
        c.close()


def refused(d, initiator, target, status, reason, chap=None, sent=None):
    """A login refused with @status, logged once with @reason."""
    got = login(d, initiator, target, chap)
    expect(got == status, "login of %s to %s: want 0x%04x, got %r"
           % (initiator, target, status, got))
    line = "login of '%s' to '%s' failed: status 0x%04x: %s" % (initiator, sent or target,
                                                                 status, reason)
    for _ in range(50):
        n = d.text().count(line)
        if n:
            break
        time.sleep(0.1)
    time.sleep(0.2)
    n = d.text().count(line)
    expect(n == 1, "want the line %r once in the log, found it %d times" % (line, n))
    log("ok: %s" % reason)


def body(d):
    for t in (CHAP_TGT, ACL_TGT, OPEN_TGT):
        ctl(d, "target", "create", t)
        ctl(d, "lun", "create", t, "--lun", "0", "--backing", "null", "--size", "64M")
    sf = os.path.join(d.dir, "secret")
    with open(sf, "w") as f:
        f.write(SECRET)
    ctl(d, "chap", "set", CHAP_TGT, "--user", USER, "--secret-file", sf)
    ctl(d, "acl", "add", ACL_TGT, OTHER)

    hidden = "discovery by '%s': 1 target(s) hidden by their ACL" % INIT
    for _ in range(2):
        names = sendtargets(d, INIT)
        expect(ACL_TGT not in names and OPEN_TGT in names, "SendTargets for %s: %r"
               % (INIT, names))
    expect(ACL_TGT in sendtargets(d, OTHER), "SendTargets for %s misses %s" % (OTHER, ACL_TGT))
    n = d.text().count(hidden)
    expect(n == 1, "want %r once in the log, found it %d times" % (hidden, n))
    expect("discovery by '%s'" % OTHER not in d.text(), "a hidden-targets line for %s" % OTHER)
    log("ok: targets hidden by an ACL are logged once per initiator")

    refused(d, INIT, CHAP_TGT, 0x0201,
            "target requires CHAP; initiator offered AuthMethod=None")
    refused(d, INIT, ACL_TGT, 0x0202, "initiator not in the target's ACL")
    refused(d, INIT, OPEN_TGT.upper() + "-GONE", 0x0203, "unknown target")
    refused(d, INIT, CHAP_TGT, 0x0201, "chap: wrong response", chap=(USER, WRONG))
    held = login(d, INIT, OPEN_TGT)
    expect(not isinstance(held, int), "login to the open target refused: %r" % (held,))
    try:
        refused(d, OTHER, OPEN_TGT, 0x0302, "max_sessions reached")
    finally:
        held.logout()
        held.close()
    expect("(null)" not in d.text(), "'(null)' in the log:\n%s"
           % "\n".join(ln for ln in d.text().splitlines() if "(null)" in ln))


def run(d):
    d.start()
    body(d)


if __name__ == "__main__":
    sys.exit(qt_daemon.run_test("login-log", PORT_OFFSET, run, iscsi_config="max_sessions = 1",
                                demo=False))
