"""Durable background jobs: a row per job is the source of truth; workers claim, run and finish them."""
