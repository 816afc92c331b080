# SPDX-License-Identifier: GPL-2.0-or-later
"""Run a program on a pseudo-terminal and answer its prompts.

usage: pty_answer.py PROMPT ANSWER [PROMPT ANSWER ...] -- PROGRAM [ARGS...]

The program gets the pty as stdin, stdout and stderr. Each ANSWER (plus a
newline) is typed only once the program has printed PROMPT, which it does
after setting the terminal up, so anything echoed back is the program's
doing. Everything the terminal shows is written to stdout (as received);
the exit status is the program's, 124 when a prompt or the exit takes
longer than 20 s.
"""
import os
import select
import subprocess
import sys
import time

TIMEOUT_S = 20


def main():
    sep = sys.argv.index("--")
    pairs = sys.argv[1:sep]
    cmd = sys.argv[sep + 1:]
    master, slave = os.openpty()
    proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave,
                            start_new_session=True)
    os.close(slave)
    seen = b""
    pos = 0

    def read_some(deadline):
        nonlocal seen
        r, _, _ = select.select([master], [], [], max(0.0, deadline - time.time()))
        if not r:
            return False
        try:
            data = os.read(master, 4096)
        except OSError:      # EIO: the program closed the terminal
            data = b""
        if not data:
            return None
        seen += data
        return True

    for i in range(0, len(pairs), 2):
        prompt, answer = pairs[i].encode(), pairs[i + 1].encode()
        deadline = time.time() + TIMEOUT_S
        while prompt not in seen[pos:]:
            got = read_some(deadline)
            if not got:
                sys.stdout.write(seen.decode(errors="replace"))
                sys.stdout.write("\n[pty_answer: no prompt %r]\n" % pairs[i])
                proc.kill()
                proc.wait()
                return 124
        pos = seen.index(prompt, pos) + len(prompt)
        os.write(master, answer + b"\n")
    deadline = time.time() + TIMEOUT_S
    while read_some(deadline):
        pass
    try:
        rc = proc.wait(timeout=max(0.1, deadline - time.time()))
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        rc = 124
    sys.stdout.write(seen.decode(errors="replace"))
    return rc


if __name__ == "__main__":
    sys.exit(main())
