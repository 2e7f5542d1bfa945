# Findings' bytes against the totals they summarise: prints one line per
# mismatch (nothing when all agree).
. as $r
| ($r.arenas | map(select(.main | not)) | map(.free_bytes + .top_bytes) | add // 0) as $thread_holes
| ($r.arenas | map(select(.main)) | .[0].top_bytes // 0) as $main_top
| $r.diagnosis.findings[]
| . as $f
| (if .kind == "holes" then $r.totals.free_bytes
   elif .kind == "top-pinned" then ($r.pins[0].held_bytes // -1)
   elif .kind == "top" then $main_top
   elif .kind == "arena-sprawl" then $thread_holes
   elif .kind == "tcache" then $r.totals.tcache_bytes
   elif .kind == "fastbins" then $r.totals.fastbin_bytes
   elif .kind == "mmap-threshold" then $r.diagnosis.thresholds.mmap_threshold
   elif .kind == "leak" then ($r.leaks.bytes // -1)
   elif .kind == "inconsistent" then 0
   elif .kind == "outside-malloc" then ($r.process.outside_malloc_bytes // -1)
   else null end) as $want
| select($want == null or $want != $f.bytes)
| "\($f.kind): bytes \($f.bytes), expected \($want)"
