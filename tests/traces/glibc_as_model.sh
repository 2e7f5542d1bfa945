#!/usr/bin/env bash
# A stand-in for `heapscope replay`, to prove tests/e2e/replay.sh's replay
# path before the reference core exists: glibc itself plays the trace (the
# replay fixture, under --glibc=V's ld.so) and `heapscope attach` reads it.
#   HEAPSCOPE=tests/traces/glibc_as_model.sh tests/e2e/replay.sh   -> the
#     replay comparisons must all pass (glibc agrees with itself)
#   STUB_PERTURB=N ...  -> a wrong "model" (its N-th malloc asks 1 KiB
#     more): the replay comparisons must fail from there on, and the
#     bisection must name that malloc's line
# Every other command goes to the real binary ($REAL_HEAPSCOPE, default
# build/heapscope).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
REAL=${REAL_HEAPSCOPE:-$ROOT/build/heapscope}
[[ ${1:-} == replay ]] || exec "$REAL" "$@"
shift
trace="" glibc=2.36
for a in "$@"; do
	case $a in
	--glibc=*) glibc=${a#--glibc=} ;;
	-*) ;;
	*) trace=$a ;;
	esac
done
[[ -r $trace ]] || { echo "glibc_as_model: no trace" >&2; exit 2; }
d=$(mktemp -d /tmp/heapscope-stub.XXXXXX)
trap 'rm -rf "$d"' EXIT
if [[ -n ${STUB_PERTURB:-} ]]; then
	# the STUB_PERTURB-th malloc of the trace (1: the first) asks 1 KiB more
	awk -v n="$STUB_PERTURB" '$1 == "m" && ++k == n { $3 += 1024 } { print }' "$trace" >"$d/t"
	trace=$d/t
fi
fix=$ROOT/build/fixtures/replay run=()
if [[ $glibc != 2.36 ]]; then
	fix=$ROOT/build/fixtures-matrix/replay
	run=("$ROOT/tests/matrix/run.sh" "$glibc")
fi
"${run[@]}" "$fix" "$d" "$trace" >/dev/null 2>"$d/err" &
pid=$!
for ((i = 0; i < 500; i++)); do
	[[ -s $d/ready ]] && break
	kill -0 "$pid" 2>/dev/null || { cat "$d/err" >&2; exit 1; }
	sleep 0.02
done
rc=0
"$REAL" attach --json --chunks --bins "$pid" || rc=$?
kill "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
exit $rc
