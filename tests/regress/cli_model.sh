#!/bin/sh
# hermes model on a terminal: the provider list, the choice by number,
# the suggested model, config.yaml written (unknown keys kept) and a
# running hermesd told to reload. Also a terminal resize mid-chat.
. "$(dirname "$0")/cli_lib.inc"
cli_start_fake
printf 'custom_key: keep me\nmodel:\n  default: old\n' >"$HERMES_HOME/config.yaml"
t_start "$HERMES_CLI" model
t_wait '1\) openrouter +OpenRouter'
t_wait 'provider \(number or name\) \[1\]: ?$'
t_type "2"; t_keys Enter
t_wait 'model \[claude-sonnet-4-5\]: ?$'
t_keys Enter
t_wait 'provider anthropic, model claude-sonnet-4-5 written to'
t_wait 'put the key in .*\.env: ANTHROPIC_API_KEY='
t_wait 'reloads its configuration'
[ "$(t_exit)" = 0 ] || h_fail "hermes model failed"
grep -q '^custom_key: keep me$' "$HERMES_HOME/config.yaml" || h_fail "unknown key lost"
[ "$("$HERMES_CLI" config get model.provider)" = anthropic ] || h_fail "provider not written"
[ "$("$HERMES_CLI" config get model.default)" = claude-sonnet-4-5 ] || h_fail "model not written"
# The daemon reloaded (SIGHUP): its log says so.
for _ in 1 2 3 4 5 6 7 8 9 10; do
	grep -q 'reloaded' "$T/hermesd.log" && break
	sleep 0.2
done
grep -q 'reloaded' "$T/hermesd.log" || h_fail "hermesd did not reload"
tmux -S "$TMUX_SOCK" kill-server 2>/dev/null

# A resize while editing a line keeps the chat working.
h_wait_ready 10 || h_fail "workers not ready after reload"
t_start "$HERMES_CLI"
t_wait '^> ?$'
t_type "after resize"
tmux -S "$TMUX_SOCK" resize-window -x 60 -y 20 2>/dev/null ||
    tmux -S "$TMUX_SOCK" resize-pane -x 60 -y 20
t_keys Enter
t_wait '^echo: after resize$'
echo "PASS cli_model"
