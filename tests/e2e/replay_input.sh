#!/usr/bin/env bash
# replay's command line: every bad trace or option is its documented exit
# code (2) with one line on stderr naming FILE:LINE where there is one, and
# nothing on stdout; a good trace gives the JSON contract of replay
# (target.pid 0, target.exe the trace, target.glibc the model's version,
# symbols.source "refcore"). The numbers themselves are proven against the
# real glibc elsewhere (tests/e2e/replay.sh, tests/unit/test_refcore.c).
#   usage: HEAPSCOPE=build/heapscope tests/e2e/replay_input.sh
set -uo pipefail
SUITE=replay_input
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/../lib.sh"
need_file "$HEAPSCOPE"
command -v jq >/dev/null || { echo "replay_input: jq is needed" >&2; exit 2; }

W=$(new_tmpdir)

# expect NAME WANT_RC WANT_STDERR_SUBSTRING -- CMD...
expect() {
	local name=$1 want=$2 msg=$3 rc=0
	shift 4
	timeout -k 5 60 "$@" >"$W/out" 2>"$W/err" || rc=$?
	if [[ $rc -eq $want ]]; then pass "$name: exit $want"; else fail "$name: exit $want" "exit $rc" "$W/err"; fi
	if [[ $(wc -l <"$W/err") -eq 1 ]] && grep -qF -- "$msg" "$W/err"; then pass "$name: one line naming '$msg'"; else
		fail "$name: one line naming '$msg'" "stderr" "$W/err"; fi
	if [[ ! -s $W/out ]]; then pass "$name: nothing on stdout"; else fail "$name: nothing on stdout" "stdout" "$W/out"; fi
}

printf 'm 1 10\n# fine\n\nm 2 0x20\nx 3\n' >"$W/op.tr"
printf 'm 1 10\nm 2\n' >"$W/args.tr"
printf 'm 1 -5\n' >"$W/neg.tr"
printf 'm 1 10\nf 2\n' >"$W/unknown.tr"
printf 'r 9 10\n' >"$W/unknown_r.tr"
printf 'm 1 99999999999999999999999\n' >"$W/big.tr"
printf 'm 1 10\0\n' >"$W/nul.tr"
printf 'm a 24\nm b 100\nf b\nc c 3 10\nr a 4000\na d 64 100\nm e 200000\nt 0\n' >"$W/good.tr"

echo "== bad traces and options (exit 2)"
expect "unknown operation" 2 "op.tr:5:" -- "$HEAPSCOPE" replay "$W/op.tr"
expect "missing argument" 2 "args.tr:2:" -- "$HEAPSCOPE" replay "$W/args.tr"
expect "negative size" 2 "neg.tr:1:" -- "$HEAPSCOPE" replay "$W/neg.tr"
expect "free of an unknown ID" 2 "unknown.tr:2:" -- "$HEAPSCOPE" replay "$W/unknown.tr"
expect "realloc of an unknown ID" 2 "unknown_r.tr:1:" -- "$HEAPSCOPE" replay "$W/unknown_r.tr"
expect "size out of range" 2 "big.tr:1:" -- "$HEAPSCOPE" replay "$W/big.tr"
expect "binary trace" 2 "nul.tr:1:" -- "$HEAPSCOPE" replay "$W/nul.tr"
expect "no such trace" 2 "nosuch.tr" -- "$HEAPSCOPE" replay "$W/nosuch.tr"
expect "no trace" 2 "TRACE" -- "$HEAPSCOPE" replay
expect "two traces" 2 "unexpected" -- "$HEAPSCOPE" replay "$W/good.tr" "$W/good.tr"
expect "--glibc=2.42 (not modelled)" 2 "2.42" -- "$HEAPSCOPE" replay --glibc=2.42 "$W/good.tr"
expect "--glibc=3.1" 2 "--glibc" -- "$HEAPSCOPE" replay --glibc=3.1 "$W/good.tr"
expect "--glibc=2.36x" 2 "--glibc" -- "$HEAPSCOPE" replay --glibc=2.36x "$W/good.tr"
expect "--word-size=5" 2 "--word-size" -- "$HEAPSCOPE" replay --word-size=5 "$W/good.tr"
# (attach takes --glibc too, for a static program that names no version:
# cli.sh and sources.sh check it there)
expect "--word-size on attach" 2 "replay" -- "$HEAPSCOPE" attach --word-size=8 1
expect "--heap-base=xyz" 2 "--heap-base" -- "$HEAPSCOPE" replay --heap-base=xyz "$W/good.tr"
expect "--heap-base not page-aligned" 2 "page-aligned" -- "$HEAPSCOPE" replay --heap-base=0x555555559001 "$W/good.tr"
expect "--heap-base on attach" 2 "replay" -- "$HEAPSCOPE" attach --heap-base=0x555555559000 1
expect "--leaks on replay" 2 "replay" -- "$HEAPSCOPE" replay --leaks "$W/good.tr"

echo "== the JSON contract of replay"
for v in 2.31 2.36 2.41 2.43; do
	for w in 8 4; do
		rc=0
		"$HEAPSCOPE" replay --glibc=$v --word-size=$w --chunks --bins --json "$W/good.tr" >"$W/j" 2>"$W/e" || rc=$?
		nw=$(jq '.warnings | length' "$W/j" 2>/dev/null || echo bad)
		[[ $rc -eq 0 && $nw == 0 ]]
		check "glibc $v, $w-byte words: exit 0, no warning" $? "exit $rc, warnings $nw"
		jq -e --arg v "$v" --arg exe "$W/good.tr" '.target.pid == 0 and .target.exe == $exe and
			.target.glibc == $v and .symbols.source == "refcore"' "$W/j" >/dev/null
		check "glibc $v, $w-byte words: target and symbols" $? "$(jq -c '.target, .symbols' "$W/j")"
		base=$([[ $w == 8 ]] && echo 0x555555559000 || echo 0x56559000)
		jq -e --arg b "$base" '.arenas[0].heaps[0].start == $b' "$W/j" >/dev/null
		check "glibc $v, $w-byte words: the heap starts at the simulated sbrk base" $? "$(jq -c '.arenas[0].heaps' "$W/j")"
	done
done
for f in text malloc-stats malloc-info; do
	rc=0
	"$HEAPSCOPE" replay --format=$f "$W/good.tr" >"$W/o" 2>"$W/e" || rc=$?
	[[ $rc -eq 0 && -s $W/o && ! -s $W/e ]]
	check "--format=$f: exit 0, output, nothing on stderr" $? "exit $rc: $(cat "$W/e")"
done
summary
