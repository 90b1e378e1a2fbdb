#!/bin/sh
# make run: the interactive chat with HERMES_HOME (default ~/.hermes) and
# its configured provider. hermes starts hermesd on demand.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
B=${B:-build}
case "$B" in /*) BIN=$B ;; *) BIN=$TOP/$B ;; esac
HERMES_HOME=${HERMES_HOME:-$HOME/.hermes}
export HERMES_HOME
H=$BIN/hermes
[ -x "$H" ] || { echo "run: $H is not built (make)" >&2; exit 1; }

# Is a provider configured: model.provider/base_url in config.yaml, or a
# known key in the environment or HERMES_HOME/.env?
configured() {
	"$H" config get model.provider >/dev/null 2>&1 && return 0
	"$H" config get model.base_url >/dev/null 2>&1 && return 0
	for k in OPENROUTER_API_KEY ANTHROPIC_API_KEY OPENAI_API_KEY \
	    NOUS_API_KEY DEEPSEEK_API_KEY XAI_API_KEY GEMINI_API_KEY \
	    GOOGLE_API_KEY GLM_API_KEY KIMI_API_KEY HF_TOKEN; do
		eval "v=\${$k:-}"
		[ -n "$v" ] && return 0
		[ -f "$HERMES_HOME/.env" ] &&
		    grep -Eq "^[[:space:]]*(export[[:space:]]+)?$k[[:space:]]*=[[:space:]]*[^[:space:]]" \
		    "$HERMES_HOME/.env" && return 0
	done
	return 1
}

if ! configured; then
	if [ -n "${OPENAI_BASE_URL:-}" ]; then
		echo "run: no provider configured; using OPENAI_BASE_URL=$OPENAI_BASE_URL (written to $HERMES_HOME/config.yaml)"
		"$H" model custom "${HERMES_MODEL:-local-model}" \
		    --base-url "$OPENAI_BASE_URL" >/dev/null || exit 1
	else
		echo "hermes: no model provider configured. Put a key in $HERMES_HOME/.env (e.g. OPENROUTER_API_KEY=sk-...) or run: $H model" >&2
		echo "hermes: for a local llama.cpp or Ollama server instead, run: OPENAI_BASE_URL=http://127.0.0.1:8080/v1 make run" >&2
		exit 1
	fi
fi
exec "$H" "$@"
