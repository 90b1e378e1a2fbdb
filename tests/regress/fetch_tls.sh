#!/bin/sh
# llm-fetch over TLS inside its sandbox: the CA bundle is loaded before
# the filter goes on, so an https provider works once confined; the
# certificate is verified (an untrusted one is a network error); plain
# http to a non-loopback host is refused by the configuration.
# A python3 HTTPS server on 127.0.0.1 with a throwaway self-signed
# certificate plays the provider.
set -u
B=${B:-build}
W="$B/hermes-llm-fetch"
CLI="$B/tests/fetchcli"
for f in "$W" "$CLI"; do
	[ -x "$f" ] || { echo "fetch_tls: FAIL: $f not built"; exit 1; }
done
command -v openssl >/dev/null || { echo "fetch_tls: SKIP: no openssl CLI"; exit 77; }
command -v python3 >/dev/null || { echo "fetch_tls: SKIP: no python3"; exit 77; }

T=$(mktemp -d /tmp/fetch-tls.XXXXXX) || exit 1
SPID=
cleanup() {
	[ -n "$SPID" ] && kill "$SPID" 2>/dev/null && wait "$SPID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT INT TERM
fail() { echo "fetch_tls: FAIL: $*"; exit 1; }

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/key.pem" \
    -out "$T/cert.pem" -days 1 -subj /CN=127.0.0.1 \
    -addext "subjectAltName=IP:127.0.0.1" >/dev/null 2>&1 ||
    fail "cannot make a test certificate"

cat > "$T/srv.py" <<'EOF'
import http.server, json, ssl, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0))
        req = json.loads(self.rfile.read(n))
        assert req["stream"] is True
        chunks = [{"choices": [{"index": 0, "delta": {"content": "secure "}}]},
                  {"choices": [{"index": 0, "delta": {"content": "hello"},
                                "finish_reason": "stop"}]}]
        b = ("".join("data: %s\n\n" % json.dumps(c) for c in chunks) +
             "data: [DONE]\n\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
s.socket = ctx.wrap_socket(s.socket, server_side=True)
print(s.server_address[1], flush=True)
s.serve_forever()
EOF
python3 "$T/srv.py" "$T/cert.pem" "$T/key.pem" > "$T/port" 2> "$T/srv.log" &
SPID=$!
for _ in $(seq 50); do [ -s "$T/port" ] && break; sleep 0.1; done
PORT=$(head -n 1 "$T/port")
[ -n "$PORT" ] || fail "the HTTPS server did not start: $(cat "$T/srv.log")"

echo '{"messages":[{"role":"user","content":"hi"}]}' > "$T/req.json"

# 1. Trusted (ca_file): the answer arrives, through the sandbox.
cat > "$T/c1.json" <<EOF
{"model": {"provider": "custom", "default": "m",
           "base_url": "https://127.0.0.1:$PORT/v1"},
 "agent": {"api_max_retries": 0}, "fetch": {"ca_file": "$T/cert.pem"}}
EOF
"$CLI" -w "$W" -c "$T/c1.json" "$T/req.json" > "$T/o1" 2>&1 ||
    fail "trusted TLS: $(cat "$T/o1")"
grep -q '"text":"secure hello"' "$T/o1" || fail "trusted TLS text: $(cat "$T/o1")"
echo "fetch_tls: ok https with a configured CA (sandbox ${HERMES_SANDBOX:-on})"

# 2. The system bundle does not trust it: a network error, no answer.
cat > "$T/c2.json" <<EOF
{"model": {"provider": "custom", "default": "m",
           "base_url": "https://127.0.0.1:$PORT/v1"},
 "agent": {"api_max_retries": 0}}
EOF
"$CLI" -w "$W" -c "$T/c2.json" "$T/req.json" > "$T/o2" 2>&1 &&
    fail "an untrusted certificate was accepted: $(cat "$T/o2")"
grep -q '"error_class":"network"' "$T/o2" || fail "untrusted: $(cat "$T/o2")"
grep -q 'secure hello' "$T/o2" && fail "text from an untrusted server"
echo "fetch_tls: ok untrusted certificate refused"

# 3. Plain http to a non-loopback host is not configured at all.
cat > "$T/c3.json" <<EOF
{"model": {"provider": "custom", "default": "m",
           "base_url": "http://llm.example.invalid/v1"}}
EOF
"$CLI" -w "$W" -c "$T/c3.json" "$T/req.json" > "$T/o3" 2>&1 &&
    fail "plain http to a remote host was used: $(cat "$T/o3")"
grep -q '"error_class":"bad_request"' "$T/o3" || fail "http remote: $(cat "$T/o3")"
echo "fetch_tls: ok plain http to a remote host refused"
echo "fetch_tls: 3 passed, 0 failed"
