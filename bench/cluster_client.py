#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Command-level clients for bench/cluster, with the raw-socket initiator of
the integration tests (tests/integration/iscsi_raw.py). One command at a
time on one session, so every figure is the latency of a single command.

  cluster_client.py prlat HOST PORT TARGET INITIATOR COUNT WARMUP
      log in, send WARMUP and then COUNT PERSISTENT RESERVE OUT commands
      with service action REGISTER AND IGNORE EXISTING KEY (SPC-4 §6.16.2,
      06h), each registering a key other than the one before (so every
      command changes the PR state), and time each of the COUNT with
      time.perf_counter; print "P50 P99 MEAN MAX" in microseconds. The
      registration is removed (service action key 0) before logout. The
      same client measures every target, so its own cost per command is the
      same on each side of a comparison.

  cluster_client.py stall HOST PORT TARGET INITIATOR KIND LOG
      until SIGTERM, one command at a time: KIND io writes 4 KiB (WRITE(10)
      of a numbered pattern to LUN 0) and reads it back (READ(10)), checking
      the data; KIND pr sends REGISTER AND IGNORE EXISTING KEY. Every
      completion is a line "T_NS OP STATUS SENSE" in LOG (T_NS: CLOCK_REALTIME,
      comparable with `date +%s%N`); a connection that fails is logged as
      "T_NS conn error ..." and opened again. A command answered with CHECK
      CONDITION (NOT READY while the node does not serve, a UNIT ATTENTION)
      is logged and the loop goes on.

  cluster_client.py gap LOG T_EVENT_NS SECONDS
      from a stall LOG: the longest interval between two successful
      completions from the last one before T_EVENT_NS on; prints
      "GAP_MS START_MS FAILED SENSES BASE_MS COUNT": START_MS is where the
      gap began relative to the event, FAILED the commands answered with an
      error or lost with a connection after the event, SENSES their distinct
      sense codes, BASE_MS the longest interval in the SECONDS before the
      event (the control: what the same client sees without the event),
      COUNT the good completions after the gap.

A failure that is not part of the measured event (a refused login, a PR OUT
answered with an error in prlat, data read back wrong) exits non-zero: a
benchmark figure must never come from a half-failed run.
"""
import gc
import math
import os
import signal
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tests", "integration"))
import iscsi_raw  # noqa: E402

PERSISTENT_RESERVE_OUT = 0x5F
PRO_REGISTER_AND_IGNORE = 0x06
PR_OUT_PARAM_LEN = 24           # SPC-4 §6.16.3: basic parameter list
READ_10 = 0x28
WRITE_10 = 0x2A
TEST_UNIT_READY = 0x00
STATUS_GOOD = 0x00
STATUS_CHECK_CONDITION = 0x02
BLOCK = 512
IO_BLOCKS = 8                   # 4 KiB
IO_SLOTS = 1024                 # the writer cycles over the first 4 MiB


def pr_register_cdb(sakey):
    params = struct.pack(">QQ", 0, sakey) + b"\0" * (PR_OUT_PARAM_LEN - 16)
    cdb = bytes([PERSISTENT_RESERVE_OUT, PRO_REGISTER_AND_IGNORE, 0, 0, 0, 0, 0,
                 0, PR_OUT_PARAM_LEN, 0])
    return cdb, params


def sense_code(sense):
    """'KEY/ASC/ASCQ' in hex from fixed-format sense data (SPC-4 §4.5.3)."""
    if len(sense) < 14:
        return "-"
    return "%x/%02x/%02x" % (sense[2] & 0x0F, sense[12], sense[13])


def connect(host, port, target, initiator, timeout=10.0):
    c = iscsi_raw.Conn(host, port, timeout=timeout)
    rsp = c.login(initiator, target)
    if rsp.status_class != iscsi_raw.STATUS_SUCCESS:
        c.close()
        raise RuntimeError("login to %s:%d refused: %r" % (host, port, rsp))
    return c


def clear_unit_attentions(c):
    """TEST UNIT READY until GOOD: a new nexus first sees its UAs (power on)."""
    for _ in range(8):
        status, _, _ = c.command(bytes(6))
        if status == STATUS_GOOD:
            return
    raise RuntimeError("TEST UNIT READY never answered GOOD")


def percentile(sorted_vals, p):
    """Nearest-rank percentile (p in 0..100) of a sorted list."""
    k = max(0, min(len(sorted_vals) - 1, math.ceil(p / 100.0 * len(sorted_vals)) - 1))
    return sorted_vals[k]


def prlat(host, port, target, initiator, count, warmup):
    c = connect(host, port, target, initiator)
    try:
        clear_unit_attentions(c)
        samples = []
        gc.disable()
        for i in range(warmup + count):
            cdb, params = pr_register_cdb(1 + (i & 1))
            t0 = time.perf_counter()
            status, sense, _ = c.command(cdb, data_out=params)
            t1 = time.perf_counter()
            if status != STATUS_GOOD:
                raise RuntimeError("PR OUT REGISTER AND IGNORE #%d: status 0x%02x sense %s"
                                   % (i, status, sense_code(sense)))
            if i >= warmup:
                samples.append((t1 - t0) * 1e6)
        gc.enable()
        cdb, params = pr_register_cdb(0)
        status, sense, _ = c.command(cdb, data_out=params)
        if status != STATUS_GOOD:
            raise RuntimeError("unregistering: status 0x%02x sense %s" % (status, sense_code(sense)))
        c.logout()
    finally:
        c.close()
    samples.sort()
    print("%.0f %.0f %.0f %.0f" % (percentile(samples, 50), percentile(samples, 99),
                                   sum(samples) / len(samples), samples[-1]))


class Stop(Exception):
    pass


def stall(host, port, target, initiator, kind, log_path):
    def on_term(signum, frame):
        raise Stop()

    signal.signal(signal.SIGTERM, on_term)
    log = open(log_path, "w", buffering=1)
    seq = 0
    c = None
    try:
        while True:
            try:
                if c is None:
                    c = connect(host, port, target, initiator, timeout=30.0)
                    log.write("%d login ok\n" % time.time_ns())
                seq += 1
                if kind == "pr":
                    cdb, params = pr_register_cdb(1 + (seq & 1))
                    status, sense, _ = c.command(cdb, data_out=params)
                    log.write("%d register %d %s\n" % (time.time_ns(), status, sense_code(sense)))
                else:
                    lba = (seq % IO_SLOTS) * IO_BLOCKS
                    data = struct.pack(">Q", seq) * (IO_BLOCKS * BLOCK // 8)
                    wcdb = struct.pack(">BBIBHB", WRITE_10, 0, lba, 0, IO_BLOCKS, 0)
                    status, sense, _ = c.command(wcdb, data_out=data)
                    log.write("%d write %d %s\n" % (time.time_ns(), status, sense_code(sense)))
                    if status == STATUS_GOOD:
                        rcdb = struct.pack(">BBIBHB", READ_10, 0, lba, 0, IO_BLOCKS, 0)
                        status, sense, got = c.command(rcdb, read_len=len(data))
                        if status == STATUS_GOOD and got != data:
                            log.write("%d read BAD-DATA\n" % time.time_ns())
                            raise SystemExit("read back other data than written at LBA %d" % lba)
                        log.write("%d read %d %s\n" % (time.time_ns(), status, sense_code(sense)))
                if status != STATUS_GOOD:
                    time.sleep(0.001)   # do not spin on a node that refuses
            except (OSError, ValueError, iscsi_raw.Closed, RuntimeError) as e:
                log.write("%d conn error %s\n" % (time.time_ns(), str(e).replace("\n", " ")[:120]))
                if c is not None:
                    c.close()
                c = None
                time.sleep(0.01)
    except Stop:
        pass
    finally:
        if c is not None:
            c.close()
        log.close()


def gap(log_path, t_event, seconds):
    good = []
    failed = 0
    senses = set()
    with open(log_path) as f:
        for line in f:
            parts = line.split()
            if len(parts) < 3:
                continue
            t = int(parts[0])
            if parts[1] in ("write", "read", "register"):
                if parts[2] == "0":
                    good.append(t)
                elif t >= t_event:
                    failed += 1
                    senses.add(parts[3] if len(parts) > 3 else "?")
            elif parts[1] == "conn" and t >= t_event:
                failed += 1
                senses.add("conn")
    before = [t for t in good if t < t_event]
    after = [t for t in good if t >= t_event]
    if not before or not after:
        raise SystemExit("%s: no completion before or after the event" % log_path)
    best, start = 0, before[-1]
    prev = before[-1]
    for t in after:
        if t - prev > best:
            best, start = t - prev, prev
        prev = t
    base = 0
    recent = [t for t in before if t >= t_event - seconds * 1_000_000_000]
    for a, b in zip(recent, recent[1:]):
        base = max(base, b - a)
    n_after = sum(1 for t in after if t > start + best)
    print("%.1f %.1f %d %s %.1f %d" % (best / 1e6, (start - t_event) / 1e6, failed,
                                       ",".join(sorted(senses)) or "-", base / 1e6, n_after))


def main(argv):
    if len(argv) == 8 and argv[1] == "prlat":
        prlat(argv[2], int(argv[3]), argv[4], argv[5], int(argv[6]), int(argv[7]))
    elif len(argv) == 8 and argv[1] == "stall" and argv[6] in ("io", "pr"):
        stall(argv[2], int(argv[3]), argv[4], argv[5], argv[6], argv[7])
    elif len(argv) == 5 and argv[1] == "gap":
        gap(argv[2], int(argv[3]), float(argv[4]))
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except (OSError, ValueError, RuntimeError, iscsi_raw.Closed) as e:
        sys.stderr.write("cluster_client: %s\n" % e)
        sys.exit(1)
