# Load for tests/e2e/real.sh, to 127.0.0.1 only, bounded.
#   client.py http PORT N       N GETs over 8 keep-alive connections
#   client.py memcache PORT N   N sets (10 B to 200 KiB), every fifth key deleted
#   client.py redis PORT N      N SETs
# Prints "done K" (requests that got the expected answer) and exits 0 when
# all did, 1 otherwise.
import http.client
import socket
import sys
import threading

kind, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
HOST = "127.0.0.1"


def http_load():
    ok = [0]
    lock = threading.Lock()
    paths = ["/small.txt", "/medium.txt", "/large.txt", "/missing", "/echo"]

    def worker(w):
        c = http.client.HTTPConnection(HOST, port, timeout=10)
        good = 0
        for i in range(w, n, 8):
            p = paths[i % len(paths)]
            hdrs = {"Accept-Encoding": "gzip"} if i % 3 == 0 else {}
            c.request("GET", p + ("?q=%d" % i), headers=hdrs)
            r = c.getresponse()
            r.read()
            if r.status == (404 if p == "/missing" else 200):
                good += 1
        c.close()
        with lock:
            ok[0] += good

    ts = [threading.Thread(target=worker, args=(w,)) for w in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return ok[0]


def recv_until(s, buf, token):
    while token not in buf:
        chunk = s.recv(65536)
        if not chunk:
            raise EOFError
        buf += chunk
    i = buf.index(token) + len(token)
    return buf[:i], buf[i:]


def memcache_load():
    # pipelined, 100 commands a batch on each of 4 connections
    socks = [socket.create_connection((HOST, port), timeout=10) for _ in range(4)]
    good, buf = 0, [b""] * 4
    for start in range(0, n, 400):
        want = [[] for _ in socks]
        out = [[] for _ in socks]
        for i in range(start, min(n, start + 400)):
            k = i % 4
            size = 10 + (i * 7919) % 2000 if i % 50 else 100000 + (i * 131) % 100000
            out[k].append(b"set key:%d 0 0 %d\r\n%s\r\n" % (i, size, b"x" * size))
            want[k].append(b"STORED\r\n")
            if i % 5 == 4:
                out[k].append(b"delete key:%d\r\n" % (i - 4))
                want[k].append(b"DELETED\r\n")
        for k, s in enumerate(socks):
            s.sendall(b"".join(out[k]))
        for k, s in enumerate(socks):
            for w in want[k]:
                line, buf[k] = recv_until(s, buf[k], b"\r\n")
                if w == b"STORED\r\n":
                    good += line == w
                elif line != w:
                    good -= 1
    for s in socks:
        s.close()
    return good


def redis_load():
    # pipelined, 100 commands a batch
    s = socket.create_connection((HOST, port), timeout=10)
    good, buf = 0, b""
    for start in range(0, n, 100):
        cmds = []
        for i in range(start, min(n, start + 100)):
            v = b"v" * (10 + i % 3000)
            k = b"key:%d" % i
            cmds.append(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(k), k, len(v), v))
        s.sendall(b"".join(cmds))
        for _ in cmds:
            line, buf = recv_until(s, buf, b"\r\n")
            good += line == b"+OK\r\n"
    s.close()
    return good


good = {"http": http_load, "memcache": memcache_load, "redis": redis_load}[kind]()
print("done", good)
sys.exit(0 if good == n else 1)
