"""Helpers for tests and benchmarks (a temporary PostgreSQL server)."""
