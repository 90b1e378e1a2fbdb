# tests: see docs/HACKING.md
# tests/: the harness every worker test links.

# A do-nothing worker for the supervisor's own tests (tests/regress/sup_*.sh).
TEST_PROGS	+= $(B)/tests/testworker
$(B)/tests/testworker: $(call objs,tests/regress/testworker.c) $(WORKER_LIBS)
	$(LINK) $(call libs,$(WORKER_PKGS))
TEST_PROGS	+= $(B)/tests/sockclient
$(B)/tests/sockclient: $(call objs,tests/regress/sockclient.c) $(LIBIPC)
	$(LINK) $(call libs,libevent msgpack)
