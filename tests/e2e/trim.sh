#!/usr/bin/env bash
# What malloc_trim(0) would give back: heapscope's totals.trimmable_bytes
# against the RSS the fixture itself loses when it then calls
# malloc_trim(0) (the kernel is the oracle), over several free patterns.
#   usage: HEAPSCOPE=build/heapscope tests/e2e/trim.sh
set -uo pipefail
SUITE=trim
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/../lib.sh"
need_file "$HEAPSCOPE"

for keep in 0 100 40 20 7; do
	label="trim keep=$keep"
	start_fixture trim 400000 "$keep" || continue
	pid=$FIX_PID d=$FIX_DIR
	hs "$d/hs.json" "$d/hs.err" attach --json "$pid"
	pred=$(jq -r '.totals.trimmable_bytes // empty' "$d/hs.json" 2>/dev/null)
	kill -USR1 "$pid"
	for ((i = 0; i < 250; i++)); do [[ -s $d/trim.txt ]] && break; sleep 0.02; done
	drop=$(awk '/^rss_drop/ {print $2}' "$d/trim.txt" 2>/dev/null)
	if [[ -z $pred || -z $drop ]]; then
		fail "$label: prediction and measured drop" "heapscope exit $HS_RC, prediction '${pred}', drop '${drop}'" "$d/hs.err"
	elif awk -v p="$pred" -v m="$drop" 'BEGIN {d = p - m; if (d < 0) d = -d; exit !(d <= 0.01 * (m > 4096 ? m : 4096))}'; then
		pass "$label: trimmable_bytes $pred, RSS drop $drop (within 1%)"
	else
		fail "$label: trimmable_bytes within 1% of the RSS drop" "predicted $pred, measured $drop"
	fi
	stop_fixture "$pid"
done
summary
