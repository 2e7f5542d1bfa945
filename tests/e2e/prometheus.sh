#!/usr/bin/env bash
# --format=prometheus (issue 13, item 3): the OpenMetrics text exposition
# of attach and core. For each fixture, heapscope reports once with --json
# and once with --format=prometheus, and
#   - promtool check metrics (Debian's prometheus: Prometheus's own text
#     parser and its linter, what node_exporter's textfile collector reads)
#     passes, with nothing to say;
#   - the strict reading of the OpenMetrics format in prometheus_check.py
#     passes, and prometheus_client's OpenMetrics parser reads it;
#   - every series is one the JSON gives, with the JSON's value (the
#     millisecond timings in seconds, in decimal), none missing, none extra
#     (prometheus_check.py join); of the stop's timings, which each
#     snapshot measures afresh, only a finite value >= 0 is asked (the
#     unit test test_report's test_prometheus_equals_json compares those
#     too, on one census);
#   - mallinfo2's series equal glibc's own mallinfo2() (the fixture's
#     mallinfo2.txt), and the leaked chunks the fixture's own list.
# Fixtures: threads (5 threads, 5 arenas, tcache, fastbins, bins), mmthreads
# (40 threads on 16 arenas, mmapped chunks everywhere), leaks with --leaks,
# stuck (a thread inside malloc for good: exit 5, the report still
# printed, consistent 0), a program whose path holds a double quote, a backslash and a newline
# (label escaping), and a gcore core of mmapped read by `core`. replay
# refuses the format (exit 2, DESIGN.md: attach and core only).
#   usage: HEAPSCOPE=build/heapscope tests/e2e/prometheus.sh
set -uo pipefail
SUITE=prometheus
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/../lib.sh"
need_file "$HEAPSCOPE"
HERE=$(cd "$(dirname "$0")" && pwd)
# Debian's python3, where python3-prometheus-client is (make deps)
PY=/usr/bin/python3
CHECK=$HERE/prometheus_check.py
# what two snapshots measure afresh: the stop, the run, the predicted stop
VOLATILE=(heapscope_snapshot_stop_seconds heapscope_snapshot_duration_seconds
	heapscope_snapshot_predicted_stop_seconds)

# sane NAME ERRFILE: no sanitizer report, no message, on stderr.
sane() {
	if [[ -s $2 ]]; then
		fail "$1: stderr empty" "it says" "$2"
	fi
}

# prom_checks LABEL JSON PROM VOLATILE...: the format, then the join.
prom_checks() {
	local label=$1 j=$2 p=$3 out rc
	shift 3
	if ! command -v promtool >/dev/null; then
		fail "$label: promtool check metrics" "promtool is missing (make deps installs Debian's prometheus)"
	else
		rc=0
		out=$(promtool check metrics <"$p" 2>&1) || rc=$?
		if [[ $rc -eq 0 && -z $out ]]; then
			pass "$label: promtool check metrics passes, nothing to lint"
		else
			fail "$label: promtool check metrics" "exit $rc" "$out"
		fi
	fi
	rc=0
	out=$("$PY" "$CHECK" format "$p" 2>&1) || rc=$?
	check "$label: strict OpenMetrics reading and prometheus_client's parser pass" "$rc" "$out"
	rc=0
	out=$("$PY" "$CHECK" join "$j" "$p" "$@" 2>&1) || rc=$?
	check "$label: every series is the JSON's, value for value ($out)" "$rc" "$out"
}

# value PROM SERIES: the value of the sample written exactly so.
value() { awk -v s="$2" 'substr($0, 1, length(s) + 1) == s " " {print substr($0, length(s) + 2)}' "$1"; }

# both LABEL PID DIR [OPTIONS...]: attach --json and --format=prometheus,
# exit 0 and nothing on stderr for both, then prom_checks.
both() {
	local label=$1 pid=$2 d=$3
	shift 3
	hs "$d/hs.json" "$d/hs.json.err" attach --json "$@" "$pid"
	check "$label: attach --json ${*:+$* }exits 0" "$HS_RC" "$(head -c 300 "$d/hs.json.err")"
	sane "$label --json" "$d/hs.json.err"
	hs "$d/hs.prom" "$d/hs.prom.err" attach --format=prometheus "$@" "$pid"
	check "$label: attach --format=prometheus ${*:+$* }exits 0" "$HS_RC" "$(head -c 300 "$d/hs.prom.err")"
	sane "$label --format=prometheus" "$d/hs.prom.err"
	prom_checks "$label" "$d/hs.json" "$d/hs.prom" "${VOLATILE[@]}"
}

# mallinfo2_is_glibcs LABEL DIR: each heapscope_mallinfo2_* sample equals
# the field glibc's mallinfo2() gave the fixture (DIR/mallinfo2.txt).
mallinfo2_is_glibcs() {
	local label=$1 d=$2 f v got bad=() n=0
	while read -r f v; do
		got=$(value "$d/hs.prom" "heapscope_mallinfo2_$f")
		[[ -z $got ]] && got=$(value "$d/hs.prom" "heapscope_mallinfo2_${f}_bytes")
		n=$((n + 1))
		[[ $got == "$v" ]] || bad+=("$f: glibc $v, heapscope '${got}'")
	done <"$d/mallinfo2.txt"
	if [[ $n -eq 10 && ${#bad[@]} -eq 0 ]]; then
		pass "$label: the 10 mallinfo2 series are glibc's own mallinfo2()"
	else
		fail "$label: mallinfo2 series are glibc's own" "$n fields read" "${bad[@]}"
	fi
}

# is_oracles NAME PROM SERIES WANT: the series' value is WANT, a count
# above 0 that the fixture or glibc gave.
is_oracles() {
	local got
	got=$(value "$2" "$3")
	check "$1" "$([[ $4 =~ ^[0-9]+$ && $4 -gt 0 && $got == "$4" ]]; echo $?)" "heapscope '$got', the oracle '$4'"
}

echo "== threads: 5 threads, 5 arenas"
if start_fixture threads; then
	pid=$FIX_PID d=$FIX_DIR
	both "threads" "$pid" "$d"
	mallinfo2_is_glibcs "threads" "$d"
	# the labels the arenas and threads give: one series per arena, per thread
	na=$(grep -c '^heapscope_arena_system_bytes{arena="[0-9]*"} ' "$d/hs.prom")
	nt=$(grep -c '^heapscope_thread_tcache_bytes{tid="[0-9]*"} ' "$d/hs.prom")
	ntasks=$(find "/proc/$pid/task" -mindepth 1 -maxdepth 1 | wc -l)
	check "threads: a series per arena (5) and per thread ($ntasks)" \
		"$([[ $na -eq 5 && $nt -eq $ntasks ]]; echo $?)" "arenas $na, threads $nt"
	alive "threads: alive, running, untraced" "$pid"
	stop_fixture "$pid"
fi

echo "== mmthreads: 40 threads on 16 arenas, mmapped chunks"
if start_fixture mmthreads 40 16; then
	pid=$FIX_PID d=$FIX_DIR
	both "mmthreads" "$pid" "$d"
	mallinfo2_is_glibcs "mmthreads" "$d"
	hblks=$(awk '$1 == "hblks" {print $2}' "$d/mallinfo2.txt")
	is_oracles "mmthreads: heapscope_mmapped_chunks is glibc's hblks ($hblks)" "$d/hs.prom" heapscope_mmapped_chunks "$hblks"
	alive "mmthreads: alive, running, untraced" "$pid"
	stop_fixture "$pid"
fi

echo "== leaks with --leaks"
if start_fixture leaks; then
	pid=$FIX_PID d=$FIX_DIR
	both "leaks --leaks" "$pid" "$d" --leaks
	want=$(awk '$1 == "leaked" {n++} END {print n + 0}' "$d/facts.txt")
	is_oracles "leaks --leaks: heapscope_leaked_chunks is the fixture's own list ($want)" "$d/hs.prom" \
		heapscope_leaked_chunks "$want"
	alive "leaks: alive, running, untraced" "$pid"
	stop_fixture "$pid"
fi

echo "== stuck: a thread that stays inside malloc (exit 5, the report printed)"
if start_fixture stuck; then
	pid=$FIX_PID d=$FIX_DIR
	hs "$d/hs.json" "$d/hs.json.err" attach --json "$pid"
	jrc=$HS_RC
	hs "$d/hs.prom" "$d/hs.prom.err" attach --format=prometheus "$pid"
	check "stuck: --json and --format=prometheus exit 5" "$([[ $jrc -eq 5 && $HS_RC -eq 5 ]]; echo $?)" \
		"--json exit $jrc, --format=prometheus exit $HS_RC" "$d/hs.prom.err"
	check "stuck: heapscope_snapshot_consistent 0" \
		"$([[ $(value "$d/hs.prom" heapscope_snapshot_consistent) == 0 ]]; echo $?)" "$(grep consistent "$d/hs.prom")"
	# how often the stop was made again is each attach's own
	prom_checks "stuck" "$d/hs.json" "$d/hs.prom" "${VOLATILE[@]}" heapscope_snapshot_retries
	alive "stuck: alive, running, untraced" "$pid"
	stop_fixture "$pid"
fi

echo "== a path with a double quote, a backslash and a newline"
w=$(new_tmpdir)
wdir=$w/$'we"ird\\dir\nhere'
if mkdir -p "$wdir" && cp "$FIXDIR/healthy" "$wdir/healthy" && FIXDIR=$wdir start_fixture healthy; then
	pid=$FIX_PID d=$FIX_DIR
	both "odd path" "$pid" "$d"
	# the label as the OpenMetrics ABNF escapes it, written out by hand
	want="exe=\"$w/we\\\"ird\\\\dir\\nhere/healthy\""
	check "odd path: the exe label escaped (\\\", \\\\, \\n)" \
		"$(grep -qF "$want" "$d/hs.prom"; echo $?)" "want $want" "$(grep '^heapscope_target_info' "$d/hs.prom")"
	stop_fixture "$pid"
else
	fail "odd path: fixture copied and started" "see above"
fi

echo "== core: a gcore core of mmapped"
if ! command -v gdb >/dev/null; then
	fail "core: gdb for gcore" "gdb is missing (make deps)"
elif start_fixture mmapped; then
	pid=$FIX_PID d=$FIX_DIR
	if timeout -k 5 120 gdb -nx -batch -iex "set auto-load off" -iex "set debug-file-directory /nonexistent" \
		-ex "attach $pid" -ex "gcore $d/core" -ex detach >"$d/gcore.out" 2>&1 && [[ -s $d/core ]]; then
		stop_fixture "$pid"
		hs "$d/core.json" "$d/core.json.err" core --json "$d/core"
		check "core --json exits 0" "$HS_RC" "$(head -c 300 "$d/core.json.err")"
		hs "$d/core.prom" "$d/core.prom.err" core --format=prometheus "$d/core"
		check "core --format=prometheus exits 0" "$HS_RC" "$(head -c 300 "$d/core.prom.err")"
		sane "core --format=prometheus" "$d/core.prom.err"
		# a core is read, not stopped: only the run's own time differs
		prom_checks "core" "$d/core.json" "$d/core.prom" heapscope_snapshot_duration_seconds
		check "core: the core file is the core label" \
			"$(grep -qF "core=\"$d/core\"" "$d/core.prom"; echo $?)" "$(grep '^heapscope_target_info' "$d/core.prom")"
	else
		fail "core: gcore of pid $pid" "no core written" "$d/gcore.out"
		stop_fixture "$pid"
	fi
fi

echo "== replay refuses it"
d=$(new_tmpdir)
printf 'm 1 100\nm 2 200\nf 1\n' >"$d/trace"
for args in "replay --format=prometheus" "--format=prometheus replay"; do
	# shellcheck disable=SC2086 # the words of the command line
	hs "$d/out" "$d/err" $args "$d/trace"
	check "heapscope $args TRACE: exit 2, one line naming attach and core, nothing on stdout" \
		"$([[ $HS_RC -eq 2 && ! -s $d/out && $(wc -l <"$d/err") -eq 1 ]] && grep -q 'attach and core' "$d/err"; echo $?)" \
		"exit $HS_RC" "$d/err"
done
hs "$d/out" "$d/err" replay --json "$d/trace"
check "replay --json of the same trace exits 0 (the refusal is the format's)" "$HS_RC" "$d/err"

summary
