# supervisor/: hermesd, and the config loader (config.c, envfile.c).
CONFIG_SRCS	:= supervisor/config.c supervisor/envfile.c
SUP_SRCS	:= supervisor/hermesd.c supervisor/proc.c supervisor/control.c \
		   supervisor/logfile.c $(CONFIG_SRCS)

BINS		+= $(B)/hermesd
$(B)/hermesd: $(call objs,$(SUP_SRCS)) $(LIBSBX) $(LIBIPC)
	$(LINK) $(call libs,libevent msgpack jansson yaml-0.1 libseccomp)

UNIT_TESTS	+= $(B)/tests/test_config $(B)/tests/test_config_env
$(B)/tests/test_config: $(call objs,tests/unit/test_config.c $(CONFIG_SRCS)) $(LIBIPC)
	$(LINK) $(call libs,jansson yaml-0.1 cmocka)
$(B)/tests/test_config_env: $(call objs,tests/unit/test_config_env.c $(CONFIG_SRCS)) $(LIBIPC)
	$(LINK) $(call libs,jansson yaml-0.1 cmocka)

FUZZ_TARGETS	+= fuzz_config_yaml fuzz_config_env
FUZZ_SRCS_fuzz_config_yaml = $(CONFIG_SRCS) $(IPC_SRCS)
FUZZ_LIBS_fuzz_config_yaml = jansson yaml-0.1 libevent msgpack
FUZZ_SRCS_fuzz_config_env = $(CONFIG_SRCS) $(IPC_SRCS)
FUZZ_LIBS_fuzz_config_env = jansson yaml-0.1 libevent msgpack
