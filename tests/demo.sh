#!/usr/bin/env bash
# make demo: a fragmented heap in several arenas, and heapscope's report on
# it; then its heap map (--format=svg) written over man/heapscope-map.svg,
# the picture README shows (its addresses change from run to run).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d /tmp/heapscope-demo.XXXXXX)
pid=
# shellcheck disable=SC2317  # called by the trap
cleanup() {
	if [[ -n $pid ]]; then
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf -- "$dir"
}
trap cleanup EXIT

"$ROOT/build/fixtures/fragmented" "$dir" >/dev/null 2>&1 &
pid=$!
for ((i = 0; i < 1000; i++)); do
	[[ -s $dir/ready ]] && break
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "demo: the fixture exited early" >&2
		exit 1
	fi
	sleep 0.02
done
if [[ ! -s $dir/ready ]]; then
	echo "demo: the fixture was not ready after 20 s" >&2
	exit 1
fi
echo "\$ heapscope attach $pid      # build/fixtures/fragmented: a fragmented heap in 4 arenas"
echo
rc=0
"$ROOT/build/heapscope" attach "$pid" || rc=$?
echo
echo "\$ heapscope attach --format=svg -o man/heapscope-map.svg $pid      # its heap map, README's picture"
"$ROOT/build/heapscope" attach --format=svg -o "$ROOT/man/heapscope-map.svg" "$pid" || rc=$?
exit "$rc"
