"""BigVGAN's release layout (https://github.com/NVIDIA/BigVGAN, v2.4; e.g. the Hugging Face repository
nvidia/bigvgan_v2_22khz_80band_256x): a folder holding

* ``bigvgan_generator.pt``: ``torch.save({"generator": state_dict})`` of the official ``BigVGAN(h)``, with
  hook weight norm (``weight_g`` / ``weight_v``);
* ``config.json``: its hyperparameters ``h`` (the repository's configs/*.json: sizes, front-end, recipe);
* optionally ``bigvgan_discriminator_optimizer.pt``: ``{"mpd", "mrd", "optim_g", "optim_d", "steps",
  "epoch"}`` as the official train.py saves them: the multi-period D, the spectral D (``mrd``: v2's sub-band
  CQT-D or v1's multi-resolution D), AdamW over ``generator.parameters()`` and over
  ``chain(mrd.parameters(), mpd.parameters())`` (the spectral D first), the step and epoch it stopped at.

Read into the bigvgan family (its release configs: ``bigvgan``, ``bigvgan_v2_24k``, ``bigvgan_v2_44k_512x``,
``bigvgan_base_22k``) and written back, so that the official ``BigVGAN(h)`` loads what audiogan trained with
``strict=True``. Our module names are the official ones but for weight norm (the parametrization's
``parametrizations.weight.original0/1`` for the hook's ``weight_g`` / ``weight_v``) and the discriminators'
branches (the official ``discriminators.<i>``, our ``branches.<i>``). The anti-aliasing filters, the CQT
kernels and the resampler's kernel are buffers in both state dicts.

The official trainer also writes ``g_<steps>`` / ``do_<steps>`` files during a run: those are read by the
HiFi-GAN layout's rules, not here.
"""

from __future__ import annotations

import inspect
import json
import os
import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
from hydra.utils import get_class

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

GENERATOR, DISCRIMINATOR, CONFIG = "bigvgan_generator.pt", "bigvgan_discriminator_optimizer.pt", "config.json"
# the official code's defaults for the keys a config.json may leave out (bigvgan 2.4.1: bigvgan.py,
# discriminators.py, train.py)
DEFAULTS: dict[str, Any] = {
    "use_tanh_at_final": True,
    "use_bias_at_final": True,
    "use_cqtd_instead_of_mrd": False,
    "use_mbd_instead_of_mrd": False,
    "use_spectral_norm": False,
    "discriminator_channel_mult": 1,
    "use_multiscale_melloss": False,
    "lambda_melloss": 45.0,
    "clip_grad_norm": 1000.0,
    "cqtd_filters": 32,
    "cqtd_max_filters": 1024,
    "cqtd_filters_scale": 1,
    "cqtd_dilations": [1, 2, 4],
    "cqtd_in_channels": 1,
    "cqtd_out_channels": 1,
    "cqtd_hop_lengths": [512, 256, 256],
    "cqtd_n_octaves": [9, 9, 9],
    "cqtd_bins_per_octaves": [24, 36, 48],
    "cqtd_normalize_volume": False,
}
# the keys the official generator and mel front-end cannot do without
REQUIRED = (
    "resblock",
    "upsample_rates",
    "upsample_kernel_sizes",
    "upsample_initial_channel",
    "resblock_kernel_sizes",
    "resblock_dilation_sizes",
    "activation",
    "snake_logscale",
    "num_mels",
    "n_fft",
    "hop_size",
    "win_size",
    "sampling_rate",
    "fmin",
    "fmax",
)
# official config.json key -> the audiogan config key it sets, one to one
SIZE_KEYS = {
    "upsample_initial_channel": "model.task.generator.channels",
    "upsample_rates": "model.task.generator.upsample_rates",
    "upsample_kernel_sizes": "model.task.generator.upsample_kernel_sizes",
    "resblock_kernel_sizes": "model.task.generator.resblock_kernel_sizes",
    "resblock_dilation_sizes": "model.task.generator.resblock_dilations",
    "activation": "model.task.generator.activation",
    "snake_logscale": "model.task.generator.snake_logscale",
    "use_tanh_at_final": "model.task.generator.tanh_at_final",
    "use_bias_at_final": "model.task.generator.bias_at_final",
    "num_mels": "audio.n_mels",
    "n_fft": "audio.n_fft",
    "hop_size": "audio.hop_length",
    "win_size": "audio.win_length",
    "sampling_rate": "audio.sample_rate",
    "fmin": "audio.fmin",
    "fmax": "audio.fmax",
}
CQTD = "model.spectral_discriminators.cqt"
CQTD_KEYS = {
    "cqtd_filters": "filters",
    "cqtd_max_filters": "max_filters",
    "cqtd_filters_scale": "filters_scale",
    "cqtd_dilations": "dilations",
    "cqtd_hop_lengths": "hop_lengths",
    "cqtd_n_octaves": "n_octaves",
    "cqtd_bins_per_octaves": "bins_per_octaves",
    "cqtd_normalize_volume": "normalize_volume",
}
TRAINING_KEYS = {"segment_size": "model.datasets.train.segment_length", "batch_size": "model.batch_size"}
# the official MPD's widths (times discriminator_channel_mult), v1 MRD's (times its multiplier), and the
# multi-scale mel loss's scales (BigVGAN-v2's MultiScaleMelSpectrogramLoss, which takes no settings)
MPD_WIDTHS = (32, 128, 512, 1024, 1024)
MRD_WIDTH = 32
MULTISCALE_MEL = {
    "window_lengths": [32, 64, 128, 256, 512, 1024, 2048],
    "n_mels": [5, 10, 20, 40, 80, 160, 320],
}
# the v2 model configs by (sample rate, mels, hop); others build on "bigvgan" with the release's overrides
V2_FAMILIES = {
    (22050, 80): "bigvgan",
    (24000, 100): "bigvgan_v2_24k",
    (44100, 128, 512): "bigvgan_v2_44k_512x",
}
# entries of the official state dicts that are buffers, not parameters (and so not in an optimizer): the
# anti-aliased activations' filters, the CQT-D's nnAudio kernels and its resampler's kernel
BUFFER = re.compile(r"(^|\.)(upsample\.filter|lowpass\.filter|cqt_transform\.[^.]+|resample\.kernel)$")
# the official mel_spectrogram's fixed settings (librosa's Slaney bands, sqrt(|X|^2 + 1e-9), ln, clamp 1e-5)
OFFICIAL_FRONT_END = {
    "mel_scale": "slaney",
    "mel_norm": "slaney",
    "filterbank": "librosa",
    "magnitude_eps": 1e-9,
    "log": "ln",
    "log_floor": 1e-5,
    "center": False,
}


def _official_to_ours(key: str) -> str:
    """One official key (a generator's, or ``mpd.`` / ``mrd.`` and a discriminator's) under our name."""
    return from_hook_weight_norm(re.sub(r"^(mpd|mrd)\.discriminators\.", r"\1.branches.", key))


def _parameters(state_dict: Mapping[str, Any]) -> list[str]:
    """The parameters of an official state dict, in its order (that of ``module.parameters()``)."""
    return [key for key in state_dict if not BUFFER.search(key)]


def _refuse_unsupported(official: Mapping[str, Any], source: Path) -> None:
    """A config.json asking for what audiogan does not build is refused, naming the first such key."""
    missing = [key for key in REQUIRED if key not in official]
    if missing:
        raise ConfigError(f"{source}: no {missing[0]}; the official BigVGAN cannot be built without it")
    h = {**DEFAULTS, **official}
    refusals = [
        ("use_mbd_instead_of_mrd", h["use_mbd_instead_of_mrd"], "the multi-band D is not supported"),
        ("use_spectral_norm", h["use_spectral_norm"], "audiogan's MPD and MRD use weight norm (false)"),
        ("mrd_use_spectral_norm", h.get("mrd_use_spectral_norm", False), "audiogan's MRD uses weight norm"),
        ("cqtd_in_channels", h["cqtd_in_channels"] != 1, "audiogan's CQT-D takes 1"),
        ("cqtd_out_channels", h["cqtd_out_channels"] != 1, "audiogan's CQT-D gives 1"),
        (
            "cqtd_filters_scale",
            h["cqtd_filters_scale"] != 1,
            "audiogan maps 1 (with another scale the official widths are not a geometric series)",
        ),
        ("resblock", str(h["resblock"]) not in ("1", "2"), "the AMP blocks are '1' and '2'"),
        ("activation", h["activation"] not in ("snake", "snakebeta"), "the activations are snake, snakebeta"),
    ]
    for key, refused, supported in refusals:
        if refused:
            raise ConfigError(f"{source}: {key}={official[key]!r} is not supported: {supported}")


def release_family(official: Mapping[str, Any]) -> str:
    """The model config a config.json builds on: v1 (no CQT-D) -> ``bigvgan_base_22k``; v2 -> the release
    config of its sample rate, mels (and hop), else ``bigvgan``. The overrides give every size either way."""
    if not official.get("use_cqtd_instead_of_mrd", False):
        return "bigvgan_base_22k"
    rate, mels, hop = official["sampling_rate"], official["num_mels"], official["hop_size"]
    return V2_FAMILIES.get((rate, mels, hop)) or V2_FAMILIES.get((rate, mels), "bigvgan")


def release_overrides(official: Mapping[str, Any], source: Path) -> list[str]:
    """The audiogan config overrides that build what an official config.json describes: every size and
    front-end key, the discriminators and the recipe (mel loss, clipping, optimizers, schedule, batches)."""
    _refuse_unsupported(official, source)
    h = {**DEFAULTS, **official}
    overrides = [config_override(ours, h[key]) for key, ours in SIZE_KEYS.items()]
    overrides.append(config_override("model.task.generator.resblock", int(h["resblock"])))
    if h.get("fmax_for_loss", h["fmax"]) == h["fmax"]:  # the loss mel is the input mel
        overrides.append("audio.loss_mel=null")
    else:  # v1's mel loss over another band (++: the node is null in the v2 front-ends)
        overrides.append("++" + config_override("audio.loss_mel.fmax", h["fmax_for_loss"]))
    mult = h["discriminator_channel_mult"]
    if h["use_cqtd_instead_of_mrd"]:
        overrides.append("model.spectral_discriminator=cqt")
        overrides += [config_override(f"{CQTD}.{ours}", h[key]) for key, ours in CQTD_KEYS.items()]
    else:
        overrides.append("model.spectral_discriminator=resolution")
        width = int(MRD_WIDTH * h.get("mrd_channel_mult", mult))
        overrides.append(config_override("model.spectral_discriminators.resolution.channels", width))
        if "resolutions" in h:
            resolutions = h["resolutions"]
            overrides.append(
                config_override("model.spectral_discriminators.resolution.resolutions", resolutions)
            )
    if "mpd_reshapes" in h:
        overrides.append(config_override("model.task.discriminator.mpd.periods", h["mpd_reshapes"]))
    mpd_widths = [int(width * mult) for width in MPD_WIDTHS]
    overrides.append(config_override("model.task.discriminator.mpd.channels", mpd_widths))
    if h["use_multiscale_melloss"]:
        overrides += [
            config_override(f"++model.task.multiscale_mel.{k}", v) for k, v in MULTISCALE_MEL.items()
        ]
    else:
        overrides.append("model.task.multiscale_mel=null")
    for weight in ("mel_l1", "warmup_mel_l1"):
        overrides.append(config_override(f"model.task.loss_weights.{weight}", float(h["lambda_melloss"])))
    clip = float(h["clip_grad_norm"])
    overrides.append(config_override("model.task.optim.grad_clip.generator", clip))
    for part in ("mpd", "mrd"):
        overrides.append(config_override(f"model.task.optim.grad_clip.discriminator.{part}", clip))
    overrides += optimizer_overrides(h)
    overrides += [config_override(ours, h[key]) for key, ours in TRAINING_KEYS.items() if key in h]
    return overrides


def _folder(path: Path) -> Path:
    return path if path.is_dir() else path.parent


class BigVGANRelease(ReleaseLayout):
    name = "NVIDIA/BigVGAN"
    files = (
        f"a folder with {GENERATOR} holding {{'generator'}} and {CONFIG}, {DISCRIMINATOR} holding "
        "{'mpd', 'mrd', 'optim_g', 'optim_d', 'steps', 'epoch'} optional; or one of the two files"
    )

    def recognises(self, path: Path) -> bool:
        # by the official names alone: a folder holding the generator file, or one of the two files
        if path.is_dir():
            return (path / GENERATOR).is_file()
        return (
            path.is_file() and path.name in (GENERATOR, DISCRIMINATOR) and (path.parent / GENERATOR).is_file()
        )

    def read(self, path: Path, config: str | os.PathLike | None = None) -> Release:
        folder = _folder(path)
        g_path, d_path = folder / GENERATOR, folder / DISCRIMINATOR
        config_path = Path(config) if config else folder / CONFIG
        if not config_path.is_file():
            raise ConfigError(
                f"{g_path}: no {CONFIG} beside it; a BigVGAN release's sizes are only there (config= names "
                "one elsewhere)"
            )
        official = json.loads(config_path.read_text())
        overrides = release_overrides(official, config_path)  # refuses what audiogan does not build
        family = release_family(official)
        weights = load_release_file(g_path, {"generator"}, "an NVIDIA/BigVGAN generator file")["generator"]
        state = {f"generator.{_official_to_ours(k)}": v for k, v in weights.items()}
        if not d_path.is_file():
            notes = [f"no {DISCRIMINATOR} beside {GENERATOR}: a fresh discriminator and fresh optimizers"]
            return Release(family, overrides, state, notes)
        held = load_release_file(
            d_path,
            {"mpd", "mrd", "optim_g", "optim_d", "steps", "epoch"},
            "an NVIDIA/BigVGAN discriminator file",
        )
        d_names = []  # the official optim_d's order: chain(mrd.parameters(), mpd.parameters())
        for net in ("mrd", "mpd"):
            for key, value in held[net].items():
                state[f"discriminator.{_official_to_ours(f'{net}.{key}')}"] = value
            d_names += [_official_to_ours(f"{net}.{key}") for key in _parameters(held[net])]
        g_names = [_official_to_ours(key) for key in _parameters(weights)]
        optimizers = {
            "generator": optimizer_by_name(held["optim_g"], g_names, f"{d_path}: optim_g"),
            "discriminator": optimizer_by_name(held["optim_d"], d_names, f"{d_path}: optim_d"),
        }
        # the official run steps its ExponentialLR after every batch: after step s it trains step s + 1 at
        # learning_rate x lr_decay^(s + 1), where this import goes on (its own resume keeps the saved rate,
        # one step behind); so the schedulers stand at s + 1, the counters too
        for key in ("learning_rate", "lr_decay"):
            if key not in official:
                raise ConfigError(
                    f"{config_path}: no {key}; the training state in {d_path.name} goes on from it"
                )
        steps, epoch = int(held["steps"]), int(held["epoch"])
        training = TrainingState(steps + 1, epoch, optimizers, scheduler_steps=steps + 1)
        rate = official["learning_rate"] * official["lr_decay"] ** (steps + 1)
        saved = held["optim_g"]["param_groups"][0]["lr"]
        notes = [
            f"{DISCRIMINATOR}: discriminators and both optimizers after step {steps}, epoch {epoch}; goes "
            f"on at step {training.batches}, from the start of epoch {epoch}, at the learning rate the "
            f"uninterrupted official run has there: learning_rate x lr_decay^{steps + 1} = {rate:.6g} "
            f"(saved: {float(saved):.6g})"
        ]
        return Release(family, overrides, state, notes, training)

    def write(self, task: Any, folder: Path) -> list[Path]:
        """``bigvgan_generator.pt`` and ``config.json``: what the official ``BigVGAN(h)`` loads with
        ``strict=True``, the config also holding the discriminators' and the recipe's keys where the official
        code can express them. Not written: ``bigvgan_discriminator_optimizer.pt`` (the official trainer
        loads it only with the optimizers' states, which a task outside its trainer does not hold, and resumes
        only from both files: from this folder it starts afresh) and the run's own settings (segment_size,
        batch_size, num_gpus, num_workers, seed, dist_config), which the task does not know."""
        official = official_config(task)
        weights = {to_hook_weight_norm(k): v for k, v in task.generator.state_dict().items()}
        folder.mkdir(parents=True, exist_ok=True)
        weights_path, config_path = folder / GENERATOR, folder / CONFIG
        with atomic_write(weights_path) as tmp:
            torch.save({"generator": weights}, tmp)
        with atomic_write(config_path) as tmp:
            tmp.write_text(json.dumps(official, indent=2) + "\n")
        return [weights_path, config_path]


def _arguments(node: Mapping[str, Any]) -> dict[str, Any]:
    """A config node's constructor arguments with the defaults of those it leaves out."""
    parameters = inspect.signature(get_class(node["_target_"])).parameters.values()
    defaults = {p.name: p.default for p in parameters if p.default is not inspect.Parameter.empty}
    return {**defaults, **{k: v for k, v in node.items() if k != "_target_"}}


def _check_official_front_end(audio: Any) -> None:
    """Refuse a front-end the official ``mel_spectrogram`` cannot express, naming the first setting."""
    for key, official in OFFICIAL_FRONT_END.items():
        if getattr(audio, key) != official:
            raise ConfigError(
                f"audio.{key}={getattr(audio, key)!r}: the official BigVGAN front-end has {official!r}, so "
                "this model has no BigVGAN release layout"
            )
    loss = audio.loss_front_end()
    if loss != replace(audio, fmax=loss.fmax, loss_mel=None):
        raise ConfigError(
            f"audio.loss_mel={dict(audio.loss_mel)}: the official loss mel differs from the input mel in its "
            "fmax (fmax_for_loss) only"
        )


def _discriminator_keys(discriminator: Mapping[str, Any]) -> dict[str, Any]:
    """The official keys of the task's MPD and spectral D (the widths where the official code builds them)."""
    mpd, mrd = _arguments(discriminator["mpd"]), _arguments(discriminator["mrd"])
    keys: dict[str, Any] = {"mpd_reshapes": list(mpd["periods"]), "use_spectral_norm": False}
    mult = mpd["channels"][0] / MPD_WIDTHS[0]
    if list(mpd["channels"]) == [int(width * mult) for width in MPD_WIDTHS]:
        keys["discriminator_channel_mult"] = int(mult) if mult.is_integer() else mult
    if mrd.get("bins_per_octaves") is not None:  # the sub-band CQT-D
        keys["use_cqtd_instead_of_mrd"] = True
        keys.update({key: mrd[ours] for key, ours in CQTD_KEYS.items()})
    else:
        keys["use_cqtd_instead_of_mrd"] = False
        keys["resolutions"] = [list(r) for r in mrd["resolutions"]]
        mrd_mult = mrd["channels"] / MRD_WIDTH
        if mrd_mult != keys.get("discriminator_channel_mult"):
            keys["mrd_channel_mult"] = int(mrd_mult) if mrd_mult.is_integer() else mrd_mult
    return keys


def official_config(task: Any) -> dict[str, Any]:
    """The official config.json of ``task``: the generator's sizes, the front-end, the discriminators and the
    recipe (the multi-scale mel loss or not, its weight, the generator's clipping norm, AdamW, the per-step
    decay) in the keys of the repository's configs."""
    hparams, audio = task.hparams, task.audio_config
    _check_official_front_end(audio)
    generator = _arguments(hparams["generator"])
    official: dict[str, Any] = {
        "resblock": str(generator["resblock"]),
        "upsample_rates": list(generator["upsample_rates"]),
        "upsample_kernel_sizes": list(generator["upsample_kernel_sizes"]),
        "upsample_initial_channel": generator["channels"],
        "resblock_kernel_sizes": list(generator["resblock_kernel_sizes"]),
        "resblock_dilation_sizes": [list(d) for d in generator["resblock_dilations"]],
        "use_tanh_at_final": generator["tanh_at_final"],
        "use_bias_at_final": generator["bias_at_final"],
        "activation": generator["activation"],
        "snake_logscale": generator["snake_logscale"],
        **_discriminator_keys(hparams["discriminator"]),
        "use_multiscale_melloss": hparams.get("multiscale_mel") is not None,
    }
    weights = hparams.get("loss_weights") or {}
    if "mel_l1" in weights:
        official["lambda_melloss"] = weights["mel_l1"]
    clip = (hparams["optim"].get("grad_clip") or {}).get("generator")
    if clip is not None:
        official["clip_grad_norm"] = clip
    optimizer = _arguments(hparams["optim"]["generator"])
    official.update(
        learning_rate=optimizer["lr"], adam_b1=optimizer["betas"][0], adam_b2=optimizer["betas"][1]
    )
    scheduler = (hparams.get("scheduler") or {}).get("generator")
    if not scheduler:
        official["lr_decay"] = 1.0
    elif scheduler["scheduler"]["_target_"].endswith("ExponentialLR") and scheduler.get("interval") == "step":
        official["lr_decay"] = scheduler["scheduler"]["gamma"]
    official.update(
        num_mels=audio.n_mels,
        n_fft=audio.n_fft,
        hop_size=audio.hop_length,
        win_size=audio.win_length,
        sampling_rate=audio.sample_rate,
        fmin=audio.fmin,
        fmax=audio.fmax,
        fmax_for_loss=audio.loss_front_end().fmax,
    )
    return official
