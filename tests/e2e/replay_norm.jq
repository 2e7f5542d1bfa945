# Normalise `heapscope attach|replay --json --chunks --bins` (input) into
# lines that do not depend on where the kernel put things (ASLR), so that a
# live glibc heap and the reference core's simulated one can be diffed:
#   heap A.K SIZE                    arena A's K-th heap and its size
#   chunk A.K+OFF SIZE STATE         every heap chunk, in address order; OFF
#                                    is its offset from the start of its heap
#                                    (the main heap starts at sbrk_base)
#   tcache|fast|small|large A BIN SIZE: A.K+OFF ...   every free list, its
#   unsorted A: ...                  members in list order
#   mmapped SIZE                     mmapped chunks, sizes only, sorted (their
#                                    addresses are the kernel's)
#   mmapped_chunks N
def hex: ltrimstr("0x") | ascii_downcase | explode
  | reduce .[] as $c (0; . * 16 + (if $c >= 97 then $c - 87 else $c - 48 end));
(.chunks // [.arenas[] | .chunks[]?]) as $C
| [.arenas[] | .index as $a | .heaps | to_entries[]
 | {a: $a, k: .key, s: (.value.start | hex), e: (.value.end | hex), size: .value.size}] as $H
| def where: hex as $x
    | ([$H[] | select(.s <= $x and $x < .e)] | first) as $h
    | if $h == null then "outside:\(.)" else "\($h.a).\($h.k)+\($x - $h.s)" end;
  def members: [(.chunks // [])[] | where] | join(" ");
  ($H[] | "heap \(.a).\(.k) \(.size)"),
  ($C[] | select(.state != "mmapped") | "chunk \(.address | where) \(.size) \(.state)"),
  (.arenas[] | .index as $a | .bins
   | ((.tcache // [])[] | "tcache \($a) \(.bin) \(.size): \(members)"),
     ((.fast // [])[] | "fast \($a) \(.bin) \(.size): \(members)"),
     (.unsorted | select(. != null and .count > 0) | "unsorted \($a): \(members)"),
     ((.small // [])[] | "small \($a) \(.bin) \(.size): \(members)"),
     ((.large // [])[] | "large \($a) \(.bin): \(members)")),
  ([$C[] | select(.state == "mmapped") | .size] | sort | (.[] | "mmapped \(.)"), "mmapped_chunks \(length)")
