/* report.c - picks the renderer for the chosen format. */
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
	case HS_FMT_PROMETHEUS:
		hs_report_prometheus(out, c, d);
		break;
	case HS_FMT_SVG:
		hs_report_svg(out, c, d);
		break;
	default:
		return HS_EUSAGE;
	}
	fflush(out);
	return ferror(out) ? HS_EINTERNAL : HS_OK;
}
