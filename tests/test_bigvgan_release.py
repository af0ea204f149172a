"""NVIDIA/BigVGAN's release layout (bigvgan_generator.pt, config.json and, optionally,
bigvgan_discriminator_optimizer.pt, as the Hugging Face releases ship them): imported, opened by
``audiogan.load`` and written back. Where the official package is installed (``pip install -e .[reference]``)
it is the oracle: its generator and discriminators with random weights, saved in the release layout, must give
our audio, mel features and discriminator outputs to 1e-5, the optimizer moments must sit at the right
parameters, and what we write back must load into the official ``BigVGAN`` with ``strict=True``."""

from __future__ import annotations

import importlib.util
import itertools
import json
import logging
import math
import re

import pytest
import torch
import yaml
from conftest import compose, smoke
from omegaconf import OmegaConf

import audiogan
from audiogan.commands.train import build_task
from audiogan.errors import ConfigError
from audiogan.runs.checkpoints import load_task
from audiogan.runs.imports import import_release
from audiogan.runs.releases import find_layout, task_from_release
from audiogan.tasks.bigvgan_release import BigVGANRelease, release_family, release_overrides
from audiogan.tasks.hifigan_release import HiFiGANRelease
from audiogan.tasks.release import from_hook_weight_norm
from audiogan.tasks.vocos_release import VocosRelease

OFFICIAL = importlib.util.find_spec("bigvgan") is not None
needs_official = pytest.mark.skipif(
    not OFFICIAL, reason="the official bigvgan package is not installed (pip install -e .[reference])"
)

# the repository's configs/<name>.json (v2.4), the keys the official code reads
V2 = {
    "resblock": "1",
    "num_gpus": 0,
    "batch_size": 4,
    "learning_rate": 0.0001,
    "adam_b1": 0.8,
    "adam_b2": 0.99,
    "lr_decay": 0.9999996,
    "seed": 1234,
    "upsample_rates": [4, 4, 2, 2, 2, 2],
    "upsample_kernel_sizes": [8, 8, 4, 4, 4, 4],
    "upsample_initial_channel": 1536,
    "resblock_kernel_sizes": [3, 7, 11],
    "resblock_dilation_sizes": [[1, 3, 5], [1, 3, 5], [1, 3, 5]],
    "use_tanh_at_final": False,
    "use_bias_at_final": False,
    "activation": "snakebeta",
    "snake_logscale": True,
    "use_cqtd_instead_of_mrd": True,
    "cqtd_filters": 128,
    "cqtd_max_filters": 1024,
    "cqtd_filters_scale": 1,
    "cqtd_dilations": [1, 2, 4],
    "cqtd_hop_lengths": [512, 256, 256],
    "cqtd_n_octaves": [9, 9, 9],
    "cqtd_bins_per_octaves": [24, 36, 48],
    "mpd_reshapes": [2, 3, 5, 7, 11],
    "use_spectral_norm": False,
    "discriminator_channel_mult": 1,
    "use_multiscale_melloss": True,
    "lambda_melloss": 15,
    "clip_grad_norm": 500,
    "segment_size": 65536,
    "num_mels": 80,
    "num_freq": 1025,
    "n_fft": 1024,
    "hop_size": 256,
    "win_size": 1024,
    "sampling_rate": 22050,
    "fmin": 0,
    "fmax": None,
    "fmax_for_loss": None,
    "num_workers": 4,
    "dist_config": {"dist_backend": "nccl", "dist_url": "tcp://localhost:54321", "world_size": 1},
}
V1_ONLY = (
    "use_tanh_at_final",
    "use_bias_at_final",
    "use_multiscale_melloss",
    "lambda_melloss",
    "clip_grad_norm",
)
RELEASES = {
    "bigvgan_v2_22khz_80band_256x": V2,
    "bigvgan_v2_24khz_100band_256x": {**V2, "num_mels": 100, "sampling_rate": 24000},
    "bigvgan_v2_44khz_128band_512x": {
        **V2,
        "upsample_rates": [8, 4, 2, 2, 2, 2],
        "upsample_kernel_sizes": [16, 8, 4, 4, 4, 4],
        "num_mels": 128,
        "num_freq": 2049,
        "n_fft": 2048,
        "hop_size": 512,
        "win_size": 2048,
        "sampling_rate": 44100,
    },
    # v1: no CQT-D keys (UnivNet's multi-resolution D), tanh and a bias at the output, the single mel loss
    "bigvgan_base_22khz_80band": {
        **{k: v for k, v in V2.items() if not k.startswith("cqtd_") and k not in V1_ONLY},
        "use_cqtd_instead_of_mrd": False,
        "batch_size": 32,
        "upsample_rates": [8, 8, 2, 2],
        "upsample_kernel_sizes": [16, 16, 4, 4],
        "upsample_initial_channel": 512,
        "resolutions": [[1024, 120, 600], [2048, 240, 1200], [512, 50, 240]],
        "segment_size": 8192,
        "fmax": 8000,
    },
}
FAMILIES = {
    "bigvgan_v2_22khz_80band_256x": "bigvgan",
    "bigvgan_v2_24khz_100band_256x": "bigvgan_v2_24k",
    "bigvgan_v2_44khz_128band_512x": "bigvgan_v2_44k_512x",
    "bigvgan_base_22khz_80band": "bigvgan_base_22k",
}


def inner_loop_base(names) -> list:
    """``names`` as test parameters: the v1 base release (the smallest) in ``make test-fast``, the v2 ones,
    whose official networks take seconds each to build and run, in ``make test`` only."""
    return [
        pytest.param(name, marks=() if name == "bigvgan_base_22khz_80band" else pytest.mark.slow)
        for name in names
    ]


def toy(name: str, **changes) -> dict:
    """A release's config at toy widths: two channels in the generator's last stage, CQT-D 8 filters, the
    discriminators at 1/8 of their widths (the MPD 4 ... 128)."""
    config = RELEASES[name]
    channels = 2 * 2 ** len(config["upsample_rates"])
    return {
        **config,
        "upsample_initial_channel": channels,
        "discriminator_channel_mult": 0.125,
        **({"cqtd_filters": 8} if config["use_cqtd_instead_of_mrd"] else {}),
        **changes,
    }


def official_generator(config: dict, folder):
    """The official BigVGAN(h) with random weights (Snake's alpha and beta off their zeros), saved as a
    release in ``folder``: the module, in eval mode."""
    from bigvgan.bigvgan import BigVGAN
    from bigvgan.env import AttrDict

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config))
    torch.manual_seed(0)
    generator = BigVGAN(AttrDict(json.loads(json.dumps(config)))).eval()
    with torch.no_grad():
        for name, parameter in generator.named_parameters():
            if name.endswith(("alpha", "beta")):
                parameter.normal_(0, 0.3)
    torch.save({"generator": generator.state_dict()}, folder / "bigvgan_generator.pt")
    return generator


def speech(samples: int, rate: int) -> torch.Tensor:
    """A voiced tone with a little noise, within [-1, 1]."""
    t = torch.arange(samples) / rate
    return 0.3 * torch.sin(2 * torch.pi * 180 * t) * (
        1 + torch.sin(2 * torch.pi * 3 * t)
    ) + 0.01 * torch.randn_like(t)


def official_log_mel(audio: torch.Tensor, config: dict) -> torch.Tensor:
    from bigvgan.meldataset import mel_spectrogram

    keys = ("n_fft", "num_mels", "sampling_rate", "hop_size", "win_size", "fmin", "fmax")
    return mel_spectrogram(audio[None], *(config[k] for k in keys))[0]


@needs_official
@pytest.mark.parametrize("name", inner_loop_base(RELEASES))
def test_each_official_release_opens_with_identical_audio_and_mel_features(name, tmp_path, caplog):
    config = toy(name)
    official = official_generator(config, tmp_path / name)
    caplog.set_level(logging.INFO, logger="audiogan")
    vocoder = audiogan.load(tmp_path / name)
    assert "is a NVIDIA/BigVGAN release: imported on the fly" in caplog.text
    assert (
        "no bigvgan_discriminator_optimizer.pt beside bigvgan_generator.pt: a fresh discriminator"
        in caplog.text
    )
    assert BigVGANRelease().read(tmp_path / name).family == FAMILIES[name]
    rate = config["sampling_rate"]
    audio = speech(16 * config["hop_size"], rate)
    mel = official_log_mel(audio, config)
    torch.testing.assert_close(vocoder.log_mel(audio, rate), mel, atol=1e-5, rtol=0)
    with torch.no_grad():
        expected = official(mel[None])[0, 0]
    torch.testing.assert_close(vocoder.vocode(mel).waveform, expected, atol=1e-5, rtol=0)


STEPS, EPOCH = 5_000_000, 41  # a released v2 run's length: its schedulers are set, not stepped 5M times


def official_run(config: dict, folder):
    """A whole release as the official train.py leaves it after step STEPS of epoch EPOCH: the generator, the
    MPD and the spectral D with random weights, AdamW moments from one step on a loss, the learning rate
    where the schedule has it (learning_rate x lr_decay^STEPS). Returns (generator, mpd, mrd, optim_d)."""
    from bigvgan import discriminators
    from bigvgan.env import AttrDict

    generator = official_generator(config, folder).train()
    h = AttrDict(json.loads(json.dumps(config)))
    mpd = discriminators.MultiPeriodDiscriminator(h)
    use_cqtd = config["use_cqtd_instead_of_mrd"]
    mrd = (
        discriminators.MultiScaleSubbandCQTDiscriminator
        if use_cqtd
        else discriminators.MultiResolutionDiscriminator
    )(h)
    betas = [config["adam_b1"], config["adam_b2"]]
    optim_g = torch.optim.AdamW(generator.parameters(), config["learning_rate"], betas=betas)
    optim_d = torch.optim.AdamW(
        itertools.chain(mrd.parameters(), mpd.parameters()), config["learning_rate"], betas=betas
    )
    audio = speech(8 * config["hop_size"], config["sampling_rate"])[None, None]
    generator(official_log_mel(audio[0, 0], config)[None]).pow(2).mean().backward()
    logits = mpd(audio, audio)[0] + mrd(audio, audio)[0]
    sum(logit.pow(2).mean() for logit in logits).backward()
    for optimizer in (optim_g, optim_d):
        optimizer.step()
        for group in optimizer.param_groups:
            group.update(
                initial_lr=config["learning_rate"], lr=config["learning_rate"] * config["lr_decay"] ** STEPS
            )
    torch.save({"generator": generator.state_dict()}, folder / "bigvgan_generator.pt")  # as stepped
    held = {"mpd": mpd.state_dict(), "mrd": mrd.state_dict(), "optim_g": optim_g.state_dict()}
    torch.save(
        {**held, "optim_d": optim_d.state_dict(), "steps": STEPS, "epoch": EPOCH},
        folder / "bigvgan_discriminator_optimizer.pt",
    )
    return generator.eval(), mpd, mrd, optim_d


def _ours(official_name: str) -> str:
    """An official discriminator parameter's name (``mrd.`` / ``mpd.`` first) as ours."""
    return from_hook_weight_norm(re.sub(r"^(mpd|mrd)\.discriminators\.", r"\1.branches.", official_name))


@needs_official
@pytest.mark.slow  # the official discriminators built and run: seconds each
@pytest.mark.parametrize("name", ["bigvgan_v2_24khz_100band_256x", "bigvgan_base_22khz_80band"])
def test_the_discriminator_file_gives_the_official_discriminators_moments_step_and_learning_rate(
    name, tmp_path, caplog
):
    config = toy(name)
    generator, mpd, mrd, optim_d = official_run(config, tmp_path / "release")
    caplog.set_level(logging.INFO, logger="audiogan")
    out = import_release(tmp_path / "release", tmp_path / "imported.ckpt")
    assert f"goes on at step {STEPS + 1}, from the start of epoch {EPOCH}" in caplog.text
    checkpoint = torch.load(out, weights_only=True)
    assert checkpoint["gan_engine"]["counters"]["batches"] == STEPS + 1
    assert checkpoint["epoch"] == EPOCH
    # the rate the uninterrupted official run trains step STEPS + 1 at, and the schedulers there
    rate = config["learning_rate"] * config["lr_decay"] ** (STEPS + 1)
    for optimizer, scheduler in zip(checkpoint["optimizer_states"], checkpoint["lr_schedulers"], strict=True):
        assert optimizer["param_groups"][0]["lr"] == pytest.approx(rate, rel=1e-9)
        assert scheduler["last_epoch"] == STEPS + 1

    task = load_task(out)
    names = [n for n, _ in task.discriminator.named_parameters()]
    official_names = [f"mrd.{n}" for n, _ in mrd.named_parameters()] + [
        f"mpd.{n}" for n, _ in mpd.named_parameters()
    ]
    official_state, ours_state = optim_d.state_dict()["state"], checkpoint["optimizer_states"][1]["state"]
    assert len(ours_state) == len(official_state) == len(names)
    for j, official_name in enumerate(official_names):
        moments, held = ours_state[names.index(_ours(official_name))], official_state[j]
        assert torch.equal(moments["exp_avg"], held["exp_avg"]), official_name
        assert torch.equal(moments["exp_avg_sq"], held["exp_avg_sq"]), official_name
        assert moments["step"] == held["step"] == 1

    audio = speech(8192, config["sampling_rate"])[None, None]
    with torch.no_grad():
        branches = task.discriminator(audio)
        mpd_logits, _, mpd_features, _ = mpd(audio, audio)
        mrd_logits, _, mrd_features, _ = mrd(audio, audio)
        mel = official_log_mel(audio[0, 0], config)[None]
        torch.testing.assert_close(task.generator.eval()(mel), generator(mel), atol=1e-5, rtol=0)
    assert len(branches) == len(mpd_logits) + len(mrd_logits)
    for branch, logits, features in zip(
        branches, mpd_logits + mrd_logits, mpd_features + mrd_features, strict=True
    ):
        torch.testing.assert_close(branch[-1].flatten(1), logits.flatten(1), atol=1e-5, rtol=1e-5)
        for ours, expected in zip(
            branch, features, strict=False
        ):  # the CQT-D's features leave its logits out
            torch.testing.assert_close(ours, expected, atol=1e-5, rtol=1e-5)


@needs_official
@pytest.mark.slow  # an import, an export and the official generator: seconds each
@pytest.mark.parametrize("name", ["bigvgan_v2_22khz_80band_256x", "bigvgan_base_22khz_80band"])
def test_an_imported_release_written_back_loads_strictly_into_the_official_bigvgan(name, tmp_path):
    from bigvgan.bigvgan import BigVGAN
    from bigvgan.env import AttrDict
    from test_infer import infer_cfg

    from audiogan.commands.infer import run

    config = toy(name)
    official = official_generator(config, tmp_path / "release")
    ckpt = import_release(tmp_path / "release", tmp_path / "imported.ckpt")
    run(infer_cfg(f"ckpt_path={ckpt}", f"output_dir={tmp_path / 'back'}", "export=official"))
    written = json.loads((tmp_path / "back" / "config.json").read_text())
    back = BigVGAN(AttrDict(written)).eval()
    weights = torch.load(tmp_path / "back" / "bigvgan_generator.pt", weights_only=True)["generator"]
    back.load_state_dict(weights)  # strict: every official key, no other
    mel = official_log_mel(speech(16 * config["hop_size"], config["sampling_rate"]), config)[None]
    with torch.no_grad():
        torch.testing.assert_close(back(mel), official(mel), atol=0, rtol=0)
    # the sizes, front-end, discriminators and recipe go back; the run's own settings stay with the run (and
    # num_freq, which the official code never reads)
    left = {"batch_size", "segment_size", "num_gpus", "num_workers", "seed", "dist_config", "num_freq"}
    assert {k: v for k, v in config.items() if k not in left} == {
        k: v for k, v in written.items() if k in config
    }
    assert set(written) - set(config) <= {"cqtd_normalize_volume", *V1_ONLY}  # the official defaults


def smoke_task(*overrides: str):
    """experiment=bigvgan_smoke's task, its MPD at official widths / 8 (so that config.json can say them)."""
    sizes = "model.task.discriminator.mpd.channels=[4,16,64,128,128]"
    return build_task(compose(*smoke("bigvgan"), sizes, *overrides))


@pytest.mark.slow
def test_a_release_written_here_reads_back_with_the_same_sizes_and_weights(tmp_path):
    task = smoke_task()
    weights_path, config_path = BigVGANRelease().write(task, tmp_path / "release")
    assert weights_path.name == "bigvgan_generator.pt" and config_path.name == "config.json"
    assert json.loads(config_path.read_text())["discriminator_channel_mult"] == 0.125
    release = BigVGANRelease().read(weights_path)
    generator = task.generator.state_dict()
    assert release.state_dict.keys() == {f"generator.{k}" for k in generator}
    assert all(torch.equal(release.state_dict[f"generator.{k}"], v) for k, v in generator.items())
    back = task_from_release(release)
    for key in ("generator", "discriminator", "audio_config", "loss_weights", "optim", "scheduler"):
        assert back.hparams[key] == task.hparams[key], key
    # the official multi-scale mel loss has fixed scales: config.json says whether it is on, not the smoke's 3
    assert back.hparams["multiscale_mel"]["window_lengths"] == [32, 64, 128, 256, 512, 1024, 2048]


@pytest.mark.parametrize("name", inner_loop_base(RELEASES))
def test_the_family_picked_never_changes_what_a_release_builds(name, tmp_path):
    config = RELEASES[name]
    assert release_family(config) == FAMILIES[name]
    overrides = release_overrides(config, tmp_path / "config.json")
    built = {}
    for family in (FAMILIES[name], "bigvgan", "bigvgan_base_22k"):
        cfg = compose(f"model={family}", *overrides)
        built[family] = OmegaConf.to_container(cfg.model, resolve=True), OmegaConf.to_container(cfg.audio)
    assert built[FAMILIES[name]] == built["bigvgan"] == built["bigvgan_base_22k"]


def _release(folder, config: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config))
    torch.save({"generator": {}}, folder / "bigvgan_generator.pt")


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("use_mbd_instead_of_mrd", True, "use_mbd_instead_of_mrd=True is not supported: the multi-band D"),
        (
            "use_spectral_norm",
            True,
            r"use_spectral_norm=True is not supported: audiogan's MPD and MRD use weight",
        ),
        ("cqtd_filters_scale", 2, "cqtd_filters_scale=2 is not supported: audiogan maps 1"),
        ("cqtd_in_channels", 2, "cqtd_in_channels=2 is not supported"),
        ("activation", "relu", "activation='relu' is not supported: the activations are snake, snakebeta"),
    ],
)
def test_what_audiogan_does_not_build_is_refused_naming_the_key(tmp_path, key, value, message):
    _release(tmp_path, {**V2, key: value})
    with pytest.raises(ConfigError, match=rf"config\.json: {message}"):
        BigVGANRelease().read(tmp_path)


def test_a_release_whose_shapes_differ_from_its_config_names_the_first_key(tmp_path):
    task = smoke_task()
    _, config_path = BigVGANRelease().write(task, tmp_path)
    config_path.write_text(
        json.dumps({**json.loads(config_path.read_text()), "upsample_initial_channel": 32})
    )
    shapes = r"size mismatch for generator\.conv_pre\.bias: .*\[8\]\).*\[32\]\)"
    with pytest.raises(ConfigError, match=rf"bigvgan release: {shapes}"):
        audiogan.load(tmp_path)


def test_only_a_bigvgan_folder_or_file_is_recognised_as_one(tmp_path):
    _release(tmp_path / "bigvgan", V2)
    assert BigVGANRelease().recognises(tmp_path / "bigvgan")
    assert BigVGANRelease().recognises(tmp_path / "bigvgan" / "bigvgan_generator.pt")
    assert not HiFiGANRelease().recognises(tmp_path / "bigvgan")
    assert find_layout(tmp_path / "bigvgan").name == "NVIDIA/BigVGAN"
    (tmp_path / "hifigan").mkdir()
    torch.save({"generator": {}}, tmp_path / "hifigan" / "g_00000001")
    assert not BigVGANRelease().recognises(tmp_path / "hifigan" / "g_00000001")
    assert not BigVGANRelease().recognises(tmp_path / "hifigan")
    assert find_layout(tmp_path / "hifigan").name == "jik876/hifi-gan"
    (tmp_path / "vocos").mkdir()
    vocos = {part: {"class_path": "x", "init_args": {}} for part in ("feature_extractor", "backbone", "head")}
    (tmp_path / "vocos" / "config.yaml").write_text(yaml.safe_dump(vocos))
    torch.save({}, tmp_path / "vocos" / "pytorch_model.bin")
    assert VocosRelease().recognises(tmp_path / "vocos") and not BigVGANRelease().recognises(
        tmp_path / "vocos"
    )


def test_a_generator_file_without_its_config_is_refused_naming_it(tmp_path):
    torch.save({"generator": {}}, tmp_path / "bigvgan_generator.pt")
    with pytest.raises(ConfigError, match="no config.json beside it"):
        BigVGANRelease().read(tmp_path / "bigvgan_generator.pt")


@pytest.mark.timeout(20)  # stepping them one at a time takes about a minute
def test_the_schedulers_of_millions_of_steps_are_set_at_once():
    """Five million ExponentialLR steps of a released run are set at once, not stepped one by one."""
    from audiogan.runs.imports import _optimizers_at
    from audiogan.tasks.release import TrainingState

    class Task(torch.nn.Module):
        optim_cfg = {n: {"_target_": "torch.optim.AdamW", "lr": 1e-4} for n in ("generator", "discriminator")}
        scheduler_cfg = {
            n: {"scheduler": {"_target_": "torch.optim.lr_scheduler.ExponentialLR", "gamma": 0.9999996}}
            for n in ("generator", "discriminator")
        }

        def __init__(self):
            super().__init__()
            self.generator, self.discriminator = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)

    optimizers, schedulers = _optimizers_at(Task(), TrainingState(STEPS, 0, {}, scheduler_steps=STEPS))
    for optimizer, scheduler in zip(optimizers, schedulers, strict=True):
        assert scheduler.last_epoch == STEPS
        assert optimizer.param_groups[0]["lr"] == pytest.approx(1e-4 * math.exp(STEPS * math.log(0.9999996)))


@pytest.mark.slow
def test_init_from_a_release_of_a_config_built_on_the_family_copies_its_generator(tmp_path):
    from audiogan.runs.releases import init_from_release

    # a v1 release (no CQT-D): its family is bigvgan_base_22k, a model config that builds on bigvgan's
    task = smoke_task("model.spectral_discriminator=resolution", "model.task.multiscale_mel=null")
    weights_path, _ = BigVGANRelease().write(task, tmp_path / "release")
    assert BigVGANRelease().read(weights_path).family == "bigvgan_base_22k"
    fresh = smoke_task("model.spectral_discriminator=resolution", "model.task.multiscale_mel=null", "seed=7")
    torch.manual_seed(7)
    for parameter in fresh.generator.parameters():
        torch.nn.init.normal_(parameter)
    init_from_release(fresh, weights_path, BigVGANRelease())
    for key, value in task.generator.state_dict().items():
        assert torch.equal(fresh.generator.state_dict()[key], value), key
