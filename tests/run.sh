#!/bin/sh
# Run every test: the unit programs named in $UNIT_TESTS (set by make),
# then every tests/regress/*.sh. Exit status 77 means skipped.
# Ends with "N passed, N failed, N skipped".
#
# REQUIRE_SANDBOX=1 (set by .ci/run) is read by the sandbox suite, which
# then fails rather than skips when a mechanism is missing.
set -u
cd "$(dirname "$0")/.." || exit 1
B=${B:-build}
LOGS=$B/test-logs
mkdir -p "$LOGS"
pass=0
fail=0
skip=0
failed=""

run_one() {
	name=$1
	shift
	log="$LOGS/$(basename "$name").log"
	start=$(date +%s)
	timeout -k 10 "${TEST_TIMEOUT:-600}" "$@" >"$log" 2>&1
	rc=$?
	secs=$(($(date +%s) - start))
	if [ $rc = 0 ]; then
		pass=$((pass + 1))
		echo "PASS  $name (${secs}s)"
	elif [ $rc = 77 ]; then
		skip=$((skip + 1))
		echo "SKIP  $name: $(grep -m1 -i skip "$log")"
	else
		fail=$((fail + 1))
		failed="$failed $name"
		echo "FAIL  $name (exit $rc, ${secs}s); last lines of $log:"
		tail -n 25 "$log" | sed 's/^/      /'
	fi
}

for t in ${UNIT_TESTS:-}; do
	[ -x "$t" ] || { echo "FAIL  $t: not built"; fail=$((fail + 1)); continue; }
	run_one "$t" "$t"
done
for t in tests/regress/*.sh; do
	case "$t" in */lib.sh) continue ;; esac
	[ -n "${ONLY:-}" ] && case "$t" in *"$ONLY"*) ;; *) continue ;; esac
	run_one "$t" env B="$B" sh "$t"
done

[ -n "$failed" ] && echo "failed:$failed"
echo "$pass passed, $fail failed, $skip skipped"
[ $fail = 0 ]
