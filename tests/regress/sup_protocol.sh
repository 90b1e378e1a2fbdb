#!/bin/sh
# hermesd's control socket under abuse: garbage, truncated, oversized,
# version-mismatched and out-of-place frames, a msgpack allocation bomb, a
# silent client, 1,000 connect/disconnect cycles, a client of another uid.
# Each bad client is dropped with an error; the supervisor stays alive and
# its fd count returns to baseline.
. "$(dirname "$0")/lib.sh"
h_setup
h_use_testworkers
h_start
sup=$H_HERMESD
SC="$BIN/tests/sockclient"
base=$(h_fds "$sup")

for bad in garbage truncated oversize badversion badtype bomb nohello; do
	out=$("$SC" "$HERMES_SOCKET" $bad) || h_fail "$bad: $out"
	kill -0 "$sup" || h_fail "supervisor died on $bad"
	echo "ok: $bad -> $out"
done
"$SC" "$HERMES_SOCKET" badversion | grep -q 'version mismatch' || \
    h_fail "version mismatch not named in the error"

"$SC" "$HERMES_SOCKET" cycles 1000 >/dev/null || h_fail "1000 cycles"
sleep 0.3
now=$(h_fds "$sup")
[ "$now" = "$base" ] || h_fail "fds $base -> $now after 1000 cycles"
echo "ok: 1000 connect/disconnect cycles, fds $base -> $now"

# Another uid: refused by the socket's mode, and by SO_PEERCRED when the
# mode lets it through.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups"
	$NOBODY "$SC" "$HERMES_SOCKET" status >/dev/null 2>&1 && \
	    h_fail "uid 65534 got a status through a 0600 socket"
	chmod 755 "$T" "$T/run"
	chmod 666 "$HERMES_SOCKET"
	out=$($NOBODY "$SC" "$HERMES_SOCKET" status 2>&1) && \
	    h_fail "uid 65534 got a status: $out"
	echo "$out" | grep -q 'does not serve your uid' || \
	    h_fail "uid 65534: $out"
	chmod 600 "$HERMES_SOCKET"
	chmod 700 "$T/run" "$T"
	echo "ok: another uid refused (mode and SO_PEERCRED)"
else
	echo "note: not root: the other-uid check needs setpriv as root"
fi
kill -0 "$sup" || h_fail "supervisor died"
now=$(h_fds "$sup")
[ "$now" = "$base" ] || h_fail "fds $base -> $now at the end"
exit 0
