# sandbox/: libsandbox.a, the escape suite.
SBX_SRCS	:= sandbox/sandbox.c
LIBSBX		:= $(B)/libsandbox.a
$(LIBSBX): $(call objs,$(SBX_SRCS))
	@mkdir -p $(@D); rm -f $@; ar rcs $@ $^
