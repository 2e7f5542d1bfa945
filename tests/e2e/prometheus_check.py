#!/usr/bin/python3
# prometheus_check.py: the checks of tests/e2e/prometheus.sh on heapscope's
# --format=prometheus output, written from the specifications, not from
# heapscope's renderer.
#
#   prometheus_check.py format PROM
#       A strict reading of the OpenMetrics text format (openmetrics.io,
#       "Text format"), as far as heapscope uses it: every line a HELP,
#       TYPE or UNIT line, a sample, or "# EOF" (last, once, newline-ended;
#       no blank line); names [a-zA-Z_:][a-zA-Z0-9_:]*, label names
#       [a-zA-Z_][a-zA-Z0-9_]* (none twice in a sample); label values
#       quoted with only \\, \" and \n escaped, valid UTF-8; values numbers
#       (integers, decimals, exponents, NaN, +Inf, -Inf); every family with
#       HELP and TYPE (gauge) before its first sample, each once, its
#       samples together, none after another family began; UNIT only as
#       the name's suffix; no series twice. Then prometheus_client's own
#       OpenMetrics parser (Debian's python3-prometheus-client) reads it.
#   prometheus_check.py join JSON PROM [VOLATILE...]
#       Every series is one the JSON report of the same process gives (its
#       name, labels and value derived from the JSON below, field by
#       field), with its value equal to the JSON's: integers as integers,
#       the *_ms timings as seconds in decimal (Decimal(ms) / 1000, no
#       float rounding); no series missing, none extra. VOLATILE names
#       series that two snapshots measure afresh (the stop's duration): of
#       those only the presence and a finite value >= 0 are checked.
# Prints one line per problem and exits 1 if there is any.
import json
import re
import sys
from decimal import Decimal, InvalidOperation

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LNAME = r"[a-zA-Z_][a-zA-Z0-9_]*"
# a label value: anything but a backslash, a double quote or a newline,
# or one of the three escapes
LVALUE = r'(?:[^"\\\n]|\\[\\"n])*'
NUMBER = r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|NaN|[-+]?Inf"
SAMPLE = re.compile(r"(%s)(?:\{(.*)\})? (%s)" % (NAME, NUMBER))
LABEL = re.compile(r'(%s)="(%s)"' % (LNAME, LVALUE))
META = re.compile(r"# (HELP|TYPE|UNIT) (%s)(?: (.*))?" % NAME)

problems = []


def problem(msg):
    problems.append(msg)


def unescape(v):
    return re.sub(r'\\([\\"n])', lambda m: "\n" if m.group(1) == "n" else m.group(1), v)


def labels_of(text, where):
    """{name: value} of a sample's label text, strictly."""
    out = {}
    pos = 0
    while text and pos <= len(text):
        m = LABEL.match(text, pos)
        if not m:
            problem("%s: bad label syntax at %r" % (where, text[pos:]))
            return out
        if m.group(1) in out:
            problem("%s: label %s twice" % (where, m.group(1)))
        out[m.group(1)] = unescape(m.group(2))
        pos = m.end()
        if pos == len(text):
            break
        if text[pos] != ",":
            problem("%s: expected ',' at %r" % (where, text[pos:]))
            return out
        pos += 1
    return out


def read_samples(raw):
    """The samples of the exposition as {(name, labels): value text}, checking the format."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        problem("not UTF-8: %s" % e)
        text = raw.decode("utf-8", "replace")
    if not text.endswith("\n"):
        problem("the last line does not end with a newline")
    lines = text.split("\n")[:-1] if text.endswith("\n") else text.split("\n")
    if not lines or lines[-1] != "# EOF":
        problem("the last line is %r, not '# EOF'" % (lines[-1] if lines else ""))
    series = {}
    meta = {}  # family: {HELP: text, TYPE: type, UNIT: unit}
    closed = set()  # families whose samples are behind us
    current = None
    for n, line in enumerate(lines, 1):
        where = "line %d" % n
        if line == "# EOF":
            if n != len(lines):
                problem("%s: '# EOF' before the end" % where)
            continue
        if line.startswith("#"):
            m = META.fullmatch(line)
            if not m:
                problem("%s: a comment that is not HELP, TYPE or UNIT: %r" % (where, line))
                continue
            kind, fam, rest = m.group(1), m.group(2), m.group(3)
            if fam != current:
                if current is not None:
                    closed.add(current)
                if fam in closed or fam in meta:
                    problem("%s: family %s opened again" % (where, fam))
                current = fam
                meta.setdefault(fam, {})
            if kind in meta[fam]:
                problem("%s: second %s for %s" % (where, kind, fam))
            if rest is None:
                problem("%s: %s of %s has no text" % (where, kind, fam))
                rest = ""
            meta[fam][kind] = rest
            if kind == "TYPE" and rest != "gauge":
                problem("%s: %s is of type %r, not gauge" % (where, fam, rest))
            if kind == "UNIT" and not fam.endswith("_" + rest):
                problem("%s: unit %r is not the suffix of %s" % (where, rest, fam))
            if kind == "HELP" and re.search(r'\\[^\\"n]|\\$', rest):
                problem("%s: HELP of %s has a bad escape" % (where, fam))
            continue
        m = SAMPLE.fullmatch(line)
        if not m:
            problem("%s: not a sample: %r" % (where, line))
            continue
        name, ltext, value = m.group(1), m.group(2), m.group(3)
        if name != current:
            problem("%s: sample of %s outside its family (current: %s)" % (where, name, current))
        fam = meta.get(name, {})
        if "HELP" not in fam or "TYPE" not in fam:
            problem("%s: %s has no %s before its sample" % (where, name, " and ".join(k for k in ("HELP", "TYPE") if k not in fam)))
        labels = labels_of(ltext or "", where)
        key = (name, tuple(sorted(labels.items())))
        if key in series:
            problem("%s: series %s%s twice" % (where, name, labels))
        series[key] = value
    return text, series


def check_format(path):
    raw = open(path, "rb").read()
    text, series = read_samples(raw)
    if not series:
        problem("no sample at all")
    try:
        from prometheus_client.openmetrics.parser import text_string_to_metric_families
    except ImportError as e:
        problem("python3-prometheus-client is missing (make deps): %s" % e)
        return
    try:
        n = sum(len(f.samples) for f in text_string_to_metric_families(text))
        if n != len(series):
            problem("prometheus_client read %d samples, this reading %d" % (n, len(series)))
    except Exception as e:  # the parser's ValueError and anything else
        problem("prometheus_client's OpenMetrics parser refuses it: %s" % e)


def expected(j):
    """{(name, labels): Decimal} from the JSON report, field by field."""
    exp = {}

    def put(name, labels, v):
        key = (name, tuple(sorted((k, str(x)) for k, x in labels.items())))
        if key in exp:
            problem("the JSON gives %s%s twice" % (name, labels))
        exp[key] = Decimal(int(v)) if isinstance(v, bool) else Decimal(v)

    def seconds(name, ms):
        put(name, {}, Decimal(ms) / 1000)

    t, sym, snap, tot = j["target"], j["symbols"], j["snapshot"], j["totals"]
    info = {"pid": t["pid"], "exe": t["exe"], "arch": t["arch"], "glibc": t["glibc"], "method": sym["source"]}
    if "core" in t:
        info["core"] = t["core"]
    put("heapscope_target_info", info, 1)
    put("heapscope_threads", {}, t["threads"])
    seconds("heapscope_snapshot_stop_seconds", snap["stopped_ms"])
    seconds("heapscope_snapshot_duration_seconds", snap["total_ms"])
    put("heapscope_snapshot_retries", {}, snap["retries"])
    put("heapscope_snapshot_consistent", {}, snap["consistent"])
    if snap["max_stop_ms"] is not None:
        seconds("heapscope_snapshot_predicted_stop_seconds", snap["predicted_stop_ms"])
        seconds("heapscope_snapshot_max_stop_seconds", snap["max_stop_ms"])

    byte_kinds = ["in_use", "tcache", "fastbin", "bin", "top", "overhead"]
    chunk_kinds = ["in_use", "tcache", "fastbin", "bin"]
    put("heapscope_system_bytes", {}, tot["system_bytes"])
    for k in byte_kinds:
        put("heapscope_heap_bytes", {"kind": k}, tot[k + "_bytes"])
    for k in chunk_kinds:
        put("heapscope_heap_chunks", {"kind": k}, tot[k + "_chunks"])
    for f in ("free_bytes", "free_chunks", "mmapped_bytes", "mmapped_chunks", "resident_free_bytes", "trimmable_bytes"):
        if f in tot:
            put("heapscope_" + f, {}, tot[f])
    put("heapscope_arenas", {}, len(j["arenas"]))
    for a in j["arenas"]:
        i = a["index"]
        put("heapscope_arena_system_bytes", {"arena": i}, a["system_bytes"])
        for k in byte_kinds:
            put("heapscope_arena_bytes", {"arena": i, "kind": k}, a[k + "_bytes"])
        for k in chunk_kinds:
            put("heapscope_arena_chunks", {"arena": i, "kind": k}, a[k + "_chunks"])
        put("heapscope_arena_threads", {"arena": i}, len(a["threads"]))
    for th in j["threads"]:
        put("heapscope_thread_tcache_bytes", {"tid": th["tid"]}, th["tcache_bytes"])
        put("heapscope_thread_tcache_chunks", {"tid": th["tid"]}, th["tcache_chunks"])
    for r in j["histogram"]:
        for k in ("in_use", "free"):
            lab = {"min": r["min"], "max": r["max"], "kind": k}
            put("heapscope_size_class_bytes", lab, r[k + "_bytes"])
            put("heapscope_size_class_chunks", lab, r[k + "_chunks"])
    counts = {"ordblks", "smblks", "hblks"}
    for f, v in j["mallinfo2"].items():
        put("heapscope_mallinfo2_" + f + ("" if f in counts else "_bytes"), {}, v)

    d = j["diagnosis"]
    put("heapscope_verdict_info", {"verdict": d["verdict"]}, 1)
    put("heapscope_action_needed", {}, d["action_needed"])
    seen = set()
    for f in d["findings"]:
        if f["kind"] not in seen:
            seen.add(f["kind"])
            put("heapscope_finding_bytes", {"kind": f["kind"]}, f["bytes"])
    if "thresholds" in d:
        put("heapscope_mmap_threshold_bytes", {}, d["thresholds"]["mmap_threshold"])
        put("heapscope_trim_threshold_bytes", {}, d["thresholds"]["trim_threshold"])
    # warnings: each one, and "N more warnings" for those dropped
    nw = 0
    for w in j["warnings"]:
        m = re.fullmatch(r"([0-9]+) more warnings", w)
        nw += int(m.group(1)) if m else 1
    put("heapscope_warnings", {}, nw)

    p = j.get("process")
    if p and p["read"]:
        put("heapscope_process_rss_bytes", {}, p["rss_bytes"])
        for k in ("arenas", "mmapped_chunks", "stacks", "other_anon", "file", "shared"):
            put("heapscope_process_memory_bytes", {"kind": k}, p[k + "_bytes"])
        put("heapscope_process_malloc_bytes", {}, p["malloc_bytes"])
        put("heapscope_process_outside_malloc_bytes", {}, p["outside_malloc_bytes"])
    lk = j.get("leaks")
    if lk:
        put("heapscope_leaked_bytes", {}, lk["bytes"])
        put("heapscope_leaked_chunks", {}, lk["chunks"])
        for f in ("interior", "reachable"):
            put("heapscope_leak_%s_bytes" % f, {}, lk[f + "_bytes"])
            put("heapscope_leak_%s_chunks" % f, {}, lk[f + "_chunks"])
    return exp


def check_join(jpath, ppath, volatile):
    # numbers as Decimal, from their own digits: no float in between
    j = json.load(open(jpath), parse_float=Decimal, parse_int=Decimal)
    _, series = read_samples(open(ppath, "rb").read())
    del problems[:]  # the format's, which `format` tells: here the values alone
    exp = expected(j)
    matched = 0
    for key, want in sorted(exp.items()):
        show = "%s%s" % (key[0], dict(key[1]))
        if key not in series:
            problem("missing: %s (the JSON's %s)" % (show, want))
            continue
        try:
            got = Decimal(series[key])
        except InvalidOperation:
            problem("%s: value %r is not a number" % (show, series[key]))
            continue
        if key[0] in volatile:
            if not (got.is_finite() and got >= 0):
                problem("%s: %s, not a finite number >= 0" % (show, series[key]))
        elif got != want:
            problem("%s: %s, the JSON's %s" % (show, series[key], want))
        else:
            matched += 1
    for key in sorted(set(series) - set(exp)):
        problem("extra: %s%s %s (nothing in the JSON gives it)" % (key[0], dict(key[1]), series[key]))
    return matched


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "format":
        check_format(sys.argv[2])
        summary = "format"
    elif len(sys.argv) >= 4 and sys.argv[1] == "join":
        n = check_join(sys.argv[2], sys.argv[3], set(sys.argv[4:]))
        summary = "%d values equal" % n
    else:
        print("usage: prometheus_check.py format PROM | join JSON PROM [VOLATILE...]", file=sys.stderr)
        return 2
    for p in problems:
        print(p)
    if problems:
        return 1
    print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
