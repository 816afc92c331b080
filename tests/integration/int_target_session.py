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

Output is parsed as JSON, never grepped. Port: QT_PORT_BASE (default
14500) + 235. Exit 0 pass, 1 fail.
"""
import json
import os
import sys

sys.path.insert(0, os.environ.get("QT_SRCDIR") or os.path.dirname(os.path.abspath(__file__)))
import iscsi_raw as r  # noqa: E402
from qt_daemon import expect, run_test, HOST, TARGET  # noqa: E402

PORT_OFFSET = 235
INIT_A = "iqn.2026-11.org.quorate:sessions-a"
INIT_B = "iqn.2026-11.org.quorate:sessions-b"
LONG_ALIAS = "Quorate cluster disks / " + "x" * (255 - 24)
SECRET = "target-show-secret-1"


def log(msg):
    print("target_session: %s" % msg, file=sys.stderr, flush=True)


def ctl(d, *args, rc=0):
    p = d.ctl(*args)
    expect(p.returncode == rc, "quoratectl %s: exit %d (want %d): %s%s"
           % (" ".join(args), p.returncode, rc, p.stdout, p.stderr))
    return p


def ctl_json(d, *args):
    return json.loads(ctl(d, "--json", *args).stdout)


def ctl_refused(d, *args, rc=1):
    """A refused command: exit @rc, one line on stderr (a usage error may add
    the usage), nothing on stdout."""
    p = ctl(d, *args, rc=rc)
    lines = p.stderr.strip().splitlines()
    expect(len(lines) == 1 or (rc == 2 and lines[1].startswith("usage:")),
           "quoratectl %s: want one line on stderr, got %r" % (" ".join(args), p.stderr))
    expect(p.stdout == "", "quoratectl %s: refused but printed %r" % (" ".join(args), p.stdout))
    return lines[0]


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


def run(d):
    d.start()
    check_target(d)


if __name__ == "__main__":
    sys.exit(run_test("target-session", PORT_OFFSET, run))
