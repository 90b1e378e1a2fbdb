#!/bin/sh
# hermes-store under the real hermesd: it creates HERMES_HOME's data
# (state.db in WAL mode at Hermes's schema 21, memories/, skills/), comes
# back after kill -9 with state.db intact, and refuses a state.db of a
# newer schema without touching it while still running (degraded).
. "$(dirname "$0")/lib.sh"
command -v sqlite3 >/dev/null || h_skip "no sqlite3 command"
h_setup
h_start -vv
db=$HERMES_HOME/state.db
[ -f "$db" ] || h_fail "no state.db"
v=$(sqlite3 "$db" 'SELECT version FROM schema_version')
[ "$v" = 21 ] || h_fail "schema_version $v"
m=$(sqlite3 "$db" 'PRAGMA journal_mode')
[ "$m" = wal ] || h_fail "journal_mode $m"
for d in memories skills cron trajectories; do
	[ -d "$HERMES_HOME/$d" ] || h_fail "no $d/"
done
echo "ok: state.db v21 (WAL) and data directories"

old=$(h_pid store)
kill -9 "$old"
i=0
while :; do
	new=$(h_pid store)
	st=$(h_status | awk '$1 == "store" { print $3 }')
	[ -n "$new" ] && [ "$new" != "$old" ] && [ "$st" = ready ] && break
	i=$((i + 1))
	[ $i -gt 100 ] && h_fail "store not restarted"
	sleep 0.1
done
H_WORKER_PIDS="$H_WORKER_PIDS $new"
ic=$(sqlite3 "$db" 'PRAGMA integrity_check')
[ "$ic" = ok ] || h_fail "integrity_check: $ic"
echo "ok: restarted after kill -9 ($old -> $new), integrity ok"
kill -TERM "$H_HERMESD"
wait "$H_HERMESD" 2>/dev/null
H_PIDS=""

# A state.db from a newer Hermes: refused, unchanged, store still up.
sqlite3 "$db" 'PRAGMA journal_mode=DELETE; UPDATE schema_version SET version = 99' >/dev/null
sum=$(sha256sum "$db" | cut -d' ' -f1)
h_start -vv
grep -q 'newer than this hermes-store' "$T/hermesd.log" || \
    h_fail "no clear message about the newer schema"
[ "$(sha256sum "$db" | cut -d' ' -f1)" = "$sum" ] || h_fail "state.db changed"
[ "$(sqlite3 "$db" 'SELECT version FROM schema_version')" = 99 ] || \
    h_fail "schema_version rewritten"
echo "ok: newer schema refused with a clear message, file untouched"
exit 0
