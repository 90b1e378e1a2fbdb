#!/bin/sh
# Worker restart-to-ready: kill -9 a worker N times and read the
# supervisor's "ready in N us" for each restart (the backoff delay before
# the spawn is excluded; spawn -> READY is what is measured). Real workers
# when they are built, do-nothing test workers otherwise (said in notes).
TOP=$(cd "$(dirname "$0")/.." && pwd)
. "$TOP/tests/regress/lib.sh"
ROUNDS=${BENCH_RESTART_ROUNDS:-3}
h_setup
kind="real workers"
for b in hermes-agent hermes-llm-fetch hermes-store hermes-tool-local; do
	[ -x "$BIN/$b" ] || kind=""
done
if [ -z "$kind" ]; then
	h_use_testworkers
	kind="test workers (real ones not built)"
fi
h_start -vv
# Five kills per role stay within the intensity limit; SIGHUP (a reload:
# every worker restarted, counters reset) starts the next round.
for round in $(seq "$ROUNDS"); do
	for role in store llm-fetch tool agent; do
		for i in 1 2 3 4 5; do
			old=$(h_pid $role)
			kill -9 "$old"
			while :; do
				new=$(h_pid $role)
				st=$(h_status | awk -v r=$role '$1 == r { print $3 }')
				[ "$new" != "$old" ] && [ "$st" = ready ] && break
				sleep 0.02
			done
			H_WORKER_PIDS="$H_WORKER_PIDS $new"
		done
	done
	kill -HUP "$H_HERMESD"
	sleep 0.5
	h_wait_ready 10 || h_fail "not ready after reload"
done
grep 'ready in .* us' "$T/hermesd.log" | grep -v 'gen 1)' |
    sed 's/.*ready in \([0-9]*\) us.*/\1/' | sort -n > "$T/lat"
cnt=$(wc -l < "$T/lat")
p50=$(awk -v n="$cnt" 'NR == int(n * 0.5) + 1' "$T/lat")
p99=$(awk -v n="$cnt" 'NR == int(n * 0.99) + 1' "$T/lat")
min=$(head -1 "$T/lat")
max=$(tail -1 "$T/lat")
printf 'BENCH\tworker restart-to-ready p50 (us)\t%s\t-\t-\t%s spawns, %s; min %s max %s\n' "$p50" "$cnt" "$kind" "$min" "$max"
printf 'BENCH\tworker restart-to-ready p99 (us)\t%s\t100000\t%s\tgoal: p99 <= 100 ms\n' "$p99" "$(awk -v a="$p99" 'BEGIN { printf "%.3f", a / 100000 }')"
