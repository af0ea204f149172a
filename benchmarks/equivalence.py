"""Are our HiFi-GAN and MelGAN the official ones? Measured against the official code, which you fetch:

    git clone https://github.com/jik876/hifi-gan /tmp/hifi-gan
    git clone https://github.com/descriptinc/melgan-neurips /tmp/melgan-neurips
    python -m benchmarks.equivalence reference.hifigan=/tmp/hifi-gan reference.melgan=/tmp/melgan-neurips

Nothing of the official code is copied or vendored: its modules are imported from your checkout. Per family
(HiFi-GAN V1, V2, V3 from the checkout's config_v*.json; MelGAN at its train.py defaults) the harness builds
the official networks with random weights, takes one official training step (so the optimizers hold
moments), saves them in the official layout, imports them with ``audiogan-import`` and then, on one batch of
random audio, prints (the official side resumed from its files as its train.py resumes): the parameter counts,
the max abs difference of the generator's audio and of every discriminator feature map and logit (real and
generated), each loss term, and the weights after one more training step on each side as a fraction of that
step's update.

The official front-ends are written for older torch and librosa: ``torch.stft`` without ``return_complex``
and ``librosa.filters.mel`` with positional arguments. The harness adapts those two calls while the official
code runs (without editing the checkout) and lists the adaptations in its output. Results go to
``benchmarks/results/equivalence.json`` and are printed; docs/equivalence.md holds the last ones.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import itertools
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import librosa
import torch
import torch.nn.functional as F
import yaml
from omegaconf import OmegaConf

from audiogan.runs.checkpoints import load_task
from audiogan.runs.imports import import_release
from audiogan.tasks.optimizers import NETWORKS, build_optimizers
from audiogan.utils.files import atomic_write

RESULTS = Path(__file__).resolve().parent / "results" / "equivalence.json"
ADAPTATIONS = [
    "torch.stft called without return_complex: answered with torch.view_as_real(torch.stft(..., "
    "return_complex=True)), the real/imaginary layout the official code expects",
    "librosa.filters.mel called positionally (sr, n_fft, n_mels, fmin, fmax): passed on as keywords",
]
SEGMENT, BATCH = 8192, 2


# ----------------------------------------------------------------- running the official code as written
@contextlib.contextmanager
def official_code(checkout: Path, modules: list[str]):
    """Import ``modules`` from ``checkout`` with the two adaptations in force; afterwards the checkout
    leaves sys.path and sys.modules, and torch.stft is torch's again."""
    stft = torch.stft

    def stft_as_written(*args, **kwargs):
        if "return_complex" in kwargs:
            return stft(*args, **kwargs)
        return torch.view_as_real(stft(*args, return_complex=True, **kwargs))

    before = set(sys.modules)
    sys.path.insert(0, str(checkout))
    torch.stft = stft_as_written
    try:
        loaded = [importlib.import_module(name) for name in modules]
        for module in loaded:
            if hasattr(module, "librosa_mel_fn"):
                module.librosa_mel_fn = lambda sr, n_fft, n_mels, fmin, fmax: librosa.filters.mel(
                    sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax
                )
        yield loaded
    finally:
        torch.stft = stft
        sys.path.remove(str(checkout))
        for name in set(sys.modules) - before:
            if not name.startswith(("torch", "librosa", "numpy", "scipy", "matplotlib")):
                del sys.modules[name]


def commit_of(checkout: Path) -> str:
    result = subprocess.run(["git", "-C", str(checkout), "rev-parse", "HEAD"], capture_output=True, text=True)
    return result.stdout.strip() or "unknown (not a git checkout)"


def max_abs(a: torch.Tensor, b: torch.Tensor) -> float:
    return (a.detach().double() - b.detach().double()).abs().max().item()


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def our_optimizers(task, checkpoint: dict[str, Any]) -> list[torch.optim.Optimizer]:
    """The task's optimizers holding the checkpoint's states, as a resumed run has them."""
    networks = {name: getattr(task, name) for name in NETWORKS}
    optimizers, _, _ = build_optimizers(networks, task.optim_cfg, task.scheduler_cfg)
    for optimizer, state in zip(optimizers, checkpoint["optimizer_states"], strict=True):
        optimizer.load_state_dict(state)
    return optimizers


def our_step(task, optimizers, audio: torch.Tensor) -> dict[str, float]:
    """One training step of the engine's order (D on the detached fake, then G), its loss terms."""
    batch = {"audio": audio}
    generated = task.generate(batch)
    d_loss, d_logs, from_d = task.discriminator_loss(batch, generated)
    optimizers[1].zero_grad()
    d_loss.backward()
    optimizers[1].step()
    g_loss, g_logs = task.generator_loss(batch, generated, True, from_d)
    optimizers[0].zero_grad()
    g_loss.backward()
    optimizers[0].step()
    return {k.removeprefix("train/"): float(v) for k, v in {**d_logs, **g_logs}.items()}


def update_fraction(before: dict, official: dict, ours: dict) -> dict[str, dict[str, float]]:
    """Per network, how far our weights after one step are from the official ones as a fraction of the
    official update: over all its weights (L2 norms), and the worst single weight. Adam normalises each
    gradient element, so an element whose gradient is ~0 on both sides may step by up to lr on a rounding
    difference: the worst weight shows that, the norm the step as a whole."""

    def flat(weights: dict, network: str) -> torch.Tensor:
        keys = sorted(k for k in official if k.startswith(network))
        return torch.cat([weights[k].detach().double().flatten() for k in keys])

    fractions = {}
    for network in NETWORKS:
        difference = flat(ours, network) - flat(official, network)
        update = flat(official, network) - flat(before, network)
        fractions[network] = {
            "norm": (difference.norm() / update.norm()).item(),
            "worst weight": (difference.abs().max() / update.abs().max()).item(),
        }
    return fractions


# ----------------------------------------------------------------- HiFi-GAN
class OfficialHiFiGAN:
    """The official train.py's networks (random weights), optimizers and training step for config ``h``,
    built from the checkout's ``models`` and ``meldataset`` modules (imported by :func:`official_code`)."""

    def __init__(self, models, meldataset, h):
        self.models, self.meldataset, self.h = models, meldataset, h
        self.generator = models.Generator(h)
        self.mpd, self.msd = models.MultiPeriodDiscriminator(), models.MultiScaleDiscriminator()
        betas = [h.adam_b1, h.adam_b2]
        self.optim_g = torch.optim.AdamW(self.generator.parameters(), h.learning_rate, betas=betas)
        self.optim_d = torch.optim.AdamW(
            itertools.chain(self.msd.parameters(), self.mpd.parameters()), h.learning_rate, betas=betas
        )
        self.start_schedulers(last_epoch=-1)

    def start_schedulers(self, last_epoch: int) -> None:
        """ExponentialLR on both optimizers as train.py makes them (``last_epoch`` -1 at the start, the epoch
        on a resume; at -1 they set the optimizers' initial_lr)."""
        for optimizer in (self.optim_g, self.optim_d):
            torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=self.h.lr_decay, last_epoch=last_epoch)

    def to(self, device: torch.device) -> OfficialHiFiGAN:
        """Networks and optimizer moments on ``device`` (the step counters stay on the CPU, where the
        non-capturable AdamW keeps them)."""
        for network in (self.generator, self.mpd, self.msd):
            network.to(device)
        for optimizer in (self.optim_g, self.optim_d):
            for state in optimizer.state.values():
                for key, value in state.items():
                    if key != "step" and torch.is_tensor(value):
                        state[key] = value.to(device)
        return self

    def mel(self, y: torch.Tensor, fmax) -> torch.Tensor:
        h = self.h
        return self.meldataset.mel_spectrogram(
            y, h.n_fft, h.num_mels, h.sampling_rate, h.hop_size, h.win_size, h.fmin, fmax
        )

    def step(self, y: torch.Tensor) -> dict[str, float]:
        """One step of the official train.py loop on audio [B, samples] (D, then G), its loss terms."""
        h, models = self.h, self.models
        x, y_mel = self.mel(y, h.fmax), self.mel(y, h.fmax_for_loss)
        y = y.unsqueeze(1)
        y_g_hat = self.generator(x)
        y_g_hat_mel = self.mel(y_g_hat.squeeze(1), h.fmax_for_loss)
        self.optim_d.zero_grad()
        r, g, _, _ = self.mpd(y, y_g_hat.detach())
        loss_f = models.discriminator_loss(r, g)[0]
        r, g, _, _ = self.msd(y, y_g_hat.detach())
        loss_s = models.discriminator_loss(r, g)[0]
        (loss_s + loss_f).backward()
        self.optim_d.step()
        self.optim_g.zero_grad()
        loss_mel = F.l1_loss(y_mel, y_g_hat_mel)
        _, g_f, fr_f, fg_f = self.mpd(y, y_g_hat)
        _, g_s, fr_s, fg_s = self.msd(y, y_g_hat)
        loss_fm = models.feature_loss(fr_f, fg_f) + models.feature_loss(fr_s, fg_s)
        loss_adv = models.generator_loss(g_f)[0] + models.generator_loss(g_s)[0]
        loss_g = loss_adv + loss_fm + 45 * loss_mel
        loss_g.backward()
        self.optim_g.step()
        terms = {"d_loss": loss_s + loss_f, "g_mel_l1": loss_mel, "g_adv": loss_adv, "g_fm": loss_fm}
        return {**{k: float(v) for k, v in terms.items()}, "g_loss": float(loss_g)}

    def save(self, folder: Path, steps: int) -> Path:
        """The official files after step ``steps`` (``g_``, ``do_``, config.json); returns the ``g_`` file."""
        torch.save({"generator": self.generator.state_dict()}, folder / f"g_{steps:08d}")
        held = {"mpd": self.mpd, "msd": self.msd, "optim_g": self.optim_g, "optim_d": self.optim_d}
        state = {name: module.state_dict() for name, module in held.items()}
        torch.save({**state, "steps": steps, "epoch": 0}, folder / f"do_{steps:08d}")
        (folder / "config.json").write_text(json.dumps(self.h))
        return folder / f"g_{steps:08d}"


def hifigan_variant(checkout: Path, config_name: str, folder: Path) -> dict[str, Any]:
    with official_code(checkout, ["env", "models", "meldataset"]) as (env, models, meldataset):
        h = env.AttrDict(json.loads((checkout / config_name).read_text()))
        torch.manual_seed(0)
        official = OfficialHiFiGAN(models, meldataset, h)
        generator, mpd, msd = official.generator, official.mpd, official.msd
        mel, official_step = official.mel, official.step

        torch.manual_seed(1)
        first, second = (torch.rand(BATCH, SEGMENT) * 1.6 - 0.8 for _ in range(2))

        def save_run(steps: int) -> Path:
            """The official files after step ``steps``, imported; returns the audiogan checkpoint."""
            return import_release(official.save(folder, steps), folder / f"imported_{steps}.ckpt")

        official_step(first)  # the optimizers now hold moments
        out = save_run(0)
        checkpoint = torch.load(out, weights_only=True)
        task = load_task(out).train()
        x = mel(second, h.fmax)
        outputs = {
            "input mel features": max_abs(task.log_mel(second), x),
            "loss mel features": max_abs(task.loss_mel(second), mel(second, h.fmax_for_loss)),
            "generator audio": max_abs(task.generator(x), generator(x)),
        }
        y, y_hat = second.unsqueeze(1), generator(x).detach()
        r_f, g_f, fr_f, fg_f = mpd(y, y_hat)
        r_s, g_s, fr_s, fg_s = msd(y, y_hat)
        ours_real, ours_fake = task.discriminator(y), task.discriminator(y_hat)
        official_real, official_fake = fr_f + fr_s, fg_f + fg_s
        outputs["discriminator feature maps and logits"] = max(
            max_abs(a, b)
            for ours, official in ((ours_real, official_real), (ours_fake, official_fake))
            for branch_ours, branch_official in zip(ours, official, strict=True)
            for a, b in zip(branch_ours, branch_official, strict=True)
        )
        before = {k: v.clone() for k, v in task.state_dict().items()}
        official.start_schedulers(last_epoch=0)  # train.py's resume
        official_losses = official_step(second)
        ours_losses = our_step(task, our_optimizers(task, checkpoint), second)
        after_official = torch.load(save_run(1), weights_only=True)
        parameters = {n for n, _ in task.named_parameters()}
        official_after = {k: v for k, v in after_official["state_dict"].items() if k in parameters}
        ours_after = {k: v for k, v in task.state_dict().items() if k in parameters}
        return {
            "parameters": {
                "generator (official, ours)": [count(generator), count(task.generator)],
                "discriminators (official, ours)": [count(mpd) + count(msd), count(task.discriminator)],
            },
            "max abs difference": outputs,
            "losses (official, ours)": {
                "discriminator": [official_losses["d_loss"], ours_losses["d_loss"]],
                "mel L1": [official_losses["g_mel_l1"], ours_losses["g_mel_l1"]],
                "adversarial (G)": [official_losses["g_adv"], ours_losses["g_adv"]],
                "feature matching (x2)": [official_losses["g_fm"], 2 * ours_losses["g_feature_matching"]],
                "generator total": [official_losses["g_loss"], ours_losses["g_loss"]],
            },
            "weights after one step: difference / official update": update_fraction(
                {k: before[k] for k in parameters}, official_after, ours_after
            ),
        }


def hifigan(checkout: Path) -> dict[str, Any]:
    results = {}
    for variant in ("v1", "v2", "v3"):
        with tempfile.TemporaryDirectory() as folder:
            results[variant] = hifigan_variant(checkout, f"config_{variant}.json", Path(folder))
    return results


# ----------------------------------------------------------------- MelGAN
def melgan(checkout: Path) -> dict[str, Any]:
    with official_code(checkout, ["mel2wav.modules"]) as (modules,), tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        args = argparse.Namespace(
            n_mel_channels=80, ngf=32, n_residual_layers=3, ndf=16, num_D=3, n_layers_D=4, downsamp_factor=4,
            lambda_feat=10.0, cond_disc=False, batch_size=BATCH, seq_len=SEGMENT,
        )  # fmt: skip
        torch.manual_seed(0)
        net_g = modules.Generator(args.n_mel_channels, args.ngf, args.n_residual_layers)
        net_d = modules.Discriminator(args.num_D, args.ndf, args.n_layers_D, args.downsamp_factor)
        fft = modules.Audio2Mel(n_mel_channels=args.n_mel_channels)
        opt_g = torch.optim.Adam(net_g.parameters(), lr=1e-4, betas=(0.5, 0.9))
        opt_d = torch.optim.Adam(net_d.parameters(), lr=1e-4, betas=(0.5, 0.9))

        def official_step(x_t) -> dict[str, float]:
            """One step of the official scripts/train.py loop, its loss terms."""
            x_pred_t = net_g(fft(x_t).detach())
            d_fake_det, d_real = net_d(x_pred_t.detach()), net_d(x_t)
            loss_d = sum(F.relu(1 + s[-1]).mean() for s in d_fake_det) + sum(
                F.relu(1 - s[-1]).mean() for s in d_real
            )
            net_d.zero_grad()
            loss_d.backward()
            opt_d.step()
            d_fake = net_d(x_pred_t)
            loss_g = sum(-s[-1].mean() for s in d_fake)
            wt = (1.0 / args.num_D) * (4.0 / (args.n_layers_D + 1))
            loss_feat = sum(
                wt * F.l1_loss(d_fake[i][j], d_real[i][j].detach())
                for i in range(args.num_D)
                for j in range(len(d_fake[i]) - 1)
            )
            net_g.zero_grad()
            (loss_g + args.lambda_feat * loss_feat).backward()
            opt_g.step()
            return {"d_loss": float(loss_d), "g_adv": float(loss_g), "g_fm": float(loss_feat)}

        torch.manual_seed(1)
        first, second = (torch.rand(BATCH, 1, SEGMENT) * 1.6 - 0.8 for _ in range(2))

        def save_run():
            for name, obj in (("netG", net_g), ("netD", net_d), ("optG", opt_g), ("optD", opt_d)):
                torch.save(obj.state_dict(), folder / f"{name}.pt")
            (folder / "args.yml").write_text(yaml.dump(args))  # as the official train.py writes it

        official_step(first)
        save_run()
        out = import_release(folder, folder / "imported.ckpt")
        checkpoint = torch.load(out, weights_only=True)
        task = load_task(out).train()
        mel = fft(second)
        outputs = {
            "mel features": max_abs(task.log_mel(second), mel),
            "generator audio": max_abs(task.generator(mel), net_g(mel)),
        }
        y_hat = net_g(mel).detach()
        outputs["discriminator feature maps and logits"] = max(
            max_abs(a, b)
            for x in (second, y_hat)
            for branch_ours, branch_official in zip(task.discriminator(x), net_d(x), strict=True)
            for a, b in zip(branch_ours, branch_official, strict=True)
        )
        parameters = {n for n, _ in task.named_parameters()}
        before = {k: v.clone() for k, v in task.state_dict().items() if k in parameters}
        official_losses = official_step(second)
        ours_losses = our_step(task, our_optimizers(task, checkpoint), second[:, 0])
        save_run()
        after = torch.load(import_release(folder, folder / "after.ckpt"), weights_only=True)["state_dict"]
        return {
            "parameters": {
                "generator (official, ours)": [count(net_g), count(task.generator)],
                "discriminator (official, ours)": [count(net_d), count(task.discriminator)],
            },
            "max abs difference": outputs,
            "losses (official, ours)": {
                "discriminator (hinge)": [official_losses["d_loss"], ours_losses["d_loss"]],
                "adversarial (G)": [official_losses["g_adv"], ours_losses["g_adv"]],
                "feature matching": [official_losses["g_fm"], ours_losses["g_feature_matching"]],
            },
            "weights after one step: difference / official update": update_fraction(
                before,
                {k: v for k, v in after.items() if k in parameters},
                {k: v for k, v in task.state_dict().items() if k in parameters},
            ),
        }


def main(argv: list[str]) -> dict[str, Any]:
    options = OmegaConf.from_dotlist(argv)
    references = options.get("reference") or {}
    if not references:
        raise SystemExit(__doc__)
    torch.set_num_threads(2)
    results: dict[str, Any] = {"adaptations of the official code at run time": ADAPTATIONS, "families": {}}
    for family, run in (("hifigan", hifigan), ("melgan", melgan)):
        checkout = references.get(family)
        if checkout:
            checkout = Path(checkout).resolve()
            results["families"][family] = {"official commit": commit_of(checkout), **run(checkout)}
    with atomic_write(RESULTS) as tmp:
        tmp.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
