# workers/fetch: hermes-llm-fetch, tests/fakellm, their tests, fuzz
# targets and benchmark. See workers/fetch/fetch.h for the file map.
FETCH_CORE_SRCS	:= workers/fetch/sse.c workers/fetch/prov.c \
		   workers/fetch/prov_openai.c workers/fetch/prov_anthropic.c \
		   workers/fetch/fastjson.c
FETCH_SRCS	:= $(FETCH_CORE_SRCS) workers/fetch/fetch.c \
		   workers/fetch/fetch_conf.c workers/fetch/curlev.c
FETCH_PKGS	:= jansson libcurl

ifneq ($(wildcard workers/fetch/fetch_main.c),)
BINS		+= $(B)/hermes-llm-fetch
endif
$(B)/hermes-llm-fetch: $(call objs,$(FETCH_SRCS) workers/fetch/fetch_main.c) $(WORKER_LIBS)
	$(LINK) $(call libs,$(WORKER_PKGS) $(FETCH_PKGS))

# The scripted fake provider (tests, make demo, bench).
ifneq ($(wildcard tests/fakellm/fakellm.c),)
BINS		+= $(B)/fakellm
endif
$(B)/fakellm: $(call objs,tests/fakellm/fakellm.c)
	$(LINK) $(call libs,libevent jansson)

UNIT_TESTS	+= $(B)/tests/test_fetch_sse $(B)/tests/test_fetch_prov \
		   $(B)/tests/test_fetch_conf
$(B)/tests/test_fetch_conf: $(call objs,tests/unit/test_fetch_conf.c workers/fetch/fetch_conf.c $(FETCH_CORE_SRCS)) $(LIBIPC)
	$(LINK) $(call libs,libevent msgpack jansson libcurl cmocka)
$(B)/tests/test_fetch_sse: $(call objs,tests/unit/test_fetch_sse.c workers/fetch/sse.c) $(LIBIPC)
	$(LINK) $(call libs,libevent msgpack cmocka)
$(B)/tests/test_fetch_prov: $(call objs,tests/unit/test_fetch_prov.c $(FETCH_CORE_SRCS)) $(LIBIPC)
	$(LINK) $(call libs,libevent msgpack jansson cmocka)

# The worker through its real process, against fakellm.
ifneq ($(wildcard tests/harness.c),)
UNIT_TESTS	+= $(B)/tests/test_fetch_worker
$(B)/tests/test_fetch_worker: $(call objs,tests/unit/test_fetch_worker.c tests/harness.c) $(LIBIPC) | $(B)/hermes-llm-fetch $(B)/fakellm
	$(LINK) $(call libs,libevent msgpack jansson libcurl cmocka)
endif

# fetchcli: drive one llm-fetch as its agent would (scripts, bench).
ifneq ($(wildcard tests/harness.c),)
TEST_PROGS	+= $(B)/tests/fetchcli
$(B)/tests/fetchcli: $(call objs,tests/fakellm/fetchcli.c tests/harness.c) $(LIBIPC)
	$(LINK) $(call libs,libevent msgpack jansson)
endif

# Fuzz targets: the SSE parser and each API shape's decoders.
FETCH_FUZZ_SRCS	:= $(FETCH_CORE_SRCS) ipc/util.c ipc/log.c
FUZZ_TARGETS	+= fuzz_fetch_sse fuzz_fetch_openai fuzz_fetch_anthropic
FUZZ_SRCS_fuzz_fetch_sse	= $(FETCH_FUZZ_SRCS)
FUZZ_LIBS_fuzz_fetch_sse	= jansson
FUZZ_SRCS_fuzz_fetch_openai	= $(FETCH_FUZZ_SRCS)
FUZZ_LIBS_fuzz_fetch_openai	= jansson
FUZZ_SRCS_fuzz_fetch_anthropic	= $(FETCH_FUZZ_SRCS)
FUZZ_LIBS_fuzz_fetch_anthropic	= jansson

# Benchmark: per-chunk cost, and a 10 MB stream vs curl (bench/run.sh).
ifneq ($(wildcard tests/harness.c),)
BENCHES		+= $(B)/bench/bench_fetch
$(B)/bench/bench_fetch: $(call objs,bench/bench_fetch.c tests/harness.c $(FETCH_CORE_SRCS)) $(LIBIPC) | $(B)/hermes-llm-fetch $(B)/fakellm
	$(LINK) $(call libs,libevent msgpack jansson libcurl)
endif
FUZZ_TARGETS	+= fuzz_fetch_fast
FUZZ_SRCS_fuzz_fetch_fast	= $(FETCH_FUZZ_SRCS)
FUZZ_LIBS_fuzz_fetch_fast	= jansson
