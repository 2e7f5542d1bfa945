#!/usr/bin/env bash
# A thread whose stack cannot be unwound may be inside malloc: heapscope
# must not take it to be outside (fail closed). The unwind fixture has one
# such thread (its return address unmapped): the report must name it in a
# warning, say the snapshot is not consistent, and exit 5, with one line
# on stderr; the target is left as it was. The same checks on a fixture
# whose stacks unwind show that the warning is not raised for nothing.
#   usage: HEAPSCOPE=build/heapscope tests/e2e/unwind.sh
set -uo pipefail
SUITE=unwind
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/../lib.sh"
need_file "$HEAPSCOPE"
command -v jq >/dev/null || { echo "unwind: jq is needed" >&2; exit 2; }

W=$(new_tmpdir)

echo "== a thread whose stack cannot be unwound"
if start_fixture unwind; then
	pid=$FIX_PID
	tid=$(awk '$1 == "stuck" {print $2}' "$FIX_DIR/facts.txt")
	hs "$W/out" "$W/err" attach "$pid"
	[[ $HS_RC == 5 ]]
	check "exit 5" $? "exit $HS_RC: $(cat "$W/err")"
	[[ $(wc -l <"$W/err") == 1 ]] && grep -q "pid $pid: a thread's stack could not be unwound" "$W/err"
	check "one line on stderr: the stack could not be unwound" $? "$(cat "$W/err")"
	grep -q "snapshot NOT consistent" "$W/out"
	check "the text report says the snapshot is not consistent" $? "$(head -n 3 "$W/out")"
	hs "$W/json" "$W/err" attach --json "$pid"
	[[ $HS_RC == 5 ]]
	check "--json: exit 5" $? "exit $HS_RC: $(cat "$W/err")"
	jq -e '.snapshot.consistent == false' "$W/json" >/dev/null
	check "snapshot.consistent is false" $? "$(jq -c .snapshot "$W/json")"
	jq -e --arg t "thread $tid: its stack cannot be unwound" \
		'[.warnings[] | select(startswith($t))] | length == 1' "$W/json" >/dev/null
	check "one warning names thread $tid" $? "$(jq -c .warnings "$W/json")"
	jq -e '[.warnings[] | select(contains("cannot be unwound"))] | length == 1' "$W/json" >/dev/null
	check "no other thread is named" $? "$(jq -c .warnings "$W/json")"
	jq -e --argjson t "$tid" '[.threads[] | select(.tid == $t)] | length == 1' "$W/json" >/dev/null
	check "thread $tid is still reported" $? "$(jq -c .threads "$W/json")"
	alive "target alive, running, untraced" "$pid"
	[[ -d /proc/$pid/task/$tid ]]
	check "thread $tid is still there" $? "no /proc/$pid/task/$tid"
	stop_fixture "$pid"
fi

echo "== stacks that unwind: no such warning"
if start_fixture threads; then
	hs "$W/json" "$W/err" attach --json "$FIX_PID"
	[[ $HS_RC == 0 ]]
	check "threads: exit 0" $? "exit $HS_RC: $(cat "$W/err")"
	jq -e '.snapshot.consistent == true and ([.warnings[] | select(contains("unwound"))] | length == 0)' \
		"$W/json" >/dev/null
	check "threads: consistent, no unwinding warning" $? "$(jq -c '.snapshot, .warnings' "$W/json")"
	stop_fixture "$FIX_PID"
fi

# Without ASLR (setarch -R; gdb's `run` does the same) the main thread's
# stack is the last mapping below the top of the address space: the last
# 2 MiB block of pagemap is cut short there, and was read as an error
# (every stack read failed: "cannot be unwound ... Input/output error").
echo "== a process without ASLR: its stack at the top of the address space"
if command -v setarch >/dev/null && [[ -z $HS_GLIBC ]]; then
	FIXRUN_WAS=("${FIXRUN[@]}")
	FIXRUN=(setarch -R "${FIXRUN[@]}")
	if start_fixture healthy; then
		pid=$FIX_PID d=$FIX_DIR
		top=$(awk '$6 == "[stack]" {print $1}' "/proc/$pid/maps")
		check "healthy without ASLR: its stack ends at the top ($top)" "$([[ $top == *-7ffffffff000 ]]; echo $?)" "$top"
		exact_format "healthy without ASLR" "$pid" "$d" malloc-stats malloc_stats.txt
		hs "$W/json" "$W/err" attach --json "$pid"
		jq -e '.snapshot.consistent == true and (.warnings | length == 0)' "$W/json" >/dev/null
		check "healthy without ASLR: consistent, no warning" $? "$(jq -c '.snapshot, .warnings' "$W/json")"
		stop_fixture "$pid"
	fi
	FIXRUN=("${FIXRUN_WAS[@]}")
else
	skip "a process without ASLR" "no setarch, or under the glibc matrix"
fi
summary
