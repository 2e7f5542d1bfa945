/* confine.c - the seccomp filters (libseccomp). */
#include "source/confine.h"

#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <string.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <unistd.h>

static const long forbidden_ptrace[] = {
	PTRACE_POKETEXT, PTRACE_POKEDATA, PTRACE_POKEUSER, PTRACE_SETREGS, PTRACE_SETFPREGS,
	PTRACE_SETFPXREGS, PTRACE_SETREGSET, PTRACE_SETSIGINFO, PTRACE_SETOPTIONS,
};

static int add(scmp_filter_ctx ctx, int sys, unsigned n, const struct scmp_arg_cmp *cmp)
{
	return seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO(EPERM), sys, n, cmp);
}

static const int system_changing[] = {
	SCMP_SYS(execve), SCMP_SYS(execveat), SCMP_SYS(fork), SCMP_SYS(vfork), SCMP_SYS(mount),
	SCMP_SYS(umount2), SCMP_SYS(pivot_root), SCMP_SYS(chroot), SCMP_SYS(setns), SCMP_SYS(unshare),
	SCMP_SYS(init_module), SCMP_SYS(finit_module), SCMP_SYS(delete_module), SCMP_SYS(kexec_load),
	SCMP_SYS(kexec_file_load), SCMP_SYS(reboot), SCMP_SYS(bpf), SCMP_SYS(add_key),
	SCMP_SYS(request_key), SCMP_SYS(keyctl), SCMP_SYS(swapon), SCMP_SYS(swapoff),
	SCMP_SYS(settimeofday), SCMP_SYS(clock_settime), SCMP_SYS(adjtimex), SCMP_SYS(clock_adjtime),
	SCMP_SYS(sethostname), SCMP_SYS(setdomainname), SCMP_SYS(setuid), SCMP_SYS(setgid),
	SCMP_SYS(setreuid), SCMP_SYS(setregid), SCMP_SYS(setresuid), SCMP_SYS(setresgid),
	SCMP_SYS(setgroups), SCMP_SYS(open_by_handle_at), SCMP_SYS(name_to_handle_at),
	SCMP_SYS(mknod), SCMP_SYS(mknodat), SCMP_SYS(process_vm_writev),
};

static int parse_rules(scmp_filter_ctx ctx)
{
	int rc = 0;
	for (size_t i = 0; i < HS_ARRAY_SIZE(system_changing); i++)
		rc |= add(ctx, system_changing[i], 0, NULL);
	/* A clone that shares no memory is a fork. (Threads and ASan's
	 * leak checker clone with CLONE_VM.) clone3 hides its flags in a
	 * struct: ENOSYS, and glibc falls back to clone. */
	struct scmp_arg_cmp novm = SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_VM, 0);
	rc |= add(ctx, SCMP_SYS(clone), 1, &novm);
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	const char *urls = getenv("DEBUGINFOD_URLS");
	if (urls && *urls)
		return rc; /* debuginfod connects and writes its cache */
	rc |= add(ctx, SCMP_SYS(socket), 0, NULL);
	const int modes[] = {O_WRONLY, O_RDWR};
	for (size_t i = 0; i < 2; i++) {
		struct scmp_arg_cmp o = SCMP_A1(SCMP_CMP_MASKED_EQ, O_ACCMODE, (scmp_datum_t)modes[i]);
		struct scmp_arg_cmp at = SCMP_A2(SCMP_CMP_MASKED_EQ, O_ACCMODE, (scmp_datum_t)modes[i]);
		rc |= add(ctx, SCMP_SYS(open), 1, &o);
		rc |= add(ctx, SCMP_SYS(openat), 1, &at);
	}
	struct scmp_arg_cmp o = SCMP_A1(SCMP_CMP_MASKED_EQ, O_CREAT, O_CREAT);
	struct scmp_arg_cmp at = SCMP_A2(SCMP_CMP_MASKED_EQ, O_CREAT, O_CREAT);
	rc |= add(ctx, SCMP_SYS(open), 1, &o);
	rc |= add(ctx, SCMP_SYS(openat), 1, &at);
	rc |= add(ctx, SCMP_SYS(creat), 0, NULL);
	return rc;
}

/* The capabilities the rest of a run uses: ptrace and process_vm_readv
 * of another user's process (SYS_PTRACE), /proc/PID/map_files and
 * pagemap's frame numbers (SYS_ADMIN, or CHECKPOINT_RESTORE for the
 * first), the target's files whatever their modes (DAC_OVERRIDE,
 * DAC_READ_SEARCH, FOWNER), kill(pid, 0) telling a gone process from
 * another user's (KILL). Every other one (net, modules, raw I/O, setuid,
 * mknod, chroot, time, ...) is dropped before the target's files are
 * parsed: from this thread, and so from every thread it starts after. */
static const int kept_caps[] = {
	CAP_SYS_PTRACE, CAP_SYS_ADMIN, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER, CAP_KILL,
#ifdef CAP_CHECKPOINT_RESTORE
	CAP_CHECKPOINT_RESTORE,
#endif
};

static int drop_capabilities(void)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct d[2];
	memset(d, 0, sizeof d);
	if (syscall(SYS_capget, &h, d) != 0)
		return -errno;
	uint32_t keep[2] = {0, 0};
	for (size_t i = 0; i < HS_ARRAY_SIZE(kept_caps); i++)
		keep[kept_caps[i] / 32] |= 1u << (kept_caps[i] % 32);
	for (int i = 0; i < 2; i++) {
		d[i].effective &= keep[i];
		d[i].permitted &= keep[i];
		d[i].inheritable = 0;
	}
	return syscall(SYS_capset, &h, d) == 0 ? 0 : -errno;
}

int hs_confine(enum hs_confine_stage stage, struct hs_err *err)
{
	if (stage == HS_CONFINE_PARSE) {
		int e = drop_capabilities();
		if (e)
			return hs_fail(err, HS_EINTERNAL, "cannot drop capabilities before parsing: %s",
				       strerror(-e));
	}
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
	} else if (stage == HS_CONFINE_PARSE) {
		rc |= parse_rules(ctx);
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
		return hs_fail(err, HS_EINTERNAL, "seccomp: cannot install the %s filter: %s",
			       stage == HS_CONFINE_PARSE ? "parsing" : "read-only", strerror(-rc));
	return 0;
}
