# shellcheck shell=bash
# tests/matrix/lib.sh: helpers shared by the glibc matrix scripts (sourced, not run).
#
# The matrix cache lives OUTSIDE the work tree, by default /var/cache/heapscope-matrix,
# overridable with HEAPSCOPE_MATRIX. Layout:
#   $CACHE/roots/<X.Y>/      one extracted glibc per upstream version (libc6 + libc6-dbg,
#                            for 2.31 also libc6-dev + linux-libc-dev = a sysroot)
#   $CACHE/roots/<X.Y>/.stamp  written last: "debian-version=..." and the .debs used;
#                            a root without it is incomplete and ignored
#   $CACHE/roots/<host>/HOST the host's glibc: only a description, nothing extracted,
#                            run.sh runs programs directly for this version
#   $CACHE/stamps/<suite>    upstream version last fetched from that Debian suite
#   $CACHE/apt/, $CACHE/debs/  private apt state and the downloaded .debs

MATRIX_CACHE=${HEAPSCOPE_MATRIX:-/var/cache/heapscope-matrix}
MATRIX_TRIPLET=x86_64-linux-gnu

# The host's glibc as X.Y ("2.36" on bookworm), from the running libc itself.
matrix_host_version() {
    local v
    v=$(getconf GNU_LIBC_VERSION 2>/dev/null) || v=""
    v=${v#glibc }
    [[ $v =~ ^[0-9]+\.[0-9]+ ]] || { echo "matrix: cannot tell the host glibc version" >&2; return 1; }
    printf '%s\n' "${BASH_REMATCH[0]}"
}

# Directory of the extracted root for VERSION (no check that it exists).
matrix_root() { printf '%s/roots/%s\n' "$MATRIX_CACHE" "$1"; }

# True if VERSION has a complete extracted root (stamp present, not the host).
matrix_have_root() {
    local r
    r=$(matrix_root "$1")
    [[ -f $r/.stamp && ! -e $r/HOST ]]
}

# The dynamic loader of an extracted root. The regular file, not a symlink to it, so
# /proc/PID/exe of a program run through it names the file inside the root.
#   2.31 (bullseye, /lib layout):  lib/x86_64-linux-gnu/ld-2.31.so
#   2.41+ (merged /usr):           usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2
matrix_ldso() {
    local r c
    r=$(matrix_root "$1")
    for c in "$r/usr/lib/$MATRIX_TRIPLET/ld-linux-x86-64.so.2" \
             "$r/lib/$MATRIX_TRIPLET/ld-linux-x86-64.so.2" \
             "$r/usr/lib64/ld-linux-x86-64.so.2" \
             "$r/lib64/ld-linux-x86-64.so.2"; do
        if [[ -e $c ]]; then
            readlink -f -- "$c"
            return 0
        fi
    done
    echo "matrix: no ld-linux-x86-64.so.2 in $r" >&2
    return 1
}

# Colon-separated library directories of an extracted root, for ld.so --library-path.
# 2.31 keeps libc in lib/, its -dev files in usr/lib/; 2.41+ only have usr/lib/.
matrix_libdirs() {
    local r d out=""
    r=$(matrix_root "$1")
    for d in "$r/lib/$MATRIX_TRIPLET" "$r/usr/lib/$MATRIX_TRIPLET"; do
        # A symlinked lib/ (merged /usr) would only repeat usr/lib/.
        if [[ -d $d && ! -L ${d%/"$MATRIX_TRIPLET"} ]]; then
            out=${out:+$out:}$d
        fi
    done
    [[ -n $out ]] || { echo "matrix: no library directory in $r" >&2; return 1; }
    printf '%s\n' "$out"
}
