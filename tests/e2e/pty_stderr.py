#!/usr/bin/env python3
"""pty_stderr.py MODE OUT ERR PROGRAM [ARGS...]: runs PROGRAM with its
stdout the file OUT and its stderr a pseudo-terminal, whose bytes go to the
file ERR; exits with PROGRAM's status (124 if it ran past 120 s: killed).
MODE "read" drains the terminal as it comes; "xoff" stops the terminal's
output first (tcflow TCOOFF, as a user's ^S does) and resumes it only once
PROGRAM has exited: every write PROGRAM makes to it meanwhile would block,
as on a terminal that does not drain; the terminal's buffer is filled
first (those bytes are not in ERR), so that PROGRAM's first write to it
would already block. PTY_TIMEOUT (seconds, 120) bounds PROGRAM's run."""
import os
import select
import signal
import sys
import termios
import time

mode, out, err = sys.argv[1:4]
master, slave = os.openpty()
filled = 0
if mode == "xoff":
    termios.tcflow(slave, termios.TCOOFF)
    fill = os.open(os.ttyname(slave), os.O_WRONLY | os.O_NONBLOCK | os.O_NOCTTY)
    try:
        while True:
            filled += os.write(fill, b"x" * 256)
    except BlockingIOError:
        pass
    os.close(fill)
pid = os.fork()
if pid == 0:
    os.dup2(os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), 1)
    os.dup2(slave, 2)
    os.dup2(os.open("/dev/null", os.O_RDONLY), 0)
    os.close(master)
    os.close(slave)
    os.execv(sys.argv[4], sys.argv[4:])
got = bytearray()


def drain(timeout):
    while True:
        r, _, _ = select.select([master], [], [], timeout)
        if not r:
            return
        try:
            b = os.read(master, 65536)
        except OSError:
            return
        if not b:
            return
        got.extend(b)


deadline = time.monotonic() + float(os.environ.get("PTY_TIMEOUT", "120"))
status = None
while status is None:
    if mode == "read":
        drain(0.02)
    else:
        time.sleep(0.02)
    p, st = os.waitpid(pid, os.WNOHANG)
    if p:
        status = os.waitstatus_to_exitcode(st) & 0xFF
    elif time.monotonic() > deadline:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        status = 124
if mode == "xoff":
    termios.tcflow(slave, termios.TCOON)
drain(0.2)
with open(err, "wb") as f:
    f.write(bytes(got[filled:]))
sys.exit(status)
