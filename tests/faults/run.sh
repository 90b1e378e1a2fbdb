#!/bin/sh
# The fault suite: the real hermesd, its workers and tests/fakellm, broken
# on purpose; prints a table of trials and failures per fault and exits 1
# if any trial failed.
#
#	FAULT_TRIALS=N       trials of the quick faults (kill -9 of each worker
#	                     role in a streaming turn, kill -9 of the whole tree
#	                     during writes); default 100 (`make faults`)
#	FAULT_SLOW_TRIALS=N  trials of the faults that take seconds each
#	                     (ENOSPC, EMFILE, SIGSTOP, frame cut, restart
#	                     storm); default 5
#	FAULT_ONLY=NAME      run only the faults whose name contains NAME
#	FAULT_SEED=N         seed of the random kill points (default: the pid)
#
# What each fault checks is written above its function. The table also
# lands in $B/faults/table.txt, the per-trial record in trials.tsv.
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/tests/regress/lib.sh"
TRIALS=${FAULT_TRIALS:-100}
SLOW=${FAULT_SLOW_TRIALS:-5}
ONLY=${FAULT_ONLY:-}
SEED=${FAULT_SEED:-$$}
D=$BIN/bench/bench_sys_drive
for b in hermesd hermes-agent hermes-llm-fetch hermes-store \
    hermes-tool-local fakellm bench/bench_sys_drive tests/testworker \
    tests/sockclient; do
	[ -x "$BIN/$b" ] || h_skip "$b not built"
done
command -v sqlite3 >/dev/null || h_skip "the sqlite3 CLI is not installed"
h_setup
. "$TOP/bench/bench_sys_lib.sh"
snapshot_bins
OUT=${FAULT_OUT:-$BIN/faults}
mkdir -p "$OUT"
TABLE=$T/table.tsv
TR=$T/trials.tsv
: >"$TABLE"
: >"$TR"
FAILED=0
ROLES="store llm-fetch tool agent"
echo "fault suite: $TRIALS quick trials, $SLOW slow trials, seed $SEED" >&2

row() {	# fault trials failures notes
	printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$TABLE"
	[ "$3" = 0 ] || FAILED=1
	printf '%-34s %6s %8s  %s\n' "$1" "$2" "$3" "$4" >&2
}
want() { [ -z "$ONLY" ] || case "$1" in *"$ONLY"*) return 0 ;; *) return 1 ;; esac; }
rnd() {	# a random number of ms in [0, $1), from the seed and a counter
	RNDN=$(( ${RNDN:-0} + 1 ))
	awk -v s="$SEED" -v n="$RNDN" -v m="$1" 'BEGIN { srand(s * 1000 + n); printf "%d", rand() * m }'
}
ms_sleep() { sleep "$(awk -v m="$1" 'BEGIN { printf "%.3f", m / 1000 }')"; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
pctl() {	# percentile P of the numbers in file F
	sort -n "$2" | awk -v p="$1" '{ v[NR] = $1 } END { if (NR == 0) print "-"; else { i = int(NR * p / 100) + 1; if (i > NR) i = NR; print v[i] } }'
}

# A fresh home, socket and log for one fault: F is its directory.
new_home() {
	F=$T/$1
	mkdir -p "$F/home" "$F/run" "$F/libexec"
	chmod 700 "$F/run"
	export HERMES_HOME="$F/home"
	export HERMES_SOCKET="$F/run/s"
	unset HERMES_LIBEXEC HERMES_FAULT
	LOG=$F/hermesd.log
}

start_fakellm() {	# SCRIPT-FILE; sets FPORT
	"$BIN/fakellm" -q -p 0 -s "$1" >"$F/fakellm.port" &
	H_PIDS="$H_PIDS $!"
	for _ in $(seq 40); do
		[ -s "$F/fakellm.port" ] && break
		sleep 0.05
	done
	FPORT=$(head -n 1 "$F/fakellm.port")
	[ -n "$FPORT" ] || h_fail "fakellm did not start"
	cat >"$HERMES_HOME/config.yaml" <<Y
model:
  provider: custom
  default: fake-model
  base_url: http://127.0.0.1:$FPORT/v1
approvals:
  mode: "off"
Y
}

# hermesd -vv in the background; SUP its pid. Waits for the roles given
# (default: all) to be ready.
sup_start() {
	"$BIN/hermesd" -d -vv >>"$LOG" 2>&1 &
	SUP=$!
	H_PIDS="$H_PIDS $SUP"
	wait_ready 10 "${1:-}" || { cp "$LOG" "$T/hermesd.log"; h_fail "hermesd not ready"; }
}

# Until every role (or those in $2) is ready; 1 on timeout.
wait_ready() {
	local i=0 n st
	while [ $i -lt $(($1 * 50)) ]; do
		st=$(h_status 2>/dev/null)
		if [ -n "$st" ]; then
			if [ -n "${2:-}" ]; then
				n=$(echo "$st" | awk -v r=" $2 " 'index(r, " " $1 " ") && $3 != "ready"' | wc -l)
			else
				n=$(echo "$st" | awk '$3 != "ready"' | wc -l)
			fi
			if [ "$n" = 0 ]; then
				H_WORKER_PIDS="$H_WORKER_PIDS $(echo "$st" | awk '{ print $2 }')"
				return 0
			fi
		fi
		sleep 0.02
		i=$((i + 1))
	done
	return 1
}

sup_stop() {
	kill -TERM "$SUP" 2>/dev/null
	wait "$SUP" 2>/dev/null
}

# Until ROLE has a pid other than OLD and is ready (within SECS); prints
# the new pid.
wait_replaced() {
	local role=$1 old=$2 secs=$3 i=0 new st
	while [ $i -lt $((secs * 50)) ]; do
		set -- $(h_status 2>/dev/null | awk -v r="$role" '$1 == r { print $2, $3 }')
		new=${1:-} st=${2:-}
		if [ -n "$new" ] && [ "$new" != "$old" ] && [ "$new" != 0 ] && [ "$st" = ready ]; then
			H_WORKER_PIDS="$H_WORKER_PIDS $new"
			echo "$new"
			return 0
		fi
		sleep 0.02
		i=$((i + 1))
	done
	return 1
}

# One turn through the driver; prints its result line ("ok MS", "error MS
# CODE: TEXT", "hang MS", "closed MS", "noopen MS").
turn() {
	"$D" faultturn "$HERMES_SOCKET" "$1" "${2:-5000}" 2>>"$F/drive.err" | grep -v '^opened$'
}

# Turns until one ends ok (at most N tries, a pause between); 0 if one did.
recovers() {
	local i r
	for i in $(seq "${1:-20}"); do
		r=$(turn "recovery $i" 5000)
		case "$r" in ok*) return 0 ;; esac
		sleep 0.25
	done
	echo "no recovery, last turn: $r" >&2
	return 1
}

# A streamed answer of 31 pieces 10 ms apart after one terminal tool call,
# echoing the user's message (so the store can be checked per trial).
tool_script() {
	words=$(seq 30 | sed 's/^/w/' | tr '\n' ' ')
	cat >"$F/script.json" <<J
{"turns": [
 {"match_tool": "fault-tool-ran", "echo": true, "text": "$words answer to: ", "delay_ms": 10, "repeat": true},
 {"text": "Checking. ", "tool_calls": [{"id": "c1", "name": "terminal", "arguments": {"command": "sleep 0.15; echo fault-tool-ran"}}], "repeat": true}
]}
J
}

# ---------------------------------------------------------------------
# kill -9 of each worker role at a random point of a streaming turn (tool
# call, then a 300 ms streamed answer). Each trial: the turn ends (done ok,
# or a typed error event; for the agent, whose death closes the client's
# connection, the CLI's "hermesd closed the connection" error) within 5 s;
# the role is back and ready. After all trials, with hermesd stopped: no
# message lost (a turn that ended ok has its user message and one final
# answer in state.db) and none duplicated (no user message twice, no
# session with two final answers); restart-to-ready p99 <=
# 100 ms (spawn to READY from "ready in N us", backoff excluded);
# supervisor RSS and fd count unchanged. Three kills per role, then a
# reload (SIGHUP) resets the intensity counter (5 restarts in 60 s).
fault_kill9() {
	new_home kill9
	tool_script
	start_fakellm "$F/script.json"
	sup_start
	recovers 5 || h_fail "kill9: the first turn failed"
	# Warm-up (not counted): one kill of each role and a reload, so the
	# baseline has the supervisor's buffers for restarts already grown.
	for role in $ROLES; do
		old=$(h_pid "$role")
		h_kill -9 "$old"
		wait_replaced "$role" "$old" 10 >/dev/null || h_fail "kill9: $role not restarted"
	done
	kill -HUP "$SUP"
	sleep 0.2
	wait_ready 10 || h_fail "kill9: not ready after a reload"
	recovers 5 || h_fail "kill9: no turn after the warm-up"
	sleep 0.3
	fd0=$(h_fds "$SUP")
	rss0=$(rss_kb "$SUP")
	: >"$F/lat"
	for role in $ROLES; do
		fails=0 nok=0 nerr=0 nclosed=0 maxms=0 codes=""
		for i in $(seq "$TRIALS"); do
			if [ $((i % 3)) = 1 ] && [ "$i" -gt 1 ]; then
				kill -HUP "$SUP"
				sleep 0.2
				wait_ready 10 || h_fail "kill9: not ready after a reload"
			fi
			old=$(h_pid "$role")
			msg="k9-$role-$i"
			"$D" faultturn "$HERMES_SOCKET" "$msg" 5000 >"$F/ft.out" 2>>"$F/drive.err" &
			dp=$!
			j=0
			while ! grep -q '^opened' "$F/ft.out" 2>/dev/null && [ $j -lt 250 ]; do
				sleep 0.02; j=$((j + 1))
			done
			ms_sleep "$(rnd 400)"
			h_kill -9 "$old"
			wait "$dp"
			res=$(grep -v '^opened' "$F/ft.out")
			set -- $res
			kind=${1:-none} ms=${2:-99999}
			[ "$ms" -gt "$maxms" ] && maxms=$ms
			bad=""
			case "$kind" in
			ok) nok=$((nok + 1)) ;;
			error) nerr=$((nerr + 1)); codes="$codes ${3%:}" ;;
			closed) [ "$role" = agent ] && nclosed=$((nclosed + 1)) || bad="closed" ;;
			*) bad="$kind" ;;
			esac
			[ "$ms" -gt 5000 ] && bad="${bad:+$bad, }ended after $ms ms"
			if ! new=$(wait_replaced "$role" "$old" 10); then
				bad="${bad:+$bad, }not restarted"
				wait_ready 10
				new=$(h_pid "$role")
			else
				sed -n "s/.*$role: ready in \([0-9]*\) us (pid $new,.*/\1/p" "$LOG" >>"$F/lat"
			fi
			printf 'kill9\t%s\t%s\t%s\t%s\t%s\n' "$role" "$i" "$msg" "$kind" "$res" >>"$TR"
			if [ -n "$bad" ]; then
				fails=$((fails + 1))
				echo "kill9 $role trial $i: $bad ($res)" >&2
			fi
		done
		codes=$(echo "$codes" | tr ' ' '\n' | sed '/^$/d' | sort | uniq -c | awk '{ printf "%s%s x%s", s, $2, $1; s = ", " }')
		eval "K9_$(echo "$role" | tr -d -)=\"\$fails|\$nok|\$nerr|\$nclosed|\$maxms|\$codes\""
	done
	sleep 0.5
	fd1=$(h_fds "$SUP")
	rss1=$(rss_kb "$SUP")
	kill -0 "$SUP" 2>/dev/null || h_fail "kill9: the supervisor died"
	sup_stop
	# The store, read after hermesd stopped.
	# Per trial message: its user row, and the final answers (assistant
	# rows without tool calls) of its session (one session per trial).
	sqlite3 "$HERMES_HOME/state.db" \
	    "SELECT 'u', content FROM messages WHERE role = 'user' AND content LIKE 'k9-%';
	     SELECT 'a', u.content FROM messages a JOIN messages u
	         ON u.session_id = a.session_id AND u.role = 'user' AND u.content LIKE 'k9-%'
	         WHERE a.role = 'assistant' AND (a.tool_calls IS NULL OR a.tool_calls IN ('', '[]'));" \
	    >"$F/db.txt" 2>"$F/db.err" || h_fail "kill9: sqlite3: $(cat "$F/db.err")"
	for role in $ROLES; do
		eval "v=\$K9_$(echo "$role" | tr -d -)"
		IFS='|' read -r fails nok nerr nclosed maxms codes <<E
$v
E
		set -- $(awk -F '\t' -v r="$role" -v db="$F/db.txt" '
		    BEGIN { while ((getline l < db) > 0) { split(l, f, "|"); n[f[1] "|" f[2]]++ } }
		    $1 == "kill9" && $2 == r {
			u = n["u|" $4]; a = n["a|" $4]
			if (u > 1 || a > 1) dup++
			if ($5 == "ok" && (u != 1 || a != 1)) lost++
		    }
		    END { printf "%d %d\n", lost, dup }' "$TR")
		lost=$1 dup=$2
		fails=$((fails + lost + dup))
		row "kill -9 $role mid-turn" "$TRIALS" "$fails" \
		    "turn ended ok $nok, typed error $nerr${codes:+ ($codes)}, connection closed $nclosed, slowest end ${maxms} ms; lost $lost, duplicated $dup"
	done
	n=$(wc -l <"$F/lat")
	p50=$(pctl 50 "$F/lat") p99=$(pctl 99 "$F/lat")
	f=0
	[ "$n" -gt 0 ] && [ "$p99" -le 100000 ] || f=1
	row "restart-to-ready after kill -9" "$n" "$f" \
	    "spawn to READY p50 $p50 us, p99 $p99 us, max $(sort -n "$F/lat" | tail -n 1) us (goal p99 <= 100000; backoff excluded)"
	f=0
	[ "$fd0" = "$fd1" ] || f=1
	# Under ASan the allocator's quarantine and shadow grow RSS by
	# design: the RSS bound holds for the production build only.
	rssnote="fail if fds differ or RSS grows > 256 KB"
	if [ -n "${ASAN_OPTIONS:-}" ]; then
		rssnote="fail if fds differ; RSS not judged under ASan"
	else
		[ "$rss1" -le $((rss0 + 256)) ] || f=1
	fi
	row "supervisor after the kills" 1 "$f" \
	    "fds $fd0 -> $fd1, RSS $rss0 -> $rss1 KB ($rssnote)"
}

# ---------------------------------------------------------------------
# kill -9 of hermesd and every worker at once while two clients write
# turns as fast as they can. After each kill: PRAGMA integrity_check is
# "ok", and every turn acknowledged to a client (a done event with ok) has
# its user message and its answer in state.db.
fault_tree() {
	new_home tree
	cat >"$F/script.json" <<J
{"turns": [{"echo": true, "text": "re: ", "repeat": true}]}
J
	start_fakellm "$F/script.json"
	fails=0 acks=0 bad_integrity=0 missing=0
	for i in $(seq "$TRIALS"); do
		sup_start
		: >"$F/ack.1"; : >"$F/ack.2"
		"$D" turns "$HERMES_SOCKET" 100000 20 "t$i-a" >"$F/ack.1" 2>>"$F/drive.err" &
		d1=$!
		"$D" turns "$HERMES_SOCKET" 100000 20 "t$i-b" >"$F/ack.2" 2>>"$F/drive.err" &
		d2=$!
		ms_sleep $((200 + $(rnd 600)))
		pids=$(h_status 2>/dev/null | awk '$2 > 1 { print $2 }')	# never 0: a process group
		h_kill -9 $pids "$SUP"
		wait "$SUP" 2>/dev/null
		wait "$d1" "$d2" 2>/dev/null
		# Workers die with hermesd (PDEATHSIG); make sure before reading.
		for p in $pids; do
			while kill -0 "$p" 2>/dev/null; do sleep 0.01; done
		done
		ic=$(sqlite3 "$HERMES_HOME/state.db" 'PRAGMA integrity_check;' 2>&1)
		cat "$F/ack.1" "$F/ack.2" | awk '$1 == "ack" { print $2 }' >"$F/acked"
		n=$(wc -l <"$F/acked")
		acks=$((acks + n))
		sqlite3 "$HERMES_HOME/state.db" \
		    "SELECT content FROM messages WHERE role = 'user' AND content LIKE 't$i-%';
		     SELECT substr(content, 5) FROM messages WHERE role = 'assistant' AND content LIKE 're: t$i-%';" \
		    >"$F/have" 2>&1
		m=$(awk -v have="$F/have" 'BEGIN { while ((getline l < have) > 0) c[l]++ }
		    { if (c[$1] < 2) miss++ } END { print miss + 0 }' "$F/acked")
		bad=""
		[ "$ic" = ok ] || { bad="integrity: $ic"; bad_integrity=$((bad_integrity + 1)); }
		[ "$m" = 0 ] || { bad="${bad:+$bad, }$m acknowledged turns missing"; missing=$((missing + m)); }
		[ "$n" -gt 0 ] || bad="${bad:+$bad, }no turn acknowledged before the kill"
		printf 'tree\t-\t%s\t%s acks\t%s\t%s\n' "$i" "$n" "${bad:-ok}" "$ic" >>"$TR"
		if [ -n "$bad" ]; then
			fails=$((fails + 1))
			echo "tree trial $i: $bad" >&2
		fi
	done
	total=$(sqlite3 "$HERMES_HOME/state.db" 'SELECT count(*) FROM messages;')
	row "kill -9 of the whole tree in writes" "$TRIALS" "$fails" \
	    "integrity_check ok $((TRIALS - bad_integrity))/$TRIALS; $acks turns acknowledged, $missing of them missing; $total messages in the store at the end"
}

# ---------------------------------------------------------------------
# ENOSPC: HERMES_HOME on a 16 MB tmpfs, filled up after a first turn.
# Then a turn in a session opened before the disk filled (appends fail)
# and a turn in a new session (the session row fails): each ends with a
# typed error (or ok) within 5 s, the store logs the failure, the
# supervisor lives; once the filler is removed, turns succeed again and
# PRAGMA integrity_check is ok. Root only (mount).
fault_enospc() {
	if [ "$(id -u)" != 0 ]; then
		row "ENOSPC (full tmpfs home)" 0 0 "n/a: needs root to mount a tmpfs"
		return
	fi
	fails=0 notes=""
	for i in $(seq "$SLOW"); do
		new_home "enospc$i"
		if ! mount -t tmpfs -o size=16m,mode=700 tmpfs "$HERMES_HOME"; then
			row "ENOSPC (full tmpfs home)" 0 0 "n/a: mount -t tmpfs failed here (no CAP_SYS_ADMIN?)"
			return
		fi
		MOUNTS="${MOUNTS:-} $HERMES_HOME"
		tool_script
		start_fakellm "$F/script.json"
		sup_start
		bad=""
		recovers 5 || bad="no first turn"
		# A session opened now, its message sent once the disk is full.
		rm -f "$F/gate"
		mkfifo "$F/gate"
		"$D" faultturn "$HERMES_SOCKET" "enospc open session" 5000 gate \
		    <"$F/gate" >"$F/ft.out" 2>>"$F/drive.err" &
		dp=$!
		exec 7>"$F/gate"
		j=0
		while ! grep -q '^opened' "$F/ft.out" 2>/dev/null && [ $j -lt 250 ]; do
			sleep 0.02; j=$((j + 1))
		done
		dd if=/dev/zero of="$HERMES_HOME/filler" bs=64k 2>/dev/null
		lines=$(wc -l <"$LOG")
		echo go >&7
		exec 7>&-
		wait "$dp"
		r1=$(grep -v '^opened' "$F/ft.out")
		r2=$(turn "enospc new session")
		case "$r1" in ok*|error*) ;; *) bad="${bad:+$bad, }turn in an open session on a full disk: $r1" ;; esac
		case "$r2" in ok*|error*) ;; *) bad="${bad:+$bad, }turn in a new session on a full disk: $r2" ;; esac
		logl=$(tail -n +"$((lines + 1))" "$LOG" | grep -i -m1 'full\|space\|ENOSPC\|disk' | cut -c1-160)
		[ -n "$logl" ] || bad="${bad:+$bad, }no log line about the full disk"
		kill -0 "$SUP" 2>/dev/null || bad="${bad:+$bad, }supervisor died"
		rm -f "$HERMES_HOME/filler"
		wait_ready 10
		recovers 20 || bad="${bad:+$bad, }no recovery after freeing space"
		sup_stop
		ic=$(sqlite3 "$HERMES_HOME/state.db" 'PRAGMA integrity_check;' 2>&1)
		[ "$ic" = ok ] || bad="${bad:+$bad, }integrity: $ic"
		umount "$HERMES_HOME" && MOUNTS=$(echo "$MOUNTS" | sed "s# $HERMES_HOME##")
		printf 'enospc\t-\t%s\t-\t%s\t%s | %s | %s\n' "$i" "${bad:-ok}" "$r1" "$r2" "$logl" >>"$TR"
		[ -n "$bad" ] && { fails=$((fails + 1)); echo "enospc trial $i: $bad" >&2; }
		notes="open session: '$r1'; new session: '$r2'; log: '$logl'"
	done
	row "ENOSPC (full tmpfs home)" "$SLOW" "$fails" "last trial: $notes; then integrity_check, recovery once freed"
}

# ---------------------------------------------------------------------
# EMFILE in each process: RLIMIT_NOFILE set to 0 on the live process with
# prlimit (every new fd fails with EMFILE; the open ones keep working) for
# 3 s while a turn (with a tool call) runs, then restored. The turn ends
# (ok, or a typed error; for the supervisor, whose accept() fails, the
# client is served late or not within the window; for the agent, which
# cannot receive the client's fd, the connection closes within 5 s: the
# CLI says "hermesd closed the connection") within 20 s; the
# process logs something (a non-debug line after the fault); no busy loop
# (< 50% of a core in that process during the fault); the supervisor
# lives; once the limit is restored, a turn succeeds.
fault_emfile() {
	if ! command -v prlimit >/dev/null; then
		row "EMFILE" 0 0 "n/a: prlimit not installed"
		return
	fi
	new_home emfile
	tool_script
	start_fakellm "$F/script.json"
	sup_start
	for who in supervisor $ROLES; do
		fails=0 notes=""
		for i in $(seq "$SLOW"); do
			wait_ready 10
			if [ "$who" = supervisor ]; then pid=$SUP; tag=hermesd; else pid=$(h_pid "$who"); tag=$who; fi
			lim=$(prlimit --pid "$pid" --nofile --output SOFT,HARD --noheadings | awk '{ print $1 ":" $2 }')
			hard=${lim#*:}
			lines=$(wc -l <"$LOG")
			t0=$(ticks "$pid")
			if ! prlimit --pid "$pid" --nofile="0:$hard"; then
				fails=$((fails + 1))
				echo "emfile $who trial $i: prlimit on pid $pid failed" >&2
				continue
			fi
			"$D" faultturn "$HERMES_SOCKET" "emfile $who $i" 20000 >"$F/ft.out" 2>>"$F/drive.err" &
			dp=$!
			sleep 3
			t1=$(ticks "$pid")
			kill -0 "$pid" 2>/dev/null && prlimit --pid "$pid" --nofile="$lim"
			wait "$dp"
			r=$(grep -v '^opened' "$F/ft.out")
			bad=""
			case "$who:$r" in
			*:ok*|*:error*) ;;
			supervisor:noopen*) ;;
			agent:closed*) ;;
			agent:noopen*)	# the fd never reached it: only a close
				set -- $r
				[ "${2:-99999}" -lt 5000 ] || bad="turn: $r" ;;
			*) bad="turn: $r" ;;
			esac
			cpu=$(awk -v d=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%d", 100 * d / hz / 3 }')
			[ "$cpu" -lt 50 ] || bad="${bad:+$bad, }busy: $cpu% of a core during the fault"
			kill -0 "$SUP" 2>/dev/null || h_fail "EMFILE in $who: the supervisor died"
			# The process's own line, or the supervisor's about it.
			logl=$(tail -n +"$((lines + 1))" "$LOG" | grep "$tag\[\|hermesd\[[0-9]*\]: $who" | grep -v ': debug: ' | grep -m1 -v 'ready in\|started pid' | cut -c1-160)
			[ -n "$logl" ] || bad="${bad:+$bad, }no log line"
			wait_ready 15 || bad="${bad:+$bad, }not every worker ready after the limit was restored"
			recovers 20 || bad="${bad:+$bad, }no recovery"
			printf 'emfile\t%s\t%s\t-\t%s\t%s | %s\n' "$who" "$i" "${bad:-ok}" "$r" "$logl" >>"$TR"
			[ -n "$bad" ] && { fails=$((fails + 1)); echo "emfile $who trial $i: $bad" >&2; }
			notes="turn '$r'; log '${logl:-none}'"
		done
		row "EMFILE in $who" "$SLOW" "$fails" "last trial: $notes"
	done
	sup_stop
}

# ---------------------------------------------------------------------
# SIGSTOP of each worker: caught by the heartbeat (3 missed pings at 2 s),
# killed, restarted and ready within 10 s; the log says so; a turn
# succeeds afterwards.
fault_sigstop() {
	new_home sigstop
	tool_script
	start_fakellm "$F/script.json"
	sup_start
	for role in $ROLES; do
		fails=0 took=""
		for i in $(seq "$SLOW"); do
			old=$(h_pid "$role")
			t0=$(date +%s%N)
			kill -STOP "$old"
			bad=""
			if new=$(wait_replaced "$role" "$old" 12); then
				took=$(( ($(date +%s%N) - t0) / 1000000 ))
			else
				bad="not replaced in 12 s"
				kill -KILL "$old" 2>/dev/null
			fi
			grep -q "$role (pid $old) missed 3 heartbeats" "$LOG" || bad="${bad:+$bad, }no heartbeat log line"
			wait_ready 10
			recovers 20 || bad="${bad:+$bad, }no turn afterwards"
			printf 'sigstop\t%s\t%s\t-\t%s\t%s ms\n' "$role" "$i" "${bad:-ok}" "$took" >>"$TR"
			[ -n "$bad" ] && { fails=$((fails + 1)); echo "sigstop $role trial $i: $bad" >&2; }
			kill -HUP "$SUP"	# reset the restart counters
			sleep 0.2
			wait_ready 10
		done
		row "SIGSTOP $role" "$SLOW" "$fails" "frozen to replaced and ready in $took ms (last trial; heartbeat 2 s x 3 misses)"
	done
	kill -0 "$SUP" 2>/dev/null || h_fail "sigstop: the supervisor died"
	sup_stop
}

# ---------------------------------------------------------------------
# A worker cuts a frame in the middle: tests/faults/faultworker runs as
# ROLE (HERMES_FAULT=midframe:ROLE; the real workers for the other roles):
# once wired, it writes a length prefix and part of a body to its first
# peer and to the supervisor, shuts both sockets for writing and stays
# alive. The supervisor logs the cut frame, replaces the worker (and,
# since the fault repeats, gives up on it at the intensity limit); it
# never dies; once the real worker is back (reload), a turn succeeds.
fault_midframe() {
	if [ ! -x "$BIN/tests/faultworker" ]; then
		row "frame cut mid-way" 0 1 "build/tests/faultworker not built"
		return
	fi
	for role in $ROLES; do
		fails=0 notes=""
		for i in $(seq "$SLOW"); do
			new_home "mid-$role-$i"
			for b in hermes-agent hermes-llm-fetch hermes-store hermes-tool-local; do
				ln -sf "$BIN/$b" "$F/libexec/$b"
			done
			case $role in
			store) bin=hermes-store ;; llm-fetch) bin=hermes-llm-fetch ;;
			tool) bin=hermes-tool-local ;; agent) bin=hermes-agent ;;
			esac
			ln -sf "$BIN/tests/faultworker" "$F/libexec/$bin"
			export HERMES_LIBEXEC="$F/libexec" HERMES_FAULT="midframe:$role"
			tool_script
			start_fakellm "$F/script.json"
			others=$(echo "$ROLES" | tr ' ' '\n' | grep -vx "$role" | tr '\n' ' ')
			"$BIN/hermesd" -d -vv >>"$LOG" 2>&1 &
			SUP=$!
			H_PIDS="$H_PIDS $SUP"
			bad=""
			# The cut repeats at every restart: wait for the give-up.
			j=0
			while [ $j -lt 300 ]; do
				st=$(h_status 2>/dev/null | awk -v r="$role" '$1 == r { print $3 }')
				[ "$st" = failed ] && break
				sleep 0.05; j=$((j + 1))
			done
			[ "$st" = failed ] || bad="$role not given up on (state $st)"
			kill -0 "$SUP" 2>/dev/null || bad="${bad:+$bad, }supervisor died"
			cuts=$(grep -c "$role: channel: connection closed mid-frame" "$LOG")
			logl=$(grep -v faultworker "$LOG" | grep -i -m1 "$role.*\(frame\|truncat\|eof\|closed\|short\)\|\(frame\|truncat\).*$role" | cut -c1-160)
			[ -n "$logl" ] || bad="${bad:+$bad, }no log line about the cut frame"
			wait_ready 5 "$others" || bad="${bad:+$bad, }other roles not ready"
			# Clear the fault: the real program, then a reload.
			ln -sf "$BIN/$bin" "$F/libexec/$bin"
			kill -HUP "$SUP"
			sleep 0.2
			wait_ready 10 || bad="${bad:+$bad, }not ready after the fault cleared"
			recovers 20 || bad="${bad:+$bad, }no turn after the fault cleared"
			sup_stop
			unset HERMES_FAULT HERMES_LIBEXEC
			printf 'midframe\t%s\t%s\t-\t%s\t%s cut frames | %s\n' "$role" "$i" "${bad:-ok}" "$cuts" "$logl" >>"$TR"
			[ -n "$bad" ] && { fails=$((fails + 1)); echo "midframe $role trial $i: $bad" >&2; }
			notes="$cuts cut frames before the give-up; log: '$logl'"
		done
		row "frame cut mid-way by $role" "$SLOW" "$fails" "last trial: $notes"
	done
}

# ---------------------------------------------------------------------
# A restart storm: the tool runner's program is swapped for one that
# exits at once (tests/testworker, HERMES_FAULT=crash:tool) and the live
# one killed. Backoff doubles from 100 ms (100 200 400 800 1600), the role
# is given up on after 5 restarts, no sooner than the sum of the delays;
# an open session's turns meanwhile are as fast as before (p99 within
# 3x + 10 ms of the same session's p99 before the storm); turns succeed
# after the fault clears.
fault_storm() {
	fails=0 notes=""
	for i in $(seq "$SLOW"); do
		new_home "storm$i"
		for b in hermes-agent hermes-llm-fetch hermes-store hermes-tool-local; do
			ln -sf "$BIN/$b" "$F/libexec/$b"
		done
		export HERMES_LIBEXEC="$F/libexec" HERMES_FAULT="crash:tool"
		cat >"$F/script.json" <<J
{"turns": [{"echo": true, "text": "re: ", "repeat": true}]}
J
		start_fakellm "$F/script.json"
		sup_start
		bad=""
		set -- $("$D" turns "$HERMES_SOCKET" 300 1000000)
		base50=${10:-0} base99=${12:-0}
		lines=$(wc -l <"$LOG")
		ln -sf "$BIN/tests/testworker" "$F/libexec/hermes-tool-local"
		t0=$(date +%s%N)
		h_kill -9 "$(h_pid tool)"
		set -- $("$D" turns "$HERMES_SOCKET" 300 1000000)
		st50=${10:-0} st99=${12:-0}
		st=$(h_status | awk '$1 == "tool" { print $3 }')
		j=0
		while [ "$st" != failed ] && [ $j -lt 300 ]; do
			sleep 0.02; j=$((j + 1))
			st=$(h_status | awk '$1 == "tool" { print $3 }')
		done
		gave=$(( ($(date +%s%N) - t0) / 1000000 ))
		delays=$(tail -n +"$((lines + 1))" "$LOG" | sed -n 's/.*tool .*restarting in \([0-9]*\) ms.*/\1/p' | tr '\n' ' ')
		[ "$st" = failed ] || bad="tool not given up on (state $st)"
		[ "$delays" = "100 200 400 800 1600 " ] || bad="${bad:+$bad, }backoff delays '$delays'"
		[ "$gave" -ge 3100 ] || bad="${bad:+$bad, }given up after $gave ms, before the 3100 ms of backoff"
		tail -n +"$((lines + 1))" "$LOG" | grep -q 'tool .*giving up' || bad="${bad:+$bad, }no give-up log line"
		[ "$st99" -le $((base99 * 3 + 10000)) ] || bad="${bad:+$bad, }turn p99 $st99 us in the storm vs $base99 us before"
		kill -0 "$SUP" 2>/dev/null || bad="${bad:+$bad, }supervisor died"
		ln -sf "$BIN/hermes-tool-local" "$F/libexec/hermes-tool-local"
		kill -HUP "$SUP"
		sleep 0.2
		wait_ready 10 || bad="${bad:+$bad, }not ready after the fault cleared"
		recovers 10 || bad="${bad:+$bad, }no turn after the fault cleared"
		sup_stop
		unset HERMES_FAULT HERMES_LIBEXEC
		printf 'storm\ttool\t%s\t-\t%s\tdelays %s| gave up after %s ms | p50/p99 %s/%s -> %s/%s us\n' \
		    "$i" "${bad:-ok}" "$delays" "$gave" "$base50" "$base99" "$st50" "$st99" >>"$TR"
		[ -n "$bad" ] && { fails=$((fails + 1)); echo "storm trial $i: $bad" >&2; }
		notes="backoff ${delays}ms, given up after $gave ms; an open session's turns p50/p99 $base50/$base99 us before, $st50/$st99 us during the storm"
	done
	row "restart storm (tool crashing at start)" "$SLOW" "$fails" "last trial: $notes"
}

MOUNTS=""
cleanup_mounts() {
	local m
	for m in $MOUNTS; do
		umount "$m" 2>/dev/null
	done
}
# Processes first (lib.sh's cleanup, told to keep the files), then the
# mounts, then the files.
KEEP=${KEEP_TMP:-}
trap 'KEEP_TMP=1 h_cleanup; cleanup_mounts; [ -n "$KEEP" ] || rm -rf "$T"' EXIT

start=$(date +%s)
want kill9 && fault_kill9
want tree && fault_tree
want enospc && fault_enospc
want emfile && fault_emfile
want sigstop && fault_sigstop
want midframe && fault_midframe
want storm && fault_storm

{
	echo "hermes-c fault suite, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, seed $SEED, $(($(date +%s) - start)) s"
	echo
	printf '%-40s %6s %8s  %s\n' fault trials failures notes
	awk -F '\t' '{ printf "%-40s %6s %8s  %s\n", $1, $2, $3, $4 }' "$TABLE"
} | tee "$OUT/table.txt"
cp "$TR" "$OUT/trials.tsv"
# Every fault's daemon log, for the failures' post-mortem.
rm -rf "$OUT/logs"
mkdir -p "$OUT/logs"
for l in "$T"/*/hermesd.log; do
	[ -f "$l" ] && cp "$l" "$OUT/logs/$(basename "$(dirname "$l")").log"
done
exit $FAILED
