#!/usr/bin/env bash
# tests/matrix/selftest.sh: check the fetched matrix end to end (run after fetch.sh).
#
#   tests/matrix/selftest.sh
#
# 1. Builds one small victim (malloc/free, a pthread, malloc_stats) with cc.sh and checks
#    that it needs no symbol version newer than the sysroot's glibc (objdump -T).
# 2. For every version of versions.sh: starts it with run.sh, checks that the started pid
#    is the program's own, that glibc reports that version, that malloc_stats printed,
#    that /proc/PID/maps and gdb's "info sharedlibrary" show the intended libc, and that
#    with debuginfo.sh's directory gdb reads libc's debug info (sizeof main_arena).
# 3. Checks that each root's libc and ld.so have a .build-id/xx/yyyy.debug in that root
#    whose own build-id is the same.
# Exit 0 if everything passed, 1 otherwise.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"

tmp=$(mktemp -d)
pid=""
# shellcheck disable=SC2317  # invoked by the trap
cleanup() {
    if [[ -n $pid ]]; then kill "$pid" 2>/dev/null || true; fi
    rm -rf -- "$tmp"
}
trap cleanup EXIT

fail=0
ok()  { printf '  ok    %s\n' "$*"; }
bad() { printf '  FAIL  %s\n' "$*"; fail=1; }
note() { printf '  --    %s\n' "$*"; }

build_id() { readelf -n -- "$1" 2>/dev/null | awk '/Build ID:/ && !n { print $3; n = 1 }'; } # no early exit: SIGPIPE under pipefail

# The file's build-id has a matching debug file under DIR/.build-id/.
check_debug() {
    local what=$1 file=$2 dir=$3 id dbg
    id=$(build_id "$file")
    if [[ -z $id ]]; then bad "$what: $file has no build-id"; return; fi
    dbg=$dir/.build-id/${id:0:2}/${id:2}.debug
    if [[ ! -f $dbg ]]; then
        bad "$what: no $dbg"
    elif [[ $(build_id "$dbg") != "$id" ]]; then
        bad "$what: $dbg has build-id $(build_id "$dbg"), not $id"
    else
        ok "$what: build-id $id matches ${dbg#"$MATRIX_CACHE"/}"
    fi
}

host=$(matrix_host_version)
sv=${MATRIX_SYSROOT:-2.31}

echo "build: one victim with cc.sh (glibc $sv sysroot)"
cat >"$tmp/victim.c" <<'C'
#include <gnu/libc-version.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *worker(void *arg)
{
    void *p[8];
    for (int i = 0; i < 8; i++)
        p[i] = malloc(100 + i * 50);
    for (int i = 0; i < 8; i += 2)
        free(p[i]);
    pthread_exit(arg);              /* dlopens libgcc_s; the odd chunks stay in use */
}

int main(int argc, char **argv)
{
    void *a[16];
    pthread_t t;
    for (int i = 0; i < 16; i++) {
        a[i] = malloc(32 * (i + 1));
        memset(a[i], i, 32 * (i + 1));
    }
    for (int i = 0; i < 16; i += 3)
        free(a[i]);
    if (pthread_create(&t, NULL, worker, NULL) != 0 || pthread_join(t, NULL) != 0)
        return 1;
    printf("glibc %s pid %d headers %d.%d\n", gnu_get_libc_version(), (int)getpid(),
           __GLIBC__, __GLIBC_MINOR__);
    fflush(stdout);
    malloc_stats();                 /* to stderr */
    if (argc > 1)
        sleep((unsigned)atoi(argv[1]));
    return 0;
}
C
if ! "$here/cc.sh" -O1 -Wall -Werror -o "$tmp/victim" "$tmp/victim.c"; then
    bad "cc.sh failed"
    exit 1
fi
vers=$(objdump -T "$tmp/victim" | grep -o 'GLIBC_[0-9.]*' | sed 's/^GLIBC_//' | sort -uV | tr '\n' ' ')
newest=${vers% }
newest=${newest##* }
if [[ $(printf '%s\n' "$newest" "$sv" | sort -V | tail -n 1) == "$sv" ]]; then
    ok "symbol versions needed: ${vers% } (none newer than $sv)"
else
    bad "symbol versions needed: ${vers% } (newer than $sv)"
fi

have_gdb=0
command -v gdb >/dev/null && have_gdb=1

for v in $("$here/versions.sh"); do
    echo "glibc $v$([[ $v == "$host" ]] && echo " (host)")"
    out=$tmp/out-$v
    "$here/run.sh" "$v" "$tmp/victim" 60 >"$out" 2>&1 &
    pid=$!
    for _ in $(seq 100); do
        grep -q '^Total (incl. mmap)' "$out" && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if grep -qx "glibc $v pid $pid headers $sv" "$out"; then
        ok "runs as pid $pid and reports glibc $v (built with $sv headers)"
    else
        bad "first line is \"$(head -n 1 "$out")\", want \"glibc $v pid $pid headers $sv\""
    fi
    if grep -q '^Arena 1:' "$out" && grep -q '^Total (incl. mmap)' "$out"; then
        ok "malloc_stats: $(grep -c '^Arena' "$out") arenas, $(grep -A2 '^Total' "$out" | awk '/in use/ { print $NF }') bytes in use"
    else
        bad "malloc_stats output missing: $(tr '\n' '|' <"$out")"
    fi

    libc=$(awk '$6 ~ /\/libc(-[0-9.]+)?\.so(\.6)?$/ { print $6; exit }' "/proc/$pid/maps")
    if [[ $v == "$host" ]]; then
        want_dir=/
        dbgdir=/usr/lib/debug
    else
        want_dir=$(matrix_root "$v")/
        dbgdir=$("$here/debuginfo.sh" "$v")
    fi
    if [[ $libc == "$want_dir"* && ( $v != "$host" || $libc != "$MATRIX_CACHE"/* ) ]]; then
        ok "maps: $libc"
    else
        bad "maps: libc is \"$libc\", want one under $want_dir"
    fi

    if [[ $have_gdb == 1 ]]; then
        g=$(gdb -batch -nx -iex 'set debuginfod enabled off' \
                -iex "set debug-file-directory $dbgdir" -p "$pid" \
                -ex 'info sharedlibrary' -ex 'printf "ARENA %#lx\n", sizeof(main_arena)' 2>&1 || true)
        line=$(grep -m 1 -E '/libc(-[0-9.]+)?\.so(\.6)?$' <<<"$g")
        lib=${line##* }
        if [[ -n $lib && $(readlink -f -- "$lib") == "$(readlink -f -- "$libc")" ]]; then
            ok "gdb info sharedlibrary: $lib"
        else
            bad "gdb info sharedlibrary: libc line \"$line\""
        fi
        if [[ $line != *"(*)"* ]] && grep -q '^ARENA ' <<<"$g"; then
            ok "gdb read libc's debug info from $dbgdir: sizeof(main_arena) = $(sed -n 's/^ARENA //p' <<<"$g")"
        elif [[ $v == "$host" ]]; then
            bad "no debug info for the host libc: libc6-dbg is not installed (make deps installs it)"
        else
            bad "gdb found no debug info for libc in $dbgdir"
        fi
    else
        bad "gdb is not installed (make deps installs it): the gdb checks cannot run"
    fi

    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    pid=""

    if [[ $v != "$host" ]]; then
        check_debug "libc" "$(readlink -f -- "$libc")" "$dbgdir"
        check_debug "ld.so" "$(matrix_ldso "$v")" "$dbgdir"
    fi
done

if [[ $fail == 0 ]]; then
    echo "selftest: all checks passed"
else
    echo "selftest: FAILED"
fi
exit "$fail"
