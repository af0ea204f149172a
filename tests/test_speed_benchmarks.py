"""The speed benchmarks' harness (not their numbers, which make bench measures): what they compare and what
they say when the official code is not there."""

from __future__ import annotations

import pytest
import torch

import audiogan
from benchmarks import vocoder_long_inputs, vocoder_vs_official


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
    assert "ours_over_ours_module" not in second  # the module beside the load path at the first length only
    assert 0 < first["ours_over_official"]["min"] <= first["ours_over_official"]["max"]


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
