"""Evaluation behind ``python eval.py``: a checkpoint's metrics on the test split, as its run measured them.

The model, audio front-end and data come from the run's resolved ``config.yaml``, so the test split is
read and scored with the training settings. ``data=<name>`` swaps in another data config (its
interpolations then resolve against the run's audio and model); ``+data.<key>=...`` changes single keys
of the run's own (e.g. the corpus root on another machine). The trainer is this command's own.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from audiogan.commands.train import build_datamodule, build_trainer, save_resolved_config
from audiogan.runs.checkpoints import checkpoint_file, load_task, new_output_dir, run_config

log = logging.getLogger(__name__)


def data_config(cfg: DictConfig, run_cfg: DictConfig) -> DictConfig:
    """The run's data config; replaced by a whole one chosen here (it has a _target_), else updated."""
    data = cfg.get("data")
    if data is None:
        return run_cfg.data
    return data if "_target_" in data else OmegaConf.merge(run_cfg.data, data)


def eval_config(cfg: DictConfig, run_cfg: DictConfig, output_dir: Path) -> DictConfig:
    """The run's seed, audio, model and data (see :func:`data_config`) with this command's trainer."""
    merged = OmegaConf.create(
        {
            "ckpt_path": cfg.ckpt_path,
            "seed": run_cfg.seed,
            "audio": run_cfg.audio,
            "model": run_cfg.model,
            "data": data_config(cfg, run_cfg),
            "paths": cfg.paths,
            "trainer": cfg.trainer,
        }
    )
    merged.paths.output_dir = str(output_dir)
    OmegaConf.resolve(merged)
    return merged


def format_metrics(metrics: dict[str, float]) -> str:
    """A two-column text table, one metric per row."""
    width = max(map(len, ["metric", *metrics]))
    rows = [f"{'metric':<{width}}  value", f"{'-' * width}  ------"]
    rows += [f"{name:<{width}}  {value:.4f}" for name, value in metrics.items()]
    return "\n".join(rows)


def evaluate(cfg: DictConfig) -> dict[str, float]:
    """``eval.py``: test the checkpoint, print the metrics and write ``<output_dir>/metrics.json``."""
    ckpt = checkpoint_file(cfg.ckpt_path)
    output_dir = Path(cfg.output_dir) if cfg.output_dir else new_output_dir(ckpt, "eval")
    eval_cfg = eval_config(cfg, run_config(ckpt), output_dir)
    datamodule = build_datamodule(eval_cfg)
    task = load_task(ckpt)
    trainer = build_trainer(eval_cfg)
    trainer.test(task, datamodule=datamodule, verbose=False)
    metrics = {k: float(v) for k, v in sorted(trainer.callback_metrics.items()) if k.startswith("test/")}
    save_resolved_config(eval_cfg, str(output_dir))
    (output_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(format_metrics(metrics))
    log.info("metrics written to %s", output_dir / "metrics.json")
    return metrics
