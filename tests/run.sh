#!/usr/bin/env bash
# make check: the cmocka unit tests, the fixture self-checks, then the
# end-to-end suites twice (ASan+UBSan build, then the optimised build).
# Ends with "N passed, N failed"; exits non-zero if anything failed.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 2
RESULTS=$(mktemp /tmp/heapscope-results.XXXXXX)
trap 'rm -f "$RESULTS"' EXIT
export HS_RESULTS=$RESULTS
BOUND=${HS_SUITE_TIMEOUT:-600}

# suite NAME CMD...: runs a suite bounded in time; a suite that dies or
# times out without reporting counts as one failure.
suite() {
	local name=$1 before after rc=0
	shift
	before=$(wc -l <"$RESULTS")
	timeout -k 10 "$BOUND" "$@" || rc=$?
	after=$(wc -l <"$RESULTS")
	if [[ $after -eq $before ]]; then
		echo "$name: no result (exit $rc$([[ $rc -eq 124 ]] && echo ", timed out after ${BOUND}s"))"
		echo "0 1" >>"$RESULTS"
	fi
}

# The glibc matrix (make matrix): its fixtures are built once against the
# 2.31 sysroot, before the suites that use them.
mapfile -t versions < <(tests/matrix/versions.sh)
matrix_ok=no
if [[ ${#versions[@]} -gt 1 ]]; then
	if make -s fixtures-matrix; then matrix_ok=yes; else
		echo "=== glibc matrix: the fixtures did not build against the 2.31 sysroot"
		echo "0 1" >>"$RESULTS"
	fi
fi

echo "=== unit tests"
shopt -s nullglob
units=(build/tests/test_*)
if [[ ${#units[@]} -eq 0 ]]; then
	echo "no unit tests built (build/tests/test_* is empty)"
fi
for t in "${units[@]}"; do
	[[ -x $t ]] || continue
	rc=0
	timeout -k 10 300 "$t" >"$RESULTS.unit" 2>&1 || rc=$?
	if [[ $rc -eq 0 ]]; then
		echo "  ok    $t"
		echo "1 0" >>"$RESULTS"
	else
		echo "  FAIL  $t: exit $rc"
		sed 's/^/        | /' "$RESULTS.unit" | tail -n 40
		echo "0 1" >>"$RESULTS"
	fi
done
rm -f "$RESULTS.unit"

echo "=== layering (README, Layout: each folder of lib/ uses only those below it)"
tests/layering.sh build/obj
suite layering_selftest tests/e2e/layering_selftest.sh

echo "=== fixtures"
suite fixtures tests/e2e/fixtures.sh

for bin in build/heapscope-san build/heapscope; do
	if [[ ! -x $bin ]]; then
		echo "=== $bin: missing"
		echo "0 1" >>"$RESULTS"
		continue
	fi
	for s in exact bad_input signals sources storm trim leaks harm diagnose replay replay_input compare; do
		echo "=== $s with HEAPSCOPE=$bin"
		# 200 storm attaches with the optimised build; the sanitizer build,
		# ten times slower, does 30 of them.
		# Likewise the replay proof: 5 generated traces (of 20) under it.
		STORM_ATTACHES=$([[ $bin == *-san ]] && echo 30 || echo 200) \
			REPLAY_SEEDS=$([[ $bin == *-san ]] && echo 5 || echo 20) \
			HEAPSCOPE=$bin suite "$s ($bin)" "tests/e2e/$s.sh"
	done
done

# The glibc matrix: every exactness check on every version, with its debug
# files and with --no-debuginfo (the symbol-free path), optimised build.
if [[ ${#versions[@]} -le 1 ]]; then
	echo "=== glibc matrix: NOT PRESENT, only the host's glibc ${versions[0]:-} was tested ('make matrix' fetches 2.31, 2.41, 2.43)"
elif [[ $matrix_ok == yes ]]; then
	for v in "${versions[@]}"; do
		for mode in "" --no-debuginfo; do
			[[ $v == 2.36 && -z $mode ]] && continue # done above, twice
			echo "=== exact on glibc $v ${mode:-(debug symbols)}"
			HS_GLIBC=$v HS_ATTACH_ARGS=$mode HEAPSCOPE=build/heapscope suite "exact glibc $v $mode" tests/e2e/exact.sh
		done
		# Verdicts and remedies differ by version (tunables, fastbins).
		if [[ $v != 2.36 ]]; then
			echo "=== diagnose on glibc $v"
			HS_GLIBC=$v HEAPSCOPE=build/heapscope suite "diagnose glibc $v" tests/e2e/diagnose.sh
		fi
		# the reference core against this glibc (debug symbols only: the
		# symbol-free path is exact's business)
		if [[ $v != 2.36 ]]; then
			echo "=== replay on glibc $v"
			HS_GLIBC=$v HEAPSCOPE=build/heapscope suite "replay glibc $v" tests/e2e/replay.sh
			echo "=== compare on glibc $v"
			HS_GLIBC=$v HEAPSCOPE=build/heapscope suite "compare glibc $v" tests/e2e/compare.sh
		fi
	done
fi

read -r passed failed < <(awk '{p += $1; f += $2} END {print p + 0, f + 0}' "$RESULTS")
echo
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
