/* fmt.h - sizes and bytes written for people. */
#ifndef HS_FMT_H
#define HS_FMT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Bytes of a chunk's user area kept to show it (leak suspects, pins). */
#define HS_PREVIEW_BYTES 32

/* A size for people: "112 B", "4.0 KiB", "1.9 GiB" (one decimal, binary
 * units). Writes into buf and returns it. */
#define HS_SIZE_BUF 24
const char *hs_fmt_size(char buf[HS_SIZE_BUF], uint64_t bytes);
/* A change: sign (<0, 0, >0) then the size, "+1.5 MiB", "-112 B", "0 B". */
const char *hs_fmt_size_change(char buf[HS_SIZE_BUF + 1], int sign, uint64_t bytes);
/* The first bytes of a chunk as hexdump -C shows them: "48 69 00 ...
 * |Hi.|" (hex pairs, then printable ASCII with dots). */
#define HS_PREVIEW_BUF (HS_PREVIEW_BYTES * 4 + 4)
const char *hs_fmt_preview(char buf[HS_PREVIEW_BUF], const unsigned char *p, unsigned n);

/* Length of the well-formed UTF-8 sequence at p (1 to 4), or 0: a byte
 * a format that says it is UTF-8 (JSON, XML, OpenMetrics) may not carry,
 * written as U+FFFD. Paths and names from the target can hold any byte. */
size_t hs_utf8_len(const unsigned char *p);
/* fputs, each byte that is not UTF-8 written as U+FFFD. */
void hs_fputs_utf8(FILE *out, const char *s);
/* The same, each ASCII byte for which esc gives a string written as that
 * string instead (a format's escapes: JSON's, XML's, OpenMetrics'). */
void hs_fputs_utf8_esc(FILE *out, const char *s, const char *(*esc)(unsigned char c));

#endif
