"""HiFi-GAN's release layout (https://github.com/jik876/hifi-gan): a generator file ``g_<steps>``, a
``torch.save`` of ``{"generator": state_dict}`` with hook weight norm (``weight_g`` / ``weight_v``), and the
run's ``config.json`` beside it. Read into the ``hifigan`` family and written back, so the official
``Generator(h)`` loads what audiogan trained with ``strict=True``.

The official module names differ from ours only in the residual blocks: ``resblocks.{i * K + j}``
(stage i, kernel j of K) is ``mrfs.{i}.{j}``, its ``convs1`` / ``convs`` our ``dilated``, its ``convs2``
our ``plain``.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import torch

from audiogan.errors import ConfigError
from audiogan.tasks.release import Release, ReleaseLayout
from audiogan.utils.files import atomic_write
from audiogan.utils.tensor_files import load_tensor_file

# the official config.json keys -> the audiogan config keys they set
CONFIG_KEYS = {
    "upsample_initial_channel": "model.task.generator.channels",
    "upsample_rates": "model.task.generator.upsample_rates",
    "upsample_kernel_sizes": "model.task.generator.upsample_kernel_sizes",
    "resblock": "model.task.generator.resblock",
    "resblock_kernel_sizes": "model.task.generator.resblock_kernel_sizes",
    "resblock_dilation_sizes": "model.task.generator.resblock_dilations",
    "num_mels": "audio.n_mels",
    "n_fft": "audio.n_fft",
    "hop_size": "audio.hop_length",
    "win_size": "audio.win_length",
    "sampling_rate": "audio.sample_rate",
    "fmin": "audio.fmin",
    "fmax": "audio.fmax",
    "fmax_for_loss": "audio.loss_mel.fmax",
    "segment_size": "model.datasets.train.segment_length",
    "batch_size": "model.batch_size",
}
# the paper's generators, recognised by conv_pre's width (and V3 by its three upsampling stages)
VARIANTS = {512: "v1", 128: "v2", 256: "v3"}
WEIGHT_NORM = {
    "weight_g": "parametrizations.weight.original0",
    "weight_v": "parametrizations.weight.original1",
}


def _official_to_ours(key: str, kernels: int) -> str:
    """One official generator key under its audiogan name (``kernels``: residual blocks per stage)."""
    block = re.match(r"resblocks\.(\d+)\.(convs1|convs2|convs)\.(\d+)\.(.+)", key)
    if block:
        index, group, conv, rest = block.groups()
        stage, kernel = divmod(int(index), kernels)
        key = f"mrfs.{stage}.{kernel}.{'plain' if group == 'convs2' else 'dilated'}.{conv}.{rest}"
    head, _, tail = key.rpartition(".")
    return f"{head}.{WEIGHT_NORM.get(tail, tail)}"


def _ours_to_official(key: str, kernels: int, resblock: int) -> str:
    for hook, parametrized in WEIGHT_NORM.items():
        key = key.replace(parametrized, hook)
    block = re.match(r"mrfs\.(\d+)\.(\d+)\.(plain|dilated)\.(\d+)\.(.+)", key)
    if block:
        stage, kernel, group, conv, rest = block.groups()
        name = "convs2" if group == "plain" else ("convs1" if resblock == 1 else "convs")
        key = f"resblocks.{int(stage) * kernels + int(kernel)}.{name}.{conv}.{rest}"
    return key


def _override(key: str, value: Any) -> str:
    return f"{key}={json.dumps(value) if not isinstance(value, str) else value}"


class HiFiGANRelease(ReleaseLayout):
    name = "jik876/hifi-gan"
    files = "g_<steps> (digits only) holding {'generator': state_dict}, config.json beside it"

    def recognises(self, path: Path) -> bool:
        # the official name: g_ and the step count (8 digits); an audiogan g_best.ckpt is not one
        return path.is_file() and re.fullmatch(r"g_\d+", path.name) is not None

    def read(self, path: Path, config: str | os.PathLike | None = None) -> Release:
        contents = load_tensor_file(path)
        if not isinstance(contents, dict) or "generator" not in contents:
            found = sorted(contents) if isinstance(contents, dict) else type(contents).__name__
            raise ConfigError(f"{path}: a {self.name} generator file holds 'generator'; found {found}")
        weights = contents["generator"]
        config_path = Path(config) if config else path.parent / "config.json"
        notes = ["no discriminator in a generator file: a fresh one"]
        if config_path.is_file():
            official = json.loads(config_path.read_text())
            if "resblock" in official:
                official["resblock"] = int(official["resblock"])
            overrides = [_override(CONFIG_KEYS[k], v) for k, v in official.items() if k in CONFIG_KEYS]
            for network in ("generator", "discriminator"):  # the official code sets both alike
                if "learning_rate" in official:
                    overrides.append(_override(f"model.task.optim.{network}.lr", official["learning_rate"]))
                if "adam_b1" in official:
                    betas = [official["adam_b1"], official["adam_b2"]]
                    overrides.append(_override(f"model.task.optim.{network}.betas", betas))
                if "lr_decay" in official:
                    gamma = official["lr_decay"]
                    overrides.append(_override(f"model.task.scheduler.{network}.scheduler.gamma", gamma))
            kernels = len(official.get("resblock_kernel_sizes", (3, 7, 11)))
        else:
            width = weights["conv_pre.weight_v"].shape[0]
            stages = len({k.split(".")[1] for k in weights if k.startswith("ups.")})
            variant = "v3" if stages == 3 else VARIANTS.get(width)
            if variant is None:
                raise ConfigError(
                    f"{path}: no config.json beside it and no HiFi-GAN V1/V2/V3 of width {width}"
                )
            overrides = [f"model.variant={variant}"]
            notes.append(f"no config.json: {variant.upper()} assumed from the weight shapes")
            kernels = 3
        state = {f"generator.{_official_to_ours(k, kernels)}": v for k, v in weights.items()}
        return Release("hifigan", overrides, state, notes)

    def write(self, task: Any, folder: Path) -> list[Path]:
        generator = task.hparams["generator"]
        kernels, resblock = len(generator["resblock_kernel_sizes"]), int(generator["resblock"])
        weights = {_ours_to_official(k, kernels, resblock): v for k, v in task.generator.state_dict().items()}
        audio = task.audio_config
        official = {
            "resblock": str(resblock),
            "upsample_rates": list(generator["upsample_rates"]),
            "upsample_kernel_sizes": list(generator["upsample_kernel_sizes"]),
            "upsample_initial_channel": generator["channels"],
            "resblock_kernel_sizes": list(generator["resblock_kernel_sizes"]),
            "resblock_dilation_sizes": [list(d) for d in generator["resblock_dilations"]],
            "num_mels": audio.n_mels,
            "n_fft": audio.n_fft,
            "hop_size": audio.hop_length,
            "win_size": audio.win_length,
            "sampling_rate": audio.sample_rate,
            "fmin": audio.fmin,
            "fmax": audio.fmax,
            "fmax_for_loss": audio.loss_front_end().fmax,
        }
        folder.mkdir(parents=True, exist_ok=True)
        weights_path, config_path = folder / f"g_{task.counters.batches:08d}", folder / "config.json"
        with atomic_write(weights_path) as tmp:
            torch.save({"generator": weights}, tmp)
        with atomic_write(config_path) as tmp:
            tmp.write_text(json.dumps(official, indent=2) + "\n")
        return [weights_path, config_path]
