#!/bin/sh
# Run every benchmark and print one table: figure, hermes-c, the reference
# measured in the same run, the ratio, notes. Also writes it to
# $B/bench/results.md with the date and the machine.
set -u
cd "$(dirname "$0")/.." || exit 1
B=${B:-build}
mkdir -p "$B/bench"
raw=$B/bench/rows.tsv
: > "$raw"
for b in ${BENCHES:-}; do
	echo "running $b" >&2
	"$b" 2>>"$B/bench/stderr.log" | grep '^BENCH' >> "$raw" ||
	    echo "BENCH	$(basename "$b")	FAILED	-	-	see $B/bench/stderr.log" >> "$raw"
done
for s in ${BENCH_SCRIPTS:-}; do
	echo "running $s" >&2
	B=$B sh "$s" 2>>"$B/bench/stderr.log" | grep '^BENCH' >> "$raw" ||
	    echo "BENCH	$(basename "$s")	FAILED	-	-	see $B/bench/stderr.log" >> "$raw"
done
out=$B/bench/results.md
{
	echo "hermes-c benchmarks, $(date -u +%Y-%m-%d), $(uname -m), $(nproc) cores,"
	echo "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r)"
	echo
	echo "| figure | hermes-c | reference | ratio | notes |"
	echo "|---|---|---|---|---|"
	awk -F '\t' '{ printf "| %s | %s | %s | %s | %s |\n", $2, $3, $4, $5, $6 }' "$raw"
} > "$out"
cat "$out"
