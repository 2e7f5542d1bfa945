#!/usr/bin/env bash
# Where heapscope finds glibc, and what it says when glibc's malloc is not
# the one in use: a target in a chroot in its own mount namespace (its libc
# and debug files read through /proc/PID/root), libc's debug file served by
# a debuginfod on 127.0.0.1 with no local copy, a statically linked glibc
# program (and its core, with --glibc), a stripped one, jemalloc and
# tcmalloc preloaded, static musl.
#   usage: HEAPSCOPE=build/heapscope tests/e2e/sources.sh
set -uo pipefail
SUITE=sources
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/../lib.sh"
need_file "$HEAPSCOPE"
MATRIX=$ROOT/tests/matrix

# exact_vs_oracle LABEL PID DIR [ATTACH-ARGS...]: byte-identical
# malloc-stats and malloc-info, exit 0, target alive.
exact_vs_oracle() {
	local label=$1 pid=$2 d=$3
	shift 3
	local fmt exp
	for fmt in malloc-stats malloc-info; do
		exp=$d/malloc_stats.txt
		[[ $fmt == malloc-info ]] && exp=$d/malloc_info.xml
		hs "$d/hs.$fmt" "$d/hs.$fmt.err" attach "$@" --format="$fmt" "$pid"
		if [[ $HS_RC -eq 0 ]] && cmp -s "$exp" "$d/hs.$fmt"; then
			pass "$label --format=$fmt byte-identical to glibc"
		else
			fail "$label --format=$fmt byte-identical to glibc" "exit $HS_RC" "$d/hs.$fmt.err" \
				"$(diff -u "$exp" "$d/hs.$fmt" 2>&1 | head -n 20)"
		fi
	done
	alive "$label alive" "$pid"
}

# start_bg DIR CMD...: runs CMD (which execs a fixture writing into DIR)
# and waits for DIR/ready. Sets BG_PID.
start_bg() {
	local d=$1
	shift
	"$@" >"$d/stdout" 2>"$d/stderr" &
	BG_PID=$!
	FIX_PIDS+=("$BG_PID")
	wait_ready "$d" "$BG_PID" 30
}

json_field() { jq -r "$1" "$2" 2>/dev/null; }

mapfile -t versions < <("$MATRIX/versions.sh")
others=()
for v in "${versions[@]}"; do [[ $v != 2.36 ]] && others+=("$v"); done
# The chroot and debuginfod cases need another glibc than the host's: the
# matrix, which `make matrix` fetches; without it they fail (HS_SKIP_MATRIX=1:
# skipped on purpose, and said).
if [[ ${#others[@]} -eq 0 ]]; then
	if [[ ${HS_SKIP_MATRIX:-} == 1 ]]; then
		skip "chroot and debuginfod cases" "HS_SKIP_MATRIX=1 (they need a glibc of the matrix)"
	else
		fail "chroot and debuginfod cases" "no glibc matrix: run make matrix (or HS_SKIP_MATRIX=1 to skip on purpose)"
	fi
fi

# --- a chroot in a new mount namespace: the target's own libc and debug files
for v in "${others[@]}"; do
	label="chroot glibc $v"
	root=$(dirname "$("$MATRIX/debuginfo.sh" "$v")") # .../usr/lib
	root=${root%/usr/lib}
	ld=$(cd "$root" && find lib usr/lib -maxdepth 2 -name 'ld-linux-x86-64.so.2' -o -maxdepth 2 -name 'ld-2.*.so' 2>/dev/null | head -n 1)
	ct=$(new_tmpdir)
	mkdir -p "$ct/usr" "$ct/lib" "$ct/out" "$ct/bin"
	cp "$ROOT/build/fixtures-matrix/threads" "$ct/bin/threads"
	mounts="mount --bind '$root/usr' '$ct/usr'"
	[[ -d $root/lib ]] && mounts="$mounts && mount --bind '$root/lib' '$ct/lib'"
	if ! start_bg "$ct/out" unshare -m --propagation private sh -c "$mounts && exec chroot '$ct' '/$ld' /bin/threads /out"; then
		fail "$label: start" "$WAIT_REASON" "$ct/out/stderr"
		continue
	fi
	pid=$BG_PID
	exact_vs_oracle "$label" "$pid" "$ct/out"
	hs "$ct/out/hs.json" "$ct/out/hs.err" attach --json "$pid"
	dbg=$(json_field .symbols.debuginfo "$ct/out/hs.json")
	if [[ $(json_field .symbols.source "$ct/out/hs.json") == dwarf && $dbg == /proc/$pid/root/* &&
		$(json_field .target.glibc "$ct/out/hs.json") == "$v" ]]; then
		pass "$label: debug file found in the target's own root ($dbg)"
	else
		fail "$label: debug file found in the target's own root" \
			"source $(json_field .symbols.source "$ct/out/hs.json"), debuginfo $dbg, glibc $(json_field .target.glibc "$ct/out/hs.json")" "$ct/out/hs.err"
	fi
	exact_vs_oracle "$label --no-debuginfo" "$pid" "$ct/out" --no-debuginfo
	stop_fixture "$pid"
done

# --- debuginfod on 127.0.0.1 serving one version's debug files, none local
if [[ ${#others[@]} -gt 0 ]] && ! command -v debuginfod >/dev/null; then
	fail "debuginfod glibc ${others[-1]}" "debuginfod is not installed (make deps)"
elif [[ ${#others[@]} -gt 0 ]]; then
	v=${others[-1]}
	label="debuginfod glibc $v"
	dd=$(new_tmpdir)
	port=$((20000 + $$ % 20000))
	debuginfod -F "$("$MATRIX/debuginfo.sh" "$v")" -p "$port" -d "$dd/db.sqlite" -L >"$dd/log" 2>&1 &
	srv=$!
	FIX_PIDS+=("$srv")
	libc=$(find "$(dirname "$("$MATRIX/debuginfo.sh" "$v")")/.." -name 'libc.so.6' 2>/dev/null | head -n 1)
	id=$(readelf -n "$libc" 2>/dev/null | awk '/Build ID/ {print $3}')
	up=no
	for ((i = 0; i < 300; i++)); do
		if curl -sf -o /dev/null "http://127.0.0.1:$port/buildid/$id/debuginfo"; then up=yes; break; fi
		sleep 0.1
	done
	if [[ $up != yes ]]; then
		fail "$label: server up" "no answer for build-id $id on port $port" "$dd/log"
	else
		fx=$(new_tmpdir)
		if start_bg "$fx" env -u HS_DEBUGINFO_PATH "$MATRIX/run.sh" "$v" "$ROOT/build/fixtures-matrix/threads" "$fx"; then
			pid=$BG_PID
			# without the server: no debug file anywhere, the symbol-free path
			HS_DEBUGINFO_PATH= hs "$fx/none.json" "$fx/none.err" attach --json "$pid"
			src=$(json_field .symbols.source "$fx/none.json")
			if [[ $src == scan || $src == symtab ]]; then pass "$label: no local debug file ($src)"; else
				fail "$label: no local debug file" "source $src" "$fx/none.err"; fi
			DEBUGINFOD_URLS=http://127.0.0.1:$port DEBUGINFOD_CACHE_PATH=$dd/cache HS_DEBUGINFO_PATH= \
				hs "$fx/d.json" "$fx/d.err" attach --json "$pid"
			if [[ $(json_field .symbols.source "$fx/d.json") == dwarf &&
				$(json_field .symbols.debuginfo "$fx/d.json") == "$dd/cache/"* ]]; then
				pass "$label: libc's DWARF fetched from debuginfod ($(json_field .symbols.debuginfo "$fx/d.json"))"
			else
				fail "$label: libc's DWARF fetched from debuginfod" \
					"source $(json_field .symbols.source "$fx/d.json"), debuginfo $(json_field .symbols.debuginfo "$fx/d.json")" "$fx/d.err"
			fi
			DEBUGINFOD_URLS=http://127.0.0.1:$port DEBUGINFOD_CACHE_PATH=$dd/cache HS_DEBUGINFO_PATH= \
				exact_vs_oracle "$label" "$pid" "$fx"
			stop_fixture "$pid"
		else
			fail "$label: start" "$WAIT_REASON" "$fx/stderr"
		fi
	fi
	kill_ours TERM "$srv" || kill_ours KILL "$srv"
fi

# --- glibc linked statically: read when it names its version (threaded
# programs carry __nptl_version), refused when it does not
for f in threads; do
	label="static glibc $f"
	sd=$(new_tmpdir)
	if start_bg "$sd" "$ROOT/build/fixtures-static/$f" "$sd"; then
		pid=$BG_PID
		exact_vs_oracle "$label" "$pid" "$sd"
		hs "$sd/hs.json" "$sd/hs.err" attach --json "$pid"
		if [[ $(json_field .symbols.source "$sd/hs.json") == symtab ]]; then pass "$label: read through its own symbol table"; else
			fail "$label: read through its own symbol table" "source $(json_field .symbols.source "$sd/hs.json")" "$sd/hs.err"; fi
		stop_fixture "$pid"
	else
		fail "$label: start" "$WAIT_REASON" "$sd/stderr"
	fi
done

# refused_with LABEL CODE PATTERN PID: one line on stderr, the exit code,
# the pattern in the line, the target alive.
refused_with() {
	local label=$1 code=$2 pat=$3 pid=$4 d
	d=$(new_tmpdir)
	hs "$d/out" "$d/err" attach "$pid"
	if [[ $HS_RC -eq $code && $(wc -l <"$d/err") -eq 1 ]] && grep -qE "$pat" "$d/err"; then
		pass "$label: exit $code, one line: $(cat "$d/err")"
	else
		fail "$label: exit $code, one line matching /$pat/" "exit $HS_RC" "$d/err"
	fi
	alive "$label: target alive" "$pid"
}

waitproc() { # give a plain program a moment to start its malloc
	sleep 0.3
}

# --- a static program without threads names no version: refused, and
# read with --glibc=X.Y. The host's glibc (its libc.a), and 2.31's from the
# matrix sysroot, each byte-identical to its own malloc_stats() and
# malloc_info(); the other version given instead shows as a corrupt heap
# (exit 5), never a clean report.
host_v=$(getconf GNU_LIBC_VERSION | awk '{print $2}')
# static_glibc LABEL VERSION WRONG-VERSION EXE: the cases above for EXE.
static_glibc() {
	local label=$1 v=$2 wrong=$3 exe=$4 sd
	sd=$(new_tmpdir)
	if ! start_bg "$sd" "$exe" "$sd" 1000; then
		fail "$label: start" "$WAIT_REASON" "$sd/stderr"
		return
	fi
	refused_with "$label" 4 "statically linked glibc program that does not name its glibc version.*--glibc=X.Y" "$BG_PID"
	exact_vs_oracle "$label --glibc=$v" "$BG_PID" "$sd" --glibc="$v"
	hs "$sd/g.json" "$sd/g.err" attach --json --glibc="$v" "$BG_PID"
	if [[ $(json_field '"\(.target.glibc) \(.target.glibc_given)"' "$sd/g.json") == "$v true" ]]; then
		pass "$label --glibc=$v: JSON target.glibc $v, glibc_given true"
	else
		fail "$label --glibc=$v: JSON target.glibc $v, glibc_given true" \
			"$(json_field '"\(.target.glibc) \(.target.glibc_given)"' "$sd/g.json")" "$sd/g.err"
	fi
	hs "$sd/w.txt" "$sd/w.err" attach --glibc="$wrong" "$BG_PID"
	if [[ $HS_RC -eq 5 ]]; then
		pass "$label --glibc=$wrong (the wrong version): exit 5, $(grep -c . "$sd/w.err") line(s): $(head -n 1 "$sd/w.err")"
	else
		fail "$label --glibc=$wrong (the wrong version): exit 5" "exit $HS_RC" "$sd/w.err" "$(head -n 3 "$sd/w.txt")"
	fi
	alive "$label: target alive" "$BG_PID"
	static_core "$label" "$v" "$sd" "$BG_PID"
	stop_fixture "$BG_PID"
}
# static_core LABEL VERSION DIR PID: its core (gdb's gcore) is refused as
# attach refuses it, and read with --glibc=VERSION byte-identical to the
# fixture's own malloc_stats().
static_core() {
	local label=$1 v=$2 sd=$3 pid=$4
	if ! timeout -k 5 120 gdb -nx -batch -iex "set auto-load off" -iex "set debug-file-directory /nonexistent" \
		-ex "attach $pid" -ex "gcore $sd/core" -ex detach >"$sd/gcore.out" 2>&1 || [[ ! -s $sd/core ]]; then
		fail "$label: gcore" "no core written" "$sd/gcore.out"
		return
	fi
	hs "$sd/c.out" "$sd/c.err" core "$sd/core"
	if [[ $HS_RC -eq 4 && $(wc -l <"$sd/c.err") -eq 1 ]] && grep -q -- '--glibc=X.Y' "$sd/c.err"; then
		pass "$label: its core without --glibc: exit 4, one line: $(cat "$sd/c.err")"
	else
		fail "$label: its core without --glibc: exit 4, one line" "exit $HS_RC" "$sd/c.err"
	fi
	hs "$sd/c.stats" "$sd/c.stats.err" core --glibc="$v" --format=malloc-stats "$sd/core"
	if [[ $HS_RC -eq 0 ]] && cmp -s "$sd/malloc_stats.txt" "$sd/c.stats"; then
		pass "$label: its core with --glibc=$v: malloc-stats byte-identical to glibc"
	else
		fail "$label: its core with --glibc=$v: malloc-stats byte-identical to glibc" "exit $HS_RC" "$sd/c.stats.err" \
			"$(diff -u "$sd/malloc_stats.txt" "$sd/c.stats" 2>&1 | head -n 20)"
	fi
	rm -f "$sd/core"
}
static_glibc "static glibc $host_v without threads" "$host_v" 2.31 "$ROOT/build/fixtures-static/classic"

# 2.31's libc.a with the host's gcc: its libgcc_eh calls _dl_find_object
# (glibc 2.35), which 2.31 lacks; a stub that finds nothing sends libgcc to
# dl_iterate_phdr, as on an older glibc.
st=$(new_tmpdir)
printf '%s\n' 'int _dl_find_object(void *pc, void *result);' \
	'int _dl_find_object(void *pc, void *result) { (void)pc; (void)result; return -1; }' >"$st/dlfo.c"
if ! "$MATRIX/versions.sh" | grep -qx 2.31; then
	if [[ ${HS_SKIP_MATRIX:-} == 1 ]]; then
		skip "static glibc 2.31 without threads" "HS_SKIP_MATRIX=1 (it needs the 2.31 sysroot)"
	else
		fail "static glibc 2.31 without threads" "no glibc 2.31 in the matrix: run make matrix (or HS_SKIP_MATRIX=1 to skip on purpose)"
	fi
elif ! "$MATRIX/cc.sh" -static -O1 -g -std=gnu11 -o "$st/classic" "$ROOT/fixtures/classic.c" \
	"$ROOT/fixtures/oracle.c" "$st/dlfo.c" >"$st/cc.log" 2>&1; then
	fail "static glibc 2.31 without threads: built against the 2.31 sysroot's libc.a" "cc" "$st/cc.log"
else
	static_glibc "static glibc 2.31 without threads" 2.31 "$host_v" "$st/classic"
fi

# --- --glibc for a program that names its version: it must agree (usage)
sd=$(new_tmpdir)
if start_bg "$sd" "$ROOT/build/fixtures/classic" "$sd" 1000; then
	hs "$sd/o" "$sd/e" attach --glibc=2.31 "$BG_PID"
	if [[ $HS_RC -eq 2 ]] && grep -q "names glibc $host_v" "$sd/e"; then
		pass "dynamic glibc $host_v with --glibc=2.31: exit 2, $(cat "$sd/e")"
	else
		fail "dynamic glibc $host_v with --glibc=2.31: exit 2" "exit $HS_RC" "$sd/e"
	fi
	exact_vs_oracle "dynamic glibc $host_v with --glibc=$host_v" "$BG_PID" "$sd" --glibc="$host_v"
	stop_fixture "$BG_PID"
else
	fail "dynamic classic: start" "$WAIT_REASON" "$sd/stderr"
fi

# --- a stripped static glibc program: no version to trust, refused
sp=$(new_tmpdir)
cp "$ROOT/build/fixtures-static/classic" "$sp/classic" && strip "$sp/classic"
if start_bg "$sp" "$sp/classic" "$sp" 1000; then
	refused_with "stripped static glibc" 4 "no glibc" "$BG_PID"
	stop_fixture "$BG_PID"
fi

# --- other allocators
prog=$(new_tmpdir)
cat >"$prog/p.c" <<'C'
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(void) { for (int i = 0; i < 1000; i++) memset(malloc(100 + i), 1, 8); pause(); return 0; }
C
cc -O1 -o "$prog/p" "$prog/p.c"
for lib in libjemalloc.so.2:jemalloc libtcmalloc_minimal.so.4:tcmalloc; do
	so=/usr/lib/x86_64-linux-gnu/${lib%%:*}
	name=${lib##*:}
	if [[ ! -e $so ]]; then
		fail "$name preloaded" "$so is not installed (make deps)"
		continue
	fi
	LD_PRELOAD=$so "$prog/p" &
	pid=$!
	FIX_PIDS+=("$pid")
	waitproc
	refused_with "$name preloaded" 4 "malloc is $name [0-9.]+ \\(" "$pid"
	kill_ours KILL "$pid"
done
if command -v musl-gcc >/dev/null && musl-gcc -static -O1 -o "$prog/pm" "$prog/p.c" 2>/dev/null; then
	"$prog/pm" &
	pid=$!
	FIX_PIDS+=("$pid")
	waitproc
	refused_with "static musl" 4 "no glibc" "$pid"
	kill_ours KILL "$pid"
else
	fail "static musl" "musl-gcc missing (make deps)"
fi

summary
