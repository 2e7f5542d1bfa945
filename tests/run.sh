#!/usr/bin/env bash
# make check: the cmocka unit tests, the fixture self-checks, then the
# end-to-end suites twice (ASan+UBSan build, then the optimised build).
# Passed, failed and skipped are counted apart ($HS_RESULTS holds one
# "PASSED FAILED SKIPPED" line per suite; an older "PASSED FAILED" line
# counts 0 skipped); each suite prints its three, and the last line is
# exactly "N passed, N failed, N skipped". A skip is never a pass and always
# says why; what `make deps` and `make matrix` provide (the glibc matrix,
# debuginfod, gdb, ...) is a failure when missing, not a skip.
# HS_SKIP_MATRIX=1 leaves the glibc matrix out on purpose: one skip, named.
# Exits non-zero if anything failed.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 2
RESULTS=$(mktemp /tmp/heapscope-results.XXXXXX)
trap 'rm -f "$RESULTS"' EXIT
export HS_RESULTS=$RESULTS
BOUND=${HS_SUITE_TIMEOUT:-600}

# result P F S: one result line (what a suite's summary would append).
result() {
	echo "$1 $2 $3" >>"$RESULTS"
}

# skipped NAME REASON: a whole part not run, and why (counts one skip).
skipped() {
	echo "  skip  $1: $2"
	result 0 0 1
}

# failed NAME REASON: a part that could not run although it should (one failure).
failed() {
	echo "  FAIL  $1: $2"
	result 0 1 0
}

# suite NAME CMD...: runs a suite bounded in time; a suite that dies or
# times out without reporting counts as one failure, and so does one that
# exits non-zero while reporting no failure.
# Ends with the suite's own three numbers, as counted here.
suite() {
	local name=$1 before after rc=0 f
	shift
	before=$(wc -l <"$RESULTS")
	timeout -k 10 "$BOUND" "$@" || rc=$?
	after=$(wc -l <"$RESULTS")
	if [[ $after -eq $before ]]; then
		failed "$name" "no result (exit $rc$([[ $rc -eq 124 ]] && echo ", timed out after ${BOUND}s"))"
	else
		f=$(tail -n +"$((before + 1))" "$RESULTS" | awk '{f += $2} END {print f + 0}')
		if [[ $rc -ne 0 && $f -eq 0 ]]; then
			failed "$name" "exit $rc although it reported no failure"
		fi
	fi
	tail -n +"$((before + 1))" "$RESULTS" |
		awk -v n="$name" '{p += $1; f += $2; s += $3} END {printf "  --    %s: %d passed, %d failed, %d skipped\n", n, p, f, s}'
}

# The glibc matrix (make matrix): its fixtures are built once against the
# 2.31 sysroot, before the suites that use them.
mapfile -t versions < <(tests/matrix/versions.sh)
matrix_ok=no
if [[ ${#versions[@]} -gt 1 ]]; then
	if make -s fixtures-matrix; then matrix_ok=yes; else
		echo "=== glibc matrix"
		failed "glibc matrix" "the fixtures did not build against the 2.31 sysroot"
	fi
fi

echo "=== unit tests"
# Each cmocka test counts: cmocka's own "[  PASSED  ] N", "[  FAILED  ] N"
# and "[  SKIPPED ] N" lines; a binary that dies before its summary, or
# exits non-zero with no failed test, is one failure more.
shopt -s nullglob
units=(build/tests/test_*)
if [[ ${#units[@]} -eq 0 ]]; then
	failed "unit tests" "none built (build/tests/test_* is empty; make check builds them)"
fi
for t in "${units[@]}"; do
	[[ -x $t ]] || continue
	rc=0
	# (in a subshell whose stderr is dropped: bash's own "Segmentation
	# fault" notice; the unit's output is in $RESULTS.unit)
	(timeout -k 10 300 "$t" >"$RESULTS.unit" 2>&1) 2>/dev/null || rc=$?
	read -r up uf us uran < <(awk '
		/^\[  PASSED  \] [0-9]+ test/ {p = $4}
		/^\[  FAILED  \] [0-9]+ test/ {f = $4}
		/^\[  SKIPPED \] [0-9]+ test/ {s = $4}
		/^\[==========\] [0-9]+ test\(s\) run/ {r = 1}
		END {print p + 0, f + 0, s + 0, r + 0}' "$RESULTS.unit")
	if [[ $uran -eq 0 || ($rc -ne 0 && $uf -eq 0) ]]; then
		uf=$((uf + 1))
	fi
	if [[ $uf -eq 0 ]]; then
		echo "  ok    $t: $up passed, $uf failed, $us skipped"
	else
		echo "  FAIL  $t: exit $rc: $up passed, $uf failed, $us skipped"
		sed 's/^/        | /' "$RESULTS.unit" | tail -n 40
	fi
	if [[ $us -gt 0 ]]; then
		grep -E '^\[  SKIPPED \] [a-z_]' "$RESULTS.unit" | sed 's/^/        | /'
	fi
	result "$up" "$uf" "$us"
done
rm -f "$RESULTS.unit"

echo "=== layering (README, Layout: each folder of lib/ uses only those below it)"
suite layering tests/layering.sh build/obj
suite layering_selftest tests/e2e/layering_selftest.sh

echo "=== fixtures"
suite fixtures tests/e2e/fixtures.sh

for bin in build/heapscope-san build/heapscope; do
	if [[ ! -x $bin ]]; then
		echo "=== $bin"
		failed "$bin" "missing (make check builds it)"
		continue
	fi
	for s in exact mmapped bad_input cli unwind signals sources hostile storm trim leaks harm bigheap diagnose replay replay_input compare refusals tunables redact stopclock core prometheus diff held output completion gdbcmd watch svg progress; do
		echo "=== $s with HEAPSCOPE=$bin"
		# 200 storm attaches with the optimised build; the sanitizer build,
		# ten times slower, does 30 of them.
		# Likewise the replay proof: 5 generated traces (of 20) under it.
		STORM_ATTACHES=$([[ $bin == *-san ]] && echo 30 || echo 200) \
			REPLAY_SEEDS=$([[ $bin == *-san ]] && echo 5 || echo 20) \
			HEAPSCOPE=$bin suite "$s ($bin)" "tests/e2e/$s.sh"
	done
done

echo "=== real programs (nginx, memcached, python3, PostgreSQL, a JVM, redis, and C programs that leak, fragment or mmap their own) with HEAPSCOPE=build/heapscope"
HEAPSCOPE=build/heapscope suite real tests/e2e/real.sh
echo "=== real programs again, without debug symbols (--no-debuginfo: the scan)"
HS_ATTACH_ARGS=--no-debuginfo HEAPSCOPE=build/heapscope suite "real --no-debuginfo" tests/e2e/real.sh

# The glibc matrix: every exactness check on every version, with its debug
# files and with --no-debuginfo (the symbol-free path), optimised build.
if [[ ${#versions[@]} -le 1 ]]; then
	echo "=== glibc matrix"
	if [[ ${HS_SKIP_MATRIX:-} == 1 ]]; then
		skipped "glibc matrix" "HS_SKIP_MATRIX=1: only the host's glibc ${versions[0]:-} was tested"
	else
		failed "glibc matrix" "not present: only the host's glibc ${versions[0]:-} was tested ('make matrix' fetches 2.31, 2.41, 2.43; HS_SKIP_MATRIX=1 skips it on purpose)"
	fi
elif [[ $matrix_ok == yes ]]; then
	for v in "${versions[@]}"; do
		for mode in "" --no-debuginfo; do
			[[ $v == 2.36 && -z $mode ]] && continue # done above, twice
			echo "=== exact on glibc $v ${mode:-(debug symbols)}"
			HS_GLIBC=$v HS_ATTACH_ARGS=$mode HEAPSCOPE=build/heapscope suite "exact glibc $v $mode" tests/e2e/exact.sh
			echo "=== mmapped on glibc $v ${mode:-(debug symbols)}"
			HS_GLIBC=$v HS_ATTACH_ARGS=$mode HEAPSCOPE=build/heapscope suite "mmapped glibc $v $mode" tests/e2e/mmapped.sh
		done
		# threads that live inside malloc, without debug symbols: realloc's
		# copy told by libc's IFUNC targets, 2.42+'s nameless _int_free_chunk
		if [[ $v != 2.36 ]]; then
			echo "=== storm on glibc $v --no-debuginfo"
			HS_GLIBC=$v HS_ATTACH_ARGS=--no-debuginfo STORM_ATTACHES=25 STORM_INSIDE_ATTACHES=10 HEAPSCOPE=build/heapscope \
				suite "storm glibc $v --no-debuginfo" tests/e2e/storm.sh
		fi
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
			# cores (gcore and the kernel's) of fixtures on this glibc, with and
			# without debug symbols (the suite runs both)
			echo "=== core on glibc $v"
			HS_GLIBC=$v HEAPSCOPE=build/heapscope suite "core glibc $v" tests/e2e/core.sh
			# no false refusals, no silent zeros; every malloc tunable exact
			echo "=== refusals on glibc $v"
			HS_GLIBC=$v HEAPSCOPE=build/heapscope suite "refusals glibc $v" tests/e2e/refusals.sh
			echo "=== tunables on glibc $v"
			HS_GLIBC=$v HEAPSCOPE=build/heapscope suite "tunables glibc $v" tests/e2e/tunables.sh
			# a process gdb holds: thread pointers found in its memory
			echo "=== held on glibc $v"
			HS_GLIBC=$v HEAPSCOPE=build/heapscope suite "held glibc $v" tests/e2e/held.sh
		fi
		# the symbol-free path: threads that come and go, a main thread
		# gone, glibc's malloc debugging library refused by name
		echo "=== refusals on glibc $v --no-debuginfo"
		CHURN_ATTACHES=30 HS_GLIBC=$v HS_ATTACH_ARGS=--no-debuginfo HEAPSCOPE=build/heapscope \
			suite "refusals glibc $v --no-debuginfo" tests/e2e/refusals.sh
	done
fi

# A line that is not 2 or 3 counts is itself a failure (a suite wrote junk).
read -r passed failed skips < <(awk '
	NF >= 2 && NF <= 3 && $1 ~ /^[0-9]+$/ && $2 ~ /^[0-9]+$/ && (NF == 2 || $3 ~ /^[0-9]+$/) {
		p += $1; f += $2; s += $3; next }
	{ f += 1 }
	END {print p + 0, f + 0, s + 0}' "$RESULTS")
echo
echo "$passed passed, $failed failed, $skips skipped"
[[ $failed -eq 0 ]]
