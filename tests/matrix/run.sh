#!/usr/bin/env bash
# tests/matrix/run.sh: run a program under a given glibc of the matrix.
#
#   tests/matrix/run.sh VERSION PROGRAM [ARGS...]
#
# VERSION is one line of versions.sh ("2.36", "2.31", ...) or "host". For the host's own
# glibc the program is exec'd directly. Otherwise this execs that root's dynamic loader:
#   $CACHE/roots/V/.../ld-linux-x86-64.so.2 --library-path <root lib dirs> PROGRAM ARGS
# Either way the process keeps this script's pid, so "run.sh V prog & pid=$!" gives the
# pid to attach to. Under an explicit loader /proc/PID/exe and /proc/PID/comm are the
# loader's (ld-2.31.so / ld-linux-x86-64.so.2), not PROGRAM's.
#
# The program must only need symbol versions the target glibc has: build it with cc.sh
# (2.31 sysroot) to run it on every version. Libraries outside glibc (libgcc_s,
# libstdc++, ...) still come from the host's directories.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"

if [[ $# -lt 2 ]]; then
    echo "usage: $0 VERSION PROGRAM [ARGS...]" >&2
    exit 2
fi
ver=$1
shift

# ld.so does not search PATH, so resolve PROGRAM the way exec would, for both cases.
prog=$1
shift
if [[ $prog != */* ]]; then
    p=$(type -P -- "$prog") || { echo "run.sh: $prog: not found" >&2; exit 127; }
    prog=$p
fi

host=$(matrix_host_version)
if [[ $ver == host || $ver == "$host" ]]; then
    exec "$prog" "$@"
fi

if ! matrix_have_root "$ver"; then
    echo "run.sh: glibc $ver is not in $MATRIX_CACHE (run tests/matrix/fetch.sh; have: $("$here/versions.sh" | tr '\n' ' '))" >&2
    exit 2
fi
ldso=$(matrix_ldso "$ver")
libs=$(matrix_libdirs "$ver")
exec "$ldso" --library-path "$libs" "$prog" "$@"
