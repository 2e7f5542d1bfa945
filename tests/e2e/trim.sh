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
# trim_case C: the trim fixture with the arguments C (a leading
# "hugetlb=2" sets that tunable), heapscope's prediction against the drop.
trim_case() {
	local c=$1 label="trim $1${2:+ ($2)}" args=$1 rc pid d pred drop i
	local saved=("${FIXRUN[@]}")
	if [[ $c == hugetlb=2* ]]; then
		FIXRUN=(env GLIBC_TUNABLES=glibc.malloc.hugetlb=2 "${FIXRUN[@]}")
		args=${c#hugetlb=2 }
	fi
	# shellcheck disable=SC2086 # N KEEP [all] [sbrk]
	start_fixture trim $args
	rc=$?
	FIXRUN=("${saved[@]}")
	[[ $rc == 0 ]] || return 0
	pid=$FIX_PID d=$FIX_DIR
	if [[ -n ${2:-} ]]; then
		i=$(grep -c anon_hugepage "/proc/$pid/maps")
		check "$label: glibc took huge pages ($i hugetlb mappings)" "$([[ $i -gt 0 ]]; echo $?)"
	fi
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
	stop_fixture "$pid"
}

for c in "400000 0" "400000 0 all" "400000 100" "400000 40" "400000 20" "400000 7" \
	"400000 0 all sbrk" "400000 20 sbrk" \
	"hugetlb=2 400000 0" "hugetlb=2 400000 0 all" "hugetlb=2 8000 0 all" "hugetlb=2 400000 20" \
	"hugetlb=2 400000 100"; do
	trim_case "$c"
done

# hugetlb=2 with huge pages reserved (nr_hugepages, put back after): glibc
# maps its pieces MAP_HUGETLB, where MADV_DONTNEED drops whole huge pages
# only, from a start on one: mtrim's runs start on base pages, so almost
# nothing goes (the drop counts HugetlbPages too).
NR=/proc/sys/vm/nr_hugepages
if [[ -w $NR ]] && before=$(cat "$NR") && echo $((before + 64)) >"$NR" 2>/dev/null &&
	[[ $(awk '/^HugePages_Free/ {print $2}' /proc/meminfo) -ge 32 ]]; then
	trap 'echo "$before" >"$NR"' EXIT
	for c in "hugetlb=2 400000 0 all" "hugetlb=2 400000 20" "hugetlb=2 400000 100"; do
		trim_case "$c" "huge pages reserved"
	done
	echo "$before" >"$NR"
	trap - EXIT
else
	[[ -n ${before:-} ]] && echo "$before" >"$NR" 2>/dev/null
	skip "trim hugetlb=2 with huge pages reserved" "cannot reserve 64 huge pages here ($NR not writable, or no memory for them)"
fi
summary
