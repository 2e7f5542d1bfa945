#!/usr/bin/env bash
# The fixtures themselves (independent of heapscope): the oracle does not
# disturb the heap it describes, nomalloc's parent never initialised malloc,
# and the threads fixture's tcache facts agree with gdb's reading of each
# thread's tcache.   usage: tests/e2e/fixtures.sh
set -uo pipefail
SUITE=fixtures
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/../lib.sh"

fact() { awk -v k="$1" '$1 == k {print $2; exit}' "$2"; }

echo "== oraclecheck: oracle_write leaves the heap as it was"
if start_fixture oraclecheck; then
	d=$FIX_DIR
	for k in mallinfo2_unchanged main_heap_unchanged thread_heap_unchanged; do
		v=$(fact "$k" "$d/facts.txt")
		if [[ $v == 1 ]]; then pass "oraclecheck $k"; else fail "oraclecheck $k" "got '${v:-none}'" "$d/facts.txt"; fi
	done
	for f in malloc_stats.txt malloc_info.xml mallinfo2.txt; do
		if cmp -s "$d/a/$f" "$d/b/$f" && cmp -s "$d/a/$f" "$d/$f"; then
			pass "oraclecheck $f identical over three oracle_write calls"
		else
			fail "oraclecheck $f identical over three oracle_write calls" "differs" \
				"$(diff "$d/a/$f" "$d/b/$f"; diff "$d/a/$f" "$d/$f")"
		fi
	done
	if grep -q '<size from=' "$d/malloc_info.xml" && grep -q '<unsorted ' "$d/malloc_info.xml"; then
		pass "oraclecheck heap has fastbin, bin and unsorted chunks"
	else
		fail "oraclecheck heap has fastbin, bin and unsorted chunks" "malloc_info lacks them" "$d/malloc_info.xml"
	fi
	stop_fixture "$FIX_PID"
fi

echo "== nomalloc: the target never initialised malloc"
# shellcheck disable=SC2016  # gdb value names, not shell variables
if start_fixture nomalloc; then
	out=$(timeout -k 5 60 gdb -nx -batch -p "$FIX_PID" -ex 'p main_arena.top' \
		-ex 'p __malloc_initialized' -ex 'p mp_.sbrk_base' 2>&1)
	if grep -q '^\$1 = (mchunkptr) 0x0$' <<<"$out" && grep -q '^\$2 = false$' <<<"$out" &&
		grep -q '^\$3 = 0x0$' <<<"$out"; then
		pass "nomalloc: main_arena.top == 0, __malloc_initialized false, sbrk_base 0 (gdb)"
	else
		fail "nomalloc: main_arena.top == 0, __malloc_initialized false (gdb)" "gdb says" \
			"$(grep '^\$' <<<"$out" || tail -n 5 <<<"$out")"
	fi
	if grep -q '\[heap\]' "/proc/$FIX_PID/maps"; then
		fail "nomalloc: no [heap] mapping" "the parent has a [heap]"
	else
		pass "nomalloc: no [heap] mapping"
	fi
	alive "nomalloc alive after gdb" "$FIX_PID"
	stop_fixture "$FIX_PID"
fi

echo "== threads: facts agree with gdb's view of every tcache"
if start_fixture threads; then
	gdbout=$(timeout -k 5 60 gdb -nx -batch -p "$FIX_PID" -ex 'python
for t in gdb.selected_inferior().threads():
    t.switch()
    tc = gdb.parse_and_eval("tcache")
    n = b = 0
    for i in range(64):
        c = int(tc["counts"][i])
        n += c
        b += c * (32 + 16 * i)
    print("GDB thread %d tcache_chunks %d tcache_bytes %d" % (t.ptid[1], n, b))
' 2>&1)
	want=$(grep '^thread ' "$FIX_DIR/facts.txt" | sort)
	got=$(grep '^GDB thread ' <<<"$gdbout" | sed 's/^GDB //' | sort)
	if [[ -n $want && $want == "$got" ]]; then
		pass "threads: facts.txt tcache counts == gdb ($(wc -l <<<"$want") threads)"
	else
		fail "threads: facts.txt tcache counts == gdb" "differ" "facts:" "$want" "gdb:" "${got:-$(tail -n 5 <<<"$gdbout")}"
	fi
	n=$(grep -c '<heap nr=' "$FIX_DIR/malloc_info.xml")
	if [[ $n == 5 ]]; then pass "threads: malloc_info shows 5 heaps"; else
		fail "threads: malloc_info shows 5 heaps" "it shows $n"; fi
	alive "threads alive after gdb" "$FIX_PID"
	stop_fixture "$FIX_PID"
fi
summary
