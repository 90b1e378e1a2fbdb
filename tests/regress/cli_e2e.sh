#!/bin/sh
# hermes end to end: the real hermesd, agent, store, tool runner and
# llm-fetch, with tests/fakellm as the provider (scripted by
# cli_data/e2e.json). Through tmux: completion, streaming, a terminal tool
# call that needs approval (asked inline), Ctrl+C stopping a streaming
# answer; without a terminal: one-shot answers and exit codes.
. "$(dirname "$0")/cli_lib.inc"
cli_start_real "$TOP/tests/regress/cli_data/e2e.json"
H=$HERMES_CLI
mkdir -p "$HERMES_WORKSPACE/scratch-dir"

# One-shot: the streamed answer, exit 0; a provider failure exits 4.
out=$($H -z "hello there" 2>"$T/err") || h_fail "one-shot exit $?: $(cat "$T/err")"
[ "$out" = "Hello from fakellm, streamed in pieces." ] || h_fail "one-shot: $out"
$H chat -q "auth fail now" >"$T/out" 2>"$T/err"
code=$?
[ $code = 4 ] || h_fail "provider failure exit $code, want 4: $(cat "$T/err")"
grep -q 'provider error' "$T/err" || h_fail "provider error text: $(cat "$T/err")"
[ "$(wc -l <"$T/err")" -le 2 ] || h_fail "provider error not one line: $(cat "$T/err")"

# Sessions: listed, resumed by id, continued; an unknown one is refused.
$H sessions list >"$T/out" 2>"$T/err" || h_fail "sessions list: $(cat "$T/err")"
id=$(awk 'NR == 1 { print $1 }' "$T/out")
n0=$(awk 'NR == 1 { print $(NF - 1) }' "$T/out")
[ -n "$id" ] || h_fail "no session listed"
out=$($H -r "$id" -z "hello resumed" 2>"$T/err") || h_fail "resume $id: $(cat "$T/err")"
$H -c -z "hello continued" >/dev/null 2>"$T/err" || h_fail "continue: $(cat "$T/err")"
$H sessions list >"$T/out" 2>&1
grep -q "^$id .* $((n0 + 4)) msgs" "$T/out" ||
    h_fail "resume/continue did not add 4 messages to $id ($n0): $(cat "$T/out")"
$H -r no-such-session -z "hi" >"$T/out" 2>"$T/err"
code=$?
[ $code = 6 ] || h_fail "resume of an unknown session exited $code: $(cat "$T/err")"

# Interactive, through a terminal.
t_start "$H"
t_wait 'model fake-model'
t_wait '^> ?$'
t_type "/sess"; t_keys Tab
t_wait '^> /sessions ?$'
t_keys C-u
t_type "hello again"; t_keys Enter
t_wait '^Hello from fakellm, streamed in pieces\.$' 10

# A command needing approval: asked inline, run once, one tool line.
t_type "clean up please"; t_keys Enter
t_wait 'approval needed: rm -r \./scratch-dir' 10
t_wait 'allow\?'
t_type "o"; t_keys Enter
t_wait '\[terminal\] rm -r \./scratch-dir .*\([0-9.]+m?s\)' 10
t_wait '^Cleaned up\.$' 10
[ -d "$HERMES_WORKSPACE/scratch-dir" ] && h_fail "the approved command did not run"

# Ctrl+C stops a streaming answer; the chat goes on.
t_type "long story please"; t_keys Enter
t_wait 'word5 ' 10
t_keys C-c
t_wait 'stopping the turn' 5
t_wait '^> ?$' 10
t_screen | grep -q 'word299' && h_fail "the answer was not stopped"
t_type "hello once more"; t_keys Enter
t_wait_after '^> hello once more' '^Hello from fakellm' 10

t_type "/exit"; t_keys Enter
code=$(t_exit)
[ "$code" = 0 ] || h_fail "/exit status $code"
echo "PASS cli_e2e"
