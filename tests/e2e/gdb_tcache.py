# gdb -batch -x gdb_tcache.py -p PID: every thread's tcache as glibc itself
# holds it, read by gdb through libc's debug symbols (an oracle nobody here
# wrote). Prints "TID CHUNKS BYTES" per thread.
# counts[] (<= 2.41) holds the entries per bin; num_slots[] (2.42+) the
# free slots left, so entries = mp_.tcache_count - num_slots. Bytes follow
# each list (safe-linking decoded where glibc mangles), so bins of mixed
# sizes (2.42+ large bins) are exact too.
import gdb

def chunk_size(user):
    return int(gdb.parse_and_eval("*(unsigned long *)%d" % (user - 8))) & ~7

def tls_fallback():
    # gdb reads TLS through libthread_db, which only loads for the host's
    # own glibc. For another version, gdb's own readings: the variable's
    # offset in libc's TLS block (its DWARF), libc's l_tls_offset from its
    # link_map (offset given by libc's _thread_db descriptor), and each
    # thread's $fs_base; x86_64 TLS variant II puts the block below it.
    info = gdb.execute("info address tcache", to_string=True)
    off = int(info.split("at offset ")[1].split()[0], 0)
    desc = gdb.parse_and_eval("_thread_db_link_map_l_tls_offset")
    field = int(desc[2])
    def word(a):
        return int(gdb.parse_and_eval("*(unsigned long *)%d" % a))
    # struct r_debug { int r_version; struct link_map *r_map; ... } and the
    # public head of struct link_map { l_addr, l_name, l_ld, l_next, l_prev }.
    lm = word(int(gdb.parse_and_eval("(unsigned long)&_r_debug")) + 8)
    while lm:
        name = gdb.parse_and_eval("(char *)%d" % word(lm + 8)).string()
        if "/libc.so" in name or "/libc-" in name:
            return off, word(lm + field)
        lm = word(lm + 24)
    raise gdb.error("libc not in the link map")

def read_tcache(fallback):
    try:
        return gdb.parse_and_eval("tcache")
    except gdb.error:
        if fallback is None:
            raise
        off, l_tls = fallback
        fs = int(gdb.parse_and_eval("$fs_base")) & 0xffffffffffffffff
        ptr = int(gdb.parse_and_eval("*(unsigned long *)%d" % (fs - l_tls + off)))
        return gdb.parse_and_eval("(struct tcache_perthread_struct *)%d" % ptr)

def has_symbol(name):
    try:
        gdb.parse_and_eval("&" + name)
        return True
    except gdb.error:
        return False

def main():
    inf = gdb.selected_inferior()
    # Safe-linking came in 2.32, the random tcache_key in 2.34: of the
    # versions tested (2.31, 2.36, 2.41, 2.43) the key tells them apart.
    safe = has_symbol("tcache_key")
    try:
        gdb.parse_and_eval("tcache")
        fallback = None
    except gdb.error:
        fallback = tls_fallback()
    out = []
    for th in inf.threads():
        th.switch()
        tc = read_tcache(fallback)
        tid = th.ptid[1]
        # 2.42+ starts a thread on a static placeholder in libc (a symbol);
        # a real tcache is a heap chunk, which no symbol names.
        placeholder = int(tc) != 0 and not gdb.execute(
            "info symbol %d" % int(tc), to_string=True).startswith("No symbol")
        if int(tc) == 0 or placeholder:
            out.append("%d 0 0" % tid)
            continue
        st = tc.dereference()
        fields = [f.name for f in st.type.fields()]
        down = "num_slots" in fields
        arr = st["num_slots" if down else "counts"]
        n = arr.type.range()[1] + 1
        cap = int(gdb.parse_and_eval("mp_.tcache_count")) if down else 0
        chunks = 0
        nbytes = 0
        for i in range(n):
            c = int(arr[i])
            k = cap - c if down else c
            if k <= 0:
                continue
            chunks += k
            e = int(st["entries"][i])
            for _ in range(k):
                if e == 0:
                    break
                nbytes += chunk_size(e)
                raw = int(gdb.parse_and_eval("*(unsigned long *)%d" % e))
                e = raw ^ (e >> 12) if safe else raw
        out.append("%d %d %d" % (tid, chunks, nbytes))
    for line in out:
        print("TCACHE " + line)

main()
