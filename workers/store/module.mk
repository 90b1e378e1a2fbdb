# workers/store: hermes-store, the only opener of HERMES_HOME's data.
STORE_SRCS	:= workers/store/db.c workers/store/sessions.c \
		   workers/store/search.c workers/store/memory.c \
		   workers/store/skills.c workers/store/cron.c \
		   workers/store/traj.c workers/store/fsutil.c \
		   workers/store/ops.c
STORE_PKGS	:= sqlite3 jansson yaml-0.1
# Objects the unit tests link (util and log from libipc, without peers).
STORE_TEST_OBJS	 = $(call objs,$(STORE_SRCS) ipc/util.c ipc/log.c)

BINS		+= $(B)/hermes-store
$(B)/hermes-store: $(call objs,workers/store/store.c $(STORE_SRCS)) $(WORKER_LIBS)
	$(LINK) $(call libs,$(WORKER_PKGS) $(STORE_PKGS)) -lm

STORE_UNITS	:= test_store_db test_store_sessions test_store_search \
		   test_store_memory test_store_skills test_store_misc
UNIT_TESTS	+= $(addprefix $(B)/tests/,$(STORE_UNITS))
$(addprefix $(B)/tests/,$(STORE_UNITS)): $(B)/tests/test_store_%: \
    $(call objs,tests/unit/test_store_%.c) $(STORE_TEST_OBJS)
	$(LINK) $(call libs,$(STORE_PKGS) cmocka) -lm

# Through the real process (tests/harness.h plays the supervisor).
UNIT_TESTS	+= $(B)/tests/test_store_worker
$(B)/tests/test_store_worker: $(call objs,tests/unit/test_store_worker.c \
    $(STORE_SRCS)) $(B)/tests/harness.o $(LIBIPC) | $(B)/hermes-store
	$(LINK) $(call libs,$(STORE_PKGS) msgpack libevent cmocka) -lm

FUZZ_TARGETS	+= fuzz_store_fts fuzz_store_frontmatter
FUZZ_SRCS_fuzz_store_fts	= workers/store/search.c workers/store/db.c \
				  workers/store/sessions.c workers/store/memory.c \
				  workers/store/fsutil.c workers/store/skills.c \
				  ipc/util.c ipc/log.c
FUZZ_LIBS_fuzz_store_fts	= sqlite3 jansson yaml-0.1
FUZZ_SRCS_fuzz_store_frontmatter = workers/store/skills.c workers/store/db.c \
				  workers/store/memory.c workers/store/fsutil.c \
				  workers/store/sessions.c workers/store/search.c \
				  ipc/util.c ipc/log.c
FUZZ_LIBS_fuzz_store_frontmatter = yaml-0.1 jansson sqlite3

BENCHES		+= $(B)/bench/bench_store
$(B)/bench/bench_store: $(call objs,bench/bench_store.c $(STORE_SRCS) ipc/util.c ipc/log.c)
	$(LINK) $(call libs,$(STORE_PKGS)) -lm
