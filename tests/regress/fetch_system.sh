#!/bin/sh
# Key custody through the whole system (security.md SEC-07): canary keys
# in HERMES_HOME/.env and config.yaml's model.api_key; a real hermesd,
# agent, store, tool runner and llm-fetch; fakellm as the provider, whose
# scripted "model" also asks the tools to print the environment.
# The canaries must appear only in the auth header fakellm received: not
# in any request body (tool results included), HERMES_HOME files other
# than .env and config.yaml, hermesd's log, or any process's environment
# or command line. llm-fetch must be confined, non-dumpable, without
# core files, with its key memory locked.
. "$(dirname "$0")/lib.sh"
for b in hermesd hermes hermes-agent hermes-llm-fetch hermes-store \
    hermes-tool-local fakellm; do
	[ -x "$BIN/$b" ] || h_skip "$b not built"
done
command -v python3 >/dev/null || h_skip "python3 needed to read the journal"
h_setup

C1=sk-canary-env-5d1f0b7e9a3c
C2=sk-canary-env2-77e0a1f4c2b9
C3=sk-canary-inline-c0ffee1234

cat > "$T/script.json" <<'JSON'
{"turns": [
 {"match": "hello", "text": "Hello, keys are safe here."},
 {"match": "show me the environment",
  "tool_calls": [{"id": "call_env", "name": "terminal",
                  "arguments": {"command": "env; cat /proc/self/environ; cat /proc/$PPID/environ"}}]},
 {"match": "show me the environment", "text": "That was the environment."}
]}
JSON
"$BIN/fakellm" -q -p 0 -s "$T/script.json" -j "$T/journal.jsonl" > "$T/port" &
H_PIDS="$H_PIDS $!"
for _ in $(seq 50); do [ -s "$T/port" ] && break; sleep 0.1; done
PORT=$(head -n 1 "$T/port")
[ -n "$PORT" ] || h_fail "fakellm did not start"

cat > "$HERMES_HOME/config.yaml" <<YAML
model:
  provider: custom
  default: fake-model
  base_url: http://127.0.0.1:$PORT/v1
  api_key: $C3
YAML
chmod 600 "$HERMES_HOME/config.yaml"
printf 'OPENAI_API_KEY=%s\nOPENAI_API_KEY_2=%s\n' "$C1" "$C2" > "$HERMES_HOME/.env"
chmod 600 "$HERMES_HOME/.env"
h_start

out=$("$BIN/hermes" -Q -z "hello" 2>&1) || h_fail "turn 1: $out"
echo "$out" | grep -q "keys are safe" || h_fail "turn 1 answer: $out"
out=$("$BIN/hermes" -Q -z "show me the environment" 2>&1) || h_fail "turn 2: $out"
echo "$out" | grep -q "That was the environment" || h_fail "turn 2 answer: $out"

# What fakellm received.
python3 - "$T/journal.jsonl" "$C1" "$C2" "$C3" <<'PY' || h_fail "journal"
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
canaries = sys.argv[2:]
assert len(reqs) >= 3, len(reqs)
auth = 0
for r in reqs:
    for c in canaries:
        assert c not in r["body"], "canary in a request body"
        assert c not in r["path"]
    for k, v in r["headers"].items():
        if any(c in v for c in canaries):
            assert k == "authorization", k
            auth += 1
assert auth == len(reqs), "every request carries the key"
# The inline model.api_key comes first (fill_first).
assert reqs[0]["headers"]["authorization"] == "Bearer " + canaries[2]
# The tool really ran: its output (the environment) went to the model.
tool = [m for r in reqs for m in json.loads(r["body"])["messages"] if m.get("role") == "tool"]
assert tool and "PATH=" in json.dumps(tool), "no tool output in the requests"
print("journal: %d requests, key only in Authorization" % len(reqs))
PY

# No canary in any process's environment or command line.
for f in /proc/[0-9]*/environ /proc/[0-9]*/cmdline; do
	if { tr '\0' '\n' < "$f"; } 2>/dev/null | grep -q -e "$C1" -e "$C2" -e "$C3"; then
		h_fail "canary in $f"
	fi
done

# Nor in HERMES_HOME (other than the two files that hold it) or the log.
if grep -r -l -a -e "$C1" -e "$C2" -e "$C3" "$HERMES_HOME" "$T/hermesd.log" 2>/dev/null |
    grep -v -e "/\.env$" -e "/config\.yaml$" > "$T/leaks"; then
	h_fail "canary in: $(cat "$T/leaks")"
fi

# llm-fetch: locked key memory, no core, confined.
P=$(h_pid llm-fetch)
[ -n "$P" ] || h_fail "no llm-fetch pid"
# (ASan makes mlock a no-op: skip that check in sanitizer builds.)
if ! grep -q -a __asan_init "$BIN/hermes-llm-fetch"; then
	grep -q '^VmLck:[[:space:]]*[1-9]' "/proc/$P/status" ||
	    h_fail "llm-fetch key memory not locked"
fi
grep -q '^Max core file size[[:space:]]*0[[:space:]]' "/proc/$P/limits" || h_fail "llm-fetch may dump core"
if [ "${HERMES_SANDBOX:-}" != off ]; then
	grep -q '^Seccomp:[[:space:]]*2' "/proc/$P/status" || h_fail "llm-fetch not under seccomp"
	grep -q '^NoNewPrivs:[[:space:]]*1' "/proc/$P/status" || h_fail "llm-fetch without no_new_privs"
fi
# Not dumpable: the kernel gives /proc/PID/environ's owner as root and
# refuses ptrace-class access; the status line shows it as well.
if [ "$(id -u)" != 0 ]; then
	cat "/proc/$P/environ" >/dev/null 2>&1 && h_fail "llm-fetch environ readable: dumpable"
fi
echo "PASS fetch_system"
