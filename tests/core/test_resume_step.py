"""``cooldown_start: resume`` without JAX: the value, its errors, what is saved, the units, and
how ``branch_step`` resolves it when a branched run resumes again.

The values of the branch, for every family and on every path, are in
``tests/jax/test_cooldown_start_resume.py``; the Hydra command line in
``tests/hydra/test_resume_command_line.py``.
"""

from __future__ import annotations

import json
import warnings

import pytest

from hydra_optax_schedules import (
    ScheduleConfigError,
    SchedulerConfig,
    branch_step,
    build_lr_scheduler,
    build_schedule,
    check_resume,
    cooldown_end,
    load_schedule,
    saved_config,
)

from support.entry_paths import scheduler_node
from support.reference import reference_lr

RUN = {"lr": 1e-3, "name": "cosine", "warmup_steps": 10}
BRANCH = {**RUN, "cooldown_start": "resume", "cooldown_steps": 20}
NEEDS = (
    "{p}cooldown_start='resume' needs the step the run resumed at, and none was given: pass "
    "resume_step=... (the restored optimizer's count; docs/resume.md) when the schedule is "
    "built, as the run length is passed (instantiate(), build_schedule(), "
    "build_lr_scheduler(), load_schedule(), build_optimizer()), or set {p}cooldown_start to a "
    "step"
)
WITHOUT_STEP = {
    "SchedulerConfig": ("", lambda f, **k: build_lr_scheduler(SchedulerConfig(**f), **k)),
    "mapping": ("", lambda f, **k: build_lr_scheduler(dict(f), **k)),
    "DictConfig": ("scheduler.", lambda f, **k: build_lr_scheduler(scheduler_node(f), **k)),
    "build_schedule": ("", lambda f, **k: build_schedule(**f, **k)),
    "load_schedule": ("", lambda f, **k: load_schedule(dict(f), **k)),
    "load_schedule(key)": (
        "scheduler.",
        lambda f, **k: load_schedule({"scheduler": f}, key="scheduler", **k),
    ),
}


@pytest.mark.parametrize("path", sorted(WITHOUT_STEP))
def test_without_a_resume_step_resume_is_an_error_that_says_how_to_give_it(path):
    prefix, build = WITHOUT_STEP[path]
    with pytest.raises(ScheduleConfigError) as raised:
        build(BRANCH, run_steps=100)
    assert str(raised.value) == NEEDS.format(p=prefix)
    assert raised.value.field == "cooldown_start"
    # Given, it is that step; the same run length given as decay_steps, the same schedule.
    built = build(BRANCH, run_steps=100, resume_step=40)
    assert built == build({**BRANCH, "cooldown_start": 40, "decay_steps": 100})


@pytest.mark.parametrize("value", [-1, 2**63, 1.5, 40.0, True, "40", None])
def test_an_invalid_resume_step_is_named(value):
    if value is None:  # None is "not given": an error only where it is needed
        assert (
            build_lr_scheduler(RUN, run_steps=100, resume_step=None).config.cooldown_start is None
        )
        return
    with pytest.raises(ScheduleConfigError) as raised:
        build_lr_scheduler(BRANCH, run_steps=100, resume_step=value)
    assert str(raised.value).startswith(
        f"resume_step={value!r} is invalid: expected the step the run resumed at (the "
        "optimizer's count), a whole number of steps in [0, 2**63)"
    )
    assert raised.value.field == "resume_step"


@pytest.mark.parametrize("value", ["resum", "Resume", "last"])
def test_another_string_is_refused_naming_what_is_valid(value):
    with pytest.raises(ScheduleConfigError) as raised:
        build_lr_scheduler({**BRANCH, "cooldown_start": value}, run_steps=100, resume_step=40)
    assert str(raised.value) == (
        f"cooldown_start={value!r} is invalid: expected a whole number of steps in [0, 2**63) "
        "or 'resume' (the resume step)"
    )


def test_a_plan_error_about_the_resolved_step_says_it_is_the_resume_step():
    with pytest.raises(ScheduleConfigError) as raised:
        build_lr_scheduler(
            scheduler_node({**BRANCH, "warmup_steps": 50}), run_steps=100, resume_step=40
        )
    assert str(raised.value) == (
        "scheduler.cooldown_start=40 is invalid: the cooldown starts after the warmup: expected "
        "a step >= scheduler.warmup_steps=50 (scheduler.cooldown_start='resume' is the resume "
        "step, resume_step=40)"
    )


def test_a_resume_step_without_cooldown_start_resume_changes_nothing():
    for fields in (RUN, {**RUN, "cooldown_start": 30, "cooldown_steps": 5}):
        plain = build_lr_scheduler(fields, run_steps=100)
        assert build_lr_scheduler(fields, run_steps=100, resume_step=70) == plain


def test_the_config_keeps_resume_and_the_schedule_saves_the_step_it_resolved_to():
    config = SchedulerConfig(**BRANCH)
    assert config.to_dict()["cooldown_start"] == "resume"
    data = json.loads(json.dumps(config.to_dict()))
    assert SchedulerConfig.from_dict(SchedulerConfig, data) == config
    text = repr(config)
    assert SchedulerConfig.from_dict(SchedulerConfig, text).cooldown_start == "resume"
    built = build_lr_scheduler(config, run_steps=100, resume_step=40)
    saved = saved_config(built)
    assert saved["cooldown_start"] == 40 and saved["decay_steps"] == 100
    # The saved config rebuilds the same schedule with no resume step: it holds the step.
    assert build_lr_scheduler(saved) == built


def test_ints_and_none_keep_their_meaning():
    # cooldown_start=None: the cooldown ends the run; an int: the cooldown branches there.
    ends = build_lr_scheduler({**RUN, "decay_steps": 100, "cooldown_steps": 20})
    assert ends.phases[-1].start == 80
    branched = build_lr_scheduler(
        {**RUN, "decay_steps": 100, "cooldown_start": 40, "cooldown_steps": 20}
    )
    assert branched.phases[-1].start == 40 and branched.phases[-1].length == 20


def test_a_branch_at_the_resume_step_only_reshapes_the_future_and_strict_allows_it():
    saved = saved_config(build_lr_scheduler(RUN, run_steps=100))
    current = build_lr_scheduler(BRANCH, run_steps=100, resume_step=40)
    check = check_resume(saved, current, 40, prefix="scheduler.")
    assert check.moved is None and check.schedule is current
    assert check.reshaped is not None and check.reshaped.step == 41
    expected = reference_lr(41, **RUN, decay_steps=100)
    assert check.reshaped.before == pytest.approx(expected, rel=1e-12)
    report = check.report("scheduler.")
    assert report.startswith(
        "resuming at step 40 (policy strict, the current config): scheduler.cooldown_steps 0 -> "
        "20, scheduler.cooldown_start None -> 40 reshapes the future: moves lr at step 41 "
        "(after the resume step) from "
    ), report


def test_a_branched_run_resumed_again_continues_its_cooldown():
    """The repeated-resume trap: a run branched at 40, killed at 50 during its cooldown and
    resumed with the same command line. ``resume`` is the step the run resumed at with the
    branch, 40 (``branch_step``), not 50, which would move values the run used."""
    first = saved_config(build_lr_scheduler(RUN, run_steps=100))
    assert branch_step(first, 40) == 40  # not branched: the resume step
    branched = build_lr_scheduler(BRANCH, run_steps=100, resume_step=branch_step(first, 40))
    at_50 = saved_config(branched)
    assert branch_step(at_50, 50) == 40
    again = build_lr_scheduler(BRANCH, run_steps=100, resume_step=branch_step(at_50, 50))
    check = check_resume(at_50, again, 50)
    assert check.fields == () and check.moved is None and check.reshaped is None
    # The trap itself: the cooldown moved to the new resume step changes values already used.
    moved = build_lr_scheduler(BRANCH, run_steps=100, resume_step=50)
    with pytest.raises(ScheduleConfigError, match=r"^cooldown_start 40 -> 50 moves lr at step"):
        check_resume(at_50, moved, 50)


def test_branch_step_keeps_a_later_branch_and_refuses_a_bad_step():
    # A saved config whose branch is still ahead: resuming before it branches at the step.
    ahead = saved_config(
        build_lr_scheduler({**RUN, "decay_steps": 100, "cooldown_start": 70, "cooldown_steps": 5})
    )
    assert (
        branch_step(ahead, 60) == 60
        and branch_step(ahead, 70) == 70
        and branch_step(ahead, 80) == 70
    )
    fraction = {**RUN, "decay_steps": 100, "cooldown_start_fraction": 0.3, "cooldown_steps": 5}
    assert branch_step(saved_config(build_lr_scheduler(fraction)), 50) == 30
    with pytest.raises(ScheduleConfigError, match=r"^step=-1 is invalid"):
        branch_step(ahead, -1)


TOKENS = {"unit": "tokens", "sequence_length": 4, "ramp": [[0, 2], [64, 8]], "decay": 800}


def test_under_units_resume_is_the_count_at_the_resume_step_saved_in_the_unit():
    fields = {"lr": 1.0, "name": "linear", "units": TOKENS, "cooldown_start": "resume"}
    fields["units"] = {**TOKENS, "cooldown": 80}
    # Steps 0..7 count 8 tokens each (batch 2 of 4), then 32 a step: step 10 is at 64 + 2 * 32.
    built = build_lr_scheduler(fields, resume_step=10)
    saved = saved_config(built)
    assert saved["cooldown_start"] is None and saved["units"]["cooldown_start"] == 128
    given = build_lr_scheduler(
        {**fields, "cooldown_start": None, "units": {**fields["units"], "cooldown_start": 128}}
    )
    assert built == given
    assert branch_step(saved, 12) == 10
    with pytest.raises(ScheduleConfigError) as raised:
        build_lr_scheduler(
            {**fields, "units": {**fields["units"], "cooldown_start": 128}}, resume_step=10
        )
    assert "are both set" in str(raised.value)
    with pytest.raises(ScheduleConfigError) as raised:
        build_lr_scheduler(fields)
    assert str(raised.value) == NEEDS.format(p="")


def test_an_epoch_count_that_no_decimal_gives_is_refused():
    units = {"unit": "epochs", "samples_per_epoch": 3, "batch_size": 1, "decay": 10, "cooldown": 1}
    fields = {"lr": 1.0, "name": "linear", "units": units, "cooldown_start": "resume"}
    assert saved_config(build_lr_scheduler(fields, resume_step=6))["units"]["cooldown_start"] == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ScheduleConfigError) as raised:
            build_lr_scheduler(fields, resume_step=7)
    assert str(raised.value).startswith(
        "cooldown_start='resume' is invalid: resume_step=7 is at 7 samples, 7/3 epochs"
    )


@pytest.mark.parametrize("unit", ["samples", "tokens", "epochs"])
def test_resume_under_a_unit_branches_the_cooldown_at_the_count_of_the_resume_step(unit):
    # It was saved as units.cooldown_start but planned without it: the branch silently lost.
    units = {"unit": unit, "ramp": [[0, 16], [1600, 64]], "cooldown": 1024}
    if unit == "tokens":
        units["sequence_length"] = 2
    if unit == "epochs":
        units |= {"samples_per_epoch": 64, "cooldown": 16}
    fields = {"lr": 1.0, "name": "constant", "units": units}
    resumed = build_lr_scheduler({**fields, "cooldown_start": "resume"}, resume_step=200)
    count = resumed.config.units.cooldown_start  # saved in the unit
    if unit == "samples":  # 100 steps of 16 samples, then 100 of 64 (a loop's own count)
        assert count == 100 * 16 + 100 * 64
    branched = build_lr_scheduler({**fields, "units": {**units, "cooldown_start": count}})
    steps = [0, 199, 200, 201, 205, 208, 230, 10_000]
    assert [resumed(s) for s in steps] == [branched(s) for s in steps]
    assert resumed(200) == 1.0 and resumed(201) < 1.0 and resumed(10_000) == 0.0
    # The branched run ends where its cooldown does, 1024 samples (or tokens) after step 200:
    # at 64 samples (128 tokens) per step, or, the ramp's point being 1600 epochs, 16.
    end = 200 + 1024 // {"samples": 64, "tokens": 128, "epochs": 16}[unit]
    assert cooldown_end(resumed) == end
    assert resumed(end - 1) > 0.0 and resumed(end) == 0.0
