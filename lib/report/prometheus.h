/* prometheus.h - the pieces of the OpenMetrics text exposition
 * (--format=prometheus, prometheus.c) that a test can hold on its own:
 * how a label value is written, and how a JSON millisecond figure
 * becomes seconds without a rounding step. Internal to report/ and its
 * tests; hs_report_prometheus() (report.h) is the renderer. */
#ifndef HS_PROMETHEUS_H
#define HS_PROMETHEUS_H

#include <stdio.h>

/* v as the inside of a quoted OpenMetrics label value (or HELP text):
 * backslash, double quote and newline escaped as \\, \" and \n; every
 * byte that is not part of well-formed UTF-8 (RFC 3629: no overlong
 * form, no surrogate, nothing above U+10FFFF) written as U+FFFD, since
 * both the OpenMetrics and the Prometheus text parsers refuse it. */
void hs_prom_escape(FILE *out, const char *v);

/* ms milliseconds as seconds, in decimal: the digits cJSON writes for ms
 * in the JSON report (the shortest of %.15g and %.17g that reads back as
 * ms) with the decimal point moved three places, so that the value is
 * the JSON's divided by 1000 exactly, not a double rounded once more:
 * 1.5 -> "0.0015", 20.25 -> "0.02025", 0 -> "0". "NaN", "+Inf" or
 * "-Inf" for what is not finite. */
#define HS_PROM_SECONDS_BUF 64
const char *hs_prom_seconds(char buf[HS_PROM_SECONDS_BUF], double ms);

#endif
