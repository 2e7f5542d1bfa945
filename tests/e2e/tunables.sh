#!/usr/bin/env bash
# glibc's tunables and malloc environment variables as production sets
# them: every setting below, on the fixtures it shapes, read exactly against
# the process's own malloc_stats() and malloc_info() (byte-identical) and
# mallinfo2 (--json, with JSON.md's invariants); the target left running.
# Where this glibc does not know a tunable, glibc ignores it and the case
# is still an exactness check of the default.
#   usage: HEAPSCOPE=build/heapscope tests/e2e/tunables.sh [FILTER]
#   TUNABLES_FORMATS="malloc-stats malloc-info json" (default: all three;
#   the sanitizer build: malloc-stats and json, the first fixture of each)
set -uo pipefail
SUITE=tunables
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/../lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
need_file "$HEAPSCOPE"
FILTER=${1:-}
# The sanitizer build (ten times slower) checks malloc_stats and --json.
FORMATS=${TUNABLES_FORMATS:-$([[ $HEAPSCOPE == *-san ]] && echo "malloc-stats json" || echo "malloc-stats malloc-info json")}

# SETTING|FIXTURES (a fixture with its arguments; ";" between fixtures).
# sizes: every size from 24 B to 4 MiB in main_arena and two thread arenas,
# nothing assumed (thresholds, trims, mmap_max); classic: one long fastbin
# list and a full tcache bin; threads: every kind of free list in five
# arenas (it checks its own chunk sizes, so not where blocks are mmapped or
# arenas shared); sprawl: six threads, for the arena limits.
LISTS="classic 1000;threads;sizes"
CASES=(
	"MALLOC_ARENA_MAX=1|sizes;sprawl"
	"MALLOC_ARENA_MAX=2|sizes;sprawl"
	"GLIBC_TUNABLES=glibc.malloc.arena_max=3|sprawl"
	"MALLOC_ARENA_TEST=1|sprawl"
	"GLIBC_TUNABLES=glibc.malloc.tcache_count=0|$LISTS"
	"GLIBC_TUNABLES=glibc.malloc.tcache_count=3|$LISTS"
	"GLIBC_TUNABLES=glibc.malloc.tcache_count=100|$LISTS"
	"GLIBC_TUNABLES=glibc.malloc.tcache_max=0|$LISTS"
	"GLIBC_TUNABLES=glibc.malloc.tcache_max=64|$LISTS"
	"GLIBC_TUNABLES=glibc.malloc.tcache_max=4096|$LISTS"
	"GLIBC_TUNABLES=glibc.malloc.tcache_max=65536:glibc.malloc.tcache_count=20|$LISTS"
	"GLIBC_TUNABLES=glibc.malloc.tcache_unsorted_limit=1|threads"
	"GLIBC_TUNABLES=glibc.malloc.mxfast=0|$LISTS"
	"GLIBC_TUNABLES=glibc.malloc.mxfast=160|$LISTS"
	"GLIBC_TUNABLES=glibc.malloc.tcache_count=0:glibc.malloc.mxfast=0|$LISTS"
	"GLIBC_TUNABLES=glibc.malloc.hugetlb=1|classic 1000;sizes"
	"GLIBC_TUNABLES=glibc.malloc.hugetlb=2|sizes;classic 1000;threads"
	"GLIBC_TUNABLES=glibc.malloc.mmap_threshold=4096|sizes"
	"GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432|sizes"
	"MALLOC_MMAP_THRESHOLD_=65536|sizes"
	"GLIBC_TUNABLES=glibc.malloc.mmap_max=0|sizes"
	"MALLOC_MMAP_MAX_=0|sizes"
	"GLIBC_TUNABLES=glibc.malloc.trim_threshold=0|classic 1000;sizes"
	"MALLOC_TRIM_THRESHOLD_=1|sizes"
	"GLIBC_TUNABLES=glibc.malloc.trim_threshold=268435456|sizes"
	"GLIBC_TUNABLES=glibc.malloc.top_pad=0|classic 1000;sizes"
	"MALLOC_TOP_PAD_=1048576|sizes"
	"GLIBC_TUNABLES=glibc.malloc.perturb=165|classic 1000;threads"
	"MALLOC_PERTURB_=90|sizes"
	"MALLOC_ARENA_MAX=1:GLIBC_TUNABLES=glibc.malloc.tcache_count=0:glibc.malloc.mxfast=0:glibc.malloc.trim_threshold=0:glibc.malloc.top_pad=0|sizes;sprawl"
)

no_sanitizer() {
	if grep -qE 'Sanitizer|runtime error:' "$2"; then fail "$1: no sanitizer report" "see stderr" "$2"; fi
}

# run_case LABEL PID DIR
run_case() {
	local label=$1 pid=$2 d=$3 fmt exp mi ntasks st name detail any
	for fmt in $FORMATS; do
		case $fmt in
		malloc-stats | malloc-info)
			exp=$d/$([[ $fmt == malloc-stats ]] && echo malloc_stats.txt || echo malloc_info.xml)
			hs "$d/hs.$fmt" "$d/hs.$fmt.err" attach --format="$fmt" "$pid"
			no_sanitizer "$label --format=$fmt" "$d/hs.$fmt.err"
			[[ $HS_RC -ne 0 ]] && fail "$label --format=$fmt exit 0" "exit $HS_RC" "$d/hs.$fmt.err"
			if [[ ! -s $d/hs.$fmt ]]; then
				fail "$label --format=$fmt byte-identical to glibc" "no output"
			elif cmp -s "$exp" "$d/hs.$fmt"; then
				pass "$label --format=$fmt byte-identical to glibc"
			else
				fail "$label --format=$fmt byte-identical to glibc" "differs (diff glibc heapscope)" \
					"$(diff -u "$exp" "$d/hs.$fmt" | head -n 30)"
			fi
			;;
		json)
			hs "$d/hs.json" "$d/hs.json.err" attach --json "$pid"
			no_sanitizer "$label --json" "$d/hs.json.err"
			if [[ $HS_RC -ne 0 ]] || ! jq -e . "$d/hs.json" >/dev/null 2>&1; then
				fail "$label --json" "exit $HS_RC" "$d/hs.json.err" "$(jq -c .warnings "$d/hs.json" 2>&1 | head -c 400)"
				continue
			fi
			mi=$(jq -Rn '[inputs | split(" ") | {(.[0]): (.[1] | tonumber)}] | add' "$d/mallinfo2.txt")
			ntasks=$(find "/proc/$pid/task" -mindepth 1 -maxdepth 1 | wc -l)
			any=0
			detail=
			while IFS=$'\t' read -r st name detail; do
				any=1
				[[ $st == ok ]] || fail "$label --json: $name" "$detail"
			done < <(jq -r --argjson mi "$mi" --argjson facts '[]' --argjson pid "$pid" \
				--argjson ntasks "$ntasks" -f "$HERE/checks.jq" "$d/hs.json" 2>&1)
			# one line for the lot when every check held
			if [[ $any == 1 ]] && ! jq -r --argjson mi "$mi" --argjson facts '[]' --argjson pid "$pid" \
				--argjson ntasks "$ntasks" -f "$HERE/checks.jq" "$d/hs.json" 2>&1 | grep -qv '^ok'; then
				pass "$label --json: mallinfo2 == glibc's and every invariant"
			elif [[ $any == 0 ]]; then
				fail "$label --json checks" "jq produced no result"
			fi
			;;
		esac
		alive "$label alive after $fmt" "$pid"
	done
}

# hugetlb=2 (2.35+): MORECORE always fails, so main_arena grows by mmap
# in pieces (no huge pages here: nr_hugepages 0 makes MAP_HUGETLB fail,
# and glibc falls back to plain pages). Besides the exactness above: the
# pieces heapscope found add up to glibc's own system bytes for arena 0,
# and, for sizes (40 MB in arena 0: far past the first 1 MiB piece), there
# is more than one (else the case proves nothing) where glibc knows the
# tunable. Below 2.35 glibc ignores it: one stretch from sbrk.
pieces_check() {
	local label=$1 d=$2 fixture=$3 sys n sum
	sys=$(awk '/^Arena 0:/ {getline; print $NF; exit}' "$d/malloc_stats.txt")
	read -r n sum < <(jq -r '.arenas[] | select(.main) | "\(.heaps | length) \([.heaps[].size] | add // 0)"' "$d/hs.json")
	if [[ $sum != "$sys" ]]; then
		fail "$label: main arena's pieces add up to glibc's system bytes" "pieces $sum, glibc $sys ($n pieces)"
	elif [[ ${HS_GLIBC:-2.36} == 2.31 ]]; then
		pass "$label: main arena's $n stretch(es) add up to glibc's system bytes ($sys; 2.31 has no hugetlb tunable)"
	elif [[ $fixture == sizes ]] && ((n < 2)); then
		fail "$label: main arena in pieces" "$n piece(s): the case does not grow the arena by mmap"
	else
		pass "$label: main arena's $n piece(s) add up to glibc's system bytes ($sys)"
	fi
}

for c in "${CASES[@]}"; do
	setting=${c%%|*}
	IFS=';' read -r -a fixtures <<<"${c#*|}"
	# the sanitizer build (ten times slower): the first fixture of each
	[[ $HEAPSCOPE == *-san ]] && fixtures=("${fixtures[0]}")
	# MALLOC_ARENA_MAX=1:GLIBC_TUNABLES=...: the first ':' before a NAME=
	# separates variables only in the combined case
	envs=()
	if [[ $setting == MALLOC_ARENA_MAX=1:GLIBC_TUNABLES=* ]]; then
		envs=("MALLOC_ARENA_MAX=1" "${setting#MALLOC_ARENA_MAX=1:}")
	else
		envs=("$setting")
	fi
	for f in "${fixtures[@]}"; do
		label="${envs[*]} $f"
		[[ -n $FILTER && $label != *$FILTER* ]] && continue
		echo "== $label"
		saved=("${FIXRUN[@]}")
		FIXRUN=(env "${envs[@]}" "${FIXRUN[@]}")
		# shellcheck disable=SC2086 # "classic 1000": name and argument
		start_fixture $f
		rc=$?
		FIXRUN=("${saved[@]}")
		[[ $rc == 0 ]] || continue
		run_case "$label" "$FIX_PID" "$FIX_DIR"
		if [[ $setting == *hugetlb=2* ]]; then
			[[ $FORMATS == *json* ]] && pieces_check "$label" "$FIX_DIR" "$f"
			# and the symbol-free path, unless every attach already takes it
			if [[ $HS_ATTACH_ARGS != *--no-debuginfo* ]]; then
				saved_args=$HS_ATTACH_ARGS
				HS_ATTACH_ARGS="$HS_ATTACH_ARGS --no-debuginfo"
				run_case "$label --no-debuginfo" "$FIX_PID" "$FIX_DIR"
				[[ $FORMATS == *json* ]] && pieces_check "$label --no-debuginfo" "$FIX_DIR" "$f"
				HS_ATTACH_ARGS=$saved_args
			fi
		fi
		stop_fixture "$FIX_PID"
	done
done

# hugetlb=2 under the program's own memory: ballast's 4 MiB main arena in
# pieces, 3 GiB of its own private anonymous mapping touched below them.
# The search for the pieces reads two words per present page start, not
# the pages: exact against malloc_stats, and the stop well below what
# reading 3 GiB costs (the search that read every present byte stopped
# the target 520 ms for it here, 1 s for 6 GiB; now 10 to 30 ms).
BALLAST_MIB=3072
BALLAST_STOP_MS=${BALLAST_STOP_MS:-200}
label="GLIBC_TUNABLES=glibc.malloc.hugetlb=2 ballast $BALLAST_MIB"
if [[ -z $FILTER || $label == *$FILTER* ]]; then
	echo "== $label"
	saved=("${FIXRUN[@]}")
	FIXRUN=(env GLIBC_TUNABLES=glibc.malloc.hugetlb=2 "${FIXRUN[@]}")
	READY_TIMEOUT=60 start_fixture ballast "$BALLAST_MIB"
	rc=$?
	FIXRUN=("${saved[@]}")
	if [[ $rc == 0 ]]; then
		d=$FIX_DIR
		hs "$d/hs.malloc-stats" "$d/hs.ms.err" attach --format=malloc-stats "$FIX_PID"
		no_sanitizer "$label --format=malloc-stats" "$d/hs.ms.err"
		if [[ $HS_RC -eq 0 ]] && cmp -s "$d/malloc_stats.txt" "$d/hs.malloc-stats"; then
			pass "$label --format=malloc-stats byte-identical to glibc"
		else
			fail "$label --format=malloc-stats byte-identical to glibc" "exit $HS_RC" "$d/hs.ms.err" \
				"$(diff -u "$d/malloc_stats.txt" "$d/hs.malloc-stats" | head -n 30)"
		fi
		hs "$d/hs.json" "$d/hs.json.err" attach --json "$FIX_PID"
		no_sanitizer "$label --json" "$d/hs.json.err"
		ms=$(jq -r '.snapshot.stopped_ms // empty' "$d/hs.json" 2>/dev/null)
		if [[ $HS_RC -ne 0 || -z $ms ]]; then
			fail "$label: stopped_ms" "exit $HS_RC, stopped_ms '${ms}'" "$d/hs.json.err"
		elif awk -v m="$ms" -v b="$BALLAST_STOP_MS" 'BEGIN { exit !(m < b) }'; then
			pass "$label: target stopped ${ms} ms < ${BALLAST_STOP_MS} ms (its own memory not read)"
		else
			fail "$label: target stopped < ${BALLAST_STOP_MS} ms" "${ms} ms: the search read the program's own memory?"
		fi
		[[ $FORMATS == *json* ]] && pieces_check "$label" "$d" sizes
		alive "$label alive" "$FIX_PID"
		stop_fixture "$FIX_PID"
	fi
fi
summary
