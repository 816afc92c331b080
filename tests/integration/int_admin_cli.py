#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""quoratectl's tables, its IPC name from the daemon's config file, the
daemon's journal output, and session logout as libiscsi answers it.

- Tables (libsmartcols): with a target and an ACL entry named by a Windows
  initiator IQN longer than the old fixed columns, every column of `target
  list`, `acl list`, `lun list` and `session list` starts at the same
  offset in the heading and in every row, whatever a value's width; no
  value is cut. `--raw` (before or after the subcommand): no heading, each
  row of a table splits into the same number of fields, equal to the
  --json document (sizes in bytes, an empty value as "-", a space inside a
  value as \\x20); a field view (`lun show`) gives "name value" lines named
  as in --json.
- IPC name: the daemon runs on a name of its own; quoratectl given only
  `--config FILE` (QUORATE_IPC unset) whose [node] ipc_name names it
  reaches it; QUORATE_IPC and --ipc take precedence; a syntax error
  elsewhere in the file is a one-line warning and the name is still read;
  a missing --config file, a directory and an invalid ipc_name are
  one-line usage errors (exit 2) naming the file.
- session logout through libiscsi: tests/integration/libiscsi_logout (a
  libiscsi 1.19 initiator kept serviced with iscsi_service()) logs in;
  `session logout --initiator NAME --wait 30`; libiscsi reports the
  Asynchronous Message with Parameter3 = 30, logs out (its session is gone
  from `session list` long before the 30 s) and logs in again as a new
  session, on which TEST UNIT READY succeeds.
- The daemon's log has no "(null)" and no line twice in a row.
- Journal (as root, with unshare(1)): a daemon started with --log-journal in
  a mount namespace whose /run holds this test's datagram socket at
  /run/systemd/journal/socket sends each message there as sd_journal_send
  does, with PRIORITY= its level (notice 5, info 6, debug 7), MESSAGE=
  without a "[level]" prefix, nothing on stderr, no message twice. What
  this does not show: journald itself filing them (it does not run here).

Port: QT_PORT_BASE (default 14500) + 280. Exit 0 pass, 1 fail, 77 skip.
"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.environ.get("QT_SRCDIR") or os.path.dirname(os.path.abspath(__file__)))
from qt_daemon import Daemon, expect, run_test, HOST, TARGET, ctl, ctl_json  # noqa: E402

PORT_OFFSET = 280
WIN_INIT = "iqn.1991-05.com.microsoft:hyperv-node-01.cluster.corp.example.com"
WIN_TARGET = "iqn.1991-05.com.microsoft:host.domain.example"
LOGOUT_INIT = "iqn.2026-11.org.quorate:libiscsi-logout"
WAIT_S = 30


def log(msg):
    print("admin_cli: %s" % msg, file=sys.stderr, flush=True)


def column_starts(heading, names):
    starts = []
    for n in names:
        i = heading.find(n)
        expect(i >= 0, "heading %r has no %s" % (heading, n))
        starts.append(i)
    return starts


def check_aligned(d, args, names, left):
    """Every row of the human table has the value of each left-aligned
    column @left (a heading name) starting where its heading starts."""
    out = ctl(d, *args).stdout.splitlines()
    starts = column_starts(out[0], names)
    for row in out[1:]:
        if not row.strip() or row.startswith("LUN "):
            continue
        for n in left:
            i = starts[names.index(n)]
            expect(row[i] != " " and (i == 0 or row[i - 1] == " "),
                   "%s: column %s not at %d in %r (heading %r)" % (" ".join(args), n, i, row,
                                                                  out[0]))
    return out


def raw_rows(d, *args):
    p = ctl(d, *args)
    return [l.split(" ") for l in p.stdout.splitlines() if l]


def unraw(v):
    return None if v == "-" else re.sub(r"\\x([0-9a-f]{2})", lambda m: chr(int(m.group(1), 16)), v)


def check_tables(d):
    ctl(d, "target", "create", WIN_TARGET, "--alias", "two words")
    ctl(d, "lun", "create", WIN_TARGET, "--backing", "null", "--size", "64M")
    ctl(d, "acl", "add", TARGET, WIN_INIT)
    ctl(d, "acl", "add", TARGET, LOGOUT_INIT)
    out = check_aligned(d, ["target", "list"], ["TARGET", "LUNS", "STATE", "ALIAS"],
                        ["TARGET", "STATE", "ALIAS"])
    expect(any(WIN_TARGET in l for l in out), "target list: %s" % out)
    out = check_aligned(d, ["acl", "list"], ["TARGET", "INITIATOR"], ["TARGET", "INITIATOR"])
    expect(any(l.endswith(WIN_INIT) for l in out), "acl list cut the IQN: %s" % out)
    check_aligned(d, ["lun", "list"], ["TARGET", "LUN", "BACKING", "SIZE", "STATE", "SERIAL"],
                  ["TARGET", "BACKING", "STATE", "SERIAL"])
    log("ok: target, acl and lun list columns aligned with a %d-character IQN" % len(WIN_INIT))

    # --raw against --json, before and after the subcommand.
    targets = {t["name"]: t for t in ctl_json(d, "target", "list")}
    for args in (("--raw", "target", "list"), ("target", "list", "--raw")):
        rows = raw_rows(d, *args)
        expect(len(rows) == len(targets) and all(len(r) == 7 for r in rows),
               "%s: %s" % (args, rows))
        for r in rows:
            t = targets[r[0]]
            expect([int(r[1]), int(r[2]), r[3], int(r[4]), r[5], unraw(r[6])] ==
                   [t["luns"], t["acls"], "yes" if t["chap"] else "no", t["sessions"],
                    "running" if t["running"] else "NOT-RUNNING", t["alias"] or None],
                   "raw row %s vs %s" % (r, t))
    luns = {(l["target"], l["lun"]): l for l in ctl_json(d, "lun", "list")}
    rows = raw_rows(d, "--raw", "lun", "list")
    expect(len(rows) == len(luns) and all(len(r) == 10 for r in rows), "raw lun list %s" % rows)
    for r in rows:
        l = luns[(r[0], int(r[1]))]
        expect(int(r[3]) == l["size"] and r[6] == l["serial"] and unraw(r[7]) == (l["path"] or None),
               "raw lun row %s vs %s" % (r, l))
    acl = raw_rows(d, "--raw", "acl", "list", TARGET)
    expect(sorted(acl) == sorted([[TARGET, WIN_INIT], [TARGET, LOGOUT_INIT]]), "raw acl %s" % acl)
    show = dict(l.split(" ", 1) for l in ctl(d, "--raw", "lun", "show", TARGET, "0")
                .stdout.splitlines())
    want = ctl_json(d, "lun", "show", TARGET, "0")
    for k in ("size", "block_size", "serial", "uuid", "backing"):
        expect(unraw(show[k]) == str(want[k]), "raw lun show %s: %r vs %r" % (k, show[k], want[k]))
    log("ok: --raw rows equal --json (target list, lun list, acl list, lun show)")


def check_config_ipc(d, scratch):
    conf = os.path.join(scratch, "quorated.conf")
    with open(conf, "w") as f:
        f.write("[node]\n# a comment\nipc_name = %s\nlog_level = info\n[iscsi]\nlisten = %s:%d\n"
                % (d.ipc, HOST, d.port))
    env = dict(os.environ)
    env.pop("QUORATE_IPC", None)

    def run(*args, extra=None):
        e = dict(env, **(extra or {}))
        return subprocess.run([d.ctl_exe] + list(args), capture_output=True, text=True,
                              timeout=60, env=e)
    p = run("--config", conf, "--json", "status")
    expect(p.returncode == 0, "--config %s status: %d %s" % (conf, p.returncode, p.stderr))
    expect(json.loads(p.stdout)["serving"] is True, "status through --config: %s" % p.stdout)
    p = run("--config=" + conf, "session", "list")
    expect(p.returncode == 0, "--config= form: %d %s" % (p.returncode, p.stderr))
    # QUORATE_IPC and --ipc come first: a name nobody serves is unreachable.
    p = run("--config", conf, "status", extra={"QUORATE_IPC": "quorate-test-nobody"})
    expect(p.returncode == 1 and "quorate-test-nobody" in p.stderr, "env first: %s" % p.stderr)
    p = run("--ipc", "quorate-test-nobody", "--config", conf, "status")
    expect(p.returncode == 1 and "quorate-test-nobody" in p.stderr, "--ipc first: %s" % p.stderr)
    bad = os.path.join(scratch, "bad.conf")
    # A syntax error elsewhere (an edit the daemon has yet to reject on
    # reload) is a warning: ipc_name is read past it and reload gets through.
    with open(bad, "w") as f:
        f.write("[node]\nthis is not ini\nipc_name = %s\n" % d.ipc)
    p = run("--config", bad, "--json", "status")
    expect(p.returncode == 0 and json.loads(p.stdout)["serving"] is True and
           p.stderr.strip() == "quoratectl: warning: %s:2: syntax error (quorated "
           "--check-config shows the details)" % bad,
           "--config with a syntax error elsewhere: exit %d %r" % (p.returncode, p.stderr))
    cases = [(os.path.join(scratch, "missing.conf"), None, "No such file"),
             (scratch, None, "Is a directory"),
             (bad, "[node]\nipc_name = a/b\n", bad + ":2: ipc_name"),
             (bad, "[node]\nipc_name = a\nipc_name = b\n", bad + ":3: ipc_name given twice")]
    for path, content, want in cases:
        if content is not None:
            with open(path, "w") as f:
                f.write(content)
        p = run("--config", path, "status")
        lines = p.stderr.strip().splitlines()
        expect(p.returncode == 2 and len(lines) == 1 and want in lines[0] and p.stdout == "",
               "--config %s: exit %d %r" % (path, p.returncode, p.stderr))
    log("ok: --config FILE's ipc_name reaches the daemon; QUORATE_IPC and --ipc first; "
        "bad files exit 2 with one line")


def check_logout(d):
    prog = os.path.abspath("tests/integration/libiscsi_logout")
    if not os.access(prog, os.X_OK):
        log("SKIP part: %s not built (no libiscsi-dev)" % prog)
        return
    url = "iscsi://%s:%d/%s/0" % (HOST, d.port, TARGET)
    p = subprocess.Popen([prog, url, str(WAIT_S)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         text=True, env=dict(os.environ, QT_INITIATOR_NAME=LOGOUT_INIT))
    try:
        expect(p.stdout.readline().strip() == "logged-in", "libiscsi_logout did not log in")
        old = [s for s in ctl_json(d, "session", "list") if s["initiator"] == LOGOUT_INIT]
        expect(len(old) == 1, "sessions of %s: %s" % (LOGOUT_INIT, old))
        t0 = time.monotonic()
        res = ctl_json(d, "session", "logout", "--initiator", LOGOUT_INIT, "--wait", str(WAIT_S))
        expect(res["sessions"] == [old[0]["tsih"]] and res["wait_s"] == WAIT_S,
               "session logout: %s" % res)
        line = p.stdout.readline().strip()
        expect(line == "async-logout %d" % WAIT_S, "libiscsi reported %r" % line)
        line = p.stdout.readline().strip()
        expect(line == "reconnected", "after the logout request libiscsi said %r" % line)
        elapsed = time.monotonic() - t0
        expect(elapsed < WAIT_S / 2, "libiscsi logged in again after %.1f s" % elapsed)
        now = [s for s in ctl_json(d, "session", "list") if s["initiator"] == LOGOUT_INIT]
        expect(len(now) == 1 and now[0]["tsih"] != old[0]["tsih"],
               "after the logout: old TSIH %d, now %s" % (old[0]["tsih"], now))
        p.stdin.close()
        expect(p.wait(20) == 0, "libiscsi_logout exited %s" % p.returncode)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    log("ok: libiscsi got AsyncEvent 1 with Parameter3 %d, logged out (TSIH %d gone after "
        "%.1f s, not the %d s wait) and in again as TSIH %d" % (WAIT_S, old[0]["tsih"], elapsed,
                                                               WAIT_S, now[0]["tsih"]))


def check_log_clean(text, what):
    lines = [re.sub(r"^\w{3} +\d+ [\d:]+ ", "", l) for l in text.splitlines()]
    expect("(null)" not in text, "%s has '(null)': %s" % (what, [l for l in lines if "(null)" in l]))
    twice = [a for a, b in zip(lines, lines[1:]) if a == b and a.strip()]
    expect(not twice, "%s repeats lines: %s" % (what, twice))


def journal_fields(dgram):
    """The fields of one native-protocol datagram (KEY=value lines, or KEY,
    a little-endian 64-bit length and the value, for binary-safe ones)."""
    f, i = {}, 0
    while i < len(dgram):
        nl = dgram.index(b"\n", i)
        line = dgram[i:nl]
        if b"=" in line:
            k, v = line.split(b"=", 1)
            i = nl + 1
        else:
            n = int.from_bytes(dgram[nl + 1:nl + 9], "little")
            k, v = line, dgram[nl + 9:nl + 9 + n]
            i = nl + 9 + n + 1
        f[k.decode()] = v.decode(errors="replace")
    return f


def check_journal():
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        log("SKIP part: the journal check needs root and unshare(1)")
        return
    run = tempfile.mkdtemp(prefix="quorate-admin-cli-run.")
    d = Daemon("admin-cli-journal", PORT_OFFSET)
    os.makedirs(os.path.join(run, "systemd", "journal"))
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(os.path.join(run, "systemd", "journal", "socket"))
    sock.settimeout(0.2)
    data = os.path.join(d.dir, "data")
    os.makedirs(data)
    args = ["unshare", "--mount", "sh", "-c", 'mount --bind "$0" /run && exec "$@"', run,
            d.exe, "--foreground", "--log-journal", "--demo", "--log-level", "debug",
            "--ipc-name", d.ipc, "--data-dir", data, "--listen", "%s:%d" % (HOST, d.port)]
    msgs, stop = [], threading.Event()

    # Read from the start: a full socket queue (10 datagrams by default)
    # blocks the sender, as journald's would.
    def reader():
        while not stop.is_set():
            try:
                msgs.append(sock.recv(1 << 16))
            except socket.timeout:
                pass
    t = threading.Thread(target=reader)
    t.start()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ready = proc.stdout.readline()
        expect(ready.startswith("ready: iscsi://"), "journal daemon: %r" % ready)
        ctl(d, "target", "create", "iqn.2026-11.org.quorate:journal")
        time.sleep(1)
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
        stop.set()
        t.join()
        sock.close()
        shutil.rmtree(run, ignore_errors=True)
        d.cleanup()
    expect(proc.returncode == 0, "journal daemon exited %d" % proc.returncode)
    expect(err == "", "with --log-journal the daemon wrote to stderr: %r" % err)
    msgs = [journal_fields(m) for m in msgs]
    by_msg = {}
    for m in msgs:
        expect(m.get("SYSLOG_IDENTIFIER") == "quorated" and "PRIORITY" in m and "MESSAGE" in m,
               "journal entry %s" % m)
        expect(not m["MESSAGE"].startswith("["), "MESSAGE with a level prefix: %s" % m)
        by_msg.setdefault(m["MESSAGE"], []).append(int(m["PRIORITY"]))
    want = {r"^quorated .* ready: node": 5, r"^listening on ": 6, r"^seq \d+ target-create applied": 7}
    for pat, prio in want.items():
        found = [p for k, v in by_msg.items() if re.search(pat, k) for p in v]
        expect(found and set(found) == {prio},
               "journal: %r at priorities %s, want %d" % (pat, found, prio))
    # libqb's own debug lines (one per IPC ring buffer) repeat by design.
    ours = [m["MESSAGE"] for m in msgs
            if re.search(r"(^|/)(daemon|quorum|reservations)/", m.get("CODE_FILE", ""))]
    expect(len(ours) > 10, "few journal entries from quorated's code: %s" % ours)
    check_log_clean("\n".join(ours), "the journal entries")
    log("ok: --log-journal: %d entries on the journal socket, notice 5 / info 6 / debug 7, "
        "nothing on stderr (journald itself is not running here)" % len(msgs))


def body(d, scratch):
    d.start()
    check_tables(d)
    check_config_ipc(d, scratch)
    check_logout(d)
    check_log_clean(d.text(), "the daemon's log")
    log("ok: the daemon's log has no (null) and no line twice in a row")
    check_journal()


if __name__ == "__main__":
    sys.exit(run_test("admin-cli", PORT_OFFSET, body, shared_dir=True))
