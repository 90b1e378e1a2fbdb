# hermes-c: one non-recursive Makefile. Each module adds its programs,
# tests and fuzz targets in its own fragment (*/module.mk), included below.
#
#   make            build everything (-Werror)
#   make check      deps.sh, build, run every test
#   make asan       the whole suite under ASan+UBSan (sandbox off)
#   make fuzz       every fuzz target for FUZZ_SECONDS (default 60)
#   make run        chat with the configured provider
#   make demo       offline walkthrough against tests/fakellm
#   make bench      benchmarks
#   make faults     the full fault-injection suite (100 trials per fault)

CC	?= cc
B	?= build
SAN	?=
FUZZ_SECONDS ?= 60
JOBS	?= $(shell nproc 2>/dev/null || echo 2)
V	?= 0
Q	= $(if $(filter 1,$(V)),,@)

PKGS	:= libevent msgpack jansson yaml-0.1 libseccomp sqlite3 libcurl openssl libedit cmocka
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
libs	= $(shell pkg-config --libs $(1))

WARN	:= -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	   -Wformat=2 -Wpointer-arith -Wno-unused-parameter -Wvla
HARDEN	:= -fstack-protector-strong -fPIE
ifeq ($(SAN),)
OPT	:= -O2 -g -D_FORTIFY_SOURCE=2
else
OPT	:= -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	   -fno-sanitize-recover=undefined -DHERMES_SANITIZE=1
endif
CFLAGS	?=
CFLAGS	+= -std=c11 -D_GNU_SOURCE -I. $(WARN) $(HARDEN) $(OPT) $(PKG_CFLAGS) -MMD -MP
SANFLAGS := -fsanitize=address,undefined
LDFLAGS	+= -pie -Wl,-z,relro,-z,now $(if $(SAN),$(SANFLAGS))

objs	= $(patsubst %.c,$(B)/%.o,$(1))
LINK	= @mkdir -p $(@D); echo "  LD $@"; $(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(filter %.o %.a,$^)

# Every module appends to these.
BINS		:=
UNIT_TESTS	:=
TEST_PROGS	:=	# built for tests, not run as tests
BENCHES		:=
BENCH_SCRIPTS	:=
FUZZ_TARGETS	:=

# Libraries every module may name in its prerequisites (defined before
# the fragments are read, since prerequisites expand as they are read).
LIBIPC		:= $(B)/libipc.a
LIBWORKER	:= $(B)/libworker.a
LIBSBX		:= $(B)/libsandbox.a
HARNESS		:= $(B)/tests/harness.o
WORKER_LIBS	:= $(LIBWORKER) $(LIBSBX) $(LIBIPC)
WORKER_PKGS	:= libevent msgpack libseccomp

all: build-all

include ipc/module.mk
include tests/module.mk
include sandbox/module.mk
include supervisor/module.mk
include workers/store/module.mk
include workers/fetch/module.mk
include workers/tool/module.mk
include agent/module.mk
include cli/module.mk
include bench/module.mk
include tests/faults/faults.mk

$(B)/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC $<"
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

build-all: $(BINS) $(UNIT_TESTS) $(TEST_PROGS)

check: deps
	$(MAKE) -j$(JOBS) build-all
	B=$(B) UNIT_TESTS="$(UNIT_TESTS)" sh tests/run.sh

deps:
	sh scripts/deps.sh

asan:
	$(MAKE) -j$(JOBS) B=build-asan SAN=1 build-all
	B=build-asan HERMES_SANDBOX=off ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    UNIT_TESTS="$(subst $(B)/,build-asan/,$(UNIT_TESTS))" sh tests/run.sh

# Fuzz targets are built with clang's libFuzzer, ASan and UBSan.
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -I. -g -O1 -fsanitize=fuzzer,address,undefined \
	$(PKG_CFLAGS) -DHERMES_FUZZ=1
$(B)/fuzz/%: tests/fuzz/%.c FORCE
	@mkdir -p $(@D)
	@echo "  FUZZ $@"
	$(Q)clang $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_SRCS_$*) $(call libs,$(FUZZ_LIBS_$*))

FORCE:

fuzz-build: $(addprefix $(B)/fuzz/,$(FUZZ_TARGETS))

fuzz:
	$(MAKE) -j$(JOBS) fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) B=$(B) sh tests/fuzz/run.sh $(FUZZ_TARGETS)

run: deps
	$(MAKE) -j$(JOBS) build-all
	B=$(B) sh scripts/run.sh

demo: deps
	$(MAKE) -j$(JOBS) build-all
	B=$(B) sh scripts/demo.sh

bench: build-all $(BENCHES)
	B=$(B) BENCHES="$(BENCHES)" BENCH_SCRIPTS="$(BENCH_SCRIPTS)" sh bench/run.sh

format-check:
	clang-format --dry-run -Werror $(shell git ls-files '*.c' '*.h')

clean:
	rm -rf build build-asan


.PHONY: FORCE all build-all check deps asan fuzz fuzz-build run demo bench format-check clean

-include $(shell find $(B) -name '*.d' 2>/dev/null)
