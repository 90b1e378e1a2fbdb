#!/bin/sh
# config.yaml and .env through the real hermesd: `hermesd -n` accepts good
# files and refuses bad ones with FILE:LINE:COL, refuses secrets others can
# read (saying how to fix it) and symlinked .env files; SIGHUP with a
# broken config.yaml keeps the old one and the supervisor alive.
. "$(dirname "$0")/lib.sh"

[ -x "$BIN/hermesd" ] || h_skip "no $BIN/hermesd"
h_setup
FIX=$TOP/tests/fixtures/config
CFG=$HERMES_HOME/config.yaml
ENV=$HERMES_HOME/.env

# check EXPECTED_STATUS PATTERN: run hermesd -n, match its output
check() {
	out=$("$BIN/hermesd" -n 2>&1)
	rc=$?
	[ "$rc" = "$1" ] || h_fail "hermesd -n: status $rc, want $1: $out"
	printf '%s\n' "$out" | grep -F -q -- "$2" ||
	    h_fail "hermesd -n: want \"$2\" in: $out"
}

# No files: the defaults.
check 0 "(absent: defaults)"
check 0 "terminal local, approvals smart"

# A Hermes-style file with unknown keys and YAML 1.1 spellings.
cp "$FIX/hermes_full.yaml" "$CFG"
check 0 "model anthropic/claude-sonnet-4.5, provider openrouter"
check 0 "terminal ssh, approvals off, sandbox.require true"

# Malformed YAML and wrong types: file, line, column.
cp "$FIX/malformed.yaml" "$CFG"
check 1 "$CFG:4:1: found unexpected end of stream while scanning a quoted scalar"
printf 'terminal:\n  timeout: "soon"\n' >"$CFG"
check 1 "$CFG:2:12: terminal.timeout: expected an integer, got a string"
printf 'approvals:\n  mode: auto\n' >"$CFG"
check 1 "$CFG:2:9: approvals.mode: \"auto\" is not one of: manual, smart, off"
printf 'a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n' >"$CFG"
check 1 "more than 100000 values (aliases expanded); refusing"
rm -f "$CFG"

# .env: readable by others is refused with the fix, 0600 is fine.
cp "$FIX/full.env" "$ENV"
chmod 644 "$ENV"
check 1 "$ENV: holds secrets but is accessible by group or others (mode 0644); fix: chmod 600 $ENV"
chmod 600 "$ENV"
check 0 ".env: 8 entries"
printf 'GOOD=1\nexport BAD LINE\n' >"$ENV"
check 1 "$ENV:2:12: expected '=' after BAD"

# A symlinked .env is refused even when its target is private.
cp "$FIX/full.env" "$T/real.env"
chmod 600 "$T/real.env"
rm -f "$ENV"
ln -s "$T/real.env" "$ENV"
check 1 "is a symbolic link, which is refused"
rm -f "$ENV"

# An api_key in config.yaml makes it a secrets file too.
printf 'model:\n  default: m\n  api_key: sk-test\n' >"$CFG"
chmod 644 "$CFG"
check 1 "fix: chmod 600 $CFG"
chmod 600 "$CFG"
check 0 "model m"

# SIGHUP with a broken file: the old configuration stays, hermesd lives.
if [ -x "$BIN/tests/testworker" ] && [ -x "$BIN/tests/sockclient" ]; then
	printf 'model: before\n' >"$CFG"
	h_use_testworkers
	h_start
	printf 'model: [broken\n' >"$CFG"
	kill -HUP "$H_HERMESD"
	i=0
	while ! grep -q "keeping the old configuration" "$T/hermesd.log"; do
		i=$((i + 1))
		[ $i -lt 50 ] || h_fail "no reload error in the log"
		sleep 0.1
	done
	grep -F -q "$CFG:2:1:" "$T/hermesd.log" ||
	    h_fail "reload error without a position"
	kill -0 "$H_HERMESD" || h_fail "hermesd died on a bad reload"
	h_wait_ready 5 || h_fail "workers not ready after a bad reload"
else
	echo "no test workers built: SIGHUP part skipped"
fi
echo "PASS config_check"
exit 0
