#!/bin/sh
# The whole system, measured end to end: the real hermesd, its four
# workers and the hermes CLI, with tests/fakellm (instant mode) as the
# provider. Every reference is measured in the same run.
#
#	BENCH_RUNS=N          repeated runs for the timings (default 30)
#	BENCH_SOAK_TURNS=N    soak length (default 10000, as `make bench`)
#	BENCH_CONC=N          concurrent sessions on one agent (default 1000)
#	BENCH_IDLE_S=N        idle CPU window (default 10)
TOP=$(cd "$(dirname "$0")/.." && pwd)
. "$TOP/tests/regress/lib.sh"
RUNS=${BENCH_RUNS:-30}
SOAK=${BENCH_SOAK_TURNS:-10000}
CONC=${BENCH_CONC:-1000}
CONC_ROUNDS=${BENCH_CONC_ROUNDS:-3}
IDLE_S=${BENCH_IDLE_S:-10}
STREAM_TOKENS=${BENCH_STREAM_TOKENS:-2000}
D=$BIN/bench/bench_sys_drive
for b in hermesd hermes hermes-agent hermes-llm-fetch hermes-store \
    hermes-tool-local fakellm bench/bench_sys_drive; do
	[ -x "$BIN/$b" ] || h_skip "$b not built"
done

row() {	# figure hermes-c reference ratio notes
	printf 'BENCH\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "-" }'; }
med3() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { printf "%s %s %s", v[int((NR + 1) / 2)], v[1], v[NR] }'; }

h_setup
. "$TOP/bench/bench_sys_lib.sh"
snapshot_bins
# A failed step still leaves a row in the table (bench/run.sh keeps only
# BENCH lines).
h_fail() {
	printf 'BENCH\tbench_sys\tFAILED\t-\t-\t%s\n' "$*"
	echo "FAIL: $*" >&2
	[ -f "$T/hermesd.log" ] && tail -n 20 "$T/hermesd.log" >&2
	exit 1
}
# ---- references compiled here: a bare C main ----------------------------
cat >"$T/bare.c" <<'C'
int main(void) { return 0; }
C
${CC:-cc} -O2 -o "$T/bare" "$T/bare.c" || h_fail "cc bare.c"

# ---- a provider: fakellm, instant --------------------------------------
start_fakellm() {	# NAME ARGS...; sets FPORT
	local name=$1
	shift
	"$BIN/fakellm" -q -p 0 "$@" >"$T/fakellm.port.$name" &
	H_PIDS="$H_PIDS $!"
	FPID=$!
	for _ in $(seq 40); do
		[ -s "$T/fakellm.port.$name" ] && break
		sleep 0.05
	done
	FPORT=$(head -n 1 "$T/fakellm.port.$name")
	[ -n "$FPORT" ] || h_fail "fakellm did not start"
}
start_fakellm instant -i "Instant answer from fakellm."
cat >"$HERMES_HOME/config.yaml" <<Y
model:
  provider: custom
  default: fake-model
  base_url: http://127.0.0.1:$FPORT/v1
limits:
  max_clients_per_uid: 1024
Y

# ---- CLI cold start ------------------------------------------------------
"$D" time 3 "$BIN/hermes" --version >/dev/null
out=$("$D" time "$RUNS" "$BIN/hermes" --version) || h_fail "time"; set -- $out; hv=$1 hvmin=$2 hvmax=$3 hvrss=$4
out=$("$D" time "$RUNS" "$T/bare") || h_fail "time"; set -- $out; bv=$1 bvmin=$2 bvmax=$3 bvrss=$4
row "hermes --version cold (us)" "$hv" "$bv" "$(ratio "$hv" "$bv")" \
    "median of $RUNS fresh processes (fork+exec+wait); hermes min $hvmin max $hvmax peak RSS $hvrss KB; reference: a bare C main (cc -O2), min $bvmin max $bvmax peak RSS $bvrss KB"

# ---- hermesd cold start until every worker is ready -----------------------
out=$("$D" cold "$RUNS" "$HERMES_SOCKET" "$BIN/hermesd" -d) || h_fail "cold start"; set -- $out
cs=$1 csmin=$2 csmax=$3
out=$("$D" time "$RUNS" sh -c "\"$T/bare\" & \"$T/bare\" & \"$T/bare\" & \"$T/bare\" & \"$T/bare\"; wait") || h_fail "time"; set -- $out
cr=$1 crmin=$2 crmax=$3
row "hermesd cold start to every worker ready (us)" "$cs" "$cr" "$(ratio "$cs" "$cr")" \
    "median of $RUNS starts (status polled every 1 ms), min $csmin max $csmax; reference: sh starting 5 bare C processes and waiting for them, min $crmin max $crmax"

# ---- a running daemon ---------------------------------------------------
h_start
SUP=$H_HERMESD
"$D" time 3 "$BIN/hermes" status >/dev/null
out=$("$D" time "$RUNS" "$BIN/hermes" status) || h_fail "time"; set -- $out; hs=$1 hsmin=$2 hsmax=$3
out=$("$D" time "$RUNS" "$D" bare "$HERMES_SOCKET") || h_fail "time"; set -- $out; bs=$1 bsmin=$2 bsmax=$3
row "hermes status against a running daemon (us)" "$hs" "$bs" "$(ratio "$hs" "$bs")" \
    "median of $RUNS, min $hsmin max $hsmax; reference: a C process doing connect + CLIENT_HELLO + WELCOME (one frame each way) and exit, min $bsmin max $bsmax"

# Sum over hermesd and its workers.
tree_pids() { echo "$SUP $(ps -o pid= --ppid "$SUP")"; }
tree_pss() {
	local s=0 p v
	for p in $(tree_pids); do
		v=$(awk '/^Pss:/ { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null)
		s=$((s + ${v:-0}))
	done
	echo "$s"
}
tree_detail() {
	local p
	for p in $(tree_pids); do
		printf '%s=%s ' "$(cat "/proc/$p/comm")" \
		    "$(awk '/^Pss:/ { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null)"
	done
}
# CPU time (ns) of every thread of every process: /proc/PID/task/*/schedstat.
tree_cpu_ns() {
	local p
	for p in $(tree_pids); do
		cat /proc/"$p"/task/*/schedstat 2>/dev/null
	done | awk '{ t += $1 } END { printf "%.0f\n", t }'
}

sleep 1
pss0=$(tree_pss)
det0=$(tree_detail)
k0=$(tree_cpu_ns); sleep "$IDLE_S"; k1=$(tree_cpu_ns)
cpu=$(awk -v a="$k0" -v b="$k1" -v s="$IDLE_S" 'BEGIN { printf "%.4f", 100 * (b - a) / 1e9 / s }')
cpums=$(awk -v a="$k0" -v b="$k1" 'BEGIN { printf "%.2f", (b - a) / 1e6 }')
row "idle PSS, hermesd + 4 workers (KB)" "$pss0" - - \
    "sum of Pss over /proc/PID/smaps_rollup of $(tree_pids | wc -w) processes, before any turn: $det0"
row "idle CPU, hermesd + 4 workers (% of a core)" "$cpu" - - \
    "CPU time of every thread (/proc/PID/task/*/schedstat) over ${IDLE_S} s idle: $cpums ms in all (heartbeats every 2 s included)"

# ---- turns/s with an instant fakellm; the provider alone as reference ----
for r in 1 2 3; do
	out=$("$D" turns "$HERMES_SOCKET" 500 10) || h_fail "turns"; set -- $out
	eval "tps$r=\$8 p50_$r=\${10} p99_$r=\${12}"
done
set -- $(med3 "$tps1" "$tps2" "$tps3"); tps=$1 tpsmin=$2 tpsmax=$3
set -- $(med3 "$p50_1" "$p50_2" "$p50_3"); tp50=$1
set -- $(med3 "$p99_1" "$p99_2" "$p99_3"); tp99=$1
# Reference: the same number of streamed requests to fakellm from one
# curl process over one kept-alive connection.
body='{"model":"fake-model","stream":true,"messages":[{"role":"user","content":"hi"}]}'
: >"$T/curl.cfg"
for _ in $(seq 500); do
	printf 'url = "http://127.0.0.1:%s/v1/chat/completions"\n-o /dev/null\n' "$FPORT" >>"$T/curl.cfg"
done
for r in 1 2 3; do
	t0=$(date +%s%N)
	curl -s -H 'Content-Type: application/json' -d "$body" -K "$T/curl.cfg" || h_fail "curl"
	eval "ctps$r=$(awk -v ns=$(($(date +%s%N) - t0)) 'BEGIN { printf "%.1f", 500 / (ns / 1e9) }')"
done
set -- $(med3 "$ctps1" "$ctps2" "$ctps3"); ctps=$1 ctpsmin=$2 ctpsmax=$3
row "turns/s, one session at a time, instant fakellm" "$tps" "$ctps" "$(ratio "$tps" "$ctps")" \
    "median of 3 runs of 500 turns (a new session every 10), min $tpsmin max $tpsmax; turn latency p50 $tp50 us p99 $tp99 us; each turn is persisted (user + assistant messages in state.db); reference: 500 streamed requests straight to fakellm from one curl (keep-alive), min $ctpsmin max $ctpsmax"

# ---- per streamed token: llm-fetch -> agent -> client vs raw hops ---------
# A turn streaming N 4-byte deltas minus a turn streaming one, over N: what
# the chain adds per token (llm-fetch may batch deltas that arrive
# together; the figure is per provider delta either way).
FPORT0=$FPORT
printf '{"turns":[{"match":"short","text":"ok","repeat":true},{"text_bytes":%d,"chunk":4,"repeat":true}]}\n' \
    $((STREAM_TOKENS * 4)) >"$T/stream.json"
start_fakellm stream -s "$T/stream.json"
SPORT=$FPORT
sed -i "s#127.0.0.1:$FPORT0/v1#127.0.0.1:$SPORT/v1#" "$HERMES_HOME/config.yaml"
kill -HUP "$SUP"
sleep 0.5
h_wait_ready 10 || h_fail "not ready after reload"
: >"$T/tok"; : >"$T/chain"; : >"$T/short"; : >"$T/long"
"$D" stream "$HERMES_SOCKET" >/dev/null || h_fail "stream"
for r in $(seq 7); do
	out=$("$D" stream "$HERMES_SOCKET" short) || h_fail "stream"; set -- $out
	echo "$6" >>"$T/short"
	out=$("$D" stream "$HERMES_SOCKET") || h_fail "stream"; set -- $out
	echo "$6" >>"$T/long"
	ev=$2
	out=$("$D" chain "$STREAM_TOKENS") || h_fail "chain"; set -- $out
	awk -v us="$4" -v n="$2" 'BEGIN { printf "%.3f\n", us / n }' >>"$T/chain"
done
set -- $(med3 $(cat "$T/short")); sh1=$1
set -- $(med3 $(cat "$T/long")); lg=$1 lgmin=$2 lgmax=$3
tk=$(awk -v a="$lg" -v b="$sh1" -v n="$STREAM_TOKENS" 'BEGIN { printf "%.3f", (a - b) / n }')
set -- $(med3 $(cat "$T/chain")); ch=$1 chmin=$2 chmax=$3
row "per streamed token, llm-fetch -> agent -> client (us)" "$tk" "$ch" "$(ratio "$tk" "$ch")" \
    "(median turn of $STREAM_TOKENS 4-byte deltas $lg us [min $lgmin max $lgmax] - median 1-delta turn $sh1 us) / $STREAM_TOKENS, 7 runs each, fakellm's own streaming included; $ev text events reached the client (llm-fetch and the agent batch what arrives together); reference: 3 processes relaying $STREAM_TOKENS frames one by one over socketpairs (FETCH_EVENT -> decode -> CHAT_EVENT), per frame, min $chmin max $chmax"
sed -i "s#127.0.0.1:$SPORT/v1#127.0.0.1:$FPORT0/v1#" "$HERMES_HOME/config.yaml"
kill -HUP "$SUP"
sleep 0.5
h_wait_ready 10 || h_fail "not ready after reload"

# ---- concurrent sessions on one agent worker ---------------------------
out=$("$D" conc "$HERMES_SOCKET" 1 "$CONC_ROUNDS") || h_fail "conc 1"; set -- $out
c1p99=${12}
if out=$("$D" conc "$HERMES_SOCKET" "$CONC" "$CONC_ROUNDS" 2>"$T/conc.err"); then
	set -- $out
	copen=$4 cturns=$6 cok=$8 cp50=${10} cp99=${12} cmax=${14} csecs=${16}
	arss=$(h_status | awk '$1 == "agent" { print $5 }')
	frss=$(h_status | awk '$1 == "llm-fetch" { print $5 }')
	row "concurrent sessions on one agent: p99 turn latency (us)" "$cp99" "$c1p99" "$(ratio "$cp99" "$c1p99")" \
	    "$copen of $CONC sessions opened (one connection each), $CONC_ROUNDS rounds in which every session sends at once: $cturns turns ($cok ok) in $csecs s = $(awk -v n="$cturns" -v s="$csecs" 'BEGIN { printf "%.0f", n / s }') turns/s, p50 $cp50 us max $cmax us (a turn waits for the ones queued before it); reference: the same with 1 session; agent RSS after $arss KB, llm-fetch $frss KB"
else
	row "concurrent sessions on one agent: p99 turn latency (us)" n/a "$c1p99" - \
	    "not measured: the driver failed with $CONC sessions: $(tail -n 1 "$T/conc.err")"
	h_wait_ready 10 || h_fail "not ready after the concurrent run"
fi

# ---- soak: N turns, PSS growth ---------------------------------------------
# A fresh daemon so the concurrent run above does not count.
kill -TERM "$SUP"; wait "$SUP" 2>/dev/null
# Forget the stopped tree's pids: lib.sh's cleanup signals what is listed
# and pids are reused.
H_PIDS=$(echo "$H_PIDS" | tr ' ' '\n' | grep -vx "$SUP" | tr '\n' ' ')
H_WORKER_PIDS=""
h_start
SUP=$H_HERMESD
"$D" turns "$HERMES_SOCKET" 100 10 >/dev/null || h_fail "warm-up"
sleep 1
pssw=$(tree_pss)
detw=$(tree_detail)
out=$("$D" turns "$HERMES_SOCKET" "$SOAK" 10) || h_fail "soak"; set -- $out
stps=$8 sp99=${12}
sleep 1
pss1=$(tree_pss)
det1=$(tree_detail)
row "PSS after a $SOAK-turn soak, hermesd + 4 workers (KB)" "$pss1" "$pssw" "$(ratio "$pss1" "$pssw")" \
    "growth $((pss1 - pssw)) KB over $SOAK turns (a new session every 10, instant fakellm; $stps turns/s, p99 $sp99 us); reference: the same tree after a 100-turn warm-up; after: $det1; before: $detw"
exit 0
