/* prometheus.c - the census as the OpenMetrics text exposition, for
 * node_exporter's textfile collector (--format=prometheus). Every family
 * is a gauge with HELP and TYPE (and UNIT where its name ends in one),
 * named in Prometheus's way: heapscope_ prefix, base units (_bytes,
 * _seconds), a label (kind, arena, tid, ...) where the series of a family
 * add up to something, never an aggregate beside its parts in one family.
 * Every value is the JSON report's (json.c), from the same census fields;
 * the millisecond timings are written in seconds. The list of families is
 * in man/heapscope.1 (PROMETHEUS OUTPUT). */
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "report/prometheus.h"
#include "report/render.h"
#include "report/report.h"

/* OpenMetrics' label value escapes */
static const char *prom_esc(unsigned char c)
{
	return c == '\\' ? "\\\\" : c == '"' ? "\\\"" : c == '\n' ? "\\n" : NULL;
}

void hs_prom_escape(FILE *out, const char *v)
{
	hs_fputs_utf8_esc(out, v, prom_esc);
}

/* The digits of d as cJSON 1.7 writes them: %1.15g, or %1.17g when that
 * does not read back within DBL_EPSILON (its print_number). */
static void cjson_digits(char *buf, size_t size, double d)
{
	snprintf(buf, size, "%1.15g", d);
	double t = strtod(buf, NULL), at = t < 0 ? -t : t, ad = d < 0 ? -d : d, diff = t > d ? t - d : d - t;
	if (!(diff <= (at > ad ? at : ad) * DBL_EPSILON))
		snprintf(buf, size, "%1.17g", d);
}

const char *hs_prom_seconds(char buf[HS_PROM_SECONDS_BUF], double ms)
{
	if (!isfinite(ms)) {
		snprintf(buf, HS_PROM_SECONDS_BUF, "%s", isnan(ms) ? "NaN" : ms > 0 ? "+Inf" : "-Inf");
		return buf;
	}
	char s[40], digits[40];
	cjson_digits(s, sizeof s, ms);
	/* s = [-]D[.DDD][e±X]: its digits, and where the point is after them */
	const char *p = s;
	bool neg = *p == '-';
	p += neg;
	size_t nd = 0;
	long point = -1;
	for (; *p && *p != 'e'; p++) {
		if (*p == '.')
			point = (long)nd;
		else
			digits[nd++] = *p;
	}
	if (point < 0)
		point = (long)nd;
	if (*p == 'e')
		point += strtol(p + 1, NULL, 10);
	point -= 3; /* milliseconds to seconds */
	/* leading zeros out (0.5 -> "5", the point one less), trailing ones
	 * too (the point stays: what is written pads with zeros up to it) */
	size_t lead = 0;
	while (lead < nd && digits[lead] == '0')
		lead++, point--;
	while (nd > lead && digits[nd - 1] == '0')
		nd--;
	if (lead == nd) {
		snprintf(buf, HS_PROM_SECONDS_BUF, "0");
		return buf;
	}
	const char *d = digits + lead;
	long n = (long)(nd - lead);
	char *o = buf;
	if (point < -20 || point > 30) { /* no page of zeros: D.DDDe±X */
		o += sprintf(o, "%s%c", neg ? "-" : "", d[0]);
		if (n > 1)
			o += sprintf(o, ".%.*s", (int)(n - 1), d + 1);
		sprintf(o, "e%ld", point - 1);
		return buf;
	}
	if (neg)
		*o++ = '-';
	if (point <= 0) {
		o += sprintf(o, "0.");
		for (long i = 0; i < -point; i++)
			*o++ = '0';
		sprintf(o, "%.*s", (int)n, d);
	} else if (point >= n) {
		o += sprintf(o, "%.*s", (int)n, d);
		for (long i = n; i < point; i++)
			*o++ = '0';
		*o = 0;
	} else {
		sprintf(o, "%.*s.%.*s", (int)point, d, (int)(n - point), d + point);
	}
	return buf;
}

/* The header of a family: HELP, TYPE gauge, and UNIT when the name ends
 * in _bytes or _seconds (OpenMetrics wants the unit as the name's suffix). */
static void family(FILE *out, const char *name, const char *help)
{
	fprintf(out, "# HELP %s ", name);
	hs_prom_escape(out, help);
	fprintf(out, "\n# TYPE %s gauge\n", name);
	size_t n = strlen(name);
	static const char *const units[] = {"bytes", "seconds"};
	for (size_t i = 0; i < HS_ARRAY_SIZE(units); i++) {
		size_t u = strlen(units[i]);
		if (n > u + 1 && name[n - u - 1] == '_' && strcmp(name + n - u, units[i]) == 0)
			fprintf(out, "# UNIT %s %s\n", name, units[i]);
	}
}

/* One sample, written a piece at a time: series() its name, label() each
 * label, then value() or value_text(). */
struct series {
	FILE *out;
	int nlabels;
};

static struct series series(FILE *out, const char *name)
{
	fputs(name, out);
	return (struct series){out, 0};
}

static void label(struct series *s, const char *key, const char *v)
{
	fprintf(s->out, "%c%s=\"", s->nlabels++ ? ',' : '{', key);
	hs_prom_escape(s->out, v);
	fputc('"', s->out);
}

static void label_u(struct series *s, const char *key, uint64_t v)
{
	char buf[24];
	snprintf(buf, sizeof buf, "%" PRIu64, v);
	label(s, key, buf);
}

static void value_text(struct series *s, const char *v)
{
	fprintf(s->out, "%s %s\n", s->nlabels ? "}" : "", v);
}

static void value(struct series *s, uint64_t v)
{
	char buf[24];
	snprintf(buf, sizeof buf, "%" PRIu64, v);
	value_text(s, buf);
}

/* A family of one sample without labels. */
static void single(FILE *out, const char *name, const char *help, uint64_t v)
{
	family(out, name, help);
	struct series s = series(out, name);
	value(&s, v);
}

static void single_seconds(FILE *out, const char *name, const char *help, double ms)
{
	char buf[HS_PROM_SECONDS_BUF];
	family(out, name, help);
	struct series s = series(out, name);
	value_text(&s, hs_prom_seconds(buf, ms));
}

/* The classes of an arena's bytes (they add up to its system bytes) and
 * of its chunks: the JSON names without _bytes/_chunks. */
enum { K_IN_USE, K_TCACHE, K_FASTBIN, K_BIN, K_TOP, K_OVERHEAD, K_BYTE_KINDS, K_CHUNK_KINDS = K_TOP };
static const char *const kind_name[K_BYTE_KINDS] = {"in_use", "tcache", "fastbin", "bin", "top", "overhead"};

static uint64_t kind_bytes(const struct hs_counts *k, int kind)
{
	switch (kind) {
	case K_IN_USE:
		return k->in_use.bytes;
	case K_TCACHE:
		return k->tcache.bytes;
	case K_FASTBIN:
		return k->fast.bytes;
	case K_BIN:
		return k->bin.bytes;
	case K_TOP:
		return k->top_bytes;
	default:
		return k->overhead_bytes;
	}
}

static uint64_t kind_chunks(const struct hs_counts *k, int kind)
{
	return kind == K_IN_USE ? k->in_use.chunks : kind == K_TCACHE ? k->tcache.chunks
			 : kind == K_FASTBIN ? k->fast.chunks : k->bin.chunks;
}

/* The kinds of k as series of name, with an arena label unless arena < 0
 * (the process's totals). */
static void kind_series(FILE *out, const char *name, const struct hs_counts *k, long arena, bool chunks)
{
	int nk = chunks ? K_CHUNK_KINDS : K_BYTE_KINDS;
	for (int i = 0; i < nk; i++) {
		struct series s = series(out, name);
		if (arena >= 0)
			label_u(&s, "arena", (uint64_t)arena);
		label(&s, "kind", kind_name[i]);
		value(&s, chunks ? kind_chunks(k, i) : kind_bytes(k, i));
	}
}

static void target(FILE *out, const struct hs_census *c)
{
	const struct hs_symbols *sym = c->sym;
	family(out, "heapscope_target_info",
	       "The process or core read: pid, executable, architecture, glibc version and how its "
	       "symbols were found (dwarf, symtab or scan); always 1");
	struct series s = series(out, "heapscope_target_info");
	label_u(&s, "pid", (uint64_t)c->pid);
	label(&s, "exe", c->exe ? c->exe : "");
	if (c->core)
		label(&s, "core", c->core);
	label(&s, "arch", c->arch ? c->arch : "");
	label(&s, "glibc", sym->version);
	label(&s, "method", sym->method ? sym->method : "");
	value(&s, 1);
	single(out, "heapscope_threads", "Threads of the target", c->nthreads);
}

static void snapshot(FILE *out, const struct hs_census *c)
{
	single_seconds(out, "heapscope_snapshot_stop_seconds", "How long the target was stopped while it was read",
		       c->stopped_ms);
	single_seconds(out, "heapscope_snapshot_duration_seconds", "How long heapscope took, from start to report",
		       c->total_ms);
	single(out, "heapscope_snapshot_retries", "Stops made again because a thread was inside malloc",
	       (uint64_t)(c->retries > 0 ? c->retries : 0));
	single(out, "heapscope_snapshot_consistent",
	       "1 if no thread was inside malloc while the heap was read, else 0", c->consistent);
	if (c->max_stop_ms > 0) {
		single_seconds(out, "heapscope_snapshot_predicted_stop_seconds",
			       "The stop predicted before it was made", c->predicted_stop_ms);
		single_seconds(out, "heapscope_snapshot_max_stop_seconds", "The stop's budget (--max-stop)",
			       c->max_stop_ms);
	}
}

static void totals(FILE *out, const struct hs_census *c)
{
	single(out, "heapscope_system_bytes", "Bytes the arenas hold from the system (mallinfo2 arena)",
	       c->totals.system_bytes);
	family(out, "heapscope_heap_bytes",
	       "The arenas' bytes by what holds them; the kinds add up to heapscope_system_bytes");
	kind_series(out, "heapscope_heap_bytes", &c->totals, -1, false);
	family(out, "heapscope_heap_chunks", "The arenas' chunks by what holds them");
	kind_series(out, "heapscope_heap_chunks", &c->totals, -1, true);
	single(out, "heapscope_free_bytes", "Bytes of free chunks (tcache, fastbins, bins): holes, top aside",
	       c->totals.free.bytes);
	single(out, "heapscope_free_chunks", "Free chunks (tcache, fastbins, bins)", c->totals.free.chunks);
	single(out, "heapscope_mmapped_bytes", "Bytes of chunks malloc mmapped on their own",
	       c->totals.mmapped.bytes);
	single(out, "heapscope_mmapped_chunks", "Chunks malloc mmapped on their own", c->totals.mmapped.chunks);
	if (c->have_residency) {
		single(out, "heapscope_resident_free_bytes", "Bytes of free chunks and top on resident pages",
		       c->totals.resident_free_bytes);
		single(out, "heapscope_trimmable_bytes", "Bytes malloc_trim(0) would give back now",
		       c->totals.trimmable_bytes);
	}
}

static void arenas(FILE *out, const struct hs_census *c)
{
	single(out, "heapscope_arenas", "Arenas (main_arena and the threads' arenas)", c->narenas);
	family(out, "heapscope_arena_system_bytes", "Bytes an arena holds from the system");
	for (size_t i = 0; i < c->narenas; i++) {
		struct series s = series(out, "heapscope_arena_system_bytes");
		label_u(&s, "arena", i);
		value(&s, c->arenas[i].c.system_bytes);
	}
	family(out, "heapscope_arena_bytes",
	       "An arena's bytes by what holds them; the kinds add up to its system bytes");
	for (size_t i = 0; i < c->narenas; i++)
		kind_series(out, "heapscope_arena_bytes", &c->arenas[i].c, (long)i, false);
	family(out, "heapscope_arena_chunks", "An arena's chunks by what holds them");
	for (size_t i = 0; i < c->narenas; i++)
		kind_series(out, "heapscope_arena_chunks", &c->arenas[i].c, (long)i, true);
	family(out, "heapscope_arena_threads", "Threads attached to an arena");
	for (size_t i = 0; i < c->narenas; i++) {
		uint64_t n = 0;
		for (size_t t = 0; t < c->nthreads; t++)
			n += c->threads[t].thread->arena == (int)i;
		struct series s = series(out, "heapscope_arena_threads");
		label_u(&s, "arena", i);
		value(&s, n);
	}
}

static void threads(FILE *out, const struct hs_census *c)
{
	static const char *const name[2] = {"heapscope_thread_tcache_bytes", "heapscope_thread_tcache_chunks"};
	static const char *const help[2] = {"Bytes of free chunks in a thread's tcache",
					    "Free chunks in a thread's tcache"};
	for (int k = 0; k < 2; k++) {
		family(out, name[k], help[k]);
		for (size_t t = 0; t < c->nthreads; t++) {
			struct series s = series(out, name[k]);
			label_u(&s, "tid", (uint64_t)c->threads[t].thread->tid);
			value(&s, k ? c->threads[t].tcache.chunks : c->threads[t].tcache.bytes);
		}
	}
}

/* The size classes of the histogram: [min, max] chunk sizes. */
static void histogram(FILE *out, const struct hs_census *c)
{
	static const char *const name[2] = {"heapscope_size_class_bytes", "heapscope_size_class_chunks"};
	static const char *const help[2] = {"Bytes of chunks of sizes min to max, in use or free",
					    "Chunks of sizes min to max, in use or free"};
	for (int k = 0; k < 2; k++) {
		family(out, name[k], help[k]);
		for (size_t i = 0; i < c->nhist; i++) {
			const struct hs_hist_row *r = &c->hist[i];
			for (int st = 0; st < 2; st++) {
				const struct hs_tally *t = st ? &r->free : &r->in_use;
				struct series s = series(out, name[k]);
				label_u(&s, "min", r->min);
				label_u(&s, "max", r->max);
				label(&s, "kind", st ? "free" : "in_use");
				value(&s, k ? t->chunks : t->bytes);
			}
		}
	}
}

static void mallinfo2(FILE *out, const struct hs_mallinfo2 *m)
{
	static const struct {
		const char *name, *help;
		size_t off;
	} f[] = {
#define MI(n, h, field) {"heapscope_mallinfo2_" n, "mallinfo2() " #field ": " h, offsetof(struct hs_mallinfo2, field)}
		MI("arena_bytes", "bytes the arenas hold from the system", arena),
		MI("ordblks", "free chunks (fastbins aside)", ordblks),
		MI("smblks", "free chunks in fastbins", smblks),
		MI("hblks", "mmapped chunks", hblks),
		MI("hblkhd_bytes", "bytes of mmapped chunks", hblkhd),
		MI("usmblks_bytes", "always 0", usmblks),
		MI("fsmblks_bytes", "bytes of free chunks in fastbins", fsmblks),
		MI("uordblks_bytes", "bytes in use, tcache included", uordblks),
		MI("fordblks_bytes", "bytes free (fastbins, bins, top)", fordblks),
		MI("keepcost_bytes", "bytes of the main arena's top", keepcost),
#undef MI
	};
	for (size_t i = 0; i < HS_ARRAY_SIZE(f); i++)
		single(out, f[i].name, f[i].help, *(const uint64_t *)((const char *)m + f[i].off));
}

static void diagnosis(FILE *out, const struct hs_census *c, const struct hs_diagnosis *d)
{
	family(out, "heapscope_verdict_info", "The report's verdict (see heapscope(1), VERDICTS); always 1");
	struct series s = series(out, "heapscope_verdict_info");
	label(&s, "verdict", d->verdict ? d->verdict : "healthy");
	value(&s, 1);
	single(out, "heapscope_action_needed", "1 unless the report says no action is needed", d->action_needed);
	family(out, "heapscope_finding_bytes", "The bytes a finding of the diagnosis names, by its kind");
	for (size_t i = 0; i < d->nfindings; i++) {
		bool seen = false; /* one series a kind: a second would spoil the scrape */
		for (size_t j = 0; j < i && !seen; j++)
			seen = strcmp(d->findings[j].kind, d->findings[i].kind) == 0;
		if (seen)
			continue;
		s = series(out, "heapscope_finding_bytes");
		label(&s, "kind", d->findings[i].kind);
		value(&s, d->findings[i].bytes);
	}
	if (c->heap) {
		single(out, "heapscope_mmap_threshold_bytes", "Requests of this size or more are mmapped on their own",
		       c->heap->mp.mmap_threshold);
		single(out, "heapscope_trim_threshold_bytes", "free() gives the main arena's top back above this size",
		       c->heap->mp.trim_threshold);
	}
	single(out, "heapscope_warnings", "Warnings of the report: places where the heap is inconsistent",
	       c->warnings ? c->warnings->n + c->warnings->dropped : 0);
}

static void process(FILE *out, const struct hs_process *p)
{
	if (!p || !p->have)
		return;
	single(out, "heapscope_process_rss_bytes", "Resident bytes of the whole process (smaps)", p->rss);
	family(out, "heapscope_process_memory_bytes",
	       "Resident bytes of the process by what holds them; they add up to its RSS");
	for (int k = 0; k < HS_MEM_KINDS; k++) {
		struct series s = series(out, "heapscope_process_memory_bytes");
		label(&s, "kind", hs_mem_kind_name((enum hs_mem_kind)k));
		value(&s, p->bytes[k]);
	}
	single(out, "heapscope_process_malloc_bytes", "Resident bytes of malloc's arenas and mmapped chunks",
	       p->malloc_bytes);
	single(out, "heapscope_process_outside_malloc_bytes", "Resident bytes that are not malloc's",
	       p->outside_bytes);
}

static void leaks(FILE *out, const struct hs_leaks *l)
{
	if (!l)
		return;
	single(out, "heapscope_leaked_bytes", "Bytes of in-use chunks nothing points to (--leaks)", l->bytes);
	single(out, "heapscope_leaked_chunks", "In-use chunks nothing points to (--leaks)", l->chunks);
	single(out, "heapscope_leak_interior_bytes", "Bytes of in-use chunks reached only by interior pointers",
	       l->interior_bytes);
	single(out, "heapscope_leak_interior_chunks", "In-use chunks reached only by interior pointers",
	       l->interior_chunks);
	single(out, "heapscope_leak_reachable_bytes", "Bytes of in-use chunks reachable from the roots",
	       l->reachable_bytes);
	single(out, "heapscope_leak_reachable_chunks", "In-use chunks reachable from the roots", l->reachable_chunks);
}

void hs_report_prometheus(FILE *out, const struct hs_census *c, const struct hs_diagnosis *d)
{
	target(out, c);
	snapshot(out, c);
	totals(out, c);
	arenas(out, c);
	threads(out, c);
	histogram(out, c);
	mallinfo2(out, &c->mallinfo2);
	diagnosis(out, c, d);
	process(out, c->process);
	leaks(out, d->leaks);
	fputs("# EOF\n", out);
}
