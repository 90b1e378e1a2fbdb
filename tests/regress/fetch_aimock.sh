#!/bin/sh
# The independent check of llm-fetch: run it against @copilotkit/aimock
# (a fake OpenAI/Anthropic provider written by others) in OpenAI and
# Anthropic modes, streamed and not, with text and tool calls, and check
# that the text and tool calls llm-fetch reports are what aimock served.
#
# aimock is installed with npm into a scratch folder outside the tree
# (${XDG_CACHE_HOME:-$HOME/.cache}/hermes-test-peers) and runs on
# 127.0.0.1 only. Skips (77) only when npm itself is not there.
set -u

B=${B:-build}
PEERS=${XDG_CACHE_HOME:-$HOME/.cache}/hermes-test-peers
AIMOCK_VERSION=1.43
W="$B/hermes-llm-fetch"
CLI="$B/tests/fetchcli"

if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
	echo "fetch_aimock: SKIP: npm/node not installed (needed for @copilotkit/aimock)"
	exit 77
fi
for f in "$W" "$CLI"; do
	[ -x "$f" ] || { echo "fetch_aimock: FAIL: $f not built"; exit 1; }
done

AIMOCK="$PEERS/node_modules/@copilotkit/aimock/dist/cli.js"
if [ ! -f "$AIMOCK" ]; then
	mkdir -p "$PEERS" || exit 1
	echo "fetch_aimock: installing @copilotkit/aimock@$AIMOCK_VERSION into $PEERS"
	(cd "$PEERS" && npm install --no-audit --no-fund --loglevel=error \
	    "@copilotkit/aimock@~$AIMOCK_VERSION") >/dev/null || {
		echo "fetch_aimock: FAIL: npm install @copilotkit/aimock failed"
		exit 1
	}
fi

T=$(mktemp -d /tmp/fetch-aimock.XXXXXX) || exit 1
AMPID=
cleanup() {
	[ -n "$AMPID" ] && kill "$AMPID" 2>/dev/null && wait "$AMPID" 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT INT TERM

# What aimock serves.
TEXT='Hello from aimock: ünïcode, \"quotes\", a\ttab and a\nnewline.'
mkdir -p "$T/fx"
cat > "$T/fx/fixtures.json" <<EOF
{"fixtures": [
  {"match": {"userMessage": "say hello"},
   "response": {"content": "$TEXT"}},
  {"match": {"userMessage": "weather please"},
   "response": {"toolCalls": [
     {"name": "get_weather", "arguments": {"city": "Paris", "days": 3, "units": {"t": "C"}}},
     {"name": "get_time", "arguments": {"tz": "Europe/Paris"}}]}},
  {"match": {"userMessage": "both please"},
   "response": {"content": "Checking.", "toolCalls": [
     {"name": "read_file", "arguments": {"path": "/tmp/x y.txt"}}]}}
]}
EOF

# A free loopback port, then aimock on it.
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
node "$AIMOCK" -p "$PORT" -h 127.0.0.1 -f "$T/fx" > "$T/aimock.log" 2>&1 &
AMPID=$!
i=0
until curl -sf "http://127.0.0.1:$PORT/health" >/dev/null 2>&1; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 "$AMPID" 2>/dev/null; then
		echo "fetch_aimock: FAIL: aimock did not start"; cat "$T/aimock.log"
		exit 1
	fi
	sleep 0.1
done

if grep -q 'Loaded 0 fixture' "$T/aimock.log"; then
	echo "fetch_aimock: FAIL: aimock loaded no fixtures"; cat "$T/aimock.log"
	exit 1
fi

cat > "$T/config.json" <<EOF
{"model": {"provider": "custom", "default": "gpt-aimock",
           "base_url": "http://127.0.0.1:$PORT/v1"},
 "fallback_providers": [{"provider": "anthropic", "model": "claude-aimock",
           "base_url": "http://127.0.0.1:$PORT"}],
 "agent": {"api_max_retries": 0}}
EOF

pass=0
fail=0
TOOLS='[{"name":"get_weather","description":"w","parameters":{"type":"object","properties":{"city":{"type":"string"}}}},{"name":"get_time","description":"t","parameters":{"type":"object","properties":{}}},{"name":"read_file","description":"r","parameters":{"type":"object","properties":{"path":{"type":"string"}}}}]'

# check NAME PROVIDER STREAM PROMPT: run llm-fetch and compare what it
# reports with the fixture aimock served for that prompt.
check() {
	name=$1 prov=$2 stream=$3 prompt=$4
	printf '{"provider":"%s","stream":%s,"messages":[{"role":"user","content":"%s"}],"tools":%s}\n' \
	    "$prov" "$stream" "$prompt" "$TOOLS" > "$T/req.json"
	if ! "$CLI" -w "$W" -c "$T/config.json" "$T/req.json" > "$T/$name.out" 2> "$T/$name.err"; then
		echo "fetch_aimock: FAIL $name: llm-fetch reported an error"
		cat "$T/$name.out" "$T/$name.err"
		fail=$((fail + 1))
		return
	fi
	if python3 - "$T/fx/fixtures.json" "$prompt" "$T/$name.out" <<'PY'
import json, sys
fx = json.load(open(sys.argv[1]))["fixtures"]
want = next(f["response"] for f in fx if f["match"]["userMessage"] == sys.argv[2])
text, calls, kinds = "", [], []
for line in open(sys.argv[3]):
    e = json.loads(line)
    kinds.append(e["kind"])
    if e["kind"] == "text":
        text += e["text"]
    elif e["kind"] == "tool_call":
        calls.append((e["name"], json.loads(e["arguments"]), e["call_id"]))
ok = True
if text != want.get("content", ""):
    print("text: got %r want %r" % (text, want.get("content", ""))); ok = False
wc = [(c["name"], c["arguments"]) for c in want.get("toolCalls", [])]
if [(n, a) for n, a, _ in calls] != wc:
    print("tool calls: got %r want %r" % (calls, wc)); ok = False
if any(not i for _, _, i in calls) or len(set(i for _, _, i in calls)) != len(calls):
    print("tool call ids missing or repeated: %r" % calls); ok = False
if kinds[-1] != "done":
    print("last event %s" % kinds[-1]); ok = False
sys.exit(0 if ok else 1)
PY
	then
		echo "fetch_aimock: ok $name"
		pass=$((pass + 1))
	else
		echo "fetch_aimock: FAIL $name"
		cat "$T/$name.out"
		fail=$((fail + 1))
	fi
}

for prov in custom anthropic; do
	for stream in true false; do
		check "$prov-stream_$stream-text" $prov $stream "say hello"
		check "$prov-stream_$stream-tools" $prov $stream "weather please"
		check "$prov-stream_$stream-both" $prov $stream "both please"
	done
done

# aimock saw every request on the endpoint of its API shape.
if curl -sf "http://127.0.0.1:$PORT/__aimock/journal" > "$T/journal.json"; then
	if python3 - "$T/journal.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
entries = j if isinstance(j, list) else j.get("entries", j.get("journal", []))
paths = [e.get("path") or e.get("url") or "" for e in entries]
oa = sum(1 for p in paths if "chat/completions" in p)
an = sum(1 for p in paths if p.endswith("/v1/messages"))
print("aimock journal: %d OpenAI, %d Anthropic requests" % (oa, an))
sys.exit(0 if oa == 6 and an == 6 else 1)
PY
	then pass=$((pass + 1)); else fail=$((fail + 1)); echo "fetch_aimock: FAIL journal"; fi
fi

echo "fetch_aimock: $pass passed, $fail failed"
[ $fail -eq 0 ]
