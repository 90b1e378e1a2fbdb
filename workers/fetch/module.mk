# workers/fetch: see docs/HACKING.md
