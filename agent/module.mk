# agent/: hermes-agent, the confined conversation state machine.
AGENT_PURE	:= agent/tools.c agent/cfg.c agent/context.c agent/prompt.c \
		   agent/cache.c agent/learning.c
AGENT_CORE	:= $(AGENT_PURE) agent/loop.c agent/turn.c agent/cmd.c
AGENT_PKGS	:= jansson

BINS		+= $(B)/hermes-agent
$(B)/hermes-agent: $(call objs,agent/agent_main.c $(AGENT_CORE)) $(WORKER_LIBS)
	$(LINK) $(call libs,$(WORKER_PKGS) $(AGENT_PKGS))

UNIT_TESTS	+= $(B)/tests/test_agent_tools $(B)/tests/test_agent_context \
		   $(B)/tests/test_agent_session
$(B)/tests/test_agent_tools: $(call objs,tests/unit/test_agent_tools.c $(AGENT_PURE)) $(LIBIPC)
	$(LINK) $(call libs,$(AGENT_PKGS) libevent msgpack cmocka)
$(B)/tests/test_agent_context: $(call objs,tests/unit/test_agent_context.c $(AGENT_PURE)) $(LIBIPC)
	$(LINK) $(call libs,$(AGENT_PKGS) libevent msgpack cmocka)
$(B)/tests/test_agent_session: $(call objs,tests/unit/test_agent_session.c $(AGENT_PURE)) $(LIBIPC)
	$(LINK) $(call libs,$(AGENT_PKGS) libevent msgpack cmocka)

# hermes-agent as a real process, its peers played by the test.
AGENT_FAKE	:= tests/unit/agent_fake.c
UNIT_TESTS	+= $(B)/tests/test_agent_proc
$(B)/tests/test_agent_proc: $(call objs,tests/unit/test_agent_proc.c $(AGENT_FAKE)) $(HARNESS) $(LIBIPC) | $(B)/hermes-agent
	$(LINK) $(call libs,$(AGENT_PKGS) libevent msgpack cmocka)

# Fuzzing what the model and the store hand over.
AGENT_FUZZ_SRCS	:= $(AGENT_PURE) ipc/util.c ipc/log.c
FUZZ_TARGETS	+= fuzz_agent_args fuzz_agent_msgs
FUZZ_SRCS_fuzz_agent_args	= $(AGENT_FUZZ_SRCS)
FUZZ_LIBS_fuzz_agent_args	= jansson
FUZZ_SRCS_fuzz_agent_msgs	= $(AGENT_FUZZ_SRCS)
FUZZ_LIBS_fuzz_agent_msgs	= jansson

BENCHES		+= $(B)/bench/bench_agent
$(B)/bench/bench_agent: $(call objs,bench/bench_agent.c) $(HARNESS) $(LIBIPC) | $(B)/hermes-agent
	$(LINK) $(call libs,$(AGENT_PKGS) libevent msgpack)
