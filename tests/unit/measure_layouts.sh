#!/usr/bin/env bash
# Measures glibc's malloc structures from libc's own DWARF (gdb's ptype /o)
# for the host glibc and every glibc of the matrix (make matrix), and prints
# them as the C rows of test_refcore.c's `measured[]` table: the independent
# oracle of the two layout encodings (arch/x86_64.c's table and
# lib/refcore/refcore_layout.c's C-rules computation).
#   usage: tests/unit/measure_layouts.sh   (needs gdb and libc6-dbg: make deps)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MATRIX=$ROOT/tests/matrix

debug_file() { # VERSION: libc's debug file, by build-id
	local v=$1 root= dbg libc id
	dbg=$("$MATRIX/debuginfo.sh" "$v") # empty: the host's glibc
	if [[ -z $dbg ]]; then dbg=/usr/lib/debug; else root=${dbg%/usr/lib/debug}; fi
	libc=$(find "$root/lib/x86_64-linux-gnu" "$root/usr/lib/x86_64-linux-gnu" -maxdepth 1 -name 'libc.so.6' 2>/dev/null | head -n 1)
	id=$(readelf -n "$libc" | awk '/Build ID/ {print $3}')
	printf '%s/.build-id/%s/%s.debug\n' "$dbg" "${id:0:2}" "${id:2}"
}

row() { # VERSION
	local f
	f=$(debug_file "$1")
	[[ -f $f ]] || { echo "measure_layouts: no debug file $f" >&2; exit 1; }
	gdb -nx -batch -ex 'ptype /o struct malloc_state' -ex 'ptype /o struct malloc_par' \
		-ex 'ptype /o struct _heap_info' -ex 'ptype /o struct tcache_perthread_struct' "$f" 2>/dev/null |
		awk -v ver="${1#2.}" '
		/type = struct malloc_state/ {s = "ms"} /type = struct malloc_par/ {s = "mp"}
		/type = struct _heap_info/ {s = "hi"} /type = struct tcache_perthread_struct/ {s = "tc"}
		/^\/\* +[0-9]+ +\| +[0-9]+ \*\// {
			off = $2; size = $4; name = $NF; sub(/;$/, "", name); sub(/^\*+/, "", name)
			n = 1; if (match(name, /\[[0-9]+\]/)) { n = substr(name, RSTART + 1, RLENGTH - 2); sub(/\[.*/, "", name) }
			f[s "_" name] = off; cnt[s "_" name] = n; sz[s "_" name] = size
		}
		/total size \(bytes\)/ { match($0, /[0-9]+ \*\//); tot[s] = substr($0, RSTART, RLENGTH - 3) + 0 }
		function g(k) { return (k in f) ? f[k] : -1 }
		END {
			counts = ("tc_counts" in f) ? "tc_counts" : "tc_num_slots"
			bins = ("mp_tcache_bins" in f) ? "mp_tcache_bins" : "mp_tcache_small_bins"
			printf "\t{%s, /* ms */ %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d,\n",
				ver, g("ms_mutex"), g("ms_flags"), g("ms_have_fastchunks"), g("ms_fastbinsY"),
				("ms_fastbinsY" in f) ? cnt["ms_fastbinsY"] : 0, g("ms_top"), g("ms_last_remainder"),
				g("ms_bins"), cnt["ms_bins"] / 2 + 1, g("ms_binmap"), g("ms_next"), g("ms_next_free"),
				g("ms_attached_threads"), g("ms_system_mem"), g("ms_max_system_mem"), tot["ms"]
			printf "\t /* mp */ %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d,\n",
				g("mp_trim_threshold"), g("mp_top_pad"), g("mp_mmap_threshold"), g("mp_arena_test"),
				g("mp_arena_max"), g("mp_hp_pagesize"), g("mp_n_mmaps"), g("mp_n_mmaps_max"),
				g("mp_max_n_mmaps"), g("mp_no_dyn_threshold"), g("mp_mmapped_mem"),
				g("mp_max_mmapped_mem"), g("mp_sbrk_base"), g(bins), g("mp_tcache_max_bytes"),
				g("mp_tcache_count"), g("mp_tcache_unsorted_limit"), tot["mp"]
			printf "\t /* hi */ %d, %d, %d, %d, %d, /* tc */ %d, %d, %d, %d, %d},\n",
				g("hi_ar_ptr"), g("hi_prev"), g("hi_size"), g("hi_mprotect_size"), tot["hi"],
				g(counts), g("tc_entries"), tot["tc"], sz[counts] / cnt[counts], cnt[counts]
		}'
}

mapfile -t versions < <("$MATRIX/versions.sh")
[[ ${#versions[@]} -gt 1 ]] || echo "measure_layouts: only the host glibc (make matrix fetches the others)" >&2
for v in $(printf "%s\n" "${versions[@]}" | sort -V); do
	row "$v"
done
