#!/bin/sh
# The agent through the whole system: real hermesd, llm-fetch talking to
# fakellm (Anthropic Messages API), store, tool-local, the hermes CLI.
#  1. a multi-step tool-using turn, persisted; cache_control breakpoints
#     (system + last messages) and a byte-stable prefix in what fakellm got;
#  2. the memory nudge: a background review whose memory call lands in
#     USER.md through the store;
#  3. compression at the threshold, the head kept, the model's summary in,
#     the child session linked by parent_session_id;
#  4. kill -9 of the agent mid-turn: the session is intact and the next
#     message continues it.
. "$(dirname "$0")/lib.sh"
h_setup
for b in hermesd hermes hermes-agent hermes-llm-fetch hermes-store \
    hermes-tool-local fakellm; do
	[ -x "$BIN/$b" ] || h_skip "$b not built"
done
command -v python3 >/dev/null || h_skip "python3 needed to read the journal"
command -v sqlite3 >/dev/null || h_skip "sqlite3 needed to read state.db"

echo hello > "$T/work/a.txt"
cat > "$T/script.json" <<'JSON'
{"turns": [
 {"match": "list the files", "text": "Let me look. ",
  "tool_calls": [{"id": "toolu_1", "name": "terminal",
                  "arguments": {"command": "ls"}}],
  "usage": {"input": 900, "output": 12, "cache_write": 800}},
 {"match": "list the files", "text": "There is a.txt.",
  "usage": {"input": 950, "output": 5, "cache_read": 800}},
 {"match": "I prefer tabs", "text": "Noted.",
  "usage": {"input": 100, "output": 2}},
 {"match": "consider saving to memory",
  "tool_calls": [{"id": "toolu_m", "name": "memory",
     "arguments": {"target": "user", "action": "add",
                   "content": "Prefers tabs over spaces"}}]},
 {"match": "consider saving to memory", "text": "Saved."},
 {"match": "build the thing", "tool_calls": [{"id": "b1", "name": "terminal",
   "arguments": {"command": "true"}}]},
 {"match": "build the thing", "tool_calls": [{"id": "b2", "name": "terminal",
   "arguments": {"command": "echo built"}}]},
 {"match": "build the thing", "text": "Built it."},
 {"match": "saving or updating a skill",
  "tool_calls": [{"id": "toolu_s", "name": "skill_manage",
     "arguments": {"action": "create", "name": "build-the-thing",
       "content": "---\nname: build-the-thing\ndescription: How to build the thing\n---\n# Build\n1. run true\n2. echo built\n"}}]},
 {"match": "saving or updating a skill", "text": "Skill saved."},
 {"match": "CONVERSATION EXCERPT TO SUMMARISE",
  "text": "## Goal\nanswer the numbered questions (summarised)"},
 {"match": "question", "echo": true, "text": "answer to: ",
  "text_bytes": 1200, "repeat": true},
 {"match": "slow one", "text": "this takes a while and will be cut",
  "delay_ms": 400},
 {"match": "are you back", "text": "yes, still here"}
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
  provider: anthropic
  default: claude-sonnet-4
  base_url: http://127.0.0.1:$PORT
  context_length: 12000
memory:
  nudge_interval: 0
skills:
  creation_nudge_interval: 0
YAML
printf 'ANTHROPIC_API_KEY=sk-test\n' > "$HERMES_HOME/.env"
chmod 600 "$HERMES_HOME/.env"

journal() {	# python over the journal's request bodies (list `reqs`)
	python3 - "$T/journal.jsonl" "$1" <<'PY'
import json, sys
reqs = []
for line in open(sys.argv[1]):
    r = json.loads(line)
    b = r["body"]
    reqs.append(json.loads(b) if isinstance(b, str) else b)
exec(sys.argv[2])
PY
}

set_nudge() {	# restart hermesd with memory.nudge_interval = $1 (and
		# skills.creation_nudge_interval = $2, default 0)
	sed -i "s/ nudge_interval: .*/ nudge_interval: $1/" "$HERMES_HOME/config.yaml"
	sed -i "s/creation_nudge_interval: .*/creation_nudge_interval: ${2:-0}/" \
	    "$HERMES_HOME/config.yaml"
	if [ -n "${H_HERMESD:-}" ]; then
		kill -TERM "$H_HERMESD"
		for _ in $(seq 50); do kill -0 "$H_HERMESD" 2>/dev/null || break; sleep 0.1; done
	fi
	h_start
}

set_nudge 0

# ---- 1. multi-step tool turn --------------------------------------------
out=$("$BIN/hermes" -Q -z "list the files" 2>&1) || h_fail "turn: $out"
echo "$out" | grep -q "There is a.txt." || h_fail "no final answer: $out"
journal '
assert len(reqs) == 2, len(reqs)
for r in reqs:
    assert any("cache_control" in b for b in r["system"]), "no breakpoint on the system prompt"
    marks = sum(1 for m in r["messages"] for c in (m["content"] if isinstance(m["content"], list) else []) if isinstance(c, dict) and "cache_control" in c)
    assert 1 <= marks <= 3, marks
    assert len(r["tools"]) == 13
assert json.dumps(reqs[0]["tools"]) == json.dumps(reqs[1]["tools"]), "tools array changed"
assert json.dumps(reqs[0]["system"]) == json.dumps(reqs[1]["system"]), "system prompt changed"
res = [c for m in reqs[1]["messages"] for c in (m["content"] if isinstance(m["content"], list) else []) if c.get("type") == "tool_result"]
assert res and "a.txt" in json.dumps(res[0]), res
' || h_fail "what fakellm received is wrong"
sid=$(sqlite3 "$HERMES_HOME/state.db" "select session_id from messages where content = 'list the files' limit 1")
n=$(sqlite3 "$HERMES_HOME/state.db" "select count(*) from messages where session_id='$sid'")
[ "$n" = 4 ] || h_fail "session '$sid' has $n messages, want 4"
echo "ok 1: tool turn persisted ($sid), breakpoints and a stable prefix"

# ---- 2. memory nudge ---------------------------------------------------
set_nudge 1
out=$("$BIN/hermes" -Q -z "I prefer tabs" 2>&1) || h_fail "turn 2: $out"
for _ in $(seq 50); do
	grep -q "Prefers tabs" "$HERMES_HOME/memories/USER.md" 2>/dev/null && break
	sleep 0.1
done
grep -q "Prefers tabs over spaces" "$HERMES_HOME/memories/USER.md" ||
    h_fail "the review's memory write did not reach USER.md"
echo "ok 2: background memory review wrote USER.md"

# ---- 2b. skill nudge -----------------------------------------------------
set_nudge 0 2
out=$("$BIN/hermes" -Q -z "build the thing" 2>&1) || h_fail "turn 2b: $out"
echo "$out" | grep -q "Built it." || h_fail "no answer: $out"
skill=""
for _ in $(seq 50); do
	skill=$(find "$HERMES_HOME/skills" -name SKILL.md -path '*build-the-thing*' 2>/dev/null | head -n 1)
	[ -n "$skill" ] && break
	sleep 0.1
done
[ -n "$skill" ] || h_fail "the review's skill_manage create did not reach skills/"
grep -q "echo built" "$skill" || h_fail "SKILL.md content: $(cat "$skill")"
echo "ok 2b: background skill review created $skill"

# ---- 3. compression -----------------------------------------------------
set_nudge 0
"$BIN/hermes" -Q -z "question 0" >/dev/null 2>&1 || h_fail "question 0"
i=1
while [ $i -le 20 ]; do
	out=$("$BIN/hermes" -Q -c -z "question $i" 2>&1) || h_fail "q$i: $out"
	i=$((i + 1))
	journal 'import sys; sys.exit(0 if any("## Historical Task Snapshot" in json.dumps(r.get("system", "")) for r in reqs) else 1)' && break
done
journal '
summ = [r for r in reqs if "## Historical Task Snapshot" in json.dumps(r.get("system", ""))]
assert summ, "no summariser call"
after = reqs[reqs.index(summ[0]) + 1]
text = json.dumps(after["messages"])
assert "[CONTEXT COMPACTION" in text, "no summary in the next request"
assert "answer the numbered questions (summarised)" in text
first = after["messages"][0]["content"]
first = first if isinstance(first, str) else first[0]["text"]
assert first == "question 0", first
' || h_fail "compression request shape"
lineage=$(sqlite3 "$HERMES_HOME/state.db" "select count(*) from sessions c join sessions p on c.parent_session_id = p.id where p.end_reason = 'compression'")
[ "$lineage" -ge 1 ] || h_fail "no child session linked to a compressed parent"
echo "ok 3: compression at the threshold, lineage recorded"

# ---- 4. kill -9 mid-turn ---------------------------------------------------
"$BIN/hermes" -Q -z "the slow one" > "$T/slow.out" 2>&1 &
cli=$!
sleep 0.3
apid=$(h_pid agent)
[ -n "$apid" ] || h_fail "no agent pid"
kill -KILL "$apid"
wait $cli 2>/dev/null
h_wait_ready 15 || h_fail "the agent was not restarted"
[ "$(h_pid agent)" != "$apid" ] || h_fail "same agent pid after kill"
sid=$(sqlite3 "$HERMES_HOME/state.db" "select session_id from messages where content = 'the slow one' limit 1")
[ -n "$sid" ] || h_fail "the user message of the killed turn was not persisted"
out=$("$BIN/hermes" -Q -r "$sid" -z "are you back?" 2>&1) || h_fail "resume: $out"
echo "$out" | grep -q "yes, still here" || h_fail "no answer after restart: $out"
journal '
last = reqs[-1]
text = json.dumps(last["messages"])
assert "the slow one" in text and "are you back?" in text, text[:400]
' || h_fail "the continued session lost its history"
echo "ok 4: kill -9 mid-turn, session intact, next message continues it"
exit 0
