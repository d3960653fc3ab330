"""The embedded sandbox CRMs: shared store, server, faults, accounting, data."""
