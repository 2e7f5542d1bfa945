# Checks on `attach --chunks --json` (input) against the arenas it reports.
# The chunk list is .chunks[] or .arenas[].chunks[] ({address, size, state, arena}).
def chk($name; $cond; detail):
  if $cond then "ok\t\($name)" else "FAIL\t\($name)\t\(detail)" end;
. as $j
| (if has("chunks") then .chunks
   elif ([.arenas[]? | has("chunks")] | any) then [.arenas[] | .index as $i | .chunks[] | .arena //= $i]
   else null end) as $C
| if $C == null then
    "FAIL\t--chunks: chunk list\tneither .chunks nor .arenas[].chunks in the output"
  else
    { in_use: "in_use", tcache: "tcache", fastbin: "fastbin", bin: "bin", top: "top" } as $S
    | ($C | map(select(.state != "mmapped")) | group_by(.arena)
       | map({key: (.[0].arena | tostring), value: .}) | from_entries) as $by
    | (.arenas[] as $a
       | ($by[$a.index | tostring] // []) as $cs
       | chk("--chunks: arena \($a.index) sum of chunk sizes == system - overhead";
             ($cs | map(.size) | add // 0) == $a.system_bytes - $a.overhead_bytes;
             "sum \($cs | map(.size) | add // 0), system \($a.system_bytes) - overhead \($a.overhead_bytes)"),
         chk("--chunks: arena \($a.index) chunks by state == arena counts";
             ($cs | map(select(.state == "in_use")) | length) == $a.in_use_chunks
             and ($cs | map(select(.state == "in_use") | .size) | add // 0) == $a.in_use_bytes
             and ($cs | map(select(.state == "tcache")) | length) == $a.tcache_chunks
             and ($cs | map(select(.state == "fastbin")) | length) == $a.fastbin_chunks
             and ($cs | map(select(.state == "bin")) | length) == $a.bin_chunks
             and ($cs | map(select(.state == "bin") | .size) | add // 0) == $a.bin_bytes
             and ($cs | map(select(.state == "top") | .size) | add // 0) == $a.top_bytes;
             "states \($cs | group_by(.state) | map({(.[0].state): length}) | add), arena \($a | {in_use_chunks, tcache_chunks, fastbin_chunks, bin_chunks, top_bytes})")),
      chk("--chunks: mmapped chunks == totals.mmapped_chunks";
          ($C | map(select(.state == "mmapped")) | length) == $j.totals.mmapped_chunks;
          "listed \($C | map(select(.state == "mmapped")) | length), totals \($j.totals.mmapped_chunks)"),
      chk("--chunks: every chunk has address, size, state, arena";
          all($C[]; (.address | type) == "string" and (.size | type) == "number" and (.state | type) == "string");
          "\([$C[] | select((.address | type) != "string" or (.size | type) != "number")][:3])"),
      chk("--chunks: no duplicate addresses";
          ($C | map(.address) | unique | length) == ($C | length); "duplicates present")
  end
