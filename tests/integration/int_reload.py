#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Re-reading quorated.conf at run time: SIGHUP and `quoratectl reload`.

- SIGHUP after the file's log_level went from info to debug and its
  max_sessions from 4 to 1: the admin requests' debug lines appear in the
  log, and a second normal session is refused (OUT OF RESOURCES) while the
  first stays logged in.
- `quoratectl reload` after the file went back to info and max_sessions = 2:
  the reply lists both keys as applied; two sessions log in, a third is
  refused, and no debug line follows.
- A file with an error (a good max_sessions = 1 before an unknown key):
  `quoratectl reload` exits 1 with FILE:LINE and the error, SIGHUP logs the
  same; the running settings are kept (two sessions still log in).
- A key that needs a restart ([node] ipc_name and [iscsi] queue_depth):
  `reload` succeeds, lists them under restart_needed and the log says each
  takes effect at the next restart; the daemon still answers on its IPC
  name and its portal. ([iscsi] listen applies at once: int_portal.py.)

Port: QT_PORT_BASE (default 14500) + 260. Exit 0 pass, 1 fail.
"""
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.environ.get("QT_SRCDIR") or os.path.dirname(os.path.abspath(__file__)))
import iscsi_raw as r  # noqa: E402
import qt_daemon  # noqa: E402
from qt_daemon import Fail, expect, HOST, ctl  # noqa: E402

PORT_OFFSET = 260
TGT = "iqn.2026-11.org.quorate:reload"
OK = 0x0000
OUT_OF_RESOURCES = 0x0302
DEBUG_LINE = "ipc: status"


def log(msg):
    print("reload: %s" % msg, file=sys.stderr, flush=True)


def write_conf(d, text):
    with open(d.conf, "w") as f:
        f.write(text)


def login(d, n):
    """Session @n: the connection, or None and the failed login's status."""
    c = r.Conn(HOST, d.port, timeout=10)
    rsp = c.login("iqn.2026-11.org.quorate:reload-host%d" % n, TGT)
    st = rsp.status_class << 8 | rsp.status_detail
    if st != OK:
        c.close()
        return None, st
    return c, st


def sessions_up_to(d, limit):
    """@limit sessions log in and one more is refused with OUT OF RESOURCES."""
    conns = []
    try:
        for i in range(limit):
            c, st = login(d, i)
            expect(c is not None, "session %d of %d refused: 0x%04x" % (i + 1, limit, st))
            conns.append(c)
        c, st = login(d, limit)
        if c is not None:
            conns.append(c)
        expect(st == OUT_OF_RESOURCES, "session %d beyond max_sessions = %d: 0x%04x"
               % (limit + 1, limit, st))
    finally:
        for c in conns:
            c.logout()
            c.close()
    # The daemon counts a session until its connection is gone.
    for _ in range(50):
        if ctl_sessions(d) == 0:
            return
        time.sleep(0.1)
    raise Fail("sessions still open after logout")


def ctl_sessions(d):
    return len(json.loads(ctl(d, "--json", "session", "list").stdout))


def wait_log(d, text, count=1):
    for _ in range(100):
        if d.text().count(text) >= count:
            return
        time.sleep(0.1)
    raise Fail("no %r in the daemon's log" % text)


def sighup(d, n):
    """SIGHUP and wait for the @n-th reload outcome in the log."""
    d.proc.send_signal(signal.SIGHUP)
    for _ in range(100):
        t = d.text()
        if t.count("reload (SIGHUP)") >= n:
            return
        time.sleep(0.1)
    raise Fail("no reload (SIGHUP) line after SIGHUP")


def debug_lines(d):
    ctl(d, "status")
    return d.text().count(DEBUG_LINE)


def body(d):
    ctl(d, "target", "create", TGT)
    ctl(d, "lun", "create", TGT, "--lun", "0", "--backing", "null", "--size", "64M")
    expect(debug_lines(d) == 0, "debug lines at log_level = info")

    write_conf(d, "[node]\nlog_level = debug\n[iscsi]\nmax_sessions = 1\n")
    sighup(d, 1)
    wait_log(d, "reload: [node] log_level info -> debug")
    wait_log(d, "reload: [iscsi] max_sessions 4 -> 1")
    n = debug_lines(d)
    expect(n >= 1, "no debug line after SIGHUP set log_level = debug")
    sessions_up_to(d, 1)
    log("ok: SIGHUP applied log_level = debug and max_sessions = 1")

    write_conf(d, "[node]\nlog_level = info\n[iscsi]\nmax_sessions = 2\n")
    res = json.loads(ctl(d, "--json", "reload").stdout)
    expect(res["applied"] == ["[node] log_level", "[iscsi] max_sessions"],
           "reload applied %r" % res["applied"])
    expect(res["restart_needed"] == [], "reload restart_needed %r" % res["restart_needed"])
    expect(res["file"] == os.path.realpath(d.conf), "reload file %r" % res["file"])
    sessions_up_to(d, 2)
    n = d.text().count(DEBUG_LINE)
    expect(debug_lines(d) == n, "a debug line after reload set log_level = info")
    p = ctl(d, "reload")
    expect(p.stdout == "reloaded %s\n" % os.path.realpath(d.conf),
           "reload of an unchanged file printed %r" % p.stdout)
    log("ok: quoratectl reload applied log_level = info and max_sessions = 2")

    write_conf(d, "[node]\nlog_level = debug\n[iscsi]\nmax_sessions = 1\nmax_sesions = 1\n")
    p = ctl(d, "reload", rc=1)
    where = "%s:5:" % os.path.realpath(d.conf)
    expect(p.stdout == "", "failed reload printed %r" % p.stdout)
    expect(where in p.stderr and "unknown key 'max_sesions' in [iscsi]" in p.stderr,
           "failed reload: %r" % p.stderr)
    sighup(d, 2)
    errs = [ln for ln in d.text().splitlines() if where in ln and "running settings" in ln]
    expect(len(errs) == 2, "want the error logged for reload and SIGHUP: %r" % errs)
    sessions_up_to(d, 2)
    n = d.text().count(DEBUG_LINE)
    expect(debug_lines(d) == n, "a debug line after a broken file asked for debug")
    log("ok: a broken file is refused with FILE:LINE and changes nothing")

    write_conf(d, "[node]\nipc_name = elsewhere\n[iscsi]\nmax_sessions = 2\n"
               "queue_depth = 8\n")
    res = json.loads(ctl(d, "--json", "reload").stdout)
    want = ["[node] ipc_name", "[iscsi] queue_depth"]
    expect(res["restart_needed"] == want, "restart_needed %r" % res["restart_needed"])
    expect(res["applied"] == [], "applied %r" % res["applied"])
    for key in want:
        wait_log(d, "reload: %s changed in '%s'; it takes effect when quorated restarts"
                 % (key, os.path.realpath(d.conf)))
    sessions_up_to(d, 2)
    p = ctl(d, "reload")
    expect("needs a restart: [node] ipc_name\n" in p.stdout, "reload printed %r" % p.stdout)
    log("ok: restart-only keys are reported and logged, the daemon keeps running as it was")


def run(d):
    d.conf = os.path.join(d.dir, "quorated.conf")
    d.start()
    body(d)


if __name__ == "__main__":
    sys.exit(qt_daemon.run_test("reload", PORT_OFFSET, run, iscsi_config="max_sessions = 4",
                                config="[node]\nlog_level = info\n", demo=False))
