#!/usr/bin/env python3
"""png_colours.py SHOT.png [#rrggbb ...]: reads a PNG (8-bit RGB or RGBA,
not interlaced: what chromium's --screenshot writes) with zlib alone
(Debian's python3 has no PIL here), and prints
    pixels N distinct D nonwhite W missing C1 C2 ...
where the colours listed are those given that no pixel has exactly.
Exit 0, or 1 when the file is not such a PNG."""
import struct
import sys
import zlib


def pixels(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, w = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or ctype not in (2, 6) or interlace:
                raise ValueError(f"depth {depth} colour type {ctype} interlace {interlace}")
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    raw = zlib.decompress(idat)
    stride = w * bpp
    prev = bytearray(stride)
    out = []
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        out.extend(bytes(line[i:i + 3]) for i in range(0, stride, bpp))
        prev = line
    return out


def main():
    try:
        px = pixels(sys.argv[1])
    except (OSError, ValueError, zlib.error, struct.error) as e:
        print(f"unreadable: {e}")
        return 1
    seen = set(px)
    white = px.count(b"\xff\xff\xff")
    missing = [c for c in sys.argv[2:] if bytes.fromhex(c.lstrip("#")) not in seen]
    print(f"pixels {len(px)} distinct {len(seen)} nonwhite {len(px) - white} missing {' '.join(missing)}".rstrip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
