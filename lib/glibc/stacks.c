/* stacks.c - libunwind-ptrace over the stopped threads. */
#include "glibc/stacks.h"

#include <libunwind-ptrace.h>
#include <stdlib.h>

struct hs_stacks {
	unw_addr_space_t as;
};

struct hs_stacks *hs_stacks_open(void)
{
	struct hs_stacks *s = hs_xcalloc(1, sizeof *s);
	s->as = unw_create_addr_space(&_UPT_accessors, 0);
	if (s->as)
		unw_set_caching_policy(s->as, UNW_CACHE_GLOBAL);
	return s;
}

bool hs_stacks_in_malloc(struct hs_stacks *s, const struct hs_symbols *sym, pid_t tid, const char **fn)
{
	if (!s || !s->as)
		return false;
	void *ui = _UPT_create(tid);
	if (!ui)
		return false;
	unw_cursor_t c;
	bool found = false;
	if (unw_init_remote(&c, s->as, ui) == 0) {
		for (int i = 0; i < HS_MAX_FRAMES && !found; i++) {
			unw_word_t ip;
			if (unw_get_reg(&c, UNW_REG_IP, &ip) < 0 || ip == 0)
				break;
			/* Outer frames hold return addresses: look at the call. */
			found = hs_symbols_in_malloc(sym, i ? ip - 1 : ip, fn);
			if (unw_step(&c) <= 0)
				break;
		}
	}
	_UPT_destroy(ui);
	return found;
}

void hs_stacks_close(struct hs_stacks *s)
{
	if (!s)
		return;
	if (s->as)
		unw_destroy_addr_space(s->as);
	free(s);
}
