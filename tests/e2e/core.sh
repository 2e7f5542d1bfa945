#!/usr/bin/env bash
# `heapscope core`: a fixture's core, read after the fixture is gone, gives
# byte-identical malloc_stats()/malloc_info() to what the live process
# printed itself (glibc's own oracle), with and without debug symbols;
# --leaks on the leak fixture's core finds exactly its leaks; a truncated
# core, a file that is not ELF, an ELF file that is not a core, and a core
# whose libc cannot be found give one clear line and exit 2 or 4.
# Cores are taken with gdb's gcore, and once by the kernel when
# core_pattern writes a plain file (never changed here).
#   usage: HEAPSCOPE=build/heapscope tests/e2e/core.sh [FILTER]
set -uo pipefail
SUITE=core
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/../lib.sh"
need_file "$HEAPSCOPE"
FILTER=${1:-}

if ! command -v gdb >/dev/null; then
	fail "gdb present" "gdb is a dependency (make deps) and is missing"
	summary
	exit
fi

# sane NAME ERRFILE: no sanitizer report on stderr.
sane() {
	if grep -qE 'Sanitizer|runtime error:' "$2"; then
		fail "$1: no sanitizer report" "see stderr" "$2"
	fi
}

# core_of NAME [ARGS...]: starts the fixture, takes its core with gcore,
# and stops it. Sets CORE and FIX_DIR (the fixture's own oracle files).
core_of() {
	CORE=
	start_fixture "$@" || return 1
	local pid=$FIX_PID d=$FIX_DIR
	# attach's report of the live process, for same_as_attach
	hs "$d/live.json" "$d/live.json.err" attach --json --chunks --bins --compare "$pid"
	# gcore's own script, without the debug files and scripts gdb would load
	# for nothing (a third of its time)
	if ! timeout -k 5 120 gdb -nx -batch -iex "set auto-load off" -iex "set debug-file-directory /nonexistent" \
		-ex "attach $pid" -ex "gcore $d/core.$pid" -ex detach >"$d/gcore.out" 2>&1 || [[ ! -s $d/core.$pid ]]; then
		fail "$1: gcore of pid $pid" "no core written" "$d/gcore.out"
		stop_fixture "$pid"
		return 1
	fi
	stop_fixture "$pid"
	if kill -0 "$pid" 2>/dev/null; then
		fail "$1: fixture gone before its core is read" "pid $pid still there"
		return 1
	fi
	CORE=$d/core.$pid
	# gdb writes zeros for what it cannot read (a thread stack with guard
	# pages in it: glibc 2.43 on Linux 6.13+) and says so; a thread block
	# lost that way must be named by heapscope, not read as zeros.
	# (the vsyscall page, which no process can read, aside)
	TCB_LOST=
	local lost
	lost=$(grep 'Memory read failed' "$d/gcore.out" | grep -vc 'at 0xffffffffff600000')
	if [[ $lost -gt 0 ]]; then
		hs "$d/lost.json" "$d/lost.err" core --json "$CORE"
		if [[ $HS_RC -eq 5 ]] && jq -e '[.warnings[] | select(test("thread block at 0x[0-9a-f]+ is not in the core"))] | length > 0' \
			"$d/lost.json" >/dev/null 2>&1; then
			TCB_LOST=yes
			pass "$1: gdb could not read part of the process (${lost}x): heapscope names the thread block missing from the core, exit 5"
		else
			fail "$1: gdb could not read part of the process" "heapscope exit $HS_RC, no thread block named" "$d/gcore.out" "$d/lost.err"
		fi
	fi
}

# exact_core LABEL DIR CORE [OPTIONS...]: both glibc formats byte-identical.
exact_core() {
	local label=$1 d=$2 core=$3 fmt file
	shift 3
	for fmt in malloc-stats malloc-info; do
		file=malloc_stats.txt
		[[ $fmt == malloc-info ]] && file=malloc_info.xml
		hs "$d/core.$fmt" "$d/core.$fmt.err" core "$@" --format="$fmt" "$core"
		sane "$label $* $fmt" "$d/core.$fmt.err"
		if [[ ($HS_RC -eq 0 || ($HS_RC -eq 5 && -n $TCB_LOST)) && -s $d/core.$fmt ]] && cmp -s "$d/$file" "$d/core.$fmt"; then
			pass "$label core $*: $fmt byte-identical to the live process's glibc"
		else
			fail "$label core $*: $fmt byte-identical to the live process's glibc" "exit $HS_RC" \
				"$d/core.$fmt.err" "$(diff "$d/$file" "$d/core.$fmt" | head -n 12)"
		fi
	done
}

# json_core LABEL DIR CORE [OPTIONS...]: --json exits 0, names the core,
# stopped nothing (stopped_ms 0, no predicted stop, no budget: as the man
# page says) and counts the threads the core holds (one NT_PRSTATUS each).
json_core() {
	local label=$1 d=$2 core=$3 want got
	shift 3
	hs "$d/core.json" "$d/core.json.err" core "$@" --json "$core"
	sane "$label --json $*" "$d/core.json.err"
	want=$(readelf -n "$core" 2>/dev/null | grep -c 'NT_PRSTATUS')
	got=$(jq -r --arg c "$core" 'if .target.core == $c and .snapshot.consistent and .snapshot.stopped_ms == 0
		and .snapshot.predicted_stop_ms == null and .snapshot.max_stop_ms == null then .target.threads else "bad" end' \
		"$d/core.json" 2>/dev/null)
	if [[ ($HS_RC -eq 0 || ($HS_RC -eq 5 && -n $TCB_LOST)) && $got == "$want" && $want -ge 1 ]]; then
		pass "$label core $* --json: exit 0, the core named, nothing stopped, $want threads as its notes"
	else
		fail "$label core $* --json" "exit $HS_RC, threads '$got', notes $want" "$d/core.json.err"
	fi
}

# same_as_attach LABEL DIR CORE: the core's JSON report with --chunks,
# --bins and --compare equals attach's of the live process (itself proven
# against glibc by exact.sh), but for what a core cannot say: the CPUs
# (arena limit), residency, the process split, timings, the order of the
# threads; and the verdict.
same_as_attach() {
	local label=$1 d=$2 core=$3 norm
	if [[ -n $TCB_LOST ]]; then
		skip "$label core --json --chunks --bins --compare equals attach's" "gdb's core lacks a thread block (see above)"
		return
	fi
	hs "$d/cmp.json" "$d/cmp.err" core --json --chunks --bins --compare "$core"
	sane "$label core --chunks --bins --compare" "$d/cmp.err"
	# threads in tid order: a core lists them in its writer's order
	norm='del(.snapshot, .target.core, .process, .diagnosis) | .threads |= sort_by(.tid)
		| walk(if type == "object" then del(.resident_free_bytes, .trimmable_bytes) else . end)'
	if [[ $HS_RC -eq 0 ]] && jq -e . "$d/live.json" >/dev/null 2>&1 &&
		cmp -s <(jq -S "$norm" "$d/live.json") <(jq -S "$norm" "$d/cmp.json") &&
		[[ $(jq -r .diagnosis.verdict "$d/live.json") == $(jq -r .diagnosis.verdict "$d/cmp.json") ]]; then
		pass "$label core --json --chunks --bins --compare equals attach's of the live process (verdict $(jq -r .diagnosis.verdict "$d/cmp.json"))"
	else
		fail "$label core --json --chunks --bins --compare equals attach's" "exit $HS_RC" "$d/cmp.err" \
			"$(diff <(jq -S "$norm" "$d/live.json") <(jq -S "$norm" "$d/cmp.json") | head -n 20)"
	fi
}

run_case() {
	local label=$1
	shift
	[[ -n $FILTER && $label != *$FILTER* ]] && return 0
	echo "== $label (at ${SECONDS}s)"
	core_of "$@" || return 0
	local d=$FIX_DIR mode
	for mode in "" --no-debuginfo; do
		# shellcheck disable=SC2086 # one option or none
		exact_core "$label" "$d" "$CORE" $mode
	done
	json_core "$label" "$d" "$CORE"
	same_as_attach "$label" "$d" "$CORE"
	rm -f "$CORE"
}

run_case "fragmented" fragmented
run_case "threads (5 threads, 5 arenas)" threads
run_case "mmapped" mmapped
# gcore dumps every arena's whole 64 MiB reservation: 1 GB (arenas) and
# 2.6 GB (mmthreads) of core, 10 s or more each; CORE_ALL=1 adds them.
if [[ -n ${CORE_ALL:-} ]]; then
	run_case "arenas (25 threads)" arenas
	run_case "mmthreads (41 threads, mmapped chunks)" mmthreads
fi

# --- --leaks: exactly the leak fixture's leaks, by its own facts ---
facts() { awk -v k="$1" '$1 == k {print $2, $3}' "$2" | sort; }
# leaks_exact LABEL DIR CORE: --leaks=all finds exactly the fixture's
# leaked chunks (its facts.txt), with and without debug symbols.
leaks_exact() {
	local label=$1 d=$2 core=$3 mode n
	if [[ -n $TCB_LOST ]]; then
		skip "$label core --leaks=all exact" "gdb's core lacks a thread block (see above): that thread's tcache chunks cannot be told from leaks"
		return
	fi
	facts leaked "$d/facts.txt" >"$d/want"
	n=$(wc -l <"$d/want")
	for mode in "" --no-debuginfo; do
		# shellcheck disable=SC2086
		hs "$d/leaks.json" "$d/leaks.err" core $mode --leaks=all --json "$core"
		sane "$label core $mode --leaks" "$d/leaks.err"
		jq -r '.leaks.suspects[] | "\(.address) \(.size)"' "$d/leaks.json" 2>/dev/null | sort >"$d/found"
		if [[ $HS_RC -eq 0 && $n -gt 0 ]] && cmp -s "$d/want" "$d/found"; then
			pass "$label core $mode --leaks=all: exactly the fixture's $n leaked chunks"
		else
			fail "$label core $mode --leaks=all: exactly the fixture's leaks" \
				"exit $HS_RC; missed $(comm -23 "$d/want" "$d/found" | wc -l) of $n, $(comm -13 "$d/want" "$d/found" | wc -l) extra" \
				"$d/leaks.err"
		fi
	done
}
if [[ -z $FILTER || leaks == *$FILTER* ]]; then
	echo "== leaks"
	if core_of leaks; then
		d=$FIX_DIR
		exact_core "leaks" "$d" "$CORE"
		leaks_exact "leaks" "$d" "$CORE"
		# no libc to be found: one line, exit 4, what is missing and how to give it
		mkdir -p "$d/empty-root"
		hs "$d/nolibc.out" "$d/nolibc.err" core --sysroot="$d/empty-root" "$CORE"
		sane "core --sysroot=EMPTY" "$d/nolibc.err"
		if [[ $HS_RC -eq 4 && $(wc -l <"$d/nolibc.err") -eq 1 ]] &&
			grep -q 'libc.*build-id [0-9a-f]\{40\}.*not found.*--sysroot' "$d/nolibc.err"; then
			pass "core whose libc is not there: one line, exit 4, names the libc, its build-id and --sysroot"
		else
			fail "core whose libc is not there: one line, exit 4" "exit $HS_RC" "$d/nolibc.err"
		fi
		# --sysroot: the root the process ran in, here one holding only the
		# libc the core names (a container's): exact; another build of libc
		# at that path: refused by build-id, exit 4
		libc=$(sed -n 's/.*: its libc \(\/.*\) (build-id .*/\1/p' "$d/nolibc.err")
		if [[ -z $libc || ! -f $libc ]]; then
			fail "core --sysroot" "the libc the core maps is not named, or not here: '$libc'"
		else
			mkdir -p "$d/root${libc%/*}"
			cp "$libc" "$d/root$libc"
			hs "$d/sysroot.info" "$d/sysroot.err" core --sysroot="$d/root" --format=malloc-info "$CORE"
			sane "core --sysroot" "$d/sysroot.err"
			if [[ $HS_RC -eq 0 || ($HS_RC -eq 5 && -n $TCB_LOST) ]] && cmp -s "$d/malloc_info.xml" "$d/sysroot.info"; then
				pass "core --sysroot=ROOT holding only its libc: malloc-info byte-identical"
			else
				fail "core --sysroot=ROOT holding only its libc: malloc-info byte-identical" "exit $HS_RC" "$d/sysroot.err"
			fi
			other=
			for f in /usr/lib/x86_64-linux-gnu/libc.so.6 "${HEAPSCOPE_MATRIX:-/var/cache/heapscope-matrix}"/roots/*/usr/lib/x86_64-linux-gnu/libc.so.6; do
				[[ -f $f ]] && ! cmp -s "$f" "$libc" && other=$f && break
			done
			if [[ -z $other ]]; then
				fail "core --sysroot with another libc build" "no other libc.so.6 on this machine (make matrix)"
			else
				cp "$other" "$d/root$libc"
				hs "$d/other.out" "$d/other.err" core --sysroot="$d/root" "$CORE"
				if [[ $HS_RC -eq 4 && $(wc -l <"$d/other.err") -eq 1 ]] && grep -q 'another build (its build-id differs)' "$d/other.err"; then
					pass "core --sysroot with another build of libc at its path: refused by build-id, one line, exit 4"
				else
					fail "core --sysroot with another build of libc: refused by build-id" "exit $HS_RC" "$d/other.err"
				fi
			fi
		fi
		# --- --sysroot is a root: an absolute link in it resolves inside
		# it, never on the host (the host's libc, the very build, would be
		# taken otherwise): not found, exit 4; a DIR that is missing or not
		# a directory: one line, exit 2 ---
		if [[ -n $libc && -f $libc ]]; then
			mkdir -p "$d/linkroot${libc%/*}"
			ln -s "$(readlink -f "$libc")" "$d/linkroot$libc"
			hs "$d/link.out" "$d/link.err" core --sysroot="$d/linkroot" "$CORE"
			sane "core --sysroot with a link to the host's libc" "$d/link.err"
			check "core --sysroot=ROOT whose libc is an absolute link to the host's: not followed out of ROOT, exit 4 ($(head -n 1 "$d/link.err"))" \
				"$([[ $HS_RC -eq 4 && $(wc -l <"$d/link.err") -eq 1 ]] && grep -q 'not found.*under' "$d/link.err"; echo $?)" \
				"exit $HS_RC: $(head -c 300 "$d/link.err")"
		fi
		for bad in "$d/no-such-dir" "$CORE"; do
			hs "$d/badroot.out" "$d/badroot.err" core --sysroot="$bad" "$CORE"
			check "core --sysroot=${bad##*/} (not a directory): one line, exit 2 ($(head -n 1 "$d/badroot.err"))" \
				"$([[ $HS_RC -eq 2 && $(wc -l <"$d/badroot.err") -eq 1 ]] && grep -q -- "--sysroot=$bad" "$d/badroot.err"; echo $?)" \
				"exit $HS_RC: $(head -c 300 "$d/badroot.err")"
		done
		# --- the EXECUTABLE operand is the program or a usage error: a
		# missing file, another build (both build-ids named): one line, exit 2
		hs "$d/noexe.out" "$d/noexe.err" core "$CORE" "$d/no-such-program"
		check "core CORE MISSING-EXECUTABLE: one line, exit 2 ($(head -n 1 "$d/noexe.err"))" \
			"$([[ $HS_RC -eq 2 && $(wc -l <"$d/noexe.err") -eq 1 && ! -s $d/noexe.out ]] && grep -q 'no-such-program.*not found' "$d/noexe.err"; echo $?)" \
			"exit $HS_RC: $(head -c 300 "$d/noexe.err")"
		want_id=$(readelf -n "$FIXDIR/leaks" | awk '/Build ID/ {print $3}')
		other_id=$(readelf -n "$FIXDIR/classic" | awk '/Build ID/ {print $3}')
		hs "$d/otherexe.out" "$d/otherexe.err" core "$CORE" "$FIXDIR/classic"
		# under the glibc matrix the kernel ran the version's ld.so, the
		# fixture its argument: the core's executable is that ld.so, whose
		# build-id readelf gives from the path the message names
		if [[ ${#FIXRUN[@]} -gt 0 && ${FIXRUN[0]} == */matrix/run.sh ]]; then
			exe=$(sed -n "s/.*that of the core's executable \([^ ]*\) is .*/\1/p" "$d/otherexe.err")
			want_id=$([[ -n $exe && -f $exe ]] && readelf -n "$exe" | awk '/Build ID/ {print $3}')
		fi
		check "core CORE OTHER-BUILD: one line, exit 2, both build-ids named ($(head -n 1 "$d/otherexe.err"))" \
			"$([[ $HS_RC -eq 2 && $(wc -l <"$d/otherexe.err") -eq 1 && -n $want_id && -n $other_id ]] &&
				grep "$other_id" "$d/otherexe.err" | grep -q "$want_id"; echo $?)" \
			"exit $HS_RC, build-ids $want_id $other_id: $(head -c 300 "$d/otherexe.err")"
		# --- a truncated core: one line, exit 4, "truncated" wherever it is
		# cut: inside its program headers, inside its notes, in its memory ---
		read -r noff nsz < <(readelf -lW "$CORE" | awk '$1 == "NOTE" {print $2, $5; exit}')
		notes_end=$((noff + nsz))
		for cut in 100 2000 $((notes_end - 8)) $(($(stat -c %s "$CORE") / 2)); do
			head -c "$cut" "$CORE" >"$d/truncated"
			hs "$d/trunc.out" "$d/trunc.err" core "$d/truncated"
			sane "truncated core" "$d/trunc.err"
			if [[ $HS_RC -eq 4 && $(wc -l <"$d/trunc.err") -eq 1 ]] && grep -q "is truncated: $cut bytes" "$d/trunc.err"; then
				pass "core cut at $cut bytes: one line, exit 4 ($(cat "$d/trunc.err"))"
			else
				fail "core cut at $cut bytes: one line, exit 4, truncated" "exit $HS_RC" "$d/trunc.err"
			fi
		done
		rm -f "$CORE" "$d/truncated"
	fi
fi

# --- a thread inside malloc when the core was taken, several frames
# down (stuck: blocked in write() inside malloc_stats): its stack is
# unwound from the core's registers, as attach unwinds a live one; the
# snapshot is not consistent, exit 5, the thread marked in_malloc ---
if [[ -z $FILTER || stuck == *$FILTER* ]]; then
	echo "== stuck"
	if core_of stuck; then
		d=$FIX_DIR
		tid=$(awk '$1 == "stuck_tid" {print $2}' "$d/facts.txt")
		hs "$d/stuck.json" "$d/stuck.err" core --json "$CORE"
		sane "stuck core" "$d/stuck.err"
		if [[ -n $TCB_LOST ]]; then
			# gdb wrote zeros for a thread's stack and block (above): the
			# stuck thread cannot be unwound from them
			check "stuck core: exit 5 (gdb lost a thread block)" "$([[ $HS_RC -eq 5 ]]; echo $?)" \
				"exit $HS_RC: $(head -c 400 "$d/stuck.err")"
			skip "stuck core: thread $tid in malloc, and no other" "gdb's core holds zeros for a thread's stack and block (glibc 2.43, guard pages in the stack)"
		else
		check "stuck core: exit 5, not consistent, thread $tid (blocked in write() inside malloc_stats) in malloc, and no other" \
			"$([[ $HS_RC -eq 5 && -n $tid ]] && jq -e --argjson t "$tid" '.snapshot.consistent == false
				and ([.threads[] | select(.in_malloc) | .tid] == [$t])' "$d/stuck.json" >/dev/null 2>&1; echo $?)" \
			"exit $HS_RC, tid '$tid': $(head -c 400 "$d/stuck.err")"
		fi
		rm -f "$CORE"
	fi
fi

# --- C++ types (fixtures/types.cc: vtables named by the executable's
# symbols): exact on a core; under a --sysroot that holds only libc the
# executable is found through the EXECUTABLE operand ---
# types_exact LABEL DIR JSON: every type's in-use chunks and bytes as the fixture's facts.
types_exact() {
	local label=$1 d=$2 j=$3 name chunks bytes got bad=0 n=0
	while read -r _ name chunks bytes; do
		n=$((n + 1))
		got=$(jq -r --arg t "$name" '[.types[] | select(.type == $t)] | if length == 1 then "\(.[0].in_use_chunks) \(.[0].in_use_bytes)" else "none" end' "$j")
		[[ $got == "$chunks $bytes" ]] || bad=$((bad + 1))
	done < <(grep '^type ' "$d/facts.txt")
	check "$label: all $n C++ types' in-use chunks and bytes as the fixture's facts" \
		"$([[ $n -gt 0 && $bad -eq 0 ]]; echo $?)" "$bad of $n differ: $(jq -c '[.types[] | {type, in_use_chunks, in_use_bytes}]' "$j" 2>&1 | head -c 400)"
}
if [[ -n $FILTER && types != *$FILTER* ]]; then
	:
elif [[ ! -x $FIXDIR/types ]]; then
	skip "types core" "C++ fixtures are not built for the matrix (tests/matrix/cc.sh builds C): run without HS_GLIBC"
else
	echo "== types"
	if core_of types; then
		d=$FIX_DIR
		hs "$d/types.json" "$d/types.err" core --json "$CORE"
		sane "types core" "$d/types.err"
		types_exact "types core" "$d" "$d/types.json"
		mkdir -p "$d/empty-root"
		hs "$d/nolibc.out" "$d/nolibc.err" core --sysroot="$d/empty-root" "$CORE"
		libc=$(sed -n 's/.*: its libc \(\/.*\) (build-id .*/\1/p' "$d/nolibc.err")
		mkdir -p "$d/root${libc%/*}"
		[[ -f $libc ]] && cp "$libc" "$d/root$libc"
		hs "$d/noexe.json" "$d/noexe.err" core --sysroot="$d/root" --json "$CORE"
		check "types core --sysroot=ROOT with libc only: no executable, no type named (exit $HS_RC)" \
			"$([[ $HS_RC -eq 0 ]] && jq -e '(.types // []) | length == 0' "$d/noexe.json" >/dev/null; echo $?)" \
			"$(head -c 300 "$d/noexe.err")"
		hs "$d/exe.json" "$d/exe.err" core --sysroot="$d/root" --json "$CORE" "$FIXDIR/types"
		sane "types core EXECUTABLE" "$d/exe.err"
		types_exact "types core --sysroot=ROOT CORE EXECUTABLE" "$d" "$d/exe.json"
		rm -f "$CORE"
	fi
fi

# --- files that are not cores: one line, exit 2 ---
if [[ -z $FILTER || notcore == *$FILTER* ]]; then
	echo "== not cores"
	d=$(new_tmpdir)
	printf 'not an ELF file\n' >"$d/text"
	: >"$d/empty"
	for f in "$d/text:not ELF" "$d/empty:not ELF" "$HEAPSCOPE:not a core" "$d/missing:cannot open"; do
		path=${f%%:*} want=${f#*:}
		hs "$d/out" "$d/err" core "$path"
		sane "core ${path##*/}" "$d/err"
		if [[ $HS_RC -eq 2 && $(wc -l <"$d/err") -eq 1 && ! -s $d/out ]] && grep -q "$want" "$d/err"; then
			pass "core ${path##*/}: one line, exit 2 ($(cat "$d/err"))"
		else
			fail "core ${path##*/}: one line, exit 2, '$want'" "exit $HS_RC" "$d/err"
		fi
	done
fi

# --- cores the kernel wrote (default coredump_filter: file-backed
# read-only pages are not in the core: they are read from the files, by
# build-id; PROT_NONE reservations are not dumped, so the cores are small
# and the many-arena fixtures cost little here) ---
# kernel_case LABEL FIXTURE: runs it in a directory of its own, where the
# kernel writes "core" on SIGSEGV (core_pattern is the plain "core").
kernel_case() {
	local label=$1 fixture=$2 k started limit pid d kcore nofile mode
	[[ -n $FILTER && $label != *$FILTER* ]] && return 0
	echo "== $label (at ${SECONDS}s)"
	k=$(new_tmpdir)
	limit=$(ulimit -S -c)
	ulimit -S -c unlimited
	cd "$k" && start_fixture "$fixture"
	started=$?
	cd "$ROOT" || exit 2
	ulimit -S -c "$limit"
	[[ $started -eq 0 ]] || return 0
	pid=$FIX_PID d=$FIX_DIR TCB_LOST=
	kill_ours SEGV "$pid"
	kcore=$k/core
	[[ -s $kcore ]] || kcore=$k/core.$pid
	if [[ ! -s $kcore ]] || ! readelf -h "$kcore" 2>/dev/null | grep -q 'CORE (Core file)'; then
		fail "$label: a core after SIGSEGV" "none in $k (core_pattern 'core', limit unlimited)" "$(ls -la "$k")"
		return 0
	fi
	nofile=$(readelf -lW "$kcore" | awk '$1 == "LOAD" && $5 == "0x000000" && $6 != "0x000000"' | wc -l)
	check "$label: the core lacks the pages of $nofile mappings (the default filter)" \
		"$([[ $nofile -gt 0 ]]; echo $?)" "every mapping dumped: not the default filter"
	for mode in "" --no-debuginfo; do
		# shellcheck disable=SC2086
		exact_core "$label" "$d" "$kcore" $mode
	done
	json_core "$label" "$d" "$kcore"
	[[ $fixture == leaks ]] && leaks_exact "$label" "$d" "$kcore"
	rm -f "$kcore"
}

pattern=$(cat /proc/sys/kernel/core_pattern)
if [[ -n $FILTER && kernel != *$FILTER* ]]; then
	:
elif [[ $pattern != core ]]; then
	skip "kernel cores" "core_pattern is '$pattern', not the plain 'core' file in the cwd (tests do not change it)"
elif [[ $(ulimit -H -c) != unlimited ]]; then
	skip "kernel cores" "the hard core size limit is $(ulimit -H -c): no core can be written"
else
	kernel_case "kernel arenas (25 threads)" arenas
	kernel_case "kernel mmthreads (41 threads, mmapped chunks)" mmthreads
	kernel_case "kernel leaks" leaks
fi

summary
