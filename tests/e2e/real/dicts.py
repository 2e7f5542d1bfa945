# Debian's python3 under tests/e2e/real.sh: builds big dicts, keeps a slice
# of each and drops the rest, then waits.   python3 -I dicts.py DIR
# The dicts' tables (megabytes) are malloc's mmapped chunks, the bytes
# objects (over 512 B) its heap; small objects are Python's own arenas.
# With "mmap", it also maps 96 MiB of private anonymous memory of its own
# (as a C extension's allocator would: a whole number of MiB) and fills
# it: memory outside malloc that is not obmalloc's.
#   python3 -I dicts.py DIR [mmap]
import gc
import mmap
import os
import sys
import time

d = sys.argv[1]
if sys.argv[2:] == ["mmap"]:
    own = mmap.mmap(-1, 96 << 20, flags=mmap.MAP_PRIVATE)
    own.write(b"\xab" * (96 << 20))
keep = {}
for r in range(3):
    big = {"key-%d-%d" % (r, i): "v" * (i % 40) + str(i) for i in range(150000)}
    blobs = [bytes(600 + (i * 37) % 6000) for i in range(4000)]
    keep[r] = {k: v for k, v in list(big.items())[::97]}
    keep[r, "blobs"] = blobs[::13]
    del big, blobs
gc.collect()
with open(os.path.join(d, "ready.tmp"), "w") as f:
    f.write(str(os.getpid()))
os.rename(os.path.join(d, "ready.tmp"), os.path.join(d, "ready"))
while True:
    time.sleep(3600)
