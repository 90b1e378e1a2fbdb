# cli/: hermes, the client of hermesd (see cli/cli.h).
CLI_SRCS	:= cli/args.c cli/conn.c cli/chat.c cli/slash.c cli/out.c \
		   cli/cmds.c cli/yamledit.c
CLI_PKGS	:= msgpack jansson yaml-0.1 libedit

BINS		+= $(B)/hermes
$(B)/hermes: $(call objs,cli/main.c $(CLI_SRCS)) $(LIBIPC)
	$(LINK) $(call libs,$(CLI_PKGS))

CLI_TESTS	:= test_cli_args test_cli_slash test_cli_out test_cli_yaml
UNIT_TESTS	+= $(addprefix $(B)/tests/,$(CLI_TESTS))
$(addprefix $(B)/tests/,$(CLI_TESTS)): $(B)/tests/%: \
	    $(B)/tests/unit/%.o $(call objs,$(CLI_SRCS)) $(LIBIPC)
	$(LINK) $(call libs,$(CLI_PKGS) cmocka)

# The measuring tool of bench/bench_cli.sh (bare main, bare client, pty).
TEST_PROGS	+= $(B)/bench/bench_cli_helper
$(B)/bench/bench_cli_helper: $(call objs,bench/bench_cli_helper.c) $(LIBIPC)
	$(LINK) $(call libs,msgpack)
BENCH_SCRIPTS	+= bench/bench_cli.sh

# A scripted agent for the CLI's terminal tests (tests/regress/cli_*.sh).
TEST_PROGS	+= $(B)/tests/cli_fakeagent
$(B)/tests/cli_fakeagent: $(call objs,tests/regress/cli_fakeagent.c) $(WORKER_LIBS)
	$(LINK) $(call libs,$(WORKER_PKGS))
