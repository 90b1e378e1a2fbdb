#!/bin/sh
# Interrupts through the whole system: Ctrl+C in the CLI sends /stop to
# the agent, which cancels the model stream (FETCH_CANCEL) or the running
# command (TOOL_CANCEL); the turn ends cleanly with what was done in
# state.db. Then `hermes sessions list` (forwarded by the agent to the
# store) shows the session.
. "$(dirname "$0")/lib.sh"
h_setup
for b in hermesd hermes hermes-agent hermes-llm-fetch hermes-store \
    hermes-tool-local fakellm; do
	[ -x "$BIN/$b" ] || h_skip "$b not built"
done
command -v sqlite3 >/dev/null || h_skip "sqlite3 needed to read state.db"
cat > "$T/script.json" <<'JSON'
{"turns": [
 {"match": "tell a long story", "text": "Once upon a time", "fault": "endless"},
 {"match": "run the long command",
  "tool_calls": [{"id": "t1", "name": "terminal",
                  "arguments": {"command": "sleep 30"}}]},
 {"match": "run the long command", "text": "should not be reached"}
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
memory:
  nudge_interval: 0
approvals:
  mode: "off"
YAML
h_start

db() { sqlite3 "$HERMES_HOME/state.db" "$1"; }

# ---- mid-stream ---------------------------------------------------------
"$BIN/hermes" -Q -z "tell a long story" > "$T/story.out" 2>&1 &
cli=$!
for _ in $(seq 50); do grep -q "Once" "$T/story.out" 2>/dev/null && break; sleep 0.1; done
kill -INT $cli
for _ in $(seq 50); do kill -0 $cli 2>/dev/null || break; sleep 0.1; done
kill -0 $cli 2>/dev/null && { kill -KILL $cli; h_fail "the CLI did not end after Ctrl+C"; }
sid=$(db "select session_id from messages where content = 'tell a long story'")
[ -n "$sid" ] || h_fail "the user message is not in state.db"
n=$(db "select count(*) from messages where session_id = '$sid' and role = 'assistant' and content like 'Once upon a time%'")
[ "$n" = 1 ] || h_fail "the partial answer was not recorded ($n)"
echo "ok 1: interrupt mid-stream, partial answer recorded"

# ---- mid-tool -------------------------------------------------------------
t0=$(date +%s)
"$BIN/hermes" -Q -z "run the long command" > "$T/cmd.out" 2>&1 &
cli=$!
sid=""
for _ in $(seq 50); do
	sid=$(db "select session_id from messages where role = 'assistant' and tool_calls like '%sleep 30%'" 2>/dev/null)
	[ -n "$sid" ] && break
	sleep 0.1
done
[ -n "$sid" ] || h_fail "the tool call never started"
sleep 0.3
kill -INT $cli
for _ in $(seq 80); do kill -0 $cli 2>/dev/null || break; sleep 0.1; done
kill -0 $cli 2>/dev/null && { kill -KILL $cli; h_fail "the CLI did not end after Ctrl+C"; }
t1=$(date +%s)
[ $((t1 - t0)) -lt 20 ] || h_fail "the command was not cancelled (took $((t1 - t0))s)"
n=$(db "select count(*) from messages where session_id = '$sid' and role = 'tool' and tool_call_id = 't1'")
[ "$n" = 1 ] || h_fail "the interrupted tool result was not recorded"
for p in $(pgrep -x sleep); do
	case "$(readlink "/proc/$p/cwd" 2>/dev/null)" in
	"$T"/*) h_fail "the cancelled command (pid $p) is still running" ;;
	esac
done
grep -q "should not be reached" "$T/cmd.out" && h_fail "the turn went on"
echo "ok 2: interrupt mid-tool, command killed, result recorded"

# ---- sessions through the agent ---------------------------------------------
out=$("$BIN/hermes" sessions list 2>&1) || h_fail "sessions list: $out"
echo "$out" | grep -q "$sid" || h_fail "sessions list lacks $sid: $out"
echo "ok 3: hermes sessions list via the agent"
exit 0
