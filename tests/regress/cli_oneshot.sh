#!/bin/sh
# hermes without a terminal: one-shot mode (-z, chat -q) and its exit
# codes, plain output (no escape codes), piped chat, the subcommands that
# talk to hermesd (status, doctor, sessions, stop), start on demand, a
# refused protocol version, and config get/set keeping unknown keys.
. "$(dirname "$0")/cli_lib.inc"
cli_start_fake
H=$HERMES_CLI
ESC=$(printf '\033')

expect() {	# expect CODE CMD...: run, check the exit status
	local want=$1 got
	shift
	"$@" >"$T/out" 2>"$T/err"
	got=$?
	[ "$got" = "$want" ] || { cat "$T/out" "$T/err" >&2;
	    h_fail "'$*' exited $got, want $want"; }
}

# --version is instant and never touches the daemon.
HERMES_SOCKET=/nonexistent/sock expect 0 $H --version
grep -q '^hermes [0-9.]* (protocol [0-9]*)$' "$T/out" || h_fail "--version: $(cat "$T/out")"
expect 0 $H --help
grep -q '3 hermesd unreachable' "$T/out" || h_fail "--help lacks the exit codes"
expect 2 $H --bogus
expect 2 $H -z
expect 2 $H frobnicate

# One-shot: the answer on stdout, exit 0; failures say why on stderr.
expect 0 $H -z "hello one shot"
[ "$(cat "$T/out")" = "echo: hello one shot" ] || h_fail "answer: $(cat "$T/out")"
expect 0 $H chat -q "hello chat q"
[ "$(cat "$T/out")" = "echo: hello chat q" ] || h_fail "chat -q: $(cat "$T/out")"
expect 4 $H -z "provider failure"
grep -q '^provider error (auth): 401 invalid API key' "$T/err" || h_fail "provider error: $(cat "$T/err")"
expect 7 $H -z "sandbox kill"
grep -q '^sandbox: tool-local was killed by seccomp' "$T/err" || h_fail "sandbox error: $(cat "$T/err")"
expect 6 $H -r nosuch -z "hi"
grep -q "no session matches 'nosuch'" "$T/err" || h_fail "resume: $(cat "$T/err")"
expect 0 $H -r fake-7 -z "resumed"
expect 0 $H -c -z "continued"

# Plain output: no escape codes anywhere, model escapes defused, tool
# lines and notices on stderr so stdout is only the answer.
expect 0 $H -z "tools please"
[ "$(cat "$T/out")" = "done" ] || h_fail "tools stdout: $(cat "$T/out")"
grep -q '^  \[terminal\] ls -la  (12ms) ok: exit 0$' "$T/err" || h_fail "tool line: $(cat "$T/err")"
expect 0 $H -z "escape"
grep -q "$ESC" "$T/out" "$T/err" && h_fail "escape codes in plain output"
grep -q 'safe?\[2J?\]0;pwned?text' "$T/out" || h_fail "escape text: $(cat "$T/out")"

# Approvals without a terminal: the answer is read from stdin; EOF denies.
echo a | $H -z "approve" >"$T/out" 2>"$T/err" || h_fail "approve exit $?"
grep -q 'choice=always' "$T/out" || h_fail "approval: $(cat "$T/out")"
$H -z "approve" </dev/null >"$T/out" 2>"$T/err" || h_fail "approve eof exit $?"
grep -q 'choice=deny' "$T/out" || h_fail "approval on EOF: $(cat "$T/out")"

# A piped chat: one message per line, slash commands included.
printf 'first\n/usage\nsecond\n' | $H >"$T/out" 2>"$T/err" || h_fail "piped chat exit $?"
[ "$(cat "$T/out")" = "$(printf 'echo: first\nran usage \necho: second')" ] ||
    h_fail "piped chat: $(cat "$T/out")"
grep -q "$ESC" "$T/out" && h_fail "escape codes in piped chat"

# Subcommands through the agent and the supervisor.
expect 0 $H sessions list
grep -q '^ran sessions list$' "$T/out" || h_fail "sessions: $(cat "$T/out")"
expect 0 $H sessions rename abc "New title"
grep -q '^ran sessions rename abc New title$' "$T/out" || h_fail "rename: $(cat "$T/out")"
expect 1 $H sessions export fail
expect 2 $H sessions frob
expect 0 $H status
grep -Eq '^ROLE +PID +STATE +UPTIME +RESTARTS +RSS$' "$T/out" || h_fail "status header: $(cat "$T/out")"
for r in agent llm-fetch store tool; do
	grep -Eq "^$r +[0-9]+ +ready " "$T/out" || h_fail "status lacks $r"
done
grep -q "$ESC" "$T/out" && h_fail "escape codes in status"
$H doctor >"$T/out" 2>&1
grep -q '^hermesd report' "$T/out" || h_fail "doctor: $(cat "$T/out")"
grep -q 'seccomp' "$T/out" || h_fail "doctor lacks the sandbox report"

# A protocol version hermesd does not speak is refused, clearly.
HERMES_CLI_TEST_VERSION=999 expect 5 $H status
grep -q 'protocol version mismatch' "$T/err" || h_fail "version: $(cat "$T/err")"
HERMES_CLI_TEST_VERSION=999 expect 5 $H -z "hi"
grep -q 'protocol version mismatch' "$T/err" || h_fail "chat version: $(cat "$T/err")"

# A daemon that cannot be reached or started: 3, with the reason.
touch "$T/notadir"
HERMES_SOCKET="$T/notadir/hermesd.sock" expect 3 $H -z "hi"
grep -q 'notadir' "$T/err" || h_fail "unreachable: $(cat "$T/err")"

# config get/set: unknown keys and comments survive; hermesd reloads.
cat >"$HERMES_HOME/config.yaml" <<'Y'
# mine
model:
  default: old-model  # keep this comment
  my_unknown: 1
plugin_x:
  deep: [1, 2]
Y
expect 0 $H config set model.default new-model
expect 0 $H config set display.show_reasoning true
expect 0 $H config get model.default
[ "$(cat "$T/out")" = "new-model" ] || h_fail "config get: $(cat "$T/out")"
grep -q '^  default: new-model  # keep this comment$' "$HERMES_HOME/config.yaml" || h_fail "comment lost"
grep -q '^  my_unknown: 1$' "$HERMES_HOME/config.yaml" || h_fail "unknown key lost"
grep -q '^  deep: \[1, 2\]$' "$HERMES_HOME/config.yaml" || h_fail "unknown section lost"
expect 6 $H config get nope.nothing
expect 1 $H config set model "flat"
expect 2 $H config set
expect 0 $H model custom local-gguf --base-url http://127.0.0.1:9/v1
expect 0 $H config get model.base_url
[ "$(cat "$T/out")" = "http://127.0.0.1:9/v1" ] || h_fail "model base_url"

# display.show_reasoning (set above): reasoning shown, on stderr with -z.
expect 0 $H -z "reason please"
[ "$(cat "$T/out")" = "answer" ] || h_fail "reasoning in the answer: $(cat "$T/out")"
grep -q '^(reasoning) thinking hard$' "$T/err" || h_fail "reasoning not shown: $(cat "$T/err")"

# skills list/view read HERMES_HOME/skills.
mkdir -p "$HERMES_HOME/skills/notes/daily-log"
printf -- '---\nname: daily-log\ndescription: "Keep a daily log:\n  one line a day"\n---\nWrite it.\n' \
    >"$HERMES_HOME/skills/notes/daily-log/SKILL.md"
expect 0 $H skills list
grep -Eq '^daily-log +Keep a daily log: one line a day$' "$T/out" || h_fail "skills list: $(cat "$T/out")"
expect 0 $H skills view daily-log
grep -q '^Write it\.$' "$T/out" || h_fail "skills view: $(cat "$T/out")"
expect 6 $H skills view nope
expect 2 $H skills frob

# make run without a provider: two lines saying how to set one, exit 1.
mkdir -p "$T/empty"
HERMES_HOME="$T/empty" OPENAI_BASE_URL= OPENROUTER_API_KEY= ANTHROPIC_API_KEY= \
    OPENAI_API_KEY= B="$B" expect 1 sh "$TOP/scripts/run.sh"
[ "$(wc -l <"$T/err")" = 2 ] || h_fail "run.sh: not two lines: $(cat "$T/err")"
grep -q '\.env' "$T/err" && grep -q 'OPENAI_BASE_URL' "$T/err" || h_fail "run.sh: $(cat "$T/err")"

# stop (idempotent), then start on demand for chat and for status (as
# tmux does).
expect 0 $H stop
grep -q 'stopped' "$T/out" || h_fail "stop: $(cat "$T/out")"
expect 0 $H stop
grep -q 'not running' "$T/out" || h_fail "stop without daemon: $(cat "$T/out")"
expect 0 $H -z "autostarted"
[ "$(cat "$T/out")" = "echo: autostarted" ] || h_fail "autostart: $(cat "$T/out")"
pid=$($H status | sed -n 's/^hermesd pid \([0-9]*\),.*/\1/p')
[ -n "$pid" ] || h_fail "no daemon after autostart"
H_PIDS="$H_PIDS $pid"
expect 0 $H stop
echo "PASS cli_oneshot"
