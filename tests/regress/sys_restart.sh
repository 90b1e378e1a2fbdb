#!/bin/sh
# The real workers, each killed with SIGKILL in turn: restarted in their
# sandboxes and re-wired to their peers; the supervisor's fd count returns
# to its baseline.
. "$(dirname "$0")/lib.sh"
h_setup
h_start -vv
sup=$H_HERMESD
sleep 0.3
base=$(h_fds "$sup")
for role in store llm-fetch tool agent; do
	h_kill_role "$role"
	old=$H_OLD new=$H_NEW
	echo "ok: $role restarted ($old -> $new)"
done
sleep 0.5
# The agent (restarted last) got every peer again, and each peer got it.
for peer in store llm-fetch tool; do
	grep -q "agent\[.*peer $peer connected (gen [0-9]*)" "$T/hermesd.log" || \
	    h_fail "agent not re-wired to $peer"
	n=$(grep -c "$peer\[.*peer agent connected" "$T/hermesd.log")
	[ "$n" -ge 2 ] || h_fail "$peer saw the agent connect $n times"
done
grep -q 'SIGSYS\|sandbox.*fail' "$T/hermesd.log" && h_fail "a sandbox failure"
kill -0 "$sup" || h_fail "supervisor died"
now=$(h_fds "$sup")
[ "$now" = "$base" ] || h_fail "fds $base -> $now"
echo "ok: re-wired; supervisor fds $base -> $now"
exit 0
