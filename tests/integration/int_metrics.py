#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""I/O statistics and the Prometheus endpoint against a real quorated (demo
LU) with [metrics] listen = 127.0.0.1:PORT and two initiators on raw
sockets that count every SCSI command they send and how it ended:

1. `status` (and --json) reports metrics_url; GET / is 404, POST /metrics 405;
2. initiator A: reads and writes of 4 KiB, INQUIRY, an opcode nobody knows,
   a read past the end; initiator B logs in; A registers and reserves Write
   Exclusive, B's write conflicts and its read runs;
3. /metrics parses as the text format strictly (HELP and TYPE once per
   family, every sample in its family, no series twice, histogram buckets
   cumulative with +Inf equal to _count), and `promtool check metrics`
   accepts it (skipped with a message where promtool is not installed:
   Debian package prometheus);
4. each session's counters are exactly what its initiator counted, the
   LU's moved by exactly the sum of both, every command has one latency
   sample, the node gauges (node id, quorate, serving, sessions, PR
   generation) are right, and `stats --json` says the same as /metrics;
5. a daemon without [metrics] reports metrics_url null ("off") and refuses to
   start when the metrics address is taken, naming it.

Port: QT_PORT_BASE (default 14500) + 245 for the portal and the metrics
port. Exit 0 pass, 1 fail.
"""
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import urllib.error
import urllib.request
from decimal import Decimal

sys.path.insert(0, os.environ.get("QT_SRCDIR") or os.path.dirname(os.path.abspath(__file__)))
import iscsi_raw as r  # noqa: E402
from qt_daemon import Daemon, DaemonError, expect, port_free, run_test, HOST, TARGET  # noqa: E402

PORT_OFFSET = 245
INIT_A = "iqn.2026-11.org.quorate:metrics-a"
INIT_B = "iqn.2026-11.org.quorate:metrics-b"
GOOD = 0x00
CHECK_CONDITION = 0x02
RESERVATION_CONFLICT = 0x18
BLOCK = 512
LUN_BLOCKS = (1 << 30) // BLOCK          # the demo LU: 1 GiB
N_READS = 7
N_WRITES = 5
IO_BLOCKS = 8                            # 4 KiB per command
KINDS = ("read", "write", "other")
# SPC-4 table 27 (0Fh: COMPLETED in SPC-5), as daemon/base/io_stats.h names them.
SENSE_KEYS = ("no_sense", "recovered_error", "not_ready", "medium_error", "hardware_error",
              "illegal_request", "unit_attention", "data_protect", "blank_check",
              "vendor_specific", "copy_aborted", "aborted_command", "obsolete_0c",
              "volume_overflow", "miscompare", "completed")
PR_OUT = 0x5F
SA_REGISTER = 0
SA_RESERVE = 1
TYPE_WR_EX = 1
KEY_A = 0xA1


def log(msg):
    print("metrics: %s" % msg, file=sys.stderr, flush=True)


def zero_stats():
    return {"commands": dict.fromkeys(KINDS, 0), "read_bytes": 0, "written_bytes": 0,
            "errors": dict.fromkeys(SENSE_KEYS, 0), "reservation_conflicts": 0}


def sense_key(sense):
    expect(len(sense) >= 3, "CHECK CONDITION without sense data")
    return sense[1] & 0x0F if sense[0] & 0x7F in (0x72, 0x73) else sense[2] & 0x0F


class Initiator:
    """A session that keeps the counters the target should keep for it."""

    def __init__(self, port, name):
        self.name = name
        self.c = r.Conn(HOST, port)
        rsp = self.c.login(name, TARGET)
        expect(rsp.status_class == r.STATUS_SUCCESS, "login of %s failed: %r" % (name, rsp))
        self.stats = zero_stats()
        self.sent = 0

    def cmd(self, kind, cdb, data_out=b"", read_len=0):
        st, sense, data = self.c.command(cdb, data_out, read_len)
        s = self.stats
        s["commands"][kind] += 1
        self.sent += 1
        if st == GOOD and kind == "read":
            s["read_bytes"] += len(data)
        elif st == GOOD and kind == "write":
            s["written_bytes"] += len(data_out)
        elif st == CHECK_CONDITION:
            s["errors"][SENSE_KEYS[sense_key(sense)]] += 1
        elif st == RESERVATION_CONFLICT:
            s["reservation_conflicts"] += 1
        return st, sense, data

    def drain_ua(self):
        """TEST UNIT READY until GOOD (a new nexus starts with 29/00)."""
        for _ in range(8):
            if self.cmd("other", bytes(6))[0] == GOOD:
                return
        raise AssertionError("TEST UNIT READY never became GOOD for %s" % self.name)

    def rw(self, write, lba, blocks=IO_BLOCKS):
        cdb = struct.pack(">BBIBHB", 0x2A if write else 0x28, 0, lba, 0, blocks, 0)
        if write:
            return self.cmd("write", cdb, data_out=bytes([lba & 0xFF]) * (blocks * BLOCK))
        return self.cmd("read", cdb, read_len=blocks * BLOCK)

    def prout(self, sa, rk=0, sark=0, ptype=0):
        param = struct.pack(">QQIBBH", rk, sark, 0, 0, 0, 0)
        cdb = struct.pack(">BBBHIB", PR_OUT, sa, ptype, 0, len(param), 0)
        return self.cmd("other", cdb, data_out=param)

    def isid_hex(self):
        return self.c.isid.hex()


# ---- the text format, strictly -------------------------------------------------------

SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')


def parse_labels(text):
    labels, pos = {}, 0
    while pos < len(text):
        m = LABEL_RE.match(text, pos)
        expect(m is not None, "bad label list {%s}" % text)
        expect(m.group(1) not in labels, "label %s twice in {%s}" % (m.group(1), text))
        labels[m.group(1)] = re.sub(r'\\(.)', lambda e: "\n" if e.group(1) == "n" else e.group(1),
                                    m.group(2))
        pos = m.end()
    return labels


def parse_exposition(text):
    """{family: {"type", "help", "samples": [(name, labels, Decimal or inf)]}}."""
    fams, cur, seen = {}, None, set()
    expect(text.endswith("\n"), "exposition does not end with a newline")
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name, _, help_ = line[7:].partition(" ")
            expect(name not in fams, "family %s twice" % name)
            expect(help_ != "", "family %s has no help" % name)
            fams[name] = {"help": help_, "type": None, "samples": []}
            cur = name
            continue
        if line.startswith("# TYPE "):
            name, _, typ = line[7:].partition(" ")
            expect(name == cur and fams[cur]["type"] is None and not fams[cur]["samples"],
                   "TYPE of %s not right after its HELP" % name)
            expect(typ in ("counter", "gauge", "histogram"), "type %s of %s" % (typ, name))
            fams[cur]["type"] = typ
            continue
        expect(not line.startswith("#") and line != "", "unexpected line %r" % line)
        m = SAMPLE_RE.match(line)
        expect(m is not None, "bad sample line %r" % line)
        name, labels = m.group(1), parse_labels(m.group(3) or "")
        expect(cur is not None, "sample before any family: %r" % line)
        typ = fams[cur]["type"]
        allowed = {cur} if typ != "histogram" else {cur + "_bucket", cur + "_sum", cur + "_count"}
        expect(name in allowed, "sample %s outside its family %s" % (name, cur))
        expect(typ != "counter" or cur.endswith("_total"), "counter %s without _total" % cur)
        key = (name, tuple(sorted(labels.items())))
        expect(key not in seen, "series twice: %r" % line)
        seen.add(key)
        value = Decimal("Infinity") if m.group(4) == "+Inf" else Decimal(m.group(4))
        fams[cur]["samples"].append((name, labels, value))
    for name, fam in fams.items():
        expect(name.startswith("quorate_"), "metric %s without the quorate_ prefix" % name)
        if fam["type"] == "histogram":
            check_histogram(name, fam["samples"])
    return fams


def check_histogram(name, samples):
    series = {}
    for sname, labels, value in samples:
        rest = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
        h = series.setdefault(rest, {"buckets": [], "sum": None, "count": None})
        if sname.endswith("_bucket"):
            h["buckets"].append((Decimal("Infinity") if labels["le"] == "+Inf"
                                 else Decimal(labels["le"]), value))
        elif sname.endswith("_sum"):
            h["sum"] = value
        else:
            h["count"] = value
    for rest, h in series.items():
        les = [le for le, _ in h["buckets"]]
        counts = [c for _, c in h["buckets"]]
        expect(les == sorted(les) and les[-1] == Decimal("Infinity"),
               "%s%s: bounds not ascending to +Inf" % (name, rest))
        expect(counts == sorted(counts), "%s%s: buckets not cumulative" % (name, rest))
        expect(h["count"] == counts[-1], "%s%s: _count != +Inf bucket" % (name, rest))
        expect(h["sum"] is not None and h["sum"] >= 0, "%s%s: no _sum" % (name, rest))


def value(fams, family, series=None, **labels):
    """The one sample of @family (@series: its _bucket/_sum/_count) with @labels."""
    name = series or family
    found = [v for n, lab, v in fams[family]["samples"]
             if n == name and all(lab.get(k) == str(x) for k, x in labels.items())]
    expect(len(found) == 1, "%d samples of %s%r" % (len(found), name, labels))
    return found[0]


def metrics_of(fams, prefix, **who):
    """The struct io_stats of one LU or session as /metrics shows it."""
    s = zero_stats()
    for k in KINDS:
        s["commands"][k] = int(value(fams, prefix + "commands_total", kind=k, **who))
    for k in SENSE_KEYS:
        s["errors"][k] = int(value(fams, prefix + "errors_total", sense_key=k, **who))
    s["read_bytes"] = int(value(fams, prefix + "read_bytes_total", **who))
    s["written_bytes"] = int(value(fams, prefix + "written_bytes_total", **who))
    s["reservation_conflicts"] = int(value(fams, prefix + "reservation_conflicts_total", **who))
    hist = prefix + "latency_seconds"
    s["latency_count"] = int(value(fams, hist, hist + "_count", **who))
    s["latency_sum"] = value(fams, hist, hist + "_sum", **who)
    return s


def counters(s):
    return {k: s[k] for k in ("commands", "read_bytes", "written_bytes", "errors",
                              "reservation_conflicts")}


def http(url, method="GET"):
    req = urllib.request.Request(url, method=method, data=b"x=1" if method == "POST" else None)
    try:
        with urllib.request.urlopen(req, timeout=10) as rsp:
            return rsp.status, rsp.headers.get("Content-Type"), rsp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), e.read().decode()


def ctl_json(d, *args):
    res = d.ctl("--json", *args)
    expect(res.returncode == 0, "quoratectl %s: %s" % (" ".join(args), res.stderr.strip()))
    return json.loads(res.stdout)


def free_port(d):
    base = int(os.environ.get("QT_PORT_BASE", "14500")) + PORT_OFFSET
    port = next((p for p in range(base, base + 10) if p != d.port and port_free(p)), None)
    expect(port is not None, "no second free port in %d..%d" % (base, base + 9))
    return port


def promtool(text):
    tool = shutil.which("promtool")
    if tool is None:
        log("SKIP promtool check: promtool is not installed (Debian package prometheus)")
        return
    res = subprocess.run([tool, "check", "metrics"], input=text, capture_output=True,
                         text=True, timeout=60)
    expect(res.returncode == 0 and not res.stdout.strip() and not res.stderr.strip(),
           "promtool check metrics: rc %d: %s%s" % (res.returncode, res.stdout, res.stderr))
    log("promtool check metrics: ok")


def traffic(d):
    a = Initiator(d.port, INIT_A)
    a.drain_ua()
    for i in range(N_READS):
        st, _, data = a.rw(False, 64 * i)
        expect(st == GOOD and len(data) == IO_BLOCKS * BLOCK, "read %d: status %#x" % (i, st))
    for i in range(N_WRITES):
        st, _, _ = a.rw(True, 1000 + 64 * i)
        expect(st == GOOD, "write %d: status %#x" % (i, st))
    st, _, _ = a.cmd("other", bytes([0x12, 0, 0, 0, 96, 0]), read_len=96)
    expect(st == GOOD, "INQUIRY: status %#x" % st)
    st, sense, _ = a.cmd("other", bytes([0xC0]) + bytes(5))
    expect(st == CHECK_CONDITION and sense_key(sense) == 0x5, "unknown opcode: %#x" % st)
    st, sense, _ = a.rw(False, LUN_BLOCKS - 1, 2)
    expect(st == CHECK_CONDITION and sense_key(sense) == 0x5, "read past the end: %#x" % st)

    b = Initiator(d.port, INIT_B)
    b.drain_ua()
    expect(a.prout(SA_REGISTER, sark=KEY_A)[0] == GOOD, "REGISTER failed")
    expect(a.prout(SA_RESERVE, rk=KEY_A, ptype=TYPE_WR_EX)[0] == GOOD, "RESERVE failed")
    st, _, _ = b.rw(True, 5000)
    expect(st == RESERVATION_CONFLICT, "B's write under A's reservation: %#x" % st)
    st, _, _ = b.rw(False, 5000)
    expect(st == GOOD, "B's read under Write Exclusive: %#x" % st)
    return a, b


def lu_of(stats, lun=0):
    found = [x for x in stats["luns"] if x["target"] == TARGET and x["lun"] == lun]
    expect(len(found) == 1, "stats --json has %d entries for LUN %d" % (len(found), lun))
    return found[0]


def check(d, url):
    before = lu_of(ctl_json(d, "stats"))
    expect(ctl_json(d, "stats")["sessions"] == [], "sessions before any login")
    a, b = traffic(d)

    status, ctype, text = http(url)
    expect(status == 200, "GET %s: %d" % (url, status))
    expect(ctype.startswith("text/plain; version=0.0.4"), "Content-Type %s" % ctype)
    stats = ctl_json(d, "stats")
    fams = parse_exposition(text)
    promtool(text)

    # The node.
    expect(value(fams, "quorate_node_id") == 1, "node id")
    expect(value(fams, "quorate_node_quorate") == 1, "quorate")
    expect(value(fams, "quorate_node_serving") == 1, "serving")
    expect(value(fams, "quorate_sessions") == 2, "sessions gauge")
    expect(value(fams, "quorate_node_info", node_id=1) == 1, "node_info")
    expect(value(fams, "quorate_lun_online", target=TARGET, lun=0) == 1, "LUN online")
    expect(value(fams, "quorate_lun_pr_generation", target=TARGET, lun=0) == 1,
           "PRgeneration after one REGISTER")
    expect(value(fams, "quorate_lun_size_bytes", target=TARGET, lun=0) == 1 << 30, "LUN size")

    # Each session: exactly what its initiator counted, and so says stats --json.
    for ini in (a, b):
        who = {"target": TARGET, "initiator": ini.name, "isid": ini.isid_hex(),
               "tsih": ini.c.tsih}
        got = metrics_of(fams, "quorate_session_", **who)
        expect(counters(got) == ini.stats, "%s: /metrics %s, the initiator counted %s"
               % (ini.name, counters(got), ini.stats))
        expect(got["latency_count"] == ini.sent, "%s: %d latency samples for %d commands"
               % (ini.name, got["latency_count"], ini.sent))
        js = [s for s in stats["sessions"] if s["tsih"] == ini.c.tsih]
        expect(len(js) == 1 and js[0]["initiator"] == ini.name and
               js[0]["isid"] == ini.isid_hex(), "stats --json session of %s" % ini.name)
        expect(counters(js[0]) == ini.stats, "%s: stats --json %s" % (ini.name, counters(js[0])))
        expect(js[0]["latency"]["count"] == ini.sent and
               Decimal(js[0]["latency"]["sum_ns"]) / Decimal(10**9) == got["latency_sum"],
               "%s: latency in stats --json and /metrics differ" % ini.name)
    log("sessions: A %d commands, B %d, as counted" % (a.sent, b.sent))

    # The LU: moved by both sessions together, and no more.
    lu = metrics_of(fams, "quorate_lun_", target=TARGET, lun=0)
    want = zero_stats()
    for ini in (a, b):
        for k in KINDS:
            want["commands"][k] += ini.stats["commands"][k]
        for k in SENSE_KEYS:
            want["errors"][k] += ini.stats["errors"][k]
        for k in ("read_bytes", "written_bytes", "reservation_conflicts"):
            want[k] += ini.stats[k]
    moved = zero_stats()
    for k in KINDS:
        moved["commands"][k] = lu["commands"][k] - before["commands"][k]
    for k in SENSE_KEYS:
        moved["errors"][k] = lu["errors"][k] - before["errors"][k]
    for k in ("read_bytes", "written_bytes", "reservation_conflicts"):
        moved[k] = lu[k] - before[k]
    expect(moved == want, "LU moved by %s, the initiators sent %s" % (moved, want))
    expect(lu["latency_count"] - before["latency"]["count"] == a.sent + b.sent,
           "LU latency samples")
    expect(want["commands"]["read"] == N_READS + 2 and want["commands"]["write"] == N_WRITES + 1
           and want["read_bytes"] == (N_READS + 1) * IO_BLOCKS * BLOCK
           and want["written_bytes"] == N_WRITES * IO_BLOCKS * BLOCK
           and want["reservation_conflicts"] == 1 and want["errors"]["illegal_request"] == 2,
           "the initiators' own counts are off: %s" % want)
    js = lu_of(stats)
    expect(counters(js) == counters(lu), "LU: stats --json %s, /metrics %s"
           % (counters(js), counters(lu)))
    expect(js["latency"]["count"] == lu["latency_count"] and
           Decimal(js["latency"]["sum_ns"]) / Decimal(10**9) == lu["latency_sum"],
           "LU latency: stats --json and /metrics differ")
    # Buckets in stats --json are per bucket; /metrics cumulative, le in seconds.
    cum = 0
    for bk in js["latency"]["buckets"]:
        cum += bk["count"]
        le = "+Inf" if bk["le_us"] is None else str(Decimal(bk["le_us"]) / Decimal(10**6))
        expect(value(fams, "quorate_lun_latency_seconds", "quorate_lun_latency_seconds_bucket",
                     target=TARGET, lun=0, le=le) == cum, "bucket le=%s" % le)
    expect(cum == js["latency"]["count"], "JSON buckets do not add up to the count")
    log("LU: %s commands, as sent" % want["commands"])

    # The human table names both.
    res = d.ctl("stats")
    expect(res.returncode == 0 and INIT_A in res.stdout and INIT_B in res.stdout and
           TARGET in res.stdout, "stats table: %s%s" % (res.stdout, res.stderr))
    expect(d.ctl("stats", "iqn.2026-11.org.quorate:nosuch").returncode == 1,
           "stats of an unknown target")
    a.c.close()
    b.c.close()


def run(d):
    port = free_port(d)
    url = "http://%s:%d/metrics" % (HOST, port)
    d.config = "[metrics]\nlisten = %s:%d\n" % (HOST, port)
    d.start()
    expect(ctl_json(d, "status").get("metrics_url") == url, "status metrics_url")
    res = d.ctl("status")
    expect(res.returncode == 0 and re.search(r"^metrics: +%s$" % re.escape(url), res.stdout, re.M),
           "status table: %s%s" % (res.stdout, res.stderr))
    status, _, _ = http("http://%s:%d/" % (HOST, port))
    expect(status == 404, "GET /: %d" % status)
    status, _, _ = http(url, "POST")
    expect(status == 405, "POST /metrics: %d" % status)
    check(d, url)

    # Off by default; a taken address stops the start with the reason.
    other = Daemon("metrics-off", PORT_OFFSET, demo=False)
    try:
        other.start()
        st = json.loads(other.ctl("--json", "status").stdout)
        expect("metrics_url" in st and st["metrics_url"] is None, "metrics_url without [metrics]")
        res = other.ctl("status")
        expect(res.returncode == 0 and re.search(r"^metrics: +off$", res.stdout, re.M),
               "status table without [metrics]: %s%s" % (res.stdout, res.stderr))
        other.stop()
        other.config = "[metrics]\nlisten = %s:%d\n" % (HOST, port)
        try:
            other.start()
            raise AssertionError("a daemon started on a taken metrics address")
        except DaemonError:
            pass
        expect("serving metrics on '%s:%d'" % (HOST, port) in other.text(),
               "no reason logged: %s" % other.tail())
    finally:
        other.cleanup()


if __name__ == "__main__":
    sys.exit(run_test("metrics", PORT_OFFSET, run))
