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

bench:
	$(PY) -m benchmarks.run

lint:
	.venv/bin/ruff check .

clean:
	rm -rf outputs multirun .pytest_cache
