"""jik876/hifi-gan's release layout: a generator file ``g_<steps>`` ({"generator": state_dict}, hook weight
norm) with its config.json, opened by ``audiogan.load`` and written back bit-exact. The official files are
written here from the official Generator's structure (module names and shapes), not from our modules."""

from __future__ import annotations

import json
import logging

import pytest
import torch
from official_files import TINY, official_generator

import audiogan
from audiogan.errors import ConfigError
from audiogan.runs.releases import find_layout, task_from_release
from audiogan.tasks.hifigan_release import HiFiGANRelease


@pytest.fixture
def release(tmp_path):
    """g_00012345 and config.json as a jik876/hifi-gan run leaves them."""
    weights = official_generator(TINY)
    torch.save({"generator": weights}, tmp_path / "g_00012345")
    (tmp_path / "config.json").write_text(json.dumps(TINY))
    return tmp_path / "g_00012345", weights


@pytest.mark.slow
def test_audiogan_load_opens_a_generator_file_with_its_config(release, caplog):
    path, weights = release
    caplog.set_level(logging.INFO, logger="audiogan")
    vocoder = audiogan.load(path)
    assert "is a jik876/hifi-gan release: imported on the fly" in caplog.text
    assert "no do_00012345 beside g_00012345: a fresh discriminator and fresh optimizers" in caplog.text
    assert vocoder.sample_rate == 24000
    mel = torch.randn(100, 20)
    assert vocoder.vocode(mel).waveform.shape == (20 * 256,)
    task = task_from_release(HiFiGANRelease().read(path))
    config = task.audio_config
    assert (config.n_mels, config.fmax, config.loss_front_end().fmax) == (100, 12000, None)
    assert task.hparams["optim"]["discriminator"]["betas"] == [0.8, 0.99]
    # hook weight norm's weight = g * v / |v| (per output channel), as our parametrization computes it
    g, v = weights["conv_pre.weight_g"], weights["conv_pre.weight_v"]
    expected = g * v / v.norm(dim=(1, 2), keepdim=True)
    torch.testing.assert_close(task.generator.conv_pre.weight, expected)


@pytest.mark.slow
def test_import_then_export_is_bit_exact(release, tmp_path):
    path, weights = release
    task = task_from_release(HiFiGANRelease().read(path))
    written, config = HiFiGANRelease().write(task, tmp_path / "out")
    back = torch.load(written, weights_only=True)["generator"]
    assert list(back) == list(weights)  # the official order too, that of Generator(h).state_dict()
    assert all(torch.equal(back[key], value) for key, value in weights.items())
    training_keys = ("learning_rate", "adam_b1", "adam_b2", "lr_decay", "batch_size", "segment_size")
    # the front-end and the generator's sizes go back; the training settings stay with the run
    assert json.loads(config.read_text()) == {k: v for k, v in TINY.items() if k not in training_keys}


def test_without_config_the_variant_is_recognised_from_the_shapes(tmp_path, caplog):
    v3 = {
        **TINY,
        "resblock": "2",
        "upsample_rates": [8, 8, 4],
        "upsample_kernel_sizes": [16, 16, 8],
        "upsample_initial_channel": 256,
        "resblock_kernel_sizes": [3, 5, 7],
        "resblock_dilation_sizes": [[1, 2], [2, 6], [3, 12]],
        "num_mels": 80,
    }
    torch.save({"generator": official_generator(v3)}, tmp_path / "g_02500000")
    caplog.set_level(logging.INFO, logger="audiogan")
    task = task_from_release(HiFiGANRelease().read(tmp_path / "g_02500000"))
    assert "no config.json: V3 assumed from the weight shapes" in caplog.text
    assert task.generator.upsample_rates == (8, 8, 4)


def test_a_generator_file_without_its_key_is_refused_naming_what_it_holds(tmp_path):
    torch.save({"model": {}}, tmp_path / "g_00000001")
    assert find_layout(tmp_path / "g_00000001").name == "jik876/hifi-gan"
    torch.save({"state_dict": {}}, tmp_path / "g_best.ckpt")
    assert find_layout(tmp_path / "g_best.ckpt") is None  # an audiogan checkpoint of that name stays one
    with pytest.raises(ConfigError, match=r"holds \['generator'\]; found \['model'\]"):
        HiFiGANRelease().read(tmp_path / "g_00000001")


@pytest.mark.slow
def test_init_from_a_generator_file_copies_the_generator_and_keeps_a_fresh_discriminator(
    release, compose_cfg
):
    from conftest import smoke

    from audiogan.commands.train import build_task
    from audiogan.runs.releases import init_from_release

    path, weights = release
    sizes = ["model.task.generator.channels=32", "audio.n_mels=100"]
    task = build_task(compose_cfg(*smoke("hifigan"), *sizes))
    discriminator = {k: v.clone() for k, v in task.discriminator.state_dict().items()}
    init_from_release(task, path, HiFiGANRelease())
    g, v = weights["ups.1.weight_g"], weights["ups.1.weight_v"]
    torch.testing.assert_close(task.generator.ups[1].weight, g * v / v.norm(dim=(1, 2), keepdim=True))
    assert all(torch.equal(discriminator[k], v) for k, v in task.discriminator.state_dict().items())
    other = build_task(compose_cfg(*smoke("hifigan")))  # 16 channels: not the release's sizes
    with pytest.raises(ConfigError, match=r"init_from=.*g_00012345 \(jik876/hifi-gan\): generator.conv_pre"):
        init_from_release(other, path, HiFiGANRelease())


@pytest.mark.slow  # trains two batches
def test_train_init_from_a_generator_file(release, compose_cfg, caplog):
    from conftest import smoke

    from audiogan.commands.train import run

    caplog.set_level(logging.INFO, logger="audiogan")
    path, _ = release
    run(
        compose_cfg(
            *smoke("hifigan"), "model.task.generator.channels=32", "audio.n_mels=100", f"init_from={path}"
        )
    )
    assert f"initialised from {path}, a jik876/hifi-gan release" in caplog.text


def test_a_release_whose_shapes_differ_from_its_config_names_the_first_key(tmp_path):
    torch.save({"generator": official_generator(TINY)}, tmp_path / "g_00000100")
    (tmp_path / "config.json").write_text(json.dumps({**TINY, "upsample_initial_channel": 64}))
    shapes = r"size mismatch for generator\.conv_pre\.bias: .*\[32\]\).*\[64\]\)"
    with pytest.raises(ConfigError, match=rf"hifigan release: {shapes}"):
        audiogan.load(tmp_path / "g_00000100")
