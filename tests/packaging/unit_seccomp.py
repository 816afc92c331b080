#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Run a command under the seccomp part of a systemd unit, without systemd.

    unit_seccomp.py UNITFILE COMMAND [ARGS...]

Reads the unit's SystemCallFilter= (allow list, with @groups expanded by
`systemd-analyze syscall-filter`; "~" lines deny), SystemCallErrorNumber=,
MemoryDenyWriteExecute= and RestrictAddressFamilies=, loads the equivalent
filter with libseccomp (python3-seccomp) and execs COMMAND. As systemd does:
a call outside the allow list fails with SystemCallErrorNumber, mmap() with
PROT_WRITE|PROT_EXEC and mprotect() adding PROT_EXEC fail with EPERM, and
socket() of another address family fails with EAFNOSUPPORT. The caller must
have set no_new_privs (setpriv --no-new-privs). Used by test_packages.sh, so
that the installed quorated runs under its unit's filter on a machine whose
PID 1 is not systemd.
"""

import errno
import os
import socket
import subprocess
import sys

import seccomp

PROT_WRITE = 0x2
PROT_EXEC = 0x4


def unit_settings(path):
    """The [Service] settings of the unit, list-valued ones accumulated."""
    out = {}
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        out.setdefault(key, []).append(value)
    return out


def expand(name, seen):
    """Syscalls of a name or @group, recursively."""
    if not name.startswith("@"):
        return {name}
    if name in seen:
        return set()
    seen.add(name)
    text = subprocess.run(["systemd-analyze", "syscall-filter", name],
                          check=True, capture_output=True, text=True).stdout
    calls = set()
    for line in text.splitlines()[1:]:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        calls |= expand(line, seen)
    return calls


def resolvable(name):
    """A system call of this architecture (0: the native one); libseccomp
    gives negative numbers to unknown names and to other architectures'."""
    return seccomp.resolve_syscall(0, name) >= 0


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: unit_seccomp.py UNITFILE COMMAND [ARGS...]")
    unit = unit_settings(sys.argv[1])
    allow, deny = set(), set()
    for value in unit.get("SystemCallFilter", []):
        target = allow
        if value.startswith("~"):
            target, value = deny, value[1:]
        for name in value.split():
            target |= expand(name, set())
    if not allow:
        sys.exit("unit_seccomp.py: the unit has no SystemCallFilter= allow list")
    allow -= deny
    err = unit.get("SystemCallErrorNumber", ["EPERM"])[-1]
    err_no = getattr(errno, err)

    f = seccomp.SyscallFilter(defaction=seccomp.ERRNO(err_no))

    def deny(action_errno, name, *args):
        # libseccomp refuses a rule whose action is the default one.
        if action_errno != err_no:
            f.add_rule(seccomp.ERRNO(action_errno), name, *args)
    special = set()
    if unit.get("MemoryDenyWriteExecute", ["no"])[-1] == "yes":
        special |= {"mmap", "mprotect", "pkey_mprotect", "shmat"}
    families = unit.get("RestrictAddressFamilies", [])
    if families:
        special.add("socket")
    for name in sorted(allow - special):
        if resolvable(name):
            f.add_rule(seccomp.ALLOW, name)

    if "mmap" in special and "mmap" in allow:
        # Allowed unless both PROT_WRITE and PROT_EXEC are asked for.
        f.add_rule(seccomp.ALLOW, "mmap", seccomp.Arg(2, seccomp.MASKED_EQ, PROT_EXEC, 0))
        f.add_rule(seccomp.ALLOW, "mmap", seccomp.Arg(2, seccomp.MASKED_EQ, PROT_WRITE, 0))
        deny(errno.EPERM, "mmap",
             seccomp.Arg(2, seccomp.MASKED_EQ, PROT_EXEC | PROT_WRITE, PROT_EXEC | PROT_WRITE))
    for name in ("mprotect", "pkey_mprotect"):
        if name in special and name in allow and resolvable(name):
            f.add_rule(seccomp.ALLOW, name, seccomp.Arg(2, seccomp.MASKED_EQ, PROT_EXEC, 0))
            deny(errno.EPERM, name, seccomp.Arg(2, seccomp.MASKED_EQ, PROT_EXEC, PROT_EXEC))
    if "shmat" in special and "shmat" in allow:
        shm_exec = 0o100000
        f.add_rule(seccomp.ALLOW, "shmat", seccomp.Arg(2, seccomp.MASKED_EQ, shm_exec, 0))
        deny(errno.EPERM, "shmat", seccomp.Arg(2, seccomp.MASKED_EQ, shm_exec, shm_exec))
    if "socket" in special and "socket" in allow:
        names = " ".join(families).split()
        for fam in names:
            f.add_rule(seccomp.ALLOW, "socket",
                       seccomp.Arg(0, seccomp.EQ, int(getattr(socket, fam))))
        others = {getattr(socket, n) for n in dir(socket)
                  if n.startswith("AF_") and isinstance(getattr(socket, n), int)}
        for fam in sorted({int(x) for x in others} - {int(getattr(socket, n)) for n in names}):
            deny(errno.EAFNOSUPPORT, "socket", seccomp.Arg(0, seccomp.EQ, fam))

    f.load()
    os.execv(sys.argv[2], sys.argv[2:])


if __name__ == "__main__":
    main()
