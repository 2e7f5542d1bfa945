/* report.c - picks the renderer for the chosen format, and the one size
 * formatter every human-facing line shares (so text and diagnosis agree). */
#include <inttypes.h>

#include "report/report.h"

int hs_report(FILE *out, const struct hs_census *c, const struct hs_diagnosis *d,
	      const struct hs_report_opts *o)
{
	switch (o->format) {
	case HS_FMT_TEXT:
		hs_report_text(out, c, d, o);
		break;
	case HS_FMT_JSON:
		hs_report_json(out, c, d, o);
		break;
	case HS_FMT_MALLOC_STATS:
		hs_report_malloc_stats(out, c);
		break;
	case HS_FMT_MALLOC_INFO:
		hs_report_malloc_info(out, c);
		break;
	default:
		return HS_EUSAGE;
	}
	fflush(out);
	return ferror(out) ? HS_EINTERNAL : HS_OK;
}

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
