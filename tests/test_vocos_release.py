"""Vocos's release layout (config.yaml + pytorch_model.bin, as charactr/vocos-mel-24khz ships it): imported,
opened by ``audiogan.load`` and written back. Where the official package is installed (``pip install
-e .[reference]``, which ``make install`` does) it is the oracle: the official modules with random weights,
saved in the release layout, must give our mel features and audio to 1e-5; the file we write back must load
into the official ``Vocos`` with ``strict=True``."""

from __future__ import annotations

import importlib.util
import logging

import pytest
import torch
import yaml
from conftest import compose, smoke
from test_infer import infer_cfg

import audiogan
from audiogan.commands.infer import run
from audiogan.commands.train import build_task
from audiogan.errors import ConfigError
from audiogan.runs.imports import import_release
from audiogan.runs.releases import find_layout, init_from_release, task_from_release
from audiogan.tasks.vocos_release import VocosRelease

OFFICIAL = importlib.util.find_spec("vocos") is not None
needs_official = pytest.mark.skipif(
    not OFFICIAL, reason="the official vocos package is not installed (pip install -e .[reference])"
)
# the release's config.yaml at toy widths (charactr/vocos-mel-24khz: dim 512, intermediate 1536, 8 layers)
WIDTHS = {"dim": 32, "intermediate_dim": 48, "num_layers": 2}


def release_config(padding: str = "center") -> dict:
    """config.yaml as the official release writes it, jsonargparse style."""
    features = {"sample_rate": 24000, "n_fft": 1024, "hop_length": 256, "n_mels": 100, "padding": padding}
    return {
        "feature_extractor": {
            "class_path": "vocos.feature_extractors.MelSpectrogramFeatures",
            "init_args": features,
        },
        "backbone": {
            "class_path": "vocos.models.VocosBackbone",
            "init_args": {"input_channels": 100, **WIDTHS},
        },
        "head": {
            "class_path": "vocos.heads.ISTFTHead",
            "init_args": {"dim": WIDTHS["dim"], "n_fft": 1024, "hop_length": 256, "padding": padding},
        },
    }


def official_release(folder, padding: str = "center"):
    """The official Vocos with random weights (layer scales and norms moved off their initial values), saved
    as a release: (the module, the folder)."""
    from vocos import Vocos

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.yaml").write_text(yaml.safe_dump(release_config(padding)))
    torch.manual_seed(0)
    model = Vocos.from_hparams(str(folder / "config.yaml")).eval()
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if name.endswith(("gamma", "norm.weight", "norm.bias")):
                parameter.uniform_(-1.0, 1.0)
    torch.save(model.state_dict(), folder / "pytorch_model.bin")
    return model, folder


def speech(samples: int = 94 * 256) -> torch.Tensor:
    """About a second of a voiced tone, a whole number of hops long (the length both codes give back)."""
    t = torch.arange(samples) / 24000
    return 0.3 * torch.sin(2 * torch.pi * 180 * t) * (
        1 + torch.sin(2 * torch.pi * 3 * t)
    ) + 0.01 * torch.randn_like(t)


@needs_official
@pytest.mark.parametrize("padding", ["center", "same"])
def test_an_official_release_opens_with_identical_mel_features_and_audio(tmp_path, padding, caplog):
    official, folder = official_release(tmp_path / "release", padding)
    caplog.set_level(logging.INFO, logger="audiogan")
    vocoder = audiogan.load(folder)
    assert "is a gemelo-ai/vocos release: imported on the fly" in caplog.text
    audio = speech()
    with torch.no_grad():
        features = official.feature_extractor(audio[None])
        expected = official.decode(features)
    mel = vocoder.log_mel(audio, 24000)
    torch.testing.assert_close(mel, features[0], atol=1e-5, rtol=0)
    torch.testing.assert_close(vocoder.vocode(features[0]).waveform, expected[0], atol=1e-5, rtol=0)


@needs_official
@pytest.mark.slow  # an import, an export and the official Vocos: seconds
def test_an_imported_release_written_back_loads_strictly_into_the_official_vocos(tmp_path):
    from vocos import Vocos

    official, folder = official_release(tmp_path / "release")
    ckpt = import_release(folder, tmp_path / "imported.ckpt")
    vocoder = audiogan.load(ckpt)
    audio = speech()
    with torch.no_grad():
        expected = official(audio[None])[0]
    torch.testing.assert_close(vocoder(audio, 24000).waveform, expected, atol=1e-5, rtol=0)

    run(infer_cfg(f"ckpt_path={ckpt}", f"output_dir={tmp_path / 'back'}", "export=official"))
    back = Vocos.from_hparams(str(tmp_path / "back" / "config.yaml")).eval()
    weights = torch.load(tmp_path / "back" / "pytorch_model.bin", weights_only=True)
    back.load_state_dict(weights)  # strict: every official key, no other
    with torch.no_grad():
        torch.testing.assert_close(back(audio[None])[0], expected, atol=0, rtol=0)


@pytest.mark.slow
def test_a_release_written_here_reads_back_with_the_same_sizes_and_weights(compose_cfg, tmp_path):
    task = build_task(compose_cfg(*smoke("vocos")))
    config_path, weights_path = VocosRelease().write(task, tmp_path / "release")
    assert find_layout(tmp_path / "release").name == "gemelo-ai/vocos"
    assert VocosRelease().recognises(config_path) and VocosRelease().recognises(weights_path)
    release = VocosRelease().read(weights_path)
    generator = task.generator.state_dict()
    assert release.state_dict.keys() == {f"generator.{k}" for k in generator}
    assert all(torch.equal(release.state_dict[f"generator.{k}"], v) for k, v in generator.items())
    back = task_from_release(release)
    assert back.hparams["generator"]["dim"] == task.hparams["generator"]["dim"] == 16
    assert back.audio_config == task.audio_config


def test_a_random_folder_with_a_config_yaml_is_no_vocos_release(tmp_path):
    (tmp_path / "config.yaml").write_text("model: {lr: 1}\n")
    torch.save({"weight": torch.zeros(1)}, tmp_path / "pytorch_model.bin")
    assert not VocosRelease().recognises(tmp_path)


def test_the_encodec_variant_is_refused_naming_its_class(tmp_path):
    config = release_config()
    config["feature_extractor"] = {"class_path": "vocos.feature_extractors.EncodecFeatures", "init_args": {}}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    torch.save({"backbone.embed.weight": torch.zeros(1)}, tmp_path / "pytorch_model.bin")
    with pytest.raises(
        ConfigError, match="feature_extractor.class_path is 'vocos.feature_extractors.EncodecFeatures'"
    ):
        VocosRelease().read(tmp_path)


def test_a_front_end_the_official_extractor_cannot_express_has_no_release(compose_cfg, tmp_path):
    task = build_task(compose_cfg(*smoke("vocos"), "audio.mel_scale=slaney"))
    with pytest.raises(
        ConfigError, match="audio.mel_scale='slaney': the official Vocos feature extractor has 'htk'"
    ):
        VocosRelease().write(task, tmp_path)


def test_the_release_config_sets_the_front_end_and_the_generator(tmp_path):
    config = release_config("same")
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    torch.save({"backbone.embed.weight": torch.zeros(1)}, tmp_path / "pytorch_model.bin")
    release = VocosRelease().read(tmp_path)
    cfg = compose(f"model={release.family}", *release.overrides)
    assert (cfg.audio.center, cfg.model.task.generator.padding) == (False, "same")
    assert (cfg.model.task.generator.dim, cfg.model.task.generator.num_layers) == (32, 2)


@pytest.mark.slow
@needs_official
def test_the_discriminators_equal_the_official_ones_with_the_same_weights():
    from vocos.discriminators import MultiPeriodDiscriminator as OfficialMPD
    from vocos.discriminators import MultiResolutionDiscriminator as OfficialMRD

    from audiogan.models.hifigan import MultiPeriodDiscriminator
    from audiogan.models.vocos import MultiResolutionDiscriminator, VocosDiscriminator
    from audiogan.tasks.release import from_hook_weight_norm

    torch.manual_seed(0)
    mpd, mrd = OfficialMPD(periods=(2, 3)), OfficialMRD()
    ours = VocosDiscriminator(MultiPeriodDiscriminator([2, 3]), MultiResolutionDiscriminator())
    weights = {f"mpd.{k}": v for k, v in mpd.state_dict().items()}
    weights.update({f"mrd.{k}": v for k, v in mrd.state_dict().items()})
    renamed = {  # hook weight norm, and our names for the branches and the MRD's spectrogram
        from_hook_weight_norm(k).replace("discriminators", "branches").replace("spec_fn", "spectrogram"): v
        for k, v in weights.items()
    }
    ours.load_state_dict(renamed)
    real, fake = 0.3 * torch.randn(2, 4096), 0.3 * torch.randn(2, 4096)
    with torch.no_grad():
        *_, mpd_real, mpd_fake = mpd(real, fake)
        *_, mrd_real, mrd_fake = mrd(real, fake)
        for audio, official in ((real, mpd_real + mrd_real), (fake, mpd_fake + mrd_fake)):
            branches = ours(audio[:, None])
            assert [len(b) for b in branches] == [len(b) for b in official]
            for branch, official_branch in zip(branches, official, strict=True):
                for ours_map, official_map in zip(branch, official_branch, strict=True):
                    torch.testing.assert_close(ours_map, official_map, atol=1e-6, rtol=1e-5)


@needs_official
def test_init_from_a_release_folder_copies_the_generator(compose_cfg, tmp_path):
    official, folder = official_release(tmp_path / "release")
    widths = [f"model.task.generator.{key}={value}" for key, value in WIDTHS.items()]
    task = build_task(compose_cfg(*smoke("vocos"), *widths))
    init_from_release(task, folder, find_layout(folder))
    for name, value in official.state_dict().items():
        if not name.startswith("feature_extractor."):
            assert torch.equal(task.generator.state_dict()[name], value), name
