#!/usr/bin/env bash
# Hostile roots (issue 14): a target in a chroot whose owner planted, where
# its libc's debug file belongs (usr/lib/debug/.build-id/xx/....debug), a
# FIFO, a link to /dev/zero (a device node of the root), a link to an
# absolute path of the host, a link climbing out with "..", a sparse file of
# 2 TiB, a truncated copy of the real debug file, and the debug file of
# another library (a wrong build-id). The host's own debug directory is
# hidden (a tmpfs over /usr/lib/debug in heapscope's mount namespace) so
# that the root's file is the one looked at. Each case must end within 5 s
# with either the symbol-free path (exit 0, malloc_stats byte-identical to
# glibc's own) or exit 4 and one line; the target runs on; and the host
# files the links point to are never opened, by the symbols stage or by
# the stack unwinder (strace). Also: the real debug
# file in the root is found (the path works), and the symbols stage's clock
# (HEAPSCOPE_SYMBOLS_TIMEOUT) ends a run with exit 4 and one line.
#   usage: HEAPSCOPE=build/heapscope tests/e2e/hostile.sh
set -uo pipefail
SUITE=hostile
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/../lib.sh"
need_file "$HEAPSCOPE"
BOUND_S=5

if [[ $(id -u) -ne 0 ]]; then
	skip "hostile roots" "needs root (chroot, mknod, a mount namespace)"
	summary
	exit
fi
for t in unshare chroot strace mkfifo mknod readelf; do
	if ! command -v "$t" >/dev/null; then
		fail "hostile roots" "$t is not installed"
		summary
		exit
	fi
done

# --- the root: the host's ld.so and libc (copies), the threads fixture
ct=$(new_tmpdir)
host=$(new_tmpdir) # files of the host, outside the root, that links name
libc=$(ldd "$ROOT/build/fixtures/threads" | awk '$1 ~ /^libc\.so/ {print $3}')
ld=$(ldd "$ROOT/build/fixtures/threads" | awk '$1 ~ /ld-linux/ {print $1}')
mkdir -p "$ct$(dirname "$libc")" "$ct$(dirname "$ld")" "$ct/bin" "$ct/out" "$ct/dev"
cp "$(readlink -f "$libc")" "$ct$libc"
cp "$(readlink -f "$ld")" "$ct$ld"
cp "$ROOT/build/fixtures/threads" "$ct/bin/threads"
mknod -m 444 "$ct/dev/zero" c 1 5
id=$(readelf -n "$ct$libc" | awk '/Build ID/ {print $3}')
real=/usr/lib/debug/.build-id/${id:0:2}/${id:2}.debug
if [[ -z $id || ! -f $real ]]; then
	fail "hostile roots" "no host debug file for libc (build-id '$id'): make deps installs libc6-dbg"
	summary
	exit
fi
other=$(find /usr/lib/debug/.build-id -name '*.debug' -type f ! -path "*/${id:0:2}/${id:2}.debug" 2>/dev/null | head -n 1)
cp "$real" "$host/host-secret.debug"
dbgdir=$ct/usr/lib/debug/.build-id/${id:0:2}
dbg=$dbgdir/${id:2}.debug
mkdir -p "$dbgdir"

chroot "$ct" /bin/threads /out >"$ct/out/stdout" 2>"$ct/out/stderr" &
pid=$!
bg_track "$pid"
if ! wait_ready "$ct/out" "$pid" 20; then
	fail "start the threads fixture in a chroot" "$WAIT_REASON" "$ct/out/stderr"
	summary
	exit
fi

# hidden OUT ERR ARGS...: heapscope in a mount namespace where the host's
# /usr/lib/debug is an empty tmpfs, no debuginfod, no HS_DEBUGINFO_PATH.
# Sets HS_RC and HS_MS (wall time).
hidden() {
	local out=$1 err=$2 t0 t1
	shift 2
	t0=$EPOCHREALTIME
	HS_RC=0
	env -u HS_DEBUGINFO_PATH -u DEBUGINFOD_URLS timeout -k 2 30 \
		unshare -m --propagation private sh -c 'mount -t tmpfs -o size=64k,mode=755 hs-hidden /usr/lib/debug && exec "$@"' \
		hidden "$@" >"$out" 2>"$err" || HS_RC=$?
	t1=$EPOCHREALTIME
	HS_MS=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%d", (b - a) * 1000}')
}

json_field() { jq -r "$1" "$2" 2>/dev/null; }

# verdict LABEL DIR: the symbol-free path with glibc's own numbers, or
# exit 4 and one line; within BOUND_S either way; target alive.
verdict() {
	local label=$1 d=$2 src
	hidden "$d/stats" "$d/stats.err" "$HEAPSCOPE" attach --format=malloc-stats "$pid"
	local rc=$HS_RC ms=$HS_MS
	if ((ms > BOUND_S * 1000)); then
		fail "$label: within ${BOUND_S} s" "took $ms ms (exit $rc)" "$d/stats.err"
	else
		pass "$label: within ${BOUND_S} s ($ms ms)"
	fi
	if [[ $rc -eq 4 ]]; then
		if [[ $(wc -l <"$d/stats.err") -eq 1 ]] && grep -q '^heapscope: ' "$d/stats.err"; then
			pass "$label: exit 4, one line ($(cut -c1-120 "$d/stats.err"))"
		else
			fail "$label: exit 4 with one line" "$(wc -l <"$d/stats.err") lines" "$d/stats.err"
		fi
	elif [[ $rc -eq 0 ]]; then
		hidden "$d/j" "$d/j.err" "$HEAPSCOPE" attach --json "$pid"
		src=$(json_field .symbols.source "$d/j")
		if [[ $HS_RC -eq 0 && ($src == scan || $src == symtab) ]] && cmp -s "$ct/out/malloc_stats.txt" "$d/stats"; then
			pass "$label: the symbol-free path ($src), malloc-stats byte-identical to glibc's"
		else
			fail "$label: the symbol-free path with glibc's numbers" \
				"exit $HS_RC, source '$src', debuginfo '$(json_field .symbols.debuginfo "$d/j")'" "$d/j.err" \
				"$(diff -u "$ct/out/malloc_stats.txt" "$d/stats" 2>&1 | head -n 20)"
		fi
	else
		fail "$label: exit 0 (symbol-free) or 4" "exit $rc" "$d/stats.err"
	fi
	alive "$label: target runs on" "$pid"
}

# plant: replace the root's debug file of libc with what follows.
plant() { rm -f "$dbg"; }

# --- positive control: the real debug file in the root is found there
plant
cp "$real" "$dbg"
d=$(new_tmpdir)
hidden "$d/j" "$d/j.err" "$HEAPSCOPE" attach --json "$pid"
if [[ $HS_RC -eq 0 && $(json_field .symbols.source "$d/j") == dwarf &&
	$(json_field .symbols.debuginfo "$d/j") == "/proc/$pid/root/usr/lib/debug/.build-id/${id:0:2}/${id:2}.debug" ]]; then
	pass "the root's own debug file is read when the host has none ($(json_field .symbols.debuginfo "$d/j"))"
else
	fail "the root's own debug file is read when the host has none" \
		"exit $HS_RC, source $(json_field .symbols.source "$d/j"), debuginfo $(json_field .symbols.debuginfo "$d/j")" "$d/j.err"
fi
# and the host's wins over it by build-id when it has one
hs "$d/h" "$d/h.err" attach --json "$pid"
if [[ $HS_RC -eq 0 && $(json_field .symbols.debuginfo "$d/h") == "$real" ]]; then
	pass "the host's debug file is preferred to the root's ($real)"
else
	fail "the host's debug file is preferred to the root's" "exit $HS_RC, debuginfo $(json_field .symbols.debuginfo "$d/h")" "$d/h.err"
fi

# --- the hostile files
plant
mkfifo "$dbg"
verdict "a FIFO as the debug file" "$(new_tmpdir)"

plant
ln -s /dev/zero "$dbg"
verdict "a link to /dev/zero (a device node in the root)" "$(new_tmpdir)"

plant
truncate -s 2T "$dbg"
verdict "a sparse file of 2 TiB" "$(new_tmpdir)"

plant
head -c 300000 "$real" >"$dbg"
verdict "the debug file cut at 300 kB" "$(new_tmpdir)"

if [[ -n $other ]]; then
	plant
	cp "$other" "$dbg"
	verdict "another library's debug file (a wrong build-id)" "$(new_tmpdir)"
else
	fail "another library's debug file (a wrong build-id)" "no other debug file in /usr/lib/debug/.build-id"
fi

# links out of the root, to a host file that would be accepted (the real
# debug file, copied outside the root): never opened
for how in absolute dotdot; do
	plant
	if [[ $how == absolute ]]; then
		ln -s "$host/host-secret.debug" "$dbg"
		label="a link to an absolute host path"
	else
		ln -s "../../../../../../../../../../../../../../..$host/host-secret.debug" "$dbg"
		label="a link climbing out of the root with .."
	fi
	d=$(new_tmpdir)
	verdict "$label" "$d"
	env -u HS_DEBUGINFO_PATH -u DEBUGINFOD_URLS timeout -k 2 30 \
		unshare -m --propagation private sh -c 'mount -t tmpfs -o size=64k,mode=755 hs-hidden /usr/lib/debug && exec "$@"' \
		hidden strace -f -qq -e trace=open,openat,openat2,creat -o "$d/strace" "$HEAPSCOPE" attach --json "$pid" \
		>"$d/s.json" 2>"$d/s.err"
	if [[ ! -s $d/strace ]]; then
		fail "$label: strace ran" "no trace" "$d/s.err"
	elif grep -v ENOENT "$d/strace" | grep -q "host-secret"; then
		fail "$label: the host file is never opened" "" "$(grep host-secret "$d/strace")"
	elif grep -E '^[0-9]+ +(open|openat|creat)\(' "$d/strace" | grep -q "\"/proc/$pid/root/usr/lib/debug"; then
		# a path walk through /proc/PID/root follows the root's links
		# against the host's /: what the debug file search did before
		fail "$label: no debug file searched through /proc/$pid/root/ (it follows links out)" "" \
			"$(grep "\"/proc/$pid/root/" "$d/strace" | head -n 5)"
	elif grep -q 'openat2(.*RESOLVE_IN_ROOT' "$d/strace" &&
		! grep 'openat2(' "$d/strace" | grep -v -q 'RESOLVE_IN_ROOT'; then
		pass "$label: the host file is never opened (strace: $(grep -c 'openat2(' "$d/strace") openat2 with RESOLVE_IN_ROOT, none reaching it)"
	else
		fail "$label: the root's files opened with RESOLVE_IN_ROOT" "an openat2 without it, or none" \
			"$(grep 'openat2(' "$d/strace" | head -n 10)"
	fi
	# nor any other: libunwind-ptrace left to itself would open the mapped
	# files as /proc/PID/root/PATH after a stat(2), links followed
	# (glibc/stacks.c gives it the modules symbols.c opened instead)
	others=$(grep -E '^[0-9]+ +(open|openat|creat)\(' "$d/strace" | grep -c "\"/proc/$pid/root/")
	if [[ $others -eq 0 ]]; then
		pass "$label: no open through /proc/$pid/root/ (the unwinder's neither)"
	else
		fail "$label: no open through /proc/$pid/root/ (the unwinder's neither)" "$others" \
			"$(grep "\"/proc/$pid/root/" "$d/strace" | head -n 5)"
	fi
done

# --- the clock: a bound too short for anything ends the run, one line
plant
cp "$real" "$dbg"
d=$(new_tmpdir)
HEAPSCOPE_SYMBOLS_TIMEOUT=0.000001 hidden "$d/o" "$d/e" "$HEAPSCOPE" attach "$pid"
if [[ $HS_RC -eq 4 && $(wc -l <"$d/e") -eq 1 ]] && grep -q '^heapscope: loading symbols took longer than .*, at ' "$d/e" &&
	((HS_MS < BOUND_S * 1000)); then
	pass "the symbols stage's bound: exit 4, one line ($(cut -c1-140 "$d/e"))"
else
	fail "the symbols stage's bound: exit 4, one line" "exit $HS_RC in $HS_MS ms" "$d/e"
fi
alive "after the bound was hit: target runs on" "$pid"

# --- a file that does not answer (a FUSE file served by the target, NFS):
# strace holds heapscope's first openat2 for 8 s (the main thread blocked
# in a system call, where no check between files can act); the watchdog's
# line must come at the bound (1 s), not when the call returns. Timed as
# it arrives on the pipe: strace holds the exiting process until its delay
# ends, so the exit status and the end of the run are strace's.
d=$(new_tmpdir)
t0=$EPOCHREALTIME
HEAPSCOPE_SYMBOLS_TIMEOUT=1 timeout -k 2 30 strace -qq -o /dev/null -e trace=openat2 \
	-e inject=openat2:delay_enter=8000000:when=1 "$HEAPSCOPE" attach "$pid" 2>&1 >/dev/null |
	while IFS= read -r l; do
		printf '%s %s\n' "$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%d", (b - a) * 1000}')" "$l"
	done >"$d/lines"
first=$(grep -m1 ' heapscope: ' "$d/lines")
ms=${first%% *}
if [[ $first == *"heapscope: loading symbols took longer than 1 s, at the target's /"* && $ms =~ ^[0-9]+$ ]] &&
	((ms < 3000)); then
	pass "a file that does not answer: the watchdog's line at $ms ms (bound 1 s; the call blocked 8 s): ${first#* }"
else
	fail "a file that does not answer: the watchdog's line within 3 s" "first line '$first'" "$d/lines"
fi
alive "after the watchdog: target runs on" "$pid"

stop_fixture "$pid"
summary
