"""Performance benchmarks of ffdiff (not run by the tests): ``python -m benchmarks``."""
