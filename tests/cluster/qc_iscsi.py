#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The initiator side of the cluster tests (tests/cluster/*.sh): runs in the
initiator namespace and drives the nodes' portals with the raw iSCSI client
of the integration tests (tests/integration/iscsi_raw.py).

A session is named by SPEC = "HOST,INITIATOR,ISID" (ISID: 12 hex digits), so
that separate runs of this program use the same I_T nexus, as persistent
reservations need. All times are milliseconds of the wall clock (what
`date +%s%3N` prints in lib.sh), the one clock every process here shares.

Subcommands (each exits 0 when its checks pass, 1 with a message otherwise):
  io            write a block through one session, read it through others
  login-status  the final login status of one login (0xCCDD)
  pr-step       one PR OUT, then at once READ KEYS, READ RESERVATION and READ
                FULL STATUS through every reader: the bytes must be identical
  pr-race       many PR OUTs, each followed at once by READ KEYS through
                other nodes in parallel: every answer shows the PR OUT
  caw-count     sessions on several nodes add to one counter block with
                COMPARE AND WRITE at once: no increment may be lost
  stream        numbered WRITEs and PR OUT REGISTER AND IGNORE EXISTING KEY,
                one at a time, each logged with its send and completion time
  verify-stream every acknowledged op of stream logs is on the medium / in
                the PR state; refused ones are not; prints the I/O stall
  refused       after a go-file appears: READ, WRITE and PR OUT are refused
                with NOT READY, LOGICAL UNIT NOT ACCESSIBLE, TARGET PORT IN
                UNAVAILABLE STATE (04h/0Ch)
  rtpg          REPORT TARGET PORT GROUPS: each group's asymmetric access state
  fence         the partition scenario: an initiator writing numbered blocks
                through the node about to be cut off, the majority PREEMPTing
                its key; no write acknowledged after the PREEMPT's completion
  after-heal    the healed node answers with the majority's PR state
"""
import argparse
import json
import os
import struct
import sys
import threading
import time

sys.dont_write_bytecode = True      # nothing written into the source tree
sys.path.insert(0, os.environ.get("QT_SRCDIR") or
                os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import iscsi_raw as r  # noqa: E402

PORT = 3260
BLOCK = 512

GOOD = 0x00
CHECK_CONDITION = 0x02
RESERVATION_CONFLICT = 0x18

KEY_NOT_READY = 0x2
KEY_UNIT_ATTENTION = 0x6
ASC_LU_NOT_ACCESSIBLE_UNAVAILABLE = 0x040C

# SPC-4 6.16 PERSISTENT RESERVE OUT service actions, 6.15 PR IN.
PR_OUT = 0x5F
PR_IN = 0x5E
SA = {"register": 0, "reserve": 1, "release": 2, "clear": 3, "preempt": 4,
      "register-ignore": 6}
SA_READ_KEYS = 0
SA_READ_RESERVATION = 1
SA_READ_FULL_STATUS = 3
PRIN_NAMES = {SA_READ_KEYS: "READ KEYS", SA_READ_RESERVATION: "READ RESERVATION",
              SA_READ_FULL_STATUS: "READ FULL STATUS"}
TYPE_WR_EX_RO = 5

# REPORT TARGET PORT GROUPS (SPC-4 6.37) asymmetric access states.
ALUA_STATES = {0x0: "active/optimized", 0x1: "active/non-optimized", 0x2: "standby",
               0x3: "unavailable", 0xE: "offline", 0xF: "transitioning"}


class Fail(Exception):
    pass


class Lost(Exception):
    """The connection ended before the command's response arrived: the
    command may or may not have been executed."""


def now_ms():
    return int(time.time() * 1000)


def log(msg):
    print("qc_iscsi: %s" % msg, file=sys.stderr, flush=True)


def expect(cond, msg):
    if not cond:
        raise Fail(msg)


def sense_key_asc(sense):
    """(sense key, ASC << 8 | ASCQ) of fixed (70h/71h) or descriptor
    (72h/73h) sense data (SPC-4 4.5)."""
    if len(sense) >= 14 and sense[0] & 0x7F in (0x70, 0x71):
        return sense[2] & 0x0F, sense[12] << 8 | sense[13]
    if len(sense) >= 4 and sense[0] & 0x7F in (0x72, 0x73):
        return sense[1] & 0x0F, sense[2] << 8 | sense[3]
    return None, None


def outcome(st, sense):
    """A command's outcome as one word: GOOD, RESERVATION_CONFLICT,
    CHECK/KEY/ASCQ (hex), or STATUS/XX."""
    if st == GOOD:
        return "GOOD"
    if st == RESERVATION_CONFLICT:
        return "RESERVATION_CONFLICT"
    if st == CHECK_CONDITION:
        key, asc = sense_key_asc(sense)
        if key is None:
            return "CHECK/no-sense"
        return "CHECK/%x/%04x" % (key, asc)
    return "STATUS/%02x" % st


NOT_READY_UNAVAILABLE = "CHECK/%x/%04x" % (KEY_NOT_READY, ASC_LU_NOT_ACCESSIBLE_UNAVAILABLE)


def marker(tag, k):
    """The 512 bytes a numbered write puts on the medium."""
    s = ("quorate-cluster %s %d|" % (tag, k)).encode()
    return (s * (BLOCK // len(s) + 1))[:BLOCK]


def rw10(op, lba, blocks=1):
    return bytes([op, 0]) + struct.pack(">I", lba) + b"\0" + struct.pack(">H", blocks) + b"\0"


def prout_cdb(sa, rk=0, sark=0, ptype=0):
    """PR OUT with its basic parameter list (SPC-4 6.16.3)."""
    param = struct.pack(">QQ", rk, sark) + b"\0" * 8
    cdb = bytes([PR_OUT, sa, ptype]) + b"\0\0" + struct.pack(">I", len(param)) + b"\0"
    return cdb, param


def prin_cdb(sa, alloc=8192):
    return bytes([PR_IN, sa]) + b"\0" * 5 + struct.pack(">H", alloc) + b"\0"


class Session:
    """One session to one node's portal; SPEC "HOST,INITIATOR,ISID"."""

    def __init__(self, spec, opts):
        try:
            host, initiator, isid = spec.split(",")
            self.isid = bytes.fromhex(isid)
        except ValueError:
            raise Fail("bad session spec %r (HOST,INITIATOR,ISID)" % spec)
        expect(len(self.isid) == 6, "ISID of %r is not 6 bytes" % spec)
        self.host = host
        self.initiator = initiator
        self.target = opts.target
        self.chap = (opts.chap_user, read_secret(opts.chap_secret_file)) \
            if opts.chap_user else None
        self.name = "%s via %s" % (initiator.rsplit(":", 1)[-1], host)
        self.conn = None
        self.uas = []

    def connect(self, timeout=60.0):
        """Log in and drain the unit attentions of the new nexus; returns the
        outcome of the last TEST UNIT READY (GOOD on a serving node)."""
        self.close()
        c = r.Conn(self.host, PORT, timeout=timeout)
        c.isid = self.isid
        try:
            rsp = c.login(self.initiator, self.target, chap=self.chap)
        except (OSError, r.Closed, ValueError) as e:
            c.close()
            raise Lost("login of %s: %s" % (self.name, e))
        if rsp.status_class != r.STATUS_SUCCESS:
            c.close()
            raise Fail("login of %s refused: status 0x%02x%02x" %
                       (self.name, rsp.status_class, rsp.status_detail))
        self.conn = c
        st, sense, _ = self.cmd(bytes(6))
        return outcome(st, sense)

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def cmd(self, cdb, data_out=b"", read_len=0, ua_retries=16):
        """One command; a UNIT ATTENTION (the command was not executed) is
        recorded and the command sent again. Raises Lost when the
        connection ends first."""
        for _ in range(ua_retries + 1):
            try:
                st, sense, data = self.conn.command(cdb, data_out=data_out, read_len=read_len)
            except (OSError, r.Closed, ValueError) as e:
                self.close()
                raise Lost("%s: %s" % (self.name, e))
            key, asc = sense_key_asc(sense)
            if st == CHECK_CONDITION and key == KEY_UNIT_ATTENTION:
                self.uas.append("%04x" % asc)
                continue
            return st, sense, data
        raise Fail("%s: more than %d unit attentions in a row" % (self.name, ua_retries))

    def write(self, lba, data):
        st, sense, _ = self.cmd(rw10(0x2A, lba), data_out=data)
        return outcome(st, sense)

    def read(self, lba):
        st, sense, data = self.cmd(rw10(0x28, lba), read_len=BLOCK)
        expect(st == GOOD, "%s: READ(10) of LBA %d: %s" % (self.name, lba, outcome(st, sense)))
        return data

    def prout(self, sa, rk=0, sark=0, ptype=0):
        cdb, param = prout_cdb(SA[sa], rk, sark, ptype)
        st, sense, _ = self.cmd(cdb, data_out=param)
        return outcome(st, sense)

    def prin(self, sa):
        st, sense, data = self.cmd(prin_cdb(sa), read_len=8192)
        expect(st == GOOD, "%s: PR IN %s: %s" % (self.name, PRIN_NAMES[sa], outcome(st, sense)))
        return data

    def rtpg(self):
        """{target port group: state name} (MAINTENANCE IN / REPORT TARGET
        PORT GROUPS, length-only header format)."""
        cdb = bytes([0xA3, 0x0A]) + b"\0" * 4 + struct.pack(">I", 4096) + b"\0\0"
        st, sense, data = self.cmd(cdb, read_len=4096)
        expect(st == GOOD, "%s: REPORT TARGET PORT GROUPS: %s" % (self.name, outcome(st, sense)))
        groups, off = {}, 4
        end = 4 + struct.unpack(">I", data[:4])[0]
        while off + 8 <= min(end, len(data)):
            tpg = struct.unpack(">H", data[off + 2:off + 4])[0]
            groups[tpg] = ALUA_STATES.get(data[off] & 0x0F, "0x%x" % (data[off] & 0x0F))
            off += 8 + 4 * data[off + 7]
        return groups


def read_secret(path):
    with open(path) as f:
        return f.readline().rstrip("\n")


def read_keys(data):
    gen, n = struct.unpack(">II", data[:8])
    return gen, sorted(struct.unpack(">Q", data[8 + i:16 + i])[0] for i in range(0, n, 8))


def read_reservation(data):
    gen, n = struct.unpack(">II", data[:8])
    if n == 0:
        return gen, None, None
    return gen, struct.unpack(">Q", data[8:16])[0], data[21] & 0x0F


def full_status(data):
    """READ FULL STATUS (SPC-4 6.15.5) → [(key, holder, type, relative target
    port, TransportID's iSCSI name)]."""
    gen, n = struct.unpack(">II", data[:8])
    out, off = [], 8
    while off + 24 <= 8 + n:
        key = struct.unpack(">Q", data[off:off + 8])[0]
        flags = data[off + 12]
        ptype = data[off + 13] & 0x0F
        rtp = struct.unpack(">H", data[off + 18:off + 20])[0]
        dlen = struct.unpack(">I", data[off + 20:off + 24])[0]
        tid = data[off + 24:off + 24 + dlen]
        name = tid[4:].split(b"\0", 1)[0].decode(errors="replace") if len(tid) > 4 else ""
        out.append((key, bool(flags & 0x01), ptype, None if flags & 0x02 else rtp, name))
        off += 24 + dlen
    return gen, out


def nexus_name(s):
    """The TransportID name of a session's initiator port (SPC-4 7.6.4.6):
    InitiatorName,i,0xISID."""
    return "%s,i,0x%s" % (s.initiator, s.isid.hex())


# --- io, login-status ---------------------------------------------------------

def cmd_io(o):
    writer = Session(o.write, o)
    readers = [Session(s, o) for s in o.read]
    data = marker("io", o.lba)
    for s in [writer] + readers:
        st = s.connect()
        expect(st == "GOOD", "%s: TEST UNIT READY after login: %s" % (s.name, st))
    st = writer.write(o.lba, data)
    expect(st == "GOOD", "%s: WRITE(10) of LBA %d: %s" % (writer.name, o.lba, st))
    for s in [writer] + readers:
        expect(s.read(o.lba) == data, "%s reads LBA %d other than %s wrote it" %
               (s.name, o.lba, writer.name))
    log("LBA %d written through %s, read back through %s" %
        (o.lba, writer.host, ", ".join(s.host for s in [writer] + readers)))


def cmd_login_status(o):
    chap = (o.chap_user, read_secret(o.chap_secret_file)) if o.chap_user else None
    st = r.login_status(o.host, PORT, o.initiator, o.target, chap)
    print("0x%04x" % st)


# --- pr-step ------------------------------------------------------------------

def cmd_pr_step(o):
    """PR OUT through one session, then at once (no sleep, no retry) the
    three PR IN reports through every reader; identical bytes everywhere."""
    out = Session(o.out, o)
    readers = [Session(s, o) for s in o.read]
    for s in [out] + readers:
        st = s.connect()
        expect(st == "GOOD", "%s: TEST UNIT READY after login: %s" % (s.name, st))
    t0 = now_ms()
    st = out.prout(o.sa, o.rk, o.sark, o.type)
    t1 = now_ms()
    expect(st == "GOOD", "PR OUT %s through %s: %s" % (o.sa, out.name, st))
    views = {}
    for s in readers + [out]:
        views[s.name] = {sa: s.prin(sa) for sa in PRIN_NAMES}
    t2 = now_ms()
    first_name = readers[0].name if readers else out.name
    first = views[first_name]
    for name, v in views.items():
        for sa, data in v.items():
            expect(data == first[sa], "%s through %s differs from %s:\n  %s\n  %s" %
                   (PRIN_NAMES[sa], name, first_name, data.hex(), first[sa].hex()))
    gen, keys = read_keys(first[SA_READ_KEYS])
    _, rkey, rtype = read_reservation(first[SA_READ_RESERVATION])
    _, regs = full_status(first[SA_READ_FULL_STATUS])
    log("PR OUT %s through %s completed in %d ms; PR IN through %s %d ms later: "
        "generation %d, keys %s, reservation %s, registrants %s" %
        (o.sa, out.host, t1 - t0, ", ".join(s.host for s in readers), t2 - t1, gen,
         [hex(k) for k in keys], "none" if rkey is None else "%#x type %d" % (rkey, rtype),
         ["%#x%s port %s %s" % (k, " holder" if h else "", p, n) for k, h, _, p, n in regs]))
    if o.expect_keys is not None:
        want = sorted(int(k, 0) for k in o.expect_keys.split(",") if k)
        expect(keys == want, "READ KEYS: %s, expected %s" %
               ([hex(k) for k in keys], [hex(k) for k in want]))
    if o.expect_has_key is not None:
        expect(o.expect_has_key in keys, "READ KEYS: %s, without %#x" %
               ([hex(k) for k in keys], o.expect_has_key))
    if o.expect_reservation is not None:
        if o.expect_reservation == "none":
            expect(rkey is None, "READ RESERVATION: %#x held, expected none" % (rkey or 0))
        else:
            k, t = o.expect_reservation.split("/")
            expect((rkey, rtype) == (int(k, 0), int(t)),
                   "READ RESERVATION: %r/%r, expected %s" % (rkey, rtype, o.expect_reservation))
    for spec in o.expect_port or []:
        # KEY@PORT: the registration of KEY names relative target port PORT.
        k, p = spec.split("@")
        got = [port for key, _, _, port, _ in regs if key == int(k, 0)]
        expect(got and all(g == int(p) for g in got),
               "READ FULL STATUS: key %s registered through relative target ports %r, "
               "expected %s" % (k, got, p))


class Reader(threading.Thread):
    """Sends READ KEYS through its session the moment it is told to (an
    initiator on another path acting on the completion it just saw)."""

    def __init__(self, session):
        super().__init__(daemon=True)
        self.s = session
        self.go = threading.Event()
        self.done = threading.Event()
        self.quit = False
        self.result = None

    def run(self):
        while True:
            self.go.wait()
            self.go.clear()
            if self.quit:
                return
            try:
                self.result = read_keys(self.s.prin(SA_READ_KEYS))
            except (Fail, Lost) as e:
                self.result = e
            self.done.set()


def cmd_pr_race(o):
    """ROUNDS times: PR OUT REGISTER AND IGNORE EXISTING KEY with a new key
    through one session and, as soon as it completes, READ KEYS through
    every reader at once (one thread each, already waiting): every reader
    must see the new key. A node that answers PR OUT before the other
    members applied it loses this race some of the time."""
    out = Session(o.out, o)
    st = out.connect()
    expect(st == "GOOD", "%s: TEST UNIT READY after login: %s" % (out.name, st))
    readers = [Reader(Session(spec, o)) for spec in o.read]
    for rd in readers:
        st = rd.s.connect()
        expect(st == "GOOD", "%s: TEST UNIT READY after login: %s" % (rd.s.name, st))
        rd.start()
    misses, worst = [], 0
    t_start = now_ms()
    for k in range(1, o.rounds + 1):
        key = (o.key_base << 16) | k
        t0 = time.monotonic()
        st = out.prout("register-ignore", sark=key)
        expect(st == "GOOD", "round %d: PR OUT through %s: %s" % (k, out.name, st))
        worst = max(worst, time.monotonic() - t0)
        for rd in readers:
            rd.done.clear()
            rd.go.set()
        for rd in readers:
            expect(rd.done.wait(60), "round %d: READ KEYS through %s hangs" % (k, rd.s.name))
            if isinstance(rd.result, Exception):
                raise Fail("round %d: %s" % (k, rd.result))
            gen, keys = rd.result
            if key not in keys:
                misses.append("round %d: READ KEYS through %s right after the PR OUT completed "
                              "through %s: generation %d, keys %s, without the new key %#x" %
                              (k, rd.s.host, out.host, gen, [hex(x) for x in keys], key))
    for rd in readers:
        rd.quit = True
        rd.go.set()
    log("%d rounds of PR OUT through %s and READ KEYS through %s at once: %d stale answer(s); "
        "%d ms in all, slowest PR OUT %.1f ms" % (o.rounds, out.host, ", ".join(
            rd.s.host for rd in readers), len(misses), now_ms() - t_start, worst * 1000))
    for m in misses[:10]:
        log("FAIL: " + m)
    expect(not misses, "%d of %d x %d READ KEYS answers did not yet show the completed PR OUT" %
           (len(misses), o.rounds, len(readers)))


# --- caw-count ----------------------------------------------------------------

KEY_MISCOMPARE = 0xE


def counter_block(n, tag):
    """A block holding counter @n (first 8 bytes) and who wrote it."""
    return (struct.pack(">Q", n) + marker("caw %s" % tag, n))[:BLOCK]


class CawCounter(threading.Thread):
    """Adds one to the counter in block LBA, ROUNDS times, the way shared-disk
    cluster software takes a lock: read the block, COMPARE AND WRITE it from
    what was read to that plus one, and on MISCOMPARE read and try again."""

    def __init__(self, session, lba, rounds):
        super().__init__(daemon=True)
        self.s, self.lba, self.rounds = session, lba, rounds
        self.added = self.miscompares = 0
        self.error = None

    def run(self):
        try:
            cdb = bytes([0x89, 0]) + struct.pack(">Q", self.lba) + b"\0\0\0\x01\0\0"
            old = self.s.read(self.lba)
            while self.added < self.rounds:
                n = struct.unpack(">Q", old[:8])[0]
                st, sense, _ = self.s.cmd(cdb, data_out=old + counter_block(n + 1, self.s.host))
                if st == GOOD:
                    self.added += 1
                    old = counter_block(n + 1, self.s.host)
                    continue
                key, _ = sense_key_asc(sense)
                expect(st == CHECK_CONDITION and key == KEY_MISCOMPARE,
                       "%s: COMPARE AND WRITE of LBA %d: %s" %
                       (self.s.name, self.lba, outcome(st, sense)))
                self.miscompares += 1
                old = self.s.read(self.lba)
        except (Fail, Lost) as e:
            self.error = e


def cmd_caw_count(o):
    """Every session adds ROUNDS to one counter block at once through its
    node: the counter must end at the sum. COMPARE AND WRITE that is atomic
    only against commands of its own node lets two nodes both compare the
    same value and both write its successor, and the counter falls short."""
    sessions = [Session(spec, o) for spec in o.spec]
    for s in sessions:
        st = s.connect()
        expect(st == "GOOD", "%s: TEST UNIT READY after login: %s" % (s.name, st))
    st = sessions[0].write(o.lba, counter_block(0, "start"))
    expect(st == "GOOD", "%s: WRITE(10) of LBA %d: %s" % (sessions[0].name, o.lba, st))
    workers = [CawCounter(s, o.lba, o.rounds) for s in sessions]
    t0 = now_ms()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
        if w.error is not None:
            raise Fail(str(w.error))
    ms = now_ms() - t0
    want = o.rounds * len(workers)
    for s in sessions:
        got = struct.unpack(">Q", s.read(o.lba)[:8])[0]
        expect(got == want, "the counter read through %s is %d after %d acknowledged "
               "COMPARE AND WRITEs (lost updates: %d)" % (s.host, got, want, want - got))
    log("%d COMPARE AND WRITE increments through %s: counter %d everywhere, %d miscompares, "
        "%d ms (%.2f ms each)" % (want, ", ".join(s.host for s in sessions), want,
                                   sum(w.miscompares for w in workers), ms, ms / max(want, 1)))


# --- stream, verify-stream ----------------------------------------------------

def stream_key(ident, k):
    return (ident << 32) | k


def cmd_stream(o):
    """One initiator's stream of numbered ops, one at a time: WRITE(10) of
    LBA base + k (marker(tag, k)), and every pr_every-th op a PR OUT
    REGISTER AND IGNORE EXISTING KEY with key ident<<32|k. Each op is logged
    as "op K KIND LBA|KEY T0 T1 OUTCOME"; LOST: no response (the session
    ended), so it may or may not have been executed. Runs until the
    stop-file appears; a lost session is logged in again."""
    s = Session(o.spec, o)
    st = s.connect()
    expect(st == "GOOD", "%s: TEST UNIT READY after login: %s" % (s.name, st))
    logf = open(o.log, "w", buffering=1)
    logf.write("start %s nexus=%s t=%d\n" % (o.tag, nexus_name(s), now_ms()))
    t0 = now_ms()
    st = s.prout("register-ignore", sark=stream_key(o.ident, 0))
    logf.write("op 0 pr %#x %d %d %s\n" % (stream_key(o.ident, 0), t0, now_ms(), st))
    expect(st == "GOOD", "%s: first REGISTER: %s" % (s.name, st))
    k = 0
    while not os.path.exists(o.stop_file) and k + 1 < o.max:
        k += 1
        pr = o.pr_every and k % o.pr_every == 0
        if pr:
            what = "pr %#x" % stream_key(o.ident, k)
        else:
            what = "write %d" % (o.lba_base + k)
        t0 = now_ms()
        if s.conn is None:
            # Not sent at all when the login fails: logged as refused.
            try:
                s.connect()
                logf.write("login t=%d\n" % now_ms())
            except (Lost, Fail) as e:
                logf.write("login-failed t=%d %s\n" % (now_ms(), e))
                logf.write("op %d %s %d %d NOT-SENT\n" % (k, what, t0, now_ms()))
                time.sleep(0.2)
                continue
        try:
            if pr:
                st = s.prout("register-ignore", sark=stream_key(o.ident, k))
            else:
                st = s.write(o.lba_base + k, marker(o.tag, k))
        except Lost as e:
            st = "LOST"
            logf.write("lost t=%d %s\n" % (now_ms(), e))
        logf.write("op %d %s %d %d %s\n" % (k, what, t0, now_ms(), st))
        if st != "GOOD":
            time.sleep(0.05)
        elif o.interval:
            time.sleep(o.interval / 1000.0)
    logf.write("end ops=%d uas=%s t=%d\n" % (k, ",".join(sorted(set(s.uas))), now_ms()))
    s.close()


def parse_stream(path):
    ops, start = [], None
    with open(path) as f:
        for line in f:
            w = line.split()
            if w[0] == "start":
                start = dict(x.split("=", 1) for x in w[2:])
                start["tag"] = w[1]
            elif w[0] == "op":
                kind = w[2]
                arg = int(w[3], 0)
                ops.append({"k": int(w[1]), "kind": kind, "arg": arg, "t0": int(w[4]),
                            "t1": int(w[5]), "st": w[6]})
    expect(start is not None, "%s: no start line" % path)
    return start, ops


def stall(ops, t_event):
    """The longest time between two consecutive GOOD completions that spans
    or follows t_event, and how long after t_event the first op sent after it
    completed GOOD."""
    good = [op["t1"] for op in ops if op["st"] == "GOOD"]
    gaps = [b - a for a, b in zip(good, good[1:]) if b >= t_event]
    first = next((op["t1"] for op in ops if op["st"] == "GOOD" and op["t0"] >= t_event), None)
    return (max(gaps) if gaps else None), (None if first is None else first - t_event)


def cmd_verify_stream(o):
    """Every GOOD write of each stream log is on the medium, every refused
    one is not; each stream's nexus holds its last GOOD key (or the key of a
    LOST op after it); reports the stall after --t-event."""
    s = Session(o.spec, o)
    st = s.connect()
    expect(st == "GOOD", "%s: TEST UNIT READY after login: %s" % (s.name, st))
    _, regs = full_status(s.prin(SA_READ_FULL_STATUS))
    by_nexus = {}
    for key, _, _, _, name in regs:
        by_nexus.setdefault(name.lower(), []).append(key)
    failures = []
    for path in o.logs:
        start, ops = parse_stream(path)
        tag = start["tag"]
        good_w = bad_w = lost = 0
        for op in ops:
            if op["kind"] != "write":
                continue
            data = s.read(op["arg"])
            k = op["k"]
            if op["st"] == "GOOD":
                good_w += 1
                if data != marker(tag, k):
                    failures.append("%s: acknowledged write %d (LBA %d) is not on the medium" %
                                    (tag, k, op["arg"]))
            elif op["st"] == "LOST":
                lost += 1
            else:
                bad_w += 1
                if data != bytes(BLOCK):
                    failures.append("%s: write %d (LBA %d) was refused (%s) but is on the medium" %
                                    (tag, k, op["arg"], op["st"]))
        prs = [op for op in ops if op["kind"] == "pr"]
        good_pr = [op for op in prs if op["st"] == "GOOD"]
        last = good_pr[-1] if good_pr else None
        allowed = {last["arg"]} if last else set()
        allowed |= {op["arg"] for op in prs if op["st"] == "LOST" and
                    (last is None or op["k"] > last["k"])}
        have = by_nexus.get(start["nexus"].lower(), [])
        if len(have) != 1 or have[0] not in allowed:
            failures.append("%s: nexus %s holds keys %s; its last acknowledged REGISTER set "
                            "%s (allowed: %s)" % (tag, start["nexus"], [hex(k) for k in have],
                                                  hex(last["arg"]) if last else None,
                                                  sorted(hex(a) for a in allowed)))
        msg = "%s: %d writes acknowledged and on the medium, %d refused and not, %d lost; " \
              "%d of %d REGISTERs acknowledged, key %s held" % (
                  tag, good_w, bad_w, lost, len(good_pr), len(prs), [hex(k) for k in have])
        if o.t_event:
            longest, first = stall(ops, o.t_event)
            after = sum(1 for op in ops if op["st"] == "GOOD" and op["t0"] >= o.t_event)
            msg += "; after the event: longest gap between completions %s ms, first op sent " \
                   "after it completed %s ms after it, %d ops completed" % (longest, first, after)
            if after < o.min_after:
                failures.append("%s: only %d ops completed after the event (want >= %d)" %
                                (tag, after, o.min_after))
            print("stall %s %s %s" % (tag, longest, first))
        log(msg)
    for f in failures:
        log("FAIL: " + f)
    expect(not failures, "%d check(s) failed" % len(failures))


# --- refused, rtpg --------------------------------------------------------------

def wait_file(path, seconds):
    end = time.time() + seconds
    while not os.path.exists(path):
        expect(time.time() < end, "%s did not appear within %d s" % (path, seconds))
        time.sleep(0.05)


def cmd_refused(o):
    """Log in (the node serves), say so in ready-file, wait for go-file, then
    READ, WRITE and PR OUT (--write-only: the WRITE alone) must each be
    refused with 04h/0Ch, and the refused WRITE must not be on the medium
    (read back later by the test)."""
    s = Session(o.spec, o)
    st = s.connect()
    expect(st == "GOOD", "%s: TEST UNIT READY after login: %s" % (s.name, st))
    with open(o.ready_file, "w") as f:
        f.write("ready\n")
    wait_file(o.go_file, 300)
    results = {}
    for what in ("WRITE(10)",) if o.write_only else ("READ(10)", "WRITE(10)", "PR OUT"):
        for attempt in range(2):
            try:
                if s.conn is None:
                    log("%s: the target closed the session; logging in again" % s.name)
                    s.connect()
                if what == "READ(10)":
                    st, sense, _ = s.cmd(rw10(0x28, o.lba), read_len=BLOCK)
                    st = outcome(st, sense)
                elif what == "WRITE(10)":
                    st = s.write(o.lba, marker("refused", o.lba))
                else:
                    st = s.prout("register-ignore", sark=0xBAD)
                break
            except Lost as e:
                st = "LOST (%s)" % e
        results[what] = st
    log("%s: %s; unit attentions %s" % (s.name, ", ".join("%s %s" % kv for kv in results.items()),
                                        ",".join(s.uas) or "none"))
    bad = {k: v for k, v in results.items() if v != NOT_READY_UNAVAILABLE}
    expect(not bad, "through %s expected %s (NOT READY, 04h/0Ch) for every command, got %s" %
           (s.host, NOT_READY_UNAVAILABLE, bad))


def cmd_rtpg(o):
    s = Session(o.spec, o)
    s.connect()
    groups = s.rtpg()
    log("REPORT TARGET PORT GROUPS through %s: %s" % (s.host, ", ".join(
        "group %d %s" % kv for kv in sorted(groups.items()))))
    for spec in o.expect or []:
        tpg, state = spec.split("=")
        expect(groups.get(int(tpg)) == state, "through %s group %s is %s, expected %s" %
               (s.host, tpg, groups.get(int(tpg)), state))


# --- fence ---------------------------------------------------------------------

class Writer(threading.Thread):
    """Numbered writes through one session until stopped: op k writes LBA
    base + k, then (with a canary) the canary LBA, both with marker(tag, k).
    After the first refused write (the node stopped serving) it checks once
    that a PR OUT is refused too and what REPORT TARGET PORT GROUPS says.
    Each write is logged as "op K write LBA T0 T1 OUTCOME"."""

    def __init__(self, session, tag, base, canary, interval_ms, check_refusal, log_path):
        super().__init__(daemon=True)
        self.s = session
        self.log = open(log_path, "w", buffering=1)
        self.tag = tag
        self.base = base
        self.canary = canary
        self.interval = interval_ms / 1000.0
        self.check_refusal = check_refusal
        self.stop = threading.Event()
        self.ops = []           # (k, lba, t0, t1, outcome)
        self.refusal = None     # {"t": first refused write, "prout": ..., "rtpg": ...}
        self.error = None

    def one(self, k, lba):
        t0 = now_ms()
        try:
            if self.s.conn is None:
                self.s.connect()
            st = self.s.write(lba, marker(self.tag, k))
        except Lost:
            st = "LOST"
        except Fail as e:
            st = "FAIL(%s)" % e
        self.ops.append((k, lba, t0, now_ms(), st))
        self.log.write("op %d write %d %d %d %s\n" % self.ops[-1])
        return st

    def run(self):
        k = 0
        try:
            while not self.stop.is_set():
                k += 1
                st = self.one(k, self.base + k)
                if self.canary is not None and st == "GOOD":
                    st = self.one(k, self.canary)
                if st != "GOOD" and self.refusal is None and self.check_refusal:
                    self.refusal = {"t": self.ops[-1][3], "write": st}
                    try:
                        self.refusal["prout"] = self.s.prout("register-ignore", sark=0xBAD)
                        self.refusal["rtpg"] = self.s.rtpg()
                    except (Lost, Fail) as e:
                        self.refusal["error"] = str(e)
                time.sleep(self.interval)
        except Exception as e:      # reported by the main thread
            self.error = "%s: %r" % (self.tag, e)


def cmd_fence(o):
    """DESIGN §3 fencing, seen by the initiators. X writes numbered blocks
    through the node about to be isolated (and a shared canary block); W
    writes through the majority; Y (through the majority) registered,
    reserved Write Exclusive - Registrants Only. Once go-file appears (the
    test has just cut the node off) Y PREEMPTs X's key and, once that has
    completed, writes the canary. Then: no write of X completed GOOD after the
    PREEMPT completed, every GOOD write of X is on the medium, every refused
    one is not, the canary holds Y's data; W kept (or resumed) writing."""
    x = Session(o.isolated, o)
    y = Session(o.majority, o)
    w = Session(o.watch, o)
    for s in (x, y, w):
        st = s.connect()
        expect(st == "GOOD", "%s: TEST UNIT READY after login: %s" % (s.name, st))
    for s, key in ((y, o.key_y), (w, o.key_y), (x, o.key_x)):
        st = s.prout("register-ignore", sark=key)
        expect(st == "GOOD", "%s: REGISTER %#x: %s" % (s.name, key, st))
    st = y.prout("reserve", rk=o.key_y, ptype=TYPE_WR_EX_RO)
    expect(st == "GOOD", "%s: RESERVE: %s" % (y.name, st))
    xw = Writer(x, "X", o.x_base, o.canary, o.interval, True, o.log_prefix + "X.log")
    ww = Writer(w, "W", o.w_base, None, o.interval, False, o.log_prefix + "W.log")
    xw.start()
    ww.start()
    time.sleep(0.5)
    with open(o.ready_file, "w") as f:
        f.write("ready\n")
    wait_file(o.go_file, 120)
    t_go = now_ms()
    # The PREEMPT is sent at once; the majority answers it when its fencing
    # rules allow. A refusal (the majority is not serving yet while its
    # membership changes) is retried, as an initiator does.
    attempts = []
    while True:
        t0 = now_ms()
        st = y.prout("preempt", rk=o.key_y, sark=o.key_x, ptype=TYPE_WR_EX_RO)
        attempts.append((t0, now_ms(), st))
        if st == "GOOD":
            break
        expect(st == NOT_READY_UNAVAILABLE and now_ms() - t_go < 120000,
               "PREEMPT through %s: %s" % (y.host, st))
        time.sleep(0.1)
    t_preempt = attempts[-1][1]
    st = y.write(o.canary, marker("Y", 0))
    t_canary = now_ms()
    expect(st == "GOOD", "%s: canary WRITE after the PREEMPT: %s" % (y.name, st))
    log("PREEMPT sent %d ms after the cut, completed %d ms after it (%d attempt(s): %s)" % (
        attempts[0][0] - t_go, t_preempt - t_go, len(attempts),
        ", ".join("%s after %d ms" % (a[2], a[1] - a[0]) for a in attempts)))
    with open(o.preempted_file, "w") as f:
        f.write("preempted t=%d\n" % t_preempt)
    wait_file(o.stop_file, 300)
    xw.stop.set()
    ww.stop.set()
    xw.join(30)
    ww.join(30)
    expect(not xw.is_alive() and not ww.is_alive(), "a writer thread hangs")
    for t in (xw, ww):
        expect(t.error is None, "writer thread: %s" % t.error)

    failures = []
    x_good = [op for op in xw.ops if op[4] == "GOOD"]
    x_after = [op for op in x_good if op[3] >= t_preempt]
    last_good = x_good[-1][3] if x_good else None
    first_refused = next((op for op in xw.ops if op[4] != "GOOD" and op[2] >= t_go), None)
    if x_after:
        failures.append("%d write(s) through %s acknowledged after the PREEMPT completed "
                        "(at %d): %s" % (len(x_after), x.host, t_preempt, ", ".join(
                            "k=%d LBA %d acked at +%d ms" % (op[0], op[1], op[3] - t_preempt)
                            for op in x_after[:5])))
    refusals = sorted({op[4] for op in xw.ops if op[4] != "GOOD" and op[2] >= t_go})
    # The medium, read through the majority.
    on_medium = not_on_medium = lost = 0
    for k, lba, t0, t1, st in xw.ops:
        if lba == o.canary:
            continue
        data = y.read(lba)
        if st == "GOOD":
            if data != marker("X", k):
                failures.append("X write %d (LBA %d) was acknowledged but is not on the "
                                "medium" % (k, lba))
            on_medium += 1
        elif st == "LOST":
            lost += 1
        else:
            if data != bytes(BLOCK):
                failures.append("X write %d (LBA %d) was refused (%s) but is on the medium" %
                                (k, lba, st))
            not_on_medium += 1
    canary = y.read(o.canary)
    if canary != marker("Y", 0):
        failures.append("the canary LBA %d no longer holds the majority's data written after "
                        "the PREEMPT: %r" % (o.canary, canary[:40]))
    w_good = [op for op in ww.ops if op[4] == "GOOD"]
    w_refused = sorted({op[4] for op in ww.ops if op[4] != "GOOD"})
    w_refused_n = sum(1 for op in ww.ops if op[4] != "GOOD")
    w_after = sum(1 for op in w_good if op[2] >= t_preempt)
    w_longest, w_first = stall([{"t0": op[2], "t1": op[3], "st": op[4]} for op in ww.ops], t_go)
    if w_after == 0:
        failures.append("no write through the majority (%s) completed after the PREEMPT" % w.host)
    summary = {
        "t_go": t_go, "t_preempt_sent": attempts[0][0], "t_preempt": t_preempt,
        "t_canary": t_canary, "preempt_attempts": len(attempts),
        "x_last_good": last_good, "x_last_good_sent": x_good[-1][2] if x_good else t_go,
        "x_first_refused": first_refused[3] if first_refused else None,
        "x_first_refused_outcome": first_refused[4] if first_refused else None,
        "x_refusals": refusals, "x_writes": len(xw.ops), "x_on_medium": on_medium,
        "x_refused_not_on_medium": not_on_medium, "x_lost": lost,
        "refusal": xw.refusal, "w_writes": len(ww.ops), "w_after_preempt": w_after,
        "w_refused": w_refused_n, "w_refusals": w_refused,
        "w_longest_gap": w_longest, "w_first_after_cut": w_first,
        "uas_x": sorted(set(x.uas)), "uas_w": sorted(set(w.uas)), "uas_y": sorted(set(y.uas)),
    }
    with open(o.summary, "w") as f:
        json.dump(summary, f, indent=1, sort_keys=True)
    log("X through %s: %d writes, last acknowledged %s ms after the cut, first refused %s ms "
        "after it (%s), refusals %s; %d on the medium, %d refused and not, %d lost" % (
            x.host, len(xw.ops), None if last_good is None else last_good - t_go,
            None if first_refused is None else first_refused[3] - t_go,
            first_refused[4] if first_refused else "-", refusals, on_medium, not_on_medium,
            lost))
    log("W through %s: %d writes, %d after the PREEMPT, %d refused %s, longest gap %s ms" % (
        w.host, len(ww.ops), w_after, w_refused_n, w_refused, w_longest))
    if xw.refusal is None:
        failures.append("no write through %s was refused after the cut" % x.host)
    else:
        log("after the first refused write through %s: PR OUT %s, REPORT TARGET PORT GROUPS "
            "%s%s" % (x.host, xw.refusal.get("prout"), xw.refusal.get("rtpg"),
                      " (%s)" % xw.refusal["error"] if "error" in xw.refusal else ""))
    for f in failures:
        log("FAIL: " + f)
    expect(not failures, "%d check(s) failed" % len(failures))


def cmd_after_heal(o):
    """Through the healed node: the PR state is the majority's byte for byte,
    and the preempted initiator's writes get RESERVATION CONFLICT."""
    x = Session(o.isolated, o)
    ref = Session(o.majority, o)
    x.connect()
    ref.connect()
    for sa in PRIN_NAMES:
        a, b = x.prin(sa), ref.prin(sa)
        expect(a == b, "%s through %s differs from the majority's (%s):\n  %s\n  %s" %
               (PRIN_NAMES[sa], x.host, ref.host, a.hex(), b.hex()))
    _, keys = read_keys(ref.prin(SA_READ_KEYS))
    expect(o.key_x not in keys, "the preempted key %#x is still registered: %s" %
           (o.key_x, [hex(k) for k in keys]))
    st = x.write(o.lba, marker("X-after-heal", 0))
    expect(st == "RESERVATION_CONFLICT", "a write of the preempted initiator through %s: %s" %
           (x.host, st))
    log("through %s after healing: PR state identical to %s's, keys %s, the preempted "
        "initiator's write gets %s (unit attentions seen: %s)" %
        (x.host, ref.host, [hex(k) for k in keys], st, ",".join(x.uas) or "none"))


# --- lu-reset -------------------------------------------------------------------

OP_TMF_REQ = 0x02
OP_TMF_RSP = 0x22
TMF_LUN_RESET = 5


def cmd_lu_reset(o):
    """LOGICAL UNIT RESET through --by; the moment its response arrives, a
    TEST UNIT READY through each --read session must report the reset
    (29/03): the reset is complete on every node (SAM-5 7.7)."""
    by = Session(o.by, o)
    readers = [Session(s, o) for s in o.read]
    for s in [by] + readers:
        st = s.connect()
        expect(st == "GOOD", "%s: TEST UNIT READY after login: %s" % (s.name, st))
        s.uas = []
    c = by.conn
    hdr = r.bhs(OP_TMF_REQ | r.IMMEDIATE, r.FINAL | TMF_LUN_RESET, itt=c.next_itt(),
                rest=struct.pack(">IIIII", r.RESERVED_TAG, c.cmdsn, c.expstatsn, 0, 0))
    t0 = now_ms()
    c.send_pdu(hdr)
    while True:
        pdu = c.recv_pdu()
        if pdu.opcode == OP_TMF_RSP:
            break
    t1 = now_ms()
    expect(pdu.bhs[2] == 0, "%s: LUN RESET answered %d" % (by.name, pdu.bhs[2]))
    for s in readers:
        st, sense, _ = s.cmd(bytes(6))
        expect("2903" in s.uas,
               "%s: TEST UNIT READY right after the LUN RESET through %s completed: %s, "
               "unit attentions %s (want 29/03)" % (s.name, by.host, outcome(st, sense),
                                                     s.uas or "none"))
    log("LUN RESET through %s answered in %d ms; 29/03 already pending through %s" %
        (by.host, t1 - t0, ", ".join(s.host for s in readers)))


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--target", required=True)
    ap.add_argument("--chap-user")
    ap.add_argument("--chap-secret-file")
    sub = ap.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("io")
    p.add_argument("--write", required=True)
    p.add_argument("--read", action="append", default=[])
    p.add_argument("--lba", type=int, required=True)

    p = sub.add_parser("login-status")
    p.add_argument("host")
    p.add_argument("initiator")

    p = sub.add_parser("pr-step")
    p.add_argument("--out", required=True)
    p.add_argument("--read", action="append", default=[])
    p.add_argument("--sa", choices=sorted(SA), required=True)
    p.add_argument("--rk", type=lambda v: int(v, 0), default=0)
    p.add_argument("--sark", type=lambda v: int(v, 0), default=0)
    p.add_argument("--type", type=int, default=0)
    p.add_argument("--expect-keys")
    p.add_argument("--expect-has-key", type=lambda v: int(v, 0))
    p.add_argument("--expect-reservation")
    p.add_argument("--expect-port", action="append")

    p = sub.add_parser("lu-reset")
    p.add_argument("--by", required=True)
    p.add_argument("--read", action="append", default=[])

    p = sub.add_parser("pr-race")
    p.add_argument("--out", required=True)
    p.add_argument("--read", action="append", default=[])
    p.add_argument("--rounds", type=int, default=100)
    p.add_argument("--key-base", type=lambda v: int(v, 0), default=0x7ace)

    p = sub.add_parser("caw-count")
    p.add_argument("--spec", action="append", required=True)
    p.add_argument("--lba", type=int, required=True)
    p.add_argument("--rounds", type=int, default=100)

    p = sub.add_parser("stream")
    p.add_argument("--spec", required=True)
    p.add_argument("--tag", required=True)
    p.add_argument("--ident", type=int, required=True)
    p.add_argument("--lba-base", type=int, required=True)
    p.add_argument("--max", type=int, default=50000)
    p.add_argument("--pr-every", type=int, default=3)
    p.add_argument("--interval", type=int, default=0)
    p.add_argument("--stop-file", required=True)
    p.add_argument("--log", required=True)

    p = sub.add_parser("verify-stream")
    p.add_argument("--spec", required=True)
    p.add_argument("--t-event", type=int, default=0)
    p.add_argument("--min-after", type=int, default=1)
    p.add_argument("logs", nargs="+")

    p = sub.add_parser("refused")
    p.add_argument("--spec", required=True)
    p.add_argument("--lba", type=int, required=True)
    p.add_argument("--ready-file", required=True)
    p.add_argument("--go-file", required=True)
    p.add_argument("--write-only", action="store_true")

    p = sub.add_parser("rtpg")
    p.add_argument("--spec", required=True)
    p.add_argument("--expect", action="append")

    p = sub.add_parser("fence")
    p.add_argument("--isolated", required=True)
    p.add_argument("--majority", required=True)
    p.add_argument("--watch", required=True)
    p.add_argument("--key-x", type=lambda v: int(v, 0), default=0x5831)
    p.add_argument("--key-y", type=lambda v: int(v, 0), default=0x5931)
    p.add_argument("--x-base", type=int, required=True)
    p.add_argument("--w-base", type=int, required=True)
    p.add_argument("--canary", type=int, required=True)
    p.add_argument("--interval", type=int, default=5)
    p.add_argument("--ready-file", required=True)
    p.add_argument("--go-file", required=True)
    p.add_argument("--preempted-file", required=True)
    p.add_argument("--stop-file", required=True)
    p.add_argument("--summary", required=True)
    p.add_argument("--log-prefix", required=True)

    p = sub.add_parser("after-heal")
    p.add_argument("--isolated", required=True)
    p.add_argument("--majority", required=True)
    p.add_argument("--key-x", type=lambda v: int(v, 0), default=0x5831)
    p.add_argument("--lba", type=int, required=True)

    o = ap.parse_args()
    try:
        {"io": cmd_io, "login-status": cmd_login_status, "pr-step": cmd_pr_step,
         "pr-race": cmd_pr_race, "lu-reset": cmd_lu_reset, "caw-count": cmd_caw_count,
         "stream": cmd_stream, "verify-stream": cmd_verify_stream, "refused": cmd_refused,
         "rtpg": cmd_rtpg, "fence": cmd_fence, "after-heal": cmd_after_heal}[o.cmd](o)
    except (Fail, Lost) as e:
        log("FAIL: %s" % e)
        sys.exit(1)


if __name__ == "__main__":
    main()
