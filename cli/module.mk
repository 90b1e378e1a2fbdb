# cli: see docs/HACKING.md
