# packaging: see docs/ARCHITECTURE.md
