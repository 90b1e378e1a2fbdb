#!/bin/sh
# SIGHUP: a valid new config.yaml restarts the workers with it; a broken
# one is refused with file:line:col and the old one stays in force.
. "$(dirname "$0")/lib.sh"
h_setup
h_use_testworkers
printf 'model:\n  default: first-model\n' > "$HERMES_HOME/config.yaml"
h_start
sup=$H_HERMESD
old=$(h_pid agent)
printf 'model:\n  default: second-model\nunknown_key: kept\n' > "$HERMES_HOME/config.yaml"
kill -HUP "$sup"
i=0
while :; do
	new=$(h_pid agent)
	st=$(h_status | awk '$1 == "agent" { print $3 }')
	[ -n "$new" ] && [ "$new" != "$old" ] && [ "$new" != 0 ] && [ "$st" = ready ] && break
	i=$((i + 1))
	[ $i -gt 100 ] && h_fail "workers not restarted on SIGHUP"
	sleep 0.1
done
H_WORKER_PIDS="$H_WORKER_PIDS $(h_status | awk '{print $2}')"
grep -q 'configuration reloaded' "$T/hermesd.log" || h_fail "no reload line"
echo "ok: SIGHUP reloaded and restarted the workers ($old -> $new)"
printf 'model:\n  default: [unclosed\n' > "$HERMES_HOME/config.yaml"
kill -HUP "$sup"
sleep 0.5
kill -0 "$sup" || h_fail "a broken config killed hermesd"
grep -q 'config.yaml:[0-9]*:[0-9]*' "$T/hermesd.log" || \
    h_fail "the error does not say file:line:col"
grep -q 'keeping the old configuration' "$T/hermesd.log" || \
    h_fail "the broken config was not refused"
[ "$(h_pid agent)" = "$new" ] || h_fail "workers restarted on a broken config"
echo "ok: a broken config is refused, the old one stays"
"$BIN/hermesd" -n >/dev/null 2>"$T/n.err" && h_fail "hermesd -n passed a broken config"
grep -q 'config.yaml:[0-9]*:[0-9]*' "$T/n.err" || h_fail "hermesd -n: $(cat "$T/n.err")"
echo "ok: hermesd -n names the file, line and column"
exit 0
