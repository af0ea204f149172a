"""Shared fixtures: one embedded corpus per test session, config composition, CLI runs.

Torch, Lightning and audiogan are imported where they are used, not here: under pytest-xdist the process
that hands out the tests loads this file too, and importing Lightning alone takes seconds on 2 cores.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import io
import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING
from unittest import mock

import pytest
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf, open_dict

if TYPE_CHECKING:
    import lightning as L
    import torch

# numba (used by librosa) caches what it compiles on disk: two pytest-xdist workers
# writing one cache at once crashed a worker (segfault at a null address). One cache dir per worker.
os.environ.setdefault(
    "NUMBA_CACHE_DIR",
    os.path.join(
        tempfile.gettempdir(), f"audiogan-tests-numba-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    ),
)

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "conf"
# a family that lives under tests/ only (tests/toy_family/): its configs join the search path of every run
TOY_CONF = ROOT / "tests" / "toy_family" / "conf"
CONFIG_DIRS = (CONF, TOY_CONF)
SEARCH_TOY = f"hydra.searchpath=[file://{TOY_CONF}]"
# checkpoints of the toy families name their classes (toy_family.*): trusted explicitly, as a user trusts a
# family of their own, in this process and in the commands it starts
os.environ["AUDIOGAN_TRUSTED_TARGETS"] = "toy_family"

# every run under test: no sanity validation, progress bar or config tree
QUIET = [
    "trainer.num_sanity_val_steps=0",
    "trainer.enable_progress_bar=false",
    "print_config=false",
    "validate_first=false",
]


def smoke(family: str) -> list[str]:
    """Overrides for a family at toy widths on its embedded corpus (``conf/experiment/<family>_smoke.yaml``:
    a few batches covering its whole schedule, one validation at the end), quiet."""
    return [SEARCH_TOY, f"experiment={family}_smoke", *QUIET]


def families() -> list[str]:
    """Every family on the config search path: conf/model/ and tests/toy_family/conf/model/ (a model config
    naming its task class; a release's config that builds on one, e.g. bigvgan_v2_24k, is not another)."""
    from audiogan.runs.layouts import family_task_classes

    return sorted(family_task_classes([TOY_CONF]))


def vocoder_families() -> list[str]:
    """The families on the config search path whose task is a vocoder (on the vocoder base)."""
    from audiogan.runs.layouts import family_task_classes
    from audiogan.tasks.vocoder import VocoderTask

    return sorted(f for f, task in family_task_classes([TOY_CONF]).items() if issubclass(task, VocoderTask))


# modules whose tests start several processes each (a minute or so per test): collected first, so that the
# workers of `make test` (pytest-xdist) do not end the session with one of them running alone
FIRST = ("test_fault_tolerance.py",)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.path.name not in FIRST)


@pytest.fixture(scope="session", autouse=True)
def one_torch_thread() -> None:
    """Tests use tiny models: one thread is as fast and does not collapse when other jobs share the cores."""
    import torch

    torch.set_num_threads(1)


# the families' smoke configs, as the family tests use them
TINY_MELGAN = smoke("melgan")
TINY_SPECGAN = smoke("specgan")
TINY_DENOISE = smoke("hifigan_denoise")
TINY_VC = smoke("voice_conversion")


def fitted_datamodule(cfg) -> L.LightningDataModule:
    """The composed config's datamodule, prepared and set up for fitting, as train.py builds it."""
    from audiogan.commands.train import build_datamodule

    OmegaConf.resolve(cfg)
    data = build_datamodule(cfg)
    data.prepare_data()
    data.setup("fit")
    return data


def quiet_trainer(**options) -> L.Trainer:
    """A CPU Trainer with no logger, checkpoints, progress bar or summary unless ``options`` say so."""
    import lightning as L

    defaults = dict(
        accelerator="cpu",
        max_epochs=-1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
    )
    return L.Trainer(**{**defaults, **options})


def on_meta(network: dict) -> torch.nn.Module:
    """``network`` (a Hydra node) built on the meta device: full-size shapes without memory or init time."""
    import torch
    from hydra.utils import instantiate

    with torch.device("meta"):
        return instantiate(network)


def generator_on_meta(cfg):
    """``cfg`` whose task builds its generator on the meta device (voice conversion's has 391M parameters)."""
    with open_dict(cfg):
        network = cfg.model.task.generator
        wrapper = {"_target_": "conftest.on_meta", "_recursive_": False, "network": network}
        cfg.model.task.generator = wrapper
    return cfg


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory) -> Path:
    """A data dir holding the embedded corpus, built once for the whole session."""
    from audiogan.data.corpora.tiny_speech import ensure_tiny_speech

    root = tmp_path_factory.mktemp("data")
    ensure_tiny_speech(root)
    return root


@functools.cache
def _composed(overrides: tuple[str, ...], name: str) -> tuple[DictConfig, DictConfig]:
    from audiogan.runs.resolvers import compose_config

    cfg = compose_config(CONF, list(overrides), name)
    return cfg, HydraConfig.instance().cfg


def compose(*overrides: str, name: str = "train") -> DictConfig:
    """``compose_config(CONF, overrides, name)``, composed once per test session (Hydra takes about a second
    per composition; the suite asks for the same ones hundreds of times): a copy of its own, with HydraConfig
    set as composing it would set it."""
    cfg, hydra_config = _composed(overrides, name)
    HydraConfig.instance().cfg = hydra_config
    return copy.deepcopy(cfg)


@pytest.fixture
def compose_cfg(data_dir, tmp_path):
    """Compose conf/train.yaml with overrides, as train.py would, with paths inside tmp dirs."""

    def _compose(*overrides: str):
        cfg = compose(f"paths.data_dir={data_dir}", *overrides)
        with open_dict(cfg):
            cfg.paths.log_dir = str(tmp_path)
            cfg.paths.output_dir = str(tmp_path / "run")
        return cfg

    return _compose


def trained_run(family: str, overrides: list[str], data_dir: Path, log_dir: Path) -> Path:
    """The run dir of ``python train.py <overrides>`` (a smoke config: its budget, one validation), run by
    :func:`run_in_process` (train.py in a process of its own: test_fault_tolerance, test_packaging)."""
    result = run_in_process("train.py", *overrides, data_dir=data_dir, log_dir=log_dir)
    assert result.returncode == 0, result.stdout[-3000:]
    (run,) = (log_dir / family / "runs").iterdir()
    return run


def trained_in_process(overrides: list[str], data_dir: Path, run_dir: Path) -> Path:
    """``run_dir`` after ``audiogan.commands.train.run`` (what train.py calls) with ``overrides``: a run for
    the other commands to read, without Hydra (train.py's Hydra app is tested with ``trained_run``)."""
    from audiogan.commands.train import run
    from audiogan.runs.resolvers import compose_config

    cfg = compose_config(CONF, [f"paths.data_dir={data_dir}", f"paths.log_dir={run_dir.parent}", *overrides])
    with open_dict(cfg):
        cfg.paths.output_dir = str(run_dir)
    run(cfg)
    return run_dir


@pytest.fixture(scope="session")
def smoke_run(data_dir, tmp_path_factory):
    """``smoke_run(family)``: the run dir of ``python train.py experiment=<family>_smoke``, trained once per
    session (checkpoints, config.yaml, samples) for the tests of commands that start from a run."""
    runs: dict[str, Path] = {}

    def _run(family: str) -> Path:
        if family not in runs:
            log_dir = tmp_path_factory.mktemp(f"{family}_runs")
            runs[family] = trained_run(family, smoke(family), data_dir, log_dir)
        return runs[family]

    return _run


@pytest.fixture(scope="session")
def melgan_ckpt(data_dir, tmp_path_factory) -> Path:
    """A tiny MelGAN's last checkpoint after two batches through the CLI, once for the session: what train.py
    leaves, what infer.py, eval.py (2 test clips) and convert.py read. It logs to CSV and TensorBoard."""
    overrides = [*TINY_MELGAN, "data.test_clips=2", "logger=[csv,tensorboard]"]
    run = trained_run("melgan", overrides, data_dir, tmp_path_factory.mktemp("melgan_runs"))
    return run / "checkpoints" / "last.ckpt"


def cli_env(data_dir: Path, log_dir: Path) -> dict[str, str]:
    """The environment the commands run in under test: data and logs in tmp dirs, one thread, quiet W&B."""
    env = {**os.environ, "AUDIOGAN_DATA_DIR": str(data_dir), "AUDIOGAN_LOG_DIR": str(log_dir)}
    # the toy family's module (toy_family.toy_gan) imports as it does in-process under pytest
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "tests"), os.environ.get("PYTHONPATH")]))
    env.update(WANDB_SILENT="true", OMP_NUM_THREADS="1")
    return env


def run_cli(script: str, *args: str, data_dir: Path, log_dir: Path, timeout: int = 300):
    """Run one of the top-level commands as a user would, in the repo root."""
    env = cli_env(data_dir, log_dir)
    return subprocess.run(
        [sys.executable, script, *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # Hydra logs to stdout, Python errors go to stderr: read both in order
        text=True,
        timeout=timeout,
    )


def _logging_state() -> list[tuple]:
    """Every existing logger with its level, handlers, propagation and disabled flag."""
    loggers = [logging.root, *logging.root.manager.loggerDict.values()]
    return [
        (logger, logger.level, logger.handlers[:], logger.propagate, logger.disabled)
        for logger in loggers
        if isinstance(logger, logging.Logger)
    ]


def _restore_logging(state: list[tuple]) -> None:
    """Put ``state`` back, closing the handlers added since (a command's log file among them)."""
    for logger, level, handlers, propagate, disabled in state:
        for handler in logger.handlers:
            if handler not in handlers:
                handler.close()
        logger.setLevel(level)
        logger.handlers[:] = handlers
        logger.propagate, logger.disabled = propagate, disabled


def run_in_process(script: str, *args: str, data_dir: Path, log_dir: Path) -> subprocess.CompletedProcess:
    """``run_cli(script, *args)`` without a new process' start-up (importing Lightning alone takes seconds):
    the ``audiogan.cli`` function behind ``script`` (``train.py``: ``train_main``) runs here, through its
    Hydra app, with the same argv, environment and working directory; its exit status and what it printed
    or logged come back. Hydra's global state, the logging set-up, argv and the environment are put back
    afterwards. What needs a process of its own (signals, train.py's DDP launcher) uses ``run_cli``."""
    import audiogan.cli

    main = getattr(audiogan.cli, f"{Path(script).stem}_main")
    output = io.StringIO()
    hydra_state = (GlobalHydra.instance().hydra, HydraConfig.instance().cfg)
    logging_state = _logging_state()
    returncode = 0
    try:
        with (
            mock.patch.dict(os.environ, cli_env(data_dir, log_dir)),
            mock.patch.object(sys, "argv", [script, *args]),
            contextlib.chdir(ROOT),
            contextlib.redirect_stdout(output),
            contextlib.redirect_stderr(output),
        ):
            main()
    except SystemExit as exit_:
        returncode = exit_.code if isinstance(exit_.code, int) else int(exit_.code is not None)
    finally:
        GlobalHydra.instance().hydra, HydraConfig.instance().cfg = hydra_state
        _restore_logging(logging_state)
    return subprocess.CompletedProcess([script, *args], returncode, output.getvalue())
