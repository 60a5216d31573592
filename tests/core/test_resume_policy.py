"""Resuming with an edited config: generated pairs of configs, each classified by the spec's
reference (``support/reference.py``) evaluated at every step up to a small resume step and
over a window after it, never by the package's own comparison.

- the reference values up to the resume step differ: ``strict`` refuses, naming a step at or
  before the first one where they differ, ``config`` continues on the new schedule and
  ``checkpoint`` on the saved one, both reporting the change;
- they are identical up to it: every policy continues, and a later difference is reported.
"""

from __future__ import annotations

import math
import re

import hypothesis.strategies as st
import pytest
from hypothesis import assume, event, given

from hydra_optax_schedules import (
    ScheduleConfigError,
    branch_cooldown,
    check_resume,
    saved_config,
)
from hydra_optax_schedules.resume import compare_schedules

from support.generators import configs
from support.reference import reference_lr
from support.resume_pairs import build, first_difference, pairs, window
from support.tolerance import lengths


@given(pairs())
def test_a_resume_is_refused_exactly_when_a_value_up_to_the_resume_step_moves(pair):
    saved, current, step = pair
    before, after = build(saved), build(current)
    moved_at, identical = first_difference(saved, current, range(step + 1))
    record = saved_config(before)
    if moved_at is not None:
        event("moved")
        with pytest.raises(ScheduleConfigError) as raised:
            check_resume(record, after, step, prefix="scheduler.")
        message = str(raised.value)
        first = re.search(r"first at step (\d+)", message) or re.search(
            r"lr at step (\d+)", message
        )
        assert int(first.group(1)) <= moved_at, (message, moved_at)
        assert f"(resuming at step {step})" in message or (
            f"moves lr at step {step} from " in message and "(the resume step; first at" in message
        )
        for policy, kept in (("config", after), ("checkpoint", before)):
            check = check_resume(record, after, step, policy=policy)
            assert check.moved is not None and check.moved.step <= moved_at
            assert check.schedule == kept
            assert "moves lr at step" in check.report() or "formula" in check.report()
        return
    if not identical:
        event("values within rounding: not classified")
        return
    event("identical up to the resume step")
    for policy in ("strict", "config", "checkpoint"):
        check = check_resume(record, after, step, policy=policy)
        assert check.moved is None
        assert check.schedule == (before if policy == "checkpoint" else after)
    later, _ = first_difference(saved, current, window(saved, current, step))
    check = check_resume(record, after, step)
    if later is not None:
        event("the future reshaped")
        assert check.reshaped is not None and step < check.reshaped.step <= later
        assert "after the resume step" in check.report()
    if saved == current:
        assert check.reshaped is None and check.fields == ()
        assert check.report() == f"resuming at step {step}: the schedule is unchanged"


@given(configs(), st.integers(1, 50))
def test_a_changed_config_names_its_fields_before_and_after(case, length):
    D = case["decay_steps"]
    assume(D)  # 0 and None: the run length is not given
    extended = {**case, "decay_steps": D + length}
    try:
        after = build(extended)
    except ScheduleConfigError:
        assume(False)
    check = check_resume(saved_config(build(case)), after, 0, policy="config")
    assert ("decay_steps", D, D + length) in check.fields
    assert f"decay_steps {D} -> {D + length}" in check.report("")


def test_the_issues_example_names_the_field_and_the_values_at_the_resume_step():
    saved = build({"lr": 3e-4, "name": "cosine", "decay_steps": 100_000, "warmup_steps": 0})
    current = build({"lr": 3e-4, "name": "cosine", "decay_steps": 120_000, "warmup_steps": 0})
    with pytest.raises(ScheduleConfigError) as raised:
        check_resume(saved_config(saved), current, 40_000, prefix="scheduler.")
    message = str(raised.value)
    # The reference's values at the resume step, as the message rounds them.
    old = reference_lr(40_000, lr=3e-4, name="cosine", decay_steps=100_000)
    new = reference_lr(40_000, lr=3e-4, name="cosine", decay_steps=120_000)
    assert message.startswith(
        f"scheduler.decay_steps 100000 -> 120000 moves lr at step 40000 from {old:.3g} to "
        f"{new:.3g} (the resume step; first at step 1, from "
    )
    assert "policy=config" in message and "policy=checkpoint" in message


def test_extending_a_wsd_run_before_its_cooldown_is_allowed_and_reported():
    case = {"lr": 1e-3, "name": "wsd", "decay_steps": 1000, "warmup_steps": 100}
    check = check_resume(
        saved_config(build(case)), build({**case, "decay_steps": 2000}), 700, prefix="scheduler."
    )
    assert check.moved is None
    # The saved cooldown started at 800 (the last 20%); the reference moves from 801 on.
    assert check.reshaped is not None and check.reshaped.step == 801
    assert check.reshaped.before == pytest.approx(reference_lr(801, **case), rel=1e-12)
    assert "scheduler.decay_steps 1000 -> 2000" in check.report("scheduler.")


def test_the_work_does_not_grow_with_the_resume_step():
    # Two long runs whose every value up to a resume step of 10**15 is the same: a comparison
    # step by step would not end; the pieces' comparison is a few formulas.
    case = {"lr": 1.0, "name": "constant", "decay_steps": 10**18, "cooldown_steps": 10**16}
    moved, reshaped = compare_schedules(
        build(case), build({**case, "cooldown_steps": 10**17}), 10**15
    )
    assert moved is None and reshaped is not None
    # A step of the new cooldown (from 9e17) where it is below the saved constant 1.0.
    assert 9 * 10**17 < reshaped.step < 10**18 - 10**16
    assert (reshaped.before, reshaped.after) == (1.0, 1.0 - (reshaped.step - 9 * 10**17) / 10**17)


def test_bad_policies_and_steps_are_named():
    schedule = build({"lr": 1.0})
    with pytest.raises(ScheduleConfigError, match=r"resume_policy='strikt' is invalid: .*strict"):
        check_resume(
            saved_config(schedule), schedule, 0, policy="strikt", policy_field="resume_policy"
        )
    with pytest.raises(ScheduleConfigError, match=r"step=-1 is invalid"):
        check_resume(saved_config(schedule), schedule, -1)


@st.composite
def branches(draw):
    """A saved config (lengths in steps or fractions), a resume step before its cooldown (or
    in it), and the length and shape of a cooldown branched there."""
    case = draw(configs())
    D, W, _ = lengths(case)
    assume(D is not None and D <= 10_000)
    step = draw(st.integers(W, D))
    return case, step, draw(st.integers(1, 40)), draw(st.sampled_from(["linear", "cosine", "sqrt"]))


@given(branches())
def test_a_cooldown_branched_at_the_resume_step_starts_from_the_saved_value(branch):
    case, step, length, shape = branch
    D, _, C = lengths(case)
    saved = build(case)
    in_cooldown = C > 0 and step > D - C
    # Independently: up to the branch, the saved run's values; then the cooldown's shape from
    # the value there to 0 over `length` steps; then 0.
    p, lc = reference_lr(step, **case), case["cooldown_lr"]
    old_values = [reference_lr(s, **case) for s in range(step + 1)]
    try:
        branched = branch_cooldown(saved_config(saved), step, length, cooldown_shape=shape)
    except ScheduleConfigError as error:
        # Only a branch inside the saved cooldown may be refused: the main phase ends there.
        assert in_cooldown, str(error)
        assert "moves lr" in str(error)
        return
    assert branched(step) == saved(step)  # exactly: the branch starts from the saved value
    for s in range(max(0, step - 30), step + 1):
        assert branched(s) == pytest.approx(old_values[s], rel=1e-9, abs=1e-12 * case["lr"])
    for s in range(step, step + length + 3):
        x = min((s - step) / length, 1.0)
        expected = p + (lc - p) * gone(shape, x)
        assert branched(s) == pytest.approx(expected, rel=1e-9, abs=1e-12 * max(p, lc, 1e-300))


def gone(shape, x):
    """How far a cooldown of ``shape`` has gone at progress ``x``: 0 at its start, 1 at its end."""
    return {"linear": x, "cosine": (1 - math.cos(math.pi * x)) / 2, "sqrt": math.sqrt(x)}[shape]
