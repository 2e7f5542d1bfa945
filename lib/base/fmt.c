/* fmt.c - how heapscope writes sizes and bytes for people: every
 * human-facing line (the report, the diagnosis, an error) shares these,
 * so they agree. */
#include "base/fmt.h"

#include "base/hs.h"

#include <inttypes.h>
#include <stdio.h>

const char *hs_fmt_size(char buf[HS_SIZE_BUF], uint64_t bytes)
{
	static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
	if (bytes < 1024) {
		snprintf(buf, HS_SIZE_BUF, "%" PRIu64 " B", bytes);
		return buf;
	}
	int u = 0;
	double v = (double)bytes;
	/* Move up while the value would print as 1024.0 or more, so that
	 * 1048575 B reads "1.0 MiB", not "1024.0 KiB". */
	while (v >= 1023.95 && u < (int)HS_ARRAY_SIZE(unit) - 1) {
		v /= 1024.0;
		u++;
	}
	snprintf(buf, HS_SIZE_BUF, "%.1f %s", v, unit[u]);
	return buf;
}

const char *hs_fmt_size_change(char buf[HS_SIZE_BUF + 1], int sign, uint64_t bytes)
{
	char size[HS_SIZE_BUF];
	snprintf(buf, HS_SIZE_BUF + 1, "%s%s", sign > 0 ? "+" : sign < 0 ? "-" : "", hs_fmt_size(size, bytes));
	return buf;
}

const char *hs_fmt_preview(char buf[HS_PREVIEW_BUF], const unsigned char *p, unsigned n)
{
	size_t k = 0;
	if (n > HS_PREVIEW_BYTES)
		n = HS_PREVIEW_BYTES;
	for (unsigned i = 0; i < n; i++)
		k += (size_t)snprintf(buf + k, HS_PREVIEW_BUF - k, i ? " %02x" : "%02x", p[i]);
	buf[k++] = ' ';
	buf[k++] = '|';
	for (unsigned i = 0; i < n; i++)
		buf[k++] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '.';
	buf[k++] = '|';
	buf[k] = 0;
	return buf;
}

size_t hs_utf8_len(const unsigned char *p)
{
	unsigned c = p[0];
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		/* no overlong form (e0 a0..), no surrogate (ed 80..9f) */
		unsigned lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
		return p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 ? 3 : 0;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		/* no overlong form (f0 90..), nothing above U+10FFFF (f4 80..8f) */
		unsigned lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
		return p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 && (p[3] & 0xc0) == 0x80 ? 4 : 0;
	}
	return 0;
}

void hs_fputs_utf8_esc(FILE *out, const char *s, const char *(*esc)(unsigned char c))
{
	const unsigned char *p = (const unsigned char *)s;
	while (p && *p) {
		size_t n = hs_utf8_len(p);
		const char *r = n == 1 && esc ? esc(*p) : NULL;
		if (!n)
			fputs("\xef\xbf\xbd", out); /* U+FFFD for the one byte */
		else if (r)
			fputs(r, out);
		else
			fwrite(p, 1, n, out);
		p += n ? n : 1;
	}
}

void hs_fputs_utf8(FILE *out, const char *s)
{
	hs_fputs_utf8_esc(out, s, NULL);
}
