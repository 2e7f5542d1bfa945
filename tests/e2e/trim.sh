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

# hugetlb=2 (2.35+): main_arena grows by mmap in pieces and systrim
# never gives its top back (MORECORE(0) fails): only the bins' pages go.
# "all": nothing pins the top; 8000 blocks fit in the first 1 MiB piece,
# so all of it is top after the trim's consolidation (none given back).
# "sbrk": the program moves the break past glibc's top itself (a foreign
# sbrk): systrim gives nothing back then, only the bins' pages go.
for c in "400000 0" "400000 0 all" "400000 100" "400000 40" "400000 20" "400000 7" \
	"400000 0 all sbrk" "400000 20 sbrk" \
	"hugetlb=2 400000 0" "hugetlb=2 400000 0 all" "hugetlb=2 8000 0 all" "hugetlb=2 400000 20" \
	"hugetlb=2 400000 100"; do
	label="trim $c"
	saved=("${FIXRUN[@]}")
	args=$c
	if [[ $c == hugetlb=2* ]]; then
		FIXRUN=(env GLIBC_TUNABLES=glibc.malloc.hugetlb=2 "${FIXRUN[@]}")
		args=${c#hugetlb=2 }
	fi
	# shellcheck disable=SC2086 # N KEEP [all]
	start_fixture trim $args
	rc=$?
	FIXRUN=("${saved[@]}")
	[[ $rc == 0 ]] || continue
	pid=$FIX_PID d=$FIX_DIR
	hs "$d/hs.json" "$d/hs.err" attach --json "$pid"
	check "$label: exit 0" "$HS_RC" "exit $HS_RC: $(head -c 300 "$d/hs.err")"
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
	# a whole top glibc cannot give back: the finding says why, and the
	# verdict is not "trimmable"
	if [[ $c == *" 0 all"* && ($c == *sbrk || $c == hugetlb=2*) ]]; then
		why="the program break lies past its end"
		[[ $c == hugetlb=2* ]] && why="grew by mmap, not sbrk"
		[[ $c == hugetlb=2* && $(jq -r '.glibc.version // empty' "$d/hs.json" 2>/dev/null) =~ ^2\.(2|3[0-4])\. ]] && why=
		if [[ -n $why ]]; then
			msg=$(jq -r '[.diagnosis.findings[] | select(.kind == "top") | .message] | first // ""' "$d/hs.json")
			verdict=$(jq -r '.diagnosis.verdict' "$d/hs.json")
			check "$label: the top finding says '$why', verdict $verdict" \
				"$([[ $msg == *"$why"* && $verdict != trimmable ]]; echo $?)" "finding: $msg"
		fi
	fi
	stop_fixture "$pid"
done
summary
