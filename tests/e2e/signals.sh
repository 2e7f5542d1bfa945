#!/usr/bin/env bash
# Signals: SIGINT, SIGTERM and SIGHUP sent to heapscope while it attaches to
# a multi-threaded target (fixtures/sprawl: main and 6 threads, 6 arenas of
# holes; a stop of tens of milliseconds). man heapscope(1), NOTES: these
# signals are not held back while the target is stopped: their default
# action ends heapscope at once, and the kernel lets every thread of the
# target go as heapscope exits; so heapscope ends killed by that signal:
# the shell's status 128 + signal number (130, 143, 129), never a report,
# never a hang, and the target runs on.
# Each signal is sent at these points of one attach (--json --compare: the
# comparison runs after the target is let go, which leaves room for "after"):
#   start      as soon as heapscope runs, before it has touched the target
#   stop+0     the moment a thread of the target is seen traced by heapscope
#   stop+1/4   a quarter of the shortest of 3 measured stops later
#   stop+1/2   half of it later
#   after      once heapscope has let the target go, while it still works
# A "stop" point counts only if the target was traced by heapscope just
# before the signal was sent (so it arrived during the stop; else it is
# tried again, 20 times in all, then a failure). After each: exactly the status
# above, nothing on stdout for the points in the stop, no sanitizer report;
# the target alive, every thread of it running (none stopped, none traced),
# as many threads as before; at the end glibc's own malloc_stats still
# equal heapscope's reading of it (the heap untouched).
#   usage: HEAPSCOPE=build/heapscope tests/e2e/signals.sh
set -uo pipefail
SUITE=signals
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/../lib.sh"
need_file "$HEAPSCOPE"

WORK=$(new_tmpdir)
echo "== sprawl (multi-threaded), signals to heapscope during attach"
start_fixture sprawl || { summary; exit 1; }
target=$FIX_PID
ntasks=$(find "/proc/$target/task" -mindepth 1 -maxdepth 1 | wc -l)
check "the target is multi-threaded ($ntasks threads)" "$([[ $ntasks -ge 2 ]]; echo $?)" "$ntasks thread(s)"

# These helpers are polled in tight loops: none of them forks (no $(...)),
# each sets a variable or returns a status.
# traced PID TRACER: sets TRACED to how many threads of PID the process
# TRACER traces (TracerPid names its tracing thread).
traced() {
	local t k v
	TRACED=0
	for t in /proc/"$1"/task/*; do
		while read -r k v; do
			if [[ $k == TracerPid: ]]; then
				# (the tracing thread: a thread of heapscope's)
				[[ $v != 0 && ($v == "$2" || -d /proc/$2/task/$v) ]] && TRACED=$((TRACED + 1))
				break
			fi
		done 2>/dev/null <"$t/status"
	done
}

# running PID: PID exists and has not exited (a zombie not yet reaped has).
running() {
	local line
	read -r line 2>/dev/null <"/proc/$1/stat" || return 1
	line=${line##*) }
	[[ ${line%% *} != Z ]]
}

# is_heapscope PID: PID has exec'd heapscope (its comm is heapscope*).
is_heapscope() {
	local c
	read -r c 2>/dev/null <"/proc/$1/comm" || return 1
	[[ $c == heapscope* ]]
}

# The length of a stop here, now: the shortest of three attaches.
stop_ms=
for i in 1 2 3; do
	hs "$WORK/m.json" "$WORK/m.err" attach --json --compare "$target"
	ms=$(jq -r '.snapshot.stopped_ms | floor' "$WORK/m.json" 2>/dev/null)
	if [[ $HS_RC -ne 0 || ! $ms =~ ^[0-9]+$ ]]; then
		fail "measure the stop (attach $i)" "exit $HS_RC" "$WORK/m.err"
		continue
	fi
	[[ -z $stop_ms || $ms -lt $stop_ms ]] && stop_ms=$ms
done
[[ -n $stop_ms ]] || { summary; exit 1; }
echo "   a stop lasts at least $stop_ms ms here"

# nap: 2 ms without a fork (a read that times out on a fifo nobody writes).
mkfifo "$WORK/nap"
exec {NAPFD}<>"$WORK/nap"
nap() {
	read -r -t 0.002 -u "$NAPFD" _ || true
}

# now_us: microseconds, from bash itself (no fork).
now_us() {
	local t=${EPOCHREALTIME/./}
	NOW=$((10#$t))
}

# one_try SIG POINT: one attach (--json --compare: the comparison runs after
# the target is let go, which leaves time for the "after" point), SIG sent
# at POINT. Sets RC, LANDED (yes when the signal provably arrived at that
# point) and WHY.
# heapscope starts with SIGINT, SIGTERM and SIGHUP at their default action,
# as from a terminal: bash starts a script's background commands with
# SIGINT ignored, which heapscope rightly inherits and keeps.
# heapscope dies of the signal at once: the target traced by heapscope
# just before the kill() means the signal came during the stop.
one_try() {
	local sig=$1 point=$2 hsp= sub delay seen=no deadline
	rm -f "$WORK/out" "$WORK/err" "$WORK/hsp" "$WORK/rc"
	# heapscope's status comes from the subshell that waits for it (whose
	# stderr, where bash would print "Hangup" and the like, is discarded)
	(
		env --default-signal=INT,TERM,HUP "$HEAPSCOPE" attach --json --compare "$target" >"$WORK/out" 2>"$WORK/err" &
		echo $! >"$WORK/hsp.tmp"
		mv "$WORK/hsp.tmp" "$WORK/hsp"
		wait $!
		echo $? >"$WORK/rc"
	) 2>/dev/null &
	sub=$!
	while [[ -z $hsp ]]; do
		read -r hsp 2>/dev/null <"$WORK/hsp" || nap
	done
	LANDED=no WHY=
	now_us
	deadline=$((NOW + 20000000))
	case $point in
	start)
		# heapscope itself (after env's exec), before it touches the target
		while ! is_heapscope "$hsp" && running "$hsp"; do nap; done
		traced "$target" "$hsp"
		if [[ $TRACED -eq 0 ]] && running "$hsp"; then
			kill "-$sig" "$hsp" 2>/dev/null
			traced "$target" "$hsp"
			if [[ $TRACED -eq 0 ]]; then LANDED=yes; else WHY="heapscope had seized the target"; fi
		else
			WHY="heapscope was not seen running before the stop"
		fi
		;;
	stop*)
		case $point in
		stop+0) delay=0 ;;
		stop+1/4) delay=$((stop_ms / 4)) ;;
		stop+1/2) delay=$((stop_ms / 2)) ;;
		esac
		while running "$hsp"; do
			traced "$target" "$hsp"
			[[ $TRACED -gt 0 ]] && { seen=yes; break; }
			now_us
			((NOW < deadline)) || break
			nap
		done
		if [[ $seen != yes ]]; then
			WHY="the target was never seen traced by heapscope"
		else
			((delay > 0)) && sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
			traced "$target" "$hsp"
			if [[ $TRACED -gt 0 ]]; then
				kill "-$sig" "$hsp" 2>/dev/null
				LANDED=yes
			else
				WHY="the stop was over before the signal"
			fi
		fi
		;;
	after)
		# traced by heapscope once, then let go, heapscope still running
		while running "$hsp"; do
			traced "$target" "$hsp"
			[[ $TRACED -gt 0 ]] && seen=yes
			[[ $seen == yes && $TRACED -eq 0 ]] && break
			now_us
			((NOW < deadline)) || break
			nap
		done
		if [[ $seen == yes && $TRACED -eq 0 ]] && running "$hsp"; then
			kill "-$sig" "$hsp" 2>/dev/null
			LANDED=yes
		else
			WHY="heapscope was not seen to let the target go while still running"
		fi
		;;
	esac
	# heapscope must end by itself within 15 s of the signal
	now_us
	deadline=$((NOW + 15000000))
	while running "$hsp"; do
		now_us
		((NOW < deadline)) || break
		sleep 0.01
	done
	if running "$hsp"; then
		kill -KILL "$hsp" 2>/dev/null
		WHY="hung: killed after 15 s"
	fi
	wait "$sub"
	read -r RC 2>/dev/null <"$WORK/rc" || RC=none
	# "after": a complete report means heapscope was done first (a race of
	# microseconds between the check and the kill): try again
	if [[ $point == after && $LANDED == yes && $RC == 0 && -s $WORK/out ]]; then
		LANDED=no WHY="heapscope was done before the signal"
	fi
}

declare -A signo=([INT]=2 [TERM]=15 [HUP]=1)
for sig in INT TERM HUP; do
	want=$((128 + ${signo[$sig]}))
	for point in start stop+0 stop+1/4 stop+1/2 after; do
		name="SIG$sig at $point"
		tries=0
		while :; do
			tries=$((tries + 1))
			one_try "$sig" "$point"
			[[ $LANDED == yes || $WHY == hung* || $tries -ge 20 ]] && break
			# a missed point: heapscope ran on to its end; the target must
			# be let go all the same before the next try
			alive "$name (missed, try $tries: $WHY): target let go" "$target"
		done
		if [[ $LANDED != yes ]]; then
			fail "$name: the signal arrives at that point" "$WHY (in $tries tries; exit $RC)" "$WORK/err"
		elif [[ $RC == "$want" ]]; then
			pass "$name: heapscope ends by SIG$sig (status $want)"
		else
			fail "$name: heapscope ends by SIG$sig (status $want)" \
				"status $RC$([[ $RC == 0 ]] && echo ', a report: the signal was ignored')${WHY:+; $WHY}" "$WORK/err"
		fi
		if [[ $point == stop* && $LANDED == yes ]]; then
			if [[ ! -s $WORK/out ]]; then pass "$name: no report on stdout"; else
				fail "$name: no report on stdout" "$(wc -c <"$WORK/out") bytes"; fi
		fi
		if grep -qE 'Sanitizer|runtime error:' "$WORK/err"; then
			fail "$name: no sanitizer report" "see stderr" "$WORK/err"
		fi
		alive "$name: target alive, every thread running and untraced" "$target"
		n=$(find "/proc/$target/task" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
		check "$name: the target still has its $ntasks threads" "$([[ $n -eq $ntasks ]]; echo $?)" "it has $n"
	done
done

# The heap the target holds is still exactly what glibc says it is.
hs "$WORK/mstats" "$WORK/mstats.err" attach --format=malloc-stats "$target"
if [[ $HS_RC -eq 0 ]] && cmp -s "$FIX_DIR/malloc_stats.txt" "$WORK/mstats"; then
	pass "after the signals: malloc-stats still equals glibc's"
else
	fail "after the signals: malloc-stats still equals glibc's" "exit $HS_RC" "$WORK/mstats.err" \
		"$(diff "$FIX_DIR/malloc_stats.txt" "$WORK/mstats" | head -n 10)"
fi
alive "target alive at the end" "$target"
stop_fixture "$target"
summary
