#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Targets and sessions as the administrator sees them, against a running
daemon (issue 11).

- `target show --json`: the alias, that it runs on this node, its LUNs (the
  `lun list` objects), ACL, CHAP user (never a secret) and its sessions on
  this node, each with the TSIH and ISID the initiator logged in with.
- `target set --alias`: a logged-in session stays (NOP answered) and a new
  login is told the new TargetAlias; an alias of the longest length (255
  bytes) works, also given at `target create` (the iSCSI registration used
  to refuse aliases over 223 bytes, leaving such a target NOT RUNNING);
  the same alias proposes nothing; a control character, an unknown target
  and a missing --alias are refused; the alias persists through a restart.
- `session show --json`: a CHAP (mutual) session with CRC32C digests and a
  one-way CHAP session without: initiator, ISID, TSIH, target, peer (the
  initiator's own socket), portal, login time, AuthMethod and CHAP user,
  and every negotiated key equal to what the initiator was answered at
  login; one TSIH alone; an unknown TSIH is refused.
- `session logout TSIH --wait 3`: the initiator receives an Asynchronous
  Message, AsyncEvent 1 (logout requested) with Parameter3 = 3; its next
  command is rejected (Waiting for Logout), `session show` says it was
  asked, and it logs out cleanly; the other session is untouched.
  `--initiator NAME` reaches that initiator's session, which is closed
  when it ignores the message for the wait; `--target IQN` reaches the
  target's sessions; bad selectors are usage errors, an unknown TSIH or
  a session already asked is refused; the log names the uid.
- quoratectl's conventions: `quoratectl lun` alone lists the LUN
  subcommands (also as JSON with -j), `help` answers; options and -j/--json
  go anywhere after the subcommand; with --json every error is one
  document {"error": {"kind", "message"}} on stdout with nothing on stderr
  and the documented exit status (not_found, exists, invalid, refused:
  1; usage: 2); QUORATE_IPC names the daemon when --ipc is absent; an IPC
  name nobody serves is "unreachable" and a user the daemon does not admit
  is "denied" (exit 1, one line without --json).

Output is parsed as JSON, never grepped. Port: QT_PORT_BASE (default
14500) + 235. Exit 0 pass, 1 fail.
"""
import json
import os
import pwd
import shutil
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.environ.get("QT_SRCDIR") or os.path.dirname(os.path.abspath(__file__)))
import iscsi_raw as r  # noqa: E402
from qt_daemon import expect, run_test, HOST, TARGET, ctl, ctl_json, ctl_refused  # noqa: E402

PORT_OFFSET = 235
INIT_A = "iqn.2026-11.org.quorate:sessions-a"
INIT_B = "iqn.2026-11.org.quorate:sessions-b"
LONG_ALIAS = "Quorate cluster disks / " + "x" * (255 - 24)
SECRET = "target-show-secret-1"


def log(msg):
    print("target_session: %s" % msg, file=sys.stderr, flush=True)








def login(d, init, target=TARGET):
    c = r.Conn(HOST, d.port, timeout=20)
    rsp = c.login(init, target)
    expect(rsp.status_class == 0, "login of %s to %s: %r" % (init, target, rsp))
    return c


def check_target(d):
    t = ctl_json(d, "target", "show", TARGET)
    expect(t["name"] == TARGET and t["alias"] == "quorate demo" and t["running"] is True and
           t["node_id"] == 1 and t["acl"] == [] and t["chap"] is None and t["sessions"] == [],
           "target show of the demo target: %s" % t)
    listed = ctl_json(d, "lun", "list", TARGET)
    expect(t["luns"] == listed, "target show LUNs %s differ from lun list %s"
           % (t["luns"], listed))

    a = login(d, INIT_A)
    ctl(d, "acl", "add", TARGET, INIT_A)
    p = d.ctl("chap", "set", TARGET, "--user", "alice", "--mutual-user", "quorate",
              "--secret", SECRET, "--mutual-secret", SECRET + "-m")
    expect(p.returncode == 0, "chap set: %s" % p.stderr)
    out = ctl(d, "--json", "target", "show", TARGET).stdout
    expect(SECRET not in out, "target show prints a CHAP secret")
    t = json.loads(out)
    expect(t["acl"] == [INIT_A] and t["chap"] == {"user": "alice", "mutual_user": "quorate"},
           "target show ACL/CHAP: %s" % t)
    expect(len(t["sessions"]) == 1 and t["sessions"][0]["initiator"] == INIT_A and
           t["sessions"][0]["tsih"] == a.tsih and t["sessions"][0]["isid"] == a.isid.hex(),
           "target show sessions: %s (tsih %d isid %s)" % (t["sessions"], a.tsih, a.isid.hex()))
    ctl(d, "chap", "clear", TARGET)
    ctl(d, "acl", "remove", TARGET, INIT_A)
    ctl_refused(d, "target", "show", "iqn.2026-11.org.quorate:nosuch")
    ctl_refused(d, "target", "show", rc=2)
    log("ok: target show: alias, running, LUNs = lun list, ACL, CHAP user only, sessions")

    res = ctl_json(d, "target", "set", TARGET, "--alias", LONG_ALIAS)
    expect(res["changed"] is True and res["seq"] > 0 and res["alias"] == LONG_ALIAS,
           "target set --alias: %s" % res)
    a.ping(b"still here")
    b = login(d, INIT_B)
    expect(b.login_keys.get("TargetAlias") == LONG_ALIAS, "a new login is told TargetAlias %r"
           % b.login_keys.get("TargetAlias"))
    expect(ctl_json(d, "target", "show", TARGET)["alias"] == LONG_ALIAS, "target show alias")
    expect({t["name"]: t["alias"] for t in ctl_json(d, "target", "list")}[TARGET] == LONG_ALIAS,
           "target list alias")
    res = ctl_json(d, "target", "set", TARGET, "--alias", LONG_ALIAS)
    expect(res["changed"] is False and "seq" not in res, "the same alias: %s" % res)
    line = ctl_refused(d, "target", "set", TARGET, "--alias", "two\nlines")
    expect("control" in line, "alias with a newline: %r" % line)
    ctl_refused(d, "target", "set", "iqn.2026-11.org.quorate:nosuch", "--alias", "x")
    ctl_refused(d, "target", "set", TARGET, rc=2)
    ctl_refused(d, "target", "set", TARGET, "--alias", "x" * 256)
    log("ok: target set --alias: the session stays, a new login sees TargetAlias")

    other = "iqn.2026-11.org.quorate:long-alias"
    ctl(d, "target", "create", other, "--alias", LONG_ALIAS)
    t = ctl_json(d, "target", "show", other)
    expect(t["running"] is True, "a target created with a 255-byte alias: %s" % t)
    c = login(d, INIT_B, other)
    expect(c.login_keys.get("TargetAlias") == LONG_ALIAS, "TargetAlias of %s" % other)
    c.logout()
    c.close()
    log("ok: a target created with a 255-byte alias runs and declares it")

    for c in (a, b):
        c.logout()
        c.close()
    expect(d.stop() == 0, "daemon did not exit 0")
    d.start()
    c = login(d, INIT_A)
    expect(c.login_keys.get("TargetAlias") == LONG_ALIAS, "TargetAlias after a restart")
    c.logout()
    c.close()
    ctl(d, "target", "set", TARGET, "--alias", "quorate demo")
    uid = os.geteuid()
    want = "configuration change by uid %d: target-set '%s' alias 'quorate demo'" % (uid, TARGET)
    expect(want in d.text(), "the log does not say %r" % want)
    log("ok: the alias persists through a restart; the log names uid %d" % uid)


def recv_async(c, timeout=5.0):
    """The next Asynchronous Message (skipping NOP-In pings)."""
    c.sock.settimeout(timeout)
    while True:
        pdu = c.recv_pdu()
        if pdu.opcode == r.OP_NOP_IN and pdu.itt == r.RESERVED_TAG:
            continue
        expect(pdu.opcode == r.OP_ASYNC, "expected an Asynchronous Message, got %r" % pdu)
        return pdu


def session_of(shown, c):
    hits = [x for x in shown if x["tsih"] == c.tsih]
    expect(len(hits) == 1, "session %d in %s" % (c.tsih, shown))
    return hits[0]


def check_keys(x, c, what):
    """Every key `session show` reports equals what the login answered."""
    keys = x["keys"]
    lk = c.login_keys
    expect(keys["MaxRecvDataSegmentLength"] == {
        "target": int(lk["MaxRecvDataSegmentLength"]), "initiator": 262144},
        "%s: MaxRecvDataSegmentLength %s, login said %s"
        % (what, keys["MaxRecvDataSegmentLength"], lk["MaxRecvDataSegmentLength"]))
    for k, v in keys.items():
        if k == "MaxRecvDataSegmentLength":
            continue
        expect(k in lk and str(v) == lk[k], "%s: %s is %r, the login answered %r"
               % (what, k, v, lk.get(k)))


def check_sessions(d):
    secret, msecret = "alice-secret-01", "quorate-secret-1"
    ctl(d, "chap", "set", TARGET, "--user", "alice", "--secret", secret,
        "--mutual-user", "quorate", "--mutual-secret", msecret)
    t0 = int(time.time())
    a = r.Conn(HOST, d.port, timeout=20)
    expect(a.login(INIT_A, TARGET, chap=("alice", secret), mutual=("quorate", msecret),
                   digests=True).status_class == 0, "CHAP login of A")
    b = r.Conn(HOST, d.port, timeout=20)
    expect(b.login(INIT_B, TARGET, chap=("alice", secret)).status_class == 0, "login of B")
    shown = ctl_json(d, "session", "show")
    expect(len(shown) == 2, "session show: %s" % shown)
    x = session_of(shown, a)
    peer = "%s:%d" % a.sock.getsockname()[:2]
    want = {"initiator": INIT_A, "target": TARGET, "isid": a.isid.hex(), "discovery": False,
            "node_id": 1, "portal": "%s:%d" % (HOST, d.port), "peer": peer,
            "auth": {"method": "CHAP", "user": "alice", "mutual": True},
            "logout_requested": False, "connections": 1}
    for k, v in want.items():
        expect(x.get(k) == v, "session show A: %s is %r, want %r" % (k, x.get(k), v))
    expect(t0 <= x["login_time"] <= int(time.time()), "login_time %d" % x["login_time"])
    expect(x["keys"]["HeaderDigest"] == "CRC32C" and x["keys"]["DataDigest"] == "CRC32C",
           "digests of A: %s" % x["keys"])
    check_keys(x, a, "A")
    y = session_of(shown, b)
    expect(y["auth"] == {"method": "CHAP", "user": "alice", "mutual": False} and
           y["keys"]["HeaderDigest"] == "None", "session show B: %s" % y)
    check_keys(y, b, "B")
    one = ctl_json(d, "session", "show", str(b.tsih))
    expect(one == [y] or (len(one) == 1 and one[0]["tsih"] == b.tsih),
           "session show TSIH: %s" % one)
    ctl_refused(d, "session", "show", "9999")
    ctl_refused(d, "session", "show", "x", rc=2)
    log("ok: session show: identity, portal, login time, CHAP user, digests and keys as "
        "negotiated")

    res = ctl_json(d, "session", "logout", str(a.tsih), "--wait", "3")
    expect(res == {"sessions": [a.tsih], "wait_s": 3}, "session logout: %s" % res)
    pdu = recv_async(a)
    event, param3 = pdu.bhs[36], struct.unpack(">H", pdu.bhs[42:44])[0]
    expect(event == 1 and param3 == 3, "Async Message: AsyncEvent %d Parameter3 %d"
           % (event, param3))
    expect(session_of(ctl_json(d, "session", "show"), a)["logout_requested"] is True,
           "session show after logout")
    hdr = a.scsi_cmd_pdu()
    a.send_pdu(hdr)
    a.cmdsn += 1
    rej = a.recv_pdu()
    expect(rej.opcode == r.OP_REJECT and rej.reason == 0x0C,
           "a command after the Async Message: %r" % rej)
    a.logout()
    a.close()
    b.ping(b"untouched")
    expect([x["tsih"] for x in ctl_json(d, "session", "show")] == [b.tsih],
           "sessions after A logged out")
    ctl_refused(d, "session", "logout", str(a.tsih))
    log("ok: session logout TSIH: AsyncEvent 1, Parameter3 3, Waiting for Logout, clean logout")

    res = ctl_json(d, "session", "logout", "--initiator", INIT_B.upper(), "--wait", "1")
    expect(res["sessions"] == [b.tsih], "logout --initiator: %s" % res)
    expect(recv_async(b).bhs[36] == 1, "B: no AsyncEvent 1")
    ctl_refused(d, "session", "logout", str(b.tsih))
    pdus = b.wait_closed(timeout=10)
    expect(all(p.opcode != r.OP_LOGOUT_RSP for p in pdus), "B was logged out: %s" % pdus)
    b.close()
    expect(ctl_json(d, "session", "show") == [], "B still listed after the wait")
    log("ok: logout --initiator: ignored for the wait, then closed")

    ctl(d, "chap", "clear", TARGET)
    c = login(d, INIT_A)
    res = ctl_json(d, "session", "logout", "--target", TARGET)
    expect(res["sessions"] == [c.tsih] and res["wait_s"] == 5, "logout --target: %s" % res)
    expect(recv_async(c).bhs[36] == 1, "C: no AsyncEvent 1")
    c.logout()
    c.close()
    for bad in ((), ("1", "--initiator", INIT_A), ("--wait", "0", "1"), ("--target",),
                ("x",)):
        ctl_refused(d, "session", "logout", *bad, rc=2)
    ctl_refused(d, "session", "logout", "--target", "iqn.2026-11.org.quorate:nosuch")
    want = "session(s) asked to log out within 3 s by uid %d" % os.geteuid()
    expect(want in d.text(), "the log does not say %r" % want)
    log("ok: logout --target; bad selectors exit 2, nothing to log out exit 1")


def quoratectl(*args, env=None, pre=()):
    """quoratectl without --ipc (the environment names the daemon)."""
    return subprocess.run(list(pre) + [os.environ.get("QUORATECTL") or
                                       os.path.abspath("cli/quoratectl")] + list(args),
                          capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, **(env or {})))


def json_error(p, rc, kind, what):
    expect(p.returncode == rc, "%s: exit %d, want %d (%s)" % (what, p.returncode, rc, p.stderr))
    expect(p.stderr == "", "%s: --json printed on stderr: %r" % (what, p.stderr))
    err = json.loads(p.stdout)["error"]
    expect(err["kind"] == kind and err["message"], "%s: error %s, want kind %s"
           % (what, err, kind))
    return err["message"]


def check_cli(d):
    p = d.ctl("lun")
    verbs = {"create", "delete", "list", "show", "offline", "online", "resize", "set"}
    expect(p.returncode == 0, "quoratectl lun: exit %d" % p.returncode)
    listed = json.loads(d.ctl("-j", "lun").stdout)
    expect(listed["group"] == "lun" and {c["verb"] for c in listed["commands"]} == verbs,
           "quoratectl -j lun: %s" % listed)
    expect(d.ctl("help").returncode == 0 and d.ctl("help", "session").returncode == 0,
           "quoratectl help")
    expect(json.loads(d.ctl("target", "show", TARGET, "-j").stdout)["name"] == TARGET,
           "-j after the arguments")
    expect(json.loads(d.ctl("lun", "show", "--json", TARGET, "0").stdout)["lun"] == 0,
           "--json between the arguments")
    log("ok: 'quoratectl lun' lists its subcommands; -j/--json anywhere")

    for args, rc, kind in ((("lun", "show", TARGET, "99"), 1, "not_found"),
                           (("target", "create", TARGET), 1, "exists"),
                           (("lun", "resize", TARGET, "0", "--size", "1000"), 1, "invalid"),
                           (("lun", "resize", TARGET, "0", "--size", "1M"), 1, "refused"),
                           (("session", "logout", "999"), 1, "not_found"),
                           (("lun", "show", TARGET, "x"), 2, "usage"),
                           (("lun", "bogus"), 2, "usage"),
                           (("bogus",), 2, "usage")):
        json_error(d.ctl("--json", *args), rc, kind, " ".join(args))
    log("ok: --json errors: one {\"error\": {kind, message}} document, exit 1 or 2")

    st = quoratectl("--json", "status", env={"QUORATE_IPC": d.ipc})
    expect(st.returncode == 0 and json.loads(st.stdout)["node_id"] == 1,
           "QUORATE_IPC: %s %s" % (st.stdout, st.stderr))
    json_error(quoratectl("--json", "status", env={"QUORATE_IPC": d.ipc + "-nobody"}), 1,
               "unreachable", "a daemon that is not running")
    p = quoratectl("status", env={"QUORATE_IPC": d.ipc + "-nobody"})
    expect(p.returncode == 1 and len(p.stderr.strip().splitlines()) == 1,
           "a daemon that is not running, without --json: %r" % p.stderr)
    log("ok: QUORATE_IPC names the daemon; no daemon is 'unreachable'")
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        log("not root or no setpriv: the non-root user case is skipped")
        return
    nobody = pwd.getpwnam("nobody")
    pre = ("setpriv", "--reuid=%d" % nobody.pw_uid, "--regid=%d" % nobody.pw_gid,
           "--clear-groups")
    json_error(quoratectl("--json", "--ipc", d.ipc, "--daemon-user", "0", "status", pre=pre),
               1, "denied", "a user the daemon does not admit")
    p = quoratectl("--ipc", d.ipc, "status", pre=pre)
    expect(p.returncode == 1 and len(p.stderr.strip().splitlines()) == 1,
           "a user the daemon does not admit, without --json: %r" % p.stderr)
    log("ok: a user the daemon does not admit is 'denied'")


def run(d):
    d.start()
    check_target(d)
    check_sessions(d)
    check_cli(d)


if __name__ == "__main__":
    sys.exit(run_test("target-session", PORT_OFFSET, run))
