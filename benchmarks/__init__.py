"""Speed benchmarks (`make bench`); each module returns JSON-able results."""
