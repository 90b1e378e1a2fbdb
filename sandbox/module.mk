# sandbox/: libsandbox.a (profiles, seccomp, landlock, command sandbox),
# the escape suite and the benchmark.
SBX_SRCS	:= sandbox/sandbox.c sandbox/profiles.c sandbox/seccomp.c \
		   sandbox/landlock.c sandbox/cmd.c sandbox/view.c
LIBSBX		:= $(B)/libsandbox.a
$(LIBSBX): $(call objs,$(SBX_SRCS))
	@mkdir -p $(@D); rm -f $@; ar rcs $@ $^

# The escape suite: libsandbox plus the util/log objects of ipc/ only.
SBX_TEST_DEPS	 = $(LIBSBX) $(call objs,ipc/util.c ipc/log.c)
UNIT_TESTS	+= $(B)/tests/sandbox_escape
$(B)/tests/sandbox_escape: $(call objs,tests/sandbox/escape.c \
    tests/sandbox/battery.c) $(SBX_TEST_DEPS)
	$(LINK) $(call libs,libseccomp)

BENCHES		+= $(B)/bench/bench_sandbox
$(B)/bench/bench_sandbox: $(call objs,bench/bench_sandbox.c) $(SBX_TEST_DEPS)
	$(LINK) $(call libs,libseccomp)
