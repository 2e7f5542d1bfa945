#!/usr/bin/env bash
# Proves tests/layering.sh can fail: on copies of the tree with an upward
# include, and with a circle of includes inside one folder, it must say so.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"
T=$(new_tmpdir)
copy() { rm -rf "$T/tree"; mkdir -p "$T/tree"; cp -r "$ROOT/lib" "$ROOT/arch" "$ROOT/cmd" "$T/tree/"; }
layering() { LAYERING_ROOT=$T/tree HS_RESULTS='' "$ROOT/tests/layering.sh" none 2>&1; }

copy
out=$(layering)
check "the tree as it is passes" $? "$out"

copy
sed -i '0,/^#include/s@^#include@#include "report/report.h"\n#include@' "$T/tree/lib/base/hs.c"
out=$(layering)
grep -q 'lib/base/hs.c includes lib/report/report.h, a folder above its own' <<<"$out"
check "base/hs.c including report/report.h is refused" $? "$out"

copy
sed -i '0,/^#include "/s@^#include "@#include "glibc/bins.h"\n#include "@' "$T/tree/lib/glibc/walk.h"
out=$(layering)
grep -q 'a circle of includes:.*glibc/bins' <<<"$out"
check "walk.h and bins.h including each other is a circle" $? "$out"
summary
