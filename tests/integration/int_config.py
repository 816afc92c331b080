#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The declarative configuration, against running daemons (issue 11).

- `config export` of a populated node (two targets, file and null LUNs with
  aliases, read-only, write cache off, offline, a given identity and a
  resize; ACL entries; target and discovery CHAP with a mutual secret) is
  one JSON document without any secret; `--with-secrets -o FILE` writes it
  with the secrets, mode 0600; --with-secrets without -o is a usage error.
- Into a second daemon with an empty data directory (same port: the node's
  portals are part of the document): `config apply --dry-run` lists the
  changes with the secrets hidden and changes nothing; `config apply`
  makes them; `config export` then gives byte for byte the same documents
  (with and without secrets) as the first node; a second `apply` proposes
  nothing. The file LUN created by apply serves I/O with the identity and
  size of the document (VPD 80h, READ CAPACITY(16)), and passes a whole
  `iscsi-test-cu` run.
- Objects the file does not list stay without --prune and go with it
  (--dry-run shows them first); the export is the original again.
- A LUN whose identity differs, and CHAP without its secret, are conflicts:
  exit 1, nothing applied. A file that is not JSON, of another format, or
  missing is refused; no file is a usage error.
- A file written by hand may leave a LUN's identity out: the LUN gets a new
  one (NAA and serial derived from a new UUID), or the part it names (a
  UUID: NAA and serial derived from it; a serial: kept over a new UUID's);
  it may leave out direct and write_cache: a new LUN gets the node's
  default (lun.create is not told), an existing O_DIRECT LUN is no
  conflict and keeps the write cache it was set to; applying the same file again
  changes nothing; a serial that differs from the LUN's is still a
  conflict, an identity key that is not a string an error.

Output is parsed as JSON, never grepped. Port: QT_PORT_BASE (default
14500) + 240. Exit 0 pass, 1 fail, 77 skipped (no iscsi-test-cu).
"""
import json
import os
import shutil
import stat
import struct
import subprocess
import sys

sys.path.insert(0, os.environ.get("QT_SRCDIR") or os.path.dirname(os.path.abspath(__file__)))
import iscsi_raw as r  # noqa: E402
from qt_daemon import Daemon, Fail, expect, run_test, HOST, TARGET, ctl, ctl_json, \
    ctl_refused  # noqa: E402

PORT_OFFSET = 240
T2 = "iqn.2026-11.org.quorate:config-two"
INIT = "iqn.2026-11.org.quorate:config-init"
ACL_A = "iqn.1991-05.com.microsoft:node-a"
ACL_B = "iqn.1991-05.com.microsoft:node-b"
SECRETS = ("target-secret-01", "mutual-secret-02", "discovery-sec-03")
UUID = "0f8b3c2a-1d4e-4f60-8a9b-c0d1e2f30415"
UUID_HAND = "5b0e7d4c-9a21-4c3e-8f70-1a2b3c4d5e6f"
T_HAND = "iqn.2026-11.org.quorate:config-hand"
NAA_HEAD = "6acde48"            # NAA 6 and the placeholder OUI of a derived NAA
MIB = 1024 * 1024


def log(msg):
    print("config: %s" % msg, file=sys.stderr, flush=True)






def populate(d, shared):
    lun1 = os.path.join(shared, "lun1.img")
    lun3 = os.path.join(shared, "lun3.img")
    ctl(d, "target", "create", T2, "--alias", "second target")
    ctl(d, "lun", "create", T2, "--lun", "1", "--path", lun1, "--size", "16M", "--thin",
        "--alias", "data disk")
    ctl(d, "lun", "resize", T2, "1", "--size", "24M")
    ctl(d, "lun", "create", T2, "--lun", "2", "--backing", "null", "--size", "8M",
        "--block-size", "4096", "--write-cache", "off")
    ctl(d, "lun", "offline", T2, "2")
    ctl(d, "lun", "create", T2, "--lun", "3", "--path", lun3, "--size", "4M", "--read-only",
        "--uuid", UUID, "--serial", "SN-CONFIG-3")
    ctl(d, "lun", "set", TARGET, "0", "--alias", "demo disk")
    ctl(d, "acl", "add", T2, ACL_A)
    ctl(d, "acl", "add", T2, ACL_B)
    ctl(d, "chap", "set", T2, "--user", "alice", "--secret", SECRETS[0],
        "--mutual-user", "quorate", "--mutual-secret", SECRETS[1])
    ctl(d, "chap", "set", "--discovery", "--user", "disco", "--secret", SECRETS[2])


def export_text(d, *extra):
    return ctl(d, "config", "export", *extra).stdout


def read_capacity16(c, lun):
    cdb = bytes([0x9E, 0x10]) + bytes(8) + struct.pack(">I", 32) + bytes(2)
    for _ in range(4):
        st, sense, data = c.command(cdb, lun=lun, read_len=32)
        if st == 0:
            last, bl = struct.unpack(">QI", data[:12])
            return (last + 1) * bl
    raise Fail("READ CAPACITY(16) of LUN %d: 0x%02x %s" % (lun, st, sense.hex()))


def check_applied_lun(d2, doc):
    """The file LUN apply created: identity, size, I/O, and iscsi-test-cu."""
    want = next(l for t in doc["targets"] if t["name"] == T2 for l in t["luns"]
                if l["lun"] == 1)
    # The ACL admits the two listed names only, and CHAP is required.
    c = r.Conn(HOST, d2.port, timeout=20)
    rsp = c.login(ACL_A, T2, chap=("alice", SECRETS[0]), mutual=("quorate", SECRETS[1]))
    expect(rsp.status_class == 0, "login to the applied target: %r" % rsp)
    expect(read_capacity16(c, 1) == 24 * MIB, "READ CAPACITY(16) of the applied LUN 1")
    st, sense, data = c.command(bytes([0x12, 0x01, 0x80, 0, 255, 0]), lun=1, read_len=255)
    expect(st == 0 and data[4:4 + data[3]].decode() == want["serial"],
           "VPD 80h of the applied LUN: %s" % data[4:4 + data[3]])
    block = b"APPLIED!" * 64
    wr = bytes([0x2A, 0]) + struct.pack(">I", 100) + b"\0" + struct.pack(">H", 1) + b"\0"
    st, sense, _ = c.command(wr, data_out=block, lun=1)
    expect(st == 0, "WRITE to the applied LUN: 0x%02x %s" % (st, sense.hex()))
    rd = bytes([0x28]) + wr[1:]
    st, sense, back = c.command(rd, lun=1, read_len=512)
    expect(st == 0 and back == block, "READ back from the applied LUN")
    c.logout()
    c.close()
    log("ok: the LUN apply created serves I/O with its identity and size")

    if shutil.which("iscsi-test-cu") is None:
        log("iscsi-test-cu not installed: its run is skipped")
        return
    # iscsi-test-cu logs in without CHAP as names of its own: let them in.
    ctl(d2, "chap", "clear", T2)
    ctl(d2, "acl", "add", T2, INIT)
    ctl(d2, "acl", "add", T2, INIT + "-2")
    url = "iscsi://%s:%d/%s/1" % (HOST, d2.port, T2)
    p = subprocess.run(["iscsi-test-cu", "--dataloss", "-i", INIT, "-I", INIT + "-2",
                        "-t", "ALL", url], capture_output=True, text=True, timeout=600,
                       cwd=d2.dir)
    summary = [l for l in p.stdout.splitlines() if l.strip().startswith("tests")]
    expect(p.returncode == 0, "iscsi-test-cu on the applied LUN: exit %d, %s\n%s"
           % (p.returncode, summary, p.stdout[-3000:]))
    log("ok: iscsi-test-cu passes on the LUN config apply created: %s" % summary)
    ctl(d2, "acl", "remove", T2, INIT)
    ctl(d2, "acl", "remove", T2, INIT + "-2")
    ctl(d2, "chap", "set", T2, "--user", "alice", "--secret", SECRETS[0],
        "--mutual-user", "quorate", "--mutual-secret", SECRETS[1])


def check_prune(d2, path, original):
    ctl(d2, "lun", "create", T2, "--lun", "9", "--backing", "null", "--size", "1M")
    ctl(d2, "acl", "add", T2, INIT)
    res = ctl_json(d2, "config", "apply", path)
    expect(res["steps"] == [] and res["applied"] == 0, "apply without --prune: %s" % res)
    plan = ctl_json(d2, "config", "apply", path, "--prune", "--dry-run")
    cmds = sorted((s["cmd"], json.dumps(s["args"], sort_keys=True)) for s in plan["steps"])
    want = sorted([("lun.delete", json.dumps({"target": T2, "lun": 9}, sort_keys=True)),
                   ("acl.remove", json.dumps({"target": T2, "initiator": INIT},
                                             sort_keys=True))])
    expect(cmds == want and plan["applied"] == 0, "apply --prune --dry-run: %s" % plan)
    res = ctl_json(d2, "config", "apply", path, "--prune")
    expect(res["applied"] == 2, "apply --prune: %s" % res)
    expect(export_text(d2) == original, "after --prune the export is not the original")
    log("ok: without --prune extra objects stay; --prune removes them (shown by --dry-run)")


def check_conflicts(d2, shared, doc):
    bad = json.loads(json.dumps(doc))
    lun3 = next(l for t in bad["targets"] if t["name"] == T2 for l in t["luns"]
                if l["lun"] == 3)
    lun3["serial"] = "SN-OTHER"
    path = os.path.join(shared, "conflict.json")
    with open(path, "w") as f:
        json.dump(bad, f)
    ctl(d2, "config", "export", "--with-secrets", "-o", os.path.join(shared, "before.json"))
    p = ctl(d2, "config", "apply", path, rc=1)
    expect("LUN 3" in p.stderr and "identity" in p.stderr and "nothing applied" in p.stderr,
           "a changed identity: %r" % p.stderr)
    ctl(d2, "config", "export", "--with-secrets", "-o", os.path.join(shared, "after.json"))
    with open(os.path.join(shared, "before.json")) as f, \
            open(os.path.join(shared, "after.json")) as g:
        expect(f.read() == g.read(), "a conflicting apply changed something")

    nosecret = json.loads(json.dumps(doc))
    for t in nosecret["targets"]:
        if t["chap"]:
            t["chap"].pop("secret")
            t["chap"].pop("mutual_secret")
            t["chap"]["user"] = "somebody-else"
    with open(path, "w") as f:
        json.dump(nosecret, f)
    p = ctl(d2, "config", "apply", path, rc=1)
    expect("no secrets" in p.stderr, "CHAP without a secret: %r" % p.stderr)

    for content, words in (("{not json", "not JSON"),
                           (json.dumps({"format": "other", "version": 1, "targets": []}),
                            "format"),
                           (json.dumps({"format": "quorate-config", "version": 9,
                                        "targets": []}), "version"),
                           (json.dumps({"format": "quorate-config", "version": 1,
                                        "targets": [{"name": "NOT A NAME"}]}),
                            "not a valid iSCSI name")):
        with open(path, "w") as f:
            f.write(content)
        p = ctl(d2, "config", "apply", path, rc=1)
        expect(words in p.stderr and len(p.stderr.strip().splitlines()) == 1,
               "bad document %r: %r" % (content[:40], p.stderr))
    ctl(d2, "config", "apply", os.path.join(shared, "missing.json"), rc=1)
    ctl(d2, "config", "apply", rc=2)
    log("ok: conflicts (identity, CHAP without secret) and bad documents change nothing")


def check_hand_written(d2, shared):
    """A document without (some of) the LUNs' identity, direct and write_cache,
    as one writes by hand."""
    hand3 = os.path.join(shared, "hand3.img")
    ctl(d2, "target", "create", T_HAND)
    ctl(d2, "lun", "create", T_HAND, "--lun", "3", "--path", hand3, "--size", "4M", "--direct")
    ctl(d2, "lun", "set", T_HAND, "3", "--write-cache", "on")
    lun3 = ctl_json(d2, "lun", "show", T_HAND, "3")
    expect(lun3["direct"] and lun3["write_cache"], "LUN 3 before the file: %s" % lun3)
    doc = {"format": "quorate-config", "version": 1, "targets": [
        {"name": T_HAND, "luns": [
            {"lun": 0, "path": os.path.join(shared, "hand0.img"), "size": 8 * MIB,
             "block_size": 512},
            {"lun": 1, "backing": "null", "size": 4 * MIB, "block_size": 512,
             "uuid": UUID_HAND},
            {"lun": 2, "backing": "null", "size": 4 * MIB, "block_size": 4096,
             "serial": "SN-HAND-2"},
            {"lun": 3, "path": hand3, "size": 4 * MIB, "block_size": 512}]}]}
    path = os.path.join(shared, "hand.json")
    with open(path, "w") as f:
        json.dump(doc, f)
    plan = ctl_json(d2, "config", "apply", path, "--dry-run")
    creates = {s["args"]["lun"]: s for s in plan["steps"] if s["cmd"] == "lun.create"}
    expect(sorted(creates) == [0, 1, 2] and plan["conflicts"] == [],
           "hand-written --dry-run: %s" % plan)
    expect(not {"uuid", "naa", "serial", "direct", "write_cache"} & set(creates[0]["args"]) and
           "a new identity" in creates[0]["what"] and
           creates[1]["args"]["uuid"] == UUID_HAND and
           not {"naa", "serial"} & set(creates[1]["args"]) and
           "uuid " + UUID_HAND in creates[1]["what"] and
           creates[2]["args"]["serial"] == "SN-HAND-2" and
           not {"uuid", "naa"} & set(creates[2]["args"]),
           "hand-written plan's LUN steps: %s" % creates)
    res = ctl_json(d2, "config", "apply", path)
    expect(res["applied"] == len(plan["steps"]) and res["conflicts"] == [],
           "hand-written apply: %s" % res)
    shown = [ctl_json(d2, "lun", "show", T_HAND, str(n)) for n in (0, 1, 2)]
    expect(not shown[0]["direct"] and shown[0]["write_cache"],
           "a hand-written file LUN on a standalone node: %s" % shown[0])
    expect(ctl_json(d2, "lun", "show", T_HAND, "3") == lun3,
           "the O_DIRECT LUN the file lists without direct changed")
    for l in shown:
        hexid = l["uuid"].replace("-", "")
        expect(l["naa"] == NAA_HEAD + hexid[:25], "LUN %d's NAA is not its UUID's: %s"
               % (l["lun"], l))
        expect(l["lun"] == 2 or l["serial"] == hexid, "LUN %d's serial: %s" % (l["lun"], l))
    expect(shown[1]["uuid"] == UUID_HAND and shown[2]["serial"] == "SN-HAND-2" and
           shown[0]["uuid"] != shown[2]["uuid"] and shown[0]["uuid"] != UUID_HAND,
           "hand-written identities: %s" % shown)
    res = ctl_json(d2, "config", "apply", path)
    expect(res == {"steps": [], "conflicts": [], "applied": 0},
           "the hand-written file again: %s" % res)

    doc["targets"][0]["luns"][2]["serial"] = "SN-HAND-OTHER"
    with open(path, "w") as f:
        json.dump(doc, f)
    p = ctl(d2, "config", "apply", path, rc=1)
    expect("LUN 2" in p.stderr and "identity" in p.stderr and "nothing applied" in p.stderr,
           "a hand-written serial that differs: %r" % p.stderr)
    doc["targets"][0]["luns"][2]["serial"] = "SN-HAND-2"
    doc["targets"][0]["luns"][0]["uuid"] = 5
    with open(path, "w") as f:
        json.dump(doc, f)
    line = ctl_refused(d2, "config", "apply", path)
    expect("'uuid' must be" in line, "a uuid that is a number: %r" % line)
    expect([ctl_json(d2, "lun", "show", T_HAND, str(n)) for n in (0, 1, 2)] == shown and
           ctl_json(d2, "lun", "show", T_HAND, "3") == lun3,
           "refused hand-written files changed a LUN")
    ctl(d2, "target", "delete", T_HAND, "--force")
    log("ok: a hand-written file without identities, direct or write_cache: new "
        "identities (or from its UUID or serial), the node's O_DIRECT default, existing "
        "LUNs kept, idempotent, a differing serial is a conflict")


def run(d1, shared):
    d1.start()
    populate(d1, shared)
    plain = export_text(d1)
    doc = json.loads(plain)
    expect(not any(s in plain for s in SECRETS) and '"secret"' not in plain,
           "config export without --with-secrets has a secret")
    t2 = next(t for t in doc["targets"] if t["name"] == T2)
    expect(doc["format"] == "quorate-config" and doc["version"] == 1 and
           doc["node"] == {"id": 1, "portals": ["%s:%d" % (HOST, d1.port)]} and
           t2["acl"] == [ACL_A, ACL_B] and
           t2["chap"] == {"user": "alice", "mutual_user": "quorate"} and
           doc["discovery_chap"] == {"user": "disco", "mutual_user": ""} and
           [l["lun"] for l in t2["luns"]] == [1, 2, 3], "the document: %s" % doc)
    l1, l2, l3 = t2["luns"]
    expect(l1["size"] == 24 * MIB and l1["alias"] == "data disk" and l1["thin"] and
           l2["offline"] and not l2["write_cache"] and l2["block_size"] == 4096 and
           l3["read_only"] and l3["uuid"] == UUID and l3["serial"] == "SN-CONFIG-3",
           "the LUNs in the document: %s" % t2["luns"])
    path = os.path.join(shared, "config.json")
    ctl(d1, "config", "export", "--with-secrets", rc=2)
    ctl(d1, "config", "export", "--with-secrets", "-o", path)
    expect(stat.S_IMODE(os.stat(path).st_mode) == 0o600, "the file is not mode 0600")
    with open(path) as f:
        with_secrets = f.read()
    full = json.loads(with_secrets)
    expect(next(t for t in full["targets"] if t["name"] == TARGET)["chap"] is None and
           next(t for t in full["targets"] if t["name"] == T2)["chap"]["mutual_secret"] ==
           SECRETS[1] and full["discovery_chap"]["secret"] == SECRETS[2],
           "--with-secrets: %s" % full)
    log("ok: config export: the whole configuration, secrets only with --with-secrets "
        "(file mode 0600)")

    expect(d1.stop() == 0, "the first daemon did not exit 0")
    d2 = Daemon("config-two", PORT_OFFSET, demo=False)
    try:
        expect(d2.port == d1.port, "the second daemon got port %d, not %d" % (d2.port, d1.port))
        d2.start()
        empty = ctl_json(d2, "config", "export")
        expect(empty["targets"] == [] and empty["discovery_chap"] is None,
               "a new data directory is not empty: %s" % empty)
        plan = ctl_json(d2, "config", "apply", path, "--dry-run")
        text = json.dumps(plan)
        expect(plan["applied"] == 0 and len(plan["steps"]) > 10 and plan["conflicts"] == [] and
               not any(s in text for s in SECRETS) and "(hidden)" in text,
               "apply --dry-run: %s" % plan)
        expect(ctl_json(d2, "config", "export") == empty, "--dry-run changed something")
        log("ok: --dry-run lists %d changes, secrets hidden, changes nothing"
            % len(plan["steps"]))

        res = ctl_json(d2, "config", "apply", path)
        expect(res["applied"] == len(plan["steps"]), "apply: %s" % res)
        expect(export_text(d2) == plain, "the export after apply differs:\n%s\n---\n%s"
               % (export_text(d2), plain))
        again = os.path.join(shared, "again.json")
        ctl(d2, "config", "export", "--with-secrets", "-o", again)
        with open(again) as f:
            expect(f.read() == with_secrets, "the export with secrets after apply differs")
        res = ctl_json(d2, "config", "apply", path)
        expect(res == {"steps": [], "conflicts": [], "applied": 0},
               "a second apply: %s" % res)
        p = ctl(d2, "config", "apply", path)
        expect(p.stdout.strip() == "nothing to change", "second apply said %r" % p.stdout)
        log("ok: apply into an empty node: the same documents; the second apply "
            "proposes nothing")

        check_applied_lun(d2, doc)
        expect(export_text(d2) == plain, "the export after the I/O checks differs")
        check_prune(d2, path, plain)
        check_conflicts(d2, shared, full)
        check_hand_written(d2, shared)
        rc = d2.stop()
        expect(rc == 0, "the second daemon exited %s" % rc)
        expect(not d2.log_errors(), "second daemon: %s" % d2.log_errors())
    except Exception:
        print("config: second daemon log tail:\n%s" % d2.tail(), file=sys.stderr)
        raise
    finally:
        d2.cleanup()
    # run_test stops the first daemon again: start it for that.
    d1.start()


if __name__ == "__main__":
    sys.exit(run_test("config", PORT_OFFSET, run, shared_dir=True))
