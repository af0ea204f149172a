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
from collections.abc import Collection
from pathlib import Path
from typing import Any

import torch

from audiogan.errors import ConfigError
from audiogan.tasks.release import (
    Release,
    ReleaseLayout,
    TrainingState,
    config_override,
    from_hook_weight_norm,
    load_release_file,
    optimizer_by_name,
    optimizer_overrides,
    to_hook_weight_norm,
)
from audiogan.utils.files import atomic_write

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


def _is_spectral_buffer(key: str, keys: Collection[str]) -> bool:
    """Hook spectral norm keeps ``weight_u`` / ``weight_v`` as buffers beside the ``weight_orig`` parameter
    (hook weight norm's ``weight_v`` is a parameter)."""
    head, _, tail = key.rpartition(".")
    return tail in ("weight_u", "weight_v") and f"{head}.weight_orig" in keys


def _official_to_ours(key: str, kernels: int, spectral: bool = False) -> str:
    """One official key under its audiogan name (``kernels``: residual blocks per generator stage;
    ``spectral``: a hook spectral-norm buffer, which keeps its name: our MSD's first scale uses the hook)."""
    block = re.match(r"resblocks\.(\d+)\.(convs1|convs2|convs)\.(\d+)\.(.+)", key)
    if block:
        index, group, conv, rest = block.groups()
        stage, kernel = divmod(int(index), kernels)
        key = f"mrfs.{stage}.{kernel}.{'plain' if group == 'convs2' else 'dilated'}.{conv}.{rest}"
    key = re.sub(r"^(mpd|msd)\.discriminators\.", r"\1.branches.", key)
    return key if spectral else from_hook_weight_norm(key)


def _ours_to_official(key: str, kernels: int, resblock: int) -> str:
    key = to_hook_weight_norm(key)
    block = re.match(r"mrfs\.(\d+)\.(\d+)\.(plain|dilated)\.(\d+)\.(.+)", key)
    if block:
        stage, kernel, group, conv, rest = block.groups()
        name = "convs2" if group == "plain" else ("convs1" if resblock == 1 else "convs")
        key = f"resblocks.{int(stage) * kernels + int(kernel)}.{name}.{conv}.{rest}"
    return re.sub(r"^(mpd|msd)\.branches\.", r"\1.discriminators.", key)


def official_discriminator_names(state_dict: dict[str, torch.Tensor]) -> dict[str, dict[str, torch.Tensor]]:
    """Our discriminator's weights (keys ``mpd.*`` / ``msd.*``) as the official ``do_`` file holds them:
    ``{"mpd": ..., "msd": ...}`` under the official names, in our (= the official) module order."""
    official: dict[str, dict[str, torch.Tensor]] = {"mpd": {}, "msd": {}}
    for key, value in state_dict.items():
        net, _, rest = _ours_to_official(key, 1, 1).partition(".")
        official[net][rest] = value
    return official


def _newest(folder: Path, prefix: str) -> Path | None:
    """The official trainer's pick: the newest ``<prefix><8 digits>`` file of ``folder``."""
    found = sorted(p for p in folder.glob(f"{prefix}????????") if p.name[len(prefix) :].isdigit())
    return found[-1] if found else None


class HiFiGANRelease(ReleaseLayout):
    name = "jik876/hifi-gan"
    files = (
        "g_<steps> holding {'generator'}; do_<steps> holding {'mpd', 'msd', 'optim_g', 'optim_d', 'steps', "
        "'epoch'} and config.json beside it, both optional; or their folder (the newest pair)"
    )

    def recognises(self, path: Path) -> bool:
        # the official names: g_ / do_ and the step count (8 digits); an audiogan g_best.ckpt is not one
        if path.is_dir():
            return _newest(path, "g_") is not None
        return path.is_file() and re.fullmatch(r"(g|do)_\d+", path.name) is not None

    def read(self, path: Path, config: str | os.PathLike | None = None) -> Release:
        if path.is_dir():
            path = _newest(path, "g_")
        steps = path.name.partition("_")[2]
        g_path, do_path = path.parent / f"g_{steps}", path.parent / f"do_{steps}"
        weights = load_release_file(g_path, {"generator"}, "a jik876/hifi-gan generator file")["generator"]
        config_path = Path(config) if config else path.parent / "config.json"
        notes = []
        if config_path.is_file():
            official = json.loads(config_path.read_text())
            overrides = _config_overrides(official)
            kernels = len(official.get("resblock_kernel_sizes", (3, 7, 11)))
        else:
            width = weights["conv_pre.weight_v"].shape[0]
            stages = len({k.split(".")[1] for k in weights if k.startswith("ups.")})
            variant = "v3" if stages == 3 else VARIANTS.get(width)
            if variant is None:
                raise ConfigError(
                    f"{g_path}: no config.json beside it and no HiFi-GAN V1/V2/V3 of width {width}"
                )
            overrides = [f"model.variant={variant}"]
            notes.append(f"no config.json: {variant.upper()} assumed from the weight shapes")
            kernels = 3
        state = {f"generator.{_official_to_ours(k, kernels)}": v for k, v in weights.items()}
        if not do_path.is_file():
            notes.append(
                f"no {do_path.name} beside {g_path.name}: a fresh discriminator and fresh optimizers"
            )
            return Release("hifigan", overrides, state, notes)
        held = load_release_file(
            do_path,
            {"mpd", "msd", "optim_g", "optim_d", "steps", "epoch"},
            "a jik876/hifi-gan discriminator file",
        )
        d_names = []  # the official optim_d's order: chain(msd.parameters(), mpd.parameters())
        for net in ("msd", "mpd"):
            keys = list(held[net])
            for key in keys:
                spectral = _is_spectral_buffer(key, keys)
                ours = f"discriminator.{_official_to_ours(f'{net}.{key}', kernels, spectral)}"
                state[ours] = held[net][key]
                if not spectral:
                    d_names.append(ours.removeprefix("discriminator."))
        g_names = [_official_to_ours(k, kernels) for k in weights]
        optimizers = {
            "generator": optimizer_by_name(held["optim_g"], g_names, f"{do_path}: optim_g"),
            "discriminator": optimizer_by_name(held["optim_d"], d_names, f"{do_path}: optim_d"),
        }
        # the official run resumes at the start of the epoch it saved in, at step + 1, its learning rate the
        # saved one: lr x lr_decay^epoch, as the uninterrupted run (its ExponentialLR(last_epoch=epoch) leaves
        # the rate as it is on torch 2; torch 1 stepped it once more on every resume)
        epoch = int(held["epoch"])
        training = TrainingState(int(held["steps"]) + 1, epoch, optimizers, scheduler_steps=epoch)
        notes.append(
            f"{do_path.name}: discriminators and both optimizers after step {held['steps']}, epoch {epoch}; "
            f"goes on at step {training.batches}, from the start of epoch {epoch}, as the official resume"
        )
        return Release("hifigan", overrides, state, notes, training)

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
        steps = max(task.counters.batches - 1, 0)  # the official name counts from step 0
        weights_path, config_path = folder / f"g_{steps:08d}", folder / "config.json"
        with atomic_write(weights_path) as tmp:
            torch.save({"generator": weights}, tmp)
        with atomic_write(config_path) as tmp:
            tmp.write_text(json.dumps(official, indent=2) + "\n")
        return [weights_path, config_path]


def _config_overrides(official: dict[str, Any]) -> list[str]:
    """The audiogan config overrides that build what an official ``config.json`` describes."""
    if "resblock" in official:
        official = {**official, "resblock": int(official["resblock"])}
    overrides = [config_override(CONFIG_KEYS[k], v) for k, v in official.items() if k in CONFIG_KEYS]
    return overrides + optimizer_overrides(official)
