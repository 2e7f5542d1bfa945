/* fuzz_image.h - the shape of a fuzz input, shared by the fuzz target and
 * the seed writer: glibc 2.36's malloc_state, mp_, one thread's TLS slots
 * (tcache, thread_arena), the states of the heap's pages as pagemap would
 * give them (2 bits a page, page 0 in the low bits of the first byte: 0
 * neither present nor swapped, 1 present, 2 swapped, 3 taken as present)
 * and the bytes of one heap, at fixed addresses. The page states make the
 * residency bitmap, the census's resident and trimmable figures and the
 * --leaks copy's choice of pages part of what is fuzzed. */
#ifndef FUZZ_IMAGE_H
#define FUZZ_IMAGE_H

#define FZ_HEAP 0x555555559000ull
#define FZ_LIBC 0x7ffff7e00000ull
#define FZ_MAIN_ARENA (FZ_LIBC + 0x100)
#define FZ_MP (FZ_LIBC + 0x1000)
#define FZ_TP 0x7ffff7d00800ull       /* the thread pointer */
#define FZ_TLS_OFFSET 0x90ull         /* libc's l_tls_offset */
#define FZ_TLS_TCACHE 0x48            /* offsets of the slots in libc's block */
#define FZ_TLS_ARENA 0x58

#define FZ_MS_SIZE 0x898
#define FZ_MP_SIZE 0x88
#define FZ_MAX_HEAP (1u << 20)
#define FZ_PAGES_AT (FZ_MS_SIZE + FZ_MP_SIZE + 16) /* after the tcache and arena slots */
#define FZ_PAGES (FZ_MAX_HEAP / 4096)                /* the heap's pages, at most */
#define FZ_HEADER (FZ_PAGES_AT + FZ_PAGES / 4)

#endif
