"""Benchmarks that print figures (`vila bench ...`)."""
