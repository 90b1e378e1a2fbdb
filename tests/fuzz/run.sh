#!/bin/sh
# Run each libFuzzer target for FUZZ_SECONDS: 0 crashes, 0 leaks, no
# single allocation over 64 MiB (-malloc_limit_mb), RSS under 2 GiB.
# Seeds: tests/fuzz/corpus/<target>/ (copied; the repo is never written).
set -u
cd "$(dirname "$0")/../.." || exit 1
B=${B:-build}
SECS=${FUZZ_SECONDS:-60}
pass=0
fail=0
for t in "$@"; do
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
		pass=$((pass + 1))
		echo "PASS  fuzz $t: ${runs:-?} runs in ${SECS}s"
	else
		fail=$((fail + 1))
		echo "FAIL  fuzz $t (exit $rc):"
		grep -E 'ERROR|SUMMARY|malloc|leak' "$log" | head -n 10 | sed 's/^/      /'
	fi
	rm -rf "$work"
done
echo "$pass passed, $fail failed"
[ $fail = 0 ]
