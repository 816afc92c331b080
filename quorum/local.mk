# quorum: see docs/ARCHITECTURE.md
