# bench: see docs/HACKING.md
