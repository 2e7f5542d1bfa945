#!/usr/bin/env bash
# tests/matrix/debuginfo.sh: the debug-info directory of a glibc of the matrix.
#
#   tests/matrix/debuginfo.sh VERSION
#
# Prints $CACHE/roots/VERSION/usr/lib/debug (it holds .build-id/xx/yyyy.debug for that
# root's libc and ld.so, from libc6-dbg), meant for HS_DEBUGINFO_PATH:
#   HS_DEBUGINFO_PATH=$(tests/matrix/debuginfo.sh "$v") build/heapscope attach "$pid"
# Prints nothing for the host's version ("host"): its debug files, if libc6-dbg is
# installed, are on the system's default path already. Exit 2 if VERSION is not fetched.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"

if [[ $# -ne 1 ]]; then
    echo "usage: $0 VERSION" >&2
    exit 2
fi
ver=$1
host=$(matrix_host_version)
if [[ $ver == host || $ver == "$host" ]]; then
    exit 0
fi
if ! matrix_have_root "$ver"; then
    echo "debuginfo.sh: glibc $ver is not in $MATRIX_CACHE (run tests/matrix/fetch.sh)" >&2
    exit 2
fi
d=$(matrix_root "$ver")/usr/lib/debug
[[ -d $d ]] || { echo "debuginfo.sh: $d missing" >&2; exit 2; }
printf '%s\n' "$d"
