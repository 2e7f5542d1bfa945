/* fuzz_image.h - the shape of a fuzz input, shared by the fuzz target and
 * the seed writer: glibc 2.36's malloc_state, mp_, one thread's TLS slots
 * (tcache, thread_arena) and the bytes of one heap, at fixed addresses. */
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
#define FZ_HEADER (FZ_MS_SIZE + FZ_MP_SIZE + 16) /* + tcache slot + arena slot */
#define FZ_MAX_HEAP (1u << 20)

#endif
