#!/usr/bin/env python3
"""svg_check.py MAP.svg REPORT.json [FACTS]: the heap map (--format=svg)
against the JSON report of the same snapshot. Exit 0 when every check
holds, 1 with the failed ones on stdout.
  - well-formed XML (xml.etree), an <svg> root;
  - the legend names every state;
  - one band per heap of every arena (JSON arenas[].heaps) and one per
    mmapped chunk (totals.mmapped_chunks), or, past 63 of them, one
    band more for the rest, whose label and title count them;
  - each band's rectangles tile its width (1024 pixels) and their titles'
    byte ranges its address range, with no gap or overlap;
  - per arena, the bytes and chunks the titles give each state (in use,
    tcache, fastbin, bin, top) equal the JSON's, and so the totals."""
import json
import re
import sys
import xml.etree.ElementTree as ET

NS = "{http://www.w3.org/2000/svg}"
STATES = {"in use": "in_use", "tcache": "tcache", "fastbin": "fastbin", "bin": "bin", "top": "top"}
LEGEND = ["in use", "tcache", "fastbin", "bin", "top", "overhead", "mmapped"]
WIDTH = 1024


def main():
    svg_path, json_path = sys.argv[1], sys.argv[2]
    bad = []
    try:
        root = ET.parse(svg_path).getroot()
    except ET.ParseError as e:
        print(f"FAIL: not well-formed XML: {e}")
        return 1
    if root.tag != NS + "svg":
        bad.append(f"root is {root.tag}, not svg")
    rep = json.load(open(json_path))
    groups = root.findall(NS + "g")
    legend = [g for g in groups if g.get("class") == "legend"]
    names = [t.text for g in legend for t in g.findall(NS + "text")]
    for n in LEGEND + ["pin"] + (["leaked"] if rep.get("leaks") else []):
        if n not in names:
            bad.append(f"legend lacks '{n}' (has {names})")
    bands = [g for g in groups if g.get("class") == "band"]
    heaps, mmapped = 0, 0
    per_arena = {}
    marks, named = {}, []
    rest = 0
    for g in bands:
        label = g.find(NS + "text").text
        rm = re.match(r"(\d+) more mmapped chunks: 0x([0-9a-f]+)-0x([0-9a-f]+), (\d+) bytes in all", label)
        if rm:
            rest += 1
            n, b = int(rm.group(1)), int(rm.group(4))
            mmapped += n
            rects = [r for r in g.findall(NS + "rect") if r.get("class") == "m"]
            want = f"{n} mmapped chunks, 0x{rm.group(2)}-0x{rm.group(3)}\nmmapped: {b} bytes in {n} chunks"
            if len(rects) != 1 or rects[0].find(NS + "title").text != want or rects[0].get("width") != str(WIDTH):
                bad.append(f"{label}: not one rectangle of {WIDTH} pixels titled {want!r}")
            if mmapped - n + 1 != 64:
                bad.append(f"{label}: after {mmapped - n} bands of one chunk, not 63")
            for r in g.findall(NS + "rect"):
                if r.get("class") in ("l", "n"):
                    mm = re.match(r"(leaked|pin): (\d+) chunks, \d+ bytes, the first 0x[0-9a-f]+", r.find(NS + "title").text)
                    if mm:
                        marks[mm.group(1)] = marks.get(mm.group(1), 0) + int(mm.group(2))
                    else:
                        bad.append(f"{label}: mark title {r.find(NS + 'title').text!r}")
            continue
        m = re.match(r"(arena (\d+) heap \d+|mmapped chunk): 0x([0-9a-f]+)-0x([0-9a-f]+), (\d+) bytes", label)
        if not m:
            bad.append(f"band label '{label}'")
            continue
        lo, hi = int(m.group(3), 16), int(m.group(4), 16)
        if m.group(2) is not None:
            heaps += 1
            acc = per_arena.setdefault(int(m.group(2)), {})
        else:
            mmapped += 1
            acc = {}
        x = 8
        at = lo
        rects = g.findall(NS + "rect")
        for r in rects:
            if r.get("class") in ("l", "n"):
                title = r.find(NS + "title").text
                mm = re.match(r"(leaked|pin): (?:chunk 0x([0-9a-f]+), size (\d+)|(\d+) chunks, (\d+) bytes, the first 0x([0-9a-f]+))", title)
                if not mm:
                    bad.append(f"{label}: mark title {title!r}")
                    continue
                n = int(mm.group(4) or 1)
                first = int(mm.group(2) or mm.group(6), 16)
                if not lo <= first < hi:
                    bad.append(f"{label}: mark {title!r} outside the band")
                marks[mm.group(1)] = marks.get(mm.group(1), 0) + n
                if mm.group(2):
                    named.append((mm.group(1), first, int(mm.group(3))))
        for r in [r for r in rects if r.get("class") not in ("l", "n")]:
            if int(r.get("x")) != x:
                bad.append(f"{label}: rect at x={r.get('x')}, expected {x}")
            x += int(r.get("width"))
            title = r.find(NS + "title").text
            tm = re.match(r"0x([0-9a-f]+)-0x([0-9a-f]+) \((\d+) bytes\)", title)
            s, e = int(tm.group(1), 16), int(tm.group(2), 16)
            if s != at or e - s != int(tm.group(3)):
                bad.append(f"{label}: title range {tm.group(0)} after 0x{at:x}")
            at = e
            held = 0
            for st, b, c in re.findall(r"\n([a-z ]+): (\d+) bytes in (\d+) chunks", title):
                held += int(b)
                t = acc.setdefault(st, [0, 0])
                t[0] += int(b)
                t[1] += int(c)
            if held != e - s:
                bad.append(f"{label}: {title!r}: states hold {held} bytes of {e - s}")
        if x != 8 + WIDTH:
            bad.append(f"{label}: rects end at x={x}, not {8 + WIDTH}")
        if at != hi:
            bad.append(f"{label}: titles end at 0x{at:x}, the band at 0x{hi:x}")
    want_heaps = sum(len(a["heaps"]) for a in rep["arenas"])
    if heaps != want_heaps:
        bad.append(f"{heaps} heap bands, the JSON has {want_heaps} heaps")
    if rest > 1 or (rest == 0 and mmapped > 64):
        bad.append(f"{mmapped} mmapped chunks in {rest} bands of the rest: one past 64")
    if mmapped != rep["totals"]["mmapped_chunks"]:
        bad.append(f"{mmapped} mmapped bands, the JSON has {rep['totals']['mmapped_chunks']} mmapped chunks")
    tot = {}
    for i, a in enumerate(rep["arenas"]):
        acc = per_arena.get(i, {})
        for st, key in STATES.items():
            got = acc.get(st, [0, 0])
            tot.setdefault(st, [0, 0])
            tot[st][0] += got[0]
            tot[st][1] += got[1]
            want_c = None if key == "top" else a[key + "_chunks"]
            if got[0] != a[key + "_bytes"] or (want_c is not None and got[1] != want_c):
                bad.append(f"arena {i} {st}: map {got[0]} bytes in {got[1]} chunks, "
                           f"JSON {a[key + '_bytes']} bytes in {want_c} chunks")
    for st, key in STATES.items():
        if tot[st][0] != rep["totals"][key + "_bytes"]:
            bad.append(f"totals {st}: map {tot[st][0]} bytes, JSON {rep['totals'][key + '_bytes']}")
    suspects = (rep.get("leaks") or {}).get("suspects") or []
    if marks.get("leaked", 0) != len(suspects):
        bad.append(f"{marks.get('leaked', 0)} leaked chunks marked, the JSON has {len(suspects)} suspects")
    pins = rep.get("pins") or []
    if marks.get("pin", 0) != len(pins):
        bad.append(f"{marks.get('pin', 0)} pins marked, the JSON has {len(pins)}")
    if len(sys.argv) > 3:
        facts = {}
        for line in open(sys.argv[3]):
            f = line.split()
            if len(f) >= 3 and f[0] in ("leaked", "pin"):
                facts.setdefault(f[0], {})[int(f[1], 16)] = int(f[2])
        for kind, want in facts.items():
            if marks.get(kind, 0) != len(want):
                bad.append(f"{marks.get(kind, 0)} {kind} marks, the fixture's facts have {len(want)}")
        for kind, a, z in named:
            if kind in facts and facts[kind].get(a) != z:
                bad.append(f"{kind} chunk 0x{a:x} size {z} marked: the fixture's is {facts[kind].get(a)}")
    for b in bad:
        print("FAIL:", b)
    if not bad:
        print(f"ok: {heaps} heap bands, {mmapped} mmapped" + (" (the last ones in one band)" if rest else "") + ", states as the JSON's: "
              + ", ".join(f"{st} {tot[st][0]} B/{tot[st][1]}" for st in STATES)
              + f"; marks: {marks.get('leaked', 0)} leaked, {marks.get('pin', 0)} pins")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
