#!/usr/bin/env bash
# Bad input: each case gets its documented exit code (DESIGN.md), exactly one
# line on stderr, nothing on stdout, no core file, and leaves any target
# alive, running and untraced.   usage: HEAPSCOPE=build/heapscope tests/e2e/bad_input.sh
set -uo pipefail
SUITE=bad_input
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/../lib.sh"
need_file "$HEAPSCOPE"

WORK=$(new_tmpdir)
HS_BIN=$HEAPSCOPE

# expect NAME WANT_RC [TARGET_PID] -- CMD...: runs CMD in an empty directory.
expect() {
	local name=$1 want=$2 target=$3
	shift 4
	local run=$WORK/run out=$WORK/out err=$WORK/err rc=0 lines
	rm -rf "$run" && mkdir -p "$run" && chmod 777 "$run"
	(cd "$run" && exec timeout -k 5 60 "$@") >"$out" 2>"$err" || rc=$?
	if [[ $rc -eq $want ]]; then pass "$name: exit $want"; else
		fail "$name: exit $want" "exit $rc" "$err"; fi
	lines=$(wc -l <"$err")
	if [[ $lines -eq 1 && -n $(head -c 1 "$err") ]]; then pass "$name: one line on stderr"; else
		fail "$name: one line on stderr" "$lines lines" "$err"; fi
	if [[ ! -s $out ]]; then pass "$name: nothing on stdout"; else
		fail "$name: nothing on stdout" "stdout has $(wc -c <"$out") bytes" "$out"; fi
	if [[ -z $(ls -A "$run") ]]; then pass "$name: nothing dumped"; else
		fail "$name: nothing dumped" "$(ls -A "$run")"; fi
	if [[ -n $target ]]; then alive "$name: target alive, running, untraced" "$target"; fi
}

echo "== garbage arguments (exit 2)"
expect "no arguments" 2 "" -- "$HS_BIN"
expect "attach" 2 "" -- "$HS_BIN" attach
expect "attach abc" 2 "" -- "$HS_BIN" attach abc
expect "attach -1" 2 "" -- "$HS_BIN" attach -1
expect "attach 12abc" 2 "" -- "$HS_BIN" attach 12abc
expect "attach 99999999999999999999" 2 "" -- "$HS_BIN" attach 99999999999999999999
expect "--bogus" 2 "" -- "$HS_BIN" --bogus
expect "attach --format=xml 1" 2 "" -- "$HS_BIN" attach --format=xml 1

echo "== --version, --help (exit 0)"
for a in --version --help; do
	rc=0
	"$HS_BIN" "$a" >"$WORK/out" 2>"$WORK/err" || rc=$?
	if [[ $rc -eq 0 && -s $WORK/out && ! -s $WORK/err ]]; then pass "$a: exit 0, stdout only"; else
		fail "$a: exit 0, stdout only" "exit $rc, stdout $(wc -c <"$WORK/out") bytes, stderr $(wc -c <"$WORK/err") bytes" "$WORK/err"
	fi
done

echo "== a pid that does not exist (exit 3)"
true &
gone=$!
wait "$gone" 2>/dev/null
while [[ -e /proc/$gone ]]; do gone=$((gone + 7919)); done
expect "pid $gone does not exist" 3 "" -- "$HS_BIN" attach "$gone"

echo "== a kernel thread (exit 4)"
kt=
if [[ $(cat /proc/2/comm 2>/dev/null) == kthreadd ]]; then
	kt=2
else
	# any process with PF_KTHREAD (0x00200000) in its flags
	for s in /proc/[0-9]*/stat; do
		f=$(sed 's/.*) //' "$s" 2>/dev/null | awk '{print $7}')
		if [[ -n $f ]] && (((f & 0x200000) != 0)); then
			kt=${s#/proc/}
			kt=${kt%/stat}
			break
		fi
	done
fi
if [[ -n $kt ]]; then
	expect "kernel thread pid $kt ($(cat "/proc/$kt/comm"))" 4 "" -- "$HS_BIN" attach "$kt"
else
	skip "a kernel thread (exit 4)" "no kernel thread is visible in this pid namespace (a container's own)"
fi

echo "== no permission (exit 3)"
if start_fixture classic 1000; then
	target=$FIX_PID
	# nobody must be able to run the binary: a copy in a 755 directory
	pdir=$(new_tmpdir)
	chmod 755 "$pdir"
	cp "$HS_BIN" "$pdir/heapscope"
	chmod 755 "$pdir/heapscope"
	expect "attach as nobody to a root process" 3 "$target" -- \
		setpriv --reuid=65534 --regid=65534 --clear-groups "$pdir/heapscope" attach "$target"
	stop_fixture "$target"
fi

echo "== a zombie (exit 3)"
holder_out=$WORK/holder
# the shell forks a child that exits at once, then becomes a sleep that never reaps it
sh -c 'sleep 0 & echo $! ; exec sleep 1000' >"$holder_out" &
holder=$!
bg_track "$holder"
zombie=
for ((i = 0; i < 250; i++)); do
	zombie=$(head -n 1 "$holder_out" 2>/dev/null)
	[[ -n $zombie && $(proc_state "$zombie") == Z ]] && break
	sleep 0.02
done
if [[ -n $zombie && $(proc_state "$zombie") == Z ]]; then
	expect "zombie pid $zombie" 3 "" -- "$HS_BIN" attach "$zombie"
else
	fail "zombie" "could not make one (pid '${zombie}')"
fi
kill_ours KILL "$holder"

echo "== a process already traced (exit 3)"
sleep 1000 &
sleeper=$!
bg_track "$sleeper"
strace -o /dev/null -p "$sleeper" 2>/dev/null &
tracer=$!
bg_track "$tracer"
for ((i = 0; i < 250; i++)); do
	tp=$(awk '/^TracerPid:/ {print $2}' "/proc/$sleeper/status")
	[[ $tp == "$tracer" ]] && break
	sleep 0.02
done
if [[ $tp == "$tracer" ]]; then
	expect "target traced by strace" 3 "" -- "$HS_BIN" attach "$sleeper"
	tp=$(awk '/^TracerPid:/ {print $2}' "/proc/$sleeper/status")
	if [[ $tp == "$tracer" ]]; then pass "strace still holds the target"; else
		fail "strace still holds the target" "TracerPid is now $tp"; fi
else
	fail "target traced by strace" "strace did not attach (TracerPid $tp)"
fi
kill_ours TERM "$tracer" || kill_ours KILL "$tracer"
alive "traced target: alive, running, untraced after strace left" "$sleeper"
kill_ours KILL "$sleeper"

echo "== the target exits during the read (exit 6; 0 or 3 if the race goes the other way)"
# exiter builds a 512 MiB heap (about 100-150 ms of stopped reading). Some
# rounds let it exit by itself shortly after ready, most SIGKILL it while
# heapscope is reading. Each round must end with 0, 3 or 6; 6 at least once.
got6=0
rounds=0
for mode in exit:0 exit:40 kill:70 kill:100 kill:130 kill:160 kill:200 kill:250; do
	kind=${mode%%:*}
	ms=${mode#*:}
	if [[ $kind == exit ]]; then
		start_fixture exiter 512 "$ms" || continue
	else
		start_fixture exiter 512 600000 || continue
	fi
	victim=$FIX_PID
	rc=0
	timeout -k 5 60 "$HS_BIN" attach --json "$victim" >"$WORK/out" 2>"$WORK/err" &
	hsp=$!
	if [[ $kind == kill ]]; then
		sleep "$(printf '0.%03d' "$ms")"
		kill -KILL "$victim" 2>/dev/null
	fi
	wait "$hsp" || rc=$?
	rounds=$((rounds + 1))
	case $rc in
	0) pass "exiter $mode ms: exit $rc (finished first)" ;;
	3 | 6)
		[[ $rc == 6 ]] && got6=$((got6 + 1))
		lines=$(wc -l <"$WORK/err")
		if [[ $lines -eq 1 ]]; then pass "exiter $mode ms: exit $rc, one line on stderr"; else
			fail "exiter $mode ms: exit $rc, one line on stderr" "$lines lines" "$WORK/err"; fi
		;;
	*) fail "exiter $mode ms: exit 0, 3 or 6" "exit $rc" "$WORK/err" ;;
	esac
	if grep -qE 'Sanitizer|runtime error:' "$WORK/err"; then
		fail "exiter $mode ms: no sanitizer report" "see stderr" "$WORK/err"
	fi
	stop_fixture "$victim"
done
if [[ $got6 -ge 1 ]]; then pass "target exits during the read: exit 6 in $got6 of $rounds rounds"; else
	fail "target exits during the read: exit 6 at least once" "0 of $rounds rounds gave 6"; fi

summary
