# heapscope - see README. `make` builds build/heapscope.
PREFIX  ?= /usr/local
DESTDIR ?=
CC      ?= cc
ARCH    := $(shell uname -m)

PKGS    := libdw libelf cmocka libcjson
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -Ilib -Iarch
LDLIBS  += -ldw -lelf -lcjson -lpthread -lunwind-ptrace -lunwind-generic -lunwind -lseccomp -lstdc++

B       := build
LIB_SRC := $(wildcard lib/*/*.c) arch/$(ARCH).c
CMD_SRC := $(wildcard cmd/*.c)
FIX_SRC := $(filter-out fixtures/oracle.c,$(wildcard fixtures/*.c))
UNIT_SRC:= $(wildcard tests/unit/test_*.c)

# Every object twice: plain, and under ASan+UBSan for `make check`.
LIB_OBJ  := $(patsubst %.c,$(B)/obj/%.o,$(LIB_SRC))
LIB_SAN  := $(patsubst %.c,$(B)/san/%.o,$(LIB_SRC))
CMD_OBJ  := $(patsubst %.c,$(B)/obj/%.o,$(CMD_SRC))
CMD_SAN  := $(patsubst %.c,$(B)/san/%.o,$(CMD_SRC))
FIX_CXX := $(wildcard fixtures/*.cc)
FIXTURES := $(patsubst fixtures/%.c,$(B)/fixtures/%,$(FIX_SRC)) $(patsubst fixtures/%.cc,$(B)/fixtures/%,$(FIX_CXX))
UNITS    := $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRC))
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

.PHONY: all deps realdeps demo check bench install clean fixtures units
all: $(B)/heapscope $(FIXTURES)

$(B)/obj/%.o: %.c $(wildcard lib/*/*.h arch/*.h cmd/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<
$(B)/san/%.o: %.c $(wildcard lib/*/*.h arch/*.h cmd/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -O1 $(SANFLAGS) -c -o $@ $<

# A fresh archive each time: ar would keep the members of files that moved.
$(B)/libheapscope.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^
$(B)/libheapscope-san.a: $(LIB_SAN)
	rm -f $@
	ar rcs $@ $^

$(B)/heapscope: $(CMD_OBJ) $(B)/libheapscope.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
$(B)/heapscope-san: $(CMD_SAN) $(B)/libheapscope-san.a
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(LDLIBS)

# Fixtures: small programs that build a known heap, print glibc's own view
# of it and wait. Built without sanitizers: they must use glibc's malloc.
$(B)/fixtures/%: fixtures/%.c fixtures/oracle.c fixtures/oracle.h fixtures/workers.h
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O1 -g -Wall -Wextra -Werror -pthread -o $@ $< fixtures/oracle.c
# C++ fixtures (types from vtables), the same way; not in the matrix:
# tests/matrix/cc.sh builds C only.
$(B)/fixtures/%: fixtures/%.cc fixtures/oracle.c fixtures/oracle.h fixtures/workers.h
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O1 -g -Wall -Wextra -Werror -c -o $@.oracle.o fixtures/oracle.c
	$(CXX) -O1 -g -Wall -Wextra -Werror -pthread -o $@ $< $@.oracle.o
fixtures: $(FIXTURES)

$(B)/tests/%: tests/unit/%.c $(B)/libheapscope-san.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -O1 $(SANFLAGS) -o $@ $< $(B)/libheapscope-san.a $(LDLIBS) -lcmocka
units: $(UNITS)

# The seeded random trace generator of the replay proof (tests/e2e/replay.sh).
$(B)/tests/gentrace: tests/traces/gentrace.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -o $@ $<
all: $(B)/tests/gentrace

deps:
	@./tests/deps.sh

# The real programs of tests/e2e/real.sh (nginx, memcached, python3,
# PostgreSQL, a JDK, redis-server, gdb): what cannot be installed is skipped
# there, never passed. After deps: two apt-gets at once would fight over
# dpkg's lock under make -j.
realdeps: deps
	@./tests/deps.sh --real

demo: deps
	$(MAKE) all
	@./tests/demo.sh

# Units and end-to-end tests run once under ASan+UBSan (heapscope-san),
# and the end-to-end tests once more with the optimised binary.
check: deps realdeps
	$(MAKE) all $(B)/heapscope-san units
	@./tests/run.sh

bench: deps
	$(MAKE) all
	@./tests/bench.sh
	@STORM_ATTACHES=2000 ./tests/e2e/storm.sh

install: $(B)/heapscope
	install -D -m 0755 $(B)/heapscope $(DESTDIR)$(PREFIX)/bin/heapscope
	install -D -m 0644 man/heapscope.1 $(DESTDIR)$(PREFIX)/share/man/man1/heapscope.1
	install -D -m 0644 cmd/heapscope.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/heapscope
	install -D -m 0644 cmd/heapscope-gdb.py $(DESTDIR)$(PREFIX)/share/heapscope/heapscope-gdb.py

clean:
	rm -rf $(B)

# Fuzzing (clang's libFuzzer): the snapshot-reading code on mutated heap
# images. FUZZ_SECONDS bounds the run (600 for the goal, 60 by default).
FUZZ_SECONDS ?= 60
FUZZ_SRC := $(filter-out arch/%,$(LIB_SRC)) arch/$(ARCH).c
# Four targets: mutated images of a 2.36 heap (fuzz_heap); mutated images
# the reference core built, every modelled version and word size, which
# unmutated must read back exactly (fuzz_refcore); any text as a trace,
# through the parser and the core (fuzz_replay).
# And the files a target controls on disk: every matrix version's real libc
# and debug file, patched where the symbols stage reads them (fuzz_symbols;
# tests/fuzz/fuzz_symbols.c says why patches). Its own bound on a hang
# (HEAPSCOPE_SYMBOLS_TIMEOUT) is set above libFuzzer's -timeout, so that a
# hang is libFuzzer's, with the input saved. tests/fuzz/corpus-symbols is
# the corpus of the 10-minute goal run, merged (-merge=1).
$(B)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(wildcard tests/fuzz/*.h) $(FUZZ_SRC) $(wildcard lib/*/*.h)
	@mkdir -p $(dir $@)
	clang -std=gnu11 -g -O1 -D_GNU_SOURCE -Ilib -Iarch -Itests/fuzz -fsanitize=fuzzer,address,undefined \
		-o $@ $< $(FUZZ_SRC) $(LDLIBS)
$(B)/fuzz/mkseed: tests/fuzz/mkseed.c tests/fuzz/fuzz_image.h
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -Wall -Wextra -Werror -Itests/fuzz -o $@ tests/fuzz/mkseed.c
.PHONY: fuzz
fuzz: deps $(B)/fuzz/fuzz_heap $(B)/fuzz/mkseed $(B)/fuzz/fuzz_refcore $(B)/fuzz/fuzz_replay $(B)/fuzz/fuzz_symbols
	@mkdir -p $(B)/fuzz/corpus $(B)/fuzz/corpus-refcore $(B)/fuzz/replay-corpus $(B)/fuzz/corpus-symbols
	$(B)/fuzz/mkseed $(B)/fuzz/corpus
	nice -n 10 $(B)/fuzz/fuzz_heap -max_total_time=$(FUZZ_SECONDS) -timeout=5 -rss_limit_mb=2048 \
		-max_len=70000 $(B)/fuzz/corpus tests/fuzz/corpus
	nice -n 10 $(B)/fuzz/fuzz_refcore -max_total_time=$(FUZZ_SECONDS) -timeout=5 -rss_limit_mb=2048 \
		-max_len=4096 $(B)/fuzz/corpus-refcore tests/fuzz/corpus-refcore
	nice -n 10 $(B)/fuzz/fuzz_replay -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
		-max_len=4000 -dict=tests/fuzz/replay.dict $(B)/fuzz/replay-corpus tests/fuzz/replay-seeds
	tests/fuzz/symbols-bases.sh $(B)/fuzz/symbols-bases
	HEAPSCOPE_SYMBOLS_TIMEOUT=60 FZ_SYMBOLS_BASES=$(B)/fuzz/symbols-bases nice -n 10 \
		$(B)/fuzz/fuzz_symbols -max_total_time=$(FUZZ_SECONDS) -timeout=20 -rss_limit_mb=2048 \
		-max_len=512 -len_control=0 $(B)/fuzz/corpus-symbols tests/fuzz/symbols-seeds \
		tests/fuzz/corpus-symbols

# The glibc test matrix (2.31, 2.41, 2.43 with their debug symbols) from
# Debian's archive, cached outside the tree (HEAPSCOPE_MATRIX); `make check`
# runs every end-to-end suite on each version found there.
.PHONY: matrix
matrix: deps
	tests/matrix/fetch.sh
	tests/matrix/selftest.sh

# The same fixtures built once against glibc 2.31's sysroot, so that one
# binary runs on every version of the matrix through that version's ld.so.
MATRIX_FIXTURES := $(patsubst fixtures/%.c,$(B)/fixtures-matrix/%,$(FIX_SRC))
$(B)/fixtures-matrix/%: fixtures/%.c fixtures/oracle.c fixtures/oracle.h fixtures/workers.h
	@mkdir -p $(dir $@)
	tests/matrix/cc.sh -std=gnu11 -O1 -g -Wall -Wextra -Werror -o $@ $< fixtures/oracle.c
fixtures-matrix: $(MATRIX_FIXTURES)
.PHONY: fixtures-matrix

# glibc linked into the executable: read through its own symbol table.
$(B)/fixtures-static/%: fixtures/%.c fixtures/oracle.c fixtures/oracle.h fixtures/workers.h
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O1 -g -Wall -Wextra -Werror -pthread -static -o $@ $< fixtures/oracle.c
STATIC_FIXTURES := $(B)/fixtures-static/classic $(B)/fixtures-static/threads $(B)/fixtures-static/leaks
all: $(STATIC_FIXTURES)
