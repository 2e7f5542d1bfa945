#!/usr/bin/env bash
# tests/matrix/versions.sh: the glibc versions the matrix can run, one per line.
#
#   for v in $(tests/matrix/versions.sh); do tests/matrix/run.sh "$v" ./victim & ... done
#
# The host's version (2.36 on bookworm) always comes first, then every complete root in
# $CACHE/roots in version order. Only the host's version if nothing was fetched.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"

host=$(matrix_host_version)
printf '%s\n' "$host"
shopt -s nullglob
for r in "$MATRIX_CACHE"/roots/*/; do
    v=$(basename -- "$r")
    [[ $v != "$host" && $v =~ ^[0-9]+\.[0-9]+$ ]] || continue
    matrix_have_root "$v" && printf '%s\n' "$v"
done | sort -V
