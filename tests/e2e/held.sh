#!/usr/bin/env bash
# A process gdb holds (issue 12 item 5): every thread in gdb's ptrace
# stop. `heapscope attach` reads it as it is, with no second tracer and
# nothing stopped or resumed: malloc_stats()/malloc_info() byte-identical
# to what the process printed itself, every thread's tcache as the
# holding gdb reads it (the thread pointers found without ptrace), --leaks
# exactly the leaked set, snapshot.stopped_by naming gdb; the threads are
# in gdb's stop before and after, and run on when gdb detaches. A thread
# gdb holds inside malloc (a breakpoint on mmap when sysmalloc called it)
# makes the snapshot not consistent (exit 5), found by unwinding from the
# program counter and stack pointer alone. A process traced and running
# (strace) is refused: exit 3, one line. (bad_input.sh checks the exit
# code of the strace case too.)
#   usage: HEAPSCOPE=build/heapscope tests/e2e/held.sh
set -uo pipefail
SUITE=held
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/../lib.sh"
need_file "$HEAPSCOPE"
HERE=$(cd "$(dirname "$0")" && pwd)

if ! command -v gdb >/dev/null; then
	fail "gdb present" "gdb is a dependency (make deps) and is missing"
	summary
	exit
fi

# hold PID DIR [GDB_ARGS...]: gdb attaches to PID (then runs GDB_ARGS:
# a breakpoint and a continue) and holds it until DIR/release exists;
# DIR/held says it holds it. Sets GDB_PID. Returns 1 if gdb did not get
# there in 60 s.
hold() {
	local pid=$1 d=$2 i
	shift 2
	rm -f "$d/held" "$d/release"
	timeout -k 5 120 gdb -nx -batch -iex "set auto-load off" \
		-iex "set debug-file-directory ${HS_DEBUGINFO_PATH:-/usr/lib/debug}" -ex "attach $pid" "$@" \
		-ex "shell touch $d/held" \
		-ex "shell while [ ! -e $d/release ]; do sleep 0.05; done" -ex detach >"$d/gdb.out" 2>&1 &
	HOLD_PID=$!
	bg_track "$HOLD_PID"
	for ((i = 0; i < 3000; i++)); do
		if [[ -e $d/held ]]; then
			GDB_PID=$(awk '/^TracerPid:/ {print $2}' "/proc/$pid/status") # gdb, under timeout
			return 0
		fi
		kill -0 "$HOLD_PID" 2>/dev/null || break
		sleep 0.02
	done
	fail "gdb holds pid $pid" "gdb did not get there" "$d/gdb.out"
	return 1
}

# release DIR: gdb detaches and exits.
release() {
	touch "$1/release"
	local i
	for ((i = 0; i < 500; i++)); do
		kill -0 "$HOLD_PID" 2>/dev/null || return 0
		sleep 0.02
	done
	kill_ours KILL "$HOLD_PID"
}

# states PID: "TID STATE TRACER" for every thread, sorted.
states() {
	local t
	for t in /proc/"$1"/task/*; do
		echo "${t##*/} $(proc_state "$1/task/${t##*/}") $(awk '/^TracerPid:/ {print $2}' "$t/status")"
	done | sort
}

# held_by_gdb LABEL PID FILE: FILE (states) shows every thread in gdb's
# ptrace stop.
held_by_gdb() {
	if awk -v g="$GDB_PID" '$2 != "t" || $3 != g {bad = 1} END {exit bad || NR == 0}' "$3"; then
		pass "$1: every thread of pid $2 in gdb's stop ($(wc -l <"$3") threads)"
	else
		fail "$1: every thread of pid $2 in gdb's stop" "$(head -n 5 "$3")"
	fi
}

echo "== threads: 5 threads, 5 arenas, a tcache each, held by gdb"
if start_fixture threads; then
	pid=$FIX_PID d=$FIX_DIR
	# the holding gdb reads every thread's tcache as glibc holds it
	# (gdb_tcache.py, through libc's debug symbols and gdb's own $fs_base)
	if hold "$pid" "$d" -x "$HERE/gdb_tcache.py"; then
		states "$pid" >"$d/before"
		held_by_gdb "threads: before" "$pid" "$d/before"
		hs "$d/r.json" "$d/r.err" attach --json "$pid"
		check "threads: attach exits 0" "$([[ $HS_RC -eq 0 ]]; echo $?)" "exit $HS_RC: $(head -c 400 "$d/r.err")"
		check "threads: the snapshot is consistent" "$(jq -e '.snapshot.consistent' "$d/r.json" >/dev/null; echo $?)" \
			"$(jq -c '.snapshot, .warnings' "$d/r.json" 2>&1 | head -c 400)"
		by=$(jq -r '"\(.snapshot.stopped_by.pid) \(.snapshot.stopped_by.name)"' "$d/r.json" 2>/dev/null)
		check "threads: snapshot.stopped_by is gdb, pid $GDB_PID" "$([[ $by == "$GDB_PID gdb" ]]; echo $?)" "got '$by'"
		check "threads: nothing stopped (stopped_ms 0)" "$(jq -e '.snapshot.stopped_ms == 0' "$d/r.json" >/dev/null; echo $?)" \
			"$(jq -c '.snapshot' "$d/r.json")"
		# every thread's tcache, read through the thread pointer heapscope
		# found without ptrace, as gdb read it
		awk '$1 == "TCACHE" {print $2, $3, $4}' "$d/gdb.out" | sort >"$d/tc.want"
		jq -r '.threads[] | "\(.tid) \(.tcache_chunks) \(.tcache_bytes)"' "$d/r.json" 2>/dev/null | sort >"$d/tc.got"
		if [[ $(wc -l <"$d/tc.want") -eq 5 ]] && cmp -s "$d/tc.want" "$d/tc.got"; then
			pass "threads: every thread's tcache as gdb reads it ($(awk '{printf "%s ", $2}' "$d/tc.want")chunks)"
		else
			fail "threads: every thread's tcache as gdb reads it" "$(diff "$d/tc.want" "$d/tc.got" | head -n 8)" "$d/gdb.out"
		fi
		exact_format "threads held" "$pid" "$d" malloc-stats malloc_stats.txt
		exact_format "threads held" "$pid" "$d" malloc-info malloc_info.xml
		hs "$d/r.txt" "$d/r.txt.err" attach "$pid"
		check "threads: the text names the tracer" "$(grep -q "^held stopped by gdb (pid $GDB_PID): read as it is" "$d/r.txt"; echo $?)" \
			"$(sed -n 2,3p "$d/r.txt")"
		states "$pid" >"$d/after"
		if cmp -s "$d/before" "$d/after"; then
			pass "threads: every thread as it was: in gdb's stop, traced by gdb alone"
		else
			fail "threads: every thread as it was" "$(diff "$d/before" "$d/after" | head -n 6)"
		fi
		release "$d"
		alive "threads: runs on, untraced, once gdb detaches" "$pid"
	fi
	stop_fixture "$pid"
fi

echo "== leaks: --leaks=all on the leak fixture held by gdb"
if start_fixture leaks; then
	pid=$FIX_PID d=$FIX_DIR
	if hold "$pid" "$d"; then
		hs "$d/l.json" "$d/l.err" attach --leaks=all --json "$pid"
		check "leaks: attach --leaks=all exits 0" "$([[ $HS_RC -eq 0 ]]; echo $?)" "exit $HS_RC: $(head -c 400 "$d/l.err")"
		awk '$1 == "leaked" {print $2, $3}' "$d/facts.txt" | sort >"$d/want"
		jq -r '.leaks.suspects[] | "\(.address) \(.size)"' "$d/l.json" 2>/dev/null | sort >"$d/found"
		if [[ -s $d/want ]] && cmp -s "$d/want" "$d/found"; then
			pass "leaks: exactly the $(wc -l <"$d/want") leaked chunks (the stacks the roots, from the stack pointers)"
		else
			fail "leaks: exactly the leaked chunks" "$(comm -3 "$d/want" "$d/found" | head -n 6)"
		fi
		release "$d"
		alive "leaks: runs on once gdb detaches" "$pid"
	fi
	stop_fixture "$pid"
fi

echo "== storm: gdb holds a thread inside malloc (a breakpoint on mmap)"
if start_fixture storm 8; then
	pid=$FIX_PID d=$FIX_DIR
	# (the backtrace into a file gdb closes: its stdout is buffered)
	if hold "$pid" "$d" -ex "break mmap if \$_any_caller_matches(\"sysmalloc\", 3)" -ex continue -ex "set logging file $d/bt" -ex "set logging redirect on" \
		-ex "set logging enabled on" -ex bt -ex "set logging enabled off"; then
		states "$pid" >"$d/before"
		held_by_gdb "storm: at the breakpoint" "$pid" "$d/before"
		# what gdb saw: the thread at the breakpoint, called from malloc
		if grep -q 'sysmalloc\|_int_malloc\|malloc' "$d/bt"; then
			hs "$d/s.json" "$d/s.err" attach --json "$pid"
			check "storm: exit 5 (a thread held inside malloc)" "$([[ $HS_RC -eq 5 ]]; echo $?)" \
				"exit $HS_RC: $(head -c 400 "$d/s.err")"
			check "storm: the error says the tracer holds it inside malloc" \
				"$(grep -q "thread [0-9]* is held inside [a-z_]* by the process's tracer, pid $GDB_PID (gdb)" "$d/s.err"; echo $?)" \
				"$(head -c 400 "$d/s.err")"
			check "storm: the report is printed, not consistent" \
				"$(jq -e '.snapshot.consistent == false and .snapshot.stopped_by.name == "gdb"' "$d/s.json" >/dev/null; echo $?)" \
				"$(jq -c '.snapshot' "$d/s.json" 2>&1 | head -c 300)"
		else
			skip "storm: a thread held inside malloc" "gdb's breakpoint on mmap was not reached from malloc: $(head -c 300 "$d/bt")"
		fi
		states "$pid" >"$d/after"
		check "storm: every thread as it was" "$(cmp -s "$d/before" "$d/after"; echo $?)" "$(diff "$d/before" "$d/after" | head -n 6)"
		release "$d"
		alive "storm: runs on once gdb detaches" "$pid"
	fi
	stop_fixture "$pid"
fi

echo "== a process traced by strace, running: refused"
if start_fixture threads; then
	pid=$FIX_PID d=$FIX_DIR
	strace -o /dev/null -p "$pid" 2>/dev/null &
	tracer=$!
	bg_track "$tracer"
	for ((i = 0; i < 250; i++)); do
		tp=$(awk '/^TracerPid:/ {print $2}' "/proc/$pid/status")
		[[ $tp == "$tracer" ]] && break
		sleep 0.02
	done
	if [[ $tp == "$tracer" ]]; then
		sleep 0.2 # strace's own stop over
		hs "$d/t.out" "$d/t.err" attach "$pid"
		check "strace: exit 3" "$([[ $HS_RC -eq 3 ]]; echo $?)" "exit $HS_RC"
		check "strace: one line that names strace and says it runs" \
			"$([[ $(wc -l <"$d/t.err") -eq 1 ]] && grep -q "already traced by pid $tracer (strace), and its thread [0-9]* runs" "$d/t.err"; echo $?)" \
			"$(head -c 300 "$d/t.err")"
		check "strace: nothing on stdout" "$([[ ! -s $d/t.out ]]; echo $?)" "$(head -c 200 "$d/t.out")"
		tp=$(awk '/^TracerPid:/ {print $2}' "/proc/$pid/status")
		check "strace: still traced by strace alone" "$([[ $tp == "$tracer" ]]; echo $?)" "TracerPid $tp"
	else
		fail "strace: attached" "strace did not attach (TracerPid $tp)"
	fi
	kill_ours TERM "$tracer"
	alive "strace: runs on once strace is gone" "$pid"
	stop_fixture "$pid"
fi

summary
