# Invariant checks on `heapscope attach --json` output (JSON.md).
# Input: the JSON. Args: $mi (glibc mallinfo2 from the fixture), $facts (lines
# of facts.txt), $pid, $ntasks. Output: "ok\tNAME" or "FAIL\tNAME\tDETAIL" lines.
def chk($name; $cond; detail):
  if $cond then "ok\t\($name)" else "FAIL\t\($name)\t\(detail)" end;
def pairs($from): . as $w | [range($from; ($w | length) - 1; 2) | {key: $w[.], value: ($w[. + 1] | tonumber)}];
def num: if type == "number" then . else -1 end;

. as $j
| ($j.arenas // []) as $A
| ($j.totals // {}) as $T
| ["system_bytes", "in_use_bytes", "in_use_chunks", "free_bytes", "free_chunks",
   "tcache_bytes", "tcache_chunks", "fastbin_bytes", "fastbin_chunks",
   "bin_bytes", "bin_chunks", "top_bytes", "overhead_bytes"] as $F
| def bad(cond): [$A[] | select((cond) | not) | .index];
  chk("schema"; $j.schema == "heapscope/1"; "schema \($j.schema)"),
  chk("target.pid"; $j.target.pid == $pid; "target.pid \($j.target.pid), expected \($pid)"),
  chk("target.threads == /proc tasks";
      (if ($j.target.threads | type) == "array" then ($j.target.threads | length) else $j.target.threads end) == $ntasks;
      "target.threads \($j.target.threads), /proc/PID/task has \($ntasks)"),
  chk("threads[] == /proc tasks"; ($j.threads | length) == $ntasks;
      "\($j.threads | length) entries, /proc/PID/task has \($ntasks)"),
  chk("arenas present"; ($A | length) >= 1; "no arenas"),
  (($mi | keys_unsorted[]) as $k
   | chk("mallinfo2.\($k) == glibc"; $j.mallinfo2[$k] == $mi[$k];
         "heapscope \($j.mallinfo2[$k]), glibc \($mi[$k])")),
  chk("arena: in_use+free+top+overhead == system";
      bad(.in_use_bytes + .free_bytes + .top_bytes + .overhead_bytes == .system_bytes) == [];
      [$A[] | select(.in_use_bytes + .free_bytes + .top_bytes + .overhead_bytes != .system_bytes)
       | "arena \(.index): \(.in_use_bytes)+\(.free_bytes)+\(.top_bytes)+\(.overhead_bytes) != \(.system_bytes)"] | join("; ")),
  chk("arena: free_bytes == tcache+fastbin+bin";
      bad(.free_bytes == .tcache_bytes + .fastbin_bytes + .bin_bytes) == [];
      "arenas \(bad(.free_bytes == .tcache_bytes + .fastbin_bytes + .bin_bytes))"),
  chk("arena: free_chunks == tcache+fastbin+bin";
      bad(.free_chunks == .tcache_chunks + .fastbin_chunks + .bin_chunks) == [];
      "arenas \(bad(.free_chunks == .tcache_chunks + .fastbin_chunks + .bin_chunks))"),
  chk("totals: free == tcache+fastbin+bin (bytes, chunks)";
      $T.free_bytes == $T.tcache_bytes + $T.fastbin_bytes + $T.bin_bytes
      and $T.free_chunks == $T.tcache_chunks + $T.fastbin_chunks + $T.bin_chunks;
      "\($T | {free_bytes, tcache_bytes, fastbin_bytes, bin_bytes, free_chunks, tcache_chunks, fastbin_chunks, bin_chunks})"),
  chk("totals: in_use+free+top+overhead == system";
      $T.in_use_bytes + $T.free_bytes + $T.top_bytes + $T.overhead_bytes == $T.system_bytes;
      "\($T | {in_use_bytes, free_bytes, top_bytes, overhead_bytes, system_bytes})"),
  chk("totals == sum over arenas";
      [$F[] as $f | select($T[$f] != ($A | map(.[$f]) | add // 0))] == [];
      [$F[] as $f | select($T[$f] != ($A | map(.[$f]) | add // 0))
       | "\($f): totals \($T[$f]) sum \($A | map(.[$f]) | add // 0)"] | join("; ")),
  chk("totals.system_bytes == mallinfo2.arena"; $T.system_bytes == $mi.arena;
      "\($T.system_bytes) vs \($mi.arena)"),
  chk("mallinfo2.fsmblks == totals.fastbin_bytes"; $mi.fsmblks == $T.fastbin_bytes;
      "glibc \($mi.fsmblks), heapscope \($T.fastbin_bytes)"),
  chk("mallinfo2.smblks == totals.fastbin_chunks"; $mi.smblks == $T.fastbin_chunks;
      "glibc \($mi.smblks), heapscope \($T.fastbin_chunks)"),
  chk("mallinfo2.ordblks == bin_chunks + arenas (each top is a block)";
      $mi.ordblks == $T.bin_chunks + ($A | length);
      "glibc \($mi.ordblks), heapscope \($T.bin_chunks) + \($A | length)"),
  chk("mallinfo2.fordblks == top + fastbin + bin";
      $mi.fordblks == $T.top_bytes + $T.fastbin_bytes + $T.bin_bytes;
      "glibc \($mi.fordblks), heapscope \($T.top_bytes)+\($T.fastbin_bytes)+\($T.bin_bytes)"),
  chk("mallinfo2.uordblks == in_use + tcache + overhead";
      $mi.uordblks == $T.in_use_bytes + $T.tcache_bytes + $T.overhead_bytes;
      "glibc \($mi.uordblks), heapscope \($T.in_use_bytes)+\($T.tcache_bytes)+\($T.overhead_bytes)"),
  chk("mallinfo2.keepcost == main arena top_bytes";
      $mi.keepcost == ([$A[] | select(.main) | .top_bytes] | first // -1);
      "glibc \($mi.keepcost), heapscope \([$A[] | select(.main) | .top_bytes])"),
  chk("mallinfo2.hblks == mmapped_chunks"; $mi.hblks == $T.mmapped_chunks;
      "glibc \($mi.hblks), heapscope \($T.mmapped_chunks)"),
  chk("mallinfo2.hblkhd == mmapped_bytes"; $mi.hblkhd == $T.mmapped_bytes;
      "glibc \($mi.hblkhd), heapscope \($T.mmapped_bytes)"),
  chk("one main arena, indexes 0..n-1";
      ([$A[] | select(.main)] | length) == 1 and ([$A[].index] == [range(0; $A | length)]);
      "main flags \([$A[].main]), indexes \([$A[].index])"),
  ($facts[] | split(" ") | select(length >= 2) as $w
   | if $w[0] == "thread" then
       ($w[1] | tonumber) as $tid
       | ([$j.threads[] | select(.tid == $tid)] | first) as $t
       | ($w | pairs(2)[]) as $p
       | chk("fact: thread \($tid) \($p.key)"; $t != null and $t[$p.key] == $p.value;
             "heapscope \(if $t == null then "has no thread \($tid)" else $t[$p.key] end), fixture built \($p.value)")
     elif $w[0] == "arena_of" then
       ($w[1] | tonumber) as $tid
       | ([$A[] | select((.threads // []) | index([$tid]))] | first) as $a
       | ($w | pairs(2)[]) as $p
       | chk("fact: arena of thread \($tid) \($p.key)"; $a != null and $a[$p.key] == $p.value;
             "heapscope \(if $a == null then "has no arena listing thread \($tid)" else $a[$p.key] end), fixture built \($p.value)")
     elif $w[0] == "arenas" then
       chk("fact: arenas"; ($A | length) == ($w[1] | tonumber); "heapscope \($A | length), fixture built \($w[1])")
     elif ($T | has($w[0])) then
       ($w | pairs(0)[]) as $p
       | chk("fact: totals.\($p.key)"; $T[$p.key] == $p.value;
             "heapscope \($T[$p.key]), fixture built \($p.value)")
     else empty end)
