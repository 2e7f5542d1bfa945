#!/usr/bin/env bash
# The stop is bounded by a clock (issue 14, items 3, 4, 6). How long the
# target is held is measured by the kernel's word, not heapscope's:
# fixtures/stopwatch polls TracerPid in /proc/PID/task/*/status every
# 100 us, from the first thread seen traced by heapscope to the last one
# let go. Cases (fixtures/stopclock):
#   malloc  103 threads, one blocked inside malloc_stats for good: exit 5
#           naming it, held no longer than the budget (default 3 s;
#           --max-stop=400ms: 400 ms), plus SLACK_MS;
#           SIGINT / SIGTERM sent during the nudging: the target is let
#           go within 100 ms of the signal, heapscope ends killed by it
#           (status 130 / 143, as man heapscope(1) says), no report;
#           (SIGHUP and every other point of the stop: signals.sh)
#   vfork   a thread in uninterruptible sleep (state D: the kernel's vfork
#           wait), which no ptrace interrupt wakes: it cannot hold the
#           others past the budget; exit 5 naming it; once released it
#           runs on, untraced;
#   budget  a 200 MB heap (fixtures/classic 2000000) and --max-stop=5ms:
#           refused with exit 4 before anything is stopped (never traced),
#           the line naming the prediction and the --max-stop to allow it,
#           which then reads it; with the prediction forced to 0
#           (HEAPSCOPE_TEST_PREDICTED_STOP_MS, a test-only knob) and
#           --max-stop of a third of the stop it took, the read runs past the budget: cut short
#           (exit 5, report printed, consistent false), held no longer than
#           the budget plus SLACK_MS; a program's own 256 MiB (fixtures/
#           ballast 256) at --max-stop=1ms: the bytes named are the heaps'
#           (a few MiB) without --leaks, and with it the 256 MiB too;
#   spawn   threads that create threads without pause (16 chains, each
#           thread creating its successor first thing, about a thousand
#           threads at any time): with a 40 ms budget, exit 3 with
#           "threads appear faster than they can be stopped", every
#           thread stopped let go (at least once in 5 tries; a try
#           heapscope wins ends cut short at its budget, exit 5), held at
#           most the budget plus 1 s (the spawner keeps the CPUs busy);
#   fork    threads that fork without pause: stopped and read (exit 0).
# After each: the target alive, no thread stopped or traced, and still
# running (its ticker thread's counter moves on).
#   usage: HEAPSCOPE=build/heapscope tests/e2e/stopclock.sh
set -uo pipefail
SUITE=stopclock
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/../lib.sh"
need_file "$HEAPSCOPE"
WATCH=$FIXDIR/stopwatch
need_file "$WATCH"
SLACK_MS=${SLACK_MS:-400}
W=$(new_tmpdir)

fact() { awk -v k="$1" '$1 == k {print $2; exit}' "$2"; }

# stop_vfork PID DIR: the vfork fixture and its child, which blocks in
# read() of DIR/release until a test writes there (when none did, it
# would outlive the test).
stop_vfork() {
	local child
	child=$(fact child "$2/facts.txt")
	stop_fixture "$1"
	[[ -n $child ]] && kill -KILL "$child" 2>/dev/null
	return 0
}

# progress DIR: the fixture's ticker count (a 64-bit counter, 1 a ms).
progress() { od -An -t u8 -N 8 "$1/progress" | tr -d ' '; }

# free NAME PID: every thread of PID untraced and not stopped (the
# stopwatch's check: lib.sh's alive forks twice a thread, too slow here).
free() {
	local r
	if r=$("$WATCH" "$2" 0 free); then
		pass "$1: target alive, its ${r#free } threads running and untraced"
	else
		fail "$1: target alive, every thread running and untraced" "$r"
		return 1
	fi
}

# runs_on NAME PID DIR: alive, untraced, unstopped, and its ticker moves.
runs_on() {
	free "$1" "$2" || return
	local a b
	a=$(progress "$3")
	sleep 0.05
	b=$(progress "$3")
	check "$1: the target runs on (ticker $a -> $b)" "$([[ $b -gt $a ]]; echo $?)" "ticker $a -> $b"
}

# held ARGS...: heapscope ARGS... with the stopwatch on it; sets RC, US
# (how long the target was held: traced_us; not counting thread $EXCEPT,
# if set) and leaves stdout/stderr in $W/out, $W/err.
held() {
	local target=${*: -1} h
	RC=0 US=
	env "${ENVS[@]}" "$HEAPSCOPE" "$@" >"$W/out" 2>"$W/err" &
	h=$!
	"$WATCH" "$target" "$h" watch ${EXCEPT:-} >"$W/watch" 2>&1
	# held past the stopwatch's 20 s: a hang, ended here
	grep -q "still traced" "$W/watch" && kill -KILL "$h" 2>/dev/null
	wait "$h" || RC=$?
	US=$(awk '$1 == "traced_us" {print $2}' "$W/watch")
}
ENVS=(HS_NOTHING=)

# within NAME BUDGET_MS: the last held() kept the target no longer than
# BUDGET_MS + SLACK_MS.
within() {
	if [[ -z $US ]] && grep -qx "never traced" "$W/watch"; then
		pass "$1: held 0 ms (nothing was stopped)"
	elif [[ -z $US ]]; then
		fail "$1: held at most $2 ms + $SLACK_MS" "not measured: $(cat "$W/watch")"
	elif ((US <= ($2 + SLACK_MS) * 1000)); then
		pass "$1: held $((US / 1000)) ms (budget $2 ms + $SLACK_MS)"
	else
		fail "$1: held at most $2 ms + $SLACK_MS" "held $((US / 1000)) ms" "$W/err"
	fi
}

echo "== malloc: 103 threads, one blocked inside malloc_stats"
if start_fixture stopclock malloc; then
	pid=$FIX_PID d=$FIX_DIR
	tid=$(fact stuck_tid "$d/facts.txt")
	n=$(find "/proc/$pid/task" -mindepth 1 -maxdepth 1 | wc -l)
	check "malloc: the target has 103 threads" "$([[ $n -eq 103 ]]; echo $?)" "$n threads"
	held attach --json "$pid"
	within "malloc, default budget" 3000
	if [[ $RC -eq 5 ]] && grep -q "pid $pid: thread $tid stayed inside malloc_stats" "$W/err"; then
		pass "malloc: exit 5 naming thread $tid inside malloc_stats"
	else
		fail "malloc: exit 5 naming thread $tid inside malloc_stats" "exit $RC" "$W/err"
	fi
	if jq -e --argjson t "$tid" '.snapshot.consistent == false
		and .snapshot.max_stop_ms == 3000 and .snapshot.predicted_stop_ms > 0
		and .snapshot.stopped_ms <= 3000 + '"$SLACK_MS"'
		and ([.threads[] | select(.tid == $t and .in_malloc)] | length) == 1' "$W/out" >/dev/null; then
		pass "malloc: JSON: not consistent, budget 3000 ms, predicted and actual stop given ($(jq .snapshot.retries "$W/out") retries)"
	else
		fail "malloc: JSON snapshot" "$(jq -c .snapshot "$W/out" 2>&1 | head -c 400)"
	fi
	runs_on "malloc" "$pid" "$d"

	held attach --max-stop=400ms "$pid"
	within "malloc, --max-stop=400ms" 400
	check "malloc, --max-stop=400ms: exit 5" "$([[ $RC -eq 5 ]]; echo $?)" "exit $RC"
	runs_on "malloc, --max-stop=400ms" "$pid" "$d"

	# Ctrl-C (and SIGTERM) while heapscope nudges the thread out of malloc
	# (from 0 to 750 ms into the stop): the target is let go within 100 ms
	for s in "INT 2 130 100" "INT 2 130 300" "TERM 15 143 200"; do
		read -r name num want delay <<<"$s"
		env --default-signal=INT,TERM,HUP "$HEAPSCOPE" attach "$pid" >"$W/out" 2>"$W/err" &
		h=$!
		"$WATCH" "$pid" "$h" "$num" "$delay" >"$W/watch" 2>&1
		grep -q "still traced" "$W/watch" && kill -KILL "$h" 2>/dev/null
		rc=0
		wait "$h" || rc=$?
		us=$(awk '$1 == "untraced_us" {print $2}' "$W/watch")
		if [[ -n $us ]] && ((us <= 100000)); then
			pass "SIG$name at $delay ms into the stop: target let go $((us / 1000)).$(((us % 1000) / 100)) ms after it"
		else
			fail "SIG$name at $delay ms into the stop: target let go within 100 ms" "$(cat "$W/watch")" "$W/err"
		fi
		if [[ $rc -eq $want && ! -s $W/out ]]; then
			pass "SIG$name: heapscope ends by the signal (status $want), no report"
		else
			fail "SIG$name: heapscope ends by the signal (status $want), no report" "status $rc, $(wc -c <"$W/out") bytes out" "$W/err"
		fi
		runs_on "SIG$name at $delay ms" "$pid" "$d"
	done
	stop_fixture "$pid"
fi

echo "== vfork: a thread in uninterruptible sleep (D)"
if start_fixture stopclock vfork; then
	pid=$FIX_PID d=$FIX_DIR
	vt=$(fact vfork_tid "$d/facts.txt")
	st=$(proc_state "$pid/task/$vt")
	check "vfork: thread $vt is in state D" "$([[ $st == D ]]; echo $?)" "state $st"
	# The thread in D is seized and interrupted but never stops: it stays
	# traced (running none of its code) until heapscope exits and the
	# kernel lets it go; the others are what the stop holds.
	EXCEPT=$vt held attach --json "$pid"
	within "vfork, default budget (the other threads)" 3000
	if [[ $RC -eq 5 ]] && jq -e --arg w "thread $vt did not stop within 750 ms (state D" \
		'.snapshot.consistent == false and ([.warnings[] | select(startswith($w))] | length) == 1' "$W/out" >/dev/null; then
		pass "vfork: exit 5, thread $vt named as not stopped (state D)"
	else
		fail "vfork: exit 5, thread $vt named as not stopped (state D)" "exit $RC" "$W/err" \
			"$(jq -c '.warnings' "$W/out" 2>&1 | head -c 400)"
	fi
	runs_on "vfork" "$pid" "$d"
	# released, the thread in D runs on, untraced
	printf x >"$d/release"
	for ((i = 0; i < 100; i++)); do
		[[ -e $d/released ]] && break
		sleep 0.02
	done
	check "vfork: released, thread $vt ran on" "$([[ -e $d/released ]]; echo $?)" "no $d/released"
	runs_on "vfork, released" "$pid" "$d"
	stop_vfork "$pid" "$d"
fi

# The thread in D was seized but never stopped: it cannot be detached.
# Once the stop is over it must not wait for heapscope's exit: heapscope
# is frozen (SIGSTOP) right after it lets the target go, while --compare
# still works, and the thread is released then: it must run on. (With
# the tracer alive and its tracee unreleased, the thread would sit in a
# trace stop until heapscope exits.) A try counts only if heapscope was
# frozen before it ended.
echo "== vfork: let go when the stop ends, heapscope still running"
if start_fixture stopclock vfork; then
	pid=$FIX_PID d=$FIX_DIR
	vt=$(fact vfork_tid "$d/facts.txt")
	tried=0 ok=0
	for ((try = 0; try < 5 && !tried; try++)); do
		# its stdout a one-page pipe read only once it is frozen: the
		# report (over a page) keeps heapscope running after the stop
		rm -f "$W/pid" "$W/drain"
		python3 "$(dirname "$0")/held_stdout.py" "$W" "$HEAPSCOPE" attach --json --compare "$pid" &
		held=$!
		for ((i = 0; i < 500; i++)); do
			[[ -s $W/pid ]] && break
			sleep 0.01
		done
		h=$(cat "$W/pid" 2>/dev/null)
		# the stop starts, then ends (the main thread untraced again)
		for ((i = 0; i < 4000; i++)); do
			tp=$(awk '/^TracerPid:/ {print $2}' "/proc/$pid/status")
			[[ $tp != 0 && -d /proc/$h/task/$tp ]] && break
		done
		for ((i = 0; i < 20000; i++)); do
			[[ $(awk '/^TracerPid:/ {print $2}' "/proc/$pid/status") == 0 ]] && break
		done
		# ... and its tracing is over: the thread that traced the one in D
		# is gone (2 s at most: a tracer that outlives its stop fails below)
		for ((i = 0; i < 100; i++)); do
			tp=$(awk '/^TracerPid:/ {print $2}' "/proc/$pid/task/$vt/status")
			[[ $tp == 0 || ! -d /proc/$h/task/$tp ]] && break
			sleep 0.02
		done
		if kill -STOP "$h" 2>/dev/null && [[ $(proc_state "$h") == T ]]; then
			tried=1
			printf x >"$d/release"
			for ((i = 0; i < 100; i++)); do
				[[ -e $d/released ]] && break
				sleep 0.02
			done
			[[ -e $d/released ]] && ok=1
			tp=$(awk '/^TracerPid:/ {print $2}' "/proc/$pid/task/$vt/status" 2>/dev/null)
		fi
		kill -CONT "$h" 2>/dev/null
		touch "$W/drain"
		wait "$held"
	done
	if [[ $tried == 0 ]]; then
		fail "vfork: let go while heapscope still runs" "heapscope could not be frozen after the stop, 5 times"
	else
		check "vfork: let go when the stop ended, heapscope frozen: thread $vt ran on, untraced" \
			"$([[ $ok == 1 && $tp == 0 ]]; echo $?)" "released: $ok, TracerPid ${tp:-?}"
	fi
	runs_on "vfork, let go" "$pid" "$d"
	stop_vfork "$pid" "$d"
fi

echo "== budget: a 200 MB heap"
if start_fixture classic 2000000; then
	pid=$FIX_PID d=$FIX_DIR
	held attach --max-stop=5ms "$pid"
	line=$(head -n 1 "$W/err")
	if [[ $RC -eq 4 && $line =~ "pid $pid: the stop is predicted to last "[0-9]+" ms (".*" of heap to read at ".*"over the budget of 5 ms: nothing was stopped (allow it with --max-stop="([0-9]+)"s)" ]]; then
		allow=${BASH_REMATCH[1]}
		pass "budget: refused with exit 4, the prediction named, --max-stop=${allow}s offered"
	else
		allow=
		fail "budget: refused with exit 4 naming the prediction" "exit $RC" "$W/err"
	fi
	if grep -qx "never traced" "$W/watch"; then pass "budget: refused before anything was stopped"; else
		fail "budget: refused before anything was stopped" "$(cat "$W/watch")"; fi
	took=
	if [[ -n $allow ]]; then
		held attach --json "--max-stop=${allow}s" "$pid"
		took=$(jq -r '.snapshot.stopped_ms | floor' "$W/out" 2>/dev/null)
		if [[ $RC -eq 0 ]] && jq -e --argjson m "$((allow * 1000))" \
			'.snapshot.max_stop_ms == $m and .snapshot.consistent and .snapshot.stopped_ms < $m' "$W/out" >/dev/null; then
			pass "budget: --max-stop=${allow}s reads it (exit 0, $(jq -r '"stop predicted \(.snapshot.predicted_stop_ms | floor) ms, took \(.snapshot.stopped_ms | floor) ms"' "$W/out"))"
		else
			fail "budget: --max-stop=${allow}s reads it" "exit $RC" "$W/err"
		fi
	fi
	alive "budget: target alive, every thread running and untraced" "$pid"

	# a budget of a third of the stop this heap just took (a fixed 60 ms
	# was not always short of it: 55 ms on a quiet machine), the
	# prediction set aside so that the stop starts and is cut
	[[ $took =~ ^[0-9]+$ ]] || took=180
	cut=$((took / 3 > 10 ? took / 3 : 10))
	ENVS=(HEAPSCOPE_TEST_PREDICTED_STOP_MS=0)
	held attach --json --max-stop=${cut}ms "$pid"
	ENVS=(HS_NOTHING=)
	within "cut short at --max-stop=${cut}ms (the full stop took $took ms)" "$cut"
	if [[ $RC -eq 5 ]] && grep -q "the stop reached its budget" "$W/err" &&
		jq -e --argjson m "$cut" '.snapshot.consistent == false and .snapshot.max_stop_ms == $m' "$W/out" >/dev/null; then
		pass "cut short: exit 5, the report printed, not consistent, the budget named"
	else
		fail "cut short: exit 5, the report printed, not consistent" "exit $RC" "$W/err"
	fi
	# no verdict from a heap read in part, and not "corrupt": the verdict
	# and the one finding are cut-short, its remedy a larger budget
	if jq -e '.diagnosis.verdict == "cut-short" and ([.diagnosis.findings[].kind] == ["cut-short"])
		and (.diagnosis.findings[0].remedy | test("--max-stop=[0-9]+s"))' "$W/out" >/dev/null; then
		pass "cut short: verdict cut-short, its only finding, a --max-stop to run again with"
	else
		fail "cut short: verdict cut-short, its only finding, a --max-stop to run again with" \
			"$(jq -c '.diagnosis | {verdict, kinds: [.findings[].kind]}' "$W/out" 2>&1 | head -c 300)"
	fi
	alive "cut short: target alive, every thread running and untraced" "$pid"
	# the heap is what glibc says it is: nothing was written
	exact_stats "cut short: afterwards, malloc-stats" "$pid" "$d"
	stop_fixture "$pid"
fi

echo "== budget with --leaks: the memory the leak scan copies is predicted too"
if start_fixture ballast 256; then
	pid=$FIX_PID
	# the program's own 256 MiB, all touched: no heap, but --leaks copies it
	for leaks in "" --leaks; do
		held attach $leaks --max-stop=1ms "$pid"
		line=$(head -n 1 "$W/err")
		re="the stop is predicted to last [0-9]+ ms \(([0-9.]+) (KiB|MiB|GiB) of heap( and other memory --leaks copies)? to read"
		if [[ $RC -eq 4 && $line =~ $re ]]; then
			mib=$(awk -v v="${BASH_REMATCH[1]}" -v u="${BASH_REMATCH[2]}" 'BEGIN {printf "%d", v * (u == "GiB" ? 1024 : u == "KiB" ? 1 / 1024 : 1)}')
			if [[ -z $leaks ]]; then
				check "ballast: without --leaks the heaps alone are predicted ($mib MiB < 64)" "$([[ $mib -lt 64 && -z ${BASH_REMATCH[3]} ]]; echo $?)" "$line"
			else
				check "ballast --leaks: the 256 MiB it copies predicted too ($mib MiB >= 256)" "$([[ $mib -ge 256 && -n ${BASH_REMATCH[3]} ]]; echo $?)" "$line"
			fi
		else
			fail "ballast ${leaks:-plain}: refused at --max-stop=1ms naming the bytes" "exit $RC" "$W/err"
		fi
	done
	stop_fixture "$pid"
fi

echo "== spawn: threads that create threads without pause"
if start_fixture stopclock spawn 16 1 0; then
	pid=$FIX_PID d=$FIX_DIR
	said=0 tries=0 others=
	while ((tries < 5 && said == 0)); do
		tries=$((tries + 1))
		ENVS=(HEAPSCOPE_TEST_PREDICTED_STOP_MS=0)
		held attach --max-stop=40ms "$pid"
		ENVS=(HS_NOTHING=)
		if [[ $RC -eq 3 ]] && grep -qE "pid $pid: threads appear faster than they can be stopped.*: (every thread let go|nothing was stopped|[0-9]+ threads let go, [0-9]+ not stopped yet \(let go as the stop ends\))$" "$W/err"; then
			said=1
		elif [[ $RC -eq 0 ]]; then
			: # heapscope won the try outright: every thread stopped, unwound
			# and read within the 40 ms (seen in CI with 53 threads; the
			# time it held the target is checked below, as for every try)
		elif [[ $RC -ne 5 ]] || ! grep -q "the stop reached its budget" "$W/err"; then
			# heapscope may win a try (every thread stopped in time, then
			# the 40 ms run out while unwinding a thousand of them)
			others+="try $tries: exit $RC: $(head -c 300 "$W/err"); "
		fi
		# the spawner keeps both CPUs busy: heapscope's own exit (when
		# the kernel lets go the threads not stopped yet) waits for one
		SLACK_MS=1000 within "spawn, try $tries" 40
		free "spawn, try $tries" "$pid"
	done
	check "spawn: exit 3, a stop cut short at its budget, or a report read within it, every try" "$([[ -z $others ]]; echo $?)" "$others"
	check "spawn: exit 3, 'threads appear faster than they can be stopped', every thread let go or none stopped (in $tries tries)" \
		"$([[ $said -eq 1 ]]; echo $?)" "$W/err"
	runs_on "spawn" "$pid" "$d"
	stop_fixture "$pid"
fi

echo "== fork: threads that fork without pause"
if start_fixture stopclock fork; then
	pid=$FIX_PID d=$FIX_DIR
	held attach --json "$pid"
	within "fork" 3000
	if [[ $RC -eq 0 ]] && jq -e '.snapshot.consistent' "$W/out" >/dev/null; then
		pass "fork: read, consistent (exit 0)"
	else
		fail "fork: read, consistent (exit 0)" "exit $RC" "$W/err"
	fi
	runs_on "fork" "$pid" "$d"
	stop_fixture "$pid"
fi
summary
