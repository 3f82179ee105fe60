"""Input formats: each module turns bytes into `Paper` records and nothing else (no database)."""
