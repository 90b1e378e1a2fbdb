#!/bin/sh
# make demo must keep working: run scripts/demo.sh (offline, its own
# temporary HERMES_HOME, fakellm and hermesd, all killed by pid) and
# check that every step reported in.
TOP=$(cd "$(dirname "$0")/../.." && pwd)
B=${B:-build}
case "$B" in /*) BIN=$B ;; *) BIN=$TOP/$B ;; esac
for b in hermes-agent hermes-llm-fetch hermes-store hermes-tool-local fakellm; do
	[ -x "$BIN/$b" ] || { echo "SKIP: $b not built"; exit 77; }
done
out=$(B=$B NO_COLOR=1 sh "$TOP/scripts/demo.sh" 2>&1)
rc=$?
echo "$out"
[ $rc = 0 ] || { echo "FAIL: demo exited $rc"; exit 1; }
for s in "==> 1." "==> 2." "==> 3." "==> 4." "==> 5." "==> 6." "==> 7." "DEMO OK"; do
	echo "$out" | grep -q "^$s" || { echo "FAIL: no '$s' in the demo"; exit 1; }
done
echo "$out" | grep -q "$(printf '\033')" && { echo "FAIL: escape codes with NO_COLOR"; exit 1; }
echo "PASS cli_demo"
