"""Input formats: one module per format, each turning bytes into `Paper` records (no DB, no network)."""
