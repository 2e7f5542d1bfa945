#!/usr/bin/env bash
# Bash completion (cmd/heapscope.bash, issue 13 item 6): sourced in bash,
# _heapscope called with COMP_WORDS/COMP_CWORD as bash sets them. What it
# offers is checked against the binary, not against a list written here:
#   the commands: those the binary names when given an unknown one;
#   each command's options: every option --help and the man page's
#   OPTIONS list, offered after a command exactly when the binary takes
#   it there (it says "CMD does not take --OPT" otherwise), and before the
#   command exactly when it is global (no "give it after the command");
#   --format= values: the binary's own list, and for replay and diff the
#   ones each runs with (exit 0);
#   attach: a running fixture's pid is offered (its maps name libc.so.6),
#   the pid of a static one (no libc.so.6 in its maps) is not; listed
#   with its command name, inserted bare;
#   file names after core, replay, diff and -o;
#   `make install DESTDIR=D` puts the script where bash-completion looks.
#   usage: HEAPSCOPE=build/heapscope tests/e2e/completion.sh
set -uo pipefail
SUITE=completion
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/../lib.sh"
need_file "$HEAPSCOPE"
need_file "$FIXDIR/healthy"
SCRIPT=$ROOT/cmd/heapscope.bash
W=$(new_tmpdir)
[[ -r $SCRIPT ]] || { fail "cmd/heapscope.bash" "missing"; summary; exit 1; }
TRACE=$ROOT/tests/traces/13-realloc.trace

check "bash -n cmd/heapscope.bash" "$(bash -n "$SCRIPT" 2>"$W/n.err"; echo $?)" "$(cat "$W/n.err")"

# comp [COMP_TYPE=N] WORDS...: what _heapscope offers for the last word,
# one a line, sorted (in a bash that sourced the script and nothing else).
comp() {
	local type=9
	[[ $1 == COMP_TYPE=* ]] && type=${1#COMP_TYPE=} && shift
	bash --norc --noprofile -c '
		source "$1" || exit 9
		shift
		COMP_WORDS=("$@")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		COMP_LINE="$*" COMP_POINT=${#COMP_LINE} COMP_TYPE='"$type"'
		_heapscope heapscope "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
		printf "%s\n" "${COMPREPLY[@]}"' _ "$SCRIPT" "$@" 2>>"$W/comp.err" | sort
}
# is LABEL GOT WANT: two lists (one a line) equal, as sets.
is() {
	if [[ $(sort -u <<<"$2") == "$(sort -u <<<"$3")" ]]; then pass "$1"; else
		fail "$1" "offered and wanted differ (< offered, > wanted)" "$(diff <(sort -u <<<"$2") <(sort -u <<<"$3"))"
	fi
}

echo "== registered, commands"
check "complete -F _heapscope heapscope" \
	"$(bash --norc -c 'source "$1" && complete -p heapscope' _ "$SCRIPT" 2>&1 | grep -q -- '-F _heapscope heapscope$'; echo $?)"
# the binary's command table, as it names it: "use attach, replay, core or diff"
"$HEAPSCOPE" no-such-command >/dev/null 2>"$W/cmds.err"
cmds=$(sed -nE "s/.*: use (.*) \(see.*/\1/p" "$W/cmds.err" | sed -E 's/,? or /, /; s/, /\n/g')
check "the binary names its commands" "$([[ $(wc -l <<<"$cmds") -ge 4 ]]; echo $?)" "$(cat "$W/cmds.err")"
is "commands: those of the binary's table" "$(comp heapscope '')" "$cmds"
is "a prefix: 'r' gives replay" "$(comp heapscope r)" "replay"

echo "== options: offered where the binary takes them"
# every long option of --help and of the man page's OPTIONS (-o, -j, ... are
# their short forms)
{
	"$HEAPSCOPE" --help | grep -oE -- '--[a-z][a-z-]*'
	sed -n '/^\.SH OPTIONS/,/^\.SH /p' "$ROOT/man/heapscope.1" | grep -E '^\.(B|BI|BR) ' |
		grep -oE -- '\\-\\-[a-z][a-z\\-]*' | sed 's/\\//g'
} | sort -u >"$W/options"
check "options listed: $(wc -l <"$W/options") (--help and man page)" "$([[ $(wc -l <"$W/options") -ge 15 ]]; echo $?)"
# a value each option accepts, so that the binary gets to the command's check
value() {
	case $1 in
	--format) echo =text ;; --glibc) echo =2.36 ;; --word-size) echo =8 ;; --heap-base) echo =10000 ;;
	--max-stop) echo =1s ;; --sysroot) echo =/ ;; --output) echo "=$W/o" ;; --interval) echo =1 ;; --count) echo =1 ;;
	esac
}
# offered NAMES: the options given as NAME (the "=" of --opt= dropped)
names() { sed 's/=.*//' | sort -u; }
for c in $cmds ""; do
	took= offered=$(comp heapscope ${c:+"$c"} - | names)
	while read -r o; do
		[[ $o == --help || $o == --version ]] && { took+="$o"$'\n'; continue; }
		if [[ -n $c ]]; then
			"$HEAPSCOPE" "$c" "$o$(value "$o")" >/dev/null 2>"$W/o.err"
			grep -qF -- "does not take $o" "$W/o.err" || took+="$o"$'\n'
		else
			# global: before a command that takes it, not refused
			for k in $cmds; do
				"$HEAPSCOPE" "$o$(value "$o")" "$k" >/dev/null 2>"$W/o.err"
				if ! grep -qE -- "does not take $o|give it after the command" "$W/o.err"; then
					took+="$o"$'\n'
					break
				fi
			done
		fi
		rm -f "$W/o"
	done <"$W/options"
	is "${c:-before the command}: the long options offered are those the binary takes" \
		"$(grep -- '^--' <<<"$offered")" "$(grep -v '^$' <<<"$took")"
done
is "attach: the short options" "$(comp heapscope attach - | grep -E '^-[a-zA-Z]$')" $'-j\n-p\n-o\n-h\n-V'
is "attach --leaks: --leaks and --leaks=all" "$(comp heapscope attach --le)" $'--leaks\n--leaks=all'
is "attach --leaks=: all" "$(comp heapscope attach --leaks = '')" "all"

echo "== --format= values"
"$HEAPSCOPE" attach --format=nope 1 >/dev/null 2>"$W/f.err"
formats=$(sed -nE "s/.*: use (.*) \(see.*/\1/p" "$W/f.err" | sed -E 's/,? or /, /; s/, /\n/g')
check "the binary names its formats" "$([[ $(wc -l <<<"$formats") -ge 5 ]]; echo $?)" "$(cat "$W/f.err")"
is "attach --format=: the binary's formats" "$(comp heapscope attach --format = '')" "$formats"
is "before the command: the binary's formats" "$(comp heapscope --format = '')" "$formats"
is "core --format=: the binary's formats" "$(comp heapscope core --format = '')" "$formats"
is "--format=js as one word (no '=' in COMP_WORDBREAKS)" "$(comp heapscope attach --format=js)" "--format=json"
"$HEAPSCOPE" replay --json "$TRACE" >"$W/a.json" 2>/dev/null
for c in replay diff; do
	ok=
	for f in $formats; do
		if [[ $c == replay ]]; then
			"$HEAPSCOPE" replay --format="$f" "$TRACE" >/dev/null 2>&1
		else
			"$HEAPSCOPE" diff --format="$f" "$W/a.json" "$W/a.json" >/dev/null 2>&1
		fi && ok+="$f"$'\n'
	done
	is "$c --format=: the formats $c runs with" "$(comp heapscope "$c" --format = '')" "$(grep -v '^$' <<<"$ok")"
done

echo "== files"
mkdir -p "$W/f"
touch "$W/f/old.json" "$W/f/other"
for c in core replay diff; do
	is "$c: file names" "$(comp heapscope "$c" "$W/f/o")" "$W/f/old.json"$'\n'"$W/f/other"
done
is "attach -o: file names" "$(comp heapscope attach -o "$W/f/ol")" "$W/f/old.json"
is "-jo before the command: file names" "$(comp heapscope -jo "$W/f/ol")" "$W/f/old.json"
is "--output=: file names" "$(comp heapscope diff --output = "$W/f/ol")" "$W/f/old.json"
is "after -o FILE: the command" "$(comp heapscope -o "$W/f/x" a)" "attach"
is "core --sysroot=: directories" "$(comp heapscope core --sysroot = "$W/")" "$W/f"

echo "== attach: pids of processes that load libc.so.6"
if start_fixture healthy; then
	pid=$FIX_PID
	check "healthy's maps name libc.so.6 (the precondition)" "$(grep -qF libc.so.6 "/proc/$pid/maps"; echo $?)"
	check "attach: pid $pid (healthy) offered" "$(comp heapscope attach '' | grep -qx "$pid"; echo $?)"
	is "attach $pid: inserted bare" "$(comp heapscope attach "$pid")" "$pid"
	check "attach, listed (COMP_TYPE 63): \"$pid (healthy)\"" \
		"$(comp COMP_TYPE=63 heapscope attach '' | grep -qx "$pid (healthy)"; echo $?)" \
		"$(comp COMP_TYPE=63 heapscope attach '' | head -n 5)"
	# (glibc linked in, run as it is, not through a matrix version's ld.so)
	fixrun=("${FIXRUN[@]}")
	FIXRUN=()
	if [[ -x $ROOT/build/fixtures-static/classic ]] && FIXDIR=$ROOT/build/fixtures-static start_fixture classic; then
		spid=$FIX_PID
		check "static classic's maps have no libc.so.6 (the precondition)" "$(grep -qF libc.so.6 "/proc/$spid/maps"; [[ $? -eq 1 ]]; echo $?)"
		check "attach: pid $spid (static, no libc.so.6) not offered" \
			"$(comp heapscope attach '' | grep -qx "$spid"; [[ $? -eq 1 ]]; echo $?)"
		stop_fixture "$spid"
	else
		fail "static fixture" "build/fixtures-static/classic did not start (make all builds it)"
	fi
	FIXRUN=("${fixrun[@]}")
	stop_fixture "$pid"
fi
check "no message from the completion function" "$([[ ! -s $W/comp.err ]]; echo $?)" "$W/comp.err"

echo "== make install"
D=$W/dest
make -s -C "$ROOT" install DESTDIR="$D" PREFIX=/usr >"$W/install.out" 2>&1
check "make install DESTDIR: usr/share/bash-completion/completions/heapscope is cmd/heapscope.bash" \
	"$(cmp -s "$D/usr/share/bash-completion/completions/heapscope" "$SCRIPT"; echo $?)" "$W/install.out"

summary
