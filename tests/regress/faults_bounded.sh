#!/bin/sh
# The fault suite in its bounded form for CI (under 5 minutes on 2 cores):
# 5 trials of each quick fault (kill -9 of every worker role mid-turn,
# kill -9 of the whole tree during writes), 1 of each slow one (ENOSPC,
# EMFILE in every process, SIGSTOP of every worker, a frame cut mid-way by
# every role, a restart storm). `make faults` runs the full form
# (tests/faults/run.sh, 100 trials). Fails if any trial failed.
TOP=$(cd "$(dirname "$0")/../.." && pwd)
# Under the sanitizers (make asan) the kills run for memory safety; the
# timing-bound faults (heartbeats, backoff windows) are judged on the
# production build that make check runs.
if [ -n "${ASAN_OPTIONS:-}" ] && [ -z "${FAULT_ONLY:-}" ]; then
	export FAULT_ONLY=kill9
fi
FAULT_TRIALS=${FAULT_TRIALS:-5} FAULT_SLOW_TRIALS=${FAULT_SLOW_TRIALS:-1} \
    FAULT_OUT=${FAULT_OUT:-${TMPDIR:-/tmp}/hermes-faults-bounded.$$} \
    exec sh "$TOP/tests/faults/run.sh"
