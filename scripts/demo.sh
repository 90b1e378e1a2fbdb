#!/bin/sh
# make demo: an offline walkthrough of hermes-c. A temporary HERMES_HOME,
# tests/fakellm as the model (scripted by scripts/demo/demo.json) on
# 127.0.0.1, hermesd started on demand by hermes, then: a turn using the
# terminal and file tools in the sandbox, a memory written, a skill
# created, a past session found by search, hermes status and hermes
# doctor. Every step says what happens and fails loudly.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
B=${B:-build}
case "$B" in /*) BIN=$B ;; *) BIN=$TOP/$B ;; esac
H=$BIN/hermes
FAKELLM_PID=""
DAEMON_PID=""

if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
	BOLD=$(printf '\033[1m'); RED=$(printf '\033[31m'); OFF=$(printf '\033[0m')
else
	BOLD=""; RED=""; OFF=""
fi
step() { printf '\n%s==> %s%s\n' "$BOLD" "$*" "$OFF"; }
say() { printf '    %s\n' "$*"; }
die() {
	printf '\n%sDEMO FAILED: %s%s\n' "$RED" "$*" "$OFF" >&2
	[ -f "${T:-/nonexistent}/hermesd.log" ] && tail -n 20 "$T/hermesd.log" >&2
	exit 1
}
cleanup() {
	if [ -n "$DAEMON_PID" ]; then
		"$H" stop >/dev/null 2>&1 || kill "$DAEMON_PID" 2>/dev/null
	fi
	[ -n "$FAKELLM_PID" ] && kill "$FAKELLM_PID" 2>/dev/null
	[ -n "${T:-}" ] && [ -z "${KEEP_DEMO:-}" ] && rm -rf "$T"
	return 0
}

for b in hermes hermesd hermes-agent hermes-llm-fetch hermes-store \
    hermes-tool-local fakellm; do
	[ -x "$BIN/$b" ] || die "$BIN/$b is not built (make)"
done

T=$(mktemp -d "${TMPDIR:-/tmp}/hermes-demo.XXXXXX") || die "mktemp"
trap cleanup EXIT
trap 'exit 130' INT TERM
chmod 700 "$T"
mkdir -m 700 "$T/home" "$T/run" "$T/work"
export HERMES_HOME="$T/home"
export HERMES_SOCKET="$T/run/hermesd.sock"
export HERMES_WORKSPACE="$T/work"
unset HERMES_LIBEXEC OPENAI_BASE_URL

step "Setting up: a fake model provider and a fresh HERMES_HOME"
"$BIN/fakellm" -q -p 0 -s "$TOP/scripts/demo/demo.json" \
    -j "$T/fakellm.journal" >"$T/fakellm.port" &
FAKELLM_PID=$!
for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
	[ -s "$T/fakellm.port" ] && break
	sleep 0.05
done
PORT=$(head -n 1 "$T/fakellm.port")
[ -n "$PORT" ] || die "fakellm did not start"
say "fakellm (tests/fakellm, scripted) listens on 127.0.0.1:$PORT, pid $FAKELLM_PID"
"$H" model custom demo-model --base-url "http://127.0.0.1:$PORT/v1" >/dev/null ||
    die "hermes model could not write config.yaml"
"$H" config set approvals.mode manual >/dev/null || die "hermes config set"
say "HERMES_HOME=$HERMES_HOME; config.yaml written by 'hermes model' and 'hermes config set':"
sed 's/^/      /' "$HERMES_HOME/config.yaml"
say "the sandboxed tools work in $HERMES_WORKSPACE"

# One turn, with a fresh session each time (-z); the tool lines go to
# stderr, shown here inline.
turn() {
	say "you> $1"
	"$H" -z "$1" >"$T/answer" 2>"$T/info"
	rc=$?
	sed 's/^/      /' "$T/info"
	sed 's/^/    hermes> /' "$T/answer"
	[ $rc = 0 ] || die "hermes -z exited $rc"
}

step "1. A turn with the terminal and file tools, inside the sandbox"
say "hermes finds no hermesd on $HERMES_SOCKET and starts one (like tmux)."
turn "DEMO-1 look around, then keep a notes file and read it back"
DAEMON_PID=$("$H" status 2>/dev/null | sed -n 's/^hermesd pid \([0-9]*\),.*/\1/p')
[ -n "$DAEMON_PID" ] || die "hermesd is not running after the first turn"
say "hermesd runs as pid $DAEMON_PID; the commands ran in hermes-tool-local's sandbox."
grep -q 'terminal' "$T/info" || die "no terminal tool line"
grep -q 'write_file' "$T/info" || die "no write_file tool line"
[ -f "$HERMES_WORKSPACE/notes.md" ] || die "notes.md was not written"
say "the workspace now holds notes.md: $(cat "$HERMES_WORKSPACE/notes.md")"
grep -q 'round-trips' "$T/answer" || die "unexpected answer"

step "2. The agent writes a memory (memories/USER.md)"
turn "DEMO-2 by the way, I like green tea"
grep -q 'memory' "$T/info" || die "no memory tool call"
[ -f "$HERMES_HOME/memories/USER.md" ] || die "USER.md was not written"
grep -q 'green tea' "$HERMES_HOME/memories/USER.md" || die "the memory is not in USER.md"
grep -q 'Noted' "$T/answer" || die "unexpected answer"
say "$HERMES_HOME/memories/USER.md now says:"
sed 's/^/      /' "$HERMES_HOME/memories/USER.md"

step "3. The agent creates a skill (skills/tea-brewing/SKILL.md)"
turn "DEMO-3 save how to brew green tea as a skill"
grep -q 'skill_manage' "$T/info" || die "no skill_manage tool call"
grep -q 'Saved the procedure' "$T/answer" || die "unexpected answer"
"$H" skills list >"$T/skills" || die "hermes skills list failed"
grep -q '^tea-brewing' "$T/skills" || die "tea-brewing is not listed"
say "hermes skills list:"
sed 's/^/      /' "$T/skills"
say "in chat it is now a slash command: /tea-brewing"

step "4. A new session finds the past one by search (session_search, FTS5)"
turn "DEMO-4 what did I tell you about tea before?"
grep -q 'session_search' "$T/info" || die "no session_search tool call"
grep -q 'Found it' "$T/answer" || die "the search found nothing"
say "hermes sessions list:"
"$H" sessions list >"$T/sessions" 2>&1 || die "hermes sessions list failed"
sed 's/^/      /' "$T/sessions"
[ "$(grep -c . "$T/sessions")" -ge 4 ] || die "fewer than 4 sessions listed"

step "5. hermes status: hermesd's worker table"
"$H" status || die "hermes status failed"

step "6. hermes doctor: local checks and what the kernel enforces per role"
"$H" doctor
rc=$?
[ $rc = 0 ] || say "(doctor reported problems: exit $rc; see above)"

step "7. Done: hermes stop shuts hermesd down"
"$H" stop || die "hermes stop failed"
DAEMON_PID=""
say "the demo's temporary HERMES_HOME ($T) is removed on exit (KEEP_DEMO=1 keeps it)."
printf '\n%sDEMO OK%s\n' "$BOLD" "$OFF"
