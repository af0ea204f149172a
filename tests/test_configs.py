"""Every option of every config group composes, and what it describes can be instantiated."""

from __future__ import annotations

import functools
import re

import pytest
import torch
from conftest import CONF, compose, generator_on_meta
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import OmegaConf

from audiogan.audio.config import AudioConfig
from audiogan.commands.train import build_datamodule, build_task
from audiogan.losses.adversarial import HingeLoss, LSGANLoss
from audiogan.runs.resolvers import register_resolvers

# groups whose options replace a node of train.yaml; hydra/ and datamodule/ are checked through the others
GROUPS = ["model", "data", "loss", "audio", "trainer", "logger", "callbacks", "experiment", "paths", "debug"]
NEEDS_GPU = {"trainer": {"gpu", "ddp"}}
# the groups whose options change what the task builds (the others leave the default model's task as it is)
SHAPE_THE_TASK = {"model", "experiment", "loss", "audio"}


def _options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF / group).glob("*.yaml"))


@functools.cache
def _node(group: str, option: str):
    return compose(f"{group}={option}")[group]


def _partner(group: str, option: str) -> list[str]:
    """The other half a model or data option needs: data that provides what the model consumes, or back."""
    if group == "model":
        kind = _node("model", option).data_kind
        return [f"data={next(d for d in _options('data') if kind in _node('data', d).provides)}"]
    if group == "data":
        kinds = _node("data", option).provides
        return [f"model={next(m for m in _options('model') if _node('model', m).data_kind in kinds)}"]
    return []


CASES = [(group, option) for group in GROUPS for option in _options(group)]

# the model keys other config files read, by file (README: "Who owns what"); data/ reads none
MODEL_KEYS_READ = {
    "train.yaml": {"monitor", "log_every_n_steps"},
    "datamodule/default.yaml": {"datasets", "batch_size", "val_clips"},
    "callbacks/default.yaml": {"monitor", "monitor_mode"},
}


@pytest.mark.slow  # a composition per option, full-size networks for the options that shape the task
@pytest.mark.parametrize(("group", "option"), CASES, ids=[f"{g}={o}" for g, o in CASES])
def test_option_composes_and_instantiates(compose_cfg, group, option):
    cfg = compose_cfg(f"{group}={option}", *_partner(group, option))
    OmegaConf.resolve(cfg)
    AudioConfig.from_config(cfg.audio)
    build_datamodule(cfg)
    if group in SHAPE_THE_TASK:
        task = build_task(generator_on_meta(cfg))
        assert isinstance(task.generator, torch.nn.Module) and isinstance(task.discriminator, torch.nn.Module)
    instantiate(cfg.loss)
    for node in (*cfg.callbacks.values(), *cfg.logger.values()):
        instantiate(node)
    if option in NEEDS_GPU.get(group, ()) and not torch.cuda.is_available():
        pytest.skip(f"{group}={option} needs a GPU to instantiate (composed fine)")
    instantiate(cfg.trainer)


def test_other_groups_read_only_the_models_named_keys():
    reads = {}
    for path in sorted(CONF.rglob("*.yaml")):
        name = path.relative_to(CONF).as_posix()
        keys = set(re.findall(r"\$\{[^}]*?\bmodel\.([\w.]+)", path.read_text()))
        if keys and not name.startswith("model/"):
            reads[name] = keys
    assert reads == MODEL_KEYS_READ


@pytest.mark.parametrize("option", _options("model"))
def test_every_model_has_the_keys_others_read(option):
    missing = {"data_kind"}.union(*MODEL_KEYS_READ.values()) - set(_node("model", option))
    assert not missing, f"model={option} lacks {sorted(missing)}"


@pytest.mark.parametrize(
    ("overrides", "objective"),
    [((), LSGANLoss), (("loss=hinge",), HingeLoss), (("experiment=melgan_paper",), HingeLoss)],
    ids=["model_default", "loss_option", "experiment"],
)
def test_the_chosen_loss_is_the_one_the_task_trains_with(compose_cfg, overrides, objective):
    assert type(build_task(generator_on_meta(compose_cfg(*overrides))).gan_loss) is objective


def test_paper_experiment_trains_both_networks_with_the_papers_adam(compose_cfg):
    task = build_task(generator_on_meta(compose_cfg("experiment=melgan_paper")))
    optimizers, _ = task.configure_optimizers()
    assert len(optimizers) == 2
    for optimizer in optimizers:
        assert type(optimizer) is torch.optim.Adam
        assert optimizer.defaults["lr"] == 1e-4 and tuple(optimizer.defaults["betas"]) == (0.5, 0.9)


def test_run_dirs_differ_for_runs_started_in_the_same_second(data_dir, tmp_path):
    from hydra import compose, initialize_config_dir

    register_resolvers()
    dirs = []
    for _ in range(2):
        with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
            cfg = compose("train", return_hydra_config=True, overrides=[f"paths.log_dir={tmp_path}"])
        HydraConfig.instance().set_config(cfg)
        dirs.append(cfg.hydra.run.dir)
    # the timestamp has one-second resolution; the random id keeps the two apart regardless
    assert dirs[0].rsplit("_", 1)[1] != dirs[1].rsplit("_", 1)[1]
