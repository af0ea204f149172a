"""The learning benchmark's checks: each rule's pass line and verdict, every family's learning configs, and
what one family's run leaves (JSON and PNG) when the benchmark reads a finished run."""

from __future__ import annotations

import json
import shutil

import pytest
from conftest import CONF, compose, families

from audiogan.runs.run_dir import RunDir, Validation
from benchmarks import learning
from benchmarks.learning import Criterion


def validations(*scores: dict[str, float]) -> list[Validation]:
    return [Validation(batches=10 * i, seconds=float(i), scores=s) for i, s in enumerate(scores)]


def test_ratio_to_the_start_passes_only_at_or_below_its_line():
    criterion = Criterion.from_config({"metric": "val/l1", "ratio_at_most": 0.5}, "test")
    assert criterion.relative_to == "start"
    assert criterion.pass_line(validations({"val/l1": 3.0}, {"val/l1": 1.5})) == 1.5
    assert criterion.passed(validations({"val/l1": 3.0}, {"val/l1": 1.5}))
    assert not criterion.passed(validations({"val/l1": 3.0}, {"val/l1": 1.6}))


def test_rules_against_another_metric_use_its_last_value():
    above = Criterion.from_config(
        {"metric": "val/si_sdr", "relative_to": "val/si_sdr_noisy", "difference_at_least": 3.0}, "test"
    )
    run = validations(
        {"val/si_sdr": 0.0, "val/si_sdr_noisy": 9.0}, {"val/si_sdr": 8.0, "val/si_sdr_noisy": 5.0}
    )
    assert above.pass_line(run) == 8.0 and above.passed(run)
    below = Criterion.from_config(
        {"metric": "val/mcd", "relative_to": "val/mcd_source", "ratio_at_most": 0.9}, "t"
    )
    run = validations({"val/mcd": 9.0, "val/mcd_source": 10.0}, {"val/mcd": 9.1, "val/mcd_source": 10.0})
    assert below.pass_line(run) == 9.0 and not below.passed(run)
    higher = Criterion.from_config({"metric": "val/is", "ratio_at_least": 1.5}, "t")
    assert higher.passed(validations({"val/is": 1.2}, {"val/is": 1.8}))
    assert not higher.passed(validations({"val/is": 1.2}, {"val/is": 1.7}))


@pytest.mark.parametrize(
    "block", [{"metric": "val/l1"}, {"metric": "val/l1", "ratio_at_most": 1, "ratio_at_least": 1}]
)
def test_a_criterion_needs_exactly_one_rule(block):
    with pytest.raises(ValueError, match="x.yaml: learning needs a metric and exactly one of ratio_at_most"):
        Criterion.from_config(block, "x.yaml")


@pytest.mark.slow  # two compositions per family
@pytest.mark.parametrize("family", [f for f in families() if (CONF / "model" / f"{f}.yaml").is_file()])
def test_every_family_has_a_learning_benchmark_on_both_machines(family):
    for device in ("cpu", "cuda"):
        experiment = learning.learning_experiment(family, device)
        assert experiment == f"{family}_learning" + ("_cpu" if device == "cpu" else "")
        cfg = compose(f"experiment={experiment}")
        assert cfg.model.task._target_.startswith(f"audiogan.tasks.{family}.")
        Criterion.from_config(dict(cfg.learning), experiment)
        assert cfg.learning.sizes


@pytest.mark.slow
def test_a_finished_run_is_checked_and_written_as_json_and_curves(smoke_run, tmp_path, monkeypatch, capsys):
    """The benchmark's reading, checking and writing, on the session's smoke run instead of a 3 minute one."""
    monkeypatch.setenv("AUDIOGAN_LOG_DIR", str(tmp_path / "outputs"))
    monkeypatch.setattr(learning, "RESULTS", tmp_path / "results")
    monkeypatch.setattr(
        learning, "train", lambda _, run_dir, __: shutil.copytree(smoke_run("melgan"), run_dir)
    )
    assert learning.main(["melgan"]) == 1  # no learning within one validation
    result = json.loads((tmp_path / "results" / "melgan.json").read_text())
    run = RunDir(result["run_dir"])
    assert result["experiment"] == "melgan_learning_cpu" and result["budget_batches"] == run.budget
    assert [v["batches"] for v in result["validations"]] == [v.batches for v in run.validations]
    assert result["first"] == result["last"] == run.validations[-1].scores["val/mel_l1"]  # one validation
    assert result["passed"] is False
    assert "FAIL melgan: val/mel_l1" in capsys.readouterr().out
    assert (tmp_path / "results" / "melgan.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    index = (tmp_path / "results" / "README.md").read_text()
    assert "| melgan | `experiment=melgan_learning_cpu` |" in index
    # a vocoder's curve on the shared evaluation front-end joins the others' in one figure
    shared = run.validations[-1].scores["val/shared_mel_l1"]
    assert f"| melgan | {shared:.3g} -> {shared:.3g} |" in index and "(vocoders.png)" in index
    assert (tmp_path / "results" / "vocoders.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
