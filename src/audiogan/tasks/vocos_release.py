"""Vocos's release layout (https://github.com/gemelo-ai/vocos; e.g. the Hugging Face repository
charactr/vocos-mel-24khz): a folder holding ``config.yaml`` (jsonargparse style: ``feature_extractor``,
``backbone`` and ``head``, each a ``class_path`` with its ``init_args``) and ``pytorch_model.bin`` (the
``state_dict`` of the official ``Vocos(feature_extractor, backbone, head)``, no discriminator). Read into the
``vocos`` family and written back, so the official ``Vocos.from_hparams`` + ``load_state_dict`` take it.

The ``class_path`` entries name the official classes; they are mapped to this package's modules by name
and never imported. Generator names are the official ones under ``generator.``; the feature extractor's
buffers (window and mel filterbank) are what our front-end computes from the same settings.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
import torchaudio
import yaml

from audiogan.errors import ConfigError
from audiogan.tasks.release import Release, ReleaseLayout, config_override
from audiogan.utils.files import atomic_write
from audiogan.utils.tensor_files import load_tensor_file

CONFIG, WEIGHTS = "config.yaml", "pytorch_model.bin"
# the official classes this layout maps, and the defaults of their arguments (vocos 0.1.0)
MEL_FEATURES = "vocos.feature_extractors.MelSpectrogramFeatures"
BACKBONE = "vocos.models.VocosBackbone"
HEAD = "vocos.heads.ISTFTHead"
FEATURE_DEFAULTS = {
    "sample_rate": 24000,
    "n_fft": 1024,
    "hop_length": 256,
    "n_mels": 100,
    "padding": "center",
}
HEAD_DEFAULTS = {"padding": "same"}
PARTS = {"feature_extractor": MEL_FEATURES, "backbone": BACKBONE, "head": HEAD}


def _folder(path: Path) -> Path:
    return path if path.is_dir() else path.parent


def _part(config: dict[str, Any], part: str, source: Path) -> dict[str, Any]:
    """The ``init_args`` of a config part whose ``class_path`` is the one this layout maps."""
    entry = config.get(part)
    class_path = entry.get("class_path") if isinstance(entry, dict) else None
    if class_path != PARTS[part]:
        raise ConfigError(
            f"{source}: {part}.class_path is {class_path!r}; audiogan maps the mel Vocos "
            f"({', '.join(PARTS.values())}; the EnCodec-token and IMDCT variants are not supported)"
        )
    return dict(entry.get("init_args") or {})


def release_overrides(config: dict[str, Any], source: Path) -> tuple[list[str], list[str]]:
    """(the audiogan config overrides that build what an official ``config.yaml`` describes, notes)."""
    features = {**FEATURE_DEFAULTS, **_part(config, "feature_extractor", source)}
    backbone = _part(config, "backbone", source)
    head = {**HEAD_DEFAULTS, **_part(config, "head", source)}
    if backbone.get("adanorm_num_embeddings") is not None:
        raise ConfigError(
            f"{source}: backbone.adanorm_num_embeddings is set: a conditional Vocos, not supported"
        )
    if backbone["input_channels"] != features["n_mels"]:
        raise ConfigError(
            f"{source}: backbone.input_channels={backbone['input_channels']} but the features have "
            f"{features['n_mels']} mels"
        )
    if head["padding"] != features["padding"]:
        raise ConfigError(
            f"{source}: head.padding={head['padding']!r} but features.padding={features['padding']!r}"
        )
    overrides = [
        config_override("audio.sample_rate", features["sample_rate"]),
        config_override("audio.n_fft", features["n_fft"]),
        config_override("audio.win_length", features["n_fft"]),
        config_override("audio.hop_length", features["hop_length"]),
        config_override("audio.n_mels", features["n_mels"]),
        config_override("audio.center", features["padding"] == "center"),
        config_override("model.task.generator.dim", backbone["dim"]),
        config_override("model.task.generator.intermediate_dim", backbone["intermediate_dim"]),
        config_override("model.task.generator.num_layers", backbone["num_layers"]),
        config_override("model.task.generator.n_fft", head["n_fft"]),
        config_override("model.task.generator.hop_length", head["hop_length"]),
        config_override("model.task.generator.padding", head["padding"]),
    ]
    notes = []
    if backbone.get("layer_scale_init_value") is not None:
        notes.append(
            "backbone.layer_scale_init_value only sets an untrained layer scale: the weights hold it"
        )
    return overrides, notes


# the front-end settings the official MelSpectrogramFeatures fixes (torchaudio's MelSpectrogram defaults,
# power 1, safe_log's clamp)
OFFICIAL_FRONT_END = {
    "fmin": 0.0,
    "fmax": None,
    "mel_scale": "htk",
    "mel_norm": None,
    "filterbank": "torchaudio",
    "magnitude_eps": 0.0,
    "log": "ln",
    "log_floor": 1e-7,
}


def _check_official_front_end(audio: Any) -> None:
    """Refuse a front-end the official feature extractor cannot express, naming the first setting."""
    for key, official in [*OFFICIAL_FRONT_END.items(), ("win_length", audio.n_fft)]:
        if getattr(audio, key) != official:
            raise ConfigError(
                f"audio.{key}={getattr(audio, key)!r}: the official Vocos feature extractor has "
                f"{official!r}, so this model has no Vocos release layout"
            )


class VocosRelease(ReleaseLayout):
    name = "gemelo-ai/vocos"
    files = f"a folder with {CONFIG} (feature_extractor, backbone, head) and {WEIGHTS}, or one of the two"

    def recognises(self, path: Path) -> bool:
        folder = _folder(path)
        if path.is_file() and path.name not in (CONFIG, WEIGHTS):
            return False
        if not ((folder / CONFIG).is_file() and (folder / WEIGHTS).is_file()):
            return False
        try:
            config = yaml.safe_load((folder / CONFIG).read_text())
        except (yaml.YAMLError, UnicodeDecodeError):
            return False
        return isinstance(config, dict) and all(part in config for part in PARTS)

    def read(self, path: Path, config: str | os.PathLike | None = None) -> Release:
        folder = _folder(path)
        config_path = Path(config) if config else folder / CONFIG
        overrides, notes = release_overrides(yaml.safe_load(config_path.read_text()), config_path)
        weights = load_tensor_file(folder / WEIGHTS)
        if not isinstance(weights, dict) or not any(k.startswith("backbone.") for k in weights):
            found = sorted(weights)[:8] if isinstance(weights, dict) else type(weights).__name__
            raise ConfigError(
                f"{folder / WEIGHTS}: expected a Vocos state_dict (backbone.*, head.*); found {found}"
            )
        state = {
            f"generator.{key}": value
            for key, value in weights.items()
            if key.startswith(("backbone.", "head."))
        }
        notes.append(f"{WEIGHTS} holds the generator only: a fresh discriminator and fresh optimizers")
        return Release("vocos", overrides, state, notes)

    def write(self, task: Any, folder: Path) -> list[Path]:
        generator, audio = task.hparams["generator"], task.audio_config
        _check_official_front_end(audio)
        padding = generator.get("padding", "center")
        config = {
            "feature_extractor": {
                "class_path": MEL_FEATURES,
                "init_args": {
                    "sample_rate": audio.sample_rate,
                    "n_fft": audio.n_fft,
                    "hop_length": audio.hop_length,
                    "n_mels": audio.n_mels,
                    "padding": padding,
                },
            },
            "backbone": {
                "class_path": BACKBONE,
                "init_args": {
                    "input_channels": audio.n_mels,
                    "dim": generator["dim"],
                    "intermediate_dim": generator["intermediate_dim"],
                    "num_layers": generator["num_layers"],
                },
            },
            "head": {
                "class_path": HEAD,
                "init_args": {
                    "dim": generator["dim"],
                    "n_fft": generator["n_fft"],
                    "hop_length": generator["hop_length"],
                    "padding": padding,
                },
            },
        }
        weights = {
            # the official feature extractor's buffers: torchaudio's MelSpectrogram of these settings
            "feature_extractor.mel_spec.spectrogram.window": torch.hann_window(audio.n_fft),
            "feature_extractor.mel_spec.mel_scale.fb": torchaudio.functional.melscale_fbanks(
                audio.n_fft // 2 + 1, 0.0, audio.sample_rate / 2, audio.n_mels, audio.sample_rate
            ),
            **task.generator.state_dict(),
        }
        folder.mkdir(parents=True, exist_ok=True)
        config_path, weights_path = folder / CONFIG, folder / WEIGHTS
        with atomic_write(config_path) as tmp:
            tmp.write_text(yaml.safe_dump(config, sort_keys=False))
        with atomic_write(weights_path) as tmp:
            torch.save(weights, tmp)
        return [config_path, weights_path]
