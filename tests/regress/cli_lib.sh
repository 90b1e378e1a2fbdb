# Helpers for the CLI's black-box tests (tests/regress/cli_*.sh), on top
# of lib.sh: a hermesd whose agent is the scripted tests/cli_fakeagent
# (or the real one), and a private tmux server to drive hermes through a
# real terminal.
#
#	. tests/regress/cli_lib.sh
#	cli_start_fake           # hermesd with the scripted agent
#	t_start CMD...           # hermes in a 120x40 tmux pane
#	t_keys KEYS...           # tmux send-keys
#	t_type "text"            # literal text
#	t_wait "regex" [secs]    # until the pane shows it (else fail)
#	t_wait_after "re1" "re2" # until re2 shows below the last re1
#	t_screen                 # the pane's text
. "$(dirname "$0")/lib.sh"

cli_start_fake() {
	h_setup
	mkdir -p "$T/libexec"
	for b in hermes-llm-fetch hermes-store hermes-tool-local; do
		ln -sf "$BIN/tests/testworker" "$T/libexec/$b"
	done
	ln -sf "$BIN/tests/cli_fakeagent" "$T/libexec/hermes-agent"
	export HERMES_LIBEXEC="$T/libexec"
	h_start
}

TMUX_SOCK=""
t_start() {
	command -v tmux >/dev/null 2>&1 || h_skip "tmux not installed"
	TMUX_SOCK="$T/tmux.sock"
	unset TMUX
	tmux -S "$TMUX_SOCK" -f /dev/null new-session -d -x 120 -y 40 \
	    "env TERM=xterm HERMES_HOME='$HERMES_HOME' HERMES_SOCKET='$HERMES_SOCKET' HERMES_LIBEXEC='${HERMES_LIBEXEC:-}' $*; echo \"[exit \$?]\"; sleep 30" ||
	    h_fail "tmux new-session"
	H_PIDS="$H_PIDS $(tmux -S "$TMUX_SOCK" display -p '#{pid}')"
}

t_keys() { tmux -S "$TMUX_SOCK" send-keys "$@"; }
t_type() { tmux -S "$TMUX_SOCK" send-keys -l "$1"; }
t_screen() { tmux -S "$TMUX_SOCK" capture-pane -p -S -200; }
# The pane with escape sequences (capture-pane -e).
t_screen_e() { tmux -S "$TMUX_SOCK" capture-pane -p -e -S -200; }

t_wait() {
	local re=$1 secs=${2:-5} i=0
	while [ $i -lt $((secs * 20)) ]; do
		if t_screen | grep -Eq -- "$re"; then
			return 0
		fi
		sleep 0.05
		i=$((i + 1))
	done
	echo "--- screen ---" >&2
	t_screen >&2
	h_fail "the screen never showed /$re/ within ${secs}s"
}

# Until a line matching re2 follows the last line matching re1.
t_wait_after() {
	local re1=$1 re2=$2 secs=${3:-5} i=0
	while [ $i -lt $((secs * 20)) ]; do
		if t_screen | awk -v a="$re1" -v b="$re2" \
		    '$0 ~ a { seen = 1; hit = 0; next } seen && $0 ~ b { hit = 1 }
		    END { exit !hit }'; then
			return 0
		fi
		sleep 0.05
		i=$((i + 1))
	done
	t_screen >&2
	h_fail "no /$re2/ after /$re1/ within ${secs}s"
}

# The exit status hermes printed in the pane ("[exit N]").
t_exit() {
	t_wait '\[exit [0-9]+\]' "${1:-5}"
	t_screen | sed -n 's/.*\[exit \([0-9]*\)\].*/\1/p' | tail -n 1
}

# The real workers and tests/fakellm (scripted by $1) as the provider.
cli_start_real() {
	for b in hermes-agent hermes-llm-fetch hermes-store hermes-tool-local \
	    fakellm; do
		[ -x "$BIN/$b" ] || h_skip "$b not built yet"
	done
	h_setup
	"$BIN/fakellm" -q -p 0 -s "$1" -j "$T/journal.jsonl" >"$T/fakellm.port" &
	H_PIDS="$H_PIDS $!"
	for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
		[ -s "$T/fakellm.port" ] && break
		sleep 0.05
	done
	FAKELLM_PORT=$(head -n 1 "$T/fakellm.port")
	[ -n "$FAKELLM_PORT" ] || h_fail "fakellm did not start"
	cat >"$HERMES_HOME/config.yaml" <<Y
model:
  provider: custom
  default: fake-model
  base_url: http://127.0.0.1:$FAKELLM_PORT/v1
approvals:
  mode: manual
Y
	h_start
}
