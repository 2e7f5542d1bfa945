#!/usr/bin/env bash
# Do no harm: heapscope reads only the pages its target has (present or
# swapped, by /proc/PID/pagemap); reading any other page would give the
# target one. Three targets where the reads of old gave the target
# hundreds of MiB: a heap just given back by malloc_trim(0), a 4 GiB heap
# of which only the chunk headers were ever touched, and an mmapped chunk
# whose VMA goes on into 256 MiB the program mapped and never touched.
# Each is read plain, with --leaks (which copies the heaps) and (the first
# two) with --compare; the target's anonymous RSS (smaps_rollup) must stay
# where it was, and the reports stay exact (malloc-stats byte-identical to
# glibc's own). 4: the unwinder's reads (the snapshot unwinds every
# thread through libc's and the executable's .eh_frame): a fresh target
# with 13 threads waiting in as many libc functions, whose file-backed RSS
# (RssFile, and the Rss of its libc and executable mappings) must not grow
# by more than two pages on its first attaches.
#   usage: HEAPSCOPE=build/heapscope tests/e2e/harm.sh
set -uo pipefail
SUITE=harm
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/../lib.sh"
need_file "$HEAPSCOPE"

fact() { awk -v k="$2" '$1 == k {print $2}' "$1/facts.txt"; }

# 1. After malloc_trim(0): the trimmed pages stay given back.
echo "== trimgrow: 2,000,000 x malloc(100), all but every 100th freed, malloc_trim(0)"
if READY_TIMEOUT=120 start_fixture trimgrow 2000000 100; then
	pid=$FIX_PID d=$FIX_DIR
	b=$(fact "$d" rss_anon_before_trim) a=$(fact "$d" rss_anon_after_trim)
	# The premise: the trim gave back most of the heap (pages that are now
	# absent from the heap, between kept blocks).
	if [[ -n $b && -n $a ]] && ((b - a > 64 << 20)); then
		pass "trimgrow: malloc_trim(0) took RssAnon from $((b >> 10)) to $((a >> 10)) kB"
	else
		fail "trimgrow: malloc_trim(0) gives back more than 64 MiB" "RssAnon before '${b}' after '${a}'"
	fi
	base=$(anon_kib "$pid")
	preds=()
	for mode in plain leaks compare plain; do
		args=()
		[[ $mode != plain ]] && args=("--$mode")
		hs "$d/$mode.json" "$d/$mode.err" attach "${args[@]}" --json "$pid"
		pred=$(jq -r '.totals.trimmable_bytes // empty' "$d/$mode.json" 2>/dev/null)
		check "trimgrow attach $mode: exit 0" "$HS_RC" "exit $HS_RC: $(head -c 300 "$d/$mode.err")"
		stays "trimgrow attach $mode" "$pid" "$base" 16
		preds+=("${pred:-none}")
	done
	if [[ ${preds[0]} != none && $(printf '%s\n' "${preds[@]}" | sort -u | wc -l) -eq 1 ]]; then
		pass "trimgrow: every attach predicts the same trim (trimmable_bytes ${preds[0]})"
	else
		fail "trimgrow: every attach predicts the same trim" "plain, --leaks, --compare, plain: ${preds[*]}"
	fi
	# The trim took all it could: what is left for another trim is at
	# most a few pages, not what reading the heap would have put back.
	if [[ ${preds[0]} != none ]] && ((preds[0] <= 64 << 10)); then
		pass "trimgrow: after malloc_trim(0), trimmable_bytes ${preds[0]} <= 64 KiB"
	else
		fail "trimgrow: after malloc_trim(0), trimmable_bytes <= 64 KiB" "${preds[0]}"
	fi
	exact_stats trimgrow "$pid" "$d"
	stays "trimgrow after every attach" "$pid" "$base" 16
	alive "trimgrow alive" "$pid"
	stop_fixture "$pid"
fi

# 2. A sparse heap: 4 GiB of address space, a page of it touched per MiB.
echo "== sparse: 4096 x 1 MiB blocks, never written, every other freed (M_MMAP_MAX 0)"
if start_fixture sparse 4096 1; then
	pid=$FIX_PID d=$FIX_DIR
	base=$(anon_kib "$pid")
	if ((base < 64 << 10)); then
		pass "sparse: 4 GiB heap, anonymous RSS $base kB"
	else
		fail "sparse: the fixture touched only headers (anonymous RSS < 64 MiB)" "$base kB"
	fi
	for mode in plain leaks compare; do
		args=()
		[[ $mode != plain ]] && args=("--$mode")
		before=$(anon_kib "$pid")
		hs "$d/$mode.json" "$d/$mode.err" attach "${args[@]}" --json "$pid"
		check "sparse attach $mode: exit 0" "$HS_RC" "exit $HS_RC: $(head -c 300 "$d/$mode.err")"
		stays "sparse attach $mode" "$pid" "$before" 64
	done
	exact_stats sparse "$pid" "$d"
	stays "sparse after every attach" "$pid" "$base" 64
	alive "sparse alive" "$pid"
	stop_fixture "$pid"
fi
# 3. An mmapped chunk with a big untouched neighbour in its VMA: looking
# for chunks past it reads the neighbour, which must cost no page.
echo "== neighbour: a 1 MiB mmapped chunk, then 256 MiB never touched in the same VMA"
if start_fixture neighbour 256; then
	pid=$FIX_PID d=$FIX_DIR
	base=$(anon_kib "$pid")
	for mode in plain leaks; do
		args=()
		[[ $mode != plain ]] && args=("--$mode")
		hs "$d/$mode.json" "$d/$mode.err" attach "${args[@]}" --json "$pid"
		check "neighbour attach $mode: exit 0" "$HS_RC" "exit $HS_RC: $(head -c 300 "$d/$mode.err")"
		stays "neighbour attach $mode (stopped $(jq -r '.snapshot.stopped_ms // "?"' "$d/$mode.json" 2>/dev/null) ms)" \
			"$pid" "$base" 16
	done
	n=$(jq -r '.totals.mmapped_chunks // empty' "$d/plain.json" 2>/dev/null)
	check "neighbour: 1 mmapped chunk found" "$([[ $n == 1 ]]; echo $?)" "mmapped_chunks '$n'"
	exact_stats neighbour "$pid" "$d"
	alive "neighbour alive" "$pid"
	stop_fixture "$pid"
fi
# 4. Unwinding: libunwind reads .eh_frame_hdr and the FDEs of every frame;
# pages of them the target never touched must be read from the file, not
# faulted into the target (128 kB each first attach, before). The
# target's own run never reads those tables (nothing unwinds or throws).
echo "== libcwait: 12 threads waiting in 12 libc functions, main in pause()"
# file_kib PID: RssFile (status) and the Rss of the libc and executable
# mappings (smaps), in kB
file_kib() {
	local exe
	exe=$(readlink "/proc/$1/exe") || return
	echo "$(awk '/^RssFile:/ {print $2}' "/proc/$1/status") $(awk -v exe="$exe" '
		NF >= 6 && $2 ~ /^[r-][w-][x-][ps]$/ {p = $6}
		/^Rss:/ && (p ~ /\/libc\.so/ || p == exe) {s += $2}
		END {print s + 0}' "/proc/$1/smaps")"
}
if start_fixture libcwait; then
	pid=$FIX_PID d=$FIX_DIR
	read -r rf0 lx0 < <(file_kib "$pid")
	for mode in plain json leaks; do
		args=()
		[[ $mode != plain ]] && args=("--$mode")
		hs "$d/$mode.out" "$d/$mode.err" attach "${args[@]}" "$pid"
		check "libcwait attach $mode: exit 0" "$HS_RC" "exit $HS_RC: $(head -c 300 "$d/$mode.err")"
		read -r rf1 lx1 < <(file_kib "$pid")
		if [[ -n $rf1 && -n $lx1 ]] && ((rf1 - rf0 <= 8 && lx1 - lx0 <= 8)); then
			pass "libcwait attach $mode: file-backed RSS $rf0 -> $rf1 kB, libc+executable $lx0 -> $lx1 kB (at most +8)"
		else
			fail "libcwait attach $mode: file-backed RSS grows at most 8 kB" \
				"RssFile $rf0 -> ${rf1:-gone} kB, libc+executable Rss $lx0 -> ${lx1:-gone} kB"
		fi
	done
	# the unwinding happened: every thread was looked at, none in doubt
	if jq -e '.snapshot.consistent == true' "$d/json.out" >/dev/null 2>&1 &&
		! grep -q 'cannot be unwound' "$d/json.out"; then
		pass "libcwait: every stack unwound, the snapshot consistent"
	else
		fail "libcwait: every stack unwound" "$(jq -c '[.snapshot, .warnings]' "$d/json.out" 2>&1 | head -c 400)"
	fi
	exact_stats libcwait "$pid" "$d"
	alive "libcwait alive" "$pid"
	stop_fixture "$pid"
fi
summary
