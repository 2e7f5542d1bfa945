#!/usr/bin/env bash
# tests/fuzz/symbols-bases.sh DIR: the real files fuzz_symbols mutates, one
# directory a glibc of the matrix (DIR/<version>/libc.so.6 and libc.debug):
# the host's libc with its debug file from libc6-dbg, and every fetched
# version's (make matrix). Debug files are written with their sections
# decompressed (objcopy --decompress-debug-sections) so that mutations land
# in DWARF, not in zlib streams (inflating a compressed one also took
# libelf 1.6 s a run here: the fuzzer would spend its time in zlib). A version without its debug
# file gets libc alone (the symbol-free path).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../matrix/lib.sh
. "$here/../matrix/lib.sh"
out=${1:?usage: $0 DIR}
mkdir -p "$out"
host=$(matrix_host_version)

# debug_of LIBC ROOT: the debug file of LIBC under ROOT/usr/lib/debug, by build-id.
debug_of() {
    local id
    id=$(readelf -n "$1" 2>/dev/null | awk '/Build ID:/ {print $3; exit}')
    [[ -n $id ]] || return 1
    local f=$2/usr/lib/debug/.build-id/${id:0:2}/${id:2}.debug
    [[ -f $f ]] && printf '%s\n' "$f"
}

for v in $("$here/../matrix/versions.sh"); do
    if [[ $v == "$host" ]]; then
        r=""
    else
        r=$(matrix_root "$v")
    fi
    libc=""
    for c in "$r/usr/lib/$MATRIX_TRIPLET/libc.so.6" "$r/lib/$MATRIX_TRIPLET/libc.so.6"; do
        [[ -e $c ]] && { libc=$(readlink -f -- "$c"); break; }
    done
    [[ -n $libc ]] || { echo "symbols-bases: no libc.so.6 for glibc $v" >&2; continue; }
    mkdir -p "$out/$v"
    cp -- "$libc" "$out/$v/libc.so.6"
    if dbg=$(debug_of "$libc" "${r:-}"); then
        objcopy --decompress-debug-sections "$dbg" "$out/$v/libc.debug"
    else
        echo "symbols-bases: glibc $v has no debug file (libc6-dbg): libc alone" >&2
        rm -f "$out/$v/libc.debug"
    fi
done
ls "$out"
