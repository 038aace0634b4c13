"""Locust scenarios and the benchmark harness that writes BENCHMARKS.md."""
