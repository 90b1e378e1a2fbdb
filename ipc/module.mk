# ipc/: libipc.a (frames, message table, peers, util) and libworker.a
# (the worker life cycle; needs libsandbox.a).
IPC_SRCS	:= ipc/util.c ipc/log.c ipc/msg.c ipc/codec.c ipc/frame.c ipc/peer.c ipc/blocking.c

$(LIBIPC): $(call objs,$(IPC_SRCS))
	@mkdir -p $(@D); rm -f $@; ar rcs $@ $^
$(LIBWORKER): $(call objs,ipc/worker.c)
	@mkdir -p $(@D); rm -f $@; ar rcs $@ $^

UNIT_TESTS	+= $(B)/tests/test_ipc
$(B)/tests/test_ipc: $(call objs,tests/unit/test_ipc.c) $(LIBIPC)
	$(LINK) $(call libs,libevent msgpack cmocka)

FUZZ_TARGETS	+= fuzz_frame fuzz_validate
FUZZ_SRCS_fuzz_frame	= $(IPC_SRCS)
FUZZ_LIBS_fuzz_frame	= libevent msgpack
FUZZ_SRCS_fuzz_validate	= $(IPC_SRCS)
FUZZ_LIBS_fuzz_validate	= libevent msgpack
