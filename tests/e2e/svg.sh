#!/usr/bin/env bash
# --format=svg (issue 13, item 4): the heap map. For each case heapscope
# writes the map and the --json report of the same quiescent process, and
# svg_check.py holds the map to them:
#   - well-formed XML, the legend naming every state;
#   - one band per heap of every arena (JSON arenas[].heaps) and one per
#     mmapped chunk (totals.mmapped_chunks), past 63 one band for the rest;
#   - each band's rectangles tile its 1024 pixels and their titles its
#     address range, with no gap or overlap;
#   - per arena, the bytes and chunks the titles give each state equal
#     the JSON's (in use, tcache, fastbin, bin, top);
# and, to glibc's own mallinfo2() (the fixture's mallinfo2.txt, an oracle
# nobody here wrote): fastbin + bin + top bytes = fordblks, fastbin bytes
# = fsmblks, fastbin chunks = smblks, bin chunks + tops = ordblks.
# Over the bands, the marks: as many leaked chunks as the JSON's suspects
# and pins as its pins, and (an oracle again) the fixture's own: leaks with
# --leaks=all marks every chunk its facts.txt says it leaked, pinned the
# chunk it says pins its heap, at their addresses, with their sizes.
# Cases: fragmented (4 arenas, 5 heaps, every state), mmthreads (16 arenas,
# mmapped chunks), leaks, pinned, types (a title's C++ type is the
# fixture's class at the fixture's object), a program whose path holds <, &, a
# double quote and a newline (the title escaped, the XML well-formed), a
# gcore core of fragmented read by `core`, a replay trace, and classic
# with 2,000,000 chunks (the map under 2 MB). The map
# is the same bytes twice (deterministic). Chromium (Debian's, headless)
# renders the fragmented map: the screenshot holds every legend colour
# and is no blank page (a blank SVG, rendered the same way, must be
# judged blank: the check can fail). watch and diff refuse the format.
#   usage: HEAPSCOPE=build/heapscope tests/e2e/svg.sh
set -uo pipefail
SUITE=svg
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/../lib.sh"
need_file "$HEAPSCOPE"
HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
W=$(new_tmpdir)
# the legend's colours, as svg.c writes them
COLOURS=('#d62728' '#ff7f0e' '#bcbd22' '#2ca02c' '#1f77b4' '#7f7f7f' '#9467bd')

# glibc_check LABEL SVG MALLINFO2: the map's free bytes and chunks
# against glibc's own mallinfo2() of the same heap.
glibc_check() {
	local out rc=0
	out=$("$PY" - "$2" "$3" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
mi = dict(l.split() for l in open(sys.argv[2]))
s = {}
for st, b, c in re.findall(r"\n(in use|tcache|fastbin|bin|top|overhead|mmapped): (\d+) bytes in (\d+) chunks", t):
    x = s.setdefault(st, [0, 0]); x[0] += int(b); x[1] += int(c)
g = lambda st, i: s.get(st, [0, 0])[i]
got = {"fordblks": g("fastbin", 0) + g("bin", 0) + g("top", 0), "fsmblks": g("fastbin", 0),
       "smblks": g("fastbin", 1), "ordblks": g("bin", 1) + g("top", 1)}
bad = [f"{k}: map {v}, glibc {mi[k]}" for k, v in got.items() if v != int(mi[k])]
print("; ".join(bad) or " ".join(f"{k}={v}" for k, v in got.items()))
sys.exit(1 if bad else 0)
PY
) || rc=$?
	check "$1: the map's free bytes and chunks = glibc's mallinfo2 ($out)" "$rc" "$out"
}

# map_checks LABEL SVG JSON [MALLINFO2 [FACTS]]
map_checks() {
	local out rc=0
	out=$("$PY" "$HERE/svg_check.py" "$2" "$3" ${5:+"$5"} 2>&1) || rc=$?
	check "$1: map against the JSON (${out:0:200})" "$rc" "$(head -n 12 <<<"$out")"
	[[ -n ${4:-} ]] && glibc_check "$1" "$2" "$4"
}

# attach_maps LABEL PID DIR [OPTIONS]: map, JSON, map again (same bytes),
# into DIR.
attach_maps() {
	local label=$1 pid=$2 d=$3
	shift 3
	hs "$d/map.svg" "$d/map.err" attach "$@" --format=svg "$pid"
	check "$label: attach ${*:+$* }--format=svg exits 0, stderr empty" "$([[ $HS_RC -eq 0 && ! -s $d/map.err ]]; echo $?)" \
		"exit $HS_RC" "$d/map.err"
	hs "$d/rep.json" "$d/rep.err" attach "$@" --json "$pid"
	hs "$d/map2.svg" "$d/map2.err" attach "$@" --format=svg "$pid"
	set -- "$label" "$pid" "$d"
	check "$1: the same heap gives the same map, byte for byte" "$(cmp -s "$3/map.svg" "$3/map2.svg"; echo $?)" \
		"$(cmp "$3/map.svg" "$3/map2.svg" 2>&1)"
}

# render LABEL SVG PNG: chromium's screenshot of SVG; sets RENDER (the
# png_colours line) or returns 1 (a fail or skip recorded).
render() {
	local chrome
	chrome=$(command -v chromium) || {
		fail "$1: chromium" "chromium is missing (make deps installs Debian's chromium)"
		return 1
	}
	# --no-sandbox: its sandbox refuses to run as root, which the tests are
	# here; the page is our own file. HOME: its profile, in the temp dir.
	HOME=$W timeout -k 5 120 "$chrome" --headless --no-sandbox --disable-gpu --hide-scrollbars \
		--user-data-dir="$W/chrome" --window-size=1040,400 --screenshot="$3" "file://$2" >"$3.log" 2>&1
	if [[ ! -s $3 ]]; then
		if grep -qiE 'sandbox|namespace|cannot open display|Operation not permitted' "$3.log"; then
			skip "$1: chromium renders the map" "chromium cannot run here: $(grep -iE 'sandbox|namespace|display|permitted' "$3.log" | head -n 1)"
		else
			fail "$1: chromium renders the map" "no screenshot" "$3.log"
		fi
		return 1
	fi
	RENDER=$("$PY" "$HERE/png_colours.py" "$3" "${COLOURS[@]}")
}

echo "== fragmented: 4 arenas, every state"
if start_fixture fragmented; then
	d=$FIX_DIR
	attach_maps fragmented "$FIX_PID" "$d"
	map_checks fragmented "$d/map.svg" "$d/rep.json" "$d/mallinfo2.txt"
	bytes=$(stat -c %s "$d/map.svg")
	check "fragmented: the map is under 1 MB ($bytes bytes)" "$([[ $bytes -lt 1048576 ]]; echo $?)"
	# with --chunks the walk keeps every chunk, the map takes the same ones
	hs "$d/chunks.svg" "$d/chunks.err" attach --chunks --bins --format=svg "$FIX_PID"
	check "fragmented: --chunks --bins change nothing in the map" "$(cmp -s "$d/map.svg" "$d/chunks.svg"; echo $?)" \
		"exit $HS_RC" "$(cmp "$d/map.svg" "$d/chunks.svg" 2>&1)"
	cp "$d/map.svg" "$W/fragmented.svg"

	echo "== core of fragmented"
	if timeout -k 5 120 gdb -nx -batch -iex "set auto-load off" -iex "set debug-file-directory /nonexistent" \
		-ex "attach $FIX_PID" -ex "gcore $d/core" -ex detach >"$d/gcore.out" 2>&1 && [[ -s $d/core ]]; then
		hs "$d/core.svg" "$d/core.err" core --format=svg "$d/core" "$FIXDIR/fragmented"
		check "core --format=svg exits 0" "$HS_RC" "$d/core.err"
		hs "$d/core.json" "$d/core.jerr" core --json "$d/core" "$FIXDIR/fragmented"
		map_checks "core of fragmented" "$d/core.svg" "$d/core.json" "$d/mallinfo2.txt"
		# the live map's bands, the core's: the same heap after the fact
		check "core of fragmented: its map's bands are the live map's" \
			"$(cmp -s <(grep -v '^<title>' "$d/map.svg") <(grep -v '^<title>' "$d/core.svg"); echo $?)" \
			"$(diff <(grep -v '^<title>' "$d/map.svg") <(grep -v '^<title>' "$d/core.svg") | head -n 6)"
		rm -f "$d/core"
	else
		fail "gcore of fragmented" "no core written" "$d/gcore.out"
	fi
	stop_fixture "$FIX_PID"
fi

echo "== mmthreads: 16 arenas, mmapped chunks"
if start_fixture mmthreads; then
	d=$FIX_DIR
	attach_maps mmthreads "$FIX_PID" "$d"
	map_checks mmthreads "$d/map.svg" "$d/rep.json" "$d/mallinfo2.txt"
	n=$(jq '.totals.mmapped_chunks' "$d/rep.json")
	check "mmthreads: the JSON has more mmapped chunks than the map draws one by one ($n > 64)" "$([[ $n -gt 64 ]]; echo $?)"
	check "mmthreads: 64 mmapped bands, the last the rest's ($(grep -c 'mmapped chunk:' "$d/map.svg") and $(grep -c 'more mmapped chunks' "$d/map.svg"))" \
		"$([[ $(grep -c 'mmapped chunk:' "$d/map.svg") -eq 63 && $(grep -c 'more mmapped chunks:' "$d/map.svg") -eq 1 ]]; echo $?)"
	stop_fixture "$FIX_PID"
fi

echo "== leaks --leaks=all: every leaked chunk marked"
if start_fixture leaks; then
	d=$FIX_DIR
	attach_maps "leaks --leaks=all" "$FIX_PID" "$d" --leaks=all
	n=$(grep -c '^leaked ' "$d/facts.txt")
	check "leaks: the fixture leaked chunks to mark ($n)" "$([[ $n -gt 0 ]]; echo $?)"
	map_checks "leaks --leaks=all" "$d/map.svg" "$d/rep.json" "$d/mallinfo2.txt" "$d/facts.txt"
	stop_fixture "$FIX_PID"
fi

echo "== pinned: the chunk that pins the heap marked"
if start_fixture pinned; then
	d=$FIX_DIR
	attach_maps pinned "$FIX_PID" "$d"
	# (pinned writes no mallinfo2.txt: its facts.txt names the pin)
	map_checks pinned "$d/map.svg" "$d/rep.json" "" "$d/facts.txt"
	stop_fixture "$FIX_PID"
fi

echo "== types: a chunk's C++ type in its title"
if start_fixture types; then
	d=$FIX_DIR
	attach_maps types "$FIX_PID" "$d"
	map_checks types "$d/map.svg" "$d/rep.json"
	# the types the titles name (a run of one chunk: that chunk's, with its
	# address; of several: "types: NAME N, ...") against the fixture's own
	# objects ("kept"/"leaked" ADDR) and classes ("type NAME"), and the
	# JSON's count of each small class
	out=$("$PY" - "$d/map.svg" "$d/facts.txt" "$d/rep.json" <<'PY'
import json, re, sys
t = open(sys.argv[1]).read()
facts = [l.split() for l in open(sys.argv[2])]
addrs = {int(f[1], 16) for f in facts if f[0] in ("kept", "leaked")}
names = {" ".join(f[1:-2]) for f in facts if f[0] == "type"}
rep = {x["type"]: x for x in json.load(open(sys.argv[3])).get("types", [])}
seen, bad, other = {}, [], 0
for a, ty in re.findall(r"\nchunk 0x([0-9a-f]+), size \d+, in use, type ([^\n<]+)", t):
    ty = ty.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    seen[ty] = seen.get(ty, 0) + 1
    if int(a, 16) not in addrs:
        bad.append(f"0x{a} ({ty}) is none of the fixture's objects")
for line in re.findall(r"\ntypes: ([^\n<]+)", t):
    for part in line.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").split(", "):
        ty, n = part.rsplit(" ", 1)
        if ty == "other types":
            other += int(n)
        else:
            seen[ty] = seen.get(ty, 0) + int(n)
for ty in seen:
    if ty not in names:
        bad.append(f"type {ty} is none of the fixture's classes {sorted(names)}")
# the small classes' chunks are each in one run: named there, or among the
# run's other types
for ty in ("Session", "Connection", "net::Pool<int>"):
    want = rep.get(ty, {}).get("in_use_chunks", 0)
    if not (seen.get(ty, 0) <= want <= seen.get(ty, 0) + other):
        bad.append(f"{ty}: {seen.get(ty, 0)} named (+{other} other) in the titles, the JSON counts {want}")
if "Session" not in seen:
    bad.append(f"no title names a Session ({seen})")
print("; ".join(bad) or ", ".join(f"{k} {v}" for k, v in sorted(seen.items())) + f", other {other}")
sys.exit(1 if bad else 0)
PY
	)
	check "types: the titles' C++ types are the fixture's, as many as the JSON counts ($out)" "$?" "$out"
	stop_fixture "$FIX_PID"
fi

echo "== a path with <, &, a double quote, a byte that is not UTF-8 and a newline"
wdir=$W/$'a<b&c"d\xffe\nhere'
if mkdir -p "$wdir" && cp "$FIXDIR/healthy" "$wdir/healthy" && FIXDIR=$wdir start_fixture healthy; then
	d=$FIX_DIR
	attach_maps "odd path" "$FIX_PID" "$d"
	map_checks "odd path" "$d/map.svg" "$d/rep.json"
	# the title as XML escapes it, the byte that is not UTF-8 (the
	# document says it is) U+FFFD, the newline (no XML character) a '?'
	want="($(printf '%s' "${wdir%%$'\n'*}" | LC_ALL=C sed 's/&/\&amp;/g; s/</\&lt;/g; s/"/\&quot;/g; s/\xff/\xef\xbf\xbd/')?here/healthy)"
	check "odd path: the title escapes the path" "$(grep -qF "$want" "$d/map.svg"; echo $?)" "want $want" \
		"$(grep -m1 '^<title>' "$d/map.svg")"
	stop_fixture "$FIX_PID"
else
	fail "odd path: fixture copied and started" "see above"
fi

echo "== classic: 2,000,000 chunks"
if READY_TIMEOUT=120 start_fixture classic 2000000; then
	d=$FIX_DIR
	attach_maps classic "$FIX_PID" "$d"
	map_checks classic "$d/map.svg" "$d/rep.json" "$d/mallinfo2.txt"
	bytes=$(stat -c %s "$d/map.svg")
	check "classic 2,000,000 chunks: the map is under 2 MB ($bytes bytes)" "$([[ $bytes -lt 2097152 ]]; echo $?)"
	stop_fixture "$FIX_PID"
fi

echo "== replay"
trace=$ROOT/tests/traces/08-coalesce.trace
hs "$W/replay.svg" "$W/replay.err" replay --format=svg "$trace"
check "replay --format=svg exits 0" "$HS_RC" "$W/replay.err"
hs "$W/replay.json" "$W/replay.jerr" replay --json "$trace"
map_checks "replay 08-coalesce" "$W/replay.svg" "$W/replay.json"

echo "== watch and diff refuse it"
hs "$W/w.out" "$W/w.err" watch --format=svg -n 1 1
check "watch --format=svg: exit 2" "$([[ $HS_RC -eq 2 ]]; echo $?)" "exit $HS_RC" "$W/w.err"
hs "$W/d.out" "$W/d.err" diff --format=svg "$W/replay.json" "$W/replay.json"
check "diff --format=svg: exit 2" "$([[ $HS_RC -eq 2 ]]; echo $?)" "exit $HS_RC" "$W/d.err"

echo "== chromium"
if [[ -s $W/fragmented.svg ]] && render "fragmented" "$W/fragmented.svg" "$W/fragmented.png"; then
	missing=$(sed -nE 's/.* missing ?(.*)/\1/p' <<<"$RENDER")
	distinct=$(sed -nE 's/.* distinct ([0-9]+) .*/\1/p' <<<"$RENDER")
	check "chromium renders the map: every legend colour on screen ($RENDER)" \
		"$([[ -n $distinct && -z $missing ]]; echo $?)" "$RENDER"
	check "chromium renders the map: not blank (${distinct:-?} colours)" "$([[ ${distinct:-0} -gt 8 ]]; echo $?)" "$RENDER"
	# the control: a page with nothing on it must be judged blank
	printf '<svg xmlns="http://www.w3.org/2000/svg" width="1040" height="400"><rect width="100%%" height="100%%" fill="#fff"/></svg>\n' >"$W/blank.svg"
	if render "blank control" "$W/blank.svg" "$W/blank.png"; then
		bd=$(sed -nE 's/.* distinct ([0-9]+) .*/\1/p' <<<"$RENDER")
		check "a blank SVG renders blank: the checks above can fail ($RENDER)" \
			"$([[ ${bd:-99} -le 8 && $RENDER == *"missing #"* ]]; echo $?)" "$RENDER"
	fi
fi

summary
