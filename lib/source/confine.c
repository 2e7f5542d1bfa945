/* confine.c - the seccomp filters (libseccomp). */
#include "source/confine.h"

#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <string.h>
#include <sys/ptrace.h>

static const long forbidden_ptrace[] = {
	PTRACE_POKETEXT, PTRACE_POKEDATA, PTRACE_POKEUSER, PTRACE_SETREGS, PTRACE_SETFPREGS,
	PTRACE_SETFPXREGS, PTRACE_SETREGSET, PTRACE_SETSIGINFO, PTRACE_SETOPTIONS,
};

static int add(scmp_filter_ctx ctx, int sys, unsigned n, const struct scmp_arg_cmp *cmp)
{
	return seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO(EPERM), sys, n, cmp);
}

int hs_confine(enum hs_confine_stage stage, struct hs_err *err)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return hs_fail(err, HS_EINTERNAL, "seccomp: cannot create a filter");
	int rc = 0;
	if (stage == HS_CONFINE_NO_WRITES) {
		rc |= add(ctx, SCMP_SYS(process_vm_writev), 0, NULL);
		for (size_t i = 0; i < HS_ARRAY_SIZE(forbidden_ptrace); i++) {
			struct scmp_arg_cmp c = SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)forbidden_ptrace[i]);
			rc |= add(ctx, SCMP_SYS(ptrace), 1, &c);
		}
	} else {
		const int modes[] = {O_WRONLY, O_RDWR};
		for (size_t i = 0; i < 2; i++) {
			struct scmp_arg_cmp o = SCMP_A1(SCMP_CMP_MASKED_EQ, O_ACCMODE, (scmp_datum_t)modes[i]);
			struct scmp_arg_cmp at = SCMP_A2(SCMP_CMP_MASKED_EQ, O_ACCMODE, (scmp_datum_t)modes[i]);
			rc |= add(ctx, SCMP_SYS(open), 1, &o);
			rc |= add(ctx, SCMP_SYS(openat), 1, &at);
		}
		/* openat2 passes its flags in a struct the filter cannot read. */
		rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(openat2), 0);
	}
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc)
		return hs_fail(err, HS_EINTERNAL, "seccomp: cannot install the read-only filter: %s",
			       strerror(-rc));
	return 0;
}
