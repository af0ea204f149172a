"""Train the SC09 digit classifier once per corpus and settings, and cache it for IS / FID evaluation.

Usage: ``python -m audiogan.commands.digit_classifier root=<data dir>
corpus=tiny_speech_digits|speech_commands
[epochs=N channels=C batch_size=B lr=LR seed=S max_steps=N n_mels=M device=cpu cache=<file> download=true]``

Settings default to :class:`TrainSettings`, on tiny_speech to the smaller ``TINY_SPEECH_SETTINGS``.

Speech Commands is read from ``<data dir>/SpeechCommands/speech_commands_v0.02`` (where torchaudio's
download puts it); the cache defaults to ``<data dir>/cache/digit_classifier_<corpus>.pt``, where SpecGAN's
validation looks for it (corpus names are the data config names: ``data=tiny_speech_digits`` etc.).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from omegaconf import OmegaConf

from audiogan.audio.io import load_audio
from audiogan.data.corpora.base import Corpus, CorpusNotFoundError, Utterance
from audiogan.data.corpora.speech_commands import SpeechCommands
from audiogan.data.corpora.tiny_speech import DIGITS, TinySpeech
from audiogan.metrics.digits import (
    CLIP_SAMPLES,
    SAMPLE_RATE,
    DigitClassifier,
    classifier_from_cache,
    classify,
    default_device,
    fit_clip,
)
from audiogan.utils.atomic_checkpoint import atomic_torch_save
from audiogan.utils.tensor_files import load_tensor_file

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainSettings:
    """Everything that changes the trained classifier; the cache is reused only when all of it matches.

    The original trained with SGD at 1e-4 for ~100k steps; Adam at 1e-3 gets there in a few epochs.
    """

    epochs: int = 20
    batch_size: int = 64
    lr: float = 1e-3
    seed: int = 0
    max_steps: int | None = None
    channels: int = 128
    n_mels: int = 128


def cache_key(corpus: Corpus, settings: TrainSettings) -> str:
    """A hash of the train and val utterance lists (id, speaker, word) and the settings."""
    listing = {
        split: [(u.utt_id, u.speaker, u.text) for u in corpus.utterances(split)] for split in ("train", "val")
    }
    payload = json.dumps({"utterances": listing, "settings": dataclasses.asdict(settings)}, sort_keys=True)
    return hashlib.sha1(payload.encode()).hexdigest()


def load_clips(utterances: list[Utterance]) -> tuple[torch.Tensor, torch.Tensor]:
    """Clips [N, 16384] (first slice at 16 kHz, zero-padded) and digit labels [N] from the word texts.

    Silent clips are kept: they are labelled data like any other.
    """
    words = [u.text.strip().lower() for u in utterances]
    unknown = sorted(set(words) - set(DIGITS))
    if unknown:
        raise ValueError(f"digit classifier: utterances with non-digit texts {unknown}; expected {DIGITS}")
    audio = [fit_clip(load_audio(u.path, SAMPLE_RATE, silence_threshold=0.0)) for u in utterances]
    labels = torch.tensor([DIGITS.index(w) for w in words], dtype=torch.long)
    return (torch.stack(audio) if audio else torch.zeros(0, CLIP_SAMPLES)), labels


def accuracy(model: DigitClassifier, audio: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of clips classified correctly (NaN for none)."""
    if len(labels) == 0:
        return math.nan
    probabilities, _ = classify(model, audio)
    return (probabilities.argmax(-1) == labels).float().mean().item()


def train_digit_classifier(
    corpus: Corpus, cache_path: str | os.PathLike, *, device: str | None = None, **settings
) -> DigitClassifier:
    """Train on ``corpus``' train split, measure accuracy on its val split, cache both at ``cache_path``.

    ``settings`` are fields of :class:`TrainSettings` (epochs, batch_size, lr, seed, max_steps,
    channels, n_mels). Always trains; :func:`load_or_train` reuses a matching cache instead.
    Returns the model in eval mode with ``val_accuracy`` set.
    """
    config = TrainSettings(**settings)
    device = device or default_device()
    train_audio, train_labels = load_clips(corpus.utterances("train"))
    val_audio, val_labels = load_clips(corpus.utterances("val"))
    if len(train_labels) < 2:
        raise ValueError(f"digit classifier: need at least 2 train clips, got {len(train_labels)}")
    torch.manual_seed(config.seed)
    model = DigitClassifier(n_mels=config.n_mels, channels=config.channels, n_classes=len(DIGITS)).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    order = torch.Generator().manual_seed(config.seed)
    batch_size = min(config.batch_size, len(train_labels))
    step, start = 0, time.monotonic()
    for epoch in range(config.epochs):
        model.train()
        permutation = torch.randperm(len(train_labels), generator=order)
        losses = []
        # Whole batches only, as the original: batch norm needs more than one clip.
        for first in range(0, len(permutation) - batch_size + 1, batch_size):
            if step == config.max_steps:
                break
            index = permutation[first : first + batch_size]
            logits = model(train_audio[index].to(device))
            loss = torch.nn.functional.cross_entropy(logits, train_labels[index].to(device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            step += 1
        if not losses:
            break
        mean_loss = sum(losses) / len(losses)
        log.info(
            "epoch %d  step %d  loss %.4f  (%.0f s)", epoch + 1, step, mean_loss, time.monotonic() - start
        )
    model.val_accuracy = accuracy(model, val_audio, val_labels)
    log.info("validation accuracy %.4f on %d clips", model.val_accuracy, len(val_labels))
    atomic_torch_save(
        {
            "key": cache_key(corpus, config),
            "settings": dataclasses.asdict(config),
            "val_accuracy": model.val_accuracy,
            "state_dict": {name: value.cpu() for name, value in model.state_dict().items()},
        },
        cache_path,
    )
    return model.eval()


def load_or_train(
    corpus: Corpus, cache_path: str | os.PathLike, *, device: str | None = None, **settings
) -> DigitClassifier:
    """The cached classifier if it was trained on this corpus' utterances with these settings, else train."""
    cache_path = Path(cache_path)
    if cache_path.is_file():
        cached = load_tensor_file(cache_path)
        if cached["key"] == cache_key(corpus, TrainSettings(**settings)):
            log.info("using the cached digit classifier %s", cache_path)
            return classifier_from_cache(cached, device)
        log.info("cached digit classifier %s is for other data or settings: retraining", cache_path)
    return train_digit_classifier(corpus, cache_path, device=device, **settings)


# Small enough to train in well under a minute on 2 CPU cores; SC09 keeps the original's 128 channels.
TINY_SPEECH_SETTINGS = {"channels": 32, "batch_size": 16, "epochs": 10}


def _corpus(name: str, root: Path, download: bool) -> tuple[Corpus, dict]:
    """The corpus named on the command line and its default settings."""
    if name == "tiny_speech_digits":
        return TinySpeech(root, subset="digits"), TINY_SPEECH_SETTINGS
    if name == "speech_commands":
        return SpeechCommands(root / "SpeechCommands" / "speech_commands_v0.02", download=download), {}
    raise ValueError(f"unknown corpus {name!r}; expected tiny_speech_digits or speech_commands")


def main(argv: list[str]) -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args = OmegaConf.to_container(OmegaConf.from_dotlist(argv))
    if "root" not in args or "corpus" not in args:
        raise SystemExit(__doc__)
    root, name = Path(str(args.pop("root"))).expanduser(), str(args.pop("corpus"))
    cache = Path(str(args.pop("cache", root / "cache" / f"digit_classifier_{name}.pt")))
    device, download = args.pop("device", None), bool(args.pop("download", False))
    unknown = set(args) - {field.name for field in dataclasses.fields(TrainSettings)}
    if unknown:
        raise SystemExit(f"unknown settings {sorted(unknown)}\n{__doc__}")
    try:
        corpus, defaults = _corpus(name, root, download)
    except (CorpusNotFoundError, ValueError) as err:
        raise SystemExit(f"error: {err}") from err
    model = load_or_train(corpus, cache, device=device, **{**defaults, **args})
    print(f"validation accuracy: {model.val_accuracy:.4f}")
    print(f"classifier: {cache}")


if __name__ == "__main__":
    main(sys.argv[1:])
