#!/usr/bin/env bash
# Progress on long reads (issue 13 item 5): with stderr a terminal, the
# heap walk, --leaks' copy and its mark each show ONE line rewritten with
# \r, "heapscope: WHAT: DONE of TOTAL (P%)", blanked at the end; nothing
# when stderr is not a terminal, nothing with HEAPSCOPE_PROGRESS=0; and a
# terminal that does not drain (^S) never holds the run. The one second of
# silence is made 0 here (HEAPSCOPE_PROGRESS_AFTER_MS=0), so that nothing
# depends on the machine's speed. The report is the same bytes either way,
# and equal to glibc's own malloc_stats(); the walk's TOTAL is the size of
# the target's [heap] mapping, as the kernel gives it (/proc/PID/maps).
# watch shows the line at each snapshot; core's reads show theirs.
#   usage: HEAPSCOPE=build/heapscope tests/e2e/progress.sh
set -uo pipefail
SUITE=progress
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/../lib.sh"
need_file "$HEAPSCOPE"
PTY=$ROOT/tests/e2e/pty_stderr.py
N=${PROGRESS_N:-2000000}
export HEAPSCOPE_PROGRESS_AFTER_MS=0
# Not the stop budget's test: the sanitizer build on a loaded machine.
HS_ATTACH_ARGS="${HS_ATTACH_ARGS:+$HS_ATTACH_ARGS }--max-stop=600s"

# under_pty MODE OUT ERR ARGS...: heapscope ARGS with stderr a terminal;
# sets HS_RC.
under_pty() {
	local mode=$1 out=$2 err=$3
	shift 3
	HS_RC=0
	local extra=()
	# shellcheck disable=SC2206 # a list of options, split on purpose
	[[ $1 == attach ]] && extra=($HS_ATTACH_ARGS)
	python3 "$PTY" "$mode" "$out" "$err" "$HEAPSCOPE" "$1" "${extra[@]}" "${@:2}" || HS_RC=$?
}

# human BYTES: as heapscope writes a size (base/fmt.c: one decimal, binary units).
human() {
	awk -v b="$1" 'BEGIN {
		if (b < 1024) { printf "%d B\n", b; exit }
		split("B KiB MiB GiB TiB", u, " "); i = 1
		while (b >= 1023.95 && i < 5) { b /= 1024; i++ }
		printf "%.1f %s\n", b, u[i] }'
}

# lines ERR WHAT: the progress lines for WHAT in ERR, one a line.
lines() {
	tr '\r' '\n' <"$1" | grep -E "^heapscope: $2: [0-9.]+ [KMGT]?i?B of [0-9.]+ [KMGT]?i?B \([0-9]+%\) *$"
}

# cleared ERR: the terminal's line is blank at the end: ERR ends with \r,
# spaces as many as the last line shown, \r (each job blanks its own).
cleared() {
	python3 - "$1" <<'PY'
import sys
seg = open(sys.argv[1], "rb").read().split(b"\r")
shown = next((len(x.rstrip(b" ")) for x in reversed(seg[:-2]) if x.strip(b" ")), 0)
sys.exit(0 if len(seg) >= 3 and seg[-1] == b"" and seg[-2].strip(b" ") == b"" and shown and len(seg[-2]) >= shown else 1)
PY
}

echo "== classic N=$N: attach with stderr a terminal, a file, HEAPSCOPE_PROGRESS=0, a stopped terminal"
if READY_TIMEOUT=120 start_fixture classic "$N"; then
	pid=$FIX_PID d=$FIX_DIR
	range=$(awk '$6 == "[heap]" {print $1}' "/proc/$pid/maps")
	heap=$((0x${range#*-} - 0x${range%-*}))
	total=$(human "${heap:-0}")

	under_pty read "$d/pty.out" "$d/pty.err" attach --format=malloc-stats "$pid"
	check "terminal: exit 0" "$HS_RC" "exit $HS_RC: $(tr '\r' '\n' <"$d/pty.err" | head -c 300)"
	n=$(lines "$d/pty.err" "walking the heaps" | wc -l)
	tot=$(lines "$d/pty.err" "walking the heaps" | sed -E 's/.* of ([0-9.]+ [KMGT]?i?B) .*/\1/' | sort -u | tr '\n' ';')
	if [[ $n -ge 1 && $tot == "$total;" ]]; then
		pass "terminal: $n line(s) 'walking the heaps: ... of $total' ([heap] is $heap bytes)"
	else
		fail "terminal: lines 'walking the heaps: ... of $total'" "$n line(s), totals '$tot'" "$d/pty.err"
	fi
	if cleared "$d/pty.err"; then pass "terminal: the line is blanked at the end"; else
		fail "terminal: the line is blanked at the end" "$(od -c "$d/pty.err" | tail -n 4)"
	fi
	if cmp -s "$d/malloc_stats.txt" "$d/pty.out"; then pass "terminal: the report equals glibc's malloc_stats()"; else
		fail "terminal: the report equals glibc's malloc_stats()" "$(diff "$d/malloc_stats.txt" "$d/pty.out" | head)"
	fi

	hs "$d/file.out" "$d/file.err" attach --format=malloc-stats "$pid"
	check "stderr a file: exit 0" "$HS_RC" "exit $HS_RC" "$d/file.err"
	if [[ ! -s $d/file.err ]]; then pass "stderr a file: no progress (nothing on stderr)"; else
		fail "stderr a file: no progress" "stderr: $(head -c 200 "$d/file.err" | tr '\r' '|')"
	fi
	if cmp -s "$d/pty.out" "$d/file.out"; then pass "the report is byte-identical with and without a terminal"; else
		fail "the report is byte-identical with and without a terminal" "$(diff "$d/pty.out" "$d/file.out" | head)"
	fi

	HEAPSCOPE_PROGRESS=1 hs "$d/forced.out" "$d/forced.err" attach --format=malloc-stats "$pid"
	n=$(lines "$d/forced.err" "walking the heaps" | wc -l)
	if [[ $HS_RC -eq 0 && $n -ge 1 ]]; then pass "HEAPSCOPE_PROGRESS=1, stderr a file: progress all the same ($n line(s))"; else
		fail "HEAPSCOPE_PROGRESS=1, stderr a file: progress all the same" "exit $HS_RC, $n line(s)" "$d/forced.err"
	fi

	# forced onto a log that is appended to: what the log held stays
	echo "an earlier line of the log" >"$d/log"
	HS_RC=0
	HEAPSCOPE_PROGRESS=1 timeout -k 5 120 "$HEAPSCOPE" attach --format=malloc-stats "$pid" >/dev/null 2>>"$d/log" || HS_RC=$?
	if [[ $HS_RC -eq 0 && $(head -n 1 "$d/log") == "an earlier line of the log" ]] && lines "$d/log" "walking the heaps" >/dev/null; then
		pass "HEAPSCOPE_PROGRESS=1, stderr appended to a log: the log's start kept, the lines after it"
	else
		fail "HEAPSCOPE_PROGRESS=1, stderr appended to a log: the log's start kept" "exit $HS_RC: $(head -c 200 "$d/log" | tr '\r' '|')"
	fi

	HEAPSCOPE_PROGRESS=0 under_pty read "$d/off.out" "$d/off.err" attach --format=malloc-stats "$pid"
	check "HEAPSCOPE_PROGRESS=0: exit 0" "$HS_RC" "exit $HS_RC"
	if [[ ! -s $d/off.err ]]; then pass "HEAPSCOPE_PROGRESS=0: nothing on the terminal"; else
		fail "HEAPSCOPE_PROGRESS=0: nothing on the terminal" "$(head -c 200 "$d/off.err" | tr '\r' '|')"
	fi

	# ^S: the terminal's buffer full and its output stopped. A blocking
	# write would wait for ^Q, with the target stopped.
	PTY_TIMEOUT=60 under_pty xoff "$d/xoff.out" "$d/xoff.err" attach --json "$pid"
	check "stopped terminal (^S): exit 0, not held (within 60 s)" "$HS_RC" "exit $HS_RC$([[ $HS_RC == 124 ]] && echo ': killed after 60 s, blocked on the terminal')"
	stopped=$(jq -r '.snapshot.stopped_ms // empty' "$d/xoff.out" 2>/dev/null)
	if [[ -n $stopped ]] && awk -v s="$stopped" 'BEGIN {exit !(s < 30000)}'; then
		pass "stopped terminal: the target was stopped $stopped ms"
	else
		fail "stopped terminal: the target's stop is reported and short" "stopped_ms '$stopped'"
	fi
	alive "stopped terminal: target alive, not stopped" "$pid"

	under_pty read "$d/leaks.out" "$d/leaks.err" attach --leaks --json "$pid"
	check "--leaks on a terminal: exit 0" "$HS_RC" "exit $HS_RC: $(tr '\r' '\n' <"$d/leaks.err" | head -c 300)"
	for what in "copying the heaps for --leaks" "marking reachable chunks for --leaks" "walking the heaps"; do
		n=$(lines "$d/leaks.err" "$what" | wc -l)
		if [[ $n -ge 1 ]]; then pass "--leaks on a terminal: '$what: ... of ...' ($n)"; else
			fail "--leaks on a terminal: '$what: ... of ...'" "none" "$d/leaks.err"
		fi
	done
	if cleared "$d/leaks.err"; then pass "--leaks on a terminal: the line is blanked at the end"; else
		fail "--leaks on a terminal: the line is blanked at the end" "$(od -c "$d/leaks.err" | tail -n 4)"
	fi
	hs "$d/leaks.file.out" "$d/leaks.file.err" attach --leaks --json "$pid"
	norm() { jq -S 'del(.snapshot.stopped_ms, .snapshot.total_ms, .snapshot.predicted_stop_ms, .process)' "$1"; }
	if [[ $HS_RC -eq 0 && ! -s $d/leaks.file.err ]] && diff <(norm "$d/leaks.out") <(norm "$d/leaks.file.out") >/dev/null; then
		pass "--leaks: the same report with and without a terminal (timings and process split aside), nothing on a file stderr"
	else
		fail "--leaks: the same report with and without a terminal" "exit $HS_RC" "$d/leaks.file.err" \
			"$(diff <(norm "$d/leaks.out") <(norm "$d/leaks.file.out") | head)"
	fi
	# watch: each snapshot's walk shows its line, blanked before the
	# snapshot's own line is written (stdout a file here: its lines whole)
	under_pty read "$d/watch.out" "$d/watch.err" watch -i 0.2 -n 2 "$pid"
	n=$(lines "$d/watch.err" "walking the heaps" | wc -l)
	if [[ $HS_RC -eq 0 && $n -ge 2 && $(grep -c '^#' "$d/watch.out") -eq 2 ]] && cleared "$d/watch.err"; then
		pass "watch on a terminal: $n progress line(s) over 2 snapshots, blanked at the end, 2 lines on stdout"
	else
		fail "watch on a terminal: progress each snapshot, blanked" "exit $HS_RC, $n line(s)" "$d/watch.err" "$d/watch.out"
	fi
	alive "target alive at the end" "$pid"
	stop_fixture "$pid"
fi
echo "== core: a gcore of classic N=200000, read with --leaks"
if ! command -v gdb >/dev/null; then
	fail "core" "gdb not found (make deps installs it)"
elif start_fixture classic 200000; then
	pid=$FIX_PID d=$FIX_DIR
	if timeout -k 5 120 gdb -nx -batch -iex "set auto-load off" -iex "set debug-file-directory /nonexistent" \
		-ex "attach $pid" -ex "gcore $d/core" -ex detach >"$d/gcore.out" 2>&1 && [[ -s $d/core ]]; then
		under_pty read "$d/core.out" "$d/core.err" core --leaks --format=malloc-stats "$d/core" "$FIXDIR/classic"
		check "core on a terminal: exit 0" "$HS_RC" "exit $HS_RC: $(tr '\r' '\n' <"$d/core.err" | head -c 300)"
		for what in "copying the heaps for --leaks" "walking the heaps" "marking reachable chunks for --leaks"; do
			n=$(lines "$d/core.err" "$what" | wc -l)
			if [[ $n -ge 1 ]]; then pass "core on a terminal: '$what: ... of ...' ($n)"; else
				fail "core on a terminal: '$what: ... of ...'" "none" "$d/core.err"
			fi
		done
		if cleared "$d/core.err"; then pass "core on a terminal: the line is blanked at the end"; else
			fail "core on a terminal: the line is blanked at the end" "$(od -c "$d/core.err" | tail -n 4)"
		fi
		hs "$d/core.file.out" "$d/core.file.err" core --leaks --format=malloc-stats "$d/core" "$FIXDIR/classic"
		if [[ $HS_RC -eq 0 && ! -s $d/core.file.err ]] && cmp -s "$d/core.out" "$d/core.file.out" &&
			cmp -s "$d/malloc_stats.txt" "$d/core.out"; then
			pass "core: nothing on a file stderr; the same report either way, glibc's malloc_stats()"
		else
			fail "core: nothing on a file stderr; the same report either way, glibc's malloc_stats()" "exit $HS_RC" \
				"$d/core.file.err" "$(diff "$d/malloc_stats.txt" "$d/core.out" | head)"
		fi
	else
		fail "core: gcore of pid $pid" "no core written" "$d/gcore.out"
	fi
	stop_fixture "$pid"
fi
summary
