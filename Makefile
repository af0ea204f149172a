PY := .venv/bin/python

.PHONY: install test train bench lint clean

install:
	python3 -m venv .venv
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -e ".[dev]"

test:
	$(PY) -m pytest

train:
	$(PY) train.py

# glibc malloc settings keep big activations from being page-faulted back on every forward
# (why, and how the benchmarks measure: docs/measuring.md)
bench:
	MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=4294967296 $(PY) -m benchmarks.run

lint:
	.venv/bin/ruff check .

clean:
	rm -rf outputs multirun .pytest_cache
