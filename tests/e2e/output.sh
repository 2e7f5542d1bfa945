#!/usr/bin/env bash
# -o, --output=FILE (issue 13, item 6): the report that stdout would get,
# in FILE, whole or not at all (a file in FILE's directory, fsync'd and
# renamed over FILE). For attach (text, --json, --format=prometheus),
# replay, diff and core:
#   FILE holds what stdout holds without -o (timings aside: each run times
#   itself), stdout is empty, stderr too; an existing FILE is replaced
#   (a new inode: renamed over, not rewritten) with the mode a new file
#   gets (0666 less the umask);
#   a report with exit 5 (a thread stuck inside malloc) is in FILE;
#   a run that fails before a report (no such pid: exit 3; with --json the
#   error object on stdout, as without -o) leaves FILE byte for byte and
#   inode as it was;
#   FILE in a missing directory, in a directory heapscope may not write
#   (as user nobody: root writes everywhere), FILE a directory, FILE a
#   fifo, FILE an empty name: exit 2, one line on stderr naming FILE;
#   FILE a symbolic link (to a file, a directory, a fifo): the link is
#   replaced by the report, what it led to is untouched;
#   a write that fails (RLIMIT_FSIZE: EFBIG, as a full disk would give
#   ENOSPC) is exit 1 with one line naming FILE and why, FILE as it was;
#   no other file is ever left in FILE's directory, not even by a
#   heapscope killed mid-run (SIGKILL, SIGTERM: the file has no name yet);
#   a reader polling FILE while it is rewritten again and again reads a
#   whole report every time (complete JSON; "# EOF" last for prometheus).
#   usage: HEAPSCOPE=build/heapscope tests/e2e/output.sh
set -uo pipefail
SUITE=output
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/../lib.sh"
need_file "$HEAPSCOPE"
need_file "$FIXDIR/healthy"

TRACE=$ROOT/tests/traces/13-realloc.trace
W=$(new_tmpdir)

# norm FILE: a report without what each run measures afresh: its timings,
# the predicted stop, and the process split (the target's RssFile moves
# once libunwind has read libc's .eh_frame: cli.sh says why).
norm() {
	if jq -e 'type == "object"' "$1" >/dev/null 2>&1; then
		jq -S 'del(.snapshot.stopped_ms, .snapshot.total_ms, .snapshot.predicted_stop_ms, .process)' "$1"
	elif [[ $(tail -n 1 "$1") == "# EOF" ]]; then
		grep -vE '^heapscope_(snapshot_(stop|duration|predicted_stop)_seconds|process_)' "$1"
	else
		sed -E 's/[0-9]+\.[0-9]+ ms/N ms/g' "$1" | awk '/^process:/ {skip = 1; next} skip && /^  / {next} {skip = 0; print}'
	fi
}

# only DIR NAME...: DIR holds exactly the files NAME... (hidden ones too).
only() {
	local dir=$1 got want
	shift
	got=$(cd "$dir" && find . -mindepth 1 -maxdepth 1 -printf '%f\n' | sort | tr '\n' ' ')
	want=$([[ $# -eq 0 ]] || printf '%s\n' "$@" | sort | tr '\n' ' ')
	[[ $got == "$want" ]] || {
		ONLY_GOT=$got
		return 1
	}
}

# same_as_stdout LABEL FILE STDOUT_FILE RUN_STDOUT RUN_ERR: FILE is the
# report stdout gave, stdout and stderr of the -o run empty.
same_as_stdout() {
	local label=$1 file=$2 ref=$3 out=$4 err=$5
	check "$label: FILE is what stdout gives without -o (timings aside)" \
		"$([[ -s $file ]] && cmp -s <(norm "$ref") <(norm "$file"); echo $?)" \
		"$(diff <(norm "$ref") <(norm "$file") 2>&1 | head -n 10)"
	check "$label: stdout and stderr empty" "$([[ ! -s $out && ! -s $err ]]; echo $?)" "$(head -c 300 "$out" "$err")"
}

# one_line LABEL ERR PATH: stderr is one line, naming PATH.
one_line() {
	check "$1: one line on stderr, naming $3" \
		"$([[ $(wc -l <"$2") -eq 1 ]] && grep -qF -- "$3" "$2"; echo $?)" "$(head -c 400 "$2")"
}

echo "== attach -o FILE: text, --json, --format=prometheus"
if start_fixture healthy; then
	pid=$FIX_PID
	for fmt in text json prometheus; do
		d=$W/$fmt
		mkdir -p "$d"
		hs "$d/ref" "$d/ref.err" attach --format=$fmt "$pid"
		check "$fmt: attach without -o exits 0" "$HS_RC" "$(head -c 300 "$d/ref.err")"
		echo "an older report" >"$d/report"
		ino=$(stat -c %i "$d/report")
		hs "$d/out" "$d/err" attach --format=$fmt -o "$d/report" "$pid"
		check "$fmt: attach -o exits 0" "$HS_RC" "$(head -c 300 "$d/err")"
		same_as_stdout "$fmt" "$d/report" "$d/ref" "$d/out" "$d/err"
		check "$fmt: the old FILE replaced by a rename (inode $ino before, $(stat -c %i "$d/report") now)" \
			"$([[ $(stat -c %i "$d/report") != "$ino" ]]; echo $?)"
		check "$fmt: FILE's mode 0666 less the umask ($(umask)): $(stat -c %a "$d/report")" \
			"$([[ $(stat -c %a "$d/report") == "$(printf '%o' $((0666 & ~$(umask))))" ]]; echo $?)"
		only "$d" ref ref.err out err report
		check "$fmt: nothing else left in FILE's directory" "$?" "${ONLY_GOT:-}"
	done
	# the option's other spellings, and before the command
	d=$W/spell
	mkdir -p "$d"
	hs "$d/a.out" "$d/a.err" --output="$d/a" attach --json "$pid"
	hs "$d/b.out" "$d/b.err" -jo "$d/b" attach "$pid"
	check "--output=FILE before the command, -jo FILE: both reports, stdout empty" \
		"$([[ $(jq -r .schema "$d/a" 2>/dev/null) == heapscope/1 && $(jq -r .schema "$d/b" 2>/dev/null) == heapscope/1 &&
			! -s $d/a.out && ! -s $d/b.out ]]; echo $?)" "$(head -c 300 "$d/a.err" "$d/b.err")"
	# a umask of 077: the file is the owner's alone
	(umask 077 && "$HEAPSCOPE" attach --json -o "$d/private" "$pid" >/dev/null 2>&1)
	check "umask 077: FILE's mode 600 ($(stat -c %a "$d/private" 2>&1))" \
		"$([[ $(stat -c %a "$d/private" 2>/dev/null) == 600 ]]; echo $?)"

	echo "== atomicity: a reader polling FILE while it is rewritten"
	d=$W/poll
	mkdir -p "$d"
	for fmt in json prometheus; do
		f=$d/report.$fmt
		# JSON with every chunk and list: 100 KiB and more, written in parts
		opts=(--format=$fmt)
		[[ $fmt == json ]] && opts+=(--chunks --bins)
		"$HEAPSCOPE" attach "${opts[@]}" -o "$f" "$pid" >/dev/null 2>&1
		# the writer: attach again and again, for 3 s and 3 runs at least
		# (the sanitizer build under load: 1.5 s a run); a line a run
		(end=$((SECONDS + 3)) n=0; while ((SECONDS < end || n < 3)); do
			"$HEAPSCOPE" attach "${opts[@]}" -o "$f" "$pid" >/dev/null 2>&1 && echo ok || echo "writer: exit $?"
			n=$((n + 1))
		done) >"$d/writer.$fmt" &
		writer=$!
		reads=0 bad=0
		while kill -0 "$writer" 2>/dev/null; do
			cp "$f" "$d/read" 2>/dev/null
			reads=$((reads + 1))
			if [[ $fmt == json ]]; then
				# one line of JSON, whole: from its schema to "}" and the newline
				[[ $(head -c 23 "$d/read") == '{"schema":"heapscope/1"' && $(tail -c 2 "$d/read") == "}" &&
					$(wc -l <"$d/read") == 1 ]] || bad=$((bad + 1))
			else
				[[ $(tail -n 1 "$d/read") == "# EOF" ]] || bad=$((bad + 1))
			fi
		done
		wait "$writer"
		writes=$(grep -c '^ok$' "$d/writer.$fmt")
		check "$fmt: $reads reads during $writes rewrites, every one a whole report ($bad not)" \
			"$([[ $reads -ge 10 && $writes -ge 3 && $bad -eq 0 && $(grep -vc '^ok$' "$d/writer.$fmt") -eq 0 ]]; echo $?)" \
			"$(grep -v '^ok$' "$d/writer.$fmt" | head -n 3)"
	done
	rm -f "$d/read"
	only "$d" report.json report.prometheus writer.json writer.prometheus
	check "atomicity: nothing else left in FILE's directory" "$?" "${ONLY_GOT:-}"
	alive "healthy: alive, running, untraced" "$pid"
	stop_fixture "$pid"
fi

echo "== exit 5: the report still goes to FILE"
if start_fixture stuck; then
	pid=$FIX_PID d=$W/stuck
	mkdir -p "$d"
	echo old >"$d/report"
	hs "$d/out" "$d/err" attach --json -o "$d/report" "$pid"
	check "stuck: exit 5, FILE the report (consistent false), stdout empty" \
		"$([[ $HS_RC -eq 5 && $(jq -r '.snapshot.consistent' "$d/report" 2>/dev/null) == false && ! -s $d/out ]]; echo $?)" \
		"exit $HS_RC: $(head -c 300 "$d/err" "$d/report")"
	only "$d" report out err
	check "stuck: nothing else left in FILE's directory" "$?" "${ONLY_GOT:-}"
	alive "stuck: alive, running, untraced" "$pid"
	stop_fixture "$pid"
fi

echo "== a run that fails before its report: FILE as it was"
d=$W/gone
mkdir -p "$d"
nopid=$(($(cat /proc/sys/kernel/pid_max) + 1)) # no process has it
printf 'the last good report\n' >"$d/report"
cp -p "$d/report" "$d/copy"
ino=$(stat -c %i "$d/report")
for j in "" --json; do
	hs "$d/out" "$d/err" attach $j -o "$d/report" "$nopid"
	check "no such pid${j:+ ($j)}: exit 3, FILE byte for byte and inode as it was" \
		"$([[ $HS_RC -eq 3 ]] && cmp -s "$d/report" "$d/copy" && [[ $(stat -c %i "$d/report") == "$ino" ]]; echo $?)" \
		"exit $HS_RC: $(head -c 300 "$d/err")"
	if [[ -n $j ]]; then
		check "no such pid (--json): the error object on stdout, as without -o" \
			"$([[ $(jq -r .exit "$d/out" 2>/dev/null) == 3 ]]; echo $?)" "$(head -c 300 "$d/out")"
	else
		check "no such pid: stdout empty" "$([[ ! -s $d/out ]]; echo $?)" "$(head -c 300 "$d/out")"
	fi
	only "$d" report copy out err
	check "no such pid${j:+ ($j)}: nothing else left in FILE's directory" "$?" "${ONLY_GOT:-}"
done

# -o's FILE is no option: a name with j or p in it joined to -o, or one that begins
# with a dash (in FILE's directory), asks for no JSON error
for args in "-opj.txt" "-o -pj.txt" "--output -p"; do
	# shellcheck disable=SC2086 # the option and its FILE, split on purpose
	(cd "$d" && hs "$d/out" "$d/err" attach $args "$nopid" && echo "$HS_RC" >"$d/rc")
	check "no such pid, $args: exit 3, no JSON error object on stdout" \
		"$([[ $(cat "$d/rc") -eq 3 && ! -s $d/out ]]; echo $?)" "exit $(cat "$d/rc"): $(head -c 300 "$d/out")"
done
rm -f "$d/rc"

echo "== FILE that cannot be written: exit 2 (before anything is read), one line naming FILE"
d=$W/bad
mkdir -p "$d/adir"
# label FILE [WHO...]: replay -o FILE as WHO (setpriv's options; none: root)
refused() {
	local label=$1 file=$2
	shift 2
	local rc=0
	if [[ $# -gt 0 ]]; then
		setpriv "$@" -- "$HEAPSCOPE" replay -o "$file" "$TRACE" >"$d/out" 2>"$d/err" || rc=$?
	else
		"$HEAPSCOPE" replay -o "$file" "$TRACE" >"$d/out" 2>"$d/err" || rc=$?
	fi
	check "$label: exit 2, stdout empty" "$([[ $rc -eq 2 && ! -s $d/out ]]; echo $?)" "exit $rc: $(head -c 300 "$d/err")"
	one_line "$label" "$d/err" "$file"
}
refused "missing directory" "$d/nodir/report"
refused "FILE a directory" "$d/adir"
refused "FILE a directory (with a slash)" "$d/adir/"
refused "FILE an empty name" ""
check "an empty name: the line says so ($(cut -c 1-200 "$d/err"))" "$(grep -q "takes a FILE name, not ''" "$d/err"; echo $?)"
# (a fifo of our own: a broken heapscope must not replace a device of the machine's)
mkfifo "$d/fifo"
refused "FILE a fifo" "$d/fifo"
check "the fifo is still a fifo" "$([[ -p $d/fifo ]]; echo $?)"
# root writes in any directory: nobody may not write in one of root's
chmod 755 "$W" "$d"
mkdir -p "$d/ro"
chmod 755 "$d/ro"
echo "the last good report" >"$d/ro/report"
refused "directory not writable (as nobody)" "$d/ro/report" --reuid=65534 --regid=65534 --clear-groups
check "not writable: FILE as it was" "$([[ $(cat "$d/ro/report") == "the last good report" ]]; echo $?)"
only "$d/ro" report
check "not writable: nothing else left in FILE's directory" "$?" "${ONLY_GOT:-}"
only "$d" adir out err ro fifo
check "nothing left in the directories of the refusals" "$?" "${ONLY_GOT:-}"
only "$d/adir"
check "nothing left in the directory given as FILE" "$?" "${ONLY_GOT:-}"

echo "== FILE a symbolic link: the link replaced by the report, what it led to untouched"
d=$W/link
mkdir -p "$d/directory"
echo "a file of someone else's" >"$d/file"
mkfifo "$d/fifo"
hs "$d/ref" "$d/ref.err" replay "$TRACE"
for to in file directory fifo; do
	ln -sfn "$to" "$d/report"
	hs "$d/out" "$d/err" replay -o "$d/report" "$TRACE"
	check "a link to a ${to}: exit 0" "$HS_RC" "$(head -c 300 "$d/err")"
	check "a link to a ${to}: FILE is now the report, a regular file" \
		"$([[ -f $d/report && ! -L $d/report ]] && cmp -s <(norm "$d/ref") <(norm "$d/report"); echo $?)" "$(head -c 300 "$d/report")"
done
check "what the links led to is untouched" \
	"$([[ $(cat "$d/file") == "a file of someone else's" && -p $d/fifo && -z $(ls -A "$d/directory") ]]; echo $?)"
only "$d" directory file fifo report ref ref.err out err
check "a link FILE: nothing else left in FILE's directory" "$?" "${ONLY_GOT:-}"

echo "== a write that fails (EFBIG, as ENOSPC on a full disk): exit 1, FILE as it was"
d=$W/full
mkdir -p "$d"
echo "the last good report" >"$d/report"
# a report of 1 KiB and more, a file size limit of 1 KiB; SIGXFSZ ignored,
# so that the write fails (EFBIG) instead of killing heapscope
rc=0
(trap '' XFSZ && ulimit -f 1 && exec "$HEAPSCOPE" replay -p --chunks -o "$d/report" "$TRACE") >"$d/out" 2>"$d/err" || rc=$?
# (-p: the error is also the JSON object on stdout, as without -o)
check "EFBIG: exit 1, the error object on stdout" "$([[ $rc -eq 1 && $(jq -r .exit "$d/out" 2>/dev/null) == 1 ]]; echo $?)" \
	"exit $rc: $(head -c 300 "$d/err" "$d/out")"
one_line "EFBIG" "$d/err" "$d/report"
check "EFBIG: the line says why ($(cut -c 1-200 "$d/err"))" "$(grep -q 'File too large' "$d/err"; echo $?)"
check "EFBIG: FILE as it was" "$([[ $(cat "$d/report") == "the last good report" ]]; echo $?)"
only "$d" report out err
check "EFBIG: nothing else left in FILE's directory" "$?" "${ONLY_GOT:-}"

echo "== killed mid-run (SIGKILL, SIGTERM): no file left, FILE as it was"
d=$W/killed
mkdir -p "$d/out"
if [[ -x $ROOT/build/tests/gentrace ]]; then
	# a trace that takes replay 2 s and more: killed 0.3 s in, its file made
	"$ROOT/build/tests/gentrace" 1 1500000 >"$d/big.trace"
	echo "the last good report" >"$d/out/report"
	for sig in KILL TERM; do
		"$HEAPSCOPE" replay --json -o "$d/out/report" "$d/big.trace" >/dev/null 2>&1 &
		hp=$!
		sleep 0.3
		kill -"$sig" "$hp" 2>/dev/null
		rc=0
		wait "$hp" || rc=$?
		check "SIG$sig 0.3 s in: killed by it ($rc), FILE as it was" \
			"$([[ $rc -gt 128 && $(cat "$d/out/report") == "the last good report" ]]; echo $?)" "exit $rc"
		only "$d/out" report
		check "SIG$sig: nothing else left in FILE's directory" "$?" "${ONLY_GOT:-}"
	done
else
	fail "killed mid-run" "build/tests/gentrace is missing (make all builds it)"
fi
rm -f "$d/big.trace"

echo "== replay and diff -o FILE"
d=$W/rd
mkdir -p "$d"
for fmt in text json; do
	hs "$d/ref.$fmt" "$d/ref.$fmt.err" replay --format=$fmt --chunks "$TRACE"
	hs "$d/out" "$d/err" replay --format=$fmt --chunks -o "$d/replay.$fmt" "$TRACE"
	check "replay $fmt -o: exit 0" "$HS_RC" "$(head -c 300 "$d/err")"
	same_as_stdout "replay $fmt" "$d/replay.$fmt" "$d/ref.$fmt" "$d/out" "$d/err"
done
"$HEAPSCOPE" replay --json "$ROOT/tests/traces/01-tcache-fill-drain.trace" >"$d/old.json" 2>/dev/null
for fmt in text json; do
	hs "$d/dref.$fmt" "$d/dref.$fmt.err" diff --format=$fmt "$d/old.json" "$d/ref.json"
	hs "$d/out" "$d/err" diff --format=$fmt -o "$d/diff.$fmt" "$d/old.json" "$d/ref.json"
	check "diff $fmt -o: exit 0" "$HS_RC" "$(head -c 300 "$d/err")"
	same_as_stdout "diff $fmt" "$d/diff.$fmt" "$d/dref.$fmt" "$d/out" "$d/err"
done
hs "$d/out" "$d/err" diff -o "$d/diff.bad" "$d/old.json" "$d/nonexistent.json"
check "diff of a missing report -o: exit 2, no FILE" "$([[ $HS_RC -eq 2 && ! -e $d/diff.bad ]]; echo $?)" "exit $HS_RC"
only "$d" ref.text ref.text.err ref.json ref.json.err replay.text replay.json old.json dref.text dref.text.err \
	dref.json dref.json.err diff.text diff.json out err
check "replay, diff: nothing else left in FILE's directory" "$?" "${ONLY_GOT:-}"

echo "== core -o FILE"
if ! command -v gdb >/dev/null; then
	fail "core -o" "gdb is missing (make deps installs it): no core to read"
elif start_fixture healthy; then
	pid=$FIX_PID d=$W/core
	mkdir -p "$d"
	if timeout -k 5 120 gdb -nx -batch -iex "set auto-load off" -iex "set debug-file-directory /nonexistent" \
		-ex "attach $pid" -ex "gcore $d/core" -ex detach >"$d/gcore.out" 2>&1 && [[ -s $d/core ]]; then
		stop_fixture "$pid"
		hs "$d/ref" "$d/ref.err" core --json "$d/core"
		rc=$HS_RC
		hs "$d/out" "$d/err" core --json -o "$d/report" "$d/core"
		check "core -o: exit 0, as without -o ($rc)" "$([[ $HS_RC -eq 0 && $rc -eq 0 ]]; echo $?)" "$(head -c 300 "$d/err")"
		same_as_stdout "core" "$d/report" "$d/ref" "$d/out" "$d/err"
	else
		fail "core -o: gcore of pid $pid" "no core written" "$d/gcore.out"
		stop_fixture "$pid"
	fi
fi

summary
