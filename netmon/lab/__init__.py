"""The lab: simulated provinces for the demo, the tests and the benchmarks."""
