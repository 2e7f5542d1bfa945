# heapscope-gdb.py - the `heapscope` command inside gdb.
#
#   (gdb) source PREFIX/share/heapscope/heapscope-gdb.py
#   (gdb) heapscope [OPTIONS]
#
# Reports on gdb's current inferior by running the heapscope program (the
# HEAPSCOPE environment variable, else the one on PATH): a live process
# gdb holds stopped is read as it is (`heapscope attach PID`: nothing is
# stopped or resumed, gdb stays its tracer), a core gdb has loaded with
# `heapscope core CORE EXECUTABLE` (gdb's executable and, when it names a
# directory, its sysroot passed on). The report goes to gdb's console;
# a failure is a gdb error (one line, heapscope's own), not a traceback.
import os
import re
import shutil
import subprocess

import gdb


def _program():
    prog = os.environ.get("HEAPSCOPE")
    if prog and not (os.path.isfile(prog) and os.access(prog, os.X_OK)):
        raise gdb.GdbError("heapscope: HEAPSCOPE=%s is not an executable file" % prog)
    prog = prog or shutil.which("heapscope")
    if not prog:
        raise gdb.GdbError("heapscope: the heapscope program is not on PATH (install it, or set HEAPSCOPE)")
    return prog


def _core_file():
    # gdb 13 has no Python accessor for it: 'info target' names it.
    text = gdb.execute("info target", to_string=True)
    m = re.search(r"core dump file:\s*`(.*)', file type", text)
    return m.group(1) if m else None


def _command(options):
    inf = gdb.selected_inferior()
    conn = inf.connection.type if inf.connection else None
    if conn == "core":
        core = _core_file()
        exe = gdb.current_progspace().filename
        if not core:
            raise gdb.GdbError("heapscope: gdb names no core file for this inferior")
        argv = ["core"] + options
        sysroot = gdb.parameter("sysroot") or ""
        if sysroot and not sysroot.startswith("target:") and os.path.isdir(sysroot):
            argv.append("--sysroot=" + sysroot)
        return argv + ["--", core] + ([exe] if exe else [])
    if conn == "native" and inf.pid > 0:
        return ["attach"] + options + ["--", str(inf.pid)]
    if inf.pid <= 0:
        raise gdb.GdbError("heapscope: no process and no core: attach to a process, run one, or load a core first")
    raise gdb.GdbError("heapscope: the inferior is on a %s target: heapscope reads a process of this machine or a core"
                       % conn)


class Heapscope(gdb.Command):
    """Report on the malloc heap of the process gdb holds, or of the core it has loaded.

Usage: heapscope [OPTIONS]

Runs heapscope(1) on the current inferior: a live process gdb holds
stopped is read as it is (`heapscope attach PID`; heapscope neither stops
nor resumes it, and gdb stays its tracer), a core gdb has loaded is read
with `heapscope core CORE EXECUTABLE` (gdb's sysroot passed on when it is a
directory). OPTIONS are heapscope's: --json, -p, --format=FMT, --chunks,
--bins, --leaks[=all], --compare, --no-debuginfo, --redact, -o FILE, ...
The report goes to gdb's console. The program is $HEAPSCOPE, else the
heapscope on PATH. A thread stopped inside malloc makes the report say the
snapshot is not consistent (heapscope's exit status 5: a gdb error after
the report)."""

    def __init__(self):
        super().__init__("heapscope", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        options = gdb.string_to_argv(arg)
        argv = [_program()] + _command(options)
        try:
            run = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, check=False)
        except OSError as e:
            raise gdb.GdbError("heapscope: cannot run %s: %s" % (argv[0], e.strerror))
        out = run.stdout.decode("utf-8", "replace")
        err = run.stderr.decode("utf-8", "replace").strip()
        gdb.write(out)
        gdb.flush()
        if run.returncode != 0:
            lines = err.splitlines()
            raise gdb.GdbError(lines[-1] if lines else "heapscope: exit status %d" % run.returncode)


Heapscope()
