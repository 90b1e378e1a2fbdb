#!/bin/sh
# SOUL.md in HERMES_HOME is the agent's identity: it reaches the system
# prompt the provider receives (through the store's soul.get).
. "$(dirname "$0")/lib.sh"
h_setup
echo '{"turns":[{"text":"ok","repeat":true}]}' > "$T/s.json"
"$BIN/fakellm" -q -s "$T/s.json" -j "$T/journal" > "$T/port" &
H_PIDS="$H_PIDS $!"
for _ in $(seq 50); do [ -s "$T/port" ] && break; sleep 0.05; done
port=$(head -1 "$T/port")
printf 'model:\n  provider: custom\n  base_url: http://127.0.0.1:%s/v1\n  default: m\n' \
    "$port" > "$HERMES_HOME/config.yaml"
echo "You are Zorblax, keeper of the lighthouse." > "$HERMES_HOME/SOUL.md"
h_start
out=$("$BIN/hermes" -z "who are you") || h_fail "hermes -z: $out"
grep -q 'Zorblax, keeper of the lighthouse' "$T/journal" || \
    h_fail "SOUL.md not in the request the provider got"
echo "ok: SOUL.md reached the system prompt"
exit 0
