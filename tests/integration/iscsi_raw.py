# SPDX-License-Identifier: GPL-2.0-or-later
"""A minimal raw-socket iSCSI initiator for the integration tests.

It speaks just enough of RFC 7143 to log in properly (security stage with
AuthMethod None or CHAP/MD5 incl. mutual CHAP, operational stage with
digest negotiation), send NOP-Out, SCSI commands with small Data-Out
(immediate data) or Data-In, and Logout, and to build
deliberately broken PDUs. For tests that drive the data path themselves
(pipelined bursts, R2T-solicited Data-Out) it also builds PDUs as wire
bytes without sending them (wire(), data_out_pdu()). Everything read from
the target is parsed defensively: a test must fail with a message, never hang (socket timeouts)
or crash on a short read.

PDU layout: RFC 7143 §11 (BHS 48 bytes, §11.2.1); login §11.12/§11.13;
text keys §6; CHAP §12.1.3; CRC32C digests §13.1 / RFC 3385.
"""
import hashlib
import os
import socket
import struct
import time

BHS_LEN = 48
DIGEST_LEN = 4

# Initiator opcodes (§11.2.1.2)
OP_NOP_OUT = 0x00
OP_SCSI_CMD = 0x01
OP_LOGIN_REQ = 0x03
OP_TEXT_REQ = 0x04
OP_DATA_OUT = 0x05
OP_LOGOUT_REQ = 0x06
# Target opcodes
OP_NOP_IN = 0x20
OP_SCSI_RSP = 0x21
OP_LOGIN_RSP = 0x23
OP_TEXT_RSP = 0x24
OP_DATA_IN = 0x25
OP_LOGOUT_RSP = 0x26
OP_R2T = 0x31
OP_ASYNC = 0x32
OP_REJECT = 0x3F

IMMEDIATE = 0x40
FINAL = 0x80
LOGIN_TRANSIT = 0x80
STAGE_SECURITY = 0
STAGE_OPERATIONAL = 1
STAGE_FFP = 3
RESERVED_TAG = 0xFFFFFFFF

# Login status classes (§11.13.5)
STATUS_SUCCESS = 0x00
STATUS_INITIATOR_ERROR = 0x02

# Reject reasons (§11.17.1)
REJECT_DATA_DIGEST = 0x02
REJECT_PROTOCOL_ERROR = 0x04
REJECT_CMD_NOT_SUPPORTED = 0x05
REJECT_INVALID_PDU_FIELD = 0x09

DEFAULT_MAX_RECV_DSL = 8192     # §13.12: when the key is not declared


def _crc32c_table():
    table = []
    for i in range(256):
        crc = i
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC_TABLE = _crc32c_table()


def crc32c(data):
    """CRC32C as iSCSI digests use it (RFC 3385), as 4 wire bytes."""
    crc = 0xFFFFFFFF
    for b in data:
        crc = _CRC_TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    # iSCSI sends the reflected CRC least significant byte first.
    return struct.pack("<I", crc ^ 0xFFFFFFFF)


def pad4(data):
    return data + b"\0" * (-len(data) % 4)


def encode_keys(pairs):
    """[(key, value)] -> "key=value\\0..." (§6.1)."""
    return b"".join(("%s=%s" % kv).encode() + b"\0" for kv in pairs)


def decode_keys(data):
    keys = {}
    for item in data.split(b"\0"):
        if b"=" in item:
            k, v = item.split(b"=", 1)
            keys[k.decode(errors="replace")] = v.decode(errors="replace")
    return keys


class Closed(Exception):
    """The target closed the connection."""


class PDU:
    def __init__(self, bhs, data):
        self.bhs = bhs
        self.data = data
        self.opcode = bhs[0] & 0x3F
        self.flags = bhs[1]
        self.itt = struct.unpack(">I", bhs[16:20])[0]

    def u32(self, off):
        return struct.unpack(">I", self.bhs[off:off + 4])[0]

    @property
    def status_class(self):
        return self.bhs[36]

    @property
    def status_detail(self):
        return self.bhs[37]

    @property
    def reason(self):
        return self.bhs[2]

    def __repr__(self):
        extra = ""
        if self.opcode == OP_LOGIN_RSP:
            extra = " status 0x%02x%02x" % (self.status_class, self.status_detail)
        elif self.opcode == OP_REJECT:
            extra = " reason 0x%02x" % self.reason
        elif self.opcode == OP_SCSI_RSP:
            extra = " status 0x%02x" % self.bhs[3]
        return "<PDU op 0x%02x%s>" % (self.opcode, extra)


def bhs(opcode, flags=0, spec=b"\0\0", dsl=0, lun=b"\0" * 8, itt=0, rest=b""):
    """A BHS: byte 0 opcode, 1 flags, 2-3 opcode specific, 4 TotalAHSLength,
    5-7 DataSegmentLength, 8-15 LUN or opcode specific, 16-19 ITT, 20-47
    opcode specific (@rest, zero padded)."""
    h = bytes([opcode, flags]) + spec + bytes([0]) + struct.pack(">I", dsl)[1:]
    h += lun + struct.pack(">I", itt) + rest
    assert len(h) <= BHS_LEN
    return h + b"\0" * (BHS_LEN - len(h))


class Conn:
    """One TCP connection to the target and its session counters."""

    def __init__(self, host, port, timeout=10.0, rcvbuf=None):
        if rcvbuf is None:
            self.sock = socket.create_connection((host, port), timeout=timeout)
        else:
            # SO_RCVBUF must be set before connect(): the TCP window scale
            # is fixed in the SYN.
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            self.sock.settimeout(timeout)
            try:
                self.sock.connect((host, port))
            except OSError:
                self.sock.close()
                raise
        self.sock.settimeout(timeout)
        self.header_digest = False
        self.data_digest = False
        self.cmdsn = 1
        self.expstatsn = 0
        self.itt = 0x1000
        self.isid = b"\x80" + os.urandom(5)    # random-format ISID (§11.12.5)
        self.tsih = 0
        self.max_send_dsl = DEFAULT_MAX_RECV_DSL
        self.login_keys = {}

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def next_itt(self):
        self.itt += 1
        return self.itt

    # --- wire -------------------------------------------------------------
    def send_raw(self, data):
        self.sock.sendall(data)

    def send_pdu(self, hdr, data=b"", bad_header_digest=False, bad_data_digest=False):
        self.sock.sendall(self.wire(hdr, data, bad_header_digest, bad_data_digest))

    def wire(self, hdr, data=b"", bad_header_digest=False, bad_data_digest=False):
        """The bytes of one PDU as send_pdu() puts them on the wire (digests
        as negotiated, data padded to 4 bytes)."""
        out = hdr
        if self.header_digest:
            d = crc32c(hdr)
            if bad_header_digest:
                d = bytes(b ^ 0xFF for b in d)
            out += d
        if data:
            padded = pad4(data)
            out += padded
            if self.data_digest:
                d = crc32c(padded)
                if bad_data_digest:
                    d = bytes(b ^ 0xFF for b in d)
                out += d
        return out

    def _recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise Closed("connection closed after %d of %d bytes" % (len(buf), n))
            buf += chunk
        return buf

    def recv_pdu(self):
        hdr = self._recv_exact(BHS_LEN)
        ahs_len = hdr[4] * 4
        dsl = struct.unpack(">I", b"\0" + hdr[5:8])[0]
        if ahs_len:
            self._recv_exact(ahs_len)
        if self.header_digest:
            self._recv_exact(DIGEST_LEN)
        data = b""
        if dsl:
            if dsl > 16 * 1024 * 1024:
                raise ValueError("target sent DataSegmentLength %d" % dsl)
            data = self._recv_exact(dsl + (-dsl % 4))[:dsl]
            if self.data_digest:
                self._recv_exact(DIGEST_LEN)
        pdu = PDU(hdr, data)
        if pdu.opcode in (OP_NOP_IN, OP_SCSI_RSP, OP_LOGIN_RSP, OP_TEXT_RSP,
                          OP_LOGOUT_RSP, OP_ASYNC, OP_REJECT) or \
                (pdu.opcode == OP_DATA_IN and pdu.flags & 0x01):
            statsn = pdu.u32(24)
            if pdu.opcode != OP_NOP_IN or pdu.itt != RESERVED_TAG:
                self.expstatsn = (statsn + 1) & 0xFFFFFFFF
        return pdu

    def wait_closed(self, timeout=5.0):
        """Read until EOF; return the PDUs received before it. Raises
        socket.timeout if the target keeps the connection open."""
        self.sock.settimeout(timeout)
        pdus = []
        try:
            while True:
                pdus.append(self.recv_pdu())
        except (Closed, ConnectionResetError, BrokenPipeError):
            return pdus

    # --- login (§6.3, §11.12) --------------------------------------------
    def login_pdu(self, csg, nsg, transit, keys, raw=None):
        """Login Request (§11.12): bytes 8-13 ISID, 14-15 TSIH, 20-21 CID,
        24 CmdSN, 28 ExpStatSN; version-max/min 0."""
        flags = (LOGIN_TRANSIT if transit else 0) | (csg << 2) | nsg
        data = raw if raw is not None else encode_keys(keys)
        hdr = bhs(OP_LOGIN_REQ | IMMEDIATE, flags, b"\0\0", len(data),
                  self.isid + struct.pack(">H", self.tsih), self.next_itt(),
                  struct.pack(">HHII", 0, 0, self.cmdsn, self.expstatsn))
        return hdr, data

    def login_step(self, csg, nsg, transit, keys, raw=None):
        hdr, data = self.login_pdu(csg, nsg, transit, keys, raw)
        self.send_pdu(hdr, data)
        rsp = self.recv_pdu()
        if rsp.opcode != OP_LOGIN_RSP:
            raise ValueError("expected a Login Response, got %r" % rsp)
        if rsp.status_class == STATUS_SUCCESS:
            self.tsih = struct.unpack(">H", rsp.bhs[14:16])[0]
            self.cmdsn = rsp.u32(28)
            self.login_keys.update(decode_keys(rsp.data))
        return rsp

    def login(self, initiator, target=None, chap=None, mutual=None, digests=False,
              extra_ops=()):
        """Full login. @chap = (user, secret); @mutual = (user, secret) we expect
        from the target. Returns the final Login Response (status in it)."""
        first = [("InitiatorName", initiator)]
        if target is None:
            first.append(("SessionType", "Discovery"))
        else:
            first += [("SessionType", "Normal"), ("TargetName", target)]
        first.append(("AuthMethod", "CHAP,None" if chap else "None"))
        rsp = self.login_step(STAGE_SECURITY, STAGE_OPERATIONAL, not chap, first)
        if rsp.status_class != STATUS_SUCCESS:
            return rsp
        if chap:
            rsp = self._chap(chap, mutual)
            if rsp.status_class != STATUS_SUCCESS:
                return rsp
        for _ in range(4):
            if rsp.flags & LOGIN_TRANSIT and (rsp.flags & 0x03) == STAGE_OPERATIONAL:
                break
            rsp = self.login_step(STAGE_SECURITY, STAGE_OPERATIONAL, True, [])
            if rsp.status_class != STATUS_SUCCESS:
                return rsp
        digest = "CRC32C" if digests else "None"
        ops = [("HeaderDigest", digest), ("DataDigest", digest),
               ("MaxRecvDataSegmentLength", "262144"), ("ErrorRecoveryLevel", "0"),
               ("InitialR2T", "Yes"), ("ImmediateData", "Yes"),
               ("MaxBurstLength", "262144"), ("FirstBurstLength", "65536"),
               ("MaxOutstandingR2T", "1"), ("DefaultTime2Wait", "2"),
               ("DefaultTime2Retain", "0"), ("DataPDUInOrder", "Yes"),
               ("DataSequenceInOrder", "Yes"), ("MaxConnections", "1")]
        # @extra_ops replace the defaults above of the same name (a key
        # offered twice is a login error, §6.2) and add the others.
        extra = dict(extra_ops)
        ops = [(k, extra.pop(k, v)) for k, v in ops] + list(extra.items())
        rsp = self.login_step(STAGE_OPERATIONAL, STAGE_FFP, True, ops)
        for _ in range(4):
            if rsp.status_class != STATUS_SUCCESS:
                return rsp
            if rsp.flags & LOGIN_TRANSIT and (rsp.flags & 0x03) == STAGE_FFP:
                break
            rsp = self.login_step(STAGE_OPERATIONAL, STAGE_FFP, True, [])
        keys = self.login_keys
        self.header_digest = keys.get("HeaderDigest") == "CRC32C"
        self.data_digest = keys.get("DataDigest") == "CRC32C"
        if "MaxRecvDataSegmentLength" in keys:
            self.max_send_dsl = int(keys["MaxRecvDataSegmentLength"])
        return rsp

    def _chap(self, chap, mutual):
        rsp = self.login_step(STAGE_SECURITY, STAGE_OPERATIONAL, False, [("CHAP_A", "5")])
        if rsp.status_class != STATUS_SUCCESS:
            return rsp
        keys = decode_keys(rsp.data)
        if keys.get("AuthMethod") == "None" or "CHAP_C" not in keys:
            return rsp
        ident = int(keys["CHAP_I"], 0)
        chal = keys["CHAP_C"]
        chal = bytes.fromhex(chal[2:]) if chal.lower().startswith("0x") else chal.encode()
        resp = hashlib.md5(bytes([ident]) + chap[1].encode() + chal).hexdigest()
        out = [("CHAP_N", chap[0]), ("CHAP_R", "0x" + resp)]
        my_id, my_chal = None, None
        if mutual:
            my_id, my_chal = os.urandom(1)[0], os.urandom(16)
            out += [("CHAP_I", str(my_id)), ("CHAP_C", "0x" + my_chal.hex())]
        rsp = self.login_step(STAGE_SECURITY, STAGE_OPERATIONAL, True, out)
        if rsp.status_class == STATUS_SUCCESS and mutual:
            keys = decode_keys(rsp.data)
            want = hashlib.md5(bytes([my_id]) + mutual[1].encode() + my_chal).hexdigest()
            got = keys.get("CHAP_R", "").lower()
            if keys.get("CHAP_N") != mutual[0] or got != "0x" + want:
                raise ValueError("target's mutual CHAP answer is wrong: %r" % keys)
        return rsp

    # --- full feature phase ----------------------------------------------
    def nop_out_pdu(self, data=b"", itt=None):
        itt = self.next_itt() if itt is None else itt
        hdr = bhs(OP_NOP_OUT | IMMEDIATE, FINAL, dsl=len(data), itt=itt,
                  rest=struct.pack(">III", RESERVED_TAG, self.cmdsn, self.expstatsn))
        return hdr, data

    def data_out_pdu(self, itt, ttt, datasn, offset, dsl, final, lun=0):
        """Data-Out header (§11.7): bytes 8-15 LUN, 20 TTT (0xffffffff for
        unsolicited data), 28 ExpStatSN, 36 DataSN, 40 Buffer Offset."""
        lun_bytes = struct.pack(">HHI", lun & 0x3FFF, 0, 0)
        return bhs(OP_DATA_OUT, FINAL if final else 0, dsl=dsl, lun=lun_bytes, itt=itt,
                   rest=struct.pack(">IIIIII", ttt, 0, self.expstatsn, 0, datasn, offset))

    def ping(self, data=b""):
        """NOP-Out -> NOP-In with the same ITT and data (§11.18, §11.19)."""
        hdr, data = self.nop_out_pdu(data)
        itt = struct.unpack(">I", hdr[16:20])[0]
        self.send_pdu(hdr, data)
        while True:
            rsp = self.recv_pdu()
            if rsp.opcode == OP_NOP_IN and rsp.itt == RESERVED_TAG:
                continue        # a ping of the target's own
            if rsp.opcode != OP_NOP_IN or rsp.itt != itt or rsp.data != data:
                raise ValueError("NOP-Out answered with %r" % rsp)
            return rsp

    def scsi_cmd_pdu(self, cdb=b"\0" * 16, cmdsn=None, itt=None):
        """A SCSI Command without data (TEST UNIT READY by default), §11.3."""
        cmdsn = self.cmdsn if cmdsn is None else cmdsn
        itt = self.next_itt() if itt is None else itt
        cdb = cdb + b"\0" * (16 - len(cdb))
        hdr = bhs(OP_SCSI_CMD, FINAL | 0x01, itt=itt,
                  rest=struct.pack(">III", 0, cmdsn, self.expstatsn) + cdb)
        return hdr

    def test_unit_ready(self):
        """TUR with the next CmdSN; returns the SCSI Response (any status)."""
        hdr = self.scsi_cmd_pdu()
        itt = struct.unpack(">I", hdr[16:20])[0]
        self.send_pdu(hdr)
        self.cmdsn = (self.cmdsn + 1) & 0xFFFFFFFF
        while True:
            rsp = self.recv_pdu()
            if rsp.opcode == OP_NOP_IN and rsp.itt == RESERVED_TAG:
                continue
            if rsp.opcode != OP_SCSI_RSP or rsp.itt != itt:
                raise ValueError("TEST UNIT READY answered with %r" % rsp)
            return rsp

    def command(self, cdb, data_out=b"", read_len=0, lun=0):
        """One SCSI command (§11.3) with its Data-Out sent as immediate data
        (so len(data_out) must stay within FirstBurstLength and the target's
        MaxRecvDataSegmentLength) or up to @read_len bytes of Data-In
        (§11.7). Returns (status, sense bytes, data in)."""
        flags = FINAL | 0x01                    # SIMPLE task attribute
        edtl = 0
        if data_out:
            flags |= 0x20
            edtl = len(data_out)
        elif read_len:
            flags |= 0x40
            edtl = read_len
        cdb = bytes(cdb) + b"\0" * (16 - len(cdb))
        itt = self.next_itt()
        lun_bytes = struct.pack(">HHI", lun & 0x3FFF, 0, 0)
        hdr = bhs(OP_SCSI_CMD, flags, dsl=len(data_out), lun=lun_bytes, itt=itt,
                  rest=struct.pack(">III", edtl, self.cmdsn, self.expstatsn) + cdb)
        self.send_pdu(hdr, data_out)
        self.cmdsn = (self.cmdsn + 1) & 0xFFFFFFFF
        data = b""
        while True:
            rsp = self.recv_pdu()
            if rsp.opcode == OP_NOP_IN and rsp.itt == RESERVED_TAG:
                continue
            if rsp.itt != itt:
                raise ValueError("unexpected PDU %r" % rsp)
            if rsp.opcode == OP_DATA_IN:
                off = rsp.u32(40)
                if off != len(data):
                    raise ValueError("Data-In out of order at %d" % off)
                data += rsp.data
                if rsp.flags & 0x01:            # S: status in the last Data-In
                    self.expstatsn = (rsp.u32(24) + 1) & 0xFFFFFFFF
                    return rsp.bhs[3], b"", data
                continue
            if rsp.opcode != OP_SCSI_RSP:
                raise ValueError("SCSI command answered with %r" % rsp)
            self.expstatsn = (rsp.u32(24) + 1) & 0xFFFFFFFF
            sense = b""
            if len(rsp.data) >= 2:
                n = struct.unpack(">H", rsp.data[:2])[0]
                sense = rsp.data[2:2 + n]
            return rsp.bhs[3], sense, data

    def text(self, pairs):
        """A Text Request (§11.10) with @pairs, following a continued answer
        (C bit, §11.11.2) with empty requests on its TTT; returns every
        (key, value) of the answers in order (SendTargets repeats keys)."""
        itt, ttt, data, answer = self.next_itt(), RESERVED_TAG, encode_keys(pairs), b""
        while True:
            hdr = bhs(OP_TEXT_REQ | IMMEDIATE, FINAL, dsl=len(data), itt=itt,
                      rest=struct.pack(">III", ttt, self.cmdsn, self.expstatsn))
            self.send_pdu(hdr, data)
            while True:
                rsp = self.recv_pdu()
                if rsp.opcode == OP_NOP_IN and rsp.itt == RESERVED_TAG:
                    continue
                if rsp.opcode != OP_TEXT_RSP or rsp.itt != itt:
                    raise ValueError("Text Request answered with %r" % rsp)
                break
            self.expstatsn = (rsp.u32(24) + 1) & 0xFFFFFFFF
            answer += rsp.data                  # a key may span two PDUs
            if not rsp.flags & 0x40:            # C: more to come
                break
            ttt, data = rsp.u32(20), b""
        out = []
        for item in answer.split(b"\0"):
            if b"=" in item:
                k, v = item.split(b"=", 1)
                out.append((k.decode(errors="replace"), v.decode(errors="replace")))
        return out

    def logout(self):
        hdr = bhs(OP_LOGOUT_REQ | IMMEDIATE, FINAL, itt=self.next_itt(),
                  rest=struct.pack(">HHII", 0, 0, self.cmdsn, self.expstatsn))
        self.send_pdu(hdr)
        rsp = self.recv_pdu()
        if rsp.opcode != OP_LOGOUT_RSP or rsp.bhs[2] != 0:
            raise ValueError("Logout answered with %r" % rsp)
        return rsp


def login_status(host, port, initiator, target=None, chap=None, mutual=None):
    """Log in and out once; return the final login status as 0xCCDD."""
    c = Conn(host, port)
    try:
        rsp = c.login(initiator, target, chap, mutual)
        status = rsp.status_class << 8 | rsp.status_detail
        if status == 0:
            c.logout()
        return status
    finally:
        c.close()


def hold(host, port, initiator, target, status_file, interval=0.2):
    """Stay logged in, pinging every @interval s; write "up" to @status_file
    once logged in, then "closed: ..." (with whether an Async Message asking
    for logout came first, §11.9.1 AsyncEvent 1) when the target ends it."""
    def put(text):
        with open(status_file, "w") as f:
            f.write(text + "\n")
    c = Conn(host, port)
    rsp = c.login(initiator, target)
    if rsp.status_class != STATUS_SUCCESS:
        put("login failed: %r" % rsp)
        return 1
    put("up")
    async_logout = False
    pings = 0
    try:
        while True:
            hdr, data = c.nop_out_pdu(b"hold")
            c.send_pdu(hdr, data)
            while True:
                pdu = c.recv_pdu()
                if pdu.opcode == OP_ASYNC and pdu.bhs[36] == 1:
                    async_logout = True
                    continue
                if pdu.opcode == OP_NOP_IN and pdu.itt != RESERVED_TAG:
                    break
            pings += 1
            if pings % 10 == 0:
                put("up %d" % pings)
            time.sleep(interval)
    except (Closed, OSError) as e:
        put("closed: async_logout=%s pings=%d (%s)" % (async_logout, pings, e))
    return 0


if __name__ == "__main__":
    import sys
    if len(sys.argv) == 7 and sys.argv[1] == "hold":
        # iscsi_raw.py hold HOST PORT INITIATOR TARGET STATUS_FILE
        a = sys.argv[2:]
        sys.exit(hold(a[0], int(a[1]), a[2], a[3], a[4]))
    # iscsi_raw.py HOST PORT INITIATOR [TARGET [USER SECRET [MUSER MSECRET]]]:
    # print the login status as 0xCCDD (exit 0 when the status is success).
    # An empty TARGET means a discovery session.
    a = sys.argv[1:]
    if len(a) < 3:
        sys.exit(__doc__)
    chap = (a[4], a[5]) if len(a) >= 6 else None
    mutual = (a[6], a[7]) if len(a) >= 8 else None
    try:
        st = login_status(a[0], int(a[1]), a[2], a[3] if len(a) > 3 and a[3] else None,
                          chap, mutual)
    except (OSError, ValueError, Closed) as e:
        print("error: %s" % e)
        sys.exit(2)
    print("0x%04x" % st)
    sys.exit(0 if st == 0 else 1)
