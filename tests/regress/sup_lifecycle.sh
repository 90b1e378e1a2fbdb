#!/bin/sh
# hermesd: start, status, kill -9 of each role (restarted, re-wired, fd
# count back to baseline), stop. Uses do-nothing workers, so it tests the
# supervisor alone.
. "$(dirname "$0")/lib.sh"
h_setup
h_use_testworkers
h_start -vv

sup=$H_HERMESD
base_fds=$(h_fds "$sup")
[ "$base_fds" -gt 0 ] || h_fail "cannot read hermesd's fds"
h_status | grep -q '^agent .* ready' || h_fail "no ready agent"

for role in store llm-fetch tool agent; do
	h_kill_role "$role"
	old=$H_OLD new=$H_NEW
	kill -0 "$sup" || h_fail "supervisor died after killing $role"
	echo "ok: $role restarted ($old -> $new)"
done
sleep 0.5
# Re-wired: every peer of each restarted worker reconnected.
grep -q 'store\[.*peer agent up gen 2' "$T/hermesd.log" || \
    h_fail "store was not re-wired to the restarted agent"
grep -q 'agent\[.*peer store up gen 2' "$T/hermesd.log" || \
    h_fail "agent was not re-wired to the restarted store"
now_fds=$(h_fds "$sup")
[ "$now_fds" = "$base_fds" ] || h_fail "fd count $base_fds -> $now_fds"
echo "ok: supervisor fds $base_fds -> $now_fds"

# The chat hand-over reaches the agent.
out=$("$BIN/tests/sockclient" "$HERMES_SOCKET" chat) || h_fail "chat hand-over"
echo "$out" | grep -q 'testworker agent here' || h_fail "chat: got $out"
echo "ok: chat connection handed to the agent"

kill -TERM "$sup"
for _ in $(seq 50); do kill -0 "$sup" 2>/dev/null || break; sleep 0.1; done
kill -0 "$sup" 2>/dev/null && h_fail "hermesd did not stop on SIGTERM"
[ -S "$HERMES_SOCKET" ] && h_fail "socket left behind"
for p in $H_WORKER_PIDS; do
	kill -0 "$p" 2>/dev/null && h_fail "worker $p survived the shutdown"
done
echo "ok: orderly shutdown"
exit 0
