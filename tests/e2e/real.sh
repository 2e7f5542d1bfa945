#!/usr/bin/env bash
# Real programs (issue 11, item 3): Debian's own nginx, memcached, python3,
# PostgreSQL, a JVM and redis-server, each started here in a temporary
# directory, on 127.0.0.1 only, given a bounded real load, then read by
# heapscope and by glibc itself: gdb calls the target's own malloc_stats()
# (the text goes to the target's stderr, a file here) before and after
# heapscope runs. heapscope's --format=malloc-stats must be byte-identical to
# glibc's when the two readings agree (a quiescent target); when the target
# visibly moved between them, each number must lie between glibc's two, give
# or take 0.1%. Every heapscope run exits 0, the target's RSS (smaps_rollup)
# grows by at most 64 KiB during it, and the target is alive, running and
# untraced after it. redis-server links jemalloc: refused, exit 4, by name. A program whose package is missing is SKIPPED (make
# realdeps installs them), never passed.
# The verdict (issue 15 item 6): each program's first line, plain and with
# --leaks, is the one an on-call engineer would agree with (asserted per
# program, below), and its key numbers are glibc's and the kernel's: "from
# the system" is malloc_stats()'s total system bytes, "in use" its total
# in-use bytes less what heapscope counts as free in the tcaches and the
# arenas' overhead (glibc counts both as in use), and an RSS the first line
# names is smaps_rollup's within one page per mapping. The same for three C
# programs of ours whose truth is known by construction (fixtures/leak.c,
# fragleak.c, ownmap.c), against the malloc_stats() they print themselves.
#   usage: HEAPSCOPE=build/heapscope tests/e2e/real.sh [FILTER]
#   FILTER: nginx, memcached, python3, postgres, jvm, redis, cleak, cfrag
#   or cownmap
#   REAL_KEEP=DIR keeps each program's readings (glibc's, heapscope's, the
#   targets' stderr; not PostgreSQL's data) in DIR for a post-mortem.
set -uo pipefail
SUITE=real
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/../lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
REAL=$HERE/real
need_file "$HEAPSCOPE"
FILTER=${1:-}
RSS_SLACK_KB=64
# Debian's python3 runs the load clients (never a pyenv shim on PATH).
PY=/usr/bin/python3

# Until tests/lib.sh has its own skip helper: a skip is reported and never
# counted as passed.
if ! declare -F skip >/dev/null; then
	SKIPPED=0
	skip() {
		SKIPPED=$((SKIPPED + 1))
		echo "  SKIP  $1: $2"
	}
fi

info() { echo "  info  $*"; }

want() { [[ -z $FILTER || $1 == *"$FILTER"* ]]; }

# ---------------------------------------------------------------- processes

# A started daemon's children (nginx's workers, PostgreSQL's backends) are not
# ours: they are ended by pid, each recognised by its start time, after their
# parent was asked to stop.
TREES=()

starttime() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	awk '{print $20}' <<<"$s"
}

# stop_tree SIG PID: SIG to PID (our child) and 5 s for it to go (then
# SIGKILL); any child it had that is still there (same pid, same start time)
# after 5 s more gets SIGKILL.
stop_tree() {
	local sig=$1 pid=$2 c p s i kids=() keep=()
	for p in "${TREES[@]}"; do [[ $p != "$pid" ]] && keep+=("$p"); done
	TREES=("${keep[@]}")
	ours "$pid" || return 0
	for c in $(pgrep -P "$pid"); do
		s=$(starttime "$c") && kids+=("$c:$s")
	done
	kill_ours "$sig" "$pid" || kill_ours KILL "$pid"
	for c in "${kids[@]}"; do
		p=${c%%:*} s=${c#*:}
		for ((i = 0; i < 100; i++)); do
			[[ $(starttime "$p") == "$s" ]] || break
			sleep 0.05
		done
		if [[ $(starttime "$p") == "$s" ]]; then
			kill -KILL "$p" 2>/dev/null || true
		fi
	done
}

# tmpdir VAR: a fresh temp dir into VAR, removed at exit. (Not
# $(new_tmpdir): in a command substitution its TMP_DIRS+= is lost with the
# subshell, and the dir is never removed.)
tmpdir() {
	local t
	t=$(mktemp -d /tmp/heapscope-e2e.XXXXXX) || return 1
	TMP_DIRS+=("$t")
	printf -v "$1" '%s' "$t"
}

PSQL_FD=
real_cleanup() {
	local p
	[[ -n $PSQL_FD ]] && exec {PSQL_FD}>&-
	for p in "${TREES[@]}"; do
		stop_tree TERM "$p"
	done
	if [[ -n ${REAL_KEEP:-} ]]; then
		mkdir -p "$REAL_KEEP"
		for p in "${TMP_DIRS[@]}"; do
			tar -C "$p" --exclude=./data --exclude=./classes --exclude='./*.s.PGSQL*' --exclude=./psql.in \
				-cf - . 2>/dev/null | tar -C "$(mkdir -p "$REAL_KEEP/${p##*/}" && echo "$REAL_KEEP/${p##*/}")" -xf -
		done
		echo "readings kept in $REAL_KEEP"
	fi
}
trap 'real_cleanup; cleanup' EXIT

free_port() {
	"$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_port PORT PID SECONDS: something accepts on 127.0.0.1:PORT while PID lives.
wait_port() {
	local port=$1 pid=$2 secs=$3 i
	for ((i = 0; i < secs * 10; i++)); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

rss_kb() {
	awk '/^Rss:/ {print $2}' "/proc/$1/smaps_rollup" 2>/dev/null
}

# smaps_snap PID OUT: each mapping's range, permissions, name, Rss and
# Anonymous (kB).
smaps_snap() {
	awk '/^[0-9a-f]+-[0-9a-f]+ / {m = $1 " " $2 " " ($6 == "" ? "[anon]" : $6)}
		/^Rss:/ {r = $2} /^Anonymous:/ {print m, r, $2}' "/proc/$1/smaps" >"$2" 2>/dev/null
}

# anon_grew BEFORE AFTER: kB of anonymous memory the mappings gained.
anon_grew() {
	awk 'NR == FNR {a[$1] = $5; next} {d += $5 - a[$1]} END {print d + 0}' "$1" "$2"
}

# smaps_grew BEFORE AFTER: the mappings whose Rss grew, and by what, the
# most first.
smaps_grew() {
	awk 'NR == FNR {r[$1] = $4; a[$1] = $5; next}
		$4 > r[$1] + 0 {printf "%d\t%s %s %s: Rss %d -> %d kB (anonymous %d -> %d kB)\n",
			$4 - r[$1], $1, $2, $3, r[$1], $4, a[$1], $5}' "$1" "$2" | sort -t "$(printf '\t')" -k1,1nr | cut -f 2-
}

nthreads() {
	find "/proc/$1/task" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l
}

# alive_fast NAME PID: as tests/lib.sh's alive (the process exists, no thread
# stopped or dead, none traced; 1 s to settle), in one awk per look: a JVM
# has 30 threads, and the per-thread forks of check_alive cost seconds on a
# loaded machine.
alive_fast() {
	local name=$1 pid=$2 i bad
	for ((i = 0; i < 50; i++)); do
		if [[ ! -d /proc/$pid ]]; then
			bad="process $pid does not exist"
			break
		fi
		bad=$(awk 'FNR == 1 && FILENAME ~ /stat$/ {
				s = $0; sub(/.*\) /, "", s); split(s, f, " ")
				if (f[1] ~ /^[TtZX]$/) printf "%s state %s; ", FILENAME, f[1]
			}
			FILENAME ~ /status$/ && $1 == "TracerPid:" && $2 != 0 {printf "%s traced by %s; ", FILENAME, $2}' \
			/proc/"$pid"/task/*/stat /proc/"$pid"/task/*/status 2>/dev/null)
		[[ -z $bad ]] && break
		sleep 0.02
	done
	if [[ -z $bad ]]; then pass "$name"; else fail "$name" "$bad"; fi
}

# ------------------------------------------------------------ glibc's truth

# glibc_stats PID TARGET-STDERR OUT: glibc's own malloc_stats() of PID,
# called by gdb in batch mode (libc's symbol table only: neither the other
# objects' symbols nor libc's debug info are needed, and they cost seconds of
# CPU; scheduler-locking on, so no other thread runs during the call; the
# targets are quiescent, so no arena lock is held). malloc_stats() writes to
# the target's stderr: what it added there, its lines only (a daemon may log
# between them), into OUT. Returns 1 with GDB_REASON set.
glibc_stats() {
	local pid=$1 errf=$2 out=$3 off rc=0
	GDB_REASON=
	off=$(stat -c %s "$errf") || {
		GDB_REASON="cannot stat $errf"
		return 1
	}
	DEBUGINFOD_URLS='' timeout -k 5 90 /usr/bin/gdb -nx -batch \
		-iex 'set debuginfod enabled off' -iex 'set debug-file-directory /nonexistent' \
		-iex 'set auto-solib-add off' -ex 'set scheduler-locking on' -ex 'sharedlibrary libc\.so\.6' \
		-ex 'call ((void (*)(void)) malloc_stats)()' -p "$pid" >"$out.gdb" 2>&1 || rc=$?
	tail -c +"$((off + 1))" "$errf" |
		grep -E '^(Arena [0-9]+:|(system|in use) bytes     = +[0-9]+|Total \(incl\. mmap\):|max mmap regions = +[0-9]+|max mmap bytes   = +[0-9]+)$' >"$out"
	if [[ $rc -ne 0 ]]; then
		GDB_REASON="gdb exit $rc"
		return 1
	fi
	if [[ $(head -n 1 "$out") != "Arena 0:" ]] || ! grep -q '^Total (incl. mmap):$' "$out" ||
		! tail -n 1 "$out" | grep -q '^max mmap bytes'; then
		GDB_REASON="no complete malloc_stats() text on the target's stderr"
		return 1
	fi
	return 0
}

# stats_diff GLIBC HEAPSCOPE [NAME1 NAME2]: each line that differs, named by
# its arena and field, with both numbers.
stats_diff() {
	paste -d '\t' "$1" "$2" | awk -F'\t' -v n1="${3:-glibc}" -v n2="${4:-heapscope}" '
		$1 ~ /^Arena [0-9]+:$/ { sec = substr($1, 1, length($1) - 1) }
		$1 ~ /^Total/ { sec = "Total (incl. mmap)" }
		$1 == $2 { next }
		{
			ng = split($1, g, "="); nh = split($2, h, "=")
			if (ng == 2 && nh == 2 && g[1] == h[1]) {
				f = g[1]; sub(/ +$/, "", f)
				printf "%s, %s: %s %.0f, %s %.0f (%+.0f)\n", sec, f, n1, g[2], n2, h[2], h[2] - g[2]
			} else {
				printf "line %d: %s \"%s\", %s \"%s\"\n", NR, n1, $1, n2, $2
			}
		}'
}

# compare_stats LABEL BEFORE HEAPSCOPE AFTER
compare_stats() {
	local label=$1 b=$2 h=$3 a=$4 bad
	if [[ ! -s $h ]]; then
		fail "$label: malloc-stats equal to glibc's" "heapscope printed nothing"
		return
	fi
	if cmp -s "$b" "$a"; then
		if cmp -s "$b" "$h"; then
			pass "$label: malloc-stats byte-identical to glibc's (quiescent: its two readings equal)"
		else
			fail "$label: malloc-stats byte-identical to glibc's (quiescent: its two readings equal)" \
				"differs" "$(stats_diff "$b" "$h")"
		fi
		return
	fi
	info "$label moved between glibc's two readings: $(stats_diff "$b" "$a" before after | head -n 4 | paste -sd ';')"
	# every line the same text around its number (its padding aside); each
	# number between the two readings, widened by 0.1% of them
	bad=$(paste -d '\t' "$b" "$h" "$a" | awk -F'\t' '
		$1 ~ /^Arena [0-9]+:$/ { sec = substr($1, 1, length($1) - 1) }
		$1 ~ /^Total/ { sec = "Total (incl. mmap)" }
		{
			tb = $1; th = $2; ta = $3
			gsub(/ *[0-9]+/, " N", tb); gsub(/ *[0-9]+/, " N", th); gsub(/ *[0-9]+/, " N", ta)
			if (tb != th || ta != th) { printf "line %d: glibc \"%s\" / \"%s\", heapscope \"%s\"\n", NR, $1, $3, $2; next }
			vb = $1; vh = $2; va = $3
			gsub(/[^0-9]/, "", vb); gsub(/[^0-9]/, "", vh); gsub(/[^0-9]/, "", va)
			if (vb == "") next
			lo = (vb + 0 < va + 0 ? vb : va) * 0.999; hi = (vb + 0 > va + 0 ? vb : va) * 1.001
			f = th; sub(/ *= N$/, "", f)
			if (vh + 0 < lo || vh + 0 > hi)
				printf "%s, %s: glibc %.0f then %.0f, heapscope %.0f\n", sec, f, vb, va, vh
		}')
	if [[ -z $bad ]]; then
		pass "$label: malloc-stats within 0.1% of glibc's (the target moved between its readings)"
	else
		fail "$label: malloc-stats within 0.1% of glibc's (the target moved between its readings)" \
			"differs" "$bad"
	fi
}

# hs_run LABEL PID OUT ERR ARGS...: heapscope ARGS, the target's RSS read
# just before and just after; then the target must be alive, not stopped,
# not traced.
hs_run() {
	local label=$1 pid=$2 out=$3 err=$4 r0 r1
	shift 4
	smaps_snap "$pid" "$out.smaps0"
	r0=$(rss_kb "$pid")
	hs "$out" "$err" "$@"
	r1=$(rss_kb "$pid")
	smaps_snap "$pid" "$out.smaps1"
	# Asserted: the target's anonymous memory (what a read of an absent
	# page would allocate). Its file-backed RSS still grows once by the
	# page-cache pages libunwind-ptrace maps reading libc's .eh_frame with
	# PTRACE_PEEKDATA (no new memory; issue 11 stays open for it): said
	# here, not asserted, as tests/lib.sh does.
	local ag
	if [[ -z $r0 || -z $r1 ]]; then
		fail "$label: target anonymous RSS within $RSS_SLACK_KB KiB" "cannot read /proc/$pid/smaps_rollup"
	elif ag=$(anon_grew "$out.smaps0" "$out.smaps1"); ((ag > RSS_SLACK_KB)); then
		fail "$label: target anonymous RSS within $RSS_SLACK_KB KiB" \
			"grew from $r0 kB to $r1 kB (+$((r1 - r0)) kB, of which anonymous +$ag kB); the mappings that grew:" \
			"$(smaps_grew "$out.smaps0" "$out.smaps1")"
	else
		pass "$label: target anonymous RSS within $RSS_SLACK_KB KiB (+$ag kB; all RSS $r0 -> $r1 kB)"
		((r1 - r0 > RSS_SLACK_KB)) && echo "  info  $label: file-backed RSS grew $((r1 - r0 - ag)) kB (libunwind's .eh_frame reads, known)"
	fi
	if grep -qE 'Sanitizer|runtime error:' "$err"; then
		fail "$label: no sanitizer report" "see stderr" "$err"
	fi
	alive_fast "$label: target alive, running, untraced" "$pid"
}

# exit_is LABEL WANT ERR [OUT]: with OUT, its warnings (what made an exit 5)
# go with a failure.
exit_is() {
	if [[ $HS_RC -eq $2 ]]; then
		pass "$1: exit $2"
	else
		fail "$1: exit $2" "exit $HS_RC; stderr:" "$(head -n 6 "$3")" \
			"$([[ -n ${4:-} ]] && grep -m 1 -A 6 '^warnings' "$4")"
	fi
}

# ------------------------------------------------------------ the verdict

# fmt_size BYTES: as heapscope prints a size (lib/base/fmt.c: one decimal,
# the unit moved up from 1023.95).
fmt_size() {
	awk -v b="$1" 'BEGIN {
		if (b < 1024) { printf "%d B\n", b; exit }
		split("KiB MiB GiB TiB PiB", u, " "); v = b; i = 0
		while (v >= 1023.95 && i < 5) { v /= 1024; i++ }
		printf "%.1f %s\n", v, u[i] }'
}

# stats_total FILE FIELD: malloc_stats()'s "Total (incl. mmap)" system or
# in-use bytes.
stats_total() {
	awk -v f="$2" '/^Total/ {t = 1} t && $1 == f {print $NF; exit}' "$1"
}

# within N LO HI: LO <= N <= HI (LO and HI in either order).
within() {
	local n=$1 lo=$2 hi=$3
	((lo > hi)) && { local x=$lo; lo=$hi; hi=$x; }
	((n >= lo && n <= hi))
}

# verdict_runs LABEL PID DIR: heapscope's verdict on PID, plain (JSON, into
# DIR/hs.json, smaps_rollup's Rss read just before and after it into
# DIR/rss: before, after, mappings) and with --leaks (text, DIR/hs.leaks).
# A target that is not still (a JVM's own threads) is read by glibc just
# before and just after these runs, so each is judged against readings
# that bracket it.
verdict_runs() {
	local label=$1 pid=$2 d=$3 r0 r1 nmaps
	r0=$(rss_kb "$pid")
	nmaps=$(wc -l <"/proc/$pid/maps")
	hs_run "$label --json" "$pid" "$d/hs.json" "$d/hs.json.err" attach --json "$pid"
	r1=$(rss_kb "$pid")
	echo "$r0 $r1 $nmaps" >"$d/rss"
	exit_is "$label --json" 0 "$d/hs.json.err"
	hs_run "$label --leaks" "$pid" "$d/hs.leaks" "$d/hs.leaks.err" attach --leaks "$pid"
	exit_is "$label --leaks" 0 "$d/hs.leaks.err" "$d/hs.leaks"
}

# verdict_checks LABEL DIR BEFORE AFTER PLAIN LEAKS: verdict_runs' reports
# against glibc's malloc_stats() read just BEFORE and AFTER them (the same
# file for a quiescent fixture) and the kernel's smaps_rollup. PLAIN and
# LEAKS are the verdicts an SRE would agree with (regular expressions, e.g.
# 'in-use|outside-malloc').
verdict_checks() {
	local label=$1 d=$2 before=$3 after=$4 want=$5 wantl=$6
	local j=$d/hs.json r0 r1 nmaps v sys use sb sa ub ua first
	read -r r0 r1 nmaps <"$d/rss"
	v=$(jq -r .diagnosis.verdict "$j" 2>/dev/null)
	if [[ $v =~ ^($want)$ ]]; then
		pass "$label: verdict $v (want $want): $(jq -r .diagnosis.summary "$j")"
	else
		fail "$label: verdict $want" "got '$v'" "$(jq -r .diagnosis.summary "$j" 2>/dev/null)"
	fi
	local glibc_use
	read -r sys use glibc_use < <(jq -r '.totals | [.system_bytes + .mmapped_bytes, .in_use_bytes + .mmapped_bytes,
		.in_use_bytes + .mmapped_bytes + .tcache_bytes + .overhead_bytes] | @tsv' "$j")
	sb=$(stats_total "$before" system) sa=$(stats_total "$after" system)
	ub=$(stats_total "$before" in) ua=$(stats_total "$after" in)
	if [[ -n $sys && -n $sb && -n $sa ]] && within "$sys" "$sb" "$sa"; then
		pass "$label: from the system $sys B = glibc's total system bytes ($sb, then $sa)"
	else
		fail "$label: from the system = glibc's total system bytes" "heapscope '$sys', glibc $sb then $sa"
	fi
	if [[ -n $glibc_use && -n $ub && -n $ua ]] && within "$glibc_use" "$ub" "$ua"; then
		pass "$label: in use $use B + tcache and overhead = $glibc_use B = glibc's total in-use bytes ($ub, then $ua)"
	else
		fail "$label: in use + tcache and overhead = glibc's total in-use bytes" \
			"heapscope $use (+ tcache and overhead: $glibc_use), glibc $ub then $ua"
	fi
	# the first line says those numbers, as heapscope prints sizes
	first=$(jq -r .diagnosis.summary "$j")
	local fs fu
	fs=$(fmt_size "$sys") fu=$(fmt_size "$use")
	if [[ $first == *"$fs from the system, $fu in use"* || $first == *"malloc holds $fs, $fu in use"* ]]; then
		pass "$label: the first line says $fs from the system, $fu in use"
	else
		fail "$label: the first line says $fs from the system, $fu in use" "$first"
	fi
	# an RSS it names is the kernel's
	local rss frss
	rss=$(jq -r .process.rss_bytes "$j")
	if [[ $first == *" RSS is outside malloc"* ]]; then
		frss=$(fmt_size "$rss")
		if [[ $first == *" of $frss RSS is outside malloc"* ]] &&
			within "$rss" $((r0 * 1024 - 4096 * nmaps)) $((r1 * 1024 + 4096 * nmaps)); then
			pass "$label: the first line's RSS $frss ($rss B) is smaps_rollup's ($r0 kB, then $r1 kB) within a page per mapping ($nmaps)"
		else
			fail "$label: the first line's RSS is smaps_rollup's" "process.rss_bytes $rss ($frss), smaps_rollup $r0 then $r1 kB" "$first"
		fi
	fi
	# no claim without its measure: without --leaks no healthy, "no
	# action needed" or "not a leak"
	if [[ $v != healthy && $first != *"no action needed"* && $first != *"not a leak"* ]]; then
		pass "$label: without --leaks, no 'healthy', 'no action needed' or 'not a leak'"
	else
		fail "$label: without --leaks, no 'healthy', 'no action needed' or 'not a leak'" "$v: $first"
	fi
	first=$(head -n 1 "$d/hs.leaks")
	v=${first%%:*}
	if [[ $v =~ ^($wantl)$ ]]; then
		pass "$label --leaks: verdict $v (want $wantl): ${first#*: }"
	else
		fail "$label --leaks: verdict $wantl" "got: $first"
	fi
	# its size as printed: glibc's, give or take the last digit's half
	local said
	said=$(sed -nE 's/.*(^|: |malloc holds )([0-9.]+ (B|KiB|MiB|GiB)) from the system.*/\2/p; s/.*malloc holds ([0-9.]+ (B|KiB|MiB|GiB)), .*/\1/p' <<<"$first" | head -n 1)
	if [[ -n $said && -n $sb && -n $sa ]] && awk -v s="$said" -v a="$sb" -v b="$sa" 'BEGIN {
		split(s, w, " "); m = w[2] == "B" ? 1 : w[2] == "KiB" ? 1024 : w[2] == "MiB" ? 1048576 : 1073741824
		h = w[2] == "B" ? 0 : m * 0.05; lo = a < b ? a : b; hi = a < b ? b : a
		exit !(w[1] * m >= lo - h && w[1] * m <= hi + h) }'; then
		pass "$label --leaks: the first line's $said from the system is glibc's ($sb, then $sa)"
	else
		fail "$label --leaks: the first line's system bytes are glibc's ($sb, then $sa)" "said '${said:-nothing}': $first"
	fi
}

# target_checks LABEL PID TARGET-STDERR DIR PLAIN LEAKS [TEXT]: glibc's
# malloc_stats(), heapscope's, glibc's again; then the text report, whose
# verdict must be one of PLAIN, and verdict_checks; the first line, plain
# and with --leaks, matches *TEXT* (a glob).
target_checks() {
	local label=$1 pid=$2 errf=$3 d=$4 want=$5 wantl=$6 text=${7:-}
	mkdir -p "$d"
	info "$label: pid $pid, $(nthreads "$pid") threads, RSS $(rss_kb "$pid") kB"
	if ! glibc_stats "$pid" "$errf" "$d/glibc.before"; then
		fail "$label: glibc's malloc_stats() read by gdb" "$GDB_REASON" "$(tail -n 8 "$d/glibc.before.gdb")"
		return
	fi
	alive_fast "$label: alive after gdb" "$pid"
	hs_run "$label --format=malloc-stats" "$pid" "$d/hs.stats" "$d/hs.stats.err" \
		attach --format=malloc-stats "$pid"
	exit_is "$label --format=malloc-stats" 0 "$d/hs.stats.err"
	hs_run "$label text" "$pid" "$d/hs.text" "$d/hs.text.err" attach "$pid"
	exit_is "$label text" 0 "$d/hs.text.err" "$d/hs.text"
	verdict_runs "$label" "$pid" "$d"
	if ! glibc_stats "$pid" "$errf" "$d/glibc.after"; then
		fail "$label: glibc's malloc_stats() read by gdb, after heapscope" "$GDB_REASON" \
			"$(tail -n 8 "$d/glibc.after.gdb")"
		return
	fi
	alive_fast "$label: alive after gdb" "$pid"
	compare_stats "$label" "$d/glibc.before" "$d/hs.stats" "$d/glibc.after"
	local first
	first=$(head -n 1 "$d/hs.text")
	if [[ ${first%%:*} =~ ^($want)$ ]]; then
		pass "$label text: verdict ${first%%:*}"
	else
		fail "$label text: verdict $want" "got: ${first:-(none: exit $HS_RC)}"
	fi
	grep -q "^mmapped:" "$d/hs.text" && info "$label $(grep -m 1 "^mmapped:" "$d/hs.text")"
	grep -q "^process:" "$d/hs.text" && info "$label $(grep -m 1 "^process:" "$d/hs.text")"
	verdict_checks "$label" "$d" "$d/glibc.before" "$d/glibc.after" "$want" "$wantl"
	if [[ -n $text ]]; then
		# shellcheck disable=SC2053 # TEXT is a pattern
		if [[ $(jq -r .diagnosis.summary "$d/hs.json") == *$text* && $(head -n 1 "$d/hs.leaks") == *$text* ]]; then
			pass "$label: the first line, plain and with --leaks, says '$text'"
		else
			fail "$label: the first line, plain and with --leaks, says '$text'" \
				"$(jq -r .diagnosis.summary "$d/hs.json")" "$(head -n 1 "$d/hs.leaks")"
		fi
	fi
}

# have NAME PACKAGE PATH...: every PATH is executable, else NAME is skipped.
have() {
	local name=$1 pkg=$2 p
	shift 2
	for p in "$@"; do
		if [[ ! -x $p ]]; then
			skip "$name" "$p not found: package $pkg not installed ('make realdeps' installs it)"
			return 1
		fi
	done
}

# --------------------------------------------------------------- programs

real_nginx() {
	echo "== nginx (master_process on, 2 workers)"
	have nginx nginx /usr/sbin/nginx "$PY" || return 0
	have nginx gdb /usr/bin/gdb || return 0
	local d port pid p w n=0 workers
	tmpdir d
	port=$(free_port)
	mkdir -p "$d/www" "$d/tmp" "$d/logs"
	yes 'heapscope, a real program: nginx serving this file' | head -c 2000 >"$d/www/small.txt"
	yes 'a medium file, gzipped on request' | head -c 60000 >"$d/www/medium.txt"
	yes 'a large file' | head -c 1500000 >"$d/www/large.txt"
	cat >"$d/nginx.conf" <<-EOF
		user root;
		worker_processes 2;
		error_log stderr warn;
		pid $d/nginx.pid;
		events { worker_connections 256; }
		http {
		    access_log off;
		    log_not_found off;
		    client_body_temp_path $d/tmp/body;
		    proxy_temp_path $d/tmp/proxy;
		    fastcgi_temp_path $d/tmp/fastcgi;
		    uwsgi_temp_path $d/tmp/uwsgi;
		    scgi_temp_path $d/tmp/scgi;
		    default_type text/plain;
		    gzip on;
		    gzip_min_length 0;
		    gzip_types text/plain;
		    keepalive_requests 100000;
		    server {
		        listen 127.0.0.1:$port reuseport;
		        root $d/www;
		        location /echo { return 200 "echo \$request_uri \$http_user_agent\n"; }
		    }
		}
	EOF
	/usr/sbin/nginx -p "$d" -c "$d/nginx.conf" -e stderr -g 'daemon off; master_process on;' \
		>"$d/stdout" 2>"$d/stderr" &
	pid=$!
	bg_track "$pid"
	TREES+=("$pid")
	if ! wait_port "$port" "$pid" 20; then
		fail "nginx: started" "no listener on 127.0.0.1:$port" "$d/stderr"
		stop_tree TERM "$pid"
		return 0
	fi
	for ((w = 0; w < 100; w++)); do
		n=$(pgrep -P "$pid" | wc -l)
		[[ $n -ge 2 ]] && break
		sleep 0.05
	done
	workers=$(pgrep -P "$pid")
	if [[ $n -eq 2 ]]; then
		pass "nginx: 2 workers"
	else
		fail "nginx: 2 workers" "$n children of the master"
	fi
	if timeout -k 5 60 "$PY" "$REAL/client.py" http "$port" 3000 >"$d/load.out" 2>&1; then
		pass "nginx: 3000 requests answered"
	else
		fail "nginx: 3000 requests answered" "client" "$d/load.out"
	fi
	sleep 0.5
	# small dense heaps that nothing leaks from
	target_checks "nginx master" "$pid" "$d/stderr" "$d/master" in-use healthy
	w=0
	for p in $workers; do
		w=$((w + 1))
		target_checks "nginx worker $w" "$p" "$d/stderr" "$d/worker$w" in-use healthy
	done
	stop_tree QUIT "$pid"
}

real_memcached() {
	echo "== memcached (-t 4)"
	have memcached memcached /usr/bin/memcached "$PY" || return 0
	have memcached gdb /usr/bin/gdb || return 0
	local d port pid nb nm na
	tmpdir d
	port=$(free_port)
	/usr/bin/memcached -t 4 -l 127.0.0.1 -p "$port" -U 0 -m 256 -c 64 -u root \
		>"$d/stdout" 2>"$d/stderr" &
	pid=$!
	bg_track "$pid"
	if ! wait_port "$port" "$pid" 20; then
		fail "memcached: started" "no listener on 127.0.0.1:$port" "$d/stderr"
		stop_fixture "$pid"
		return 0
	fi
	if timeout -k 5 90 "$PY" "$REAL/client.py" memcache "$port" 20000 >"$d/load.out" 2>&1; then
		pass "memcached: 20000 sets (and 4000 deletes) answered"
	else
		fail "memcached: 20000 sets (and 4000 deletes) answered" "client" "$d/load.out"
	fi
	sleep 0.5
	# its slab pages are 1 MiB mmapped chunks, all reached from its
	# globals (issue 15: 77 MiB of them were once called a leak)
	target_checks "memcached" "$pid" "$d/stderr" "$d/t" in-use healthy
	# what that no-leak verdict rests on: slab pages (mmapped chunks)
	# between the heaps, where the old lookup dropped pointers (issue 15
	# item 1); a layout with none there would prove nothing
	local between
	hs "$d/t/chunks.json" "$d/t/chunks.err" attach --json --chunks "$pid"
	between=$(jq -r 'def pad: ltrimstr("0x") | ("0000000000000000"[0:(16 - length)]) + .;
		([.arenas[].heaps[] | .start | pad] | min) as $lo | ([.arenas[].heaps[] | .end | pad] | max) as $hi
		| [.chunks[] | select(.state == "mmapped")] as $m
		| "\([$m[] | .address | pad | select(. > $lo and . < $hi)] | length) \($m | length) \(.arenas | length)"' \
		"$d/t/chunks.json" 2>/dev/null)
	read -r nb nm na <<<"${between:-0 0 0}"
	if ((HS_RC == 0 && nb > 0)) && grep -q '^leaks: 0 chunks, 0 B unreachable' "$d/t/hs.leaks"; then
		pass "memcached: $nb of its $nm mmapped chunks (slab pages) lie between its $na arenas' heaps, and --leaks found 0 chunks unreachable"
	else
		fail "memcached: mmapped chunks between its heaps, none unreachable" \
			"exit $HS_RC; $nb of $nm between the heaps of $na arenas; $(grep -m 1 '^leaks:' "$d/t/hs.leaks")" "$d/t/chunks.err"
	fi
	stop_fixture "$pid"
}

real_python3() {
	echo "== python3 (Debian's, after big dicts built and dropped)"
	local p py='' d pid
	for p in /usr/bin/python3.[0-9]*; do
		[[ $p =~ /python3\.[0-9]+$ && -x $p ]] && py=$p
	done
	if [[ -z $py ]]; then
		skip python3 "no /usr/bin/python3.N: package python3 not installed ('make realdeps' installs it)"
		return 0
	fi
	have python3 gdb /usr/bin/gdb || return 0
	tmpdir d
	"$py" -I "$REAL/dicts.py" "$d" >"$d/stdout" 2>"$d/stderr" &
	pid=$!
	bg_track "$pid"
	if ! wait_ready "$d" "$pid" 60; then
		fail "python3: started ($py)" "$WAIT_REASON" "$d/stderr"
		stop_fixture "$pid"
		return 0
	fi
	sleep 0.3
	# the dicts and blobs it dropped left holes in glibc's heap (not a
	# leak: the interpreter freed them), and most of its RSS is its own
	# allocator's arenas, named
	target_checks "python3 ($(basename "$py"))" "$pid" "$d/stderr" "$d/t" fragmented fragmented \
		"RSS is outside malloc, *of it Python's obmalloc arenas"
	stop_fixture "$pid"

	# The same, with 96 MiB of its own private anonymous memory filled with
	# 0xab, a whole number of MiB as obmalloc's arenas are: not obmalloc's
	# (its pools' headers are not there), so the largest part outside
	# malloc is of unknown owner, and obmalloc's arenas are still named.
	tmpdir d
	"$py" -I "$REAL/dicts.py" "$d" mmap >"$d/stdout" 2>"$d/stderr" &
	pid=$!
	bg_track "$pid"
	if ! wait_ready "$d" "$pid" 60; then
		fail "python3 with its own mmap: started ($py)" "$WAIT_REASON" "$d/stderr"
		stop_fixture "$pid"
		return 0
	fi
	hs_run "python3 with its own mmap --json" "$pid" "$d/hs.json" "$d/hs.err" attach --json "$pid"
	exit_is "python3 with its own mmap --json" 0 "$d/hs.err"
	local owners
	owners=$(jq -c '[.process.owners[] | {owner, mib: (.bytes / 1048576 | floor)}]' "$d/hs.json" 2>/dev/null)
	if jq -e '(.process.owners[0] | .owner == "unknown" and .bytes >= 96 * 1048576)
		and any(.process.owners[]; .owner == "python-obmalloc" and .bytes < 96 * 1048576)' "$d/hs.json" >/dev/null 2>&1; then
		pass "python3 with its own mmap: 96 MiB of it unknown, obmalloc's arenas named apart ($owners)"
	else
		fail "python3 with its own mmap: 96 MiB of it unknown, obmalloc's arenas named apart" "owners: ${owners:-none}"
	fi
	stop_fixture "$pid"
}

real_postgres() {
	echo "== PostgreSQL (pgbench, then the postmaster and an idle session's backend)"
	local bin d port pid psql backend i
	bin=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)
	bin=${bin:-/usr/lib/postgresql/NONE/bin}
	have postgres "postgresql postgresql-contrib" "$bin/initdb" "$bin/postgres" "$bin/psql" "$bin/pg_isready" || return 0
	have postgres postgresql-contrib "$bin/pgbench" || return 0
	have postgres gdb /usr/bin/gdb || return 0
	if ! id postgres >/dev/null 2>&1; then
		skip postgres "no postgres user (package postgresql-common creates it)"
		return 0
	fi
	tmpdir d
	chown postgres: "$d"
	port=$(free_port)
	if ! (cd "$d" && setpriv --reuid=postgres --regid=postgres --init-groups -- \
		"$bin/initdb" -D "$d/data" -U postgres --auth=trust --no-sync -E UTF8 --locale=C) >"$d/initdb.log" 2>&1; then
		fail "postgres: initdb" "failed" "$(tail -n 10 "$d/initdb.log")"
		return 0
	fi
	(cd "$d" && exec setpriv --reuid=postgres --regid=postgres --init-groups -- \
		"$bin/postgres" -D "$d/data" -p "$port" -k "$d" -c listen_addresses=127.0.0.1 \
		-c logging_collector=off -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
		-c shared_buffers=16MB -c max_connections=20) >"$d/stdout" 2>"$d/stderr" &
	pid=$!
	bg_track "$pid"
	TREES+=("$pid")
	for ((i = 0; i < 200; i++)); do
		"$bin/pg_isready" -q -h "$d" -p "$port" && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if ! "$bin/pg_isready" -q -h "$d" -p "$port"; then
		fail "postgres: started" "not ready on $d/.s.PGSQL.$port" "$(tail -n 10 "$d/stderr")"
		stop_tree INT "$pid"
		return 0
	fi
	if timeout -k 5 60 "$bin/pgbench" -h "$d" -p "$port" -U postgres -i -s 1 -q postgres >"$d/pgbench-i.log" 2>&1 &&
		timeout -k 5 90 "$bin/pgbench" -h "$d" -p "$port" -U postgres -c 4 -j 2 -t 200 postgres >"$d/pgbench.log" 2>&1; then
		pass "postgres: pgbench -i -s 1, then 4 clients x 200 transactions"
		info "postgres: pgbench $(grep -E '^tps' "$d/pgbench.log" | head -n 1)"
	else
		fail "postgres: pgbench -i -s 1, then 4 clients x 200 transactions" "failed" \
			"$(tail -n 10 "$d/pgbench-i.log" "$d/pgbench.log")"
	fi
	# a live session, left idle: psql reads from a fifo this shell holds open
	mkfifo "$d/psql.in"
	"$bin/psql" -h "$d" -p "$port" -U postgres -At -X postgres <"$d/psql.in" >"$d/psql.out" 2>"$d/psql.err" &
	psql=$!
	bg_track "$psql"
	exec {PSQL_FD}>"$d/psql.in"
	printf '%s\n' "SELECT 'backend ' || pg_backend_pid();" \
		"SELECT count(*), sum(abalance) FROM pgbench_accounts;" \
		"CREATE TEMP TABLE t AS SELECT g, md5(g::text) AS h FROM generate_series(1, 50000) g;" \
		"SELECT count(DISTINCT h) FROM t;" \
		"SELECT a.aid, b.bbalance FROM pgbench_accounts a JOIN pgbench_branches b USING (bid) ORDER BY a.abalance DESC LIMIT 3;" \
		"SELECT 'idle';" >&"$PSQL_FD"
	for ((i = 0; i < 300; i++)); do
		grep -qx idle "$d/psql.out" 2>/dev/null && break
		sleep 0.1
	done
	backend=$(sed -n 's/^backend \([0-9]*\)$/\1/p' "$d/psql.out")
	if ! grep -qx idle "$d/psql.out" || [[ -z $backend ]]; then
		fail "postgres: a live psql session" "no answer" "$d/psql.out" "$d/psql.err"
	elif [[ $(pgrep -P "$pid" | grep -cx "$backend") -ne 1 ]]; then
		fail "postgres: a live psql session" "backend $backend is not a child of the postmaster $pid"
	else
		pass "postgres: a live psql session (backend $backend, idle)"
		sleep 0.3
		# malloc holds little; the postmaster's RSS is mostly its code and
		# libraries, the backend's its share of shared_buffers (and code)
		target_checks "postgres postmaster" "$pid" "$d/stderr" "$d/postmaster" outside-malloc outside-malloc \
			"RSS is outside malloc, *of it file-backed"
		target_checks "postgres backend" "$backend" "$d/stderr" "$d/backend" outside-malloc outside-malloc \
			"RSS is outside malloc, "
	fi
	exec {PSQL_FD}>&-
	PSQL_FD=
	kill_ours TERM "$psql" || kill_ours KILL "$psql"
	stop_tree INT "$pid" # fast shutdown
}

real_jvm() {
	echo "== JVM (16 threads: Deflater, ByteBuffer.allocateDirect, then parked)"
	have jvm "default-jdk-headless (or openjdk-17-jdk-headless)" /usr/bin/java /usr/bin/javac || return 0
	have jvm gdb /usr/bin/gdb || return 0
	local d pid
	tmpdir d
	if ! timeout -k 5 120 /usr/bin/javac -d "$d/classes" "$REAL/NativeThreads.java" >"$d/javac.log" 2>&1; then
		fail "jvm: javac NativeThreads.java" "failed" "$d/javac.log"
		return 0
	fi
	# the JVM's defaults (G1, tiered compilation), a bounded heap; no
	# hsperfdata file in /tmp
	/usr/bin/java -Xmx256m -XX:-UsePerfData \
		-cp "$d/classes" NativeThreads "$d" 16 >"$d/stdout" 2>"$d/stderr" &
	pid=$!
	bg_track "$pid"
	if ! wait_ready "$d" "$pid" 60; then
		fail "jvm: started" "$WAIT_REASON" "$d/stderr"
		stop_fixture "$pid"
		return 0
	fi
	# malloc holds its direct buffers and zlib's state, all reached
	target_checks "jvm" "$pid" "$d/stderr" "$d/t" in-use healthy
	stop_fixture "$pid"
}

real_redis() {
	echo "== redis-server (jemalloc: refused by name)"
	have redis redis-server /usr/bin/redis-server "$PY" || return 0
	local d port pid
	tmpdir d
	port=$(free_port)
	/usr/bin/redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
		--dir "$d" --daemonize no --protected-mode yes >"$d/stdout" 2>"$d/stderr" &
	pid=$!
	bg_track "$pid"
	if ! wait_port "$port" "$pid" 20; then
		fail "redis: started" "no listener on 127.0.0.1:$port" "$d/stdout" "$d/stderr"
		stop_fixture "$pid"
		return 0
	fi
	if timeout -k 5 60 "$PY" "$REAL/client.py" redis "$port" 3000 >"$d/load.out" 2>&1; then
		pass "redis: 3000 SETs answered"
	else
		fail "redis: 3000 SETs answered" "client" "$d/load.out"
	fi
	hs_run "redis" "$pid" "$d/hs.text" "$d/hs.text.err" attach "$pid"
	exit_is "redis (jemalloc)" 4 "$d/hs.text.err"
	if grep -qi jemalloc "$d/hs.text.err"; then
		pass "redis: the refusal names jemalloc ($(grep -im 1 jemalloc "$d/hs.text.err"))"
	else
		fail "redis: the refusal names jemalloc" "stderr:" "$d/hs.text.err"
	fi
	stop_fixture "$pid"
}

# fact_of DIR KEY: the word after KEY in DIR/facts.txt.
fact_of() { awk -v k="$2" '{for (i = 1; i < NF; i++) if ($i == k) {print $(i + 1); exit}}' "$1/facts.txt"; }

# c_program LABEL FIXTURE PLAIN LEAKS [TEXT]: a fixture of ours, its truth
# known by construction and its own malloc_stats() printed when it became
# quiescent; verdict_checks against those, the first line with --leaks
# containing TEXT (@leaked: "of which B (", B the bytes the fixture leaked,
# facts.txt's leaked_bytes).
c_program() {
	local label=$1 fx=$2 want=$3 wantl=$4 text=${5:-}
	if [[ ! -x $FIXDIR/$fx ]]; then
		fail "$label: fixture" "missing $FIXDIR/$fx (run make)"
		return 0
	fi
	start_fixture "$fx" || return 0
	[[ $text == @leaked ]] && text="of which $(fmt_size "$(fact_of "$FIX_DIR" leaked_bytes)") ("
	hs_run "$label text" "$FIX_PID" "$FIX_DIR/hs.text" "$FIX_DIR/hs.text.err" attach "$FIX_PID"
	exit_is "$label text" 0 "$FIX_DIR/hs.text.err" "$FIX_DIR/hs.text"
	verdict_runs "$label" "$FIX_PID" "$FIX_DIR"
	verdict_checks "$label" "$FIX_DIR" "$FIX_DIR/malloc_stats.txt" "$FIX_DIR/malloc_stats.txt" "$want" "$wantl"
	if [[ -n $text ]]; then
		if grep -qF -- "$text" <(head -n 1 "$FIX_DIR/hs.leaks"); then
			pass "$label --leaks: the first line says '$text'"
		else
			fail "$label --leaks: the first line says '$text'" "$(head -n 1 "$FIX_DIR/hs.leaks")"
		fi
	fi
	stop_fixture "$FIX_PID"
}

real_cleak() {
	echo "== a leaking C program (fixtures/leak.c: 40000 blocks of 200 B lose their pointers)"
	c_program "C leak" leak 'in-use' 'leak-suspected' @leaked
}

real_cfrag() {
	echo "== a fragmenting and leaking C program (fixtures/fragleak.c: 3 of 4 blocks freed, half the rest leaked)"
	c_program "C fragleak" fragleak 'fragmented' 'leak-suspected' @leaked
}

real_cownmap() {
	echo "== a C program whose RSS is mostly its own mmap'd memory (fixtures/ownmap.c)"
	c_program "C ownmap" ownmap 'outside-malloc' 'outside-malloc' "RSS is outside malloc, "
}

for prog in nginx memcached python3 postgres jvm redis cleak cfrag cownmap; do
	want "$prog" || continue
	t0=$SECONDS
	"real_$prog"
	info "$prog: $((SECONDS - t0)) s"
done
[[ ${SKIPPED:-0} -gt 0 ]] && echo "$SUITE: $SKIPPED skipped (not passed)"
summary
