# workers/tool: see docs/HACKING.md
