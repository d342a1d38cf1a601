"""Batch jobs: the end-of-day close (日终)."""
