# Checks on `attach --bins --json` (input). Each arena's .bins has tcache, fast,
# small, large (arrays) and unsorted (object), each entry {count, bytes, chunks}.
# $free: [addresses the --chunks run classified tcache/fastbin/bin (sorted)] or [null].
def chk($name; $cond; detail):
  if $cond then "ok\t\($name)" else "FAIL\t\($name)\t\(detail)" end;
def arr: if . == null then [] elif type == "array" then . else [.] end;
def cnt: map(.count) | add // 0;
def byt: map(.bytes) | add // 0;
[.arenas[] as $a
 | ($a.bins // {}) as $b
 | ($b.tcache | arr) as $t | ($b.fast | arr) as $f
 | (($b.unsorted | arr) + ($b.small | arr) + ($b.large | arr)) as $r
 | {a: $a, t: $t, f: $f, r: $r}] as $X
| (
  ($X[] | . as $x | $x.a.index as $i
   | chk("--bins: arena \($i) every list's chunks match its count";
         all(($x.t + $x.f + $x.r)[]; (.chunks | arr | length) == .count);
         "\([($x.t + $x.f + $x.r)[] | select((.chunks | arr | length) != .count) | {bin, size, count, listed: (.chunks | arr | length)}][:5])"),
     chk("--bins: arena \($i) list totals == arena tcache/fastbin/bin";
         ($x.t | cnt) == $x.a.tcache_chunks and ($x.t | byt) == $x.a.tcache_bytes
         and ($x.f | cnt) == $x.a.fastbin_chunks and ($x.f | byt) == $x.a.fastbin_bytes
         and ($x.r | cnt) == $x.a.bin_chunks and ($x.r | byt) == $x.a.bin_bytes;
         "lists t=\($x.t | cnt)/\($x.t | byt) f=\($x.f | cnt)/\($x.f | byt) b=\($x.r | cnt)/\($x.r | byt), arena t=\($x.a.tcache_chunks)/\($x.a.tcache_bytes) f=\($x.a.fastbin_chunks)/\($x.a.fastbin_bytes) b=\($x.a.bin_chunks)/\($x.a.bin_bytes)")),
  ($free[0] as $free | if $free == null then empty else
     ([$X[] | (.t + .f + .r)[] | .chunks | arr | .[]] | sort) as $listed
     | chk("--bins chunk addresses == --chunks free chunks"; $listed == $free;
           "\($listed | length) listed vs \($free | length) free; first difference: \(first(range(0; [($listed | length), ($free | length)] | max) | select($listed[.] != $free[.]) | {index: ., bins: $listed[.], chunks: $free[.]}))")
   end))
