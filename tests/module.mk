# tests: see docs/HACKING.md
# tests/: the harness every worker test links.
HARNESS	:= $(B)/tests/harness.o
