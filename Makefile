PY := .venv/bin/python

.PHONY: install test test-fast train bench bench-learning bench-finetune lint clean

install:
	python3 -m venv .venv
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -e ".[all,dev,reference]"

# the whole suite, as CI runs it: two worker processes, one per core (each test runs single-threaded)
test:
	$(PY) -m pytest -n 2

# what a developer runs all day: units, the GAN engine and the configs, in about 80 s on both cores (a third
# of it importing Lightning and building the embedded corpus in each worker). Tests marked slow (pyproject.toml
# lists the marker: subprocesses, DDP, sweeps, training runs, full-size networks, official networks run beside
# ours) run in `make test` only.
test-fast:
	$(PY) -m pytest -n 2 -m "not slow"

train:
	$(PY) train.py

# glibc malloc settings keep big activations from being page-faulted back on every forward
# (why, and how the benchmarks measure: docs/measuring.md). The rows against the official HiFi-GAN and
# MelGAN need their checkouts: make bench REFERENCE="reference.hifigan=<clone> reference.melgan=<clone>"
bench:
	MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=4294967296 $(PY) -m benchmarks.run $(REFERENCE)

# does every family learn? Each trains on its embedded corpus for a fixed budget (about 10 minutes or less per
# family on 2 CPU cores, reduced sizes named in the output; full size on a GPU) and is checked: PASS / FAIL,
# JSON and PNG curves in benchmarks/results/learning/ (docs/learning.md)
bench-learning:
	MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=4294967296 $(PY) -m benchmarks.learning

# fine-tuning a released vocoder (a stand-in trained on five voices, written in the official layout) on a voice
# it never heard, against training from scratch: PASS when fine-tuned is lower at every validation (about
# 20 minutes for HiFi-GAN and 15 for MelGAN on 2 CPU cores); results in benchmarks/results/finetuning/
bench-finetune:
	MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=4294967296 $(PY) -m benchmarks.finetuning

lint:
	.venv/bin/ruff check .

clean:
	rm -rf outputs multirun .pytest_cache
