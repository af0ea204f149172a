"""The speed benchmarks' harness (not their numbers, which make bench measures): what they compare and what
they say when the official code is not there."""

from __future__ import annotations

import time

import pytest
import torch

import audiogan
from benchmarks import bounds, timing, training_vs_official, vocoder_long_inputs, vocoder_vs_official


def test_without_official_checkouts_hifigan_and_melgan_are_skipped_naming_the_repositories():
    families = vocoder_vs_official._families({})
    assert {"hifigan_v1", "hifigan_v3", "melgan", "vocos", "bigvgan_base"} == set(families)
    assert "reference.hifigan=" in families["hifigan_v1"] and "jik876/hifi-gan" in families["hifigan_v3"]
    assert "descriptinc/melgan-neurips" in families["melgan"]


@pytest.mark.slow  # a smoke run
def test_the_comparison_times_the_load_path_against_an_official_module(smoke_run, monkeypatch):
    ours = audiogan.load(smoke_run("melgan") / "checkpoints" / "last.ckpt")
    official = ours.module.vocoder.generator  # standing in for the official generator: identical audio
    monkeypatch.setattr(vocoder_vs_official, "SETTINGS", [(1, 0.2, 2), (2, 0.5, 1)])
    entry = vocoder_vs_official.compare(ours, official, torch.device("cpu"))
    assert entry["max_abs_difference_to_official"] == 0.0
    first, second = entry["settings"].values()
    assert set(first) >= {"ours_over_official", "ours_over_ours_module", "rtf"} and first["rounds"] == 2
    assert "ours_over_ours_module" not in second  # the module beside the load path at the first setting only
    assert 0 < first["ours_over_official"]["min"] <= first["ours_over_official"]["max"]
    assert (
        0 < first["lower_bound"]["seconds"] and first["lower_bound"]["gflop"] < second["lower_bound"]["gflop"]
    )


@pytest.mark.slow  # full-size Vocos
def test_long_inputs_rows_give_time_and_peak_memory_per_length(monkeypatch):
    monkeypatch.setattr(vocoder_long_inputs, "VOCODERS", {"vocos": ["model=vocos"]})
    monkeypatch.setattr(vocoder_long_inputs, "LONG_FILE", ("vocos",))
    result = vocoder_long_inputs.bench(lengths=(0.5, 1.0), long_file_seconds=2.0)
    rows = result["vocoders"]["vocos"]["by_length"]
    assert list(rows) == ["0.5s", "1s", "2s"] and set(rows["0.5s"]) == {"chunked", "one_pass"}
    for row in rows.values():
        chunked = row["chunked"]
        assert chunked["peak_rss_mib"] >= chunked["rss_before_mib"] > 0 and chunked["rtf"] > 0


def test_without_the_official_checkout_the_training_comparison_is_skipped_naming_the_repository():
    result = training_vs_official.bench("cpu", {})
    assert "reference.hifigan=" in result["skipped"] and "jik876/hifi-gan" in result["skipped"]


def test_forward_flops_count_every_multiply_add_of_a_convolution_per_frame():
    conv = torch.nn.Sequential(
        torch.nn.Conv1d(8, 4, 3, padding=1), torch.nn.ConvTranspose1d(4, 2, 4, stride=2)
    )
    per_frame, fixed = bounds.flops_per_frame(conv, 8, torch.device("cpu"))
    # conv: 4 outputs x 8 x 3 per frame; transposed: each input step feeds 2 x 4 taps of each input channel
    assert per_frame == 2 * (4 * 8 * 3 + 4 * 2 * 4)
    assert fixed == 0


def test_the_lower_bound_is_the_flops_at_the_measured_peak_over_the_official_time(monkeypatch):
    monkeypatch.setattr(
        vocoder_vs_official, "peak_flops", lambda threads: {"matmul": 4e9, "conv": 5e9, "peak": 5e9}
    )
    bound = vocoder_vs_official.lower_bound(1e9, 2, [(0.4, 0), (0.5, 0), (0.9, 0)])
    assert bound["seconds"] == pytest.approx(0.2) and bound["over_official"] == pytest.approx(0.4)


def test_round_robin_starts_no_round_past_its_time_budget():
    calls = []
    variants = {"a": lambda: calls.append("a"), "b": lambda: (calls.append("b"), time.sleep(0.02))}
    runs = timing.round_robin(variants, torch.device("cpu"), rounds=5, warmup=1, budget_seconds=0.03)
    assert calls[:2] == ["a", "b"] and len(runs["a"]) == len(runs["b"]) == 2


@pytest.mark.slow  # composes a dozen configs
def test_every_familys_stages_are_timed_apart_each_from_a_config_that_composes():
    from benchmarks.training import _config, families, stages_of

    stages = {family: stages_of(family) for family in families()}
    assert stages["hifigan_denoise"] == ["wavenet", "postnet", "adversarial"]
    assert stages["melgan"] == ["warmup", "adversarial"]  # its warm-up has learning rates of its own
    for family in ("melgan", "hifigan_denoise"):  # a stage override must compose with or without the key
        for stage in stages[family]:
            assert _config(family, "cpu", stage).model.task.schedule.get("only_stage") == stage
