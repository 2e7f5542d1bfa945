#!/usr/bin/env bash
# heapscope watch [-i SECONDS] [-n COUNT] PID (issue 13, item 1), against
# glibc's own count. fixtures/growrate.c mallocs a block every few ms and
# keeps it ("grow"), or frees and mallocs blocks of random sizes with the
# in-use bytes flat ("churn"), or takes ever more from the system for the
# same nothing in use ("swell"); after every step it writes the time
# (CLOCK_MONOTONIC, the clock heapscope times its stops on) and glibc's
# mallinfo2().uordblks to DIR/truth.txt. The truth over an interval is
# the change of that count between the two stops' times (from the
# "delta" object's monotonic_ns), over those times: no rate is written
# here by hand.
#   --json: every line a whole heapscope/1 report with its delta; each
#   interval's in-use rate, and the whole watch's, within 5% of glibc's;
#   the trend "leak-like growth".
#   churn (text): glibc's count flat, heapscope says "steady"; the lines'
#   format. swell (--json: blocks malloc'd ever larger and freed, nothing
#   trimmed): glibc's uordblks flat and its arena grown, the system rate
#   within 5% of glibc's, the trend "fragmentation".
#   SIGINT between snapshots: the summary, exit 0, the target running
#   and untraced; SIGINT while the target is stopped: heapscope dies of it
#   (status 130, as attach), the target running and untraced; a target that exits: a last line, exit 6 (text and
#   --json); a target that execs another program, or whose pid a new process
#   takes (made to happen in a pid namespace with ns_last_pid): exit 6; bad -i / -n values and options watch does not take: exit 2
#   and one line.
#   usage: HEAPSCOPE=build/heapscope tests/e2e/watch.sh
set -uo pipefail
SUITE="watch"
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/../lib.sh"
need_file "$HEAPSCOPE"
need_file "$FIXDIR/growrate"
W=$(new_tmpdir)

# watch OUT ERR ARGS...: heapscope watch, bounded (60 s); sets HS_RC.
watch() {
	local out=$1 err=$2
	shift 2
	HS_RC=0
	timeout -k 5 60 "$HEAPSCOPE" watch "$@" >"$out" 2>"$err" || HS_RC=$?
}

# reap PID: waits (5 s at most) for heapscope PID, started here in the
# background, to end; sets rc to its status, or to a sentence when it did
# not end (then it is killed).
reap() {
	local i
	for ((i = 0; i < 100; i++)); do
		ours "$1" && [[ $(proc_state "$1") != Z ]] || break
		sleep 0.05
	done
	if ours "$1" && [[ $(proc_state "$1") != Z ]]; then
		kill_ours KILL "$1"
		{ wait "$1"; } 2>/dev/null
		rc="still running 5 s after the signal"
	else
		{ wait "$1"; } 2>/dev/null
		rc=$?
	fi
}

# truth_at FILE NS: glibc's uordblks at time NS (the last record at or
# before it).
truth_at() { awk -v t="$2" '$1 <= t {v = $2} END {print v}' "$1"; }

# within LABEL GOT WANT PCT: GOT within PCT% of WANT (both numbers).
within() {
	if awk -v g="$2" -v w="$3" -v p="$4" 'BEGIN {d = g - w; if (d < 0) d = -d; exit !(w != 0 && d <= p / 100 * (w < 0 ? -w : w))}'; then
		pass "$1: $2 vs glibc's $3 (within $4%)"
	else
		fail "$1" "heapscope $2, glibc $3: off by more than $4%"
	fi
}

# --- grow, --json ----------------------------------------------------------
if start_fixture growrate grow 2000 5; then
	G=$FIX_PID GD=$FIX_DIR
	watch "$W/g.json" "$W/g.err" -i 1 -n 4 --json "$G"
	check "grow --json: exit 0" "$([[ $HS_RC -eq 0 ]]; echo $?)" "exit $HS_RC: $(head -3 "$W/g.err")"
	n=$(wc -l <"$W/g.json")
	check "grow --json: 4 lines" "$([[ $n -eq 4 ]]; echo $?)" "got $n lines"
	# every line on its own a whole report, in order, with a delta
	bad=$(jq -c 'select(.schema != "heapscope/1" or (.target.pid | type) != "number" or (.totals.in_use_bytes | type) != "number"
		or (.arenas | type) != "array" or (.diagnosis | type) != "object" or (.delta | type) != "object")' "$W/g.json" 2>&1)
	idx=$(jq -r '.delta.index' "$W/g.json" 2>/dev/null | tr '\n' ' ')
	check "grow --json: every line a complete heapscope/1 report with a delta, indexes 0..3" \
		"$([[ -z $bad && $idx == "0 1 2 3 " ]]; echo $?)" "indexes '$idx'; bad: ${bad:0:300}"
	check "grow --json: the first delta has no rate, the others do" \
		"$(jq -e -s '(.[0].delta.per_second == null) and all(.[1:][]; (.delta.per_second.in_use_bytes | type) == "number" and .delta.seconds > 0.5)' "$W/g.json" >/dev/null 2>&1; echo $?)" \
		"$(jq -c '.delta | {index, seconds, per_second}' "$W/g.json" 2>&1 | head -4)"
	# each interval's in-use rate against glibc's over the same two stops
	mapfile -t ts < <(jq -r '.delta.monotonic_ns' "$W/g.json" 2>/dev/null)
	mapfile -t rates < <(jq -r '.delta.per_second.in_use_bytes' "$W/g.json" 2>/dev/null)
	if [[ ${#ts[@]} -eq 4 ]]; then
		for k in 1 2 3; do
			a=$(truth_at "$GD/truth.txt" "${ts[k - 1]}") b=$(truth_at "$GD/truth.txt" "${ts[k]}")
			truth=$(awk -v a="$a" -v b="$b" -v t0="${ts[k - 1]}" -v t1="${ts[k]}" 'BEGIN {printf "%.0f", (b - a) / ((t1 - t0) / 1e9)}')
			within "grow --json: interval $k in-use rate (B/s)" "$(printf '%.0f' "${rates[k]}")" "$truth" 5
		done
		a=$(truth_at "$GD/truth.txt" "${ts[0]}") b=$(truth_at "$GD/truth.txt" "${ts[3]}")
		truth=$(awk -v a="$a" -v b="$b" -v t0="${ts[0]}" -v t1="${ts[3]}" 'BEGIN {printf "%.0f", (b - a) / ((t1 - t0) / 1e9) * 60}')
		got=$(jq -s '(.[3].totals.in_use_bytes - .[0].totals.in_use_bytes) / ((.[3].delta.monotonic_ns - .[0].delta.monotonic_ns) / 1e9) * 60 | round' "$W/g.json")
		within "grow --json: the whole watch's in-use rate (B/min)" "$got" "$truth" 5
		tw=$(tail -1 "$W/g.json" | jq -r '.delta.trend.in_use_per_minute | round')
		within "grow --json: the trend's in-use slope (B/min)" "$tw" "$truth" 5
	else
		fail "grow --json: rates against glibc's" "no monotonic_ns in the lines"
	fi
	word=$(jq -r '.delta.trend.word' "$W/g.json" 2>/dev/null | tr '\n' ' ')
	check "grow --json: the trend, from the 4th line, is leak-like growth" \
		"$([[ $word == "null null null leak-like growth " ]]; echo $?)" "trend words: $word"
	grep -q 'ended (4 snapshots taken)' "$W/g.err"
	check "grow --json: the summary on stderr" "$?" "$(cat "$W/g.err")"
	check_alive "$G"
	check "grow --json: the target runs on, untraced" "$?" "${ALIVE_REASON:-}"
	stop_fixture "$G"
fi

# --- churn, text: flat -------------------------------------------------------
if start_fixture growrate churn 0 2; then
	C=$FIX_PID CD=$FIX_DIR
	t0=$(awk 'END {print $1}' "$CD/truth.txt")
	watch "$W/c.txt" "$W/c.err" -i 1 -n 4 "$C"
	check "churn text: exit 0" "$([[ $HS_RC -eq 0 ]]; echo $?)" "exit $HS_RC: $(head -3 "$W/c.err")"
	# glibc's own count over the watch: flat (within the trend's bar, 256 KiB)
	span=$(awk -v t="$t0" '$1 >= t {if (!n++ || $2 < lo) lo = $2; if ($2 > hi) hi = $2} END {print hi - lo}' "$CD/truth.txt")
	check "churn: glibc's uordblks flat during the watch (moved $span B)" "$([[ -n $span && $span -lt 262144 ]]; echo $?)" "span $span"
	grep -Eq '^trend: system, in use and holes are flat: steady \(3 intervals, [0-9.]+ s\)$' "$W/c.txt"
	check "churn text: trend steady" "$?" "$W/c.txt"
	# the lines: header, #0 without a change, #1..#3 with one, summary
	re_vals='system [0-9.]+ [KMG]?i?B  in use [0-9.]+ [KMG]?i?B  holes [0-9.]+ [KMG]?i?B \(tcache [0-9.]+ [KMG]?i?B, fastbins [0-9.]+ [KMG]?i?B, bins [0-9.]+ [KMG]?i?B, top [0-9.]+ [KMG]?i?B\)  mmapped [0-9.]+ [KMG]?i?B  arenas [0-9]+'
	re_chg='[+-]?[0-9.]+ [KMG]?i?B \([+-]?[0-9.]+ [KMG]?i?B/s, [+-]?[0-9.]+ [KMG]?i?B/min\)'
	ok=0
	grep -Eq "^watch pid $C \(/.*\): a snapshot every 1 s, 4 times$" "$W/c.txt" || ok=1
	grep -Eq "^#0 $re_vals$" "$W/c.txt" || ok=1
	for k in 1 2 3; do
		grep -Eq "^#$k $re_vals  \| [0-9.]+ s: in use $re_chg, holes $re_chg, system $re_chg" "$W/c.txt" || ok=1
	done
	grep -Eq "^watch of pid $C ended \(4 snapshots taken\): 4 snapshots over [0-9.]+ s; in use $re_chg, holes $re_chg, system $re_chg$" "$W/c.txt" || ok=1
	check "churn text: the header, a line a snapshot (#0 without a change, #1..#3 with change and rates), the summary" "$ok" "$W/c.txt"
	stop_fixture "$C"
fi

# --- swell, --json: in use flat, system grows: fragmentation -----------------
if start_fixture growrate swell 1000 5; then
	F=$FIX_PID FD=$FIX_DIR
	watch "$W/f.json" "$W/f.err" -i 1 -n 4 --json "$F"
	check "swell --json: exit 0" "$([[ $HS_RC -eq 0 ]]; echo $?)" "exit $HS_RC: $(head -3 "$W/f.err")"
	mapfile -t ts < <(jq -r '.delta.monotonic_ns' "$W/f.json" 2>/dev/null)
	if [[ ${#ts[@]} -eq 4 ]]; then
		# glibc's own: uordblks flat, arena grown, over the same two stops
		read -r u0 a0 < <(awk -v t="${ts[0]}" '$1 <= t {u = $2; a = $3} END {print u, a}' "$FD/truth.txt")
		read -r u3 a3 < <(awk -v t="${ts[3]}" '$1 <= t {u = $2; a = $3} END {print u, a}' "$FD/truth.txt")
		check "swell: glibc's uordblks flat ($u0 -> $u3), its arena grown ($a0 -> $a3)" \
			"$([[ -n $u3 && -n $a3 && $((u3 - u0)) -lt 262144 && $((u0 - u3)) -lt 262144 && $((a3 - a0)) -gt 1048576 ]]; echo $?)" "uordblks $u0 -> $u3, arena $a0 -> $a3"
		truth=$(awk -v a="$a0" -v b="$a3" -v t0="${ts[0]}" -v t1="${ts[3]}" 'BEGIN {printf "%.0f", (b - a) / ((t1 - t0) / 1e9)}')
		got=$(jq -s '(.[3].totals.system_bytes - .[0].totals.system_bytes) / ((.[3].delta.monotonic_ns - .[0].delta.monotonic_ns) / 1e9) | round' "$W/f.json")
		within "swell --json: the system rate (B/s) against glibc's arena" "$got" "$truth" 5
	else
		fail "swell --json: rates against glibc's" "no monotonic_ns in the lines"
	fi
	word=$(tail -1 "$W/f.json" | jq -r '.delta.trend.word' 2>/dev/null)
	check "swell --json: the trend is fragmentation" "$([[ $word == fragmentation ]]; echo $?)" "trend: $word"
	stop_fixture "$F"
fi

# --- SIGINT between snapshots: summary, exit 0, target let go ---------------
if start_fixture growrate grow 2000 5; then
	P=$FIX_PID
	env --default-signal=INT,TERM,HUP "$HEAPSCOPE" watch -i 1 "$P" >"$W/i.txt" 2>"$W/i.err" &
	H=$!
	FIX_PIDS+=("$H")
	# the signal half-way between two snapshots (#4 is taken at about 4 s)
	for ((i = 0; i < 200; i++)); do
		grep -qs '^#4 ' "$W/i.txt" && break
		sleep 0.05
	done
	sleep 0.4
	kill -INT "$H"
	reap "$H"
	check "SIGINT between snapshots: exit 0" "$([[ $rc == 0 ]]; echo $?)" "exit $rc: $(cat "$W/i.err")"
	grep -Eq "^watch of pid $P ended \(interrupted by SIGINT\): 5 snapshots over" "$W/i.txt"
	check "SIGINT between snapshots: the summary" "$?" "$W/i.txt"
	grep -Eq '^trend: in use grows [0-9.]+ [KM]iB/min while holes stay flat: leak-like growth' "$W/i.txt"
	check "SIGINT: the trend sentence of a growing heap (text)" "$?" "$W/i.txt"
	check_alive "$P"
	check "SIGINT: the target runs on, untraced (TracerPid 0, not t/T)" "$?" "${ALIVE_REASON:-}"
	st=$(proc_state "$P") tp=$(awk '/^TracerPid:/ {print $2}' "/proc/$P/status")
	check "SIGINT: /proc/$P/status says state $st, TracerPid $tp" "$([[ $st != [tT] && $tp == 0 ]]; echo $?)" "state $st TracerPid $tp"
	stop_fixture "$P"
fi

# --- a signal during a stop: let go at once, heapscope dies of it (as attach)
if start_fixture growrate grow 2000 5; then
	P=$FIX_PID landed=no rc=
	for ((try = 1; try <= 10; try++)); do
		env --default-signal=INT,TERM,HUP "$HEAPSCOPE" watch -i 0.1 "$P" >"$W/s.out" 2>"$W/s.err" &
		H=$!
		FIX_PIDS+=("$H")
		# the signal the moment the target is seen traced (no fork in the loop)
		end=$((SECONDS + 5))
		while ((SECONDS < end)); do
			tp=0
			while read -r k v; do [[ $k == TracerPid: ]] && tp=$v && break; done <"/proc/$P/status"
			if [[ $tp != 0 ]]; then
				kill -INT "$H" 2>/dev/null && landed=yes
				break
			fi
		done
		[[ $landed == no ]] && kill -KILL "$H" 2>/dev/null
		reap "$H"
		[[ $landed == yes ]] && break
	done
	if [[ $landed == yes ]]; then
		check "SIGINT during a stop (try $try): heapscope dies of it, as attach (status 130)" \
			"$([[ $rc == 130 ]]; echo $?)" "status $rc" "$W/s.err"
		check_alive "$P"
		check "SIGINT during a stop: the target runs on, untraced" "$?" "${ALIVE_REASON:-}"
	else
		fail "SIGINT during a stop" "the target was never seen traced in 10 tries"
	fi
	stop_fixture "$P"
fi

# --- the target exits mid-watch: a last line, exit 6 ------------------------
for mode in text json; do
	if start_fixture growrate grow 2000 5 2300; then
		X=$FIX_PID
		watch "$W/x.out" "$W/x.err" -i 1 $([[ $mode == json ]] && echo --json) "$X"
		check "exit mid-watch ($mode): exit 6" "$([[ $HS_RC -eq 6 ]]; echo $?)" "exit $HS_RC: $(cat "$W/x.err")"
		if [[ $mode == text ]]; then
			last=$(tail -1 "$W/x.out")
			lines=$(grep -c '^#' "$W/x.out")
			[[ $last =~ ^watch\ of\ pid\ $X\ ended\ \(pid\ $X\ exited\):\ [0-9]+\ snapshots && $lines -ge 2 ]]
		else
			last=$(tail -1 "$W/x.out")
			lines=$(jq -r 'select(.schema == "heapscope/1") | .delta.index' "$W/x.out" 2>/dev/null | wc -l)
			[[ $(jq -r '.exit' <<<"$last" 2>/dev/null) == 6 && $last == *"pid $X exited while being watched"* && $lines -ge 2 ]]
		fi
		check "exit mid-watch ($mode): $lines snapshots, then a last line saying so" "$?" "last: $last" "$W/x.err"
		grep -q "^heapscope: pid $X exited while being watched" "$W/x.err"
		check "exit mid-watch ($mode): one error line on stderr" "$?" "$W/x.err"
	fi
done

# --- a main thread that called pthread_exit, the others running on: the
# process is there (its main thread a zombie), not "exited" ----------------
if start_fixture leaderexit; then
	watch "$W/l.out" "$W/l.err" -i 0.2 -n 2 "$FIX_PID"
	check "leaderexit: watched twice, exit 0 (not taken for gone)" "$([[ $HS_RC -eq 0 ]]; echo $?)" \
		"exit $HS_RC: $(head -c 300 "$W/l.err")"
	stop_fixture "$FIX_PID"
fi

# --- the pid names another program (exec) or another process (the watched
# one exited and a new one got its pid): the watched process is gone, exit 6,
# never a line of the other ------------------------------------------------
d=$(new_tmpdir)
bash -c "sleep 1.2; exec $(printf '%q' "$FIXDIR/healthy") $(printf '%q' "$d")" >/dev/null 2>&1 &
E=$!
bg_track "$E"
# (watched once it is bash -c: before, it is this script's bash, forked)
for ((i = 0; i < 250; i++)); do
	[[ $(tr '\0' ' ' <"/proc/$E/cmdline" 2>/dev/null) == "bash -c sleep"* ]] && break
	sleep 0.02
done
watch "$W/e.out" "$W/e.err" -i 0.2 -n 50 "$E"
check "exec mid-watch: exit 6, one line naming the exec, after snapshots of the first program ($(cut -c 1-160 "$W/e.err"))" \
	"$([[ $HS_RC -eq 6 && $(wc -l <"$W/e.err") -eq 1 ]] &&
		grep -qE "^heapscope: pid $E ran another program \(exec\) while being watched \(after [1-9]" "$W/e.err" &&
		tail -1 "$W/e.out" | grep -q "ended (pid $E ran another program)"; echo $?)" "exit $HS_RC" "$W/e.out"
stop_fixture "$E"
# A pid used again, made to happen: in a pid namespace of its own,
# ns_last_pid set to the watched pid less one once it has exited.
if unshare -pf --mount-proc true 2>/dev/null; then
	d=$(new_tmpdir)
	mkdir -p "$d/a" "$d/b"
	timeout -k 5 60 unshare -pf --mount-proc bash -c '
		hs=$1 fix=$2 d=$3
		"$fix" "$d/a" >/dev/null 2>&1 &
		p=$!
		for ((i = 0; i < 500; i++)); do [[ -s $d/a/ready ]] && break; sleep 0.01; done
		"$hs" watch -i 0.3 -n 40 "$p" >"$d/out" 2>"$d/err" &
		w=$!
		sleep 1
		kill -KILL "$p"
		wait "$p" 2>/dev/null
		echo $((p - 1)) >/proc/sys/kernel/ns_last_pid
		"$fix" "$d/b" >/dev/null 2>&1 &
		q=$!
		echo "$p $q" >"$d/pids"
		wait "$w"
		echo $? >"$d/rc"
		kill -KILL "$q"
	' _ "$HEAPSCOPE" "$FIXDIR/healthy" "$d"
	read -r p q <"$d/pids"
	if [[ $p == "$q" ]]; then
		check "a pid used again mid-watch: exit 6, the pid named another process's ($(cut -c 1-160 "$d/err"))" \
			"$([[ $(cat "$d/rc") -eq 6 ]] && grep -qE "^heapscope: pid $p exited(, and the pid names another process now)? while being watched" "$d/err"; echo $?)" \
			"exit $(cat "$d/rc")" "$d/out"
	else
		fail "a pid used again mid-watch" "the new process got pid $q, not $p (ns_last_pid not taken)"
	fi
else
	skip "a pid used again mid-watch" "no pid namespace here (unshare -p refused)"
fi

# --- bad values: exit 2, one line ---------------------------------------------
for args in "-i 0" "-i abc" "-i -1" "-i 1s" "-i 100000" "-i 0x10" "-i 1e3" "-n 0" "-n x" "-n -3" \
	"-n 99999999999999999999" "-i" "--pretty" "--format=prometheus" "--leaks" ""; do
	# shellcheck disable=SC2086 # the words of args, split on purpose
	watch "$W/b.out" "$W/b.err" $args $([[ $args == "-i" || -z $args ]] || echo "$$")
	nl=$(wc -l <"$W/b.err")
	# (with -p, a JSON error object on stdout too, as for every command)
	[[ ! -s $W/b.out || ($args == --pretty && $(jq -r .exit "$W/b.out" 2>/dev/null) == 2) ]]
	check "watch ${args:-(no PID)}: exit 2, one line" "$([[ $HS_RC -eq 2 && $nl -eq 1 && $? -eq 0 ]]; echo $?)" \
		"exit $HS_RC, $nl lines: $(cat "$W/b.err" "$W/b.out")"
done

summary
