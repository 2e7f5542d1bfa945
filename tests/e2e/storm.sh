#!/usr/bin/env bash
# An allocation storm proves the snapshots: 8 threads malloc/free/realloc
# random sizes without pause while heapscope attaches again and again
# (STORM_ATTACHES, 200 here, 2000 in make bench). Every report is either
# consistent (exit 0, no warning, JSON.md's invariants hold) or flagged
# (exit 5 with snapshot.consistent false); the storm never crashes, never
# breaks a canary, never stops progressing, and no thread is left stopped.
#   usage: HEAPSCOPE=build/heapscope tests/e2e/storm.sh
set -uo pipefail
SUITE=storm
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/../lib.sh"
need_file "$HEAPSCOPE"
N=${STORM_ATTACHES:-200}

progress() { od -An -t u8 -v "$1/progress" | awk '{for (i = 1; i <= NF; i++) s += $i} END {printf "%.0f\n", s}'; }

# The storm runs niced: eight busy threads on two cores would otherwise
# starve heapscope and the test (production targets are rarely that busy).
FIXRUN=(nice -n 10 "${FIXRUN[@]}")
start_fixture storm || { summary; exit 1; }
pid=$FIX_PID d=$FIX_DIR
consistent=0 flagged=0 bad=0 stopped=0
last=$(progress "$d")
for ((i = 1; i <= N; i++)); do
	hs "$d/r.json" "$d/r.err" attach --json "$pid"
	verdict=$(jq -r --argjson rc "$HS_RC" '
		def inv: all(.arenas[]; .in_use_bytes + .free_bytes + .top_bytes + .overhead_bytes == .system_bytes)
			and (.totals.free_bytes == .totals.tcache_bytes + .totals.fastbin_bytes + .totals.bin_bytes);
		if $rc == 0 and .snapshot.consistent and (.warnings | length) == 0 and inv then "consistent"
		elif $rc == 5 and (.snapshot.consistent | not) then "flagged"
		else "bad" end' "$d/r.json" 2>/dev/null || echo bad)
	case $verdict in
	consistent) consistent=$((consistent + 1)) ;;
	flagged) flagged=$((flagged + 1)) ;;
	*)
		bad=$((bad + 1))
		[[ $bad -le 3 ]] && fail "attach $i: consistent or flagged" "exit $HS_RC" "$d/r.err" \
			"$(jq -c '{snapshot, warnings: .warnings[0:3]}' "$d/r.json" 2>&1 | head -c 600)"
		;;
	esac
	if ! check_alive "$pid"; then
		stopped=$((stopped + 1))
		fail "attach $i: storm alive, running, untraced" "$ALIVE_REASON"
		break
	fi
	if ((i % 25 == 0)); then
		sleep 0.05
		now=$(progress "$d")
		if ((now <= last)); then fail "attach $i: the storm goes on" "progress $last -> $now"; fi
		last=$now
	fi
done
echo "storm: $N attaches: $consistent consistent, $flagged flagged inconsistent, $bad neither"
if [[ $bad -eq 0 ]]; then pass "$N attaches: every report consistent or flagged ($consistent + $flagged)"; else
	fail "$N attaches: every report consistent or flagged" "$bad were neither"; fi
if [[ -e $d/broken ]]; then fail "no canary broken" "the storm found a broken block"; else pass "no canary broken"; fi
if [[ $stopped -eq 0 ]] && check_alive "$pid"; then pass "storm alive and running at the end"; else
	fail "storm alive and running at the end" "${ALIVE_REASON:-}"; fi
sleep 0.1
if (($(progress "$d") > last)); then pass "the storm still progresses after the last attach"; else
	fail "the storm still progresses after the last attach" "progress stuck at $last"; fi
stop_fixture "$pid"
summary
