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

# A known bug, not yet fixed (issue 11, open): with hugetlb=2 glibc grows
# the main arena by mmap in pieces, not one stretch from sbrk_base, and
# heapscope reads it as one (exit 5, lists cut). Counted as a skip, with
# the reason, until the walk follows the pieces.
skip "GLIBC_TUNABLES=glibc.malloc.hugetlb=2" \
	"known bug: a main arena grown by mmap in pieces is read as one stretch (issue 11 stays open for it)"

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
		stop_fixture "$FIX_PID"
	done
done
summary
