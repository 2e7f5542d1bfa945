#!/usr/bin/env bash
# The command line's grammar (man/heapscope.1, SYNOPSIS):
#     heapscope [GLOBAL OPTIONS] COMMAND [OPTIONS] OPERANDS
# A global option before the command gives exactly what it gives after it
# (stdout, stderr, exit code); an option the command does not take, a
# command's option before the command, an unknown command and a missing
# operand are each exit 2 with one line on stderr naming what is wrong,
# nothing on stdout, and the target untouched.
#   usage: HEAPSCOPE=build/heapscope tests/e2e/cli.sh
set -uo pipefail
SUITE=cli
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/../lib.sh"
need_file "$HEAPSCOPE"

W=$(new_tmpdir)
TRACE=$ROOT/tests/traces/13-realloc.trace

# The timings (and the predicted stop) are the only bytes two reports of a quiet target may differ in.
# Timings aside, and the process split (each run measures the target
# afresh; libunwind's reads of libc's .eh_frame map page-cache pages into
# it once: RssFile, see the closing note of issue 11): diagnose.sh checks
# the split itself.
norm() {
	if jq -e . "$1" >/dev/null 2>&1; then
		jq -S 'del(.snapshot.stopped_ms, .snapshot.total_ms, .snapshot.predicted_stop_ms, .process)' "$1"
	else
		sed -E 's/[0-9]+\.[0-9]+ ms/N ms/g' "$1" | awk '/^process:/ {skip = 1; next} skip && /^  / {next} {skip = 0; print}'
	fi
}

# run TAG ARGS...: $W/TAG.out, $W/TAG.err, $W/TAG.rc
run() {
	local tag=$1 rc=0
	shift
	timeout -k 5 120 "$HEAPSCOPE" "$@" >"$W/$tag.out" 2>"$W/$tag.err" || rc=$?
	echo "$rc" >"$W/$tag.rc"
}

# same NAME "GLOBAL..." CMD OPERAND: GLOBAL before CMD and after it give the same.
same() {
	local name=$1 glob=$2 cmd=$3 operand=$4
	# shellcheck disable=SC2086 # GLOBAL is a list of options, split on purpose
	run before $glob "$cmd" "$operand"
	# shellcheck disable=SC2086
	run after "$cmd" $glob "$operand"
	local rb ra
	rb=$(<"$W/before.rc") ra=$(<"$W/after.rc")
	if [[ $rb == "$ra" ]] && cmp -s "$W/before.err" "$W/after.err" &&
		cmp -s <(norm "$W/before.out") <(norm "$W/after.out"); then
		pass "$name: '$glob $cmd' = '$cmd $glob' (exit $rb, $(wc -c <"$W/after.out") bytes)"
	else
		fail "$name: '$glob $cmd' = '$cmd $glob'" "exit $rb vs $ra" "$W/before.err" "$W/after.err" \
			"$(diff <(norm "$W/before.out") <(norm "$W/after.out") | head -n 10)"
	fi
}

# refused NAME WANT_SUBSTRING ARGS...: exit 2, one line naming WANT; stdout
# empty, or with a JSON option on the line, the error as one JSON object.
refused() {
	local name=$1 want=$2
	shift 2
	run r "$@"
	local rc lines
	rc=$(<"$W/r.rc")
	lines=$(wc -l <"$W/r.err")
	local out_ok=no
	if [[ ! -s $W/r.out ]] || jq -e '.exit == 2 and (.error | length) > 0' "$W/r.out" >/dev/null 2>&1; then
		out_ok=yes
	fi
	if [[ $rc == 2 && $lines == 1 && $out_ok == yes ]] && grep -qF -- "$want" "$W/r.err"; then
		pass "$name: exit 2, one line naming '$want'"
	else
		fail "$name: exit 2, one line naming '$want'" "exit $rc, $lines lines, stdout $(wc -c <"$W/r.out") bytes" "$W/r.err"
	fi
}

echo "== global options before the command"
if start_fixture classic 2000; then
	pid=$FIX_PID
	for g in --json -j -p --pretty --format=json --format=malloc-stats --format=malloc-info --format=text \
		--no-debuginfo "--no-debuginfo --json" "-j --format=text"; do
		same "attach" "$g" attach "$pid"
	done
	# and where the run fails: the same message and exit code
	true &
	gone=$!
	wait "$gone" 2>/dev/null
	while [[ -e /proc/$gone ]]; do gone=$((gone + 7919)); done
	same "attach to no process" --json attach "$gone"
	[[ $(<"$W/after.rc") == 3 ]]
	check "attach to no process: exit 3" $? "exit $(<"$W/after.rc")"
	# the global option really is applied before the command: JSON, not text
	run j --json attach "$pid"
	head -c 1 "$W/j.out" | grep -q '{'
	check "--json attach PID prints JSON" $? "$(head -c 80 "$W/j.out")"
	run t attach "$pid"
	head -c 1 "$W/t.out" | grep -q '{'
	[[ $? -ne 0 && -s $W/t.out ]]
	check "attach PID prints text" $? "$(head -c 80 "$W/t.out")"

	echo "== options a command does not take, and command options before the command"
	# attach takes --glibc for a program that names no version; this one
	# names the host's, and another is a usage error
	other_v=2.31
	[[ $(getconf GNU_LIBC_VERSION) == "glibc 2.31" ]] && other_v=2.41
	refused "attach --glibc=$other_v on a glibc $(getconf GNU_LIBC_VERSION | cut -d' ' -f2) program" \
		"--glibc=$other_v, but" attach --glibc="$other_v" "$pid"
	refused "attach --word-size" "--word-size" attach --word-size=4 "$pid"
	refused "attach --heap-base" "--heap-base" attach --heap-base=0x555555559000 "$pid"
	refused "--leaks before attach" "--leaks" --leaks attach "$pid"
	refused "--compare before attach" "--compare" --compare attach "$pid"
	refused "--chunks before attach" "--chunks" --chunks attach "$pid"
	alive "refused command lines leave the target alive, running, untraced" "$pid"
	stop_fixture "$pid"
fi
for g in --json -p --format=malloc-stats --format=malloc-info "--json --format=text"; do
	same "replay" "$g" replay "$TRACE"
done
refused "replay --leaks" "--leaks" replay --leaks "$TRACE"
refused "replay --no-debuginfo" "--no-debuginfo" replay --no-debuginfo "$TRACE"
refused "--no-debuginfo before replay" "--no-debuginfo" --no-debuginfo replay "$TRACE"
refused "--glibc before replay" "--glibc" --glibc=2.31 replay "$TRACE"

echo "== commands and operands"
refused "no command" "no command" --json
refused "unknown command" "unknown command 'frobnicate'" frobnicate 1
refused "unknown command after a global option" "unknown command 'frobnicate'" --json frobnicate 1
refused "attach without a PID" "needs a PID" attach
refused "--json attach without a PID" "needs a PID" --json attach
refused "attach with two PIDs" "unexpected argument '2'" attach 1 2
refused "replay without a TRACE" "needs a TRACE" -j replay
refused "an unknown letter" "'-x'" attach -jx 1
refused "a value missing" "--format" attach 1 --format

echo "== --help and --version anywhere"
for a in --help -h --version -V; do
	run top "$a"
	for where in "--json $a" "attach $a" "replay $a" "--json attach $a"; do
		# shellcheck disable=SC2086
		run here $where
		if [[ $(<"$W/here.rc") == 0 && ! -s $W/here.err ]] && cmp -s "$W/top.out" "$W/here.out" && [[ -s $W/top.out ]]; then
			pass "'$where' prints what '$a' prints, exit 0"
		else
			fail "'$where' prints what '$a' prints, exit 0" "exit $(<"$W/here.rc")" "$W/here.err"
		fi
	done
done
summary
