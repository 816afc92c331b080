#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Admission of connections and logins, against a real quorated.

Cases (each starts its own daemon; ADMISSION_CASES=a,b,... runs a subset):
  discovery   8 anonymous discovery sessions held open with max_sessions = 8
              do not keep a CHAP-authenticated normal login out; discovery
              sessions have a limit of their own (max_discovery_sessions);
              normal sessions still stop at max_sessions.
  idle        a discovery session that sends only NOP-Outs is closed after
              discovery_idle_timeout; the soft RLIMIT_NOFILE was raised to
              the hard limit at start-up.
  fds         the daemon runs out of descriptors (RLIMIT_NOFILE 64) while
              connections keep arriving: it must not spin (CPU time over a
              few seconds stays low) nor flood its log, and once the
              connections are gone a new login works.
  logincap    max_login_connections: a connection beyond the cap (or beyond
              a quarter of it from one address) is closed at once; logins
              work again when the others go.
  backoff     repeated wrong CHAP secrets: after a few failures further
              attempts (from that initiator, and from that address under
              another name) are refused unverified for a growing back-off,
              the log stays short, and the right secret works once the
              back-off has passed.
  mutual      require_mutual_chap = 1: an initiator that skips the mutual
              half is refused where a mutual secret is set.
  names       RFC 7143 4.2.7's example names and upper-case IQNs are accepted
              by the admin commands (normalised to lower case, said in the
              reply) and a login in upper case matches the lower-case ACL.

Port: QT_PORT_BASE (default 14500) + 130 (first free of ten). Exit 0 pass,
1 fail.
"""
import os
import re
import resource
import shutil
import socket
import sys
import time
import traceback

sys.path.insert(0, os.environ.get("QT_SRCDIR") or os.path.dirname(os.path.abspath(__file__)))
import iscsi_raw as r  # noqa: E402
import qt_daemon  # noqa: E402

HOST = "127.0.0.1"
PORT_OFFSET = 130
INIT1 = "iqn.2026-11.org.quorate:init1"
INIT2 = "iqn.2026-11.org.quorate:init2"
OPEN_TGT = "iqn.2026-11.org.quorate:open"
CHAP_TGT = "iqn.2026-11.org.quorate:chap"
USER, SECRET, WRONG = "alice", "alice-secret-0123", "wrong-secret-0123"
TUSER, TSECRET = "quorate-target", "target-secret-4567"
OK = 0x0000
AUTH_FAILED = 0x0201
OUT_OF_RESOURCES = 0x0302
SERVICE_UNAVAILABLE = 0x0301


def log(msg):
    print("admission: %s" % msg, file=sys.stderr, flush=True)


class Fail(Exception):
    pass


def expect(cond, msg):
    if not cond:
        raise Fail(msg)


class Daemon(qt_daemon.Daemon):
    """qt_daemon's daemon with an empty database, started at once; ctl()
    fails the case unless asked not to; stop() fails it unless the daemon
    was alive and exits 0 on SIGTERM."""

    def __init__(self, name, iscsi_conf="", nofile=None):
        super().__init__("admission-" + name, PORT_OFFSET, iscsi_conf, demo=False,
                         nofile=nofile)
        try:
            self.start()
        except qt_daemon.DaemonError as e:
            raise Fail(str(e))

    def ctl(self, *args, ok=True):
        p = super().ctl(*args)
        if ok:
            expect(p.returncode == 0, "quoratectl %s: exit %d: %s%s"
                   % (" ".join(args), p.returncode, p.stdout.strip(), p.stderr.strip()))
        p.stdout += p.stderr
        return p

    def target(self, name, chap=False, mutual=False):
        self.ctl("target", "create", name)
        self.ctl("lun", "create", name, "--lun", "0", "--backing", "null", "--size", "64M")
        if chap:
            sf = os.path.join(self.dir, "secret")
            with open(sf, "w") as f:
                f.write(SECRET)
            args = ["chap", "set", name, "--user", USER, "--secret-file", sf]
            if mutual:
                tf = os.path.join(self.dir, "tsecret")
                with open(tf, "w") as f:
                    f.write(TSECRET)
                args += ["--mutual-user", TUSER, "--mutual-secret-file", tf]
            self.ctl(*args)

    def stop(self):
        if not self.alive():
            rc = None if self.proc is None else self.proc.returncode
            self.proc = None
            raise Fail("quorated died during the test (status %s): %s"
                       % (rc, self.text()[-3000:]))
        rc = super().stop()
        self.proc = None
        expect(rc == 0, "quorated exited with %d on SIGTERM" % rc)
        shutil.rmtree(self.dir, ignore_errors=True)

    def kill(self):
        """After a failure: stop the daemon, keep its directory for a look."""
        if self.alive():
            self.proc.kill()
            self.proc.wait()
        if self.proc is not None or os.path.isdir(self.dir):
            log("log kept: %s; its last lines:\n%s" % (self.log, self.text()[-1500:]))
        self.proc = None


def status_of(rsp):
    return rsp.status_class << 8 | rsp.status_detail


def login(d, initiator, target=None, chap=None, mutual=None):
    """A logged-in connection (or the failed login's status, connection closed)."""
    c = r.Conn(HOST, d.port, timeout=10)
    try:
        st = status_of(c.login(initiator, target, chap, mutual))
    except (r.Closed, OSError) as e:
        c.close()
        raise Fail("login of %s to %s: connection lost: %s" % (initiator, target, e))
    if st != OK:
        c.close()
        return None, st
    return c, st


def status(d, initiator, target=None, chap=None, mutual=None):
    c, st = login(d, initiator, target, chap, mutual)
    if c is not None:
        c.logout()
        c.close()
    return st


# ---------------------------------------------------------------- cases

def case_discovery():
    d = Daemon("discovery", "max_sessions = 8")
    held = []
    try:
        d.target(OPEN_TGT)
        d.target(CHAP_TGT, chap=True)
        for i in range(8):
            c, st = login(d, "iqn.2026-11.org.example:anon%d" % i)
            expect(c is not None, "discovery session %d refused: 0x%04x" % (i, st))
            held.append(c)
        st = status(d, INIT1, CHAP_TGT, chap=(USER, SECRET))
        expect(st == OK, "CHAP login with 8 discovery sessions open and max_sessions = 8: "
               "0x%04x, expected 0x0000" % st)
        log("ok: 8 discovery sessions leave the normal-session slots free")
        # Discovery has its own limit: 16 by default.
        for i in range(8, 16):
            c, st = login(d, "iqn.2026-11.org.example:anon%d" % i)
            expect(c is not None, "discovery session %d refused: 0x%04x" % (i, st))
            held.append(c)
        _, st = login(d, "iqn.2026-11.org.example:anon16")
        expect(st == OUT_OF_RESOURCES, "17th discovery session: 0x%04x, expected 0x0302" % st)
        log("ok: the 17th discovery session is refused with 0x0302")
        normal = []
        for i in range(8):
            c, st = login(d, "iqn.2026-11.org.example:host%d" % i, OPEN_TGT)
            expect(c is not None, "normal session %d refused: 0x%04x" % (i, st))
            normal.append(c)
        _, st = login(d, "iqn.2026-11.org.example:host8", OPEN_TGT)
        expect(st == OUT_OF_RESOURCES, "9th normal session: 0x%04x, expected 0x0302" % st)
        log("ok: normal sessions still stop at max_sessions")
        for c in held + normal:
            c.close()
        d.stop()
    finally:
        d.kill()


def case_idle():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want_soft = min(256, hard)
    d = Daemon("idle", "discovery_idle_timeout = 1", nofile=(want_soft, hard))
    try:
        with open("/proc/%d/limits" % d.proc.pid) as f:
            line = next(ln for ln in f if ln.startswith("Max open files"))
        got = line.split()[3]
        expect(got == str(hard) or (hard == resource.RLIM_INFINITY and got == "unlimited"),
               "soft RLIMIT_NOFILE not raised to the hard limit %d: %s" % (hard, line.strip()))
        log("ok: soft open file limit raised from %d to %s" % (want_soft, got))
        c, st = login(d, INIT1)
        expect(c is not None, "discovery login refused: 0x%04x" % st)
        t0 = time.monotonic()
        closed = False
        # NOP-Outs do not make a discovery session busy.
        while time.monotonic() - t0 < 6:
            try:
                c.ping()
            except (r.Closed, OSError, ValueError):
                closed = True
                break
            time.sleep(0.3)
        c.close()
        expect(closed, "an idle discovery session (NOP-Outs only) was still open after 6 s "
               "with discovery_idle_timeout = 1")
        expect("discovery session idle" in d.text(), "no 'discovery session idle' in the log")
        log("ok: idle discovery session closed after %.1f s" % (time.monotonic() - t0))
        d.stop()
    finally:
        d.kill()


def case_fds():
    nofile = 64
    d = Daemon("fds", "", nofile=(nofile, nofile))
    socks = []
    try:
        lines0 = d.text().count("\n")
        # Twice the daemon's descriptors: it runs out long before these end
        # (from 8 addresses: the per-address share of max_login_connections
        # must not stop them first).
        for i in range(2 * nofile):
            socks.append(connect_from(d, "127.0.0.%d" % (2 + i % 8)))
        time.sleep(0.5)
        expect(d.proc.poll() is None, "quorated died when it ran out of descriptors")
        hz = os.sysconf("SC_CLK_TCK")
        t0, c0 = time.monotonic(), d.cpu_ticks()
        time.sleep(3)
        share = (d.cpu_ticks() - c0) / hz / (time.monotonic() - t0)
        lines = d.text().count("\n") - lines0
        log("out of descriptors: CPU %.0f%% of a core, %d log lines" % (100 * share, lines))
        expect(share < 0.3, "quorated used %.0f%% of a core while out of descriptors "
               "(the accept loop spins)" % (100 * share))
        expect(lines < 40, "quorated wrote %d log lines while out of descriptors" % lines)
        expect("Too many open files" in d.text(), "EMFILE is not logged at all")
        for s in socks:
            s.close()
        socks = []
        deadline = time.monotonic() + 10
        while True:
            try:
                st = status(d, INIT1, None)
            except (Fail, OSError, r.Closed) as e:
                st = str(e)
            if st == OK:
                break
            expect(time.monotonic() < deadline,
                   "no login within 10 s after the connections closed: %s" % st)
            time.sleep(0.5)
        log("ok: no spin, short log, logins work again")
        d.stop()
    finally:
        for s in socks:
            s.close()
        d.kill()


def wait_eof(s, timeout):
    s.settimeout(timeout)
    try:
        return s.recv(1) == b""
    except socket.timeout:
        return False
    except OSError:
        return True


def connect_from(d, src):
    """A TCP connection to the daemon from loopback address @src."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(5)
    s.bind((src, 0))
    s.connect((HOST, d.port))
    return s


def case_logincap():
    d = Daemon("logincap", "max_login_connections = 8")
    idle = []
    try:
        d.target(OPEN_TGT)
        # A quarter of the cap per source address: 2 from 127.0.0.2.
        idle += [connect_from(d, "127.0.0.2") for _ in range(2)]
        time.sleep(0.5)
        extra = connect_from(d, "127.0.0.2")
        expect(wait_eof(extra, 3), "a 3rd unfinished login from one address was not closed "
               "with max_login_connections = 8")
        extra.close()
        log("ok: one address holds at most a quarter of the login slots")
        # All 8 slots taken from four addresses: a 9th address is refused too.
        for src in ("127.0.0.3", "127.0.0.4", "127.0.0.5"):
            idle += [connect_from(d, src) for _ in range(2)]
        time.sleep(0.5)
        extra = connect_from(d, "127.0.0.6")
        expect(wait_eof(extra, 3), "a 9th connection in the login phase was not closed "
               "with max_login_connections = 8")
        extra.close()
        log("ok: the 9th connection in the login phase is closed at once")
        for s in idle:
            s.close()
        idle = []
        time.sleep(0.3)
        st = status(d, INIT1, OPEN_TGT)
        expect(st == OK, "login after the idle connections closed: 0x%04x" % st)
        # Logged-in sessions do not count.
        held = []
        for i in range(6):
            c, st = login(d, "iqn.2026-11.org.example:host%d" % i, OPEN_TGT)
            expect(c is not None, "login %d refused: 0x%04x" % (i, st))
            held.append(c)
        for c in held:
            c.close()
        log("ok: logged-in connections do not count against the cap")
        d.stop()
    finally:
        for s in idle:
            s.close()
        d.kill()


def case_backoff():
    d = Daemon("backoff")
    try:
        d.target(CHAP_TGT, chap=True)
        lines0 = len(re.findall(r"login of .* failed|CHAP of .* refused", d.text()))
        results = []
        t0 = time.monotonic()
        while time.monotonic() - t0 < 4:
            results.append(status(d, INIT1, CHAP_TGT, chap=(USER, WRONG)))
        verified = results.count(AUTH_FAILED)
        refused = results.count(SERVICE_UNAVAILABLE)
        log("%d attempts with a wrong secret in 4 s: %d checked (0x0201), %d refused "
            "unchecked (0x0301)" % (len(results), verified, refused))
        expect(set(results) <= {AUTH_FAILED, SERVICE_UNAVAILABLE},
               "unexpected statuses: %s" % sorted(set("0x%04x" % s for s in results)))
        # 3 free failures, then back-offs of 1 s and 2 s: at most 6 in 4 s.
        expect(verified <= 6, "%d wrong secrets were checked in 4 s (no back-off)" % verified)
        expect(results[:3] == [AUTH_FAILED] * 3, "the first failures were not plain 0x0201")
        expect(refused >= 1, "no attempt was refused during the back-off")
        # Per address too: another name from the same address is held back.
        st = status(d, INIT2, CHAP_TGT, chap=(USER, WRONG))
        expect(st == SERVICE_UNAVAILABLE, "another initiator name from the same address "
               "during the back-off: 0x%04x, expected 0x0301" % st)
        # Even the right secret waits for the back-off to pass.
        st = status(d, INIT1, CHAP_TGT, chap=(USER, SECRET))
        expect(st == SERVICE_UNAVAILABLE, "right secret during the back-off: 0x%04x" % st)
        deadline = time.monotonic() + 12
        while True:
            st = status(d, INIT1, CHAP_TGT, chap=(USER, SECRET))
            if st == OK:
                break
            expect(st == SERVICE_UNAVAILABLE and time.monotonic() < deadline,
                   "right secret after the back-off: 0x%04x" % st)
            time.sleep(0.5)
        # Success clears the record: the next mistake costs nothing.
        st = status(d, INIT1, CHAP_TGT, chap=(USER, WRONG))
        expect(st == AUTH_FAILED, "a wrong secret after a success: 0x%04x" % st)
        lines = len(re.findall(r"login of .* failed|CHAP of .* refused", d.text())) - lines0
        log("%d log lines about %d failed attempts" % (lines, len(results) + 3))
        expect(lines <= 20, "%d log lines about failed logins: not rate-limited" % lines)
        expect(SECRET not in d.text() and WRONG not in d.text(), "a secret is in the log")
        log("ok: CHAP back-off and rate-limited log")
        d.stop()
    finally:
        d.kill()


def case_mutual():
    d = Daemon("mutual", "require_mutual_chap = 1")
    try:
        d.target(CHAP_TGT, chap=True, mutual=True)
        st = status(d, INIT1, CHAP_TGT, chap=(USER, SECRET))
        expect(st == AUTH_FAILED, "one-way CHAP with require_mutual_chap = 1: 0x%04x, "
               "expected 0x0201" % st)
        st = status(d, INIT1, CHAP_TGT, chap=(USER, SECRET), mutual=(TUSER, TSECRET))
        expect(st == OK, "mutual CHAP with require_mutual_chap = 1: 0x%04x" % st)
        expect("mutual CHAP required" in d.text(), "the refusal does not say why")
        log("ok: one-way CHAP refused where mutual CHAP is required")
        d.stop()
    finally:
        d.kill()


def case_names():
    d = Daemon("names")
    try:
        p = d.ctl("target", "create", "IQN.2026-11.ORG.QUORATE:CAPS")
        expect("normalised" in p.stdout and "iqn.2026-11.org.quorate:caps" in p.stdout,
               "target create does not say what it normalised: %r" % p.stdout)
        # Lookups by name take any case too.
        d.ctl("lun", "create", "Iqn.2026-11.Org.Quorate:Caps", "--lun", "0", "--backing",
              "null", "--size", "64M")
        for name in ("eui.02004567A425678D", "naa.52004567BA64678D",
                     "IQN.2026-11.ORG.QUORATE:UPPER"):
            p = d.ctl("acl", "add", "iqn.2026-11.org.quorate:caps", name)
            expect("normalised" in p.stdout and name.lower() in p.stdout,
                   "acl add %s: reply does not name the normalised form: %r" % (name, p.stdout))
        p = d.ctl("--json", "acl", "list", "IQN.2026-11.ORG.QUORATE:CAPS")
        for name in ("eui.02004567a425678d", "naa.52004567ba64678d",
                     "iqn.2026-11.org.quorate:upper"):
            expect(name in p.stdout, "acl list lacks %s: %s" % (name, p.stdout))
        expect("A425678D" not in p.stdout, "acl list keeps upper case: %s" % p.stdout)
        p = d.ctl("acl", "add", "iqn.2026-11.org.quorate:caps", "eui.02004567A425678", ok=False)
        expect(p.returncode != 0 and "16 hex digits" in p.stdout,
               "a 15-digit eui. name: exit %d: %s" % (p.returncode, p.stdout))
        log("ok: admin commands accept the RFC's example names and upper case")
        # Logins in any case match the lower-case ACL entries.
        for ini in ("EUI.02004567A425678D", "iqn.2026-11.org.quorate:UPPER"):
            c, st = login(d, ini, "IQN.2026-11.ORG.QUORATE:CAPS")
            expect(c is not None, "login of %s: 0x%04x" % (ini, st))
            p = d.ctl("--json", "session", "list")
            expect(ini.lower() in p.stdout and ini not in p.stdout,
                   "session list does not show the canonical name of %s: %s" % (ini, p.stdout))
            c.logout()
            c.close()
        st = status(d, INIT2, "iqn.2026-11.org.quorate:caps")
        expect(st == 0x0202, "an initiator outside the ACL: 0x%04x" % st)
        expect(re.search(r"InitiatorName 'EUI.02004567A425678D' normalised to "
                         r"'eui.02004567a425678d'", d.text()),
               "the login's normalisation is not logged")
        log("ok: upper-case logins match the lower-case ACL, normalisation logged")
        d.stop()
    finally:
        d.kill()


CASES = {
    "discovery": case_discovery,
    "idle": case_idle,
    "fds": case_fds,
    "logincap": case_logincap,
    "backoff": case_backoff,
    "mutual": case_mutual,
    "names": case_names,
}


def main():
    want = os.environ.get("ADMISSION_CASES")
    names = want.split(",") if want else list(CASES)
    failed = []
    for name in names:
        log("--- %s" % name)
        try:
            CASES[name]()
        except Exception as e:      # noqa: BLE001 - report every case
            if not isinstance(e, Fail):
                traceback.print_exc()
            log("FAIL %s: %s" % (name, e))
            failed.append(name)
    if failed:
        log("FAILED: %s" % ", ".join(failed))
        return 1
    log("all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
