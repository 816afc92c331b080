# SPDX-License-Identifier: GPL-2.0-or-later
"""A quorated of its own for a python integration test (what lib.sh does for
the shell tests): a port from QT_PORT_BASE (default 14500) + the test's
offset, a temporary data directory, a private IPC name, an optional [iscsi]
section and other sections (config=) for a config file, and either the demo
target (LUN 0: a 1 GiB sparse file in the data directory) or, with
demo=False, an empty database. ctl() runs quoratectl against it (ctl,
ctl_json and ctl_refused check its exit status); stop() returns the exit
status; log_errors() finds sanitizer reports in the daemon's log."""
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

HOST = "127.0.0.1"
TARGET = "iqn.2026-11.org.quorate:demo"


class DaemonError(Exception):
    pass


def port_free(port):
    s = socket.socket()
    try:
        s.settimeout(0.5)
        return s.connect_ex((HOST, port)) != 0
    finally:
        s.close()


class Daemon:
    """nofile: (soft, hard) RLIMIT_NOFILE for the daemon; tmpdir: where its
    directory goes (a LU on /var/tmp is on a disk file system, /tmp may be a
    tmpfs)."""

    def __init__(self, name, offset, iscsi_config="", demo=True, nofile=None, tmpdir=None,
                 config=""):
        self.exe = os.environ.get("QUORATED") or os.path.abspath("daemon/quorated")
        self.ctl_exe = os.environ.get("QUORATECTL") or os.path.abspath("cli/quoratectl")
        base = int(os.environ.get("QT_PORT_BASE", "14500")) + offset
        self.port = next((p for p in range(base, base + 10) if port_free(p)), None)
        if self.port is None:
            raise DaemonError("no free port in %d..%d" % (base, base + 9))
        self.name = name
        self.ipc = "quorate-test-%s-%d" % (name, os.getpid())
        self.dir = tempfile.mkdtemp(prefix="quorate-%s." % name, dir=tmpdir)
        self.log = os.path.join(self.dir, "quorated.log")
        self.iscsi_config = iscsi_config
        self.config = config            # whole sections, e.g. "[metrics]\nlisten = ...\n"
        self.demo = demo
        self.nofile = nofile
        self.proc = None
        self.runs = 0

    def start(self):
        data = os.path.join(self.dir, "data")
        os.makedirs(data, exist_ok=True)
        args = [self.exe, "--foreground", "--ipc-name", self.ipc, "--data-dir", data,
                "--listen", "%s:%d" % (HOST, self.port)]
        if self.demo:
            args.append("--demo")
        if self.iscsi_config or self.config:
            conf = os.path.join(self.dir, "quorated.conf")
            with open(conf, "w") as f:
                if self.iscsi_config:
                    f.write("[iscsi]\n%s\n" % self.iscsi_config)
                f.write(self.config)
            args += ["--config", conf]

        def limits():
            if self.nofile is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, self.nofile)
        self.runs += 1
        with open(self.log, "a") as logf:
            self.proc = subprocess.Popen(args, stdout=logf, stderr=subprocess.STDOUT,
                                         preexec_fn=limits)
        if self.demo:
            want = re.escape("ready: iscsi://%s:%d/%s/0" % (HOST, self.port, TARGET))
        else:
            want = r"quorated .* ready: node"
        for _ in range(300):
            if len(re.findall(want, self.text())) >= self.runs:
                return
            if self.proc.poll() is not None:
                raise DaemonError("quorated exited with %d before it was ready: %s"
                                  % (self.proc.returncode, self.tail()))
            time.sleep(0.1)
        raise DaemonError("quorated not ready within 30 s: %s" % self.tail())

    def text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def ctl(self, *args):
        """quoratectl against this daemon: the CompletedProcess (output as text)."""
        return subprocess.run([self.ctl_exe, "--ipc", self.ipc] + list(args), timeout=60,
                              capture_output=True, text=True)

    def cpu_ticks(self):
        """utime + stime of the daemon, in clock ticks."""
        with open("/proc/%d/stat" % self.proc.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc is None:
            return None
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def log_errors(self):
        """Sanitizer reports and crash lines in the daemon's log."""
        try:
            with open(self.log) as f:
                return [l for l in f if "Sanitizer" in l or "runtime error" in l]
        except OSError:
            return []

    def tail(self):
        return "".join(self.text().splitlines(True)[-40:])

    def cleanup(self):
        if self.alive():
            self.proc.kill()
            self.proc.wait()
        if not os.environ.get("QT_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)


class Fail(Exception):
    """A check of the test failed."""


def expect(cond, msg):
    if not cond:
        raise Fail(msg)


def ctl(d, *args, rc=0):
    """quoratectl against daemon @d, which must exit @rc: the CompletedProcess."""
    p = d.ctl(*args)
    expect(p.returncode == rc, "quoratectl %s: exit %d (want %d): %s%s"
           % (" ".join(args), p.returncode, rc, p.stdout, p.stderr))
    return p


def ctl_json(d, *args):
    """quoratectl --json against @d, exit 0: the parsed document."""
    return json.loads(ctl(d, "--json", *args).stdout)


def ctl_refused(d, *args, rc=1):
    """A refused command: exit @rc, one line on stderr, nothing on stdout.
    Returns the line."""
    p = ctl(d, *args, rc=rc)
    lines = p.stderr.strip().splitlines()
    expect(len(lines) == 1, "quoratectl %s: want one line on stderr, got %r"
           % (" ".join(args), p.stderr))
    expect(p.stdout == "", "quoratectl %s: refused but printed %r" % (" ".join(args), p.stdout))
    return lines[0]


def run_test(name, offset, body, shared_dir=False, tmpdir=None, **daemon_args):
    """The main() of a test against one daemon: body(d) (or body(d, dir) with
    shared_dir: a scratch directory the test may give the daemon's files;
    tmpdir and daemon_args as for Daemon), then the daemon must exit 0 on
    SIGTERM with no sanitizer report. Prints
    PASS or FAIL with the daemon's log tail; returns the exit status."""
    d = Daemon(name, offset, tmpdir=tmpdir, **daemon_args)
    shared = tempfile.mkdtemp(prefix="quorate-%s-shared." % name) if shared_dir else None
    tag = name.replace("-", "_")
    try:
        if shared_dir:
            body(d, shared)
        else:
            body(d)
        rc = d.stop()
        expect(rc == 0, "daemon exited %s" % rc)
        expect(not d.log_errors(), "daemon: %s" % d.log_errors())
        print("%s: PASS" % tag, file=sys.stderr, flush=True)
        return 0
    except Exception as e:  # noqa: BLE001 - any failure is the test's
        print("%s: FAIL: %s" % (tag, e), file=sys.stderr, flush=True)
        traceback.print_exc()
        print("%s: daemon log tail:\n%s" % (tag, d.tail()), file=sys.stderr, flush=True)
        return 1
    finally:
        d.cleanup()
        if shared:
            shutil.rmtree(shared, ignore_errors=True)
