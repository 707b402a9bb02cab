"""Benchmarks: python -m benchmarks."""
