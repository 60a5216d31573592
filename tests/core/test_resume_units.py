"""Resuming a run counted in samples under a batch-size ramp: the check works in steps.

A checkpoint's step is a step, and a piece of a run counted in samples starts at a count: the
check must compare the two schedules at steps (a change after ``r`` samples but before the
count at step ``r`` moves values the run already trained with). Each generated pair is
classified by an independent reference: a training loop's own count, step by step in exact
integers, and the linear schedule of that count in exact fractions.
"""

from __future__ import annotations

import warnings
from fractions import Fraction

import hypothesis.strategies as st
from hypothesis import event, given, settings

from hydra_optax_schedules import (
    ScheduleConfigError,
    build_lr_scheduler,
    check_resume,
    saved_config,
)


def counts(ramp: list[list[int]], steps: int) -> list[int]:
    """The samples consumed before each step: each step draws the batch of the last ramp
    point its count has reached."""
    consumed, out = 0, []
    for _ in range(steps):
        out.append(consumed)
        consumed += [batch for point, batch in ramp if point <= consumed][-1]
    return out


def reference(fields: dict, steps: int) -> list[Fraction]:
    """Linear from 0 over ``units.warmup`` samples up to ``lr``, then linearly to 0 at
    ``units.decay`` samples, at each step's count."""
    units = fields["units"]
    lr, warmup, decay = Fraction(fields["lr"]), units["warmup"], units["decay"]
    values = []
    for count in counts(units["ramp"], steps):
        if count < warmup:
            values.append(lr * count / warmup)
        elif count >= decay:
            values.append(Fraction(0))
        else:
            values.append(lr - lr * Fraction(count - warmup, decay - warmup))
    return values


@st.composite
def ramps(draw):
    points = draw(st.lists(st.integers(1, 400), min_size=0, max_size=3, unique=True))
    batches = draw(st.lists(st.integers(1, 16), min_size=len(points) + 1, max_size=len(points) + 1))
    return [[0, batches[0]]] + [[p, b] for p, b in zip(sorted(points), batches[1:], strict=True)]


@st.composite
def configs(draw):
    decay = draw(st.integers(20, 2000))
    warmup = draw(st.integers(0, decay - 1))
    units = {"unit": "samples", "ramp": draw(ramps()), "decay": decay, "warmup": warmup}
    return {"lr": 1.0, "name": "linear", "end_lr": 0.0, "units": units}


@st.composite
def pairs(draw):
    saved = draw(configs())
    edit = draw(st.sampled_from(["decay", "warmup", "ramp", "same"]))
    event(f"edit: {edit}")
    current = {**saved, "units": dict(saved["units"])}
    if edit == "decay":
        current["units"]["decay"] = draw(st.integers(saved["units"]["warmup"] + 1, 3000))
    elif edit == "warmup":
        current["units"]["warmup"] = draw(st.integers(0, saved["units"]["decay"] - 1))
    elif edit == "ramp":
        current["units"]["ramp"] = draw(ramps())
    return saved, current, draw(st.integers(0, 300))


@settings(deadline=None)
@given(pairs())
def test_a_resume_of_a_run_counted_in_samples_is_refused_exactly_when_a_trained_value_moves(pair):
    saved, current, step = pair
    horizon = 2100  # past the end of both: every count reaches 2000 samples by step 2000
    before, after = reference(saved, horizon), reference(current, horizon)
    moved = any(b != a for b, a in zip(before[: step + 1], after[: step + 1], strict=True))
    reshaped = any(b != a for b, a in zip(before[step + 1 :], after[step + 1 :], strict=True))
    event(f"moved={moved} reshaped={reshaped}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        old, new = build_lr_scheduler(saved), build_lr_scheduler(current)
    if moved:
        try:
            check_resume(saved_config(old), new, step)
        except ScheduleConfigError as error:
            assert "moves lr at step" in str(error)
        else:
            raise AssertionError("a change of trained values was accepted")
    else:
        result = check_resume(saved_config(old), new, step)
        assert (result.reshaped is not None) == reshaped, (result, reshaped)
        if reshaped:
            assert result.reshaped.step > step
