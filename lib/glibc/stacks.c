/* stacks.c - libunwind-ptrace over the stopped threads. */
#include "glibc/stacks.h"

#include <libunwind-ptrace.h>
#include <stdlib.h>

struct hs_stacks {
	unw_addr_space_t as; /* NULL: libunwind could not make one */
};

struct hs_stacks *hs_stacks_open(void)
{
	struct hs_stacks *s = hs_xcalloc(1, sizeof *s);
	s->as = unw_create_addr_space(&_UPT_accessors, 0);
	if (s->as)
		unw_set_caching_policy(s->as, UNW_CACHE_GLOBAL);
	return s;
}

enum hs_stack_where hs_stacks_where(struct hs_stacks *s, const struct hs_symbols *sym, pid_t tid,
				    const char **fn, const char **why)
{
	if (!s->as) {
		*why = "libunwind cannot create an address space";
		return HS_STACK_UNKNOWN;
	}
	void *ui = _UPT_create(tid);
	if (!ui) {
		*why = "libunwind-ptrace cannot start on it";
		return HS_STACK_UNKNOWN;
	}
	enum hs_stack_where where = HS_STACK_OUTSIDE;
	unw_cursor_t c;
	int rc = unw_init_remote(&c, s->as, ui);
	if (rc < 0) {
		*why = unw_strerror(rc);
		where = HS_STACK_UNKNOWN;
	}
	for (int i = 0; where == HS_STACK_OUTSIDE && i < HS_MAX_FRAMES; i++) {
		unw_word_t ip;
		if ((rc = unw_get_reg(&c, UNW_REG_IP, &ip)) < 0) {
			*why = unw_strerror(rc);
			where = HS_STACK_UNKNOWN;
			break;
		}
		if (ip == 0)
			break; /* the outermost frame */
		/* Outer frames hold return addresses: look at the call. */
		if (hs_symbols_in_malloc(sym, i ? ip - 1 : ip, fn))
			where = HS_STACK_IN_MALLOC;
		else if ((rc = unw_step(&c)) < 0) {
			/* Past the base of the stack (main, start_thread) there
			 * is no frame malloc could be in; a return address in no
			 * module is a chain gone astray after the frames that
			 * could be malloc's were seen (libunwind on static
			 * executables): the end, not a doubt. */
			if (hs_symbols_stack_base(sym, i ? ip - 1 : ip))
				break;
			*why = unw_strerror(rc);
			where = HS_STACK_UNKNOWN;
		} else if (rc == 0) {
			break; /* the outermost frame */
		}
	}
	_UPT_destroy(ui);
	return where;
}

void hs_stacks_close(struct hs_stacks *s)
{
	if (!s)
		return;
	if (s->as)
		unw_destroy_addr_space(s->as);
	free(s);
}
