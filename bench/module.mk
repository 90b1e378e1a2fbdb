# bench/: the lead's benchmarks; modules add theirs in their own module.mk.
BENCHES		+= $(B)/bench/bench_ipc
$(B)/bench/bench_ipc: $(call objs,bench/bench_ipc.c) $(LIBIPC)
	$(LINK) $(call libs,libevent msgpack)
BENCH_SCRIPTS	+= bench/bench_restart.sh
