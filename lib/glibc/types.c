/* types.c - vtable symbols of every module, demangled. */
#include "glibc/types.h"

#include <elfutils/libdwfl.h>
#include <stdlib.h>
#include <string.h>

/* The C++ ABI's demangler (libstdc++), declared here: this is C. */
char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

struct collect {
	struct hs_types *t;
	size_t cap;
	/* (mangled name, address, size), named later */
	struct raw { char *name; uint64_t start, end; } *raw;
	size_t nraw, capraw;
};

static int each_module(Dwfl_Module *mod, void **ud, const char *name, Dwarf_Addr base, void *arg)
{
	(void)ud, (void)name, (void)base;
	struct collect *c = arg;
	int n = dwfl_module_getsymtab(mod);
	for (int i = 1; i < n; i++) {
		GElf_Sym sym;
		GElf_Addr addr;
		const char *s = dwfl_module_getsym_info(mod, i, &sym, &addr, NULL, NULL, NULL);
		if (!s || strncmp(s, "_ZTV", 4) != 0 || GELF_ST_TYPE(sym.st_info) != STT_OBJECT ||
		    sym.st_shndx == SHN_UNDEF || sym.st_size <= 16)
			continue;
		if (c->nraw == c->capraw) {
			c->capraw = c->capraw ? 2 * c->capraw : 256;
			c->raw = hs_xrealloc(c->raw, c->capraw, sizeof *c->raw);
		}
		/* vptrs point past offset-to-top and the typeinfo pointer */
		c->raw[c->nraw++] = (struct raw){hs_xstrdup(s), addr + 16, addr + sym.st_size};
	}
	return DWARF_CB_OK;
}

static int cmp_raw_name(const void *x, const void *y)
{
	const struct raw *a = x, *b = y;
	return strcmp(a->name, b->name);
}

static int cmp_vt(const void *x, const void *y)
{
	const struct hs_vtable *a = x, *b = y;
	return a->start < b->start ? -1 : a->start > b->start;
}

/* "vtable for Session" -> "Session"; the mangled name if it will not demangle. */
static char *demangle(const char *mangled)
{
	int status = -1;
	char *d = __cxa_demangle(mangled, NULL, NULL, &status);
	if (!d || status != 0) {
		free(d);
		return hs_xstrdup(mangled);
	}
	const char *p = strncmp(d, "vtable for ", 11) == 0 ? d + 11 : d;
	char *r = hs_xstrdup(p);
	free(d);
	return r;
}

void hs_types_load(const struct hs_symbols *sym, struct hs_types *t)
{
	memset(t, 0, sizeof *t);
	if (!sym->dwfl)
		return;
	struct collect c = {.t = t};
	dwfl_getmodules(sym->dwfl, each_module, &c, 0);
	if (!c.nraw)
		return;
	/* One name per class: the same vtable may be named in several modules
	 * (a COMDAT copy in the executable and in a library). */
	qsort(c.raw, c.nraw, sizeof *c.raw, cmp_raw_name);
	t->v = hs_xcalloc(c.nraw, sizeof *t->v);
	t->names = hs_xcalloc(c.nraw, sizeof *t->names);
	for (size_t i = 0; i < c.nraw; i++) {
		if (i == 0 || strcmp(c.raw[i].name, c.raw[i - 1].name) != 0)
			t->names[t->nnames++] = demangle(c.raw[i].name);
		t->v[t->n++] = (struct hs_vtable){c.raw[i].start, c.raw[i].end, (uint32_t)(t->nnames - 1)};
	}
	for (size_t i = 0; i < c.nraw; i++)
		free(c.raw[i].name);
	free(c.raw);
	qsort(t->v, t->n, sizeof *t->v, cmp_vt);
	/* The same address twice (.symtab and .dynsym of one module): keep one. */
	size_t k = 0;
	for (size_t i = 0; i < t->n; i++) {
		if (k && t->v[i].start < t->v[k - 1].end)
			continue;
		t->v[k++] = t->v[i];
	}
	t->n = k;
	t->lo = t->v[0].start;
	t->hi = t->v[t->n - 1].end;
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].end > t->hi)
			t->hi = t->v[i].end;
}

void hs_types_free(struct hs_types *t)
{
	for (size_t i = 0; i < t->nnames; i++)
		free(t->names[i]);
	free(t->names);
	free(t->v);
	memset(t, 0, sizeof *t);
}
