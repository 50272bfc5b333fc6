"""Offline helpers shared by the tests and the benchmarks: a tiny model and loopback servers."""
