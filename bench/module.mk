# bench/: the lead's benchmarks; modules add theirs in their own module.mk.
BENCHES		+= $(B)/bench/bench_ipc
$(B)/bench/bench_ipc: $(call objs,bench/bench_ipc.c) $(LIBIPC)
	$(LINK) $(call libs,libevent msgpack)
BENCH_SCRIPTS	+= bench/bench_restart.sh

# bench-and-faults (bench_sys*, bench_openclaw*, tests/faults): the driver
# the scripts use (built with build-all, not run as a bench itself).
TEST_PROGS	+= $(B)/bench/bench_sys_drive
$(B)/bench/bench_sys_drive: $(call objs,bench/bench_sys_drive.c) $(LIBIPC)
	$(LINK) $(call libs,libevent msgpack)
BENCH_SCRIPTS	+= bench/bench_sys.sh bench/bench_openclaw.sh
# The worker that cuts a frame in the middle (tests/faults, CI's
# tests/regress/faults_bounded.sh).
TEST_PROGS	+= $(B)/tests/faultworker
$(B)/tests/faultworker: $(call objs,tests/faults/faultworker.c) $(WORKER_LIBS)
	$(LINK) $(call libs,$(WORKER_PKGS))
