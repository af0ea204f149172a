"""descriptinc/melgan-neurips' release layouts: a released generator (``linda_johnson.pt``, a bare
state_dict) and a training folder (netG/netD/optG/optD.pt and args.yml), opened by ``audiogan.load``,
imported with their Adam states, and written back bit-exact (``infer.py export=official``)."""

from __future__ import annotations

import logging

import pytest
import torch
from official_files import (
    MELGAN_ARGS,
    adam_state,
    official_melgan_discriminator,
    official_melgan_generator,
)

import audiogan
from audiogan.errors import ConfigError
from audiogan.runs.checkpoints import load_task, read_checkpoint
from audiogan.runs.imports import import_release
from audiogan.runs.releases import task_from_release
from audiogan.tasks.melgan_release import MelGANRelease, read_args


@pytest.fixture
def released_generator(tmp_path):
    torch.manual_seed(0)
    weights = official_melgan_generator(80, 4, 3)
    torch.save(weights, tmp_path / "linda_johnson.pt")
    return tmp_path / "linda_johnson.pt", weights


@pytest.fixture
def training_folder(tmp_path):
    """What melgan-neurips' train.py --save_path leaves after 250 batches (ngf 4, ndf 4, 2 layers)."""
    torch.manual_seed(0)
    folder = tmp_path / "logs"
    folder.mkdir()
    generator, discriminator = official_melgan_generator(80, 4, 3), official_melgan_discriminator(3, 4, 2, 4)
    for name, state in (("netG", generator), ("netD", discriminator)):
        torch.save(state, folder / f"{name}.pt")
        shapes = {k: v.shape for k, v in state.items()}
        optimizer = adam_state(list(state), shapes, 250, 1e-4, 1e-4, 1.0)
        torch.save(optimizer, folder / f"opt{name[-1]}.pt")
    (folder / "args.yml").write_text(MELGAN_ARGS)
    return folder, generator, discriminator


@pytest.mark.slow
def test_audiogan_load_opens_a_released_generator(released_generator, caplog):
    path, weights = released_generator
    caplog.set_level(logging.INFO, logger="audiogan")
    vocoder = audiogan.load(path)
    assert "is a descriptinc/melgan-neurips release: imported on the fly" in caplog.text
    assert "Generator(80, 4, 3) from its shapes" in caplog.text
    assert vocoder.vocode(torch.randn(80, 10)).waveform.shape == (10 * 256,)
    task = task_from_release(MelGANRelease().read(path))
    g, v = weights["model.10.block.2.weight_g"], weights["model.10.block.2.weight_v"]
    # model.10: stage 1 (starting at 7), its second residual block
    torch.testing.assert_close(
        task.generator.stages[1][3].block[2].weight, g * v / v.norm(dim=(1, 2), keepdim=True)
    )


def test_import_then_export_is_bit_exact(released_generator, tmp_path):
    path, weights = released_generator
    (written,) = MelGANRelease().write(task_from_release(MelGANRelease().read(path)), tmp_path)
    back = torch.load(written, weights_only=True)
    assert list(back) == list(weights)  # the official order too: Generator.load_state_dict(strict=True)
    assert all(torch.equal(back[k], v) for k, v in weights.items())


@pytest.mark.slow
def test_a_training_folder_imports_with_its_adam_states(training_folder, tmp_path, caplog):
    folder, generator, discriminator = training_folder
    caplog.set_level(logging.INFO, logger="audiogan")
    out = import_release(folder, tmp_path / "melgan.ckpt", overrides=["data=tiny_speech"])
    assert "250 batches trained (Adam's step count" in caplog.text
    checkpoint = torch.load(out, weights_only=True)
    assert checkpoint["gan_engine"]["counters"]["batches"] == 250
    config = checkpoint["audiogan_run_config"]
    assert config["loss"]["_target_"] == "audiogan.losses.adversarial.HingeLoss"  # the official recipe
    assert config["model"]["task"]["discriminator"]["n_layers"] == 2
    task = load_task(out)
    # the discriminator's third scale, its strided layer 2: moments of that very parameter
    d_state = checkpoint["optimizer_states"][1]["state"]
    names = [n for n, _ in task.discriminator.named_parameters()]
    official = torch.load(folder / "optD.pt", weights_only=True)["state"]
    index = list(discriminator).index("model.disc_2.model.layer_2.0.weight_v")
    ours = names.index("scales.2.layers.2.0.parametrizations.weight.original1")
    assert torch.equal(d_state[ours]["exp_avg"], official[index]["exp_avg"])


def test_args_yml_is_read_as_data_and_runs_nothing(tmp_path):
    marker = tmp_path / "ran"
    (tmp_path / "args.yml").write_text(
        MELGAN_ARGS + f"evil: !!python/object/apply:os.system ['touch {marker}']\n"
    )
    args = read_args(tmp_path / "args.yml")
    assert (args["ngf"], args["data_path"]) == (4, ["data", "LJSpeech"])
    assert not marker.exists()


def test_a_file_of_no_known_layout_names_the_layouts_and_its_keys(tmp_path):
    torch.save({"net": {}, "epoch": 3}, tmp_path / "model.ckpt")
    with pytest.raises(
        ConfigError,
        match=r"no checkpoint of train.py .*jik876/hifi-gan .*descriptinc/melgan"
        r"-neurips .*its top-level keys: \['epoch', 'net'\]",
    ):
        audiogan.load(tmp_path / "model.ckpt")


def test_a_release_given_as_a_checkpoint_says_how_to_import_it(released_generator):
    path, _ = released_generator
    with pytest.raises(ConfigError, match=r"is a descriptinc/melgan-neurips release.*audiogan-import path="):
        read_checkpoint(path)
