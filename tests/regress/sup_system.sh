#!/bin/sh
# System mode: one hermesd serves two tenants (root and uid 65534), each
# with its own HERMES_HOME and its own set of workers running as its uid;
# a client sees its own tenant only; a uid that is no tenant is refused.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || h_skip "system mode needs root"
command -v setpriv >/dev/null || h_skip "setpriv missing"
setpriv --reuid=65534 --regid=65534 --clear-groups true 2>/dev/null ||
    h_skip "uid 65534 cannot run programs here (is / mode 0700?)"
h_setup
# Other uids must be able to run the workers and the client wherever the
# tree is (a private build dir): copies, not symlinks.
mkdir -p "$T/libexec" "$T/bin"
for b in hermes-agent hermes-llm-fetch hermes-store hermes-tool-local; do
	cp "$BIN/tests/testworker" "$T/libexec/$b"
done
cp "$BIN/tests/sockclient" "$T/bin/sockclient"
export HERMES_LIBEXEC="$T/libexec"
chmod 755 "$T" "$T/libexec" "$T/bin"
mkdir -p "$T/alice" "$T/nobody"
chown 65534:65534 "$T/nobody"
chmod 700 "$T/nobody"
cat > "$T/system.yaml" <<EOC
tenants:
  alice:
    uid: 0
    home: $T/alice
  nobody:
    uid: 65534
    home: $T/nobody
EOC
export HERMES_SYSTEM_CONFIG="$T/system.yaml"
"$BIN/hermesd" -d -s >>"$T/hermesd.log" 2>&1 &
H_HERMESD=$!
H_PIDS="$H_HERMESD"
h_wait_ready 15 || h_fail "root's tenant not ready"
chmod 755 "$T/run"
out=$(h_status)
echo "$out" | grep -q '^agent ' || h_fail "no agent for root: $out"
NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups"
i=0
while :; do
	nout=$($NOBODY "$T/bin/sockclient" "$HERMES_SOCKET" status 2>&1)
	[ -z "$(echo "$nout" | awk '$3 != "ready"')" ] && [ -n "$nout" ] && break
	i=$((i + 1))
	[ $i -gt 100 ] && h_fail "nobody's tenant: $nout"
	sleep 0.1
done
ra=$(echo "$out" | awk '$1 == "agent" { print $2 }')
na=$(echo "$nout" | awk '$1 == "agent" { print $2 }')
[ -n "$na" ] && [ "$na" != "$ra" ] || h_fail "tenants share an agent"
H_WORKER_PIDS="$H_WORKER_PIDS $(echo "$nout" | awk '{print $2}')"
owner=$(stat -c %u "/proc/$na")
[ "$owner" = 65534 ] || h_fail "nobody's agent runs as uid $owner"
owner=$(stat -c %u "/proc/$ra")
[ "$owner" = 0 ] || h_fail "root's agent runs as uid $owner"
echo "ok: two tenants, separate workers (agent $ra as 0, $na as 65534)"
# A uid that is no tenant.
out=$(setpriv --reuid=65533 --regid=65533 --clear-groups \
    "$T/bin/sockclient" "$HERMES_SOCKET" status 2>&1) && \
    h_fail "uid 65533 was served"
echo "$out" | grep -q 'does not serve' || h_fail "uid 65533: $out"
echo "ok: a uid that is no tenant is refused"
exit 0
