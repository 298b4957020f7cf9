"""Benchmarks: `make bench` runs bench/run.py. Not tests: pytest never collects this folder."""
