/* options.c - every option of the command line, once: its name, whether
 * it is global, how its value is read; the parser over a command line and
 * the one check of which command takes what. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#ifndef HS_VERSION
#define HS_VERSION "0.1.0"
#endif

static const struct opt_def {
	const char *name; /* the long name, without "--" */
	int has_arg;      /* getopt's no_argument, required_argument, optional_argument */
	char letter;      /* the short option, or 0 */
	bool global;      /* may come before the command */
} defs[OPT_COUNT] = {
	[OPT_JSON] = {"json", no_argument, 'j', true},
	[OPT_PRETTY] = {"pretty", no_argument, 'p', true},
	[OPT_FORMAT] = {"format", required_argument, 0, true},
	[OPT_CHUNKS] = {"chunks", no_argument, 0, false},
	[OPT_BINS] = {"bins", no_argument, 0, false},
	[OPT_COMPARE] = {"compare", no_argument, 0, false},
	[OPT_LEAKS] = {"leaks", optional_argument, 0, false},
	[OPT_NODEBUG] = {"no-debuginfo", no_argument, 0, true},
	[OPT_GLIBC] = {"glibc", required_argument, 0, false},
	[OPT_WORDSIZE] = {"word-size", required_argument, 0, false},
	[OPT_HEAPBASE] = {"heap-base", required_argument, 0, false},
	[OPT_REDACT] = {"redact", no_argument, 0, true},
	[OPT_MAXSTOP] = {"max-stop", required_argument, 0, false},
	[OPT_SYSROOT] = {"sysroot", required_argument, 0, false},
	[OPT_OUTPUT] = {"output", required_argument, 'o', true},
	[OPT_INTERVAL] = {"interval", required_argument, 'i', false},
	[OPT_TIMES] = {"count", required_argument, 'n', false},
	[OPT_HELP] = {"help", no_argument, 'h', true},
	[OPT_VERSION] = {"version", no_argument, 'V', true},
};
#define SHORT_OPTS "jphVo:i:n:"
#define LONG_VAL 256 /* getopt's value of a long option without a letter: LONG_VAL + its id */

void hs_cli_usage(FILE *out)
{
	fputs("usage: heapscope attach [options] PID\n"
	      "       heapscope replay [options] TRACE\n"
	      "       heapscope core [options] CORE [EXECUTABLE]\n"
	      "       heapscope watch [-i SECONDS] [-n COUNT] [options] PID\n"
	      "       heapscope diff [-j|-p] [-o FILE] OLD.json NEW.json\n"
	      "       heapscope --version | --help\n"
	      "\n"
	      "  -j, --json            JSON (schema heapscope/1)\n"
	      "  -p, --pretty          indented JSON (implies --json)\n"
	      "      --format=FMT      text (default), json, malloc-stats, malloc-info,\n"
	      "                        prometheus (attach, core: OpenMetrics text), svg (a heap map)\n"
	      "      --chunks          also list every chunk\n"
	      "      --bins            also list every free list with its chunks\n"
	      "      --compare         set the live heap beside the reference allocator core\n"
	      "      --leaks[=all]     find in-use chunks nothing points to\n"
	      "      --no-debuginfo    ignore debug files: use the symbol-free path\n"
	      "      --glibc=X.Y       attach, core: the glibc version of a static program that\n"
	      "                        names none;\n"
	      "                        replay: the version the core models (2.31 ... 2.43; 2.36)\n"
	      "      --word-size=4|8   replay: SIZE_SZ the core models (default 8)\n"
	      "      --heap-base=ADDR  replay: where the simulated heap starts (page-aligned)\n"
	      "      --sysroot=DIR     core: the root the process ran in (its libc, its files)\n"
	      "      --redact          no byte of the target's memory in the report: previews\n"
	      "                        say what the bytes are (also HEAPSCOPE_REDACT=1)\n"
	      "      --max-stop=DUR    attach, watch: refuse a stop predicted longer than DUR\n"
	      "                        (e.g. 500ms, 10s; default 3s), cut it short at DUR\n"
	      "  -o, --output=FILE     attach, core, replay, diff: the report to FILE, whole or\n"
	      "                        not at all (a temporary file renamed over it)\n"
	      "  -i, --interval=SEC    watch: a snapshot every SEC seconds (0.1 to 86400; 5)\n"
	      "  -n, --count=N         watch: N snapshots (default: until interrupted)\n"
	      "\n"
	      "Exit codes: 0 report printed, 2 usage, 3 cannot attach, 4 target not supported,\n"
	      "5 heap inconsistent or corrupt (report printed), 6 target exited while read.\n"
	      "See heapscope(1).\n",
	      out);
}

int hs_cli_usage_fail(struct hs_err *err, const char *fmt, ...)
{
	char msg[sizeof err->msg];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return hs_fail(err, HS_EUSAGE, "%s (see heapscope --help)", msg);
}

/* A duration: a decimal number and its unit, ms or s ("500ms", "2s",
 * "1.5s"), from 1 ms to 1 hour, in ns; 0 if it is not one. */
static uint64_t parse_duration(const char *arg)
{
	char *end;
	errno = 0;
	double v = strtod(arg, &end);
	if (errno || end == arg || !(arg[0] >= '0' && arg[0] <= '9'))
		return 0;
	if (strcmp(end, "ms") == 0)
		v *= 1e6;
	else if (strcmp(end, "s") == 0)
		v *= 1e9;
	else
		return 0;
	return v >= 1e6 && v <= 3600e9 ? (uint64_t)v : 0;
}

/* Reads the value of option id (arg: its argument, or NULL) into o. */
static int set_option(enum hs_opt id, const char *arg, struct options *o, struct hs_err *err)
{
	switch (id) {
	case OPT_JSON:
		o->report.format = HS_FMT_JSON;
		break;
	case OPT_PRETTY:
		o->report.format = HS_FMT_JSON;
		o->report.pretty = true;
		break;
	case OPT_FORMAT:
		if (strcmp(arg, "text") == 0)
			o->report.format = HS_FMT_TEXT;
		else if (strcmp(arg, "json") == 0)
			o->report.format = HS_FMT_JSON;
		else if (strcmp(arg, "malloc-stats") == 0)
			o->report.format = HS_FMT_MALLOC_STATS;
		else if (strcmp(arg, "malloc-info") == 0)
			o->report.format = HS_FMT_MALLOC_INFO;
		else if (strcmp(arg, "prometheus") == 0)
			o->report.format = HS_FMT_PROMETHEUS;
		else if (strcmp(arg, "svg") == 0)
			o->report.format = HS_FMT_SVG;
		else
			return hs_cli_usage_fail(
				err, "unknown format '%s': use text, json, malloc-stats, malloc-info, prometheus or svg", arg);
		break;
	case OPT_CHUNKS:
		o->report.chunks = true;
		break;
	case OPT_BINS:
		o->report.bins = true;
		break;
	case OPT_COMPARE:
		o->compare = true;
		break;
	case OPT_LEAKS:
		if (arg && strcmp(arg, "all") != 0)
			return hs_cli_usage_fail(err, "--leaks takes no value or '=all', not '%s'", arg);
		o->leaks = arg ? 2 : 1;
		break;
	case OPT_NODEBUG:
		o->no_debuginfo = true;
		break;
	case OPT_GLIBC: {
		int minor, n = 0;
		if (sscanf(arg, "2.%d%n", &minor, &n) != 1 || arg[n] || minor < 31 || minor > 43)
			return hs_cli_usage_fail(err, "--glibc takes a version from 2.31 to 2.43, not '%s'", arg);
		o->glibc_minor = minor;
		break;
	}
	case OPT_WORDSIZE:
		if (strcmp(arg, "4") != 0 && strcmp(arg, "8") != 0)
			return hs_cli_usage_fail(err, "--word-size takes 4 or 8, not '%s'", arg);
		o->word_size = (unsigned)atoi(arg);
		break;
	case OPT_HEAPBASE: {
		char *end;
		errno = 0;
		unsigned long long v = strtoull(arg, &end, 16);
		if (errno || end == arg || *end || v == 0 || (v & 4095) || arg[0] == '-')
			return hs_cli_usage_fail(err, "--heap-base takes a page-aligned hex address, not '%s'", arg);
		o->heap_base = v;
		break;
	}
	case OPT_REDACT:
		o->report.redact = true;
		break;
	case OPT_MAXSTOP:
		if (!(o->max_stop_ns = parse_duration(arg)))
			return hs_cli_usage_fail(err, "--max-stop takes a duration from 1ms to 3600s (e.g. 500ms, 2s), not '%s'",
						 arg);
		break;
	case OPT_SYSROOT:
		o->sysroot = arg;
		break;
	case OPT_OUTPUT:
		if (!arg[0])
			return hs_cli_usage_fail(err, "%s", "--output takes a FILE name, not ''");
		o->output = arg;
		break;
	case OPT_INTERVAL: {
		char *end;
		errno = 0;
		double v = strtod(arg, &end);
		/* a decimal number: strtod would take 0x10 and 1e3 too */
		if (errno || end == arg || *end || strspn(arg, "0123456789.") != strlen(arg) || !(v >= 0.1 && v <= 86400))
			return hs_cli_usage_fail(err, "-i takes a number of seconds from 0.1 to 86400, not '%s'", arg);
		o->interval_s = v;
		break;
	}
	case OPT_TIMES: {
		char *end;
		errno = 0;
		long v = strtol(arg, &end, 10);
		if (errno || end == arg || *end || !(arg[0] >= '0' && arg[0] <= '9') || v < 1)
			return hs_cli_usage_fail(err, "-n takes a count of snapshots from 1 up, not '%s'", arg);
		o->times = v;
		break;
	}
	case OPT_HELP:
	case OPT_VERSION:
	case OPT_COUNT:
		break; /* acted on by the parser */
	}
	return 0;
}

/* getopt's table, built from defs: the same for every part of the line,
 * so an abbreviation (--comp) means the same wherever it stands. */
static const struct option *long_options(void)
{
	static struct option lo[OPT_COUNT + 1];
	for (int i = 0; i < OPT_COUNT; i++)
		lo[i] = (struct option){defs[i].name, defs[i].has_arg, NULL,
					defs[i].letter ? defs[i].letter : LONG_VAL + i};
	return lo;
}

static enum hs_opt opt_of(int val)
{
	if (val >= LONG_VAL)
		return (enum hs_opt)(val - LONG_VAL);
	for (int i = 0; i < OPT_COUNT; i++)
		if (defs[i].letter == val)
			return (enum hs_opt)i;
	return OPT_COUNT;
}

int hs_cli_parse(int argc, char **argv, bool before_command, struct options *o, unsigned *given, bool *done,
		 int *operand, struct hs_err *err)
{
	const struct option *lo = long_options();
	/* "+": stop at the command's name; ":": tell a missing value apart. */
	const char *shorts = before_command ? "+:" SHORT_OPTS : ":" SHORT_OPTS;
	optind = 0; /* a fresh scan of this argv (glibc) */
	opterr = 0;
	*done = false;
	int ch;
	while ((ch = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
		if (ch == '?') {
			/* An unknown letter inside a group (-xj) is named alone. */
			if (optopt > 0 && optopt < LONG_VAL && !strchr(SHORT_OPTS, optopt))
				return hs_cli_usage_fail(err, "unknown option '-%c'", optopt);
			return hs_cli_usage_fail(err, "unknown option '%s'", argv[optind - 1]);
		}
		if (ch == ':')
			return hs_cli_usage_fail(err, "option '%s' needs a value", argv[optind - 1]);
		enum hs_opt id = opt_of(ch);
		*given |= OPT(id);
		if (id == OPT_HELP) {
			hs_cli_usage(stdout);
			*done = true;
			return 0;
		}
		if (id == OPT_VERSION) {
			printf("heapscope %s\n", HS_VERSION);
			*done = true;
			return 0;
		}
		if (set_option(id, optarg, o, err))
			return err->code;
	}
	*operand = optind;
	return 0;
}

/* "attach", "attach and replay", "attach, core and replay": the commands
 * of cmds that take option id. */
static void takers(char *buf, size_t size, enum hs_opt id, const struct hs_command *const *cmds, size_t ncmds)
{
	size_t n = 0, k = 0, len = 0;
	for (size_t i = 0; i < ncmds; i++)
		n += (cmds[i]->opts & OPT(id)) != 0;
	buf[0] = 0;
	for (size_t i = 0; i < ncmds && len < size; i++) {
		if (!(cmds[i]->opts & OPT(id)))
			continue;
		k++;
		len += (size_t)snprintf(buf + len, size - len, "%s%s", k == 1 ? "" : k == n ? " and " : ", ",
					cmds[i]->name);
	}
}

int hs_cli_check(const struct hs_command *cmd, unsigned before, unsigned after, const struct hs_command *const *cmds,
		 size_t ncmds, struct hs_err *err)
{
	char who[256];
	for (int i = 0; i < OPT_COUNT; i++) {
		if (!((before | after) & OPT(i)) || (cmd->opts & OPT(i)))
			continue;
		takers(who, sizeof who, (enum hs_opt)i, cmds, ncmds);
		if (!who[0])
			return hs_cli_usage_fail(err, "%s does not take --%s", cmd->name, defs[i].name);
		return hs_cli_usage_fail(err, "%s does not take --%s: it is an option of %s", cmd->name, defs[i].name,
					 who);
	}
	for (int i = 0; i < OPT_COUNT; i++) {
		if (!(before & OPT(i)) || defs[i].global)
			continue;
		return hs_cli_usage_fail(err, "--%s is an option of %s: give it after the command", defs[i].name,
					 cmd->name);
	}
	return 0;
}
