#!/bin/sh
# Limits on the control socket: with RLIMIT_NOFILE at 64, a burst of 100
# clients is partly refused ("busy", the fd reserve) and never crashes
# hermesd; the per-uid cap refuses the rest; once they leave, the fd count
# is back to baseline and new clients are served.
. "$(dirname "$0")/lib.sh"
h_setup
h_use_testworkers
printf 'limits:\n  max_clients_per_uid: 40\n' > "$HERMES_HOME/config.yaml"
(ulimit -n 64 && exec "$BIN/hermesd" -d) >>"$T/hermesd.log" 2>&1 &
H_HERMESD=$!
H_PIDS=$H_HERMESD
h_wait_ready 15 || h_fail "not ready"
sup=$H_HERMESD
base=$(h_fds "$sup")
out=$("$BIN/tests/sockclient" "$HERMES_SOCKET" hold 100) || h_fail "hold: $out"
echo "burst of 100: $out"
served=$(echo "$out" | sed 's/.*served=\([0-9]*\).*/\1/')
[ "$served" -gt 0 ] && [ "$served" -le 40 ] || h_fail "served $served (cap 40)"
kill -0 "$sup" || h_fail "hermesd died in the burst"
sleep 0.5
now=$(h_fds "$sup")
[ "$now" = "$base" ] || h_fail "fds $base -> $now after the burst"
"$BIN/tests/sockclient" "$HERMES_SOCKET" cycles 10 >/dev/null || \
    h_fail "not serving after the burst"
echo "ok: burst refused in part, hermesd alive, fds $base -> $now"
exit 0
