# agent: see docs/HACKING.md
