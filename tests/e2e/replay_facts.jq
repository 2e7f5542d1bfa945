# attach's reading of the replay fixture (input: --json --chunks --bins)
# against what the fixture knows of its own heap ($facts: its facts.txt as
# an array of lines; see fixtures/replay.c). Prints "ok\tNAME" or
# "FAIL\tNAME\tDETAIL" lines.
def chk($name; $cond; detail):
  if $cond then "ok\t\($name)" else "FAIL\t\($name)\t\(detail)" end;
def hex: ltrimstr("0x") | ascii_downcase | explode
  | reduce .[] as $c (0; . * 16 + (if $c >= 97 then $c - 87 else $c - 48 end));
($facts | map(split(" "))) as $F
| ([$F[] | select(.[0] == "sbrk_start") | .[1] | hex] | first) as $brk
| ([$F[] | select(.[0] == "block") | {id: .[1], off: (.[2] | tonumber), size: (.[3] | tonumber)}]) as $blocks
| ([$F[] | select(.[0] == "mmapped") | .[2] | tonumber] | sort) as $mm
| ([$F[] | select(.[0] == "live") | .[1] | tonumber] | first) as $live
| ([.chunks[] | select(.state != "mmapped")] | map({key: (.address | hex | tostring), value: .}) | from_entries) as $C
| ([.threads[] | .tcache | select(. != null) | hex - 16 | tostring]) as $tc
| chk("facts present"; $brk != null and $live != null; "facts.txt lacks sbrk_start or live"),
  chk("nothing malloc'd before the trace (pre_arena 0)"; ([$F[] | select(.[0] == "pre_arena") | .[1]] == ["0"]); "\([$F[] | select(.[0] == "pre_arena")])"),
  chk("main heap starts at sbrk(0) taken before the trace";
      (.arenas[0].heaps | length) == 0 or (.arenas[0].heaps[0].start | hex) == $brk;
      "heap start \(.arenas[0].heaps[0].start), sbrk_start \($brk)"),
  chk("every live block is an in-use chunk of glibc's size at its offset";
      all($blocks[]; ($C[($brk + .off) | tostring]) as $c | $c != null and $c.size == .size and $c.state == "in_use");
      "first mismatch: \(first($blocks[] | ($C[($brk + .off) | tostring]) as $c | select($c == null or $c.size != .size or $c.state != "in_use") | {block: ., attach: $c}))"),
  chk("the only other in-use heap chunk is the thread's tcache";
      ([$blocks[] | ($brk + .off) | tostring]) as $b
      | ([$C[] | select(.state == "in_use") | .address | hex | tostring] - $b - $tc) == [];
      "unexplained in-use chunks: \([$C[] | select(.state == "in_use") | .address | hex | tostring] - [$blocks[] | ($brk + .off) | tostring] - $tc | .[:5])"),
  chk("mmapped blocks: same count and chunk sizes";
      ([.chunks[] | select(.state == "mmapped") | .size] | sort) == $mm;
      "attach \([.chunks[] | select(.state == "mmapped") | .size] | sort), glibc's chunk headers \($mm)\(
        if ([$F[] | select(.[0] == "mmapped" and .[3] != "0")] | length) > 0
        then " (memalign'd mmapped chunks: the chunk starts prev_size bytes into its mapping; glibc's lead gaps: \([$F[] | select(.[0] == "mmapped" and .[3] != "0") | .[3] | tonumber]))" else "" end)"),
  chk("live blocks == blocks + mmapped facts"; $live == ($blocks | length) + ($mm | length); "live \($live), blocks \($blocks | length), mmapped \($mm | length)")
