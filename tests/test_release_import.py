"""Importing a released training run (jik876/hifi-gan's g_ and do_ files): an audiogan checkpoint whose
optimizer moments, step, epoch and learning rate are the official run's, so that ``ckpt_path=`` goes on as
the official resume would."""

from __future__ import annotations

import json
import logging

import pytest
import torch
from conftest import CONF, ROOT, smoke
from official_files import TINY, adam_state, official_generator, official_mpd, official_msd, parameter_names

from audiogan.runs.imports import import_release
from audiogan.tasks.hifigan_release import HiFiGANRelease, official_discriminator_names

# the official config at toy widths; a steep lr_decay and a large rate make the learning rate's position and
# each parameter's update plain to see
CONFIG = {
    **TINY,
    "upsample_initial_channel": 16,
    "num_mels": 80,
    "sampling_rate": 22050,
    "fmax": 8000,
    "learning_rate": 0.1,
    "lr_decay": 0.5,
    "batch_size": 2,
    "segment_size": 2048,
}
# what config.json does not say: the discriminators' widths (those of experiment=hifigan_smoke)
FIXTURES = ROOT / "tests" / "fixtures" / "v0_1_checkpoints"
SMOKE_MSD = [[8, 15, 1, 1], [16, 41, 4, 4], [16, 5, 1, 1]]
STEPS, EPOCH = 99, 3


def _official_run(folder):
    """g_00000099, do_00000099 and config.json as the official train.py leaves them after step 99 in
    epoch 3: Adam moments of their own value per parameter, optim_d over chain(msd, mpd)."""
    torch.manual_seed(0)
    generator = official_generator(CONFIG)
    mpd, msd = official_mpd(2, [4, 8, 16, 16]), official_msd(2, SMOKE_MSD)
    lr = CONFIG["learning_rate"] * CONFIG["lr_decay"] ** EPOCH
    d_names = [f"msd.{k}" for k in parameter_names(msd)] + [f"mpd.{k}" for k in parameter_names(mpd)]
    d_shapes = {
        f"{net}.{k}": v.shape for net, state in (("msd", msd), ("mpd", mpd)) for k, v in state.items()
    }
    g_shapes = {k: v.shape for k, v in generator.items()}
    moments = {
        "optim_g": adam_state(list(generator), g_shapes, STEPS + 1, lr, CONFIG["learning_rate"], 1e4),
        "optim_d": adam_state(d_names, d_shapes, STEPS + 1, lr, CONFIG["learning_rate"], 1e4),
    }
    torch.save({"generator": generator}, folder / f"g_{STEPS:08d}")
    torch.save(
        {"mpd": mpd, "msd": msd, **moments, "steps": STEPS, "epoch": EPOCH}, folder / f"do_{STEPS:08d}"
    )
    (folder / "config.json").write_text(json.dumps(CONFIG))
    weights = {**{f"g.{k}": v for k, v in generator.items()}, **{f"d.msd.{k}": v for k, v in msd.items()}}
    weights.update({f"d.mpd.{k}": v for k, v in mpd.items()})
    names = [f"g.{k}" for k in generator] + [f"d.{k}" for k in d_names]
    states = [moments["optim_g"]["state"][i] for i in range(len(generator))]
    states += [moments["optim_d"]["state"][i] for i in range(len(d_names))]
    return weights, dict(zip(names, states, strict=True))


def _official_weights(checkpoint) -> dict[str, torch.Tensor]:
    """An audiogan checkpoint's weights under the official names (``g.`` / ``d.mpd.`` / ``d.msd.``)."""
    from audiogan.tasks.hifigan_release import _ours_to_official

    state = checkpoint["state_dict"]
    generator = {
        f"g.{_ours_to_official(k.removeprefix('generator.'), 3, 1)}": v
        for k, v in state.items()
        if k.startswith("generator.")
    }
    d = official_discriminator_names(
        {k.removeprefix("discriminator."): v for k, v in state.items() if k.startswith("discriminator.")}
    )
    return {**generator, **{f"d.{net}.{k}": v for net in d for k, v in d[net].items()}}


@pytest.fixture
def official_run(tmp_path):
    folder = tmp_path / "cp_hifigan"
    folder.mkdir()
    return folder, *_official_run(folder)


@pytest.mark.slow
def test_import_holds_the_official_weights_moments_step_and_learning_rate(official_run, tmp_path, caplog):
    folder, weights, moments = official_run
    caplog.set_level(logging.INFO, logger="audiogan")
    out = import_release(folder, tmp_path / "imported.ckpt", overrides=["experiment=hifigan_smoke"])
    assert "goes on at step 100, from the start of epoch 3, as the official resume" in caplog.text
    assert "go on with the released run: python train.py model=hifigan" in caplog.text
    checkpoint = torch.load(out, weights_only=True)
    assert checkpoint["gan_engine"]["counters"] == {
        "batches": 100,
        "d_updates": 100,
        "g_updates": 100,
        "d_skipped": 0,
    }
    assert (checkpoint["epoch"], checkpoint["global_step"]) == (EPOCH, 200)
    ours = _official_weights(checkpoint)
    assert ours.keys() == weights.keys()
    assert all(torch.equal(ours[k], v) for k, v in weights.items())
    # the learning rate of epoch 3, lr x lr_decay^3, as the uninterrupted run (and the official resume)
    for optimizer, scheduler in zip(checkpoint["optimizer_states"], checkpoint["lr_schedulers"], strict=True):
        assert optimizer["param_groups"][0]["lr"] == pytest.approx(0.1 * 0.5**EPOCH)
        assert scheduler["last_epoch"] == EPOCH


@pytest.mark.slow  # trains one batch
def test_resuming_an_imported_run_takes_the_official_next_step(official_run, tmp_path, compose_cfg):
    """One batch after ``ckpt_path=<imported>``: every parameter moved by AdamW's update from the official
    moments at step 101 and the resumed learning rate. The moments dwarf one batch's gradient (1e4 against
    ~1), so the update is known without it: a moment given to the wrong parameter, a wrong step count or
    learning rate shows at once."""
    from audiogan.commands.train import run

    folder, weights, moments = official_run
    out = import_release(folder, tmp_path / "imported.ckpt", overrides=["experiment=hifigan_smoke"])
    release = HiFiGANRelease().read(folder)
    run(
        compose_cfg(
            *smoke("hifigan"), *release.overrides, f"ckpt_path={out}", "model.task.schedule.max_batches=101"
        )
    )
    (last,) = tmp_path.glob("**/checkpoints/last.ckpt")
    resumed = torch.load(last, weights_only=True)
    assert resumed["gan_engine"]["counters"]["batches"] == 101
    after = _official_weights(resumed)
    lr, (beta1, beta2), t = 0.1 * 0.5**EPOCH, (0.8, 0.99), STEPS + 2
    for name, state in moments.items():
        m_hat = beta1 * state["exp_avg"] / (1 - beta1**t)
        v_hat = beta2 * state["exp_avg_sq"] / (1 - beta2**t)
        expected = weights[name] * (1 - lr * 0.01) - lr * m_hat / (v_hat.sqrt() + 1e-8)
        torch.testing.assert_close(after[name], expected, rtol=1e-3, atol=1e-5, msg=name)


def test_the_loop_positions_have_the_layout_lightning_writes():
    """The same entries as in a checkpoint Lightning wrote (one of 0.1), with the counts in their places."""
    from audiogan.runs.imports import lightning_loops

    written = torch.load(FIXTURES / "hifigan.ckpt", weights_only=True)["loops"]
    ours = lightning_loops(batches=100, epoch=3, optimizer_steps=200)

    def layout(node):
        return {k: layout(v) for k, v in node.items()} if isinstance(node, dict) else type(node)

    assert layout(ours) == layout(written)
    fit = ours["fit_loop"]
    assert fit["epoch_loop.manual_optimization.optim_step_progress"]["total"]["completed"] == 200
    assert fit["epoch_progress"]["current"]["completed"] == 3


def test_import_without_out_names_the_missing_key(tmp_path):
    from audiogan.commands.import_release import run
    from audiogan.errors import ConfigError
    from audiogan.runs.resolvers import compose_config

    cfg = compose_config(CONF, [f"path={tmp_path}"], name="import")
    with pytest.raises(ConfigError, match=r"out= is missing: audiogan-import path="):
        run(cfg)
