# Shared by bench/bench_sys.sh, bench/bench_openclaw.sh and
# tests/faults/run.sh (after lib.sh's h_setup): run on a private copy of
# the programs, so a rebuild of build/ by someone else during a long run
# (a relink, a protocol bump) cannot change the binaries under test.
snapshot_bins() {
	local b snap=$T/bin
	mkdir -p "$snap/tests" "$snap/bench"
	# Every program of the system (workers exec helpers next to them).
	for b in "$BIN"/hermes*; do
		[ -f "$b" ] && [ -x "$b" ] && cp -p "$b" "$snap/"
	done
	for b in fakellm tests/testworker tests/sockclient tests/faultworker \
	    bench/bench_sys_drive; do
		[ -x "$BIN/$b" ] && cp -p "$BIN/$b" "$snap/$b"
	done
	BIN=$snap
	D=$BIN/bench/bench_sys_drive
}
