#!/usr/bin/env bash
# heapscope diff OLD.json NEW.json (issue 13, item 2), against what the
# fixture and glibc know. fixtures/grow.c builds a heap, then on SIGUSR1
# adds N blocks of S bytes, then on a second one leaks L blocks of S2
# bytes; before and after each step glibc's own mallinfo2 is printed by
# the fixture. Between two reports:
#   in use changes by N x the chunk size glibc gives S, to the byte, and
#   by glibc's own uordblks change (which counts tcache chunks as in use:
#   less the tcache change heapscope reports);
#   the size class holding that chunk size grows by N chunks;
#   the leak step: leaks grow by L chunks, the by_size row by L, and L
#   suspects are new.
# A report against itself: nothing changed. Pins (fixtures/pinned.c): the
# pin the fixture names vanished once it freed it and trimmed, and the
# system bytes fell by the program break's drop (the kernel's number).
# Two processes (grow, then arenas or types): said so, arenas matched by
# index, the ones that appeared counted; types compared by name. Bad input
# (not JSON, not a report, another schema, a missing file): exit 2 and one
# line naming the file.
#   usage: HEAPSCOPE=build/heapscope tests/e2e/diff.sh
set -uo pipefail
SUITE="diff"
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/../lib.sh"
need_file "$HEAPSCOPE"
need_file "$FIXDIR/grow"

N=1000 S=200 L=300 S2=72

# fact FILE KEY FIELD: field FIELD (1-based after the key) of facts line KEY.
fact() { awk -v k="$2" -v f="$3" '$1 == k {print $(f + 1)}' "$1"; }
# uord DIR: glibc's mallinfo2 uordblks printed into DIR.
uord() { awk '$1 == "uordblks" {print $2}' "$1/mallinfo2.txt"; }
# is LABEL GOT WANT: an exact number.
is() {
	if [[ -n $2 && -n $3 && $2 == "$3" ]]; then pass "$1: $2"; else fail "$1" "got '${2}', want '${3}'"; fi
}

# report NAME PID OUT: attach --json --leaks=all, exit 0.
report() {
	hs "$3" "$3.err" attach --json --leaks=all "$2"
	check "$1: attach exits 0" "$([[ $HS_RC -eq 0 && -s $3 ]]; echo $?)" "exit $HS_RC: $(head -c 300 "$3.err")"
}

# diff_ok NAME OLD NEW OUT: diff --json, exit 0, a heapscope-diff/1 object.
diff_ok() {
	hs "$4" "$4.err" diff --json "$2" "$3"
	check "$1: diff exits 0 with a heapscope-diff/1 object" \
		"$([[ $HS_RC -eq 0 && $(jq -r .schema "$4" 2>/dev/null) == heapscope-diff/1 ]]; echo $?)" \
		"exit $HS_RC: $(head -c 300 "$4.err")"
}

# step PID DIR: SIGUSR1, then wait for DIR/ready.
step() {
	kill -USR1 "$1"
	if ! wait_ready "$2" "$1" 20; then
		fail "grow: the fixture's next step" "$WAIT_REASON"
		return 1
	fi
}

if start_fixture grow "$N" "$S" "$L" "$S2"; then
	d=$FIX_DIR pid=$FIX_PID
	report "grow, before" "$pid" "$d/0.json"
	step "$pid" "$d/a" && report "grow, after N blocks" "$pid" "$d/1.json"
	step "$pid" "$d/b" && report "grow, after the leak" "$pid" "$d/2.json"
	alive "grow: left running, not stopped or traced" "$pid"
	stop_fixture "$pid"

	cs=$(fact "$d/a/facts.txt" grow 3)
	is "grow: the fixture's N and S" "$(fact "$d/a/facts.txt" grow 1) $(fact "$d/a/facts.txt" grow 2)" "$N $S"
	diff_ok "grow" "$d/0.json" "$d/1.json" "$d/d1.json"
	j=$d/d1.json
	is "grow: the same process" "$(jq -r '.same_process' "$j")" true
	is "grow: in use changes by N x chunk size ($N x $cs)" "$(jq '.totals.in_use_bytes.delta' "$j")" "$((N * cs))"
	is "grow: in use chunks change by N" "$(jq '.totals.in_use_chunks.delta' "$j")" "$N"
	# glibc's uordblks counts tcache chunks as in use; heapscope's in use does not
	u=$(($(uord "$d/a") - $(uord "$d")))
	is "grow: in use change = glibc's uordblks change ($u) less the tcache change" \
		"$(jq '.totals.in_use_bytes.delta + .totals.tcache_bytes.delta' "$j")" "$u"
	row=$(jq -c --argjson c "$cs" '[.histogram[] | select(.min <= $c and $c <= .max)] | .[0]' "$j")
	is "grow: the size class of $cs B grows by N chunks" "$(jq '.in_use_chunks.delta' <<<"$row")" "$N"
	is "grow: ... and by N x $cs bytes" "$(jq '.in_use_bytes.delta' <<<"$row")" "$((N * cs))"
	is "grow: that class was in both reports" "$(jq -r '.status' <<<"$row")" both
	is "grow: arenas matched by address, the main one in both" \
		"$(jq -r '.arenas_matched_by + " " + ([.arenas[] | select(.main) | .status] | join(","))' "$j")" \
		"address both"
	is "grow: the main arena's in use changes as the totals" "$(jq '.arenas[0].in_use_bytes.delta' "$j")" \
		"$((N * cs))"
	is "grow: verdicts are the reports'" "$(jq -r '.verdict.old + " " + .verdict.new' "$j")" \
		"$(jq -r .diagnosis.verdict "$d/0.json") $(jq -r .diagnosis.verdict "$d/1.json")"
	is "grow: the totals' old and new are the reports' own" \
		"$(jq -r '.totals | to_entries[] | "\(.key) \(.value.old) \(.value.new)"' "$j" | tr '\n' ' ')" \
		"$(jq -rn --slurpfile o "$d/0.json" --slurpfile n "$d/1.json" --slurpfile x "$j" \
			'$x[0].totals | keys_unsorted[] as $k | "\($k) \($o[0].totals[$k]) \($n[0].totals[$k])"' | tr '\n' ' ')"

	# The text: the same process named first, then in use with its change.
	hs "$d/d1.txt" "$d/d1.txt.err" diff "$d/0.json" "$d/1.json"
	check "grow: text diff exits 0" "$HS_RC" "$(head -c 300 "$d/d1.txt.err")"
	is "grow: text names the same process first" "$(head -n 1 "$d/d1.txt" | grep -c "^the same process: pid $pid ")" 1
	is "grow: text: in use grows by +$N chunks" \
		"$(grep -c "^in use .* +$N chunks" "$d/d1.txt")" 1

	hs "$d/d1.pretty" "$d/d1.pretty.err" diff -p "$d/0.json" "$d/1.json"
	is "grow: -p is the --json object, indented" \
		"$(jq -S . "$d/d1.pretty" | md5sum) $(wc -l <"$d/d1.pretty" | awk '{print ($1 > 50)}')" \
		"$(jq -S . "$d/d1.json" | md5sum) 1"
	hs "$d/d1.ms" "$d/d1.ms.err" diff --format=malloc-stats "$d/0.json" "$d/1.json"
	is "grow: --format=malloc-stats refused, exit 2" "$HS_RC $(grep -c 'text or json' "$d/d1.ms.err")" "2 1"

	# The leak step.
	cs2=$(fact "$d/b/facts.txt" leak 3)
	diff_ok "leak" "$d/1.json" "$d/2.json" "$d/d2.json"
	j=$d/d2.json
	is "leak: leaks grow by L chunks" "$(jq '.leaks.chunks.delta' "$j")" "$L"
	is "leak: ... by L x $cs2 bytes" "$(jq '.leaks.bytes.delta' "$j")" "$((L * cs2))"
	is "leak: the by_size row of $cs2 B grows by L" \
		"$(jq --argjson c "$cs2" '.leaks.by_size[] | select(.size == $c) | .chunks.delta' "$j")" "$L"
	is "leak: L suspects new, none gone" "$(jq -r '.leaks.suspects | "\(.new_chunks) \(.gone_chunks) \(.all)"' "$j")" \
		"$L 0 true"
	u=$(($(uord "$d/b") - $(uord "$d/a")))
	is "leak: in use change = glibc's uordblks change ($u) less the tcache change" \
		"$(jq '.totals.in_use_bytes.delta + .totals.tcache_bytes.delta' "$j")" "$u"

	# A report against itself: nothing changed, every suspect in both.
	diff_ok "itself" "$d/2.json" "$d/2.json" "$d/d3.json"
	j=$d/d3.json
	is "itself: every delta 0" "$(jq '[.. | objects | select(has("delta")) | .delta | select(. != 0)] | length' "$j")" 0
	is "itself: every suspect in both" "$(jq -r '.leaks.suspects | "\(.new_chunks) \(.gone_chunks) \(.kept_chunks)"' "$j")" \
		"0 0 $(jq '.leaks.suspects | length' "$d/2.json")"
	hs "$d/d3.txt" "$d/d3.txt.err" diff "$d/2.json" "$d/2.json"
	is "itself: the text says unchanged, no row changed" \
		"$(grep -c 'unchanged\|, 0 changed$' "$d/d3.txt") $(grep -c 'size classes that changed' "$d/d3.txt")" "2 0"
fi

# Pins: fixtures/pinned.c holds its heap with one chunk; on SIGUSR1 it
# frees it and trims, and writes how far the program break came down (the
# kernel's word). The diff: that pin vanished, at the address the fixture
# names, and the system bytes fell by the break's drop.
if start_fixture pinned 20000; then
	q=$FIX_DIR
	hs "$q/0.json" "$q/0.err" attach --json "$FIX_PID"
	check "pinned: attach exits 0" "$HS_RC" "$(head -c 300 "$q/0.err")"
	kill -USR1 "$FIX_PID"
	for ((i = 0; i < 500; i++)); do
		[[ -s $q/trim.txt ]] && break
		sleep 0.02
	done
	hs "$q/1.json" "$q/1.err" attach --json "$FIX_PID"
	check "pinned: attach after the trim exits 0" "$HS_RC" "$(head -c 300 "$q/1.err")"
	stop_fixture "$FIX_PID"
	diff_ok "pinned" "$q/0.json" "$q/1.json" "$q/d.json"
	pin=$(awk '$1 == "pin" {print $2}' "$q/facts.txt")
	is "pinned: the pin at $pin vanished, none appeared" \
		"$(jq -r '[.pins[] | select(.status != "both") | "\(.status) \(.address)"] | join(",")' "$q/d.json")" \
		"vanished $pin"
	drop=$(awk '$1 == "brk_drop" {print $2}' "$q/trim.txt")
	is "pinned: system bytes fell by the program break's drop" \
		"$(jq '.totals.system_bytes.delta' "$q/d.json")" "-${drop:-?}"
	hs "$q/d.txt" "$q/d.txt.err" diff "$q/0.json" "$q/1.json"
	is "pinned: the text says pins 1 -> 0 and names it gone" \
		"$(grep -c '^pins: 1 -> 0' "$q/d.txt") $(grep -c "^  $pin gone " "$q/d.txt")" "1 1"
fi

# Two processes: grow's first report, then one of a process with many arenas.
if [[ -s ${d:-/nonexistent}/0.json ]] && start_fixture arenas; then
	e=$FIX_DIR
	# Its report is all this part needs: exit 5 (a thread of its 24 not
	# unwound, seen once on a loaded machine) prints the report too, and
	# says so here; diagnose.sh holds attach on this fixture to exit 0.
	hs "$e/r.json" "$e/r.err" attach --json "$FIX_PID"
	check "arenas: attach printed a report (exit $HS_RC$([[ $HS_RC -eq 5 ]] && echo ": $(head -c 120 "$e/r.err")"))" \
		"$([[ ($HS_RC -eq 0 || $HS_RC -eq 5) && $(jq -r .schema "$e/r.json" 2>/dev/null) == heapscope/1 ]]; echo $?)" \
		"$(head -c 300 "$e/r.err")"
	stop_fixture "$FIX_PID"
	na=$(jq '.arenas | length' "$e/r.json")
	diff_ok "two processes" "$d/0.json" "$e/r.json" "$e/d.json"
	is "two processes: said so, arenas matched by index" \
		"$(jq -r '"\(.same_process) \(.arenas_matched_by)"' "$e/d.json")" "false index"
	is "two processes: $((na - 1)) arenas appeared" \
		"$(jq '[.arenas[] | select(.status == "appeared")] | length' "$e/d.json")" "$((na - 1))"
	diff_ok "two processes, reversed" "$e/r.json" "$d/0.json" "$e/v.json"
	is "two processes, reversed: $((na - 1)) arenas vanished" \
		"$(jq '[.arenas[] | select(.status == "vanished")] | length' "$e/v.json")" "$((na - 1))"
	hs "$e/d.txt" "$e/d.txt.err" diff "$e/r.json" "$d/0.json"
	is "two processes: the text says so" "$(head -n 1 "$e/d.txt" | grep -c '^two processes: pid ')" 1
	is "two processes: the text says arenas vanished" "$(grep -c ' vanished ' "$e/d.txt")" "$((na - 1))"
fi

# Types: two processes of fixtures/types.cc, matched by name; then one count
# changed in a copy. The glibc matrix builds C fixtures only.
if [[ ! -x $FIXDIR/types ]]; then
	skip "types" "no $FIXDIR/types: the matrix builds no C++ fixture (tests/matrix/cc.sh)"
elif start_fixture types; then
	t1=$FIX_DIR p1=$FIX_PID
	hs "$t1/r.json" "$t1/r.err" attach --json "$p1"
	check "types: attach exits 0" "$HS_RC" "$(head -c 300 "$t1/r.err")"
	stop_fixture "$p1"
	if start_fixture types; then
		hs "$FIX_DIR/r.json" "$FIX_DIR/r.err" attach --json "$FIX_PID"
		stop_fixture "$FIX_PID"
		diff_ok "types" "$t1/r.json" "$FIX_DIR/r.json" "$t1/d.json"
		is "types: every type in both, none changed" \
			"$(jq -r '[.types[] | select(.status == "both" and .in_use_chunks.delta == 0)] | length' "$t1/d.json")" \
			"$(jq '.types | length' "$t1/r.json")"
		jq '(.types[] | select(.type == "Session") | .in_use_chunks) += 5' "$FIX_DIR/r.json" >"$t1/edited.json"
		diff_ok "types, one edited" "$t1/r.json" "$t1/edited.json" "$t1/e.json"
		is "types: the edited type changes by 5" \
			"$(jq '.types[] | select(.type == "Session") | .in_use_chunks.delta' "$t1/e.json")" 5
	fi
fi

# Bad input: exit 2, one line on stderr naming the file, nothing on stdout.
b=$(new_tmpdir)
good=${d:-$b}/0.json
[[ -s $good ]] || echo '{"schema":"heapscope/1"}' >"$good"
echo 'this is not json' >"$b/text.json"
head -c 200 "$good" >"$b/cut.json"
echo '{"a": 1}' >"$b/other.json"
jq '.schema = "heapscope/2"' "$good" >"$b/v2.json"
jq 'del(.totals.in_use_bytes)' "$good" >"$b/noinuse.json"
echo '{"error": "cannot attach to pid 1", "exit": 3}' >"$b/error.json"
cat "$good" "$good" >"$b/lines.json"
jq '.target.pid = 1e300' "$good" >"$b/bigpid.json"
printf '{"error": "line one\\nline two", "exit": 3}\n' >"$b/error2.json"
jq '.pins = 5' "$good" >"$b/pins.json"
jq '.leaks = {"chunks": 0, "bytes": 0, "by_size": {"a": 1}}' "$good" >"$b/bysize.json"
: >"$b/empty.json"
[[ -s ${d:-}/d1.json ]] && cp "$d/d1.json" "$b/diff.json" || echo '{"schema":"heapscope-diff/1"}' >"$b/diff.json"
# bad NAME WHAT OLD NEW WORD: exit 2, one stderr line naming WHAT's file and WORD.
bad() {
	hs "$b/out" "$b/err" diff "$3" "$4"
	local lines
	lines=$(wc -l <"$b/err")
	if [[ $HS_RC -eq 2 && $lines -eq 1 && ! -s $b/out ]] && grep -q -- "$2" "$b/err" && grep -q -- "$5" "$b/err"; then
		pass "bad input, $1: exit 2, one line: $(cat "$b/err")"
	else
		fail "bad input, $1: exit 2 and one line naming $2 and '$5'" "exit $HS_RC, $lines lines" "$b/err" "$b/out"
	fi
}
bad "not JSON" "$b/text.json" "$good" "$b/text.json" "not JSON"
bad "cut short" "$b/cut.json" "$b/cut.json" "$good" "not JSON"
bad "JSON, not a report" "$b/other.json" "$good" "$b/other.json" "not a heapscope report"
bad "another schema" "$b/v2.json" "$good" "$b/v2.json" "different schemas"
bad "a report without in_use_bytes" "$b/noinuse.json" "$b/noinuse.json" "$good" "in_use_bytes is missing"
bad "an error object" "$b/error.json" "$good" "$b/error.json" "an error"
bad "two reports in one file" "$b/lines.json" "$b/lines.json" "$good" "more than one JSON value"
bad "an empty file" "$b/empty.json" "$good" "$b/empty.json" "empty, not a heapscope report"
bad "a diff, not a report" "$b/diff.json" "$good" "$b/diff.json" "not a heapscope report (schema \"heapscope-diff/1\")"
bad "a missing file" "$b/missing.json" "$good" "$b/missing.json" "No such file"
bad "a directory" "$b" "$b" "$good" "cannot read"
bad "a pid of 1e300" "$b/bigpid.json" "$b/bigpid.json" "$good" "pid is not a process id"
bad "an error of two lines" "$b/error2.json" "$good" "$b/error2.json" "line one"
bad "pins not an array" "$b/pins.json" "$b/pins.json" "$good" "pins is not an array"
bad "leaks.by_size not an array" "$b/bysize.json" "$b/bysize.json" "$b/bysize.json" "leaks.by_size is not an array"
hs "$b/out" "$b/err" diff "$good"
check "usage: one operand is exit 2, asking for two" \
	"$([[ $HS_RC -eq 2 ]] && grep -q 'needs two reports' "$b/err"; echo $?)" "exit $HS_RC: $(cat "$b/err")"
hs "$b/out" "$b/err" diff --json "$good" "$b/v2.json"
is "bad input with --json: the error object on stdout" "$(jq -r '.exit' "$b/out" 2>/dev/null)" 2

summary
