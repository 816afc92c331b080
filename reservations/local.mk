# reservations: see docs/ARCHITECTURE.md
