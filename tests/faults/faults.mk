# tests/faults: `make faults` runs the full fault suite (FAULT_TRIALS=100
# per fault; FAULT_SLOW_TRIALS for the faults that take seconds each).
# To be included by the top Makefile (the CI's bounded form is
# tests/regress/faults_bounded.sh, run by tests/run.sh).
FAULT_TRIALS	?= 100
FAULT_SLOW_TRIALS ?= 5

faults: build-all
	B=$(B) FAULT_TRIALS=$(FAULT_TRIALS) FAULT_SLOW_TRIALS=$(FAULT_SLOW_TRIALS) \
	    sh tests/faults/run.sh

.PHONY: faults
