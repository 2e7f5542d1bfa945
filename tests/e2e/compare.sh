#!/usr/bin/env bash
# --compare checked against glibc itself. For each fixture, the live set
# heapscope reads (every in-use chunk, in address order, per arena; the
# threads' tcache_perthread_structs left out, as a fresh process makes its
# own) is written as a trace and played by the real glibc in a fresh
# process (fixtures/replay.c). glibc's own mallinfo2 there must equal what
# the reference core said, to the byte:
#   arena  == compare.arenas[i].fresh_system_bytes   (the fresh heap)
#   hblkhd == compare.arenas[i].fresh_mmapped_bytes  (what it would mmap)
#   arena after `t 0` == fresh_trimmed_bytes         (after malloc_trim(0))
#   the same for every arena's live set in one trace == compare.merged
# and every free chunk must be in the list the core would have put it in.
#   usage: HEAPSCOPE=build/heapscope [HS_GLIBC=2.43] tests/e2e/compare.sh
set -uo pipefail
SUITE=compare
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/../lib.sh"
need_file "$HEAPSCOPE"
need_file "$FIXDIR/replay"

# trace_of JSON ARENA: the live set of one arena (-1: every arena, in arena
# order) as malloc requests that give the same chunk sizes (size - 8).
trace_of() {
	jq -r --argjson a "$2" '
		([.threads[].tcache | select(. != null) | ((ltrimstr("0x") | explode | map(if . >= 97 then . - 87 else . - 48 end) | reduce .[] as $d (0; . * 16 + $d)) - 16)]) as $tc
		| [.chunks[] | select(.state == "in_use" and .arena >= 0 and ($a < 0 or .arena == $a))
		   | select((.address | ltrimstr("0x") | explode | map(if . >= 97 then . - 87 else . - 48 end) | reduce .[] as $d (0; . * 16 + $d)) as $x | ($tc | index($x)) == null)]
		| sort_by(.arena) | to_entries[] | "m \(.key + 1) \(.value.size - 8)"' "$1"
}

# glibc_footprint TRACE: plays it in a fresh process; prints "arena hblkhd".
# It runs inside <(...): the fixture is that subshell's child, so it is
# stopped here, on every path (the script's cleanup never sees its pid),
# and the temp dir is removed here too.
glibc_footprint() {
	local d rc=0
	d=$(mktemp -d /tmp/heapscope-e2e.XXXXXX)
	"${FIXRUN[@]}" "$FIXDIR/replay" "$d" "$1" >"$d/stdout" 2>"$d/stderr" &
	local pid=$!
	disown "$pid" 2>/dev/null || true
	if ! wait_ready "$d" "$pid" 20; then
		echo "replay fixture: $WAIT_REASON $(head -c 300 "$d/stderr")" >&2
		rc=1
	fi
	stop_fixture "$pid"
	if [[ $rc -eq 0 ]] && ! awk '$1 == "arena" {a = $2; n++} $1 == "hblkhd" {h = $2; n++} END {if (n != 2) exit 1; print a, h}' "$d/mallinfo2.txt"; then
		echo "replay fixture: no arena/hblkhd in $d/mallinfo2.txt" >&2
		rc=1
	fi
	rm -rf -- "$d"
	return "$rc"
}

eq() { # eq NAME GOT WANT: both numbers, and equal (null == null is no proof)
	check "$1" "$([[ $2 =~ ^[0-9]+$ && $2 == "$3" ]]; echo $?)" "heapscope --compare says '$2', glibc '$3'"
}

for fx in classic fragmented threads mmapped; do
	start_fixture "$fx" || continue
	d=$(new_tmpdir)
	rc=0
	# shellcheck disable=SC2086
	"$HEAPSCOPE" attach --compare --chunks --json $HS_ATTACH_ARGS "$FIX_PID" >"$d/out.json" 2>"$d/err" || rc=$?
	check "$fx: attach --compare exits 0" "$rc" "exit $rc: $(head -c 300 "$d/err")"
	[[ $rc -eq 0 ]] || { stop_fixture "$FIX_PID"; continue; }
	check "$fx: the core models glibc $(jq -r .target.glibc "$d/out.json")" \
		"$(jq -e '.compare.modelled' "$d/out.json" >/dev/null; echo $?)" "$(jq -c .compare "$d/out.json")"
	eq "$fx: no free chunk misplaced" "$(jq '.compare.misplaced_total' "$d/out.json")" 0
	narenas=$(jq '.compare.arenas | length' "$d/out.json")
	for ((a = 0; a < narenas; a++)); do
		trace_of "$d/out.json" "$a" >"$d/a$a.trace"
		read -r arena hblkhd < <(glibc_footprint "$d/a$a.trace") || { fail "$fx arena $a: replay fixture" "did not run"; continue; }
		eq "$fx arena $a ($(wc -l <"$d/a$a.trace") chunks): fresh heap" \
			"$(jq ".compare.arenas[$a].fresh_system_bytes" "$d/out.json")" "$arena"
		eq "$fx arena $a: fresh mmapped" "$(jq ".compare.arenas[$a].fresh_mmapped_bytes" "$d/out.json")" "$hblkhd"
		{ cat "$d/a$a.trace"; echo "t 0"; } >"$d/a$a.trim.trace"
		read -r arena hblkhd < <(glibc_footprint "$d/a$a.trim.trace") || { fail "$fx arena $a: replay fixture (trim)" "did not run"; continue; }
		eq "$fx arena $a: fresh heap after malloc_trim(0)" \
			"$(jq ".compare.arenas[$a].fresh_trimmed_bytes" "$d/out.json")" "$arena"
	done
	trace_of "$d/out.json" -1 >"$d/all.trace"
	{ cat "$d/all.trace"; echo "t 0"; } >"$d/all.trim.trace"
	if read -r arena hblkhd < <(glibc_footprint "$d/all.trace"); then
		eq "$fx: all arenas in one" "$(jq '.compare.merged.system_bytes' "$d/out.json")" "$arena"
		eq "$fx: all arenas in one, mmapped" "$(jq '.compare.merged.mmapped_bytes' "$d/out.json")" "$hblkhd"
	else
		fail "$fx: replay fixture (all arenas)" "did not run"
	fi
	if read -r arena hblkhd < <(glibc_footprint "$d/all.trim.trace"); then
		eq "$fx: all arenas in one, after malloc_trim(0)" "$(jq '.compare.merged.trimmed_bytes' "$d/out.json")" "$arena"
	else
		fail "$fx: replay fixture (all arenas, trim)" "did not run"
	fi
	# The text report carries the same section.
	rc=0
	# shellcheck disable=SC2086
	"$HEAPSCOPE" attach --compare $HS_ATTACH_ARGS "$FIX_PID" >"$d/out.txt" 2>"$d/err" || rc=$?
	check "$fx: text --compare" "$( ((rc == 0)) && grep -q '^compare (reference core' "$d/out.txt"; echo $?)" \
		"exit $rc"
	alive "$fx: target alive, running, untraced after two attaches" "$FIX_PID"
	stop_fixture "$FIX_PID"
done

# A free chunk the core would not have put where it is: a small-bin chunk
# whose size word says it belongs elsewhere (a replayed heap, corrupted in
# the image by the unit tests; here: what replay --compare says of a sane
# trace is checked instead: nothing misplaced).
d=$(new_tmpdir)
printf 'm 1 1000\nm 2 24\nm 3 2000\nm 4 24\nf 1\nf 3\nm 5 5000\n' >"$d/t.trace"
rc=0
"$HEAPSCOPE" replay --compare --json "$d/t.trace" >"$d/r.json" 2>"$d/err" || rc=$?
check "replay --compare exits 0" "$rc" "$(head -c 300 "$d/err")"
eq "replay --compare: nothing misplaced" "$(jq '.compare.misplaced_total' "$d/r.json")" 0
summary
