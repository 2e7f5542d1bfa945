/* render.c - the vocabulary the renderers share. */
#include "report/render.h"

const char *hs_state_name(enum hs_state s)
{
	switch (s) {
	case HS_ST_INUSE:
		return "in_use";
	case HS_ST_TCACHE:
		return "tcache";
	case HS_ST_FAST:
		return "fastbin";
	case HS_ST_BIN:
		return "bin";
	case HS_ST_TOP:
		return "top";
	case HS_ST_MMAPPED:
		return "mmapped";
	case HS_ST_FREE_UNLISTED:
		return "free_unlisted";
	}
	return "unknown";
}
