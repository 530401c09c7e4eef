"""The fleet service's adapters to external systems: one per system (only Karmada today)."""
