"""Hand-run benchmarks of MSK Pain Hub (not part of the test suite); see bench/README.md."""
