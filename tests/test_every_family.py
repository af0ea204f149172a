"""The checks every family passes, for each family on the config search path (``conf/model/`` and the toy
family of ``tests/toy_family/``): a family added as its own files is picked up here with no edit.

Each starts from the family's smoke config (``experiment=<family>_smoke``: toy widths, its whole schedule in
a few batches, one validation at the end). The commands run in this process (``run_in_process``: the same
Hydra app and arguments, without a new process' start-up); each command's own process is tested once with
MelGAN (test_cli, test_infer, test_eval, test_fault_tolerance).
"""

from __future__ import annotations

import csv
import json
import logging
import math
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
import yaml
from conftest import compose, families, run_in_process, smoke
from omegaconf import open_dict

import audiogan
from audiogan.commands.train import build_task, run
from audiogan.errors import UnsupportedCommand
from audiogan.export import export_onnx, export_torchscript, run_onnx
from audiogan.inference.audio_model import Audio
from audiogan.inference.fast_path import FAST_TOLERANCE
from audiogan.runs.checkpoints import load_task
from audiogan.runs.run_dir import RunDir
from audiogan.tasks.roles import Exportable, MelVocoding, Resynthesizer, Sampler, require

pytestmark = pytest.mark.slow  # every check trains or runs a command
FAMILIES = families()
# every batch does its scheduled updates (voice conversion would otherwise skip D while its loss is low)
NO_SKIP = "++model.task.schedule.d_loss_threshold=null"


def scheduled_counters(task) -> dict[str, int]:
    """The engine counters after the task's whole budget when no D update is skipped, per its schedule."""
    updates = [task.schedule.updates_for(i) for i in range(task.schedule.max_batches)]
    d_updates, g_updates = sum(d for d, _ in updates), sum(g for _, g in updates)
    return {"batches": len(updates), "d_updates": d_updates, "g_updates": g_updates, "d_skipped": 0}


def _train(compose_cfg, tmp_path, family: str, *extra: str) -> tuple[dict, dict]:
    """(the last checkpoint, the counters the schedule promises) of an in-process smoke run."""
    cfg = compose_cfg(*smoke(family), NO_SKIP, *extra)
    with open_dict(cfg):
        cfg.paths.output_dir = str(tmp_path / family)
    expected = scheduled_counters(build_task(cfg))
    assert expected["d_updates"] > 0 and expected["g_updates"] > 0  # the smoke budget trains both networks
    run(cfg)
    return torch.load(tmp_path / family / "checkpoints" / "last.ckpt", weights_only=False), expected


def _finite(checkpoint: dict) -> bool:
    return all(torch.isfinite(v).all() for v in checkpoint["state_dict"].values() if v.is_floating_point())


@pytest.mark.parametrize("family", FAMILIES)
def test_compiled_networks_train_in_bf16_and_save_eager_compatible_checkpoints(
    compose_cfg, tmp_path, family, caplog
):
    # bf16-mixed under torch.compile in one run (as on a GPU): every update of the schedule done, all weights
    # finite. The eager backend runs the Dynamo capture without code generation: the wrapping, graph breaks
    # and recompiles are exercised in seconds (inductor's compile time belongs to make bench)
    caplog.set_level(logging.INFO, logger="audiogan")
    torch._dynamo.reset()
    torch._dynamo.utils.counters.clear()
    checkpoint, expected = _train(
        compose_cfg,
        tmp_path,
        family,
        "compile=true",
        "compile_options.backend=eager",
        "trainer.precision=bf16-mixed",
    )
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] > 0  # the networks ran as captured graphs
    assert not torch._dynamo.utils.counters["graph_break"], list(torch._dynamo.utils.counters["graph_break"])
    assert "compiling generator and discriminator with torch.compile({'backend': 'eager'" in caplog.text
    assert checkpoint["gan_engine"]["counters"] == expected
    assert _finite(checkpoint)
    assert not any("_orig_mod" in key for key in checkpoint["state_dict"])


@pytest.mark.parametrize("family", FAMILIES)
def test_ddp_on_two_cpu_processes_keeps_the_schedule(data_dir, tmp_path, family):
    """Each rank runs the engine's batches (the checkpoint holds rank zero's counters; a rank that updated
    a network the other did not would hang DDP's gradient all-reduce instead of finishing).

    The ranks are forked from this process (``ddp_fork``), which saves each a process' start-up; train.py's
    own launcher, which starts rank 1 as a new process, is tested with MelGAN (test_fault_tolerance)."""
    fork = "trainer.strategy=ddp_fork_find_unused_parameters_true"
    args = (*smoke(family), NO_SKIP, "trainer=ddp_cpu", fork)
    result = run_in_process("train.py", *args, data_dir=data_dir, log_dir=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:]
    (run_dir,) = (tmp_path / family / "runs").iterdir()  # both ranks wrote into one run dir
    checkpoint = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=False)
    expected = scheduled_counters(build_task(compose(*smoke(family), NO_SKIP)))
    assert checkpoint["gan_engine"]["counters"] == expected


def _last_logged(job: Path, metric: str) -> float:
    with open(job / "csv" / "metrics.csv") as handle:
        return float([row[metric] for row in csv.DictReader(handle) if row[metric]][-1])


@pytest.mark.parametrize("family", FAMILIES)
def test_optuna_sweep_runs_trials_and_writes_the_best(data_dir, tmp_path, family):
    # two trials where the study's direction is checked (the toy family), one for each other family's space
    trials = 2 if family == "toy_vocoder" else 1
    result = run_in_process(
        "train.py", "-m", f"hparams_search={family}_optuna", f"hydra.sweeper.n_trials={trials}",
        *smoke(family), data_dir=data_dir, log_dir=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:]
    (sweep,) = (tmp_path / family / "multiruns").iterdir()
    jobs = sorted(p for p in sweep.iterdir() if p.is_dir() and p.name.isdigit())
    assert [p.name for p in jobs] == [str(n) for n in range(trials)]
    model = compose(*smoke(family)).model
    # every trial's score, not only the best: a NaN trial would be dropped by Optuna as failed
    scores = [_last_logged(job, model.monitor) for job in jobs]
    assert all(math.isfinite(s) for s in scores), scores
    best = max if model.monitor_mode == "max" else min
    results = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    assert results["best_value"] == pytest.approx(best(scores), rel=1e-5)  # the study's direction
    assert len(results["best_params"]) >= 2


# the buffers that are statistics of the data (batch norm's running moments, normalisation's mean and std)
STATISTICS = {"running_mean", "running_var", "mean", "std"}


def _other_shapes(spec) -> list[tuple[int, ...]]:
    """Two input shapes unlike the export example: its dynamic axes doubled, and doubled plus 3."""
    dynamic = spec.dynamic_axes[spec.input_name]
    return [
        tuple(2 * n + extra if axis in dynamic else n for axis, n in enumerate(spec.example.shape))
        for extra in (0, 3)
    ]


@pytest.mark.parametrize("family", FAMILIES)
def test_exports_equal_pytorch_at_other_shapes(compose_cfg, tmp_path, family):
    torch.manual_seed(0)
    task = build_task(compose_cfg(*smoke(family)))
    if not isinstance(task, Exportable):
        pytest.skip(f"{family} exports nothing")
    spec = task.export_spec()
    with torch.no_grad():  # statistics away from their initial values, so that eval mode matters
        for name, buffer in spec.module.named_buffers():
            if name.rsplit(".", 1)[-1] in STATISTICS:
                buffer.uniform_(0.5, 2.0)
    scripted = torch.jit.load(str(export_torchscript(spec, tmp_path / "generator.pt")))
    # TorchScript traces the fast inference path where the spec has one: within its tolerance of the module
    atol = 1e-5 if spec.torchscript_module is None else FAST_TOLERANCE
    onnx_path = export_onnx(spec, tmp_path / "generator.onnx")
    import onnx  # here, not at collection: importing it takes a second

    assert onnx.load(str(onnx_path)).opset_import[0].version == 17
    for shape in _other_shapes(spec):
        x = torch.randn(shape)
        with torch.no_grad():
            expected = spec.module(x)
            torch.testing.assert_close(scripted(x), expected, atol=atol, rtol=0)
        torch.testing.assert_close(run_onnx(onnx_path, x), expected, atol=1e-4, rtol=1e-3)


@pytest.mark.parametrize("family", FAMILIES)
def test_infer_processes_a_file_at_its_rate_and_length(smoke_run, data_dir, tmp_path, family):
    ckpt = smoke_run(family) / "checkpoints" / "last.ckpt"
    rate, length = 16000, 7001
    sf.write(tmp_path / "tone.wav", 0.3 * np.sin(2 * np.pi * 220 * np.arange(length) / rate), rate)
    args = (
        f"ckpt_path={ckpt}",
        f"input={tmp_path / 'tone.wav'}",
        f"output_dir={tmp_path / 'out'}",
        "device=cpu",
    )
    result = run_in_process("infer.py", *args, data_dir=data_dir, log_dir=tmp_path)
    try:
        require(load_task(ckpt), Resynthesizer, "infer.py input=")
    except UnsupportedCommand as refusal:  # e.g. an unconditional generator: refused in one line, by name
        assert result.returncode == 1 and f"UnsupportedCommand: {refusal}" in result.stdout
        assert "Traceback" not in result.stdout
        return
    assert result.returncode == 0, result.stdout[-3000:]
    output, output_rate = sf.read(tmp_path / "out" / "tone.wav")
    assert (output_rate, output.shape) == (rate, (length,)) and np.isfinite(output).all()


@pytest.mark.parametrize("family", FAMILIES)
def test_eval_scores_the_test_split_with_the_runs_settings(smoke_run, data_dir, tmp_path, family):
    ckpt = smoke_run(family) / "checkpoints" / "last.ckpt"
    args = (
        f"ckpt_path={ckpt}",
        f"output_dir={tmp_path}",
        "trainer.enable_progress_bar=false",
        "+trainer.limit_test_batches=2",  # eval.py's own trainer: two clips of the split are enough here
    )
    result = run_in_process("eval.py", *args, data_dir=data_dir, log_dir=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:]
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics and all(name.startswith("test/") for name in metrics)
    assert any(math.isfinite(value) for value in metrics.values())


@pytest.mark.parametrize("family", FAMILIES)
def test_audiogan_load_gives_what_the_family_offers(smoke_run, family):
    ckpt = smoke_run(family) / "checkpoints" / "last.ckpt"
    model, task = audiogan.load(ckpt), load_task(ckpt)
    rate = 16000
    speech = 0.3 * torch.sin(2 * torch.pi * 220 * torch.arange(rate // 2) / rate)
    if isinstance(task, Sampler):
        clips = model.sample(2, seed=0)
        assert clips.waveform.shape[0] == 2 and torch.isfinite(clips.waveform).all()
        return
    output = model(speech, rate)  # any rate in, the model's rate out, as long as the input
    assert isinstance(output, Audio) and output.sample_rate == task.audio_config.sample_rate
    assert output.waveform.shape == (round(0.5 * output.sample_rate),)
    if isinstance(task, MelVocoding):
        mel = model.log_mel(speech, rate)
        audio = model.vocode(mel)
        assert mel.shape[0] == task.audio_config.n_mels and torch.isfinite(audio.waveform).all()


@pytest.mark.parametrize("family", FAMILIES)
def test_the_report_shows_the_familys_run_and_clips(smoke_run, tmp_path, family):
    from report_fixtures import runs_override, write_report

    run_dir = smoke_run(family)
    page = write_report(tmp_path / "report", runs_override(run_dir))
    html = page.read_text()
    run = RunDir(run_dir)
    assert f"{run.family}/{run.name}" in html and run.checkpoint("best").name in html
    assert all((page.parent / src).is_file() for src in re.findall(r'src="([^"]+)"', html))
    assert any(src.endswith((".wav", ".png")) for src in re.findall(r'src="([^"]+)"', html))
