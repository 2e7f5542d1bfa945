#!/usr/bin/env bash
# Exactness: heapscope's view of each fixture equals glibc's own view of it
# (byte-identical malloc_stats / malloc_info, mallinfo2 field for field) and
# obeys JSON.md's invariants; the target is alive, running and untraced after
# every run.   usage: HEAPSCOPE=build/heapscope tests/e2e/exact.sh [FILTER]
set -uo pipefail
SUITE=exact
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/../lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
need_file "$HEAPSCOPE"
FILTER=${1:-}

# jq_checks NAME-PREFIX < "ok\tNAME" / "FAIL\tNAME\tDETAIL" lines
jq_checks() {
	local prefix=$1 st name detail any=0
	while IFS=$'\t' read -r st name detail; do
		any=1
		case $st in
		ok) pass "$prefix $name" ;;
		FAIL) fail "$prefix $name" "$detail" ;;
		*) fail "$prefix checks" "jq: $st $name $detail" ;;
		esac
	done
	[[ $any == 1 ]] || fail "$prefix checks" "jq produced no result"
}

# sane_stderr NAME FILE: a successful run may print notes, never a sanitizer report.
sane_stderr() {
	if grep -qE 'Sanitizer|runtime error:|LeakSanitizer' "$2"; then
		fail "$1: no sanitizer report" "see stderr" "$2"
	fi
}

# exit0 NAME ERRFILE: heapscope exited 0 (5 still prints a report: the
# checks on it run anyway).
exit0() {
	if [[ $HS_RC -eq 0 ]]; then pass "$1 exit 0"; else fail "$1 exit 0" "exit $HS_RC" "$2"; fi
}

# run_format LABEL PID DIR FORMAT EXPECTED
run_format() {
	local label=$1 pid=$2 d=$3 fmt=$4 exp=$5 out err
	out=$d/hs.$fmt err=$d/hs.$fmt.err
	hs "$out" "$err" attach --format="$fmt" "$pid"
	exit0 "$label --format=$fmt" "$err"
	if [[ ! -s $out ]]; then
		fail "$label --format=$fmt byte-identical to glibc" "no output"
	elif cmp -s "$exp" "$out"; then
		pass "$label --format=$fmt byte-identical to glibc"
	else
		fail "$label --format=$fmt byte-identical to glibc" "differs (diff glibc heapscope)" \
			"$(diff -u "$exp" "$out" | head -n 40)"
	fi
	sane_stderr "$label --format=$fmt" "$err"
	alive "$label alive after --format=$fmt" "$pid"
}

# The fixtures lay out their lists for glibc <= 2.42 (tcaches of 7,
# fastbins): their facts hold there. 2.43 has neither; on every version the
# tcaches are also checked against gdb's reading of glibc's own.
FACTS_APPLY=yes
if [[ -n $HS_GLIBC ]] && awk -v v="$HS_GLIBC" 'BEGIN {split(v, a, "."); exit !(a[1] > 2 || a[2] >= 43)}'; then
	FACTS_APPLY=no
	echo "note: glibc $HS_GLIBC: the fixtures' construction facts assume glibc <= 2.42; byte-exact output, mallinfo2, invariants and gdb's tcaches are checked"
fi

# gdb_tcache_check LABEL PID DIR: heapscope's per-thread tcache_chunks and
# tcache_bytes equal what gdb reads from libc's tcache with debug symbols.
gdb_tcache_check() {
	local label=$1 pid=$2 d=$3 dbg=${HS_DEBUGINFO_PATH:-/usr/lib/debug} tid n b want root
	# gdb finds TLS through libthread_db, which must be the target's own.
	local tdb=()
	if [[ -n ${HS_DEBUGINFO_PATH:-} ]]; then
		root=${HS_DEBUGINFO_PATH%/usr/lib/debug}
		tdb=(-iex "set auto-load safe-path /"
			-iex "set libthread-db-search-path $root/lib/x86_64-linux-gnu:$root/usr/lib/x86_64-linux-gnu")
	fi
	timeout -k 5 120 gdb -nx -batch -iex "set debug-file-directory $dbg" "${tdb[@]}" -x "$HERE/gdb_tcache.py" \
		-p "$pid" >"$d/gdb.tcache" 2>"$d/gdb.tcache.err"
	if ! grep -q '^TCACHE ' "$d/gdb.tcache"; then
		fail "$label tcaches equal gdb's" "gdb read no tcache" "$d/gdb.tcache.err"
		return
	fi
	while read -r _ tid n b; do
		want=$(jq -c --argjson t "$tid" '[.threads[] | select(.tid == $t) | .tcache_chunks, .tcache_bytes]' "$d/hs.json")
		if [[ $want == "[$n,$b]" ]]; then
			pass "$label thread $tid tcache equals gdb's ($n chunks, $b bytes)"
		else
			fail "$label thread $tid tcache equals gdb's" "heapscope $want, gdb [$n,$b]"
		fi
	done < <(grep '^TCACHE ' "$d/gdb.tcache")
	alive "$label alive after gdb" "$pid"
}

run_case() {
	local label=$1 fixture=$2
	shift 2
	[[ -n $FILTER && $label != *$FILTER* ]] && return 0
	echo "== $label"
	start_fixture "$fixture" "$@" || return 0
	local pid=$FIX_PID d=$FIX_DIR ntasks mi facts
	if [[ -s $d/stdout || -s $d/stderr ]]; then
		fail "$label: fixture printed nothing" "it printed" "$d/stdout" "$d/stderr"
	fi

	run_format "$label" "$pid" "$d" malloc-stats "$d/malloc_stats.txt"
	run_format "$label" "$pid" "$d" malloc-info "$d/malloc_info.xml"

	# --json and the invariants
	hs "$d/hs.json" "$d/hs.json.err" attach --json "$pid"
	sane_stderr "$label --json" "$d/hs.json.err"
	exit0 "$label --json" "$d/hs.json.err"
	if ! jq -e . "$d/hs.json" >/dev/null 2>&1; then
		fail "$label --json parses" "jq cannot parse it" "$d/hs.json"
	else
		ntasks=$(find "/proc/$pid/task" -mindepth 1 -maxdepth 1 | wc -l)
		mi=$(jq -Rn '[inputs | split(" ") | {(.[0]): (.[1] | tonumber)}] | add' "$d/mallinfo2.txt")
		facts=$(jq -Rn '[inputs]' "$d/facts.txt")
		if [[ $FACTS_APPLY != yes && $(wc -l <"$d/facts.txt") -gt 0 ]]; then
			facts='[]'
			skip "$label --json: the fixture's $(wc -l <"$d/facts.txt") construction facts" \
				"they assume glibc <= 2.42 (tcaches of 7, fastbins); this is glibc $HS_GLIBC"
		fi
		jq_checks "$label --json:" < <(jq -r --argjson mi "$mi" --argjson facts "$facts" \
			--argjson pid "$pid" --argjson ntasks "$ntasks" -f "$HERE/checks.jq" "$d/hs.json" 2>&1)
	fi
	alive "$label alive after --json" "$pid"

	# every thread's tcache against glibc's own, read by gdb
	gdb_tcache_check "$label" "$pid" "$d"

	# -p: the same document, indented (snapshot timings aside)
	hs "$d/hs.pretty" "$d/hs.pretty.err" attach -p "$pid"
	sane_stderr "$label -p" "$d/hs.pretty.err"
	exit0 "$label -p" "$d/hs.pretty.err"
	if ! jq -e . "$d/hs.pretty" >/dev/null 2>&1; then
		fail "$label -p parses" "jq cannot parse it" "$d/hs.pretty"
	else
		# timings aside, and the process split, measured afresh by each
		# run (diagnose.sh checks it)
		local strip='del(.snapshot.stopped_ms, .snapshot.total_ms, .snapshot.predicted_stop_ms, .process)'
		if [[ $(wc -l <"$d/hs.pretty") -lt 10 ]]; then
			fail "$label -p is indented" "fewer than 10 lines"
		fi
		if cmp -s <(jq -S "$strip" "$d/hs.json") <(jq -S "$strip" "$d/hs.pretty"); then
			pass "$label -p equals --json (timings aside)"
		else
			fail "$label -p equals --json (timings aside)" "differs" \
				"$(diff <(jq -S "$strip" "$d/hs.json") <(jq -S "$strip" "$d/hs.pretty") | head -n 20)"
		fi
	fi
	alive "$label alive after -p" "$pid"

	# --chunks --json
	echo null >"$d/free.json"
	hs "$d/hs.chunks" "$d/hs.chunks.err" attach --chunks --json "$pid"
	sane_stderr "$label --chunks" "$d/hs.chunks.err"
	exit0 "$label --chunks --json" "$d/hs.chunks.err"
	if ! jq -e . "$d/hs.chunks" >/dev/null 2>&1; then
		fail "$label --chunks --json parses" "jq cannot parse it"
	else
		jq_checks "$label" < <(jq -r -f "$HERE/chunks.jq" "$d/hs.chunks" 2>&1)
		jq -c '[(.chunks // [.arenas[].chunks[]?])[] | select(.state == "tcache" or .state == "fastbin" or .state == "bin") | .address] | sort' \
			"$d/hs.chunks" >"$d/free.json" 2>/dev/null || echo null >"$d/free.json"
	fi
	alive "$label alive after --chunks" "$pid"

	# --bins --json
	hs "$d/hs.bins" "$d/hs.bins.err" attach --bins --json "$pid"
	sane_stderr "$label --bins" "$d/hs.bins.err"
	exit0 "$label --bins --json" "$d/hs.bins.err"
	if ! jq -e . "$d/hs.bins" >/dev/null 2>&1; then
		fail "$label --bins --json parses" "jq cannot parse it"
	else
		jq_checks "$label" < <(jq -r --slurpfile free "$d/free.json" -f "$HERE/bins.jq" "$d/hs.bins" 2>&1)
	fi
	alive "$label alive after --bins" "$pid"

	# the text report
	hs "$d/hs.text" "$d/hs.text.err" attach "$pid"
	sane_stderr "$label text" "$d/hs.text.err"
	exit0 "$label text report" "$d/hs.text.err"
	if [[ -s $d/hs.text ]]; then pass "$label text report printed"; else
		fail "$label text report printed" "empty"; fi
	alive "$label alive after text report" "$pid"

	stop_fixture "$pid"
}

run_case "classic N=200000" classic 200000
run_case "classic N=1000" classic 1000
run_case "threads" threads
run_case "mmapped" mmapped
run_case "mmapped dynamic" mmapped dynamic
run_case "healthy" healthy
run_case "nomalloc" nomalloc
run_case "fragmented" fragmented
run_case "oraclecheck" oraclecheck
# the program's own sbrk between glibc's growths (page multiples, and not),
# and past glibc's top
run_case "foreign sbrk" foreignsbrk
run_case "foreign sbrk of no page multiple" foreignsbrk 1048616
run_case "foreign sbrk past the top" foreignsbrk 65536 after
summary
