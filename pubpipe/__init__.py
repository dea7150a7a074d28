"""Multilingual publication build pipeline: one canonical brief, many editions."""
