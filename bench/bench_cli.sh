#!/bin/sh
# The CLI's figures, each against its floor measured in the same run
# (bench/bench_cli_helper does the timing: fork+exec+wait4, medians):
#   cold `hermes --version`      vs a bare C main (exec floor); the runs
#                                   of the two alternate (same load)
#   cold `hermes status`         vs a bare client: exec + connect +
#                                   hello + WELCOME + STATUS frame
#   Enter to first streamed character (hermes on a pty, instant fakellm)
#                                vs the raw socket round trip of the same
#                                   turn (CHAT_INPUT -> first text event)
# Prints BENCH lines (figure, hermes-c, reference, ratio, notes).
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
B=${B:-build}
case "$B" in /*) BIN=$B ;; *) BIN=$TOP/$B ;; esac
HELP=$BIN/bench/bench_cli_helper
N=${BENCH_CLI_RUNS:-200}
NT=${BENCH_CLI_TURNS:-50}
for b in hermes hermesd bench/bench_cli_helper; do
	[ -x "$BIN/$b" ] || { echo "bench_cli: $BIN/$b not built" >&2; exit 1; }
done

T=$(mktemp -d "${TMPDIR:-/tmp}/hermes-bench-cli.XXXXXX") || exit 1
chmod 700 "$T"
mkdir -m 700 "$T/home" "$T/run" "$T/work"
export HERMES_HOME="$T/home" HERMES_SOCKET="$T/run/hermesd.sock" \
    HERMES_WORKSPACE="$T/work"
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
ms() { awk -v a="$1" 'BEGIN { printf "%.2f ms", a / 1000 }'; }
line() {	# figure, hermes "med min max rss", ref "med min max rss", notes
	set -- "$1" $2 $3 "$4"
	printf 'BENCH\t%s\t%s, %s KB\t%s, %s KB\t%s\t%s\n' "$1" \
	    "$(ms "$2")" "$5" "$(ms "$6")" "$9" "$(ratio "$2" "$6")" \
	    "median of $N; min/max $(ms "$3")/$(ms "$4") vs $(ms "$7")/$(ms "$8"); peak RSS; ${10}"
}

# 1. --version: no daemon involved at all.
out=$("$HELP" run "$N" "$BIN/hermes" --version -- "$HELP" noop) || exit 1
v=$(echo "$out" | sed -n 1p)
f=$(echo "$out" | sed -n 2p)
line "hermes --version, cold (wall, peak RSS)" "$v" "$f" "floor: bare C main"

# A running daemon (fakellm in instant mode as the provider, if built).
if [ -x "$BIN/fakellm" ]; then
	"$BIN/fakellm" -q -p 0 -i "QXinstant answer" >"$T/port" &
	PIDS="$PIDS $!"
	for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
		[ -s "$T/port" ] && break
		sleep 0.05
	done
	printf 'model:\n  provider: custom\n  default: bench\n  base_url: http://127.0.0.1:%s/v1\n' \
	    "$(head -n 1 "$T/port")" >"$HERMES_HOME/config.yaml"
fi
"$BIN/hermesd" -d >"$T/hermesd.log" 2>&1 &
PIDS="$PIDS $!"
for _ in $(seq 1 100); do
	"$BIN/hermes" status 2>/dev/null | grep -q '^agent .* ready' && break
	sleep 0.05
done

# 2. status against the running daemon.
out=$("$HELP" run "$N" "$BIN/hermes" status -- "$HELP" hello status) || exit 1
s=$(echo "$out" | sed -n 1p)
f=$(echo "$out" | sed -n 2p)
line "hermes status, cold, daemon running (wall, peak RSS)" "$s" "$f" \
    "floor: bare client exec+connect+hello+welcome+status frame"

# 3. Enter to the first streamed character, instant provider.
if [ -x "$BIN/fakellm" ] && [ -x "$BIN/hermes-agent" ]; then
	"$HELP" rawchat 5 >/dev/null || exit 1	# warm the session path
	out=$("$HELP" ttfc "$NT" QX "$BIN/hermes") || exit 1
	p=$(echo "$out" | sed -n 1p)
	r=$(echo "$out" | sed -n 2p)
	set -- $p
	pm=$1 pmin=$2 pmax=$3
	set -- $r
	printf 'BENCH\t%s\t%s\t%s\t%s\t%s\n' \
	    "Enter to first streamed character (instant fakellm)" \
	    "$(ms "$pm")" "$(ms "$1")" "$(ratio "$pm" "$1")" \
	    "median of $NT turns; min/max $(ms "$pmin")/$(ms "$pmax") vs $(ms "$2")/$(ms "$3"); hermes on a pty vs raw socket CHAT_INPUT->first text event, turns alternating, same daemon and provider"
else
	echo "bench_cli: no fakellm or hermes-agent: Enter-to-first-character skipped" >&2
fi
