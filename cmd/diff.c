/* diff.c - `heapscope diff OLD.json NEW.json`: two heapscope/1 reports
 * (attach --json, core --json) read and compared (report/diff.h), the
 * change printed as text or, with --json, as "heapscope-diff/1". */
#include <stdio.h>

#include "cli.h"
#include "report/diff.h"

static int cmd_diff(int argc, char **argv, const struct options *o, struct hs_err *err)
{
	if (argc < 2)
		return hs_cli_usage_fail(err, "%s", "diff needs two reports: OLD.json NEW.json");
	if (argc > 2)
		return hs_cli_usage_fail(err, "unexpected argument '%s' after NEW.json", argv[2]);
	if (o->report.format != HS_FMT_TEXT && o->report.format != HS_FMT_JSON)
		return hs_cli_usage_fail(err, "%s", "diff writes text or json, no other --format");
	cJSON *old = NULL, *new = NULL;
	struct hs_diff d;
	if (hs_diff_load(argv[0], &old, err) || hs_diff_load(argv[1], &new, err) ||
	    hs_diff_build(old, argv[0], new, argv[1], &d, err))
		goto out;
	int rc = o->report.format == HS_FMT_JSON ? hs_diff_json(o->out, &d, o->report.pretty) : hs_diff_text(o->out, &d);
	if (rc)
		hs_fail(err, rc, "%s", "cannot write the diff");
	hs_diff_free(&d);
out:
	cJSON_Delete(old);
	cJSON_Delete(new);
	return err->code;
}

const struct hs_command hs_cmd_diff = {
	.name = "diff",
	.synopsis = "diff OLD.json NEW.json",
	/* --redact is taken: a diff holds no byte of any target's memory */
	.opts = OPTS_EVERY | OPT(OPT_JSON) | OPT(OPT_PRETTY) | OPT(OPT_FORMAT) | OPT(OPT_REDACT) |
		OPT(OPT_OUTPUT),
	.run = cmd_diff,
};
