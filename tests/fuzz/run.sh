#!/bin/sh
# Run each libFuzzer target for FUZZ_SECONDS: 0 crashes, 0 leaks, no
# single allocation over 64 MiB (-malloc_limit_mb), RSS under 2 GiB.
# FUZZ_JOBS targets at a time (default: the number of cores).
# Seeds: tests/fuzz/corpus/<target>/ (copied; the repo is never written).
set -u
cd "$(dirname "$0")/../.." || exit 1
B=${B:-build}
SECS=${FUZZ_SECONDS:-60}
JOBS=${FUZZ_JOBS:-$(nproc)}
RES=$(mktemp -d)

one() {
	t=$1
	bin=$B/fuzz/$t
	work=$(mktemp -d)
	[ -d "tests/fuzz/corpus/$t" ] && cp -r "tests/fuzz/corpus/$t/." "$work/"
	log=$B/fuzz/$t.log
	"$bin" -max_total_time="$SECS" -malloc_limit_mb=64 -rss_limit_mb=2048 \
	    -timeout=10 -max_len=65536 -print_final_stats=1 \
	    -artifact_prefix="$B/fuzz/$t-" "$work" >"$log" 2>&1
	rc=$?
	runs=$(grep -m1 'stat::number_of_executed_units' "$log" | awk '{print $2}')
	if [ $rc = 0 ]; then
		echo "PASS  fuzz $t: ${runs:-?} runs in ${SECS}s" >"$RES/$t"
	else
		{
			echo "FAIL  fuzz $t (exit $rc):"
			grep -E 'ERROR|SUMMARY|malloc|leak' "$log" | head -n 10 |
			    sed 's/^/      /'
		} >"$RES/$t"
	fi
	rm -rf "$work"
}

running=0
for t in "$@"; do
	one "$t" &
	running=$((running + 1))
	if [ $running -ge "$JOBS" ]; then
		wait
		running=0
	fi
done
wait
pass=0
fail=0
for t in "$@"; do
	cat "$RES/$t"
	case "$(head -c 4 "$RES/$t")" in
	PASS) pass=$((pass + 1)) ;;
	*) fail=$((fail + 1)) ;;
	esac
done
rm -rf "$RES"
echo "$pass passed, $fail failed"
[ $fail = 0 ]
