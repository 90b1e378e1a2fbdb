# tests: see docs/HACKING.md
