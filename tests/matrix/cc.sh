#!/usr/bin/env bash
# tests/matrix/cc.sh: compile C against the oldest glibc of the matrix (2.31 sysroot).
#
#   tests/matrix/cc.sh [gcc options] -o victim victim.c
#
# Runs the host's gcc with --sysroot=$CACHE/roots/2.31 (libc6-dev 2.31 + linux-libc-dev
# put there by fetch.sh) so that the binary needs only symbol versions 2.31 has
# (GLIBC_2.2.5, GLIBC_2.3.x, ...; nothing from 2.32+, not even __libc_start_main@2.34)
# and runs under every glibc of the matrix: 2.31, the host's 2.36, 2.41, 2.43.
# -B and -L are needed because Debian's gcc searches its own /usr/lib/x86_64-linux-gnu
# (crt1.o, libc.so) before the sysroot's. -pthread links 2.31's libpthread (pthread_*
# lived there until 2.34). Set MATRIX_SYSROOT=X.Y to use another root with -dev files.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"

sv=${MATRIX_SYSROOT:-2.31}
R=$(matrix_root "$sv")
if ! matrix_have_root "$sv" || [[ ! -f $R/usr/lib/$MATRIX_TRIPLET/libc.so ]]; then
    echo "cc.sh: no glibc $sv sysroot in $MATRIX_CACHE (run tests/matrix/fetch.sh)" >&2
    exit 2
fi
exec "${CC:-gcc}" --sysroot="$R" \
    -B"$R/usr/lib/$MATRIX_TRIPLET/" \
    -L"$R/usr/lib/$MATRIX_TRIPLET" -L"$R/lib/$MATRIX_TRIPLET" \
    -pthread "$@"
