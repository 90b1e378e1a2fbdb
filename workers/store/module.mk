# workers/store: see docs/HACKING.md
