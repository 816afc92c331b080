#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Session reinstatement with commands in flight (RFC 7143 §6.3.5).

Usage: reinstate.py HOST PORT INITIATOR TARGET ROUNDS

Each round logs in with one fixed ISID, clears the unit attentions, sends a
window of READ(16)s without waiting for them, and at once logs in again
with the same ISID and TSIH 0 on a second connection: the target ends the
old session while its reads are still in the SCSI layer and creates a new
nexus of the same initiator port name. The new session must then report I_T
NEXUS LOSS OCCURRED (29/07, SAM-5 6.3.4) first, and work normally; it logs
out, so the next round starts from a clean nexus (29/00 or nothing).
Exit 0 on success, 1 with a message otherwise.
"""
import struct
import sys

import iscsi_raw as raw

READ16 = 0x88
READ_BLOCKS = 256               # 128 KiB of 512-byte blocks per READ(16)
MAX_READS = 32
FLAG_READ = 0x40                # R bit (§11.3.1)
ATTR_SIMPLE = 0x01
STATUS_GOOD = 0x00
STATUS_CHECK_CONDITION = 0x02
SENSE_UNIT_ATTENTION = 0x06
ASC_ASCQ_NEXUS_LOSS = (0x29, 0x07)


def sense_of(rsp):
    """(key, asc, ascq) of a SCSI Response carrying fixed-format sense."""
    if len(rsp.data) < 2 + 14:
        raise ValueError("CHECK CONDITION without sense data: %r" % rsp)
    s = rsp.data[2:]
    return s[2] & 0x0F, s[12], s[13]


def tur_until_good(c):
    """TEST UNIT READY until GOOD; return the unit attentions seen, in order."""
    uas = []
    for _ in range(16):
        rsp = c.test_unit_ready()
        status = rsp.bhs[3]
        if status == STATUS_GOOD:
            return uas
        if status != STATUS_CHECK_CONDITION:
            raise ValueError("TEST UNIT READY status 0x%02x" % status)
        key, asc, ascq = sense_of(rsp)
        if key != SENSE_UNIT_ATTENTION:
            raise ValueError("TEST UNIT READY sense %x/%02x/%02x" % (key, asc, ascq))
        uas.append((asc, ascq))
    raise ValueError("unit attentions do not clear: %r" % uas)


def send_reads(c, count):
    for i in range(count):
        lba = i * READ_BLOCKS * 7
        cdb = bytes([READ16, 0]) + struct.pack(">QI", lba, READ_BLOCKS) + b"\0\0"
        hdr = raw.bhs(raw.OP_SCSI_CMD, raw.FINAL | FLAG_READ | ATTR_SIMPLE, itt=c.next_itt(),
                      rest=struct.pack(">III", READ_BLOCKS * 512, c.cmdsn, c.expstatsn) + cdb)
        c.send_pdu(hdr)
        c.cmdsn = (c.cmdsn + 1) & 0xFFFFFFFF


def login(host, port, initiator, target, isid):
    c = raw.Conn(host, port)
    c.isid = isid
    rsp = c.login(initiator, target)
    if rsp.status_class != raw.STATUS_SUCCESS:
        raise ValueError("login failed: %r" % rsp)
    return c, rsp


def main():
    host, port, initiator, target, rounds = sys.argv[1:6]
    isid = b"\x80\x51\x0e\x1a\x7e\x01"
    for n in range(int(rounds)):
        old, rsp = login(host, int(port), initiator, target, isid)
        tur_until_good(old)
        window = (rsp.u32(32) - old.cmdsn + 1) & 0xFFFFFFFF
        send_reads(old, min(MAX_READS, window))
        new, _ = login(host, int(port), initiator, target, isid)
        uas = tur_until_good(new)
        if not uas or uas[0] != ASC_ASCQ_NEXUS_LOSS:
            raise ValueError("round %d: reinstated session saw UAs %r, expected 29/07 first"
                             % (n, uas))
        new.logout()
        new.close()
        # The target must have ended the old connection (responses or not).
        old.wait_closed(timeout=10.0)
        old.close()
    print("%s rounds: reinstatement with reads in flight, 29/07 reported" % rounds)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (ValueError, OSError, raw.Closed) as e:
        print("reinstate: %s" % e, file=sys.stderr)
        sys.exit(1)
