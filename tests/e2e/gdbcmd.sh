#!/usr/bin/env bash
# The gdb command (issue 12 item 6): cmd/heapscope-gdb.py sourced in gdb,
# `heapscope [OPTIONS]` on gdb's current inferior, run in gdb's batch mode:
# on a live fixture gdb holds (malloc-stats byte-identical to glibc's own,
# JSON naming gdb as the tracer, the process running on untraced once gdb
# detaches) and on the core of a fixture gdb has loaded (malloc-stats
# byte-identical to what the process printed); `help heapscope`; a bad
# option is a gdb error of one line (heapscope's), no Python traceback;
# `make install` puts the script in PREFIX/share/heapscope/.
#   usage: HEAPSCOPE=build/heapscope tests/e2e/gdbcmd.sh
set -uo pipefail
SUITE=gdbcmd
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/../lib.sh"
need_file "$HEAPSCOPE"
SCRIPT=$ROOT/cmd/heapscope-gdb.py
[[ -f $SCRIPT ]] || { echo "missing $SCRIPT" >&2; exit 2; }
export HEAPSCOPE

if ! command -v gdb >/dev/null; then
	fail "gdb present" "gdb is a dependency (make deps) and is missing"
	summary
	exit
fi

# gdbrun OUT ARGS...: gdb in batch mode with the script sourced; what the
# commands print between "log" markers goes to OUT.log (gdb's logging:
# the console as the user sees it), the rest to OUT.
GDB=(timeout -k 5 120 gdb -nx -batch -iex "set auto-load off"
	-iex "set debug-file-directory ${HS_DEBUGINFO_PATH:-/usr/lib/debug}" -ex "source $SCRIPT")
logged() { # logged FILE COMMAND: gdb -ex arguments logging COMMAND's output to FILE
	LOGGED=(-ex "set logging file $1" -ex "set logging redirect on" -ex "set logging overwrite on"
		-ex "set logging enabled on" -ex "$2" -ex "set logging enabled off")
}

echo "== a live process gdb holds"
if start_fixture threads; then
	pid=$FIX_PID d=$FIX_DIR
	logged "$d/ms" "heapscope --format=malloc-stats"
	ms=("${LOGGED[@]}")
	logged "$d/json" "heapscope --json"
	js=("${LOGGED[@]}")
	logged "$d/help" "help heapscope"
	hp=("${LOGGED[@]}")
	"${GDB[@]}" -ex "attach $pid" "${ms[@]}" "${js[@]}" "${hp[@]}" -ex "heapscope --no-such-option" \
		-ex "shell awk '/^TracerPid:/ {print \$2}' /proc/$pid/status > $d/tracer" -ex detach >"$d/gdb.out" 2>&1
	if [[ -s $d/ms ]] && cmp -s "$d/ms" "$d/malloc_stats.txt"; then
		pass "live: heapscope --format=malloc-stats in gdb is byte-identical to glibc's malloc_stats()"
	else
		fail "live: malloc-stats byte-identical to glibc's" "$(diff "$d/malloc_stats.txt" "$d/ms" 2>&1 | head -n 8)" "$d/gdb.out"
	fi
	tracer=$(cat "$d/tracer" 2>/dev/null)
	by=$(jq -r '"\(.snapshot.stopped_by.pid) \(.snapshot.stopped_by.name) \(.snapshot.consistent)"' "$d/json" 2>/dev/null)
	check "live: heapscope --json reads it as gdb (pid $tracer) holds it, consistent" \
		"$([[ -n $tracer && $by == "$tracer gdb true" ]]; echo $?)" "got '$by'"
	check "live: help heapscope describes the command" \
		"$(grep -q '^Report on the malloc heap of the process gdb holds, or of the core it has loaded' "$d/help"; echo $?)" \
		"$(head -n 3 "$d/help")"
	check "live: a bad option is one gdb error line, heapscope's" \
		"$(grep -qx "heapscope: unknown option '--no-such-option'.*" "$d/gdb.out" || grep -q "^heapscope: .*no-such-option" "$d/gdb.out"; echo $?)" \
		"$(grep -i 'heapscope:' "$d/gdb.out" | head -n 3)"
	check "live: no Python traceback" "$(! grep -qE 'Traceback|Python Exception' "$d/gdb.out"; echo $?)" \
		"$(grep -E -A3 'Traceback|Python Exception' "$d/gdb.out" | head -n 6)"
	alive "live: runs on, untraced, once gdb detaches" "$pid"
	stop_fixture "$pid"
fi

echo "== a core gdb has loaded"
if start_fixture classic; then
	pid=$FIX_PID d=$FIX_DIR
	exe=$(readlink "/proc/$pid/exe")
	if timeout -k 5 120 gdb -nx -batch -iex "set auto-load off" -ex "attach $pid" -ex "gcore $d/core" -ex detach \
		>"$d/gcore.out" 2>&1 && [[ -s $d/core ]]; then
		stop_fixture "$pid"
		logged "$d/ms" "heapscope --format=malloc-stats"
		"${GDB[@]}" -ex "file $exe" -ex "core-file $d/core" "${LOGGED[@]}" >"$d/gdb.out" 2>&1
		if [[ -s $d/ms ]] && cmp -s "$d/ms" "$d/malloc_stats.txt"; then
			pass "core: heapscope --format=malloc-stats in gdb on the core is byte-identical to the process's own"
		else
			fail "core: malloc-stats byte-identical" "$(diff "$d/malloc_stats.txt" "$d/ms" 2>&1 | head -n 8)" "$d/gdb.out"
		fi
		check "core: no Python traceback" "$(! grep -qE 'Traceback|Python Exception' "$d/gdb.out"; echo $?)" \
			"$(grep -E -A3 'Traceback|Python Exception' "$d/gdb.out" | head -n 6)"
	else
		fail "core: gcore of the fixture" "no core written" "$d/gcore.out"
		stop_fixture "$pid"
	fi
fi

echo "== no inferior"
d=$(new_tmpdir)
"${GDB[@]}" -ex "heapscope" >"$d/gdb.out" 2>&1
check "no inferior: a gdb error that says what to do" \
	"$(grep -q '^heapscope: no process and no core' "$d/gdb.out" && ! grep -qE 'Traceback|Python Exception' "$d/gdb.out"; echo $?)" \
	"$(head -n 3 "$d/gdb.out")"
HEAPSCOPE=/nonexistent/heapscope "${GDB[@]}" -ex "heapscope" >"$d/gdb2.out" 2>&1
check "a heapscope that is not there: a gdb error naming it" \
	"$(grep -q "^heapscope: HEAPSCOPE=/nonexistent/heapscope is not an executable file" "$d/gdb2.out" && ! grep -qE 'Traceback|Python Exception' "$d/gdb2.out"; echo $?)" \
	"$(head -n 3 "$d/gdb2.out")"

echo "== make install"
d=$(new_tmpdir)
if make -s -C "$ROOT" install DESTDIR="$d" PREFIX=/usr/local >"$d/make.out" 2>&1 &&
	cmp -s "$SCRIPT" "$d/usr/local/share/heapscope/heapscope-gdb.py"; then
	pass "make install puts heapscope-gdb.py in PREFIX/share/heapscope/"
else
	fail "make install puts heapscope-gdb.py in PREFIX/share/heapscope/" "$(ls -R "$d" 2>&1 | head -n 8)" "$d/make.out"
fi

summary
