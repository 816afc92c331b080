# SPDX-License-Identifier: GPL-2.0-or-later
"""A quorated of its own for a python integration test (what lib.sh does for
the shell tests): the demo target (LUN 0: a 1 GiB sparse file in the data
directory), a port from QT_PORT_BASE (default 14500) + the test's offset,
a temporary data directory, a private IPC name, an optional [iscsi] section
for a config file. stop() returns the exit status; log_errors() finds
sanitizer reports in the daemon's log."""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

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
    def __init__(self, name, offset, iscsi_config=""):
        self.exe = os.environ.get("QUORATED") or os.path.abspath("daemon/quorated")
        base = int(os.environ.get("QT_PORT_BASE", "14500")) + offset
        self.port = next((p for p in range(base, base + 10) if port_free(p)), None)
        if self.port is None:
            raise DaemonError("no free port in %d..%d" % (base, base + 9))
        self.name = name
        self.dir = tempfile.mkdtemp(prefix="quorate-%s." % name)
        self.log = os.path.join(self.dir, "quorated.log")
        self.iscsi_config = iscsi_config
        self.proc = None
        self.runs = 0

    def start(self):
        data = os.path.join(self.dir, "data")
        os.makedirs(data, exist_ok=True)
        args = [self.exe, "--foreground", "--ipc-name",
                "quorate-test-%s-%d" % (self.name, os.getpid()), "--demo", "--data-dir", data,
                "--listen", "%s:%d" % (HOST, self.port)]
        if self.iscsi_config:
            conf = os.path.join(self.dir, "quorated.conf")
            with open(conf, "w") as f:
                f.write("[iscsi]\n%s\n" % self.iscsi_config)
            args += ["--config", conf]
        self.runs += 1
        with open(self.log, "a") as logf:
            self.proc = subprocess.Popen(args, stdout=logf, stderr=subprocess.STDOUT)
        want = "ready: iscsi://%s:%d/%s/0" % (HOST, self.port, TARGET)
        for _ in range(300):
            with open(self.log) as f:
                if f.read().count(want) >= self.runs:
                    return
            if self.proc.poll() is not None:
                raise DaemonError("quorated exited with %d before it was ready"
                                  % self.proc.returncode)
            time.sleep(0.1)
        raise DaemonError("no line '%s' within 30 s" % want)

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
        try:
            with open(self.log) as f:
                return "".join(f.readlines()[-40:])
        except OSError:
            return ""

    def cleanup(self):
        if self.alive():
            self.proc.kill()
            self.proc.wait()
        if not os.environ.get("QT_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)
