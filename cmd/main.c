/* main.c - the dispatcher: global options, the command, its options, the
 * one check of what it takes, then its cmd_* function. Errors of every
 * kind end here as one line on stderr and the exit code (DESIGN.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/fmt.h"
#include "cli.h"
#include "output.h"

/* The command table. A new command (core, watch, diff) is a row here and
 * a file of its own with its hs_command. */
static const struct hs_command *const commands[] = {
	&hs_cmd_attach,
	&hs_cmd_replay,
	&hs_cmd_core,
	&hs_cmd_watch,
	&hs_cmd_diff,
};
#define NCOMMANDS HS_ARRAY_SIZE(commands)

/* "'attach PID' or 'replay TRACE'" (synopses) or "attach or replay". */
static void list_commands(char *buf, size_t size, bool synopsis)
{
	size_t len = 0;
	buf[0] = 0;
	for (size_t i = 0; i < NCOMMANDS && len < size; i++) {
		const char *sep = i == 0 ? "" : i + 1 == NCOMMANDS ? " or " : ", ";
		if (synopsis)
			len += (size_t)snprintf(buf + len, size - len, "%s'%s'", sep, commands[i]->synopsis);
		else
			len += (size_t)snprintf(buf + len, size - len, "%s%s", sep, commands[i]->name);
	}
}

static int dispatch(int argc, char **argv, struct hs_err *err)
{
	struct options o = {0};
	/* For fleets: redaction on for every run, whatever the command line. */
	const char *r = getenv("HEAPSCOPE_REDACT");
	o.report.redact = r && r[0] && strcmp(r, "0") != 0;
	unsigned before = 0, after = 0;
	bool done;
	int at;
	char list[256];
	/* Global options, up to the command's name. */
	if (hs_cli_parse(argc, argv, true, &o, &before, &done, &at, err) || done)
		return err->code;
	if (at >= argc) {
		list_commands(list, sizeof list, true);
		return hs_cli_usage_fail(err, "no command given: use %s", list);
	}
	/* The command's part of the line: argv[0] of it is the command's name. */
	argc -= at;
	argv += at;
	if (hs_cli_parse(argc, argv, false, &o, &after, &done, &at, err) || done)
		return err->code;
	const struct hs_command *cmd = NULL;
	for (size_t i = 0; i < NCOMMANDS && !cmd; i++)
		if (strcmp(argv[0], commands[i]->name) == 0)
			cmd = commands[i];
	if (!cmd) {
		list_commands(list, sizeof list, false);
		return hs_cli_usage_fail(err, "unknown command '%s': use %s", argv[0], list);
	}
	if (hs_cli_check(cmd, before, after, commands, NCOMMANDS, err))
		return err->code;
	o.out = stdout;
	/* -o: its file made now, before the command confines itself (no
	 * file can be created after); kept when a report went out (exit 5
	 * too), dropped otherwise. A write that failed is the error: the
	 * report is not in FILE (its line replaces the report's). */
	struct hs_output out;
	if (o.output) {
		if (hs_output_open(&out, o.output, err))
			return err->code;
		o.out = out.f;
	}
	int rc = cmd->run(argc - at, argv + at, &o, err);
	if (!o.output)
		return rc;
	if (rc && !err->reported && !out.werr) {
		hs_output_abort(&out);
		return rc;
	}
	struct hs_err w = {0};
	if (hs_output_commit(&out, &w))
		*err = w;
	return err->code;
}

/* -j, -p, --json, --pretty or --format=json anywhere before "--": then an
 * error is also a JSON object on stdout, so that a pipe into jq sees it
 * (with -o too: FILE holds reports only). -o's FILE is not an option:
 * "-oj.json", "-o -p". */
static bool wants_json(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--json") || !strcmp(a, "--pretty") || !strcmp(a, "--format=json"))
			return true;
		if (!strcmp(a, "--output")) {
			i++;
			continue;
		}
		if (a[0] != '-' || a[1] == '-')
			continue;
		size_t n = strcspn(a + 1, "o");
		if (strcspn(a + 1, "jp") < n)
			return true;
		i += a[1 + n] == 'o' && !a[2 + n]; /* "-o FILE": skip FILE */
	}
	return false;
}

/* {"error": MESSAGE, "exit": CODE} on stdout. */
static void json_error(const struct hs_err *err)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "error", err->msg);
	cJSON_AddNumberToObject(o, "exit", err->code);
	char *text = cJSON_PrintUnformatted(o);
	if (text) {
		hs_fputs_utf8(stdout, text);
		putchar('\n');
	}
	fflush(stdout);
	free(text);
	cJSON_Delete(o);
}

int main(int argc, char **argv)
{
	struct hs_err err = {0};
	int rc = dispatch(argc, argv, &err);
	if (rc) {
		fprintf(stderr, "heapscope: %s\n", err.msg);
		/* after a report (exit 5 and the like) the error is in it */
		if (!err.reported && wants_json(argc, argv))
			json_error(&err);
	}
	return rc;
}
