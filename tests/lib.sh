# shellcheck shell=bash disable=SC2034
# Shared helpers for the end-to-end suites (sourced, never run).
#   HEAPSCOPE   the binary under test (default build/heapscope)
#   HS_RESULTS  if set, "PASSED FAILED SKIPPED" is appended to it by summary()
# Three outcomes, counted apart: pass, fail, skip. A skip is a check not
# made, says why, and is never counted as a pass. Where this machine can
# provide what a check needs (make deps, make matrix), its absence is a
# fail, not a skip: use skip only for what no setup here can give.
# Every fixture started here is killed (by pid) and every temp dir removed on
# exit, whatever happens.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FIXDIR=$ROOT/build/fixtures
# The glibc matrix: HS_GLIBC=2.31|2.41|2.43 runs every fixture under that
# version's own ld.so (fixtures built once against the 2.31 sysroot) with
# its debug files; HS_ATTACH_ARGS (e.g. --no-debuginfo) go to every attach.
HS_GLIBC=${HS_GLIBC:-}
HS_ATTACH_ARGS=${HS_ATTACH_ARGS:-}
FIXRUN=()
if [[ -n $HS_GLIBC && $HS_GLIBC != host && $HS_GLIBC != 2.36 ]]; then
	FIXDIR=$ROOT/build/fixtures-matrix
	FIXRUN=("$ROOT/tests/matrix/run.sh" "$HS_GLIBC")
	HS_DEBUGINFO_PATH=$("$ROOT/tests/matrix/debuginfo.sh" "$HS_GLIBC")
	export HS_DEBUGINFO_PATH
fi
HEAPSCOPE=${HEAPSCOPE:-$ROOT/build/heapscope}
case $HEAPSCOPE in /*) ;; *) HEAPSCOPE=$PWD/$HEAPSCOPE ;; esac
# Sanitizer runs: an ASan/UBSan report must fail the run, loudly, on stderr.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:exitcode=86}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:exitcode=87}

PASSED=0
FAILED=0
SKIPPED=0
FIX_PIDS=()
TMP_DIRS=()
SUITE=${SUITE:-$(basename "$0" .sh)}

pass() {
	PASSED=$((PASSED + 1))
	echo "  ok    $1"
}

# fail NAME REASON [DETAIL-FILE-OR-TEXT...]: one FAIL line, then indented detail.
fail() {
	FAILED=$((FAILED + 1))
	echo "  FAIL  $1: $2"
	shift 2
	local d
	for d in "$@"; do
		if [[ -f $d ]]; then
			head -n 40 -- "$d" | sed 's/^/        | /'
		elif [[ -n $d ]]; then
			printf '%s\n' "$d" | head -n 40 | sed 's/^/        | /'
		fi
	done
}

# skip NAME REASON: NAME was not checked, because REASON (required: a skip
# that does not say why is a failure).
skip() {
	if [[ -z ${2:-} ]]; then
		fail "$1" "skipped without a reason"
		return
	fi
	SKIPPED=$((SKIPPED + 1))
	echo "  skip  $1: $2"
}

# check NAME CONDITION-EXIT-STATUS REASON: pass or fail from a status.
# STATUS must be a number: bash's [[ "" -eq 0 ]] (or a word) is true, and a
# check that cannot fail is worse than none.
check() {
	if [[ ! ${2:-} =~ ^[0-9]+$ ]]; then
		fail "$1" "check given status '${2:-}', not a number"
	elif [[ $2 -eq 0 ]]; then pass "$1"; else fail "$1" "${3:-}"; fi
}

new_tmpdir() {
	local d
	d=$(mktemp -d /tmp/heapscope-e2e.XXXXXX)
	TMP_DIRS+=("$d")
	printf '%s\n' "$d"
}

# ours PID: PID is still a child of this shell (not a recycled pid): of the
# script ($$) or of the subshell asking ($BASHPID), e.g. a fixture started
# inside $(...) or <(...), whose parent is that subshell, not $$.
ours() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	s=${s#* }
	[[ ${s%% *} == "$$" || ${s%% *} == "$BASHPID" ]]
}

# bg_track PID: a background child we will kill: disowned (so bash neither
# reports "Killed" nor needs a wait; it still reaps it) and remembered.
bg_track() {
	FIX_PIDS+=("$1")
	disown "$1" 2>/dev/null || true
}

# kill_ours SIG PID: signal PID only while it is still our child; wait (5 s)
# for it to be gone.
kill_ours() {
	local sig=$1 pid=$2 i
	ours "$pid" || return 0
	kill "-$sig" "$pid" 2>/dev/null || true
	for ((i = 0; i < 250; i++)); do
		ours "$pid" || return 0
		sleep 0.02
	done
	return 1
}

cleanup() {
	local p
	for p in "${FIX_PIDS[@]}"; do
		kill_ours KILL "$p"
	done
	for p in "${TMP_DIRS[@]}"; do
		[[ -n $p && $p == /tmp/heapscope-e2e.* ]] && rm -rf -- "$p"
	done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start_fixture NAME [ARGS...]: starts build/fixtures/NAME in a fresh temp dir
# and waits (20 s, or $READY_TIMEOUT) for DIR/ready. Sets FIX_PID, FIX_DIR. Returns 1 on failure
# (after recording a FAIL). The fixture's stdout/stderr go to DIR/stdout and
# DIR/stderr, which must stay empty.
start_fixture() {
	local name=$1
	shift
	FIX_DIR=$(new_tmpdir)
	mkdir -p "$FIX_DIR/a" "$FIX_DIR/b"
	"${FIXRUN[@]}" "$FIXDIR/$name" "$FIX_DIR" "$@" >"$FIX_DIR/stdout" 2>"$FIX_DIR/stderr" &
	FIX_PID=$!
	bg_track "$FIX_PID"
	if ! wait_ready "$FIX_DIR" "$FIX_PID" "${READY_TIMEOUT:-20}"; then
		fail "start $name $*" "$WAIT_REASON" "$FIX_DIR/stderr"
		return 1
	fi
	return 0
}

# wait_ready DIR PID SECONDS
wait_ready() {
	local dir=$1 pid=$2 secs=$3 i got
	WAIT_REASON=
	for ((i = 0; i < secs * 50; i++)); do
		if [[ -s $dir/ready ]]; then
			got=$(<"$dir/ready")
			if [[ $got != "$pid" ]]; then
				WAIT_REASON="ready holds pid $got, expected $pid"
				return 1
			fi
			return 0
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			WAIT_REASON="fixture exited before ready"
			return 1
		fi
		sleep 0.02
	done
	WAIT_REASON="no $dir/ready after ${secs}s"
	return 1
}

# stop_fixture PID: SIGTERM (its default action ends a fixture), SIGKILL if
# that did not work within 5 s.
stop_fixture() {
	kill_ours TERM "$1" || kill_ours KILL "$1"
}

# proc_state PID: the state letter of /proc/PID/stat (after the last ')').
proc_state() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	printf '%s\n' "${s%% *}"
}

# check_alive PID: exists, no thread stopped (T/t) or dead, no tracer.
# Polls up to 1 s for the state to settle. Sets ALIVE_REASON on failure.
# Anything but exactly one pid is a misuse, recorded as a failure here so
# that it shows even where the caller ignores the result.
check_alive() {
	if [[ $# -ne 1 || ! ${1:-} =~ ^[1-9][0-9]*$ ]]; then
		ALIVE_REASON="check_alive wants one pid, got: $*"
		fail "check_alive ${*:-(nothing)}" "$ALIVE_REASON"
		return 1
	fi
	local pid=$1 i t st tp bad
	for ((i = 0; i < 50; i++)); do
		bad=
		if [[ ! -d /proc/$pid ]]; then
			ALIVE_REASON="process $pid does not exist"
			return 1
		fi
		for t in /proc/"$pid"/task/*; do
			st=$(proc_state "$pid/task/${t##*/}") || continue
			tp=$(awk '/^TracerPid:/ {print $2}' "$t/status" 2>/dev/null)
			case $st in
			T | t) bad="thread ${t##*/} state $st (stopped)" ;;
			Z | X) bad="thread ${t##*/} state $st (dead)" ;;
			esac
			if [[ -n $tp && $tp != 0 ]]; then
				bad="thread ${t##*/} traced by $tp"
			fi
			[[ -n $bad ]] && break
		done
		[[ -z $bad ]] && return 0
		sleep 0.02
	done
	ALIVE_REASON=$bad
	return 1
}

# alive NAME PID: records pass/fail for check_alive. The only way a suite
# should ask check_alive: a bare `check_alive PID` records nothing, and
# anything but a pid (a name, nothing) is a failure here, not a pass.
alive() {
	if [[ $# -ne 2 || ! ${2:-} =~ ^[1-9][0-9]*$ ]]; then
		fail "${1:-alive}" "alive NAME PID called with '${2:-}' (not a pid)"
		return 1
	fi
	if check_alive "$2"; then pass "$1"; else
		fail "$1" "$ALIVE_REASON"
		return 1
	fi
}

# hs OUT ERR ARGS...: runs heapscope with a 120 s bound; sets HS_RC.
hs() {
	local out=$1 err=$2
	shift 2
	HS_RC=0
	if [[ -n $HS_ATTACH_ARGS && ${1:-} == attach ]]; then
		shift
		# shellcheck disable=SC2086 # a list of options, split on purpose
		set -- attach $HS_ATTACH_ARGS "$@"
	fi
	local target="${*: -1}" before=
	[[ ${1:-} == attach ]] && before=$(harm_probe "$target")
	timeout -k 5 120 "$HEAPSCOPE" "$@" >"$out" 2>"$err" || HS_RC=$?
	harm_check "$target" "$before" "$*"
}

# Do no harm: no heapscope run may grow its target (issue 11). harm_probe
# PID prints the target's anonymous RSS and RSS (smaps_rollup, kB), the CPU
# time its threads have used (schedstat, ns) and which they are (the sum
# of their ids).
# harm_check PID BEFORE WHAT fails the run when Anonymous grew by more than
# HS_RSS_SLACK_KIB (16) while the target itself did not run: one that ran
# 20 ms or more, or whose threads came or went, allocates on its own, and
# that run proves nothing either way (a quiescent target uses a few ms
# while it is stopped and let go). Anonymous, not Rss: the unwinder reads
# the target's .eh_frame with PTRACE_PEEKDATA, which maps page-cache pages
# of libc once (RssFile). HS_RSS_LOG, if set, gets a line a run:
# suite pid anon0 anon1 rss0 rss1 ran_ns (-1: threads came or went).
harm_probe() {
	[[ $1 =~ ^[0-9]+$ && -r /proc/$1/smaps_rollup ]] || return 0
	local ns
	# the threads as a set (the sum of their ids): one that ended and one
	# that started in its place leave the count as it was
	ns="$(cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{n += $1} END {printf "%.0f", n}') $(
		find /proc/"$1"/task -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | awk '{s += $1} END {printf "%d", s}')"
	awk -v ns="$ns" '/^Anonymous:/ {a = $2} /^Rss:/ {r = $2} END {if (r != "") printf "%d %d %s\n", a, r, ns}' \
		"/proc/$1/smaps_rollup" 2>/dev/null
}
harm_check() {
	[[ -n $2 ]] || return 0
	local after a0 r0 n0 t0 a1 r1 n1 t1 ran
	after=$(harm_probe "$1")
	[[ -n $after ]] || return 0 # gone: the test of an exit says so
	read -r a0 r0 n0 t0 <<<"$2"
	read -r a1 r1 n1 t1 <<<"$after"
	if [[ ! "$a0 $r0 $n0 $t0 $a1 $r1 $n1 $t1" =~ ^[0-9]+( [0-9]+){7}$ ]]; then
		fail "heapscope $3: pid $1's RSS measured" "unreadable: '$2' then '$after'"
		return 0
	fi
	ran=$((n1 - n0))
	((t1 != t0 || ran < 0)) && ran=-1 # threads came or went
	if [[ -n ${HS_RSS_LOG:-} ]]; then
		echo "$SUITE $1 $a0 $a1 $r0 $r1 $ran" >>"$HS_RSS_LOG"
	fi
	if ((ran >= 0 && ran < 20000000 && a1 - a0 > ${HS_RSS_SLACK_KIB:-16})); then
		fail "heapscope $3: pid $1's RSS as it was" "Anonymous ${a0} -> ${a1} kB, Rss ${r0} -> ${r1} kB"
	fi
}

summary() {
	echo "$SUITE: $PASSED passed, $FAILED failed, $SKIPPED skipped"
	if [[ -n ${HS_RESULTS:-} ]]; then
		echo "$PASSED $FAILED $SKIPPED" >>"$HS_RESULTS"
	fi
	[[ $FAILED -eq 0 ]]
}

need_file() {
	if [[ ! -x $1 ]]; then
		echo "missing $1 (run make)" >&2
		exit 2
	fi
}

# anon_kib PID: the process's anonymous RSS (smaps_rollup), in kB.
anon_kib() { awk '/^Anonymous:/ {print $2}' "/proc/$1/smaps_rollup" 2>/dev/null; }

# stays NAME PID BASE_KIB SLACK_KIB: the target's Anonymous is within SLACK of BASE.
stays() {
	local now
	now=$(anon_kib "$2")
	if [[ -n $now ]] && ((now - $3 <= $4)); then
		pass "$1: anonymous RSS $3 -> $now kB (+$((now - $3)), at most +$4)"
	else
		fail "$1: anonymous RSS stays within $4 kB" "$3 -> ${now:-gone} kB"
	fi
}

# exact_format NAME PID DIR FORMAT FILE: `attach --format=FORMAT` equals
# the fixture's own DIR/FILE (glibc's malloc_stats() or malloc_info()).
exact_format() {
	hs "$3/hs.$4" "$3/hs.$4.err" attach --format="$4" "$2"
	if [[ $HS_RC -eq 0 ]] && cmp -s "$3/$5" "$3/hs.$4"; then
		pass "$1: $4 byte-identical to glibc's"
	else
		fail "$1: $4 byte-identical to glibc's" "exit $HS_RC" "$3/hs.$4.err" \
			"$(diff "$3/$5" "$3/hs.$4" | head -n 12)"
	fi
}

# exact_stats NAME PID DIR: --format=malloc-stats equals the fixture's own.
exact_stats() { exact_format "$1" "$2" "$3" malloc-stats malloc_stats.txt; }
