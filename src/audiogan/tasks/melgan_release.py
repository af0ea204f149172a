"""MelGAN's release layouts (https://github.com/descriptinc/melgan-neurips), read into the ``melgan``
family and written back, so the official ``Generator(80, 32, 3)`` loads what audiogan trained with
``strict=True``:

* a released generator (``models/linda_johnson.pt``, ``models/multi_speaker.pt``): a bare ``state_dict`` of
  ``Generator(n_mel_channels, ngf, n_residual_layers)``, hook weight norm (``weight_g`` / ``weight_v``);
* a training folder (``scripts/train.py --save_path``): ``netG.pt``, ``netD.pt``, ``optG.pt``, ``optD.pt``
  and ``args.yml``, the argparse Namespace as ``yaml.dump`` wrote it (``!!python/object`` tags, read here
  as plain data, never constructed).

The official generator is one ``nn.Sequential`` (``model.<index>``): index 1 is our ``conv_pre.1``; stage i
(of 4) starts at 2 + i (2 + R) with R residual blocks: its LeakyReLU, upsampling conv (``stages.i.1``) and
blocks (``stages.i.{2 + j}``, inner names alike); the output conv is ``conv_post.2``. The discriminator's
``model.disc_i.model.layer_n`` is our ``scales.i.layers.n``.
"""

from __future__ import annotations

import os
import pickle
import re
from pathlib import Path
from typing import Any

import torch
import yaml

from audiogan.errors import ConfigError, UnsafeFileError
from audiogan.tasks.release import (
    Release,
    ReleaseLayout,
    TrainingState,
    config_override,
    from_hook_weight_norm,
    optimizer_by_name,
    to_hook_weight_norm,
)
from audiogan.utils.files import atomic_write
from audiogan.utils.tensor_files import load_tensor_file

STAGES = 4  # the official generator's upsampling ratios are fixed: 8, 8, 2, 2
TRAINING_FILES = ("netG.pt", "netD.pt", "optG.pt", "optD.pt")
# the official training arguments (args.yml) -> the audiogan config keys they set
ARGS_KEYS = {
    "n_mel_channels": "audio.n_mels",
    "ngf": "model.task.generator.ngf",
    "n_residual_layers": "model.task.generator.n_residual_layers",
    "ndf": "model.task.discriminator.ndf",
    "num_D": "model.task.discriminator.num_scales",
    "n_layers_D": "model.task.discriminator.n_layers",
    "downsamp_factor": "model.task.discriminator.downsampling_factor",
    "lambda_feat": "model.task.loss_weights.feature_matching",
    "batch_size": "model.batch_size",
    "seq_len": "model.datasets.train.segment_length",
}
# what the official train.py does and our melgan config does otherwise: hinge loss, no mel loss, no warm-up,
# real and fake scored in two passes
OFFICIAL_RECIPE = [
    "loss=hinge",
    "model.task.discriminator.separate_passes=true",
    "model.task.loss_weights.mel_l1=0.0",
    "model.task.schedule.warmup_batches=0",
    "model.task.schedule.warmup_lr=null",
]


class _ArgsLoader(yaml.SafeLoader):
    """A safe loader that reads ``!!python/...`` tagged nodes as the plain mapping, list or string they
    hold, so an argparse Namespace dumped by ``yaml.dump`` reads as a dict and nothing is constructed."""


def _plain(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)


_ArgsLoader.add_multi_constructor("tag:yaml.org,2002:python/", _plain)


def read_args(path: Path) -> dict[str, Any]:
    """``args.yml`` as a dict of the training arguments."""
    loader = _ArgsLoader(path.read_text())
    try:
        args = loader.get_single_data()
    finally:
        loader.dispose()
    if not isinstance(args, dict):
        raise ConfigError(f"{path}: expected the training arguments (a mapping); found {type(args).__name__}")
    return args


def _residual_layers(keys: list[str]) -> int:
    return len({int(m.group(1)) for k in keys if (m := re.match(r"model\.(\d+)\.block\.", k))}) // STAGES


def _generator_key(key: str, residual: int) -> str:
    """An official generator key under its audiogan name."""
    index, rest = re.fullmatch(r"model\.(\d+)\.(.+)", key).groups()
    index, stage_length = int(index), 2 + residual
    if index == 1:
        name = f"conv_pre.1.{rest}"
    elif index == 2 + STAGES * stage_length + 2:
        name = f"conv_post.2.{rest}"
    else:
        stage, position = divmod(index - 2, stage_length)
        name = f"stages.{stage}.{position}.{rest}"
    return from_hook_weight_norm(name)


def _official_generator_key(key: str, residual: int) -> str:
    key, stage_length = to_hook_weight_norm(key), 2 + residual
    head, index, rest = re.fullmatch(r"(conv_pre|conv_post|stages\.\d+)\.(\d+)\.(.+)", key).groups()
    if head == "conv_pre":
        return f"model.1.{rest}"
    if head == "conv_post":
        return f"model.{2 + STAGES * stage_length + 2}.{rest}"
    return f"model.{2 + int(head.split('.')[1]) * stage_length + int(index)}.{rest}"


def _discriminator_key(key: str) -> str:
    return from_hook_weight_norm(
        re.sub(r"^model\.disc_(\d+)\.model\.layer_(\d+)\.", r"scales.\1.layers.\2.", key)
    )


def _is_generator(contents: Any) -> bool:
    return isinstance(contents, dict) and "model.1.weight_g" in contents


class MelGANRelease(ReleaseLayout):
    name = "descriptinc/melgan-neurips"
    files = (
        "a Generator state_dict (*.pt, e.g. linda_johnson.pt), or a training folder with netG.pt, netD.pt, "
        "optG.pt, optD.pt and args.yml"
    )

    def recognises(self, path: Path) -> bool:
        if path.is_dir():
            return (path / "args.yml").is_file() and (path / "netG.pt").is_file()
        if path.suffix != ".pt" or not path.is_file():
            return False
        try:
            return _is_generator(load_tensor_file(path))
        except (UnsafeFileError, RuntimeError, OSError, EOFError, ValueError, pickle.UnpicklingError):
            return False  # not ours to judge: the checkpoint reader names what is wrong with it

    def read(self, path: Path, config: str | os.PathLike | None = None) -> Release:
        folder = path if path.is_dir() else path.parent
        generator_path = folder / "netG.pt" if path.is_dir() else path
        generator = load_tensor_file(generator_path)
        if not _is_generator(generator):
            raise ConfigError(f"{generator_path}: a MelGAN Generator state_dict holds model.1.weight_g")
        residual = _residual_layers(list(generator))
        conv_pre = generator["model.1.weight_v"]
        overrides = [
            config_override("audio.n_mels", conv_pre.shape[1]),
            config_override("model.task.generator.ngf", conv_pre.shape[0] // 2**STAGES),
            config_override("model.task.generator.n_residual_layers", residual),
        ]
        state = {f"generator.{_generator_key(k, residual)}": v for k, v in generator.items()}
        args_path = Path(config) if config else folder / "args.yml"
        training_run = generator_path.name == "netG.pt" and all(
            (folder / f).is_file() for f in TRAINING_FILES
        )
        if not args_path.is_file() or not training_run:
            notes = [
                f"a generator alone: Generator({conv_pre.shape[1]}, {conv_pre.shape[0] // 2**STAGES}, "
                f"{residual}) from its shapes, a fresh discriminator and fresh optimizers"
            ]
            return Release("melgan", overrides, state, notes)
        args = read_args(args_path)
        overrides += [config_override(ARGS_KEYS[k], v) for k, v in args.items() if k in ARGS_KEYS]
        overrides += OFFICIAL_RECIPE
        discriminator = load_tensor_file(folder / "netD.pt")
        state.update({f"discriminator.{_discriminator_key(k)}": v for k, v in discriminator.items()})
        g_names = [_generator_key(k, residual) for k in generator]
        d_names = [_discriminator_key(k) for k in discriminator]
        held = {"generator": (folder / "optG.pt", g_names), "discriminator": (folder / "optD.pt", d_names)}
        optimizers = {
            network: optimizer_by_name(load_tensor_file(path), names, str(path))
            for network, (path, names) in held.items()
        }
        steps = [float(s["step"]) for s in optimizers["generator"]["state"].values()]
        batches = int(max(steps, default=0))
        notes = [
            f"a training folder: weights, Adam states and the official recipe (hinge loss, no mel loss); "
            f"{batches} batches trained (Adam's step count; the official files keep no step or epoch)"
        ]
        return Release("melgan", overrides, state, notes, TrainingState(batches, 0, optimizers))

    def write(self, task: Any, folder: Path) -> list[Path]:
        """The generator as ``netG.pt`` (what ``Generator(n_mels, ngf, n_residual_layers)`` loads)."""
        residual = len(task.generator.stages[0]) - 2  # LeakyReLU, upsampling, then the blocks
        weights = {_official_generator_key(k, residual): v for k, v in task.generator.state_dict().items()}
        path = folder / "netG.pt"
        with atomic_write(path) as tmp:
            torch.save(weights, tmp)
        return [path]
