/* render.c - the vocabulary the renderers share. */
#include "report/render.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base/hs.h"

#include <cjson/cJSON.h>

#define JSON_EXACT_LIMIT 1000000000000000ll

cJSON *hs_json_i64(int64_t v)
{
	if (v < JSON_EXACT_LIMIT && v > -JSON_EXACT_LIMIT)
		return cJSON_CreateNumber((double)v);
	char buf[24];
	snprintf(buf, sizeof buf, "%" PRId64, v);
	return cJSON_CreateRaw(buf);
}

cJSON *hs_json_u64(uint64_t v)
{
	if (v < (uint64_t)JSON_EXACT_LIMIT)
		return cJSON_CreateNumber((double)v);
	char buf[24];
	snprintf(buf, sizeof buf, "%" PRIu64, v);
	return cJSON_CreateRaw(buf);
}

const char *hs_state_name(enum hs_state s)
{
	switch (s) {
	case HS_ST_INUSE:
		return "in_use";
	case HS_ST_TCACHE:
		return "tcache";
	case HS_ST_FAST:
		return "fastbin";
	case HS_ST_BIN:
		return "bin";
	case HS_ST_TOP:
		return "top";
	case HS_ST_MMAPPED:
		return "mmapped";
	case HS_ST_FREE_UNLISTED:
		return "free_unlisted";
	}
	return "unknown";
}

/* --redact ---------------------------------------------------------------- */

static bool is_text(unsigned char b)
{
	return (b >= 0x20 && b < 0x7f) || b == '\t' || b == '\n' || b == '\r';
}

static uint64_t word_at(const unsigned char *p, unsigned word)
{
	uint64_t v = 0;
	for (unsigned i = word; i-- > 0;)
		v = v << 8 | p[i]; /* little-endian, as the target stores it */
	return v;
}

/* Adds len bytes of kind k to runs (n of them so far); returns the new n. */
static size_t add_run(struct hs_byte_run *runs, size_t n, enum hs_byte_kind k, unsigned len)
{
	if (n && (runs[n - 1].kind == k || runs[n - 1].kind == HS_BK_MIXED)) {
		runs[n - 1].bytes += len;
		return n;
	}
	if (n == HS_REDACT_RUNS) { /* the last one becomes "mixed" */
		runs[n - 1].kind = HS_BK_MIXED;
		runs[n - 1].bytes += len;
		return n;
	}
	runs[n++] = (struct hs_byte_run){k, len};
	return n;
}

size_t hs_byte_runs(const unsigned char *p, unsigned n, unsigned word, struct hs_byte_run *runs)
{
	if (word != 4 && word != 8)
		word = 8;
	size_t nr = 0;
	unsigned i = 0;
	for (; i + word <= n; i += word) {
		uint64_t v = word_at(p + i, word);
		/* text, then zeros to the word's end: the end of a C string
		 * ("-token\0\0" would pass for an address) */
		unsigned t = 0, z;
		while (t < word && is_text(p[i + t]))
			t++;
		for (z = t; z < word && !p[i + z];)
			z++;
		if (!v)
			nr = add_run(runs, nr, HS_BK_ZEROS, word);
		else if (t == word)
			nr = add_run(runs, nr, HS_BK_TEXT, word);
		else if (z == word) {
			nr = add_run(runs, nr, HS_BK_TEXT, t);
			nr = add_run(runs, nr, HS_BK_ZEROS, word - t);
		} else if (v >= 0x1000 && v < (1ull << 47))
			nr = add_run(runs, nr, HS_BK_POINTER, word);
		else
			for (unsigned k = 0; k < word; k++)
				nr = add_run(runs, nr, !p[i + k] ? HS_BK_ZEROS : is_text(p[i + k]) ? HS_BK_TEXT : HS_BK_BINARY, 1);
	}
	for (; i < n; i++) /* a tail shorter than a word */
		nr = add_run(runs, nr, !p[i] ? HS_BK_ZEROS : is_text(p[i]) ? HS_BK_TEXT : HS_BK_BINARY, 1);
	return nr;
}

const char *hs_byte_kind_name(enum hs_byte_kind k)
{
	switch (k) {
	case HS_BK_TEXT:
		return "text";
	case HS_BK_ZEROS:
		return "zeros";
	case HS_BK_POINTER:
		return "pointer";
	case HS_BK_BINARY:
		return "binary";
	case HS_BK_MIXED:
		return "mixed";
	}
	return "unknown";
}

const char *hs_describe_bytes(char buf[HS_DESCRIBE_BUF], const unsigned char *p, unsigned n, unsigned word)
{
	struct hs_byte_run runs[HS_REDACT_RUNS];
	size_t nr = hs_byte_runs(p, n, word, runs);
	size_t k = (size_t)snprintf(buf, HS_DESCRIBE_BUF, "%u B", n);
	for (size_t i = 0; i < nr && k < HS_DESCRIBE_BUF; i++)
		k += (size_t)snprintf(buf + k, HS_DESCRIBE_BUF - k, "%s%s %u B", i ? ", " : ": ",
				      hs_byte_kind_name(runs[i].kind), runs[i].bytes);
	return buf;
}

char *hs_redact_warning(const char *w)
{
	static const char mark[] = "0x(redacted)";
	size_t len = strlen(w);
	/* a number is replaced only when it has 12 digits or more, by 12 characters */
	char *out = hs_xcalloc(len + 1, 1);
	size_t o = 0;
	for (size_t i = 0; i < len;) {
		bool start = w[i] == '0' && (w[i + 1] == 'x' || w[i + 1] == 'X') && isxdigit((unsigned char)w[i + 2]) &&
			     (i == 0 || !isalnum((unsigned char)w[i - 1]));
		if (!start) {
			out[o++] = w[i++];
			continue;
		}
		size_t j = i + 2;
		while (isxdigit((unsigned char)w[j]))
			j++;
		const char *d = w + i + 2;
		while (*d == '0' && d + 1 < w + j)
			d++; /* leading zeros */
		size_t digits = (size_t)(w + j - d);
		bool big = digits > 12 || (digits == 12 && *d >= '8');
		if (big) {
			memcpy(out + o, mark, sizeof mark - 1);
			o += sizeof mark - 1;
		} else {
			memcpy(out + o, w + i, j - i);
			o += j - i;
		}
		i = j;
	}
	out[o] = 0;
	return out;
}
