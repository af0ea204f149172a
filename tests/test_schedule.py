"""The schedule's arithmetic on its own: which network updates on which batch, stages, budgets. No torch and
no Lightning: the engine's tests (test_engine.py) check that training follows it."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass

import pytest

from audiogan.tasks.schedule import Schedule, Stage


def pattern(schedule: Schedule, batches: int) -> list[tuple[bool, int]]:
    return [schedule.updates_for(i) for i in range(batches)]


def test_the_module_needs_neither_torch_nor_lightning():
    code = "import sys, audiogan.tasks.schedule; print(sorted({'torch', 'lightning'} & set(sys.modules)))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "[]"


def test_five_to_one_trains_d_on_every_batch_and_g_on_every_fifth():
    assert pattern(Schedule(n_d=5, n_g=1), 10) == [(True, 0)] * 4 + [(True, 1)] + [(True, 0)] * 4 + [
        (True, 1)
    ]


def test_one_to_two_trains_g_twice_on_every_batch():
    assert pattern(Schedule(n_d=1, n_g=2), 3) == [(True, 2)] * 3


def test_warmup_is_generator_only_and_the_ratio_cycle_starts_after_it():
    schedule = Schedule(
        n_d=2, n_g=1, warmup_batches=3, warmup_lr={"generator": 0.1}, optimizer_lr={"generator": 1e-4}
    )
    assert pattern(schedule, 7) == [(False, 1)] * 3 + [(True, 0), (True, 1), (True, 0), (True, 1)]
    warmup, adversarial = schedule.stages
    assert (warmup.name, warmup.lr, adversarial.lr) == ("warmup", {"generator": 0.1}, {"generator": 1e-4})


def test_each_stage_restarts_the_cycle_and_the_budget_is_their_sum():
    schedule = Schedule(
        stages=[
            {"name": "a", "batches": 3, "n_d": 2},
            {"name": "b", "batches": 2, "adversarial": False},
            {"name": "c", "batches": 4, "n_d": 3, "n_g": 2},
        ]
    )
    assert schedule.max_batches == 9
    assert pattern(schedule, 9) == [
        (True, 0), (True, 1), (True, 0),  # a: 2:1, cut after 3 batches
        (False, 1), (False, 1),  # b: generator only
        (True, 0), (True, 0), (True, 2), (True, 0),  # c: its own 3:2 cycle from its first batch
    ]  # fmt: skip
    assert [schedule.stage_at(i) for i in (0, 3, 5, 8, 100)] == [(0, 0), (1, 3), (2, 5), (2, 5), (2, 5)]
    assert not schedule.finished(8) and schedule.finished(9)


@pytest.mark.parametrize("batches", [0, 2, 5, 9, 40])
def test_counters_after_some_batches_count_every_update_of_them(batches):
    schedule = Schedule(
        stages=[
            {"name": "a", "batches": 3, "n_d": 2},
            {"name": "b", "batches": 2, "adversarial": False},
            {"name": "c", "n_d": 3, "n_g": 2},
        ]
    )
    updates = [schedule.updates_for(i) for i in range(batches)]
    counters = schedule.counters_after(batches)
    assert counters.batches == batches
    assert counters.d_updates == sum(d for d, _ in updates)
    assert counters.g_updates == sum(g for _, g in updates)


def test_only_stage_runs_one_stage_from_its_first_batch():
    schedule = Schedule(stages=[{"name": "a", "batches": 3}, {"name": "b", "batches": 2}], only_stage="b")
    assert (schedule.first_batch, schedule.max_batches) == (3, 5)
    with pytest.raises(ValueError, match=r"only_stage='z' is not a stage; the stages are \['a', 'b'\]"):
        Schedule(stages=[{"name": "a", "batches": 3}, {"name": "b"}], only_stage="z")


def test_an_open_ended_schedule_never_finishes():
    assert not Schedule().finished(10**9)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"n_d": 0}, "n_d and n_g must be >= 1"),
        ({"warmup_batches": -1}, "warmup_batches must be >= 0"),
        ({"stages": [{"name": "a"}, {"name": "b", "batches": 2}]}, "only the last stage"),
        ({"stages": [{"name": "a", "batches": 0}]}, "stage 'a': batches must be >= 1"),
        ({"stages": [{"name": "a", "options": {"x": 1}}]}, "stage 'a': the family takes no stage options"),
    ],
)
def test_bad_schedules_are_refused_naming_what_is_wrong(arguments, message):
    with pytest.raises(ValueError, match=message):
        Schedule(**arguments)


@dataclass(frozen=True)
class Switches:
    use_postnet: bool = True


def test_stage_options_become_the_familys_dataclass_and_bad_keys_name_the_stage():
    schedule = Schedule(stages=[{"name": "a", "options": {"use_postnet": False}}], options_type=Switches)
    assert schedule.stages[0].options == Switches(use_postnet=False)
    assert Schedule(options_type=Switches).stages[0].options == Switches()
    with pytest.raises(ValueError, match=r"stage 'a': options \{'colour': 1\} do not fit"):
        Schedule(stages=[{"name": "a", "options": {"colour": 1}}], options_type=Switches)


def test_a_stage_given_as_a_stage_is_kept():
    stage = Stage("only", 4, adversarial=False)
    assert Schedule(stages=[stage]).stages == [stage]
