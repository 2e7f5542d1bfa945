#!/usr/bin/env bash
# Signals: SIGINT / SIGTERM / SIGHUP sent to heapscope at various moments of
# an attach to a large heap. heapscope must always detach: afterwards the
# target is alive, not stopped and not traced, its heap unchanged; heapscope
# never crashes, never hangs (15 s bound) and prints no sanitizer report.
#   usage: HEAPSCOPE=build/heapscope tests/e2e/signals.sh [N]
set -uo pipefail
SUITE=signals
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/../lib.sh"
need_file "$HEAPSCOPE"
N=${1:-5000000}

WORK=$(new_tmpdir)
echo "== classic N=$N, signals to heapscope during attach"
start_fixture classic "$N" || { summary; exit 1; }
target=$FIX_PID

for sig in INT TERM HUP; do
	for ms in 0 5 20 50 100; do
		name="SIG$sig after $ms ms"
		rm -f "$WORK/pid" "$WORK/rc"
		# heapscope runs under a subshell whose own "Terminated" notices are
		# discarded; it writes its pid first, then execs heapscope.
		# shellcheck disable=SC2016  # expanded by sh -c
		(
			timeout -k 5 15 sh -c 'echo $$ >"$1.tmp"; mv "$1.tmp" "$1"; shift; exec "$@"' sh \
				"$WORK/pid" "$HEAPSCOPE" attach --json "$target" >"$WORK/out" 2>"$WORK/err"
			echo $? >"$WORK/rc"
		) 2>/dev/null &
		sub=$!
		for ((i = 0; i < 500; i++)); do
			[[ -s $WORK/pid ]] && break
			sleep 0.01
		done
		hsp=$(cat "$WORK/pid" 2>/dev/null)
		if [[ -z $hsp ]]; then
			fail "$name" "heapscope did not start"
			wait "$sub" 2>/dev/null
			continue
		fi
		[[ $ms -gt 0 ]] && sleep "$(printf '0.%03d' "$ms")"
		kill "-$sig" "$hsp" 2>/dev/null
		wait "$sub" 2>/dev/null
		rc=$(cat "$WORK/rc" 2>/dev/null)
		case $rc in
		124 | 137) fail "$name: heapscope ends" "it hung (killed by the 15 s timeout)" "$WORK/err" ;;
		134 | 139 | 135 | 136 | 132 | 86 | 87)
			fail "$name: heapscope ends cleanly" "exit $rc (crash or sanitizer)" "$WORK/err" ;;
		*) pass "$name: heapscope ended (exit $rc)" ;;
		esac
		if grep -qE 'Sanitizer|runtime error:' "$WORK/err"; then
			fail "$name: no sanitizer report" "see stderr" "$WORK/err"
		fi
		alive "$name: target alive, running, untraced" "$target"
	done
done

# The heap the target holds is still exactly what glibc says it is.
hs "$WORK/mstats" "$WORK/mstats.err" attach --format=malloc-stats "$target"
if [[ $HS_RC -eq 0 ]] && cmp -s "$FIX_DIR/malloc_stats.txt" "$WORK/mstats"; then
	pass "after the signals: malloc-stats still equals glibc's"
else
	fail "after the signals: malloc-stats still equals glibc's" "exit $HS_RC" "$WORK/mstats.err" \
		"$(diff "$FIX_DIR/malloc_stats.txt" "$WORK/mstats" | head -n 10)"
fi
alive "target alive at the end" "$target"
stop_fixture "$target"
summary
