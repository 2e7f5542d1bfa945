#!/usr/bin/env python3
"""held_stdout.py DIR PROGRAM [ARGS...]: runs PROGRAM with its stdout a
pipe of one page (F_SETPIPE_SZ) that nobody reads until DIR/drain exists,
its stderr DIR/err; writes its pid to DIR/pid first, then, once drained,
its stdout to DIR/out, and exits with its status. A program whose output
is over a page stays blocked in write() until the test says so: it is
still running, whatever the machine's speed (stopclock.sh)."""
import fcntl
import os
import sys
import time

F_SETPIPE_SZ = 1031
d = sys.argv[1]
r, w = os.pipe()
fcntl.fcntl(w, F_SETPIPE_SZ, 4096)
pid = os.fork()
if pid == 0:
    os.dup2(w, 1)
    os.dup2(os.open(os.path.join(d, "err"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), 2)
    os.close(r)
    os.close(w)
    os.execv(sys.argv[2], sys.argv[2:])
os.close(w)
with open(os.path.join(d, "pid.tmp"), "w") as f:
    f.write(str(pid))
os.rename(os.path.join(d, "pid.tmp"), os.path.join(d, "pid"))
while not os.path.exists(os.path.join(d, "drain")):
    time.sleep(0.01)
with open(os.path.join(d, "out"), "wb") as o:
    while True:
        b = os.read(r, 65536)
        if not b:
            break
        o.write(b)
_, st = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(st) & 0xFF)
