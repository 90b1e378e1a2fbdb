#!/bin/sh
# hermes in a real terminal (tmux) against the real hermesd, with the
# scripted agent (tests/regress/cli_fakeagent.c): banner, completion of
# slash commands and skill names, streaming, multiline input, reasoning
# toggle, tool lines, the approval prompt, Ctrl+C stopping a turn and a
# second Ctrl+C leaving, model escapes defused, history.
. "$(dirname "$0")/cli_lib.inc"
cli_start_fake
mkdir -p "$HERMES_HOME/skills/research/arxiv-search"
printf -- '---\nname: arxiv-search\ndescription: find papers\n---\nbody\n' \
    >"$HERMES_HOME/skills/research/arxiv-search/SKILL.md"

t_start "$HERMES_CLI"
t_wait '^hermes-c .* model fake-model \(fakellm\)'
t_wait '^> ?$'

# Completion: a unique slash command, then a skill name.
t_type "/he"; t_keys Tab
t_wait '^> /help ?$'
t_keys C-u
t_type "/arx"; t_keys Tab
t_wait '^> /arxiv-search ?$'
t_keys C-u
# Several matches and nothing to extend: listed.
t_type "/re"; t_keys Tab
t_wait '^/reset +/retry +/resume +/reasoning'
t_keys C-u

# A plain message streams back word by word.
t_type "hello streaming world"; t_keys Enter
t_wait '^echo: hello streaming world$'

# Multiline: a trailing backslash continues the message.
t_type 'first \'; t_keys Enter
t_wait '^\.\.\. ?$'
t_type 'second'; t_keys Enter
t_wait '^echo: first$'
t_screen | grep -q '^second$' || h_fail "the second line was not part of the message"

# A paste: several lines arriving at once are one message.
t_type "$(printf 'pasted one\npasted two')"; t_keys Enter
t_wait '^echo: pasted one$'
t_screen | grep -q '^pasted two$' || h_fail "the pasted lines were split"
t_screen | grep -q '^echo: pasted two' && h_fail "the paste became two messages"

# Reasoning hidden by default, shown after /reasoning show.
t_type "reason one"; t_keys Enter
t_wait '^answer$'
t_screen | grep -q 'thinking hard' && h_fail "reasoning shown while hidden"
t_type "/reasoning show"; t_keys Enter
t_wait 'reasoning shown'
t_type "reason two"; t_keys Enter
t_wait '\(reasoning\) thinking hard'

# Tool lines and notices.
t_type "tools now"; t_keys Enter
t_wait '\[read_file\] notes.txt +\(12ms\) ok: 12 lines'
t_wait '\[terminal\] ls -la +\(12ms\) ok: exit 0'
t_wait '\* memory updated'

# The approval prompt: asked inline, the answer goes back to the agent.
t_type "approve it"; t_keys Enter
t_wait 'approval needed: rm -rf /tmp/x'
t_wait 'reason: delete in root path'
t_wait 'allow\? \[o\]nce / \[s\]ession / \[a\]lways / \[d\]eny: ?$'
t_type "s"; t_keys Enter
t_wait '^choice=session id=7$'
t_wait '\[terminal\] rm -rf /tmp/x +\(12ms\) ok: exit 0'

# Escape sequences from the model never reach the terminal.
t_type "escape please"; t_keys Enter
t_wait 'safe\?\[2J\?\]0;pwned\?text'
t_screen_e | grep -q 'pwned' || h_fail "capture failed"
t_screen_e | grep -q "$(printf '\033')\]0;pwned" && h_fail "OSC escape reached the terminal"

# Agent-side slash commands go out as CHAT_COMMAND; unknown ones do not.
t_type "/title My Day"; t_keys Enter
t_wait '^ran title My Day$'
t_type "/arxiv-search recent work"; t_keys Enter
t_wait '^ran skill arxiv-search recent work$'
t_wait '^echo: arxiv-search recent work$'
t_type "/bogus"; t_keys Enter
t_wait 'unknown command /bogus'

# Ctrl+C stops a running turn (CHAT_COMMAND stop); the chat goes on.
t_type "slow one"; t_keys Enter
t_wait_after '^> slow one' 'tick tick'
t_keys C-c
t_wait 'stopping the turn'
t_wait 'interrupted: stopped by the user'
t_wait '^> ?$'
sleep 2.2	# a Ctrl+C long after the last one only warns
t_keys C-c
t_wait 'Ctrl\+C again or /exit to leave'
t_type "still here"; t_keys Enter
t_wait '^echo: still here$'

# History: the file is written and Up recalls the last message.
t_keys Up
t_wait '^> still here$'
t_keys C-u
grep -q 'still' "$HERMES_HOME/.hermes_history" || h_fail "no history file"

# A second Ctrl+C during a turn leaves with 130.
t_type "slow two"; t_keys Enter
t_wait_after '^> slow two' 'tick tick'
t_keys C-c; sleep 0.1; t_keys C-c
code=$(t_exit)
[ "$code" = 130 ] || h_fail "double Ctrl+C exit status $code, want 130"
echo "PASS cli_tty"
