#!/bin/sh
# The whole system with the real workers: `hermes status` with no daemon
# running starts one (daemonized, logging to HERMES_HOME/logs) and prints
# the worker table; every worker gets ready in its sandbox; `hermes stop`
# ends the daemon and every worker.
. "$(dirname "$0")/lib.sh"
h_setup
for b in hermesd hermes hermes-agent hermes-llm-fetch hermes-store \
    hermes-tool-local; do
	[ -x "$BIN/$b" ] || h_fail "$b not built"
done
out=$("$BIN/hermes" status) || h_fail "hermes status: $out"
echo "$out"
sup=$(echo "$out" | awk '$1 == "supervisor" { print $2 }')
[ -n "$sup" ] || h_fail "no supervisor pid in the table"
H_PIDS="$sup"
h_wait_ready 15 || h_fail "workers not ready: $(h_status)"
out=$("$BIN/hermes" status)
for role in agent llm-fetch store tool; do
	echo "$out" | grep -q "^$role .* ready" || h_fail "$role not ready"
done
[ -f "$HERMES_HOME/logs/hermesd.log" ] || h_fail "no log file"
grep -q 'listening on' "$HERMES_HOME/logs/hermesd.log" || h_fail "log empty"
grep -q 'restarting' "$HERMES_HOME/logs/hermesd.log" && \
    h_fail "a worker restarted during a clean start"
"$BIN/hermes" stop || h_fail "hermes stop"
for _ in $(seq 50); do kill -0 "$sup" 2>/dev/null || break; sleep 0.1; done
kill -0 "$sup" 2>/dev/null && h_fail "hermesd still running after stop"
for p in $H_WORKER_PIDS; do
	kill -0 "$p" 2>/dev/null && h_fail "worker $p left running"
done
echo "ok: started on demand, all workers ready, stopped cleanly"
exit 0
