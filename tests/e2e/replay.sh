#!/usr/bin/env bash
# The reference core proven against the real glibc: every trace of
# tests/traces/*.trace and REPLAY_SEEDS generated ones (gentrace SEED
# REPLAY_OPS) is played by glibc in a fixture (fixtures/replay.c) and by
# `heapscope replay`; both heaps, normalised by replay_norm.jq (chunk
# offsets from the heap start, sizes, states; every free list's members in
# list order; mmapped chunks as sizes), must be identical, and the replay's
# mallinfo2 must equal glibc's own, field by field.
#
# The harness proves itself on the way, whether or not `replay` exists:
#  (a) two runs of the fixture on the same trace (two processes, ASLR on)
#      normalise to the same text and the same mallinfo2;
#  (b) attach's reading of the fixture agrees with the fixture's own facts
#      (live blocks' offsets and sizes, mmapped sizes, the heap start) and
#      with glibc's mallinfo2;
#  (c) perturbed traces (a size changed; two frees swapped) normalise to a
#      different text: the comparison can fail; the fixture refuses
#      malformed traces; the facts check fails on a moved block.
# A heapscope without `replay` fails here, loudly (it is the thing proven).
# tests/traces/glibc_as_model.sh stands in for `replay` to prove the replay
# path itself (glibc as its own model: every comparison passes).
# On a difference the first REPLAY_BISECT (3) failing traces are bisected
# to the first operation after which glibc and the replay disagree
# (REPLAY_KEEP=DIR keeps that prefix of the trace).
#   usage: HEAPSCOPE=build/heapscope [HS_GLIBC=2.43] [REPLAY_SEEDS=20]
#          [REPLAY_OPS=10000] tests/e2e/replay.sh [FILTER]
set -uo pipefail
SUITE=replay
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/../lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
need_file "$HEAPSCOPE"
need_file "$FIXDIR/replay"
GENTRACE=$ROOT/build/tests/gentrace
need_file "$GENTRACE"
FILTER=${1:-}
SEEDS=${REPLAY_SEEDS:-20}
OPS=${REPLAY_OPS:-10000}
WORK=$(new_tmpdir)

# jq_checks PREFIX < "ok\tNAME" / "FAIL\tNAME\tDETAIL" lines
jq_checks() {
	local prefix=$1 st name detail any=0
	while IFS=$'\t' read -r st name detail; do
		any=1
		case $st in
		ok) pass "$prefix $name" ;;
		FAIL) fail "$prefix $name" "$detail" ;;
		*) fail "$prefix checks" "jq: $st $name $detail" ;;
		esac
	done
	[[ $any == 1 ]] || fail "$prefix checks" "jq produced no result"
}

# norm JSON OUT: the normal form of an attach/replay document; 1 if jq fails.
norm() {
	jq -r -f "$HERE/replay_norm.jq" "$1" >"$2" 2>"$2.err" && [[ -s $2 ]]
}

# mallinfo2_diff JSON MALLINFO2.TXT: prints "field json glibc" for every
# field that differs or is missing; empty when all ten agree.
mallinfo2_diff() {
	local f v got
	while read -r f v; do
		got=$(jq -r --arg f "$f" '.mallinfo2[$f] // "missing"' "$1")
		[[ $got == "$v" ]] || echo "$f heapscope=$got glibc=$v"
	done <"$2"
	[[ $(wc -l <"$2") -eq 10 ]] || echo "mallinfo2.txt has $(wc -l <"$2") lines, expected 10"
}

# first_diff A B: the first differing lines of two normal forms.
first_diff() {
	diff -u "$1" "$2" | sed -n '3,$p' | grep -m 12 -B3 -A3 '^[-+]' | head -n 24
}

# drift5 JSON: HS_RC is 5 and the only warnings are glibc 2.43's mremap
# accounting drift: its mremap_chunk adds 16 bytes too many to
# mp_.mmapped_mem at each resize (it subtracts chunksize, which no longer
# holds the mapping's tail), and heapscope says so with exit 5. That warning
# (same count, a few 16-byte steps more in mp_) is glibc's, not the heap's:
# the report is printed and the comparison goes on. Any other warning fails.
drift5() {
	[[ $HS_RC -eq 5 ]] && jq -e '(.warnings | length) > 0 and ([.warnings[] | [
		capture("^mmapped chunks: found (?<n>[0-9]+) \\((?<b>[0-9]+) bytes\\) in the maps, mp_ counts (?<m>[0-9]+) \\((?<c>[0-9]+) bytes\\)$")
		| (.b | tonumber) as $b | (.c | tonumber) as $c
		| .n == .m and $c > $b and ($c - $b) % 16 == 0 and ($c - $b) < 65536] == [true]] | all)' "$1" >/dev/null 2>&1
}

# live_run LABEL TRACE OUTPREFIX: plays TRACE in a fixture, attaches, writes
# OUTPREFIX.json, .norm, .mallinfo2, .facts; stops the fixture. 1 on failure
# (recorded).
live_run() {
	local label=$1 trace=$2 out=$3 d
	start_fixture replay "$trace" || return 1
	d=$FIX_DIR
	if [[ -s $d/stdout || -s $d/stderr ]]; then
		fail "$label: fixture silent" "it printed" "$d/stdout" "$d/stderr"
	fi
	hs "$out.json" "$out.err" attach --json --chunks --bins "$FIX_PID"
	cp "$d/mallinfo2.txt" "$out.mallinfo2"
	cp "$d/facts.txt" "$out.facts"
	stop_fixture "$FIX_PID"
	if drift5 "$out.json"; then
		echo "  note  $label: attach exit 5: $(jq -r '.warnings | join("; ")' "$out.json")"
	elif [[ $HS_RC -ne 0 ]]; then
		fail "$label: attach --json --chunks --bins" "exit $HS_RC" "$out.err"
		return 1
	fi
	if ! norm "$out.json" "$out.norm"; then
		fail "$label: normalise attach output" "jq failed" "$out.norm.err"
		return 1
	fi
	return 0
}

# Does this heapscope have `replay`? Without it the proof cannot be made:
# that is a failure, never a skip.
HAVE_REPLAY=yes
probe=$WORK/probe.trace
printf 'm 1 24\n' >"$probe"
hs "$WORK/probe.json" "$WORK/probe.err" replay --json --chunks --bins "$probe"
if [[ $HS_RC -ne 0 ]]; then
	HAVE_REPLAY=no
	if [[ $HS_RC -eq 2 ]] && grep -q 'not implemented' "$WORK/probe.err"; then
		why="heapscope replay is not implemented in $HEAPSCOPE: the reference core cannot be proven"
	else
		why="heapscope replay exits $HS_RC on a one-line trace"
	fi
	fail "heapscope replay exists" "$why" "$WORK/probe.err"
	echo "  !!!!  THE MODEL IS NOT PROVEN: only the harness's self-checks run below  !!!!"
fi

ASLR=$(cat /proc/sys/kernel/randomize_va_space 2>/dev/null || echo 0)
MOVED=0
PAIRS=0
VERSION=

# prove LABEL TRACE TWICE: the whole check for one trace.
prove() {
	local label=$1 trace=$2 twice=$3 w
	[[ -n $FILTER && $label != *$FILTER* ]] && return 0
	echo "== $label"
	w=$WORK/$(printf '%s' "$label" | tr -c 'A-Za-z0-9._-' '_')
	live_run "$label" "$trace" "$w.a" || return 0
	VERSION=$(jq -r '.target.glibc' "$w.a.json")
	if [[ -n $HS_GLIBC && $HS_GLIBC != host && $VERSION != "$HS_GLIBC" ]]; then
		fail "$label: fixture runs glibc $HS_GLIBC" "attach says $VERSION"
	fi

	# (b) attach against the fixture's own facts and glibc's mallinfo2
	jq_checks "$label: attach vs fixture facts:" < <(jq -r \
		--argjson facts "$(jq -Rn '[inputs]' "$w.a.facts")" -f "$HERE/replay_facts.jq" "$w.a.json" 2>&1)
	local md
	md=$(mallinfo2_diff "$w.a.json" "$w.a.mallinfo2")
	if [[ -z $md ]]; then pass "$label: attach mallinfo2 == glibc's"; else
		fail "$label: attach mallinfo2 == glibc's" "fields differ" "$md"; fi

	# (a) a second process, same trace: same normal form, same mallinfo2
	if [[ $twice == yes ]] && live_run "$label (second run)" "$trace" "$w.b"; then
		PAIRS=$((PAIRS + 1))
		[[ $(head -n1 "$w.a.facts") != $(head -n1 "$w.b.facts") ]] && MOVED=$((MOVED + 1))
		if cmp -s "$w.a.norm" "$w.b.norm" && cmp -s "$w.a.mallinfo2" "$w.b.mallinfo2"; then
			pass "$label: glibc is deterministic (two processes, same normal form, $(wc -l <"$w.a.norm") lines)"
		else
			fail "$label: glibc is deterministic" "two runs differ" "$(first_diff "$w.a.norm" "$w.b.norm")" \
				"$(diff "$w.a.mallinfo2" "$w.b.mallinfo2")"
		fi
	fi

	# the model against glibc
	[[ $HAVE_REPLAY == yes ]] || return 0
	hs "$w.r.json" "$w.r.err" replay --json --chunks --bins --glibc="$VERSION" "$trace"
	if drift5 "$w.r.json"; then
		echo "  note  $label: replay exit 5: $(jq -r '.warnings | join("; ")' "$w.r.json")"
	elif [[ $HS_RC -ne 0 ]]; then
		fail "$label: replay --glibc=$VERSION" "exit $HS_RC" "$w.r.err"
		return 0
	fi
	if ! norm "$w.r.json" "$w.r.norm"; then
		fail "$label: normalise replay output" "jq failed" "$w.r.norm.err"
		return 0
	fi
	local differ=0
	if cmp -s "$w.a.norm" "$w.r.norm"; then
		pass "$label: replay == glibc $VERSION, chunk for chunk and list for list ($(wc -l <"$w.a.norm") lines)"
	else
		differ=1
		fail "$label: replay == glibc $VERSION" "$(basename "$trace"): heaps differ (- glibc, + replay)" \
			"$(first_diff "$w.a.norm" "$w.r.norm")"
	fi
	md=$(mallinfo2_diff "$w.r.json" "$w.a.mallinfo2")
	if [[ -z $md ]]; then pass "$label: replay mallinfo2 == glibc's"; else
		differ=1
		fail "$label: replay mallinfo2 == glibc's" "$(basename "$trace"): fields differ" "$md"; fi
	if [[ $differ == 1 && $BISECTED -lt $BISECT_MAX ]]; then
		BISECTED=$((BISECTED + 1))
		bisect "$label" "$trace" "$w"
	fi
}

# agree PREFIX OUT: glibc and the replay give the same normal form and
# mallinfo2 for trace PREFIX (0), or not (1, also when either cannot run).
agree() {
	live_run "bisect" "$1" "$2" || return 1
	hs "$2.r.json" "$2.r.err" replay --json --chunks --bins --glibc="$VERSION" "$1"
	{ [[ $HS_RC -eq 0 ]] || drift5 "$2.r.json"; } && norm "$2.r.json" "$2.r.norm" || return 1
	cmp -s "$2.norm" "$2.r.norm" && [[ -z $(mallinfo2_diff "$2.r.json" "$2.mallinfo2") ]]
}

# bisect LABEL TRACE W: the shortest prefix of TRACE on which the replay
# and glibc disagree (binary search between an empty prefix, which agrees,
# and the whole trace, which does not): names the line, shows the
# operations before it and the first differences. With REPLAY_KEEP=DIR the
# prefix is kept there as LABEL.trace.
bisect() {
	local label=$1 trace=$2 w=$3 lo=0 hi mid steps=0
	hi=$(wc -l <"$trace")
	while ((hi - lo > 1)); do
		mid=$(((lo + hi) / 2))
		head -n "$mid" "$trace" >"$w.prefix"
		if agree "$w.prefix" "$w.p"; then lo=$mid; else hi=$mid; fi
		steps=$((steps + 1))
	done
	head -n "$hi" "$trace" >"$w.prefix"
	agree "$w.prefix" "$w.p"
	echo "  bisect $label: glibc and the replay first disagree after line $hi of $(basename "$trace") ($steps steps): '$(sed -n "${hi}p" "$trace")'"
	tail -n 6 "$w.prefix" | sed 's/^/        | op  /'
	first_diff "$w.p.norm" "$w.p.r.norm" | sed 's/^/        | /'
	mallinfo2_diff "$w.p.r.json" "$w.p.mallinfo2" | sed 's/^/        | mallinfo2 /'
	if [[ -n ${REPLAY_KEEP:-} ]]; then
		mkdir -p "$REPLAY_KEEP" && cp "$w.prefix" "$REPLAY_KEEP/$(basename "$w").trace" &&
			echo "        | kept as $REPLAY_KEEP/$(basename "$w").trace"
	fi
}
BISECTED=0
BISECT_MAX=${REPLAY_BISECT:-3}

shopt -s nullglob
hand=("$ROOT"/tests/traces/*.trace)
[[ ${#hand[@]} -ge 15 ]] || fail "hand-written traces" "only ${#hand[@]} in tests/traces"
for t in "${hand[@]}"; do
	prove "$(basename "$t" .trace)" "$t" yes
done
for ((s = 1; s <= SEEDS; s++)); do
	g=$WORK/gen$s.trace
	if ! "$GENTRACE" "$s" "$OPS" >"$g"; then
		fail "gentrace $s $OPS" "exit non-zero"
		continue
	fi
	prove "gen seed $s ($OPS ops)" "$g" yes
done

if [[ -z $FILTER ]]; then
	# gentrace is deterministic: the same seed gives the same bytes
	if cmp -s <("$GENTRACE" 7 2000) <("$GENTRACE" 7 2000) && ! cmp -s <("$GENTRACE" 7 2000) <("$GENTRACE" 8 2000); then
		pass "gentrace: same seed same trace, other seed other trace"
	else
		fail "gentrace: deterministic per seed" "two runs of seed 7 differ, or seeds 7 and 8 agree"
	fi

	# (a) was made under ASLR: the heap moved between the two processes
	if [[ $ASLR == 2 ]]; then
		if [[ $MOVED -ge 1 ]]; then
			pass "ASLR moved the heap between runs in $MOVED of $PAIRS pairs (the normal form is offset-based)"
		else
			fail "ASLR moved the heap between runs" "randomize_va_space=2 but sbrk_start was the same in all $PAIRS pairs"
		fi
	else
		skip "ASLR moved the heap between runs" "randomize_va_space=$ASLR: the determinism pairs ran without brk randomisation"
	fi

	# (c) the comparison can fail: perturbed traces normalise differently.
	# perturb LABEL ORIG BASE FILTER: FILTER (a function, stdin to stdout)
	# rewrites trace ORIG; glibc's heap for it must differ from BASE's.
	perturb() {
		local label=$1 orig=$2 base=$3 filter=$4 p
		p=$WORK/perturbed.$label.trace
		"$filter" <"$orig" >"$p"
		if cmp -s "$orig" "$p"; then
			fail "perturbed $label" "the perturbation did not change the trace"
			return
		fi
		live_run "perturbed $label" "$p" "$WORK/perturbed.$label" || return
		if cmp -s "$base.norm" "$WORK/perturbed.$label.norm"; then
			fail "perturbed $label is told apart" "same normal form as the original: the comparison cannot fail"
		else
			pass "perturbed $label is told apart: $(diff "$base.norm" "$WORK/perturbed.$label.norm" | grep -c '^[<>]') lines differ"
		fi
		if [[ $HAVE_REPLAY == yes ]]; then
			hs "$p.r.json" "$p.r.err" replay --json --chunks --bins --glibc="$VERSION" "$orig"
			if { [[ $HS_RC -eq 0 ]] || drift5 "$p.r.json"; } && norm "$p.r.json" "$p.r.norm" && ! cmp -s "$p.r.norm" "$WORK/perturbed.$label.norm"; then
				pass "replay of the original differs from glibc on perturbed $label"
			else
				fail "replay of the original differs from glibc on perturbed $label" "exit $HS_RC, or equal normal forms"
			fi
		fi
	}
	# c1: the first malloc's size grows by 1 KiB (every later offset moves)
	size_up() { awk '!done && $1 == "m" { $3 += 1024; done = 1 } { print }'; }
	# c2: the last two adjacent frees swap (a free list's order changes,
	#     the chunks themselves do not)
	swap_last_frees() {
		tac | awk '!done && prev ~ /^f / && $1 == "f" { print; print prev; prev = ""; done = 1; next }
			{ if (prev != "") print prev; prev = $0 } END { if (prev != "") print prev }' | tac
	}
	t1=$ROOT/tests/traces/01-tcache-fill-drain.trace
	b1=$WORK/01-tcache-fill-drain.a
	g1=$WORK/gen1.trace
	bg1=$WORK/gen_seed_1__${OPS}_ops_.a
	[[ -f $b1.norm ]] && perturb tcache-size "$t1" "$b1" size_up
	[[ -f $b1.norm ]] && perturb tcache-order "$t1" "$b1" swap_last_frees
	[[ -f $bg1.norm ]] && perturb gen1-size "$g1" "$bg1" size_up

	# The fixture refuses a trace it cannot play faithfully: exit 2 and
	# "replay: FILE:LINE: why", before any malloc.
	bad_trace() {
		local why=$1 line=$2 text=$3 bt=$WORK/bad.trace d
		printf '%b' "$text" >"$bt"
		d=$(new_tmpdir)
		local rc=0
		timeout -k 2 10 "${FIXRUN[@]}" "$FIXDIR/replay" "$d" "$bt" >"$d/out" 2>"$d/err" || rc=$?
		if [[ $rc -eq 2 ]] && grep -q "^replay: $bt:$line: " "$d/err" && [[ ! -e $d/ready ]]; then
			pass "the fixture refuses $why (exit 2, line $line named)"
		else
			fail "the fixture refuses $why" "exit $rc" "$d/err"
		fi
	}
	bad_trace "a double free" 3 'm 1 24\nf 1\nf 1\n'
	bad_trace "a realloc of a dead id" 2 '# c\nr 5 10\n'
	bad_trace "an allocation into a live id" 2 'm 1 24\nc 1 2 8\n'
	bad_trace "an unknown operation" 1 'x 1 2\n'
	bad_trace "a missing number" 1 'a 1 64\n'
	bad_trace "a trailing field" 1 'f 1 2\n'

	# (b) the facts check can fail: one live block moved by 16 bytes
	if [[ -f $b1.json ]]; then
		bad=$(awk '!done && $1 == "block" { $3 += 16; done = 1 } { print }' "$b1.facts" | jq -Rn '[inputs]')
		if jq -r --argjson facts "$bad" -f "$HERE/replay_facts.jq" "$b1.json" | grep -q '^FAIL'; then
			pass "the facts check fails on a block moved by 16 bytes"
		else
			fail "the facts check fails on a block moved by 16 bytes" "it passed"
		fi
	fi
fi

if [[ $HAVE_REPLAY != yes ]]; then
	echo "  !!!!  heapscope replay is missing: $FAILED failure(s) include it; the harness itself was checked above  !!!!"
fi
summary
