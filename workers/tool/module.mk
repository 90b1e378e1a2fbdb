# workers/tool: hermes-tool-local (its file-tools helper hermes-tool-files),
# the pure modules' unit tests, the worker tests through the real process,
# fuzz targets and the benchmark. See workers/tool/tool.h for the file map.
TOOL_CORE_SRCS	:= workers/tool/output.c workers/tool/approval.c \
		   workers/tool/files.c workers/tool/patch.c
TOOL_RUN_SRCS	:= workers/tool/output.c workers/tool/approval.c \
		   workers/tool/files.c workers/tool/patch.c \
		   workers/tool/exec.c workers/tool/runner.c
TOOL_PKGS	:= jansson

BINS		+= $(B)/hermes-tool-local $(B)/hermes-tool-files
$(B)/hermes-tool-local: $(call objs,$(TOOL_RUN_SRCS) workers/tool/local_main.c) $(WORKER_LIBS) | $(B)/hermes-tool-files
	$(LINK) $(call libs,$(WORKER_PKGS) $(TOOL_PKGS))
BINS		+= $(B)/hermes-tool-ssh
$(B)/hermes-tool-ssh: $(call objs,$(TOOL_RUN_SRCS) workers/tool/ssh_main.c) $(WORKER_LIBS)
	$(LINK) $(call libs,$(WORKER_PKGS) $(TOOL_PKGS))
BINS		+= $(B)/hermes-tool-docker
$(B)/hermes-tool-docker: $(call objs,$(TOOL_RUN_SRCS) workers/tool/docker.c workers/tool/docker_main.c) $(WORKER_LIBS)
	$(LINK) $(call libs,$(WORKER_PKGS) $(TOOL_PKGS) libcurl)
# The file tools' helper, run inside the command sandbox by tool-local.
$(B)/hermes-tool-files: $(call objs,$(TOOL_CORE_SRCS) workers/tool/files_main.c) $(LIBIPC)
	$(LINK) $(call libs,libevent msgpack $(TOOL_PKGS))

# Unit tests of the pure modules, and the worker through its real process.
TOOL_UNITS	:= $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_tool_*.c))
TOOL_PURE	:= $(filter-out test_tool_worker test_tool_ssh test_tool_docker,$(TOOL_UNITS))
UNIT_TESTS	+= $(addprefix $(B)/tests/,$(TOOL_UNITS))
$(addprefix $(B)/tests/,$(TOOL_PURE)): $(B)/tests/%: $(B)/tests/unit/%.o $(call objs,$(TOOL_CORE_SRCS)) $(LIBIPC)
	$(LINK) $(call libs,libevent msgpack jansson cmocka)
$(B)/tests/test_tool_worker: $(call objs,tests/unit/test_tool_worker.c tests/harness.c) $(LIBIPC) | $(B)/hermes-tool-local
	$(LINK) $(call libs,libevent msgpack jansson cmocka)
# Against a fake Engine API on a UNIX socket (and live when one answers).
$(B)/tests/test_tool_docker: $(call objs,tests/unit/test_tool_docker.c tests/harness.c workers/tool/docker.c workers/tool/output.c) $(LIBIPC) | $(B)/hermes-tool-docker
	$(LINK) $(call libs,libevent msgpack jansson libcurl cmocka)
# Live against an sshd the test starts on 127.0.0.1.
$(B)/tests/test_tool_ssh: $(call objs,tests/unit/test_tool_ssh.c tests/harness.c) $(LIBIPC) | $(B)/hermes-tool-ssh
	$(LINK) $(call libs,libevent msgpack jansson cmocka)

# Fuzz targets: the patch parser, the approval analyser, the state dump.
TOOL_FUZZ	:= $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_tool_*.c))
FUZZ_TARGETS	+= $(TOOL_FUZZ)
$(foreach f,$(TOOL_FUZZ),$(eval FUZZ_SRCS_$(f) = $(TOOL_CORE_SRCS) workers/tool/exec.c ipc/util.c ipc/log.c))
$(foreach f,$(TOOL_FUZZ),$(eval FUZZ_LIBS_$(f) = jansson libevent))

ifneq ($(wildcard bench/bench_tool.c),)
BENCHES		+= $(B)/bench/bench_tool
endif
$(B)/bench/bench_tool: $(call objs,bench/bench_tool.c tests/harness.c) $(LIBIPC) | $(B)/hermes-tool-local
	$(LINK) $(call libs,libevent msgpack jansson)
