# Shared by the black-box tests: start a real hermesd on a private
# HERMES_HOME and socket, drive it, and kill everything it started (by pid)
# at exit.
#
#	. tests/regress/lib.sh
#	h_setup                  # T, HERMES_HOME, HERMES_SOCKET, BIN
#	h_use_testworkers        # optional: do-nothing workers (supervisor tests)
#	h_start [hermesd args]   # foreground hermesd, waits until all ready
#	h_status                 # "role pid state restarts rss_kb" lines
#	h_pid ROLE               # pid of a worker
#	h_wait_ready [secs]
#	h_kill_role ROLE         # kill -9, wait for the replacement (H_OLD, H_NEW)
#	h_fds PID                # open fd count
#	h_fail "msg"             # print and exit 1
#
# Exit status of a test: 0 pass, 77 skip, anything else fail.

set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
B=${B:-build}
case "$B" in /*) BIN=$B ;; *) BIN=$TOP/$B ;; esac
H_PIDS=""
H_WORKER_PIDS=""

h_fail() {
	echo "FAIL: $*" >&2
	if [ -n "${T:-}" ] && [ -f "$T/hermesd.log" ]; then
		echo "--- hermesd log (last 40 lines) ---" >&2
		tail -n 40 "$T/hermesd.log" >&2
	fi
	exit 1
}

h_skip() {
	echo "SKIP: $*"
	exit 77
}

# Pids are recycled: a pid recorded long ago may now be this very script,
# its parent (tests/run.sh) or anyone's. Never signal an ancestor, and
# signal a recorded worker only while it still runs one of our programs.
h_ancestors() {
	local p=$$
	while [ -n "$p" ] && [ "$p" -gt 1 ]; do
		echo "$p"
		p=$(awk '{ print $4 }' "/proc/$p/stat" 2>/dev/null)
	done
}

# kill that never reaches a process group: 0, 1 and non-numbers skipped.
h_kill() {
	local sig=$1 p
	shift
	for p in "$@"; do
		case "$p" in ""|*[!0-9]*|0|1) continue ;; esac
		kill "$sig" "$p" 2>/dev/null
	done
	return 0
}

h_ours() {	# h_ours PID: runs a program from the build or the test dir
	local exe
	exe=$(readlink "/proc/$1/exe" 2>/dev/null) || return 1
	case "$exe" in
	"$BIN"/*|"${T:-/nonexistent}"/*) return 0 ;;
	esac
	return 1
}

h_cleanup() {
	local p anc
	# 0, 1 and negative numbers (a failed status shows pid 0) would
	# signal whole process groups: treat them as ancestors.
	anc=" 0 1 $(h_ancestors | tr '\n' ' ') "
	for p in $H_PIDS; do
		case "$p" in ""|*[!0-9]*) continue ;; esac
		case "$anc" in *" $p "*) continue ;; esac
		kill -TERM "$p" 2>/dev/null
	done
	for p in $H_PIDS; do
		case "$p" in ""|*[!0-9]*) continue ;; esac
		case "$anc" in *" $p "*) continue ;; esac
		for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$p" 2>/dev/null
	done
	# Workers die with hermesd (PDEATHSIG); reap any straggler by pid.
	for p in ${H_WORKER_PIDS:-}; do
		case "$p" in ""|*[!0-9]*) continue ;; esac
		case "$anc" in *" $p "*) continue ;; esac
		h_ours "$p" && kill -KILL "$p" 2>/dev/null
	done
	[ -n "${T:-}" ] && [ -z "${KEEP_TMP:-}" ] && rm -rf "$T"
	return 0
}

h_setup() {
	T=$(mktemp -d "${TMPDIR:-/tmp}/hermes-test.XXXXXX")
	chmod 700 "$T"
	mkdir -p "$T/home" "$T/run" "$T/work"
	chmod 700 "$T/run"
	export HERMES_HOME="$T/home"
	export HERMES_SOCKET="$T/run/hermesd.sock"
	export HERMES_WORKSPACE="$T/work"
	unset HERMES_LIBEXEC HERMES_WORKERS HERMES_FAULT
	trap h_cleanup EXIT
	trap 'exit 130' INT TERM
}

h_use_testworkers() {
	mkdir -p "$T/libexec"
	for b in hermes-agent hermes-llm-fetch hermes-store hermes-tool-local; do
		ln -sf "$BIN/tests/testworker" "$T/libexec/$b"
	done
	export HERMES_LIBEXEC="$T/libexec"
}

h_status() {
	"$BIN/tests/sockclient" "$HERMES_SOCKET" status
}

h_pid() {
	h_status | awk -v r="$1" '$1 == r { print $2 }'
}

h_wait_ready() {
	local secs=${1:-10} i=0 n
	while [ $i -lt $((secs * 10)) ]; do
		if [ -S "$HERMES_SOCKET" ]; then
			n=$(h_status 2>/dev/null | awk '$3 != "ready"' | wc -l)
			if [ "$n" = 0 ] && [ -n "$(h_status 2>/dev/null)" ]; then
				H_WORKER_PIDS="$H_WORKER_PIDS $(h_status | awk '{print $2}')"
				return 0
			fi
		fi
		sleep 0.1
		i=$((i + 1))
	done
	h_status >&2 2>/dev/null
	return 1
}

h_start() {
	"$BIN/hermesd" -d "$@" >>"$T/hermesd.log" 2>&1 &
	H_HERMESD=$!
	H_PIDS="$H_PIDS $H_HERMESD"
	h_wait_ready 15 || h_fail "hermesd did not get every worker ready"
}

# Kill ROLE's worker with SIGKILL and wait (up to SECS, default 5) for
# its replacement to be ready: H_OLD and H_NEW hold the two pids. Fails
# the test otherwise. (Call it directly, not in $(...).)
h_kill_role() {
	local role=$1 secs=${2:-5} old new st i=0
	old=$(h_pid "$role")
	case "$old" in ""|0) h_fail "no running $role to kill" ;; esac
	kill -9 "$old"
	while :; do
		new=$(h_pid "$role")
		st=$(h_status | awk -v r="$role" '$1 == r { print $3 }')
		[ -n "$new" ] && [ "$new" != "$old" ] && [ "$new" != 0 ] && \
		    [ "$st" = ready ] && break
		i=$((i + 1))
		[ $i -gt $((secs * 50)) ] && h_fail "$role not restarted"
		sleep 0.02
	done
	H_WORKER_PIDS="$H_WORKER_PIDS $new"
	H_OLD=$old
	H_NEW=$new
}

h_fds() {
	ls "/proc/$1/fd" 2>/dev/null | wc -l
}
