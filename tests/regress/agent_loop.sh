#!/bin/sh
# The turn loop's limits through the whole system (hermesd, llm-fetch +
# fakellm, store, tool-local, the CLI):
#  1. a parallel read-only batch: three read_file calls in one reply, the
#     results back in call order;
#  2. the loop guard: the same failing call three times ends with a call
#     without tools that asks the model to explain;
#  3. the iteration budget (agent.max_turns) ends with the grace call.
. "$(dirname "$0")/lib.sh"
h_setup
for b in hermesd hermes hermes-agent hermes-llm-fetch hermes-store \
    hermes-tool-local fakellm; do
	[ -x "$BIN/$b" ] || h_skip "$b not built"
done
command -v python3 >/dev/null || h_skip "python3 needed to read the journal"
for f in a b c; do echo "content of $f" > "$T/work/$f.txt"; done
cat > "$T/script.json" <<'JSON'
{"turns": [
 {"match": "read three", "tool_calls": [
   {"id": "r1", "name": "read_file", "arguments": {"path": "a.txt"}},
   {"id": "r2", "name": "read_file", "arguments": {"path": "b.txt"}},
   {"id": "r3", "name": "read_file", "arguments": {"path": "c.txt"}}]},
 {"match": "read three", "text": "read them all"},
 {"match": "missing file", "text": "trying again",
  "tool_calls": [{"id": "m", "name": "read_file",
                  "arguments": {"path": "nope/missing.txt"}}],
  "repeat": true},
 {"match": "keep reading", "text": "still reading",
  "tool_calls": [{"id": "k", "name": "read_file",
                  "arguments": {"path": "a.txt"}}],
  "repeat": true}
]}
JSON
"$BIN/fakellm" -p 0 -s "$T/script.json" -j "$T/journal.jsonl" > "$T/port" \
    2>"$T/fakellm.log" &
H_PIDS="$H_PIDS $!"
for _ in $(seq 50); do [ -s "$T/port" ] && break; sleep 0.1; done
PORT=$(head -n 1 "$T/port")
[ -n "$PORT" ] || h_fail "fakellm did not start"
cat > "$HERMES_HOME/config.yaml" <<YAML
model:
  provider: custom
  default: fake-model
  base_url: http://127.0.0.1:$PORT/v1
agent:
  max_turns: 4
memory:
  nudge_interval: 0
skills:
  creation_nudge_interval: 0
YAML
h_start

journal() {
	python3 - "$T/journal.jsonl" "$1" <<'PY'
import json, sys
reqs = []
for line in open(sys.argv[1]):
    r = json.loads(line)
    b = r["body"]
    reqs.append(json.loads(b) if isinstance(b, str) else b)
def last_user(r):
    u = [m for m in r["messages"] if m["role"] == "user"]
    c = u[-1]["content"]
    return c if isinstance(c, str) else json.dumps(c)
exec(sys.argv[2])
PY
}

out=$("$BIN/hermes" -Q -z "read three files" 2>&1) || h_fail "batch: $out"
echo "$out" | grep -q "read them all" || h_fail "batch answer: $out"
journal '
r = reqs[-1]
tools = [m for m in r["messages"] if m["role"] == "tool"]
assert [m["tool_call_id"] for m in tools] == ["r1", "r2", "r3"], tools
for m, f in zip(tools, "abc"):
    assert ("content of " + f) in m["content"], m["content"]
' || h_fail "batch results"
echo "ok 1: read-only batch, results in call order"

: > "$T/journal.jsonl"
out=$("$BIN/hermes" -Q -z "read the missing file" 2>&1) || true
journal '
assert len(reqs) == 4, len(reqs)
assert all("tools" in r for r in reqs[:3])
assert "tools" not in reqs[3], "the guard call still offers tools"
assert "failed 3 times in a row" in last_user(reqs[3]), last_user(reqs[3])
' || h_fail "loop guard"
echo "ok 2: loop guard after 3 identical failing calls"

: > "$T/journal.jsonl"
out=$("$BIN/hermes" -Q -z "keep reading forever" 2>&1) || true
echo "$out" | grep -q "still reading" || h_fail "no grace answer: $out"
journal '
assert len(reqs) == 5, len(reqs)
assert all("tools" in r for r in reqs[:4])
assert "tools" not in reqs[4], "the grace call still offers tools"
assert "maximum number of tool-calling iterations" in last_user(reqs[4])
' || h_fail "budget"
echo "ok 3: iteration budget (agent.max_turns 4) and the grace call"
exit 0
