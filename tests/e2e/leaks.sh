#!/usr/bin/env bash
# --leaks against fixtures that know, by construction, which chunks they
# leaked and which they keep (fixtures/leaks.c, fixtures/types.cc): every
# leaked chunk must be found, no kept one reported; the tallies must add
# up; C++ types must be counted exactly.
#   usage: HEAPSCOPE=build/heapscope tests/e2e/leaks.sh
set -uo pipefail
SUITE=leaks
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/../lib.sh"
need_file "$HEAPSCOPE"

# facts KIND FILE: "ADDR SIZE" lines of that kind, sorted.
facts() { awk -v k="$1" '$1 == k {print $2, $3}' "$2" | sort; }
suspects() { jq -r '.leaks.suspects[] | "\(.address) \(.size)"' "$1" | sort; }

# consistent LABEL JSON: by_size and suspects add up to chunks/bytes.
consistent() {
	local label=$1 j=$2
	if jq -e '.leaks as $l
		| ([$l.by_size[].chunks] | add // 0) == $l.chunks
		and ([$l.by_size[].bytes] | add // 0) == $l.bytes
		and ([$l.by_size[] | .size * .chunks] | add // 0) == $l.bytes
		and ([$l.by_type[].bytes] | add // 0) <= $l.bytes
		and (if $l.all then ($l.suspects | length) == $l.chunks
		     and ([$l.suspects[].size] | add // 0) == $l.bytes else true end)' "$j" >/dev/null; then
		pass "$label: by_size and suspects add up to chunks and bytes"
	else
		fail "$label: by_size and suspects add up to chunks and bytes" "$(jq -c '.leaks | del(.suspects)' "$j")"
	fi
}

# exact LABEL DIR JSON: the suspects are exactly the leaked facts.
exact() {
	local label=$1 d=$2 j=$3
	facts leaked "$d/facts.txt" >"$d/want"
	suspects "$j" >"$d/found"
	local nwant nmiss nfalse
	nwant=$(wc -l <"$d/want")
	nmiss=$(comm -23 "$d/want" "$d/found" | wc -l)
	nfalse=$(comm -13 "$d/want" "$d/found" | wc -l)
	if [[ $nwant -gt 0 && $nmiss -eq 0 ]]; then
		pass "$label: all $nwant leaked chunks found"
	else
		fail "$label: all leaked chunks found" "$nmiss of $nwant missed" "$(comm -23 "$d/want" "$d/found")"
	fi
	if [[ $nfalse -eq 0 ]]; then
		pass "$label: no other chunk reported"
	else
		fail "$label: no other chunk reported" "$nfalse extra" "$(comm -13 "$d/want" "$d/found")"
	fi
	local kept
	kept=$( (facts kept "$d/facts.txt"; facts interior "$d/facts.txt") | sort | comm -12 - "$d/found" | wc -l)
	check "$label: none of $( (facts kept "$d/facts.txt"; facts interior "$d/facts.txt") | wc -l) kept chunks reported" \
		"$([[ $kept -eq 0 ]]; echo $?)" "$kept kept chunks reported as leaked"
}

# --- fixtures/leaks.c ---
if start_fixture leaks; then
	pid=$FIX_PID d=$FIX_DIR
	hs "$d/all.json" "$d/all.err" attach --leaks=all --json "$pid"
	check "leaks: attach --leaks=all exits 0" "$([[ $HS_RC -eq 0 ]]; echo $?)" "exit $HS_RC: $(head -c 300 "$d/all.err")"
	exact "leaks --leaks=all" "$d" "$d/all.json"
	consistent "leaks --leaks=all" "$d/all.json"
	ni=$(jq '.leaks.interior_chunks' "$d/all.json")
	check "leaks: the chunk held by an interior pointer is counted as such ($ni)" \
		"$([[ $ni -ge 1 ]]; echo $?)" "interior_chunks $ni"
	nleak=$(facts leaked "$d/facts.txt" | wc -l)

	hs "$d/some.json" "$d/some.err" attach --leaks --json "$pid"
	if jq -e --argjson n "$nleak" '.leaks.all == false and .leaks.chunks == $n
		and (.leaks.suspects | length) > 0 and (.leaks.suspects | length) < $n
		and ([.leaks.suspects | group_by(.size)[] | length] | max) <= 3' "$d/some.json" >/dev/null &&
		[[ -z $(suspects "$d/some.json" | comm -13 <(facts leaked "$d/facts.txt") -) ]]; then
		pass "leaks --leaks: a sample of at most 3 per size, all of them leaked, chunks still $nleak"
	else
		fail "leaks --leaks: a sample" "exit $HS_RC" "$(jq -c '.leaks | {chunks, all, n: (.suspects | length)}' "$d/some.json" 2>&1)"
	fi
	consistent "leaks --leaks" "$d/some.json"

	hs "$d/plain.json" "$d/plain.err" attach --json "$pid"
	check "leaks: no \"leaks\" object without --leaks" "$(jq -e 'has("leaks") | not' "$d/plain.json" >/dev/null; echo $?)" \
		"$(head -c 200 "$d/plain.err")"

	hs "$d/text" "$d/text.err" attach --leaks "$pid"
	if [[ $HS_RC -eq 0 ]] && grep -q "^leaks: $nleak chunks, " "$d/text" && grep -q "suspects (a sample):" "$d/text"; then
		pass "leaks: text report has the leaks section ($nleak chunks)"
	else
		fail "leaks: text report has the leaks section" "exit $HS_RC" "$d/text"
	fi
	alive "leaks: target running and untraced after four attaches" "$pid"

	hs "$d/bad" "$d/bad.err" attach --leaks=foo "$pid"
	check "leaks: --leaks=foo exits 2" "$([[ $HS_RC -eq 2 && $(wc -l <"$d/bad.err") -eq 1 ]]; echo $?)" \
		"exit $HS_RC" "$d/bad.err"
	stop_fixture "$pid"
fi

# --- 2000 more 1 KiB chunks leaked: the verdict names it
if start_fixture leaks 2000; then
	pid=$FIX_PID d=$FIX_DIR
	hs "$d/all.json" "$d/all.err" attach --leaks=all --json "$pid"
	exact "leaks 2000 --leaks=all" "$d" "$d/all.json"
	consistent "leaks 2000 --leaks=all" "$d/all.json"
	v=$(jq -r '.diagnosis.verdict' "$d/all.json")
	check "leaks 2000: verdict leak-suspected ($v)" "$([[ $v == leak-suspected ]]; echo $?)" "verdict $v"
	hs "$d/plain.json" "$d/plain.err" attach --json "$pid"
	v=$(jq -r '.diagnosis.verdict' "$d/plain.json")
	check "leaks 2000: no leak verdict without --leaks ($v)" "$([[ $v != leak-suspected ]]; echo $?)" "verdict $v"
	stop_fixture "$pid"
fi

# --- fixtures/mmleaks.c: worker threads keep and leak mmapped chunks that
# lie between the main heap and the thread heaps and between thread heaps
# (memcached's slabs). Every run is a fresh address layout (ASLR); each
# must give exactly the leaked set, no kept chunk reported. The fixture
# says how many of its mmapped chunks lie between its heaps: runs where
# none does would prove nothing, and fail.
MM_RUNS=${MM_RUNS:-20}
if [[ $(cat /proc/sys/kernel/randomize_va_space 2>/dev/null) == 0 ]]; then
	echo "note: ASLR is off (kernel.randomize_va_space 0): the $MM_RUNS mmleaks runs share one layout"
fi
mm_ok=0 mm_kept=0 mm_missed=0 mm_false=0 mm_between=0 mm_nobetween=0 mm_bad=() mm_layouts=()
for ((run = 1; run <= MM_RUNS; run++)); do
	start_fixture mmleaks || { mm_bad+=("run $run: fixture did not start"); continue; }
	pid=$FIX_PID d=$FIX_DIR
	hs "$d/all.json" "$d/all.err" attach --leaks=all --json "$pid"
	stop_fixture "$pid"
	if [[ $HS_RC -ne 0 ]]; then
		mm_bad+=("run $run: exit $HS_RC: $(head -c 200 "$d/all.err")")
		continue
	fi
	facts leaked "$d/facts.txt" >"$d/want"
	facts kept "$d/facts.txt" >"$d/kept"
	suspects "$d/all.json" >"$d/found"
	nb=$(awk '$1 == "between" {print $2}' "$d/facts.txt")
	mm_layouts+=("$(awk '$1 == "heap" {printf "%s ", $2}' "$d/facts.txt")")
	miss=$(comm -23 "$d/want" "$d/found" | wc -l)
	extra=$(comm -13 "$d/want" "$d/found" | wc -l)
	kept=$(comm -12 "$d/kept" "$d/found" | wc -l)
	mm_missed=$((mm_missed + miss)) mm_false=$((mm_false + extra)) mm_kept=$((mm_kept + kept))
	mm_between=$((mm_between + ${nb:-0}))
	[[ ${nb:-0} -gt 0 ]] || mm_nobetween=$((mm_nobetween + 1))
	if [[ $miss -eq 0 && $extra -eq 0 && $kept -eq 0 ]] &&
		jq -e --argjson n "$(wc -l <"$d/want")" '.leaks.chunks == $n' "$d/all.json" >/dev/null; then
		mm_ok=$((mm_ok + 1))
	else
		mm_bad+=("run $run ($nb mmapped chunks between heaps): $kept kept chunks reported, $miss leaked missed, $extra other reported")
	fi
done
check "mmleaks: $mm_ok of $MM_RUNS runs give exactly the leaked set" "$([[ $mm_ok -eq $MM_RUNS ]]; echo $?)" \
	"$(printf '%s\n' "${mm_bad[@]}")"
check "mmleaks: 0 reachable chunks reported leaked over $MM_RUNS runs ($mm_kept)" "$([[ $mm_kept -eq 0 ]]; echo $?)" \
	"$mm_kept kept chunks reported leaked"
check "mmleaks: every run had mmapped chunks between its heaps ($mm_between in all)" \
	"$([[ $mm_nobetween -eq 0 && $mm_between -gt 0 ]]; echo $?)" "$mm_nobetween runs with none between"
nlay=$(printf '%s\n' "${mm_layouts[@]}" | sort -u | wc -l)
if [[ $(cat /proc/sys/kernel/randomize_va_space 2>/dev/null) != 0 ]]; then
	check "mmleaks: $nlay different address layouts in $MM_RUNS runs" "$([[ $MM_RUNS -le 1 || $nlay -gt 1 ]]; echo $?)" \
		"ASLR is on but every run had the same heaps"
fi

# --- the same, glibc linked statically: its TLS lies in [heap] below the
# first chunk, and glibc keeps pointers to chunks in RELRO (read-only) data
if [[ -n $HS_GLIBC && $HS_GLIBC != host && $HS_GLIBC != 2.36 ]]; then
	skip "static leaks" "static fixtures link the host's glibc: not a case of HS_GLIBC=$HS_GLIBC (run without it)"
elif FIXDIR=$ROOT/build/fixtures-static start_fixture leaks; then
	pid=$FIX_PID d=$FIX_DIR
	hs "$d/all.json" "$d/all.err" attach --leaks=all --json "$pid"
	check "static leaks: attach --leaks=all exits 0" "$([[ $HS_RC -eq 0 ]]; echo $?)" "exit $HS_RC: $(head -c 300 "$d/all.err")"
	exact "static leaks --leaks=all" "$d" "$d/all.json"
	consistent "static leaks --leaks=all" "$d/all.json"
	alive "static leaks: target running and untraced" "$pid"
	stop_fixture "$pid"
fi

# --- fixtures/types.cc (C++: built for the host only) ---
if [[ ! -x $FIXDIR/types && $FIXDIR == */fixtures-matrix ]]; then
	skip "types" "C++ fixtures are not built for the matrix (tests/matrix/cc.sh builds C): run without HS_GLIBC"
elif [[ ! -x $FIXDIR/types ]]; then
	fail "types" "$FIXDIR/types is not built (make)"
elif start_fixture types; then
	pid=$FIX_PID d=$FIX_DIR
	hs "$d/plain.json" "$d/plain.err" attach --json "$pid"
	hs "$d/all.json" "$d/all.err" attach --leaks=all --json "$pid"
	check "types: attach --leaks=all exits 0" "$([[ $HS_RC -eq 0 ]]; echo $?)" "exit $HS_RC: $(head -c 300 "$d/all.err")"
	while read -r _ name chunks bytes; do
		for j in plain all; do
			got=$(jq -r --arg t "$name" '[.types[] | select(.type == $t)] | if length == 1 then "\(.[0].in_use_chunks) \(.[0].in_use_bytes)" else "none" end' "$d/$j.json")
			check "types ($j): $name in use $chunks chunks $bytes bytes" "$([[ $got == "$chunks $bytes" ]]; echo $?)" "heapscope: $got"
		done
	done < <(grep '^type ' "$d/facts.txt")
	while read -r _ name chunks bytes; do
		got=$(jq -r --arg t "$name" '[.leaks.by_type[] | select(.type == $t)] | if length == 1 then "\(.[0].chunks) \(.[0].bytes)" else "0 0" end' "$d/all.json")
		check "types: $name leaked $chunks chunks $bytes bytes" "$([[ $got == "$chunks $bytes" ]]; echo $?)" "heapscope: $got"
	done < <(grep '^leaked_type ' "$d/facts.txt")
	exact "types --leaks=all" "$d" "$d/all.json"
	consistent "types --leaks=all" "$d/all.json"
	hs "$d/text" "$d/text.err" attach "$pid"
	check "types: text report lists Session" "$(grep -q '^types (in use' "$d/text" && grep -q ' Session$' "$d/text"; echo $?)" "" "$d/text"
	alive "types: target running and untraced" "$pid"
	stop_fixture "$pid"
fi
summary
