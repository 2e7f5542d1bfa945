#!/usr/bin/env bash
# --redact and HEAPSCOPE_REDACT (issue 14, item 5): against a fixture that
# planted a known secret in leaked, pinned, kept and free chunks of every
# kind (fixtures/secret.c), no output format and no option carries the
# secret, as text or as hex in any of the forms the renderers use (hex
# pairs spaced by one or two blanks, hex without separators, a word read
# little-endian as an address), on stdout or stderr. Without redaction the
# same patterns find it (the check can fail); redaction changes nothing
# but the previews (same suspects, pins, C++ type names; malloc-stats and
# malloc-info byte for byte the same).
#   usage: HEAPSCOPE=build/heapscope tests/e2e/redact.sh
set -uo pipefail
SUITE=redact
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/../lib.sh"
need_file "$HEAPSCOPE"

T=$(new_tmpdir)

# patterns SECRET: $T/ascii (fixed strings: every 8-character window that
# is not all hex digits and dashes) and $T/hex (extended regexps, matched
# without regard to case: every 5-byte window as hex forward, forward with
# blanks between the pairs, and backward: the bytes of a little-endian word).
patterns() {
	local s=$1 i w n=${#1} b
	: >"$T/ascii"
	: >"$T/hex"
	for ((i = 0; i + 8 <= n; i++)); do
		w=${s:i:8}
		[[ $w =~ ^[0-9a-fA-F-]+$ ]] || printf '%s\n' "$w" >>"$T/ascii"
	done
	local -a h=()
	for ((i = 0; i < n; i++)); do
		printf -v b '%02x' "'${s:i:1}"
		h+=("$b")
	done
	for ((i = 0; i + 5 <= n; i++)); do
		printf '%s%s%s%s%s\n' "${h[@]:i:5}"
		printf '%s +%s +%s +%s +%s\n' "${h[@]:i:5}"
		printf '%s%s%s%s%s\n' "${h[i + 4]}" "${h[i + 3]}" "${h[i + 2]}" "${h[i + 1]}" "${h[i]}"
	done >>"$T/hex"
}

# traces FILE...: the lines of FILEs that hold the secret in any form.
traces() {
	grep -H -F -f "$T/ascii" -- "$@"
	grep -H -E -i -f "$T/hex" -- "$@"
}

# clean NAME OUT ERR: neither file holds the secret in any form.
clean() {
	local found
	found=$(traces "$2" "$3" | cut -c 1-300 | head -n 5)
	if [[ -z $found ]]; then pass "$1: no trace of the secret"; else
		fail "$1: no trace of the secret" "found" "$found"
	fi
}

formats=("" --json --pretty --format=malloc-stats --format=malloc-info)
options=("" --chunks --bins --leaks --leaks=all "--leaks=all --chunks --bins --compare")

if start_fixture secret; then
	pid=$FIX_PID d=$FIX_DIR
	secret=$(awk '$1 == "secret" {print $2}' "$d/facts.txt")
	if [[ ${#secret} -ge 16 ]]; then pass "the fixture planted a secret of ${#secret} bytes"; else
		fail "the fixture planted a secret" "facts.txt says '$secret'" "$d/facts.txt"
	fi
	patterns "$secret"

	echo "== without --redact the patterns find the secret (this check can fail)"
	hs "$T/plain.txt" "$T/plain.err" attach --leaks=all "$pid"
	check "text --leaks=all: exit 0" "$HS_RC" "exit $HS_RC" "$T/plain.err"
	grep -q -F -- "${secret:0:16}" "$T/plain.txt"
	check "text: a suspect's preview shows the secret as ASCII" $? "$(grep -A6 suspects "$T/plain.txt")"
	grep -A4 '^pinned' "$T/plain.txt" | grep -q -E -i -f "$T/hex"
	check "text: a pin's first bytes show it as hex pairs (two blanks after the 8th)" $? "$(grep -A4 '^pinned' "$T/plain.txt")"
	hs "$T/plain.json" "$T/plain.jerr" attach --json --leaks=all "$pid"
	check "json --leaks=all: exit 0" "$HS_RC" "exit $HS_RC" "$T/plain.jerr"
	jq -e --arg s "$secret" '[.leaks.suspects[] | select(.preview | contains($s))] | length == 4' "$T/plain.json" >/dev/null
	check "json: all 4 leaked chunks' previews hold the whole secret" $? "$(jq -c '.leaks.suspects' "$T/plain.json" | cut -c 1-400)"
	jq -r '.pins[0].preview' "$T/plain.json" | grep -q -E -i -f "$T/hex"
	check "json: the pin's preview holds it as hex" $? "$(jq -c '.pins' "$T/plain.json" | cut -c 1-400)"
	first=$(jq -r '.pins[0].first_word' "$T/plain.json")
	grep -q -E -i -f "$T/hex" <<<"$first"
	check "json: the pin's first_word holds it as a little-endian word ($first)" $? "$(jq -c '.pins' "$T/plain.json" | cut -c 1-400)"
	HEAPSCOPE_REDACT=0 hs "$T/zero.json" "$T/zero.err" attach --json --leaks "$pid"
	[[ $HS_RC -eq 0 ]] && jq -e '.redacted == null' "$T/zero.json" >/dev/null && [[ -n $(traces "$T/zero.json") ]]
	check "HEAPSCOPE_REDACT=0 does not redact" $? "exit $HS_RC" "$T/zero.err"

	echo "== --redact, and HEAPSCOPE_REDACT=1, in every format with every option"
	for how in flag env; do
		for f in "${formats[@]}"; do
			for o in "${options[@]}"; do
				name="$how ${f:-text} ${o:-(no option)}"
				out=$T/out.$how.${f//[^a-z]/}.${o//[^a-z]/}
				# shellcheck disable=SC2086 # option lists, split on purpose
				if [[ $how == flag ]]; then
					hs "$out" "$out.err" attach --redact $f $o "$pid"
				else
					HEAPSCOPE_REDACT=1 hs "$out" "$out.err" attach $f $o "$pid"
				fi
				if [[ $HS_RC -ne 0 || ! -s $out ]]; then
					fail "$name: exit 0 and a report" "exit $HS_RC" "$out.err"
					continue
				fi
				clean "$name" "$out" "$out.err"
				case $f in
				--json | --pretty)
					jq -e '.redacted == true' "$out" >/dev/null
					check "$name: \"redacted\": true" $? "$(head -c 300 "$out")"
					;;
				"")
					grep -q '^redacted: ' "$out"
					check "$name: the text says it is redacted" $? "$(head -n 5 "$out")"
					;;
				esac
			done
		done
	done

	echo "== a global option: before the command too"
	hs "$T/before.json" "$T/before.err" --redact --json attach --leaks=all "$pid"
	[[ $HS_RC -eq 0 ]] && jq -e '.redacted == true' "$T/before.json" >/dev/null
	check "heapscope --redact --json attach: redacted" $? "exit $HS_RC" "$T/before.err"
	clean "heapscope --redact --json attach" "$T/before.json" "$T/before.err"

	echo "== what redaction keeps and what it says instead"
	r=$T/out.flag.json.leaksall
	if [[ -s $r ]]; then
		# the same suspects and pins, every field but the bytes the same
		strip='del(.preview, .preview_description, .preview_runs, .first_word)'
		a=$(jq -c "[.leaks.suspects[] | $strip], [.pins[] | $strip], .leaks.by_size, .types" "$T/plain.json")
		b=$(jq -c "[.leaks.suspects[] | $strip], [.pins[] | $strip], .leaks.by_size, .types" "$r")
		[[ -n $a && $a == "$b" ]]
		check "the same suspects, pins, sizes and types, redacted or not" $? "plain:    ${a:0:300}" "redacted: ${b:0:300}"
		# (glibc 2.42 and later allocate the tcache at the first free: its
		# tcache_perthread_struct is a pin too, with counts, not the secret)
		jq -e '[.leaks.suspects[], .pins[]] | length >= 6 and all(.preview == null
			and ([.preview_runs[] | .bytes] | add) == 32
			and (.type == "tcache_perthread_struct"
			     or (.preview_description | test("^32 B: text 22 B, zeros 10 B$"))))' "$r" >/dev/null
		check "every preview is null and described (the secret's: \"32 B: text 22 B, zeros 10 B\"), runs adding up to 32" $? \
			"$(jq -c '[.leaks.suspects[], .pins[]] | map({preview, preview_description, preview_runs})' "$r" | cut -c 1-400)"
		jq -e '.pins | length >= 1 and all(.first_word == null)' "$r" >/dev/null
		check "every pin's first_word is null" $? "$(jq -c '.pins' "$r" | cut -c 1-300)"
		grep -q -E '^  0x[0-9a-f]+ +[0-9]+ \(32 B: text 22 B, zeros 10 B\)$' "$T/out.flag..leaksall"
		check "text: a suspect's preview is its description" $? "$(grep -A8 suspects "$T/out.flag..leaksall")"
	else
		fail "the redacted JSON to compare" "missing" ""
	fi
	# glibc's own formats carry no bytes: redaction leaves them as they are
	for f in malloc-stats malloc-info; do
		hs "$T/$f.plain" "$T/$f.err" attach --format=$f "$pid"
		cmp -s "$T/$f.plain" "$T/out.flag.format${f//-/}."
		check "--format=$f: byte for byte the same with --redact" $? "$(diff "$T/$f.plain" "$T/out.flag.format${f//-/}." | head)"
	done
	stop_fixture "$pid"
fi

echo "== C++ type names (from symbols) stay"
if [[ ! -x $FIXDIR/types ]]; then
	skip "types" "C++ fixtures are not built for the matrix (tests/matrix/cc.sh builds C): run without HS_GLIBC"
elif start_fixture types; then
	hs "$T/types.plain" "$T/types.err" attach --json --leaks=all "$FIX_PID"
	hs "$T/types.red" "$T/types.rerr" attach --json --leaks=all --redact "$FIX_PID"
	q='[.types, .leaks.by_type, [.leaks.suspects[] | .type]]'
	a=$(jq -c "$q" "$T/types.plain")
	b=$(jq -c "$q" "$T/types.red")
	[[ $a == *Session* && $a == "$b" ]]
	check "types, by_type and the suspects' types are the same with --redact" $? "plain:    ${a:0:300}" "redacted: ${b:0:300}"
	stop_fixture "$FIX_PID"
fi

echo "== replay takes --redact"
hs "$T/replay.json" "$T/replay.err" replay --redact --json "$ROOT/tests/traces/01-tcache-fill-drain.trace"
[[ $HS_RC -eq 0 ]] && jq -e '.redacted == true' "$T/replay.json" >/dev/null
check "replay --redact --json: exit 0, redacted" $? "exit $HS_RC" "$T/replay.err"

echo "== --help names it"
"$HEAPSCOPE" --help >"$T/help" 2>&1
grep -q -- '--redact' "$T/help" && grep -q 'HEAPSCOPE_REDACT' "$T/help"
check "--help names --redact and HEAPSCOPE_REDACT" $? "$T/help"

summary
