#!/usr/bin/env bash
# The verdict on every scenario fixture, text and JSON: the classic "free()
# never returns memory" (fragmented, pinned by exactly the chunk the
# fixture names, holding what glibc gives back once it is freed), arena sprawl, a dense heap, a trimmable top, a moved
# mmap threshold, a real leak (leak-suspected only with --leaks, never
# "healthy" without), and a program whose RSS is mostly its own mmap'd
# memory (outside-malloc). Without --leaks no verdict says "healthy", "no
# action needed" or "not a leak". Findings' bytes are checked against the
# totals, remedies against the tunables the running glibc has, the arena
# limit against glibc itself (fixtures/arenas.c counts the arenas glibc
# made: normally, under a 1-CPU affinity mask, with arena_max and with
# arena_test tuned), and every report's process split against smaps_rollup.
#   usage: [HS_GLIBC=2.43] HEAPSCOPE=build/heapscope tests/e2e/diagnose.sh
set -uo pipefail
SUITE=diagnose${HS_GLIBC:+ (glibc $HS_GLIBC)}
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/../lib.sh"
need_file "$HEAPSCOPE"
JQ_FINDINGS=$ROOT/tests/e2e/diagnose.jq

fact() { awk -v k="$1" '$1 == k {print $2; exit}' "$FIX_DIR/facts.txt"; }

# rollup PID: Rss of /proc/PID/smaps_rollup in bytes, and the mappings.
rollup() {
	echo "$(awk '/^Rss:/ {print $2 * 1024}' "/proc/$1/smaps_rollup") $(wc -l <"/proc/$1/maps")"
}

# process_split NAME JSON RSS NMAPS: the split sums to its own rss_bytes
# exactly, and to smaps_rollup's Rss (read just before the attach) within
# one page per mapping.
process_split() {
	local name=$1 j=$2 rss=$3 nmaps=$4 got own
	read -r got own < <(jq -r '.process | [([.arenas_bytes, .mmapped_chunks_bytes, .stacks_bytes, .other_anon_bytes,
		.file_bytes, .shared_bytes] | add), .rss_bytes] | @tsv' "$j")
	[[ -n $got && $got == "$own" ]]
	check "$name: process split sums to its rss_bytes ($got == $own)" $? "sum $got, rss_bytes $own"
	local diff=$((got > rss ? got - rss : rss - got))
	((diff <= 4096 * nmaps))
	check "$name: process split $got within one page per mapping ($nmaps) of smaps_rollup's Rss $rss" $? \
		"off by $diff bytes"
}

# attach_both NAME: text and JSON reports of $FIX_PID into $FIX_DIR; checks
# both ran, agree on the verdict, and the findings' bytes, the process
# split, and that a verdict made without --leaks claims nothing about
# reachability. Sets VERDICT, J.
attach_both() {
	local name=$1 d=$FIX_DIR
	J=$d/hs.json
	hs "$d/hs.txt" "$d/hs.txt.err" attach "$FIX_PID"
	local rc_text=$HS_RC roll
	roll=$(rollup "$FIX_PID")
	hs "$J" "$d/hs.json.err" attach --json "$FIX_PID"
	VERDICT=$(jq -r '.diagnosis.verdict' "$J" 2>/dev/null)
	if [[ $rc_text -ne 0 || $HS_RC -ne 0 || -z $VERDICT ]]; then
		fail "$name: attach" "exit text $rc_text, json $HS_RC" "$d/hs.txt.err" "$d/hs.json.err"
		return 1
	fi
	local first
	first=$(head -n 1 "$d/hs.txt")
	[[ $first == "$VERDICT: "* ]]
	check "$name: text verdict line '$first' agrees with JSON ($VERDICT)" $? "they differ"
	local bad
	bad=$(jq -r -f "$JQ_FINDINGS" "$J" 2>&1)
	[[ -z $bad ]]
	check "$name: findings' bytes equal the totals they summarise" $? "$bad"
	# Every finding with bytes has a remedy.
	bad=$(jq -r '.diagnosis.findings[] | select(.remedy == "") | .kind' "$J")
	[[ -z $bad ]]
	check "$name: every finding has a remedy" $? "no remedy for: $bad"
	# shellcheck disable=SC2086 # "RSS NMAPS"
	process_split "$name" "$J" $roll
	[[ $VERDICT != healthy && $first != *"no action needed"* && $first != *"not a leak"* ]] &&
		jq -e '.diagnosis.leaks_checked == false and .diagnosis.action_needed == true' "$J" >/dev/null
	check "$name: without --leaks no 'healthy', 'no action needed' or 'not a leak'" $? "$first"
	return 0
}

expect_verdict() {
	[[ $VERDICT == "$2" ]]
	check "$1: verdict $2" $? "got '$VERDICT': $(jq -r .diagnosis.summary "$J")"
}

# has_remedy NAME KIND TEXT: the remedy of finding KIND mentions TEXT.
has_remedy() {
	local r
	r=$(jq -r --arg k "$2" '.diagnosis.findings[] | select(.kind == $k) | .remedy' "$J")
	[[ $r == *"$3"* ]]
	check "$1: $2 remedy names $3" $? "remedy: '${r}'"
}

minor() { jq -r '.target.glibc | split(".")[1] | tonumber' "$J"; }

# --- classic: one live 100-byte chunk on top of 21 MiB of freed ones.
if start_fixture classic; then
	if attach_both classic; then
		expect_verdict classic fragmented
		pin=$(fact pin)
		got=$(jq -r '.pins[0].address // "none"' "$J")
		[[ $got == "$pin" ]]
		check "classic: the pin is the fixture's last block ($pin)" $? "pins[0] is $got"
		read -r size held free top_finding < <(jq -r '[.pins[0].size, .pins[0].held_bytes, .totals.free_bytes,
			(.diagnosis.findings[] | select(.kind == "top-pinned") | .bytes)] | @tsv' "$J")
		[[ $size == "$(awk '$1 == "pin" {print $3}' "$FIX_DIR/facts.txt")" ]]
		check "classic: pin size $size" $? "fact says $(awk '$1 == "pin" {print $3}' "$FIX_DIR/facts.txt")"
		[[ -n $held && $held == "$free" ]]
		check "classic: the pin holds every free byte ($held == totals.free_bytes $free)" $? "held $held, free $free"
		[[ ${top_finding:-} == "$held" ]]
		check "classic: a top-pinned finding of $held bytes" $? "got '${top_finding:-none}'"
		# The user area was memset to (n-1)&0xff|1: 32 bytes of it, in hex.
		n=$(fact n)
		byte=$(printf '%02x' $(((n - 1) & 0xff | 1)))
		want=$(printf "$byte%.0s" {1..32})
		got=$(jq -r '.pins[0].preview' "$J")
		[[ $got == "$want" ]]
		check "classic: pin preview is the block's first 32 bytes" $? "got $got, want $want"
		grep -q "^pinned" "$FIX_DIR/hs.txt" && grep -q "$pin" "$FIX_DIR/hs.txt"
		check "classic: text report has a pinned section naming $pin" $? "$(sed -n '/^pinned/,+3p' "$FIX_DIR/hs.txt")"
		has_remedy classic holes "malloc_trim(0) would return"
		# Its holes are 112-byte blocks and M_MMAP_THRESHOLD is at its
		# 128 KiB start (every larger block is mmapped already): that
		# setting cannot help and is not offered.
		r=$(jq -r '.diagnosis.findings[] | select(.kind == "holes") | .remedy' "$J")
		[[ $r != *MMAP_THRESHOLD* && $r != *mmap_threshold* ]]
		check "classic: the holes remedy offers no M_MMAP_THRESHOLD (threshold $(jq .diagnosis.thresholds.mmap_threshold "$J"))" $? "$r"
		if (($(minor) >= 43)); then
			n_fast=$(jq '[.diagnosis.findings[] | select(.kind == "fastbins")] | length' "$J")
			[[ $n_fast == 0 ]]
			check "classic: no fastbins finding on glibc 2.$(minor) (no fastbins there)" $? "got $n_fast"
		else
			has_remedy classic fastbins "glibc.malloc.mxfast=0"
			classic_fast=yes
		fi
	fi
	stop_fixture "$FIX_PID"
fi

# start_with NAME ENV...: start_fixture NAME under `env ENV...` (glibc
# tunables: a remedy applied), then the JSON report into $FIX_DIR/r.json.
start_with() {
	local name=$1 saved=("${FIXRUN[@]}") ok=1
	shift
	FIXRUN=(env "$@" "${FIXRUN[@]}")
	start_fixture "$name" || ok=0
	FIXRUN=("${saved[@]}")
	((ok)) || return 1
	hs "$FIX_DIR/r.json" "$FIX_DIR/r.err" attach --json "$FIX_PID"
}

# --- the fastbins remedy, applied: glibc stops using fastbins.
if [[ ${classic_fast:-} == yes ]] && start_with classic GLIBC_TUNABLES=glibc.malloc.mxfast=0; then
	read -r fb nf < <(jq -r '[.totals.fastbin_bytes, ([.diagnosis.findings[] | select(.kind == "fastbins")] | length)] | @tsv' "$FIX_DIR/r.json")
	[[ $fb == 0 && $nf == 0 ]]
	check "classic with the remedy glibc.malloc.mxfast=0: no fastbin bytes, no fastbins finding" $? "fastbin_bytes $fb"
	stop_fixture "$FIX_PID"
fi

# --- pinned: held_bytes against glibc itself. The fixture frees its pin and
# calls malloc_trim(0); the break comes down by the top chunk that forms
# (the run, the pin, the old top) less MINSIZE + 1, page-aligned down
# (systrim with pad 0). tcache chunks in the run stay in use through the
# trim, so they may be missing from the drop: between the two bounds.
if start_fixture pinned; then
	if attach_both pinned; then
		expect_verdict pinned fragmented
		pin=$(fact pin)
		read -r addr size held top tc < <(jq -r '[.pins[0].address, .pins[0].size, .pins[0].held_bytes,
			(.arenas[] | select(.main) | .top_bytes), .totals.tcache_bytes] | @tsv' "$J")
		[[ $addr == "$pin" ]]
		check "pinned: the pin is the fixture's last block ($pin)" $? "pins[0] is $addr"
		# Pins above the block (2.42+ allocates the tcache at the first
		# free(), on top of everything): freeing the block then returns
		# only the old top, and heapscope must say what holds the rest.
		above=$(jq -r --arg a "$addr" '[.pins[] | select([(.address | length), .address] > [($a | length), $a])] | length' "$J")
		kill -USR1 "$FIX_PID"
		for ((i = 0; i < 250; i++)); do [[ -s $FIX_DIR/trim.txt ]] && break; sleep 0.02; done
		drop=$(awk '/^brk_drop/ {print $2}' "$FIX_DIR/trim.txt" 2>/dev/null)
		if [[ $above == 0 ]]; then
			hi=$(((held + size + top - 33) / 4096 * 4096))
			lo=$(((held - tc + size + top - 33) / 4096 * 4096))
			[[ -n $drop ]] && ((drop >= lo && drop <= hi))
			check "pinned: freeing the pin and malloc_trim(0) brought the break down $drop bytes, as held_bytes $held predicts [$lo, $hi]" $? \
				"drop '${drop:-none}'"
		else
			want=$(((top - 33) / 4096 * 4096))
			[[ $drop == "$want" ]]
			check "pinned: $above more pin(s) above the block: freeing it and malloc_trim(0) returned only the old top ($drop == $want)" $? \
				"drop '${drop:-none}'"
			types=$(jq -r '[.pins[1:][] | .type] | join(",")' "$J")
			[[ $types == tcache_perthread_struct ]]
			check "pinned: the pin above it is glibc's own tcache_perthread_struct" $? "types: $types"
		fi
	fi
	stop_fixture "$FIX_PID"
fi

# --- sprawl: 6 thread arenas of holes.
if start_fixture sprawl; then
	if attach_both sprawl; then
		expect_verdict sprawl arena-sprawl
		n=$(jq '.arenas | length' "$J")
		[[ $n == 7 ]]
		check "sprawl: 7 arenas" $? "got $n"
		has_remedy sprawl arena-sprawl "MALLOC_ARENA_MAX=2"
		has_remedy sprawl arena-sprawl "glibc.malloc.arena_max=2"
		held0=$(jq '.totals.system_bytes' "$J")
		lim=$(jq -r '.diagnosis.arena_limit' "$J")
		grep -q "^arenas: 7 of glibc's limit $lim " "$FIX_DIR/hs.txt"
		check "sprawl: text report gives 7 arenas of the limit $lim (checked against glibc below)" $? \
			"$(grep '^arenas:' "$FIX_DIR/hs.txt")"
	fi
	stop_fixture "$FIX_PID"
	# The remedy, applied: 2 arenas share the free space, less is held.
	if [[ -n ${held0:-} ]] && start_with sprawl MALLOC_ARENA_MAX=2; then
		read -r n held < <(jq -r '[(.arenas | length), .totals.system_bytes] | @tsv' "$FIX_DIR/r.json")
		[[ $n == 2 ]] && ((held < held0))
		check "sprawl with the remedy MALLOC_ARENA_MAX=2: $n arenas, $held bytes held (was 7, $held0)" $? ""
		stop_fixture "$FIX_PID"
	fi
fi

# --- fragmented: holes in 4 arenas, most of them in one thread arena's two
# heaps: fragmentation, not sprawl.
if start_fixture fragmented; then
	if attach_both fragmented; then
		expect_verdict fragmented fragmented
		has_remedy fragmented holes "malloc_trim(0) would return"
	fi
	stop_fixture "$FIX_PID"
fi

# --- healthy: a dense heap. In use without --leaks; healthy, and "no
# action needed", only once --leaks found little unreachable and the
# process's memory is malloc's.
if start_fixture healthy; then
	if attach_both healthy; then
		expect_verdict healthy in-use
		n=$(jq '[.diagnosis.findings[] | select(.kind == "holes" or .kind == "top-pinned" or .kind == "arena-sprawl")] | length' "$J")
		[[ $n == 0 ]]
		check "healthy: no holes, pin or sprawl finding" $? "got $n: $(jq -c .diagnosis.findings "$J")"
		grep -q "in use (live or leaked: run --leaks, or watch its growth)" "$FIX_DIR/hs.txt"
		check "healthy: without --leaks the in-use memory is 'live or leaked'" $? "$(head -n 1 "$FIX_DIR/hs.txt")"
		# The fixture unmaps its only table of pointers: every block is
		# leaked, which only --leaks can see.
		hs "$FIX_DIR/leaks.json" "$FIX_DIR/leaks.err" attach --leaks --json "$FIX_PID"
		v=$(jq -r .diagnosis.verdict "$FIX_DIR/leaks.json")
		[[ $v == leak-suspected ]]
		check "healthy --leaks: its blocks lost their only pointers: leak-suspected" $? "got $v"
	fi
	stop_fixture "$FIX_PID"
fi

# --- dense: all live, every block reachable: healthy and "no action
# needed" with --leaks, and only with it.
if start_fixture dense; then
	if attach_both dense; then
		expect_verdict dense in-use
		hs "$FIX_DIR/leaks.txt" "$FIX_DIR/leaks.err" attach --leaks "$FIX_PID"
		first=$(head -n 1 "$FIX_DIR/leaks.txt")
		[[ $HS_RC -eq 0 && $first == "healthy: "*"--leaks found "*"no action needed" ]]
		check "dense --leaks: healthy, no action needed ('$first')" $? "exit $HS_RC"
		hs "$FIX_DIR/leaks.json" "$FIX_DIR/leaks.err" attach --leaks --json "$FIX_PID"
		jq -e '.diagnosis.leaks_checked and .diagnosis.process_read and (.diagnosis.action_needed | not)
			and (.diagnosis.outside_malloc | not)' "$FIX_DIR/leaks.json" >/dev/null
		check "dense --leaks: JSON says leaks checked, process read, no action needed" $? \
			"$(jq -c '.diagnosis | del(.findings)' "$FIX_DIR/leaks.json")"
	fi
	stop_fixture "$FIX_PID"
fi

# --- trimmable: a 64 MiB top kept under a raised M_TRIM_THRESHOLD.
if start_fixture trimmable; then
	if attach_both trimmable; then
		expect_verdict trimmable trimmable
		read -r top tt dyn < <(jq -r '[(.arenas[] | select(.main) | .top_bytes), .diagnosis.thresholds.trim_threshold,
			.diagnosis.thresholds.dynamic] | @tsv' "$J")
		freed=$(fact freed_bytes)
		((top >= freed))
		check "trimmable: main top $top holds the $freed freed bytes" $? "top $top"
		[[ $tt == 1073741824 && $dyn == false ]]
		check "trimmable: trim_threshold 1 GiB as mallopt set it, dynamic threshold off" $? "got $tt, dynamic $dyn"
		has_remedy trimmable top "malloc_trim(0)"
		has_remedy trimmable top "glibc.malloc.trim_threshold=N"
		n=$(jq '.pins | length' "$J")
		[[ $n == 0 ]]
		check "trimmable: nothing pins it" $? "pins: $(jq -c .pins "$J")"
	fi
	stop_fixture "$FIX_PID"
fi

# --- foreignsbrk after: a 19 MiB top the program's own sbrk left behind the
# break: neither free() nor malloc_trim(0) can give it back, so the
# verdict is not "trimmable", the top finding says why and offers no trim.
if start_fixture foreignsbrk 65536 after; then
	if attach_both "foreign sbrk past the top"; then
		[[ $VERDICT != trimmable ]]
		check "foreign sbrk past the top: verdict $VERDICT, not trimmable" $? "$(jq -r .diagnosis.summary "$J")"
		msg=$(jq -r '.diagnosis.findings[] | select(.kind == "top") | .message' "$J")
		rem=$(jq -r '.diagnosis.findings[] | select(.kind == "top") | .remedy' "$J")
		[[ $msg == *"program break lies past its end"* && $rem != *malloc_trim* && $rem != *trim_threshold* ]]
		check "foreign sbrk past the top: the top finding names the break, no trim offered" $? "finding: $msg; remedy: $rem"
		read -r trim top < <(jq -r '[.totals.trimmable_bytes, .totals.top_bytes] | @tsv' "$J")
		((top > 16 << 20 && trim < 1 << 20))
		check "foreign sbrk past the top: a top of $top bytes, none of it trimmable ($trim)" $? "top $top, trimmable $trim"
	fi
	stop_fixture "$FIX_PID"
fi

# --- threshold: the dynamic mmap threshold moved by a freed 1 MiB block.
if start_fixture threshold; then
	if attach_both threshold; then
		expect_verdict threshold in-use
		want=$(fact mmap_threshold)
		read -r mt tt got < <(jq -r '[.diagnosis.thresholds.mmap_threshold, .diagnosis.thresholds.trim_threshold,
			(.diagnosis.findings[] | select(.kind == "mmap-threshold") | .bytes)] | @tsv' "$J")
		[[ $mt == "$want" && $tt == $((2 * want)) && ${got:-} == "$want" ]]
		check "threshold: mmap_threshold $mt = the freed chunk's size, trim_threshold twice it, a finding of $want" $? \
			"mmap $mt trim $tt finding '${got:-none}', fact $want"
		has_remedy threshold mmap-threshold "glibc.malloc.mmap_threshold=131072"
		n0=$(jq .totals.mmapped_chunks "$J")
	fi
	stop_fixture "$FIX_PID"
	# The remedy, applied: the thresholds stay put, and glibc mmaps the
	# 8 blocks of 512 KiB instead of keeping them in the heap.
	tu=$(jq -r '.diagnosis.findings[] | select(.kind == "mmap-threshold") | .remedy | capture("(?<t>GLIBC_TUNABLES=[^ ,)]*)").t' "$J")
	if [[ -n $tu ]] && start_with threshold "$tu"; then
		read -r mt dyn n nf < <(jq -r '[.diagnosis.thresholds.mmap_threshold, .diagnosis.thresholds.dynamic, .totals.mmapped_chunks,
			([.diagnosis.findings[] | select(.kind == "mmap-threshold")] | length)] | @tsv' "$FIX_DIR/r.json")
		[[ $mt == 131072 && $dyn == false && $n == $((n0 + 8)) && $nf == 0 ]]
		check "threshold with the remedy $tu: threshold stays 128 KiB, the 8 blocks of 512 KiB are mmapped ($n0 -> $n chunks), no finding" $? \
			"threshold $mt dynamic $dyn mmapped $n findings $nf"
		stop_fixture "$FIX_PID"
	fi
fi

# --- leak: unreachable blocks; only --leaks can call it a leak.
if start_fixture leak; then
	if attach_both leak; then
		expect_verdict "leak (without --leaks)" in-use
		hs "$FIX_DIR/leaks.json" "$FIX_DIR/leaks.err" attach --leaks --json "$FIX_PID"
		if [[ $HS_RC -eq 2 ]] && grep -q "not implemented" "$FIX_DIR/leaks.err"; then
			echo "  NOT RUN (needs --leaks): leak: verdict leak-suspected with --leaks ($(head -n 1 "$FIX_DIR/leaks.err"))"
		else
			J=$FIX_DIR/leaks.json
			VERDICT=$(jq -r '.diagnosis.verdict' "$J" 2>/dev/null)
			[[ $HS_RC -eq 0 ]]
			check "leak: attach --leaks" $? "exit $HS_RC: $(head -n 3 "$FIX_DIR/leaks.err")"
			expect_verdict "leak (with --leaks)" leak-suspected
			read -r lb fb < <(jq -r '[.leaks.bytes, (.diagnosis.findings[] | select(.kind == "leak") | .bytes)] | @tsv' "$J")
			want=$(awk '$1 == "leaked_chunks" {print $4}' "$FIX_DIR/facts.txt")
			[[ -n $lb && $lb -ge $want && ${fb:-} == "$lb" ]]
			check "leak: leaks.bytes $lb >= the $want bytes leaked, finding equal" $? "leaks $lb, finding '${fb:-none}'"
		fi
	fi
	stop_fixture "$FIX_PID"
fi

# --- ownmap: most of the RSS is the program's own mmap'd memory. The
# first line says so; each part of the split holds at least what the
# fixture touched; its mapping is the largest region, exactly.
if start_fixture ownmap; then
	if attach_both ownmap; then
		expect_verdict ownmap outside-malloc
		first=$(head -n 1 "$FIX_DIR/hs.txt")
		[[ $first == *"RSS is outside malloc, "*"anonymous memory of unknown owner"* ]]
		check "ownmap: the first line says most of the RSS is outside malloc, owner unknown" $? "$first"
		read -r _ ostart oend otouched < <(grep '^own ' "$FIX_DIR/facts.txt")
		read -r _ _ _ stouched < <(grep '^shared ' "$FIX_DIR/facts.txt")
		read -r _ _ mlen < <(grep '^mmapped ' "$FIX_DIR/facts.txt")
		stacks=$(awk '$1 == "stack_touched" {s += $2} END {print s}' "$FIX_DIR/facts.txt")
		got=$(jq -r '.process.regions[0] | "\(.start) \(.end) \(.rss_bytes) \(.owner)"' "$J")
		[[ $got == "$ostart $oend $otouched unknown" ]]
		check "ownmap: the largest region is the fixture's mapping, $otouched bytes resident" $? "got $got"
		read -r anon sh mm st ar < <(jq -r '.process | [.other_anon_bytes, .shared_bytes, .mmapped_chunks_bytes,
			.stacks_bytes, .arenas_bytes] | @tsv' "$J")
		((anon >= otouched && sh >= stouched && st >= stacks))
		check "ownmap: other anonymous $anon >= $otouched, shared $sh >= $stouched, stacks $st >= $stacks" $? ""
		[[ $mm == "$mlen" ]]
		check "ownmap: mmapped chunks resident $mm == the touched 1 MiB chunk's mapping $mlen" $? "got $mm"
		sys=$(jq '.totals.system_bytes' "$J")
		((ar <= sys))
		check "ownmap: malloc's heaps resident $ar <= their system bytes $sys" $? ""
		of=$(jq '[.diagnosis.findings[] | select(.kind == "outside-malloc")] | length' "$J")
		[[ $of == 1 ]]
		check "ownmap: an outside-malloc finding" $? "got $of"
		grep -q "^process: RSS " "$FIX_DIR/hs.txt"
		check "ownmap: text report has the process line" $? ""
	fi
	stop_fixture "$FIX_PID"
fi

# --- the arena limit against glibc itself: fixtures/arenas.c runs more
# threads than any limit and counts the arenas glibc made. heapscope's
# limit must be that count, and so must its arenas.
arena_oracle() {
	local label=$1
	shift
	local saved=("${FIXRUN[@]}") started=0
	FIXRUN=("$@" "${FIXRUN[@]}")
	start_fixture arenas && started=1
	FIXRUN=("${saved[@]}")
	if ((started)); then
		local want
		want=$(awk '$1 == "arenas" {print $2}' "$FIX_DIR/facts.txt")
		hs "$FIX_DIR/a.json" "$FIX_DIR/a.err" attach --json "$FIX_PID"
		read -r n lim alt < <(jq -r '[(.arenas | length), .diagnosis.arena_limit, .diagnosis.arena_limit_affinity] | @tsv' "$FIX_DIR/a.json")
		[[ $HS_RC -eq 0 && $n == "$want" && $lim == "$want" ]]
		check "arenas ($label): glibc made $want arenas; heapscope reads $n, limit $lim" $? \
			"exit $HS_RC, limit $lim (affinity: $alt): $(head -c 200 "$FIX_DIR/a.err")"
		stop_fixture "$FIX_PID"
	fi
}
arena_oracle "default"
if [[ $(nproc --all) -gt 1 ]] && command -v taskset >/dev/null; then
	arena_oracle "1-CPU affinity mask" taskset -c 0
else
	echo "note: one CPU or no taskset: the affinity-mask case of the arena limit is not run"
fi
arena_oracle "arena_max 3" env GLIBC_TUNABLES=glibc.malloc.arena_max=3
arena_oracle "arena_test 20" env GLIBC_TUNABLES=glibc.malloc.arena_test=20

# --- with --json an error is a JSON object on stdout too (for jq), and
# the one line on stderr stays; without --json stdout stays empty.
E=$(new_tmpdir)
true &
gone=$!
wait "$gone" 2>/dev/null
while [[ -e /proc/$gone ]]; do gone=$((gone + 7919)); done
json_error_case() {
	local name=$1 want=$2 rc=0
	shift 2
	timeout -k 5 60 "$HEAPSCOPE" "$@" >"$E/out" 2>"$E/err" || rc=$?
	[[ $rc == "$want" && $(wc -l <"$E/err") == 1 ]] &&
		jq -e --argjson w "$want" '.exit == $w and (.error | length) > 0' "$E/out" >/dev/null &&
		[[ $(jq -s length "$E/out") == 1 && $(jq -r .error "$E/out" | sed 's/ (see heapscope --help)$//') == "$(sed 's/^heapscope: //; s/ (see heapscope --help)$//' "$E/err")" ]]
	check "errors: $name: exit $want, {\"error\", \"exit\": $want} on stdout, the same message on stderr" $? \
		"exit $rc, stdout '$(head -c 200 "$E/out")', stderr '$(head -c 200 "$E/err")'"
}
json_error_case "attach --json of a pid that does not exist" 3 attach --json "$gone"
json_error_case "attach -p --bogus" 2 attach -p --bogus 1
json_error_case "attach --format=json with no pid" 2 attach --format=json
json_error_case "replay --json of a missing trace" 2 replay --json "$E/no-such.trace"
rc=0
"$HEAPSCOPE" attach "$gone" >"$E/out" 2>"$E/err" || rc=$?
[[ $rc == 3 && ! -s $E/out ]]
check "errors: without --json stdout stays empty (exit $rc)" $? "$(head -c 200 "$E/out")"
summary
