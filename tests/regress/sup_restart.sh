#!/bin/sh
# Restart policy: a crash-looping worker is marked failed at the intensity
# limit (more than 5 restarts in 60 s) while the supervisor stays responsive;
# a worker frozen with SIGSTOP is caught by the heartbeat and restarted.
. "$(dirname "$0")/lib.sh"
h_setup
h_use_testworkers
export HERMES_FAULT=crash:llm-fetch
"$BIN/hermesd" -d >>"$T/hermesd.log" 2>&1 &
sup=$!
H_PIDS="$sup"
# Backoff 100+200+400+800+1600 ms: failed after ~3.1 s.
i=0
while :; do
	st=$(h_status 2>/dev/null | awk '$1 == "llm-fetch" { print $3 }')
	[ "$st" = failed ] && break
	i=$((i + 1))
	[ $i -gt 100 ] && h_fail "llm-fetch never marked failed (state $st)"
	sleep 0.1
done
kill -0 "$sup" || h_fail "supervisor died"
lat=$("$BIN/tests/sockclient" "$HERMES_SOCKET" ping 100) || h_fail "ping"
echo "ok: crash loop marked failed; supervisor answers (ping p50/p99 us: $lat)"
grep -q 'giving up' "$T/hermesd.log" || h_fail "no log line for the failed role"
h_status | grep -q '^store .* ready' || h_fail "other roles hurt by the crash loop"
unset HERMES_FAULT

# Heartbeat: freeze the store.
old=$(h_pid store)
H_WORKER_PIDS="$old"
kill -STOP "$old"
i=0
while :; do
	new=$(h_pid store)
	st=$(h_status | awk '$1 == "store" { print $3 }')
	[ "$new" != "$old" ] && [ "$st" = ready ] && break
	i=$((i + 1))
	[ $i -gt 150 ] && h_fail "frozen store not replaced"
	sleep 0.1
done
H_WORKER_PIDS="$H_WORKER_PIDS $new"
grep -q 'missed 3 heartbeats' "$T/hermesd.log" || h_fail "no heartbeat log line"
echo "ok: frozen worker caught by heartbeat and restarted ($old -> $new)"
exit 0
